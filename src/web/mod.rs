//! The browser side, in two parts of one module. The lab runs in a dedicated worker
//! (`www/worker.js` calls [`start_worker`]): the session on its device, its loop (the session's
//! turns, then drawing on the page's canvases, handed over as `OffscreenCanvas`es) and the
//! handle `window.lab`'s calls are forwarded to. The page's thread keeps the DOM (`shell`): it
//! forwards what the user does as messages (`protocol`) and applies what the worker sends back
//! (`outbox`), so training and drawing never block input or scrolling. No maths and no policy:
//! those are the session's (`crate::session`), which also runs natively.

mod controls;
mod device;
mod export;
mod handle;
mod ising_views;
mod mnist_views;
mod outbox;
mod plot;
mod protocol;
mod shell;
mod store;
mod surface;
mod ui;
mod util;
mod views;

/// The threaded module allocates from one heap per thread (see `crate::arena`).
#[cfg(feature = "threads")]
#[global_allocator]
static ALLOCATOR: crate::arena::PerThreadHeaps = crate::arena::PerThreadHeaps::new();

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;

use crate::models::Model;
use crate::session::{drive, Session};
use crate::settings::Settings;
use handle::LabHandle;
use ui::{Shared, Ui};
use util::now;

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
/// In the threaded module wasm-bindgen runs this on the first thread of a memory only (the
/// pool's workers share the constructed statics).
#[wasm_bindgen(start)]
fn run_static_constructors() {
    // SAFETY: called once, first, before any other Rust code of the module runs.
    unsafe { __wasm_call_ctors() }
}

/// The threaded module's pool (feature `threads`): `initThreadPool(n)` in JavaScript starts n
/// Web Workers on the module's shared memory as rayon's global pool, which burn's CPU backend
/// (and its matrix kernels) split their work over. The lab's worker awaits it before
/// `startWorker`.
#[cfg(feature = "threads")]
pub use wasm_bindgen_rayon::init_thread_pool;

/// Whether this module was built with threads (feature `threads`).
#[wasm_bindgen(js_name = hasThreads)]
pub fn has_threads() -> bool {
    cfg!(feature = "threads")
}

/// The thread count the page's settings ask for (`threads`, validated by the settings table;
/// 0: every core), read before the lab starts so the pool can be made first.
#[wasm_bindgen(js_name = threadsWanted)]
pub fn threads_wanted(search: &str) -> u32 {
    Settings::from_query(search).0.threads as u32
}

/// `console_error_panic_hook` reports a panic to the (worker's) console with its stack; the
/// page then shows its message in place of the lab, unless a lost GPU device already says why
/// work failed.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(move |info| {
        console_error_panic_hook::hook(info);
        let msg = info.to_string();
        util::record_panic(msg.clone());
        let note = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&note, &"panic".into(), &msg.clone().into());
        outbox::post(&note);
        if util::gpu_lost() {
            return; // work still queued on the lost device failed: the page already says why
        }
        outbox::fatal(
            &format!(
                "The lab stopped because of an internal error:\n{msg}\n\nReload the page to start again (your settings are in the URL)."
            ),
            None,
        );
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
        let mut s = lab.session.borrow_mut();
        draw_timed(&mut s, &mut ui);
    }
}

/// Redraws everything now, unless the session or the drawing state is in use (a call from
/// inside the loop's turn), where the turn draws it when due.
pub(crate) fn draw_now(lab: &Shared) {
    if let (Ok(mut s), Ok(mut ui)) = (lab.session.try_borrow_mut(), lab.ui.try_borrow_mut()) {
        draw_timed(&mut s, &mut ui);
    }
}

/// Draws everything, marks the session drawn and times the drawing (the pacing of
/// [`draw_if_due`] follows it).
fn draw_timed(s: &mut Session, ui: &mut Ui) {
    s.dirty = false;
    let started = now();
    draw_all(s, ui);
    ui.last_draw = now();
    ui.draw_cost = ui.last_draw - started;
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

/// Sends the page the queued DOM changes and the lab's status (what `lab.status()` and
/// `lab.settings` answer from on the page's side) in one message. While the session is borrowed
/// (a panic inside a session call reports through here) the changes go alone.
pub(crate) fn post_status(lab: &Shared) {
    let msg = js_sys::Object::new();
    if let (Ok(s), Ok(ui)) = (lab.session.try_borrow(), lab.ui.try_borrow()) {
        if let Ok(json) = serde_json::to_string(&s.status()) {
            let status = js_sys::JSON::parse(&json).unwrap_or(JsValue::NULL);
            let _ = js_sys::Reflect::set(&status, &"drawMs".into(), &ui.draw_cost.into());
            let _ = js_sys::Reflect::set(&msg, &"status".into(), &status);
            let _ = js_sys::Reflect::set(&msg, &"settings".into(), &s.settings.to_query().into());
        }
    }
    outbox::post(&msg);
}

/// How long a training chunk's partner thread (`partner`) spins for the next half-step before
/// it parks: longer than the serial part of a small network's step (Ising's, the toy's: about
/// 1–2 ms between halves here), shorter than a U-Net's optimizer step, which it sleeps through.
#[cfg(feature = "threads")]
const PARTNER_SPIN_MS: f64 = 3.0;

/// Starts the lab in the worker: picks the device, reads the page's URL (`search`; `base`: its
/// address, for relative files), adopts the page's canvases (`[{ id, canvas, width, height }]`,
/// CSS sizes; `dpr`: the page's `devicePixelRatio`) and starts the loop.
/// `threads`: the CPU backend's pool (1: none), and `threads_note` why that many.
#[wasm_bindgen(js_name = startWorker)]
pub async fn start_worker(
    search: String,
    base: String,
    dpr: f64,
    canvases: js_sys::Array,
    threads: u32,
    threads_note: String,
) -> Result<LabHandle, JsValue> {
    install_panic_hook();
    store::set_base(&base);
    surface::set_dpr(dpr);
    for c in canvases.iter() {
        let get = |k: &str| js_sys::Reflect::get(&c, &JsValue::from_str(k)).unwrap_or_default();
        let (Some(id), Ok(canvas)) = (get("id").as_string(), get("canvas").dyn_into()) else {
            continue;
        };
        let (w, h) = (
            get("width").as_f64().unwrap_or(0.0),
            get("height").as_f64().unwrap_or(0.0),
        );
        surface::adopt(&id, canvas, w, h);
    }
    let (settings, problems) = Settings::from_query(&search);
    let (device, name, note) = device::pick_device(settings.device).await;
    // The CPU's thread count, and why, is part of the device's story (the header's badge).
    let note = if name == "cpu" {
        let on = if threads == 1 {
            "1 thread".to_string()
        } else {
            format!("{threads} threads")
        };
        format!("{on} ({threads_note}) · {note}")
    } else {
        note
    };
    util::log(&format!("difflab: device {name}: {note}"));
    let badge = format!("{} · {note}", name.to_uppercase());
    outbox::set_text("device", &badge);
    outbox::set_attr("device", "data-device", Some(name));
    outbox::set_attr("device", "title", Some(&badge));
    let mut session = Session::new(settings, device, name, note, now, browser_pause());
    session.notices = problems;
    // Training chunks as jobs on the pool, so that burn's parallel operations fork inside it
    // (`pacing::OnPool`), and each step's batch as two halves at once (`run::Join`), the
    // second half handed to a partner thread that stays with the chunk (`partner`): the
    // pool's `join` only where no partner serves yet.
    #[cfg(feature = "threads")]
    if threads > 1 {
        session.on_pool = Some(|steps| {
            rayon::scope(|_| {
                crate::partner::with_partner(
                    |a, b| {
                        rayon::join(a, b);
                    },
                    now,
                    PARTNER_SPIN_MS,
                    || matches!(rayon::yield_now(), Some(rayon::Yield::Executed)),
                    steps,
                )
            })
        });
        session.join = Some(|a, b| {
            if !crate::partner::hand_over(a, b) {
                rayon::join(a, b);
            }
        });
    }
    let lab = Shared {
        session: Rc::new(RefCell::new(session)),
        ui: Rc::new(RefCell::new(Ui::default())),
    };
    controls::sync_page(&lab);
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
    // What a task outside the loop changed (a control, a loaded file) reaches the page as the
    // loop's turns do: drawn when due, with the status, in one message.
    let status = lab.clone();
    outbox::set_status(move || {
        if status.session.try_borrow_mut().is_ok() && status.ui.try_borrow_mut().is_ok() {
            draw_if_due(&status);
        }
        post_status(&status);
    });
    post_status(&lab);
    let looping = lab.clone();
    wasm_bindgen_futures::spawn_local(async move {
        loop {
            if looping.session.borrow().stopped.is_some() {
                post_status(&looping);
                break;
            }
            turn(&looping).await;
            post_status(&looping);
            if util::panic_message().is_some() {
                break;
            }
            // While training, the next chunk follows at once (messages from the page are
            // handled between chunks); idle, the loop waits for the next frame.
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
