//! Bytes into the lab's worker: fetching files (relative to the page, not to the worker's
//! script), the MNIST digits, the browser's IndexedDB store of the MNIST network
//! (`difflabStore`, `www/store.js`). Downloads are the page's (`outbox::download`).

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::ui::Shared;
use super::util::now;
use crate::models::mnist::data::Digits;
use crate::models::Model;
use crate::session;
use crate::session::mnist::Offered;

/// Where the page fetches the training digits (relative to the page).
const TRAIN_ASSET: &str = "mnist-train.bin";
/// The IndexedDB key the MNIST network is kept under.
const STORE_KEY: &str = "mnist";

#[wasm_bindgen]
extern "C" {
    /// `www/store.js`: a small IndexedDB store of byte arrays.
    #[wasm_bindgen(js_namespace = difflabStore, js_name = put, catch)]
    fn store_put(key: &str, bytes: &[u8]) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(js_namespace = difflabStore, js_name = get, catch)]
    fn store_get(key: &str) -> Result<js_sys::Promise, JsValue>;
}

pub async fn array_buffer(promise: js_sys::Promise) -> Result<Vec<u8>, String> {
    let buf = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

thread_local! {
    /// The page's address: what relative URLs (the digits, the pretrained files, `?weights=`)
    /// are relative to.
    static BASE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Sets the page's address.
pub fn set_base(url: &str) {
    BASE.with(|b| *b.borrow_mut() = url.to_string());
}

/// The bytes at `url` (relative to the page).
pub async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let base = BASE.with(|b| b.borrow().clone());
    let full = if base.is_empty() {
        url.to_string()
    } else {
        web_sys::Url::new_with_base(url, &base)
            .map(|u| u.href())
            .map_err(|_| format!("not an address: {url}"))?
    };
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let resp = wasm_bindgen_futures::JsFuture::from(scope.fetch_with_str(&full))
        .await
        .map_err(|e| format!("could not fetch: {e:?}"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a response".to_string())?;
    if !resp.ok() {
        return Err(format!("the server answered {}", resp.status()));
    }
    array_buffer(resp.array_buffer().map_err(|e| format!("{e:?}"))?).await
}

/// Fetches and decodes the MNIST training digits once, gives them to the session and restores
/// the network this browser saved; an error is kept (and shown) and not retried.
pub async fn ensure_mnist_data(lab: &Shared) -> Result<(), String> {
    {
        let mut s = lab.session.borrow_mut();
        let m = s.mnist();
        if m.data.is_some() {
            return Ok(());
        }
        if let Some(e) = &m.load_error {
            return Err(e.clone());
        }
    }
    let result = fetch_bytes(TRAIN_ASSET)
        .await
        .and_then(|bytes| Digits::decode(&bytes))
        .map_err(|e| format!("The MNIST digits ({TRAIN_ASSET}) could not be loaded: {e}."));
    {
        let mut s = lab.session.borrow_mut();
        let device = s.device.clone();
        if s.mnist().data.is_some() {
            return Ok(());
        }
        match result {
            Ok(digits) => {
                s.mnist().set_data(digits, &device);
                s.dirty = true;
            }
            Err(e) => {
                s.mnist().load_error = Some(e.clone());
                s.error = Some(e.clone());
                s.playing = false;
                s.dirty = true;
                return Err(e);
            }
        }
    }
    // This browser's own network wins; else, unless the URL names a weights file, the site's
    // pretrained one, so that digits appear within seconds.
    if let Some(bytes) = stored_mnist().await {
        session::mnist::restore(&lab.session, &bytes, Offered::Saved);
    } else if lab.session.borrow().settings.weights.is_none() {
        let url = pretrained_url(Model::Mnist);
        fetching_pretrained(lab, true);
        let fetched = fetch_bytes(&url).await;
        fetching_pretrained(lab, false);
        match fetched {
            Ok(bytes) => {
                session::mnist::restore(&lab.session, &bytes, Offered::Pretrained);
            }
            Err(e) => {
                let mut s = lab.session.borrow_mut();
                s.notices.push(format!(
                    "No pretrained MNIST network ({url}: {e}); the network trains from scratch."
                ));
                s.dirty = true;
            }
        }
    }
    Ok(())
}

/// Marks the pretrained MNIST network as on its way in (or no longer). On its way, the views say
/// so at once (the drawing's DOM changes reach the page through the outbox's own flush): the
/// loop's turn waits for this fetch and draws only after it (on a slow connection the page said
/// "loading the 2,000 training digits…" all that time).
fn fetching_pretrained(lab: &Shared, on: bool) {
    {
        let mut s = lab.session.borrow_mut();
        s.mnist().fetching_pretrained = on;
        s.dirty = true;
    }
    if on {
        super::draw_now(lab);
    }
}

/// Where the site's pretrained network for `model` lies (relative to the page).
pub fn pretrained_url(model: Model) -> String {
    format!("pretrained/{}", session::drive::model_file(model))
}

/// The MNIST network this browser saved, if any.
async fn stored_mnist() -> Option<Vec<u8>> {
    let promise = store_get(STORE_KEY).ok()?;
    let value = wasm_bindgen_futures::JsFuture::from(promise).await.ok()?;
    if value.is_null() || value.is_undefined() {
        return None;
    }
    Some(js_sys::Uint8Array::new(&value).to_vec())
}

/// Saves the MNIST network to IndexedDB when it has trained since the last save: at once when
/// training stops, at most every 30 s while it runs (on WebGPU too: the read is asynchronous).
pub async fn save_mnist_if_due(lab: &Shared) {
    let steps = {
        let s = lab.session.borrow();
        let Some(m) = s.mnist.as_ref() else { return };
        let steps = m.steps();
        if m.live.trainer.is_none()
            || steps == m.saved_steps
            || (s.busy() && now() - m.last_save < 30_000.0)
        {
            return;
        }
        steps
    };
    let Ok(bytes) = session::train::export::<session::mnist::Mnist>(&lab.session).await else {
        return;
    };
    if let Ok(p) = store_put(STORE_KEY, &bytes) {
        let _ = wasm_bindgen_futures::JsFuture::from(p).await;
    }
    if let Some(m) = lab.session.borrow_mut().mnist.as_mut() {
        m.saved_steps = steps;
        m.last_save = now();
    }
}
