//! Small bridges to the browser that work in the page and in the lab's worker alike: time,
//! yielding to the event loop, animation frames, the console, the panic / GPU-lost flags; and,
//! for the page's shell only, the window and its document.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The page's window (the shell's code only: the worker has none).
pub fn window() -> web_sys::Window {
    web_sys::window().expect("running in a browser window")
}

/// The page's document (the shell's code only).
pub fn document() -> web_sys::Document {
    window().document().expect("window has a document")
}

/// `globalThis`'s property `name`.
pub fn global_get(name: &str) -> JsValue {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// Calls `globalThis[name](args…)` if it is a function.
fn global_call(name: &str, args: &[&JsValue]) -> Option<JsValue> {
    let f = global_get(name).dyn_into::<js_sys::Function>().ok()?;
    let list = js_sys::Array::new();
    for a in args {
        list.push(a);
    }
    f.apply(&js_sys::global(), &list).ok()
}

/// Milliseconds since the page (or the worker) started.
pub fn now() -> f64 {
    global_get("performance")
        .dyn_into::<web_sys::Performance>()
        .map(|p| p.now())
        .unwrap_or(0.0)
}

/// `setTimeout(f, ms)` on whichever global this runs in.
fn set_timeout(f: &js_sys::Function, ms: f64) {
    let _ = global_call("setTimeout", &[f.as_ref(), &JsValue::from_f64(ms)]);
}

thread_local! {
    /// A message channel whose messages resume yielded tasks, oldest first, and those tasks'
    /// resolvers (the channel's handler is leaked on purpose: it lives as long as the page).
    static YIELD: Option<(web_sys::MessagePort, std::rc::Rc<std::cell::RefCell<std::collections::VecDeque<js_sys::Function>>>)> = {
        let channel = web_sys::MessageChannel::new().ok()?;
        let waiting = std::rc::Rc::new(std::cell::RefCell::new(std::collections::VecDeque::<js_sys::Function>::new()));
        let queue = waiting.clone();
        let handler = Closure::<dyn FnMut(JsValue)>::new(move |_| {
            let next = queue.borrow_mut().pop_front();
            if let Some(resolve) = next {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            }
        });
        channel.port1().set_onmessage(Some(handler.as_ref().unchecked_ref()));
        handler.forget();
        Some((channel.port2(), waiting))
    };
}

/// Lets the event loop run other tasks (messages from the page, drawing) before continuing. A
/// message-channel task, not `setTimeout(0)`: nested timers are clamped to 4 ms, which a
/// training loop that yields every 30 ms would pay on every turn.
pub async fn yield_now() {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let posted = YIELD.with(|y| match y {
            Some((port, waiting)) => {
                waiting.borrow_mut().push_back(resolve.clone());
                port.post_message(&JsValue::NULL).is_ok()
            }
            None => false,
        });
        if !posted {
            set_timeout(&resolve, 0.0);
        }
    });
    let _ = JsFuture::from(p).await;
}

thread_local! {
    static LAST_YIELD: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

/// Yields only when this task has run for more than ~12 ms since the last yield: long
/// computations stay responsive without paying a round trip at every small step.
pub async fn breathe() {
    let last = LAST_YIELD.with(|c| c.get());
    if now() - last > 12.0 {
        yield_now().await;
        LAST_YIELD.with(|c| c.set(now()));
    }
}

/// Waits for the next animation frame (a dedicated worker has `requestAnimationFrame` for its
/// off-screen canvases); falls back to a timeout when frames are not delivered (a hidden tab),
/// so training continues.
pub async fn next_frame() {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let _ = global_call("requestAnimationFrame", &[resolve.as_ref()]);
        set_timeout(&resolve, 100.0);
    });
    let _ = JsFuture::from(p).await;
}

/// The shell's element `id` as a `T`.
pub fn element<T: JsCast>(id: &str) -> Option<T> {
    document()
        .get_element_by_id(id)
        .and_then(|e| e.dyn_into::<T>().ok())
}

pub fn log(msg: &str) {
    web_sys::console::log_1(&JsValue::from_str(msg));
}

thread_local! {
    static PANIC: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
    static GPU_LOST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The message of the panic that stopped the lab, if one did.
#[wasm_bindgen]
pub fn panic_message() -> Option<String> {
    PANIC.with(|p| p.borrow().clone())
}

/// Records the panic that stopped the lab.
pub fn record_panic(message: String) {
    PANIC.with(|p| *p.borrow_mut() = Some(message));
}

/// Records that the GPU device was lost (work still queued on it fails: not a new error).
pub fn set_gpu_lost() {
    GPU_LOST.with(|g| g.set(true));
}

/// Whether the GPU device was lost.
pub fn gpu_lost() -> bool {
    GPU_LOST.with(|g| g.get())
}
