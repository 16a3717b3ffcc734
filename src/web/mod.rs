//! The browser shell: starts the lab on the chosen device, binds the controls, runs the page's
//! loop (the session's turns, then drawing) and hands `window.lab` to JavaScript. No maths and
//! no policy: those are the session's (`crate::session`), which also runs natively.

mod controls;
mod device;
mod export;
mod handle;
mod ising_views;
mod mnist_views;
mod plot;
mod present;
mod store;
mod surface;
mod ui;
mod util;
mod views;

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use crate::models::Model;
use crate::session::{drive, Session};
use crate::settings::Settings;
use handle::LabHandle;
use ui::{Shared, Ui};
use util::{document, now, window};

unsafe extern "C" {
    /// Synthesised by the Wasm linker: runs every static constructor (burn's dependencies
    /// register kernels with `inventory`, which uses them).
    fn __wasm_call_ctors();
}

/// Runs the static constructors once, when the module is instantiated. Without an explicit call
/// the linker treats the module as a "command" and wraps *every* export in a call to
/// `__wasm_call_ctors`: every callback from JavaScript (each timer, each promise resolution,
/// each table allocation) re-ran all of them. Measured with Chromium's profiler while training
/// the toy: 35% of the time in `__wasm_call_ctors` and `inventory`'s registrations.
/// See the `inventory` crate's notes on WebAssembly.
#[wasm_bindgen(start)]
fn run_static_constructors() {
    // SAFETY: called once, first, before any other Rust code of the module runs.
    unsafe { __wasm_call_ctors() }
}

/// `console_error_panic_hook` reports a panic to the console (with its stack); the page then
/// shows its message in place of the lab, unless a lost GPU device already says why work failed.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(move |info| {
        console_error_panic_hook::hook(info);
        let msg = info.to_string();
        util::record_panic(msg.clone());
        if util::gpu_lost() {
            return; // work still queued on the lost device failed: the page already says why
        }
        if let Some(el) = document().get_element_by_id("fatal") {
            el.set_text_content(Some(&format!(
                "The lab stopped because of an internal error:\n{msg}\n\nReload the page to start again (your settings are in the URL)."
            )));
            let _ = el.set_attribute("style", "");
        }
    }));
}

/// A pause for long computations: yields to the browser when the task has run a while.
fn browser_pause() -> crate::pacing::Pause {
    Rc::new(|| Box::pin(util::breathe()))
}

/// Redraws what changed; while training, at most every 250 ms and at most a fifth of the time
/// (drawing every plot costs tens of milliseconds that training would otherwise get).
fn draw_if_due(lab: &Shared) {
    let s = lab.session.borrow();
    let mut ui = lab.ui.borrow_mut();
    if s.dirty && (!s.busy() || now() - ui.last_draw > (4.0 * ui.draw_cost).max(250.0)) {
        drop(s);
        lab.session.borrow_mut().dirty = false;
        let s = lab.session.borrow();
        let started = now();
        draw_all(&s, &mut ui);
        ui.last_draw = now();
        ui.draw_cost = ui.last_draw - started;
    }
}

/// Draws every figure of the model on show (and its header figures).
fn draw_all(s: &Session, ui: &mut Ui) {
    match s.settings.model {
        Model::Toy1d => views::draw_all(s, ui),
        Model::Ising => ising_views::draw_all(s, ui),
        Model::Mnist => mnist_views::draw_all(s, ui),
    }
}

/// One turn of the page: the session's turn (training, views), drawing, keeping MNIST saved.
async fn turn(lab: &Shared) {
    let model = lab.session.borrow().settings.model;
    if model == Model::Mnist {
        // An error is kept in the session and shown; nothing else runs until the digits load.
        let _ = store::ensure_mnist_data(lab).await;
    }
    drive::tick(&lab.session).await;
    controls::sync_if_changed(lab);
    // Draw before saving: on WebGPU the save reads every weight back, which takes a while.
    draw_if_due(lab);
    if model == Model::Mnist {
        store::save_mnist_if_due(lab).await;
    }
}

/// Starts the lab: picks the device, reads the URL, binds the controls and starts the loop.
#[wasm_bindgen]
pub async fn start() -> Result<LabHandle, JsValue> {
    let search = window().location().search().unwrap_or_default();
    let (settings, problems) = Settings::from_query(&search);
    let (device, name, note) = device::pick_device(settings.device).await;
    util::log(&format!("difflab: device {name}: {note}"));
    util::set_text("device", &format!("{} · {note}", name.to_uppercase()));
    if let Some(e) = document().get_element_by_id("device") {
        let _ = e.set_attribute("data-device", name);
        let _ = e.set_attribute("title", &format!("{} · {note}", name.to_uppercase()));
    }
    let mut session = Session::new(settings, device, name, note, now, browser_pause());
    session.notices = problems;
    let lab = Shared {
        session: Rc::new(RefCell::new(session)),
        ui: Rc::new(RefCell::new(Ui::default())),
    };
    install_panic_hook();
    controls::sync_page(&lab);
    controls::bind(&lab);
    export::bind(&lab);
    let url = lab.session.borrow().settings.weights.clone();
    if let Some(url) = url {
        let result = match store::fetch_bytes(&url).await {
            Ok(bytes) => controls::load_weights(&lab, &bytes, &url).await,
            Err(e) => Err(format!("{url}: {e}")),
        };
        controls::report(&lab, result);
    }
    // Draw once before the API resolves, so messages about the URL are on screen at once.
    lab.session.borrow_mut().dirty = true;
    draw_if_due(&lab);
    let resize = lab.clone();
    controls::listen(&window(), "resize", move |_| {
        present::resized(&resize);
        resize.session.borrow_mut().dirty = true
    });
    let looping = lab.clone();
    wasm_bindgen_futures::spawn_local(async move {
        loop {
            if looping.session.borrow().stopped.is_some() {
                break;
            }
            turn(&looping).await;
            if util::panic_message().is_some() {
                break;
            }
            // While training, the next chunk follows at once (the browser still paints and
            // takes input between tasks); idle, the loop waits for the next frame.
            let busy = looping.session.borrow().busy();
            if busy {
                util::yield_now().await;
            } else {
                util::next_frame().await;
            }
        }
    });
    Ok(LabHandle { lab })
}
