//! What the lab's worker tells the page (`www/main.js` applies it): changes to the DOM (text,
//! attributes, the fatal message), the settings to show in the URL and the controls, the
//! status `lab.status()` answers from, downloads. DOM changes made while a task runs are sent
//! together at its end (one message per task, in order with everything else the worker posts).

use std::cell::{Cell, RefCell};

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

thread_local! {
    static OPS: RefCell<Vec<JsValue>> = const { RefCell::new(Vec::new()) };
    static SCHEDULED: Cell<bool> = const { Cell::new(false) };
    /// Makes the message that carries the lab's status (`web::post_status`): DOM changes
    /// flushed at the end of a task go with it.
    static STATUS: RefCell<Option<Box<dyn Fn()>>> = const { RefCell::new(None) };
}

/// Sets what [`flush`] posts: the lab's status, with the queued DOM changes.
pub fn set_status(post: impl Fn() + 'static) {
    STATUS.with(|s| *s.borrow_mut() = Some(Box::new(post)));
}

/// Posts `msg` (an object) to the page (the worker's `postMessage`) with the DOM changes queued
/// so far, which the page applies first, in the same task: no script on the page sees the DOM
/// of one turn beside the status of another.
pub fn post(msg: &JsValue) {
    with_ops(msg);
    post_now(msg, &JsValue::UNDEFINED);
}

/// Posts `msg` as [`post`] does, moving the buffers in `transfer` (an array) instead of
/// copying them.
pub fn post_transfer(msg: &JsValue, transfer: &js_sys::Array) {
    with_ops(msg);
    post_now(msg, transfer);
}

/// Moves the queued DOM changes into `msg` (as its `ops`).
fn with_ops(msg: &JsValue) {
    SCHEDULED.with(|s| s.set(false));
    let ops = OPS.with(|o| std::mem::take(&mut *o.borrow_mut()));
    if !ops.is_empty() {
        let list: js_sys::Array = ops.into_iter().collect();
        let _ = js_sys::Reflect::set(msg, &"ops".into(), &list);
    }
}

fn post_now(msg: &JsValue, transfer: &JsValue) {
    let scope = js_sys::global();
    let Ok(f) = js_sys::Reflect::get(&scope, &"postMessage".into()) else {
        return;
    };
    if let Ok(f) = f.dyn_into::<js_sys::Function>() {
        let _ = if transfer.is_undefined() {
            f.call1(&scope, msg)
        } else {
            f.call2(&scope, msg, transfer)
        };
    }
}

/// Sends the queued DOM changes now, with the lab's status once it runs.
pub fn flush() {
    if OPS.with(|o| o.borrow().is_empty()) {
        SCHEDULED.with(|s| s.set(false));
        return;
    }
    let posted = STATUS.with(|s| match s.try_borrow() {
        Ok(s) => s.as_ref().map(|post| post()).is_some(),
        Err(_) => false,
    });
    if !posted {
        let msg: JsValue = js_sys::Object::new().into();
        post(&msg);
    }
}

fn push(op: js_sys::Array) {
    OPS.with(|o| o.borrow_mut().push(op.into()));
    if !SCHEDULED.with(|s| s.replace(true)) {
        wasm_bindgen_futures::spawn_local(async { flush() });
    }
}

fn op(parts: &[JsValue]) -> js_sys::Array {
    parts.iter().collect()
}

/// The text of element `id`.
pub fn set_text(id: &str, text: &str) {
    push(op(&["text".into(), id.into(), text.into()]));
}

/// Attribute `name` of element `id` (None removes it).
pub fn set_attr(id: &str, name: &str, value: Option<&str>) {
    let v = value.map(JsValue::from_str).unwrap_or(JsValue::NULL);
    push(op(&["attr".into(), id.into(), name.into(), v]));
}

/// The settings the page shows (the URL, the controls, presenter mode) and their version.
pub fn settings(query: &str, version: u64) {
    push(op(&[
        "settings".into(),
        query.into(),
        JsValue::from_f64(version as f64),
    ]));
}

/// Where the data plot's mode handles are (canvas x, CSS pixels): the page decides from them
/// whether the wheel over the plot resizes a mode or scrolls the page.
pub fn handles(xs: &[f64]) {
    let list: js_sys::Array = xs.iter().map(|&x| JsValue::from_f64(x)).collect();
    push(op(&["handles".into(), list.into()]));
}

/// The lab stopped: `text` in place of the lab, with an optional link (href, label).
pub fn fatal(text: &str, link: Option<(&str, &str)>) {
    let (href, label) = link.unwrap_or(("", ""));
    push(op(&[
        "fatal".into(),
        text.into(),
        href.into(),
        label.into(),
    ]));
    flush();
}

/// Offers `bytes` as a download named `name` (the page makes the link).
pub fn download(name: &str, bytes: &[u8]) {
    let msg = js_sys::Object::new();
    let data = js_sys::Uint8Array::from(bytes);
    let _ = js_sys::Reflect::set(&msg, &"download".into(), &name.into());
    let _ = js_sys::Reflect::set(&msg, &"bytes".into(), &data);
    post_transfer(&msg, &js_sys::Array::of1(&data.buffer()));
}
