//! The browser shell: device choice, the page's controls, the animation loop and the
//! `window.lab` API. Everything else in the crate is plain Rust that also runs natively.

mod app;
mod ising;
mod ising_views;
mod mnist;
mod mnist_views;
mod plot;
mod util;
mod views;

use std::cell::RefCell;
use std::rc::Rc;

use burn::prelude::Device;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::diffusion::{Sampler, SamplerKind};
use crate::models::toy1d::mixture::Mixture;
use crate::models::Model;
use crate::run::Training;
use crate::settings::{DeviceChoice, Settings};
use app::{App, Shared, TrainRequest};
use util::{document, element, now, window};

thread_local! {
    static PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Why the GPU device was lost, once it was: the lab has stopped for good in this page.
    static GPU_LOST: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// The message of a lost GPU device, if it was lost.
fn gpu_lost() -> Option<String> {
    GPU_LOST.with(|g| g.borrow().clone())
}

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

/// The message of the panic that stopped the lab, if one did.
#[wasm_bindgen]
pub fn panic_message() -> Option<String> {
    PANIC.with(|p| p.borrow().clone())
}

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = info.to_string();
        web_sys::console::error_1(&JsValue::from_str(&format!("difflab panicked: {msg}")));
        PANIC.with(|p| *p.borrow_mut() = Some(msg.clone()));
        if gpu_lost().is_some() {
            return; // work still queued on the lost device failed: the page already says why
        }
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id("fatal"))
        {
            el.set_text_content(Some(&format!(
                "The lab stopped because of an internal error:\n{msg}\n\nReload the page to start again (your settings are in the URL)."
            )));
            let _ = el.set_attribute("style", "");
        }
    }));
}

/// Asks the browser for a WebGPU adapter (not just `navigator.gpu`, which exists even where no
/// adapter is given). Returns why not, when there is none.
async fn webgpu_adapter() -> Result<(), String> {
    let nav = window().navigator();
    let gpu = js_sys::Reflect::get(&nav, &JsValue::from_str("gpu")).unwrap_or(JsValue::UNDEFINED);
    if gpu.is_undefined() || gpu.is_null() {
        return Err("this browser has no WebGPU (navigator.gpu is missing)".into());
    }
    let request = js_sys::Reflect::get(&gpu, &JsValue::from_str("requestAdapter"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or("navigator.gpu.requestAdapter is missing")?;
    let promise = request
        .call0(&gpu)
        .map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    let adapter = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise))
        .await
        .map_err(|e| format!("requestAdapter failed: {e:?}"))?;
    if adapter.is_null() || adapter.is_undefined() {
        return Err(
            "the browser offers WebGPU but gave no adapter (GPU blocklisted or disabled)".into(),
        );
    }
    Ok(())
}

async fn pick_device(choice: DeviceChoice) -> (Device, &'static str, String) {
    if choice == DeviceChoice::Cpu {
        return (Device::flex(), "cpu", "CPU chosen by ?device=cpu".into());
    }
    let why = match webgpu_adapter().await {
        Ok(()) => match Device::wgpu_options().init_async().await {
            Ok(device) => {
                return (
                    device,
                    "webgpu",
                    "training on the GPU through WebGPU".into(),
                )
            }
            Err(e) => format!("WebGPU failed to start ({e})"),
        },
        Err(why) => why,
    };
    let note = if choice == DeviceChoice::WebGpu {
        format!("WebGPU was requested but {why}; training on the CPU instead")
    } else {
        format!("No WebGPU: {why}. Training on the CPU (slower, same results)")
    };
    (Device::flex(), "cpu", note)
}

/// The handle `window.lab` wraps.
#[wasm_bindgen]
pub struct LabHandle {
    app: Shared,
}

fn opt_f64(opts: &JsValue, key: &str) -> Option<f64> {
    js_sys::Reflect::get(opts, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_f64())
}

fn opt_str(opts: &JsValue, key: &str) -> Option<String> {
    js_sys::Reflect::get(opts, &JsValue::from_str(key))
        .ok()
        .and_then(|v| v.as_string())
}

fn check_model(model: &str) -> Result<Model, JsValue> {
    if let Some(lost) = gpu_lost() {
        return Err(JsValue::from_str(&lost));
    }
    Model::from_name(model).ok_or_else(|| {
        JsValue::from_str(&format!(
            "unknown model '{model}' (available: {})",
            Model::names()
        ))
    })
}

/// Shows `model` in the page (as choosing it in the controls would) if it is not shown yet.
fn show_model(app: &Shared, model: Model, change: impl FnOnce(&mut Settings)) {
    let query = {
        let a = app.borrow();
        let mut s = a.settings.clone();
        s.model = model;
        change(&mut s);
        if s == a.settings {
            return;
        }
        s.to_query()
    };
    LabHandle { app: app.clone() }.apply_settings(&query);
}

/// Steps trained so far by the model on show.
fn trained_steps(a: &App) -> Option<u64> {
    if a.is_mnist() {
        a.mnist
            .as_ref()
            .and_then(|s| s.trainer.as_ref())
            .map(|t| t.steps())
    } else if a.is_ising() {
        a.ising
            .as_ref()
            .and_then(|s| s.trainer.as_ref())
            .map(|t| t.steps())
    } else {
        a.trainer.as_ref().map(|t| t.steps())
    }
}

fn last_loss(a: &App) -> f64 {
    let losses = if a.is_mnist() {
        a.mnist.as_ref().map(|s| &s.losses[..]).unwrap_or(&[])
    } else if a.is_ising() {
        a.ising.as_ref().map(|s| &s.losses[..]).unwrap_or(&[])
    } else {
        &a.losses[..]
    };
    losses.last().map(|(_, l)| *l).unwrap_or(f64::NAN)
}

/// `opts.sampler` (a name of the sampler table, `default` when absent) with `opts.a` for the
/// reverse family (`a_default` when absent).
fn sampler_option(opts: &JsValue, default: &str, a_default: f64) -> Result<SamplerKind, JsValue> {
    let name = opt_str(opts, "sampler").unwrap_or_else(|| default.to_string());
    let a = opt_f64(opts, "a").unwrap_or(a_default);
    let (lo, hi) = crate::settings::limits::A;
    if name == "family" && !(a.is_finite() && (lo..=hi).contains(&a)) {
        return Err(JsValue::from_str(&format!(
            "a must be between {lo} and {hi}, got {a}"
        )));
    }
    SamplerKind::from_name(&name, a).ok_or_else(|| {
        JsValue::from_str(&format!(
            "unknown sampler '{name}' (one of {})",
            SamplerKind::names()
        ))
    })
}

fn count(opts: &JsValue, key: &str, default: f64, max: f64) -> Result<u64, JsValue> {
    let v = opt_f64(opts, key).unwrap_or(default);
    if !(v.is_finite() && v >= 1.0 && v <= max && v.fract() == 0.0) {
        return Err(JsValue::from_str(&format!(
            "{key} must be a whole number from 1 to {max}, got {v}"
        )));
    }
    Ok(v as u64)
}

#[wasm_bindgen]
impl LabHandle {
    /// Called by `www/main.js` when the WebGPU device is lost (a driver reset, the GPU process
    /// crashing, the browser reclaiming it): the lab stops for good in this page and says so, with
    /// a link to the same settings on the CPU. Nothing the user had is lost: the settings are in
    /// the URL and the MNIST network's last save is restored from IndexedDB at the next load.
    #[wasm_bindgen(js_name = gpuLost)]
    pub fn gpu_lost(&self, reason: String) {
        let message = format!(
            "The GPU device was lost ({reason}). WebGPU work cannot go on in this page, so the lab has \
             stopped. Nothing you set is lost: the settings are in the address bar, and a trained \
             MNIST network is restored from this browser's storage (its last save) when the page \
             loads again. Reload to try the GPU again, or "
        );
        util::log(&message);
        GPU_LOST.with(|g| *g.borrow_mut() = Some(message.clone()));
        {
            let mut a = self.app.borrow_mut();
            a.playing = false;
            a.pending.clear();
        }
        let doc = document();
        if let Some(el) = doc.get_element_by_id("fatal") {
            el.set_text_content(Some(&message));
            if let Ok(link) = doc.create_element("a") {
                let mut s = self.app.borrow().settings.clone();
                s.device = DeviceChoice::Cpu;
                let _ = link.set_attribute("href", &format!("?{}", s.to_query()));
                link.set_text_content(Some("continue on the CPU"));
                let _ = el.append_child(&link);
                let _ = el.append_with_str_1(".");
            }
            let _ = el.set_attribute("style", "");
        }
    }

    /// "webgpu" or "cpu".
    #[wasm_bindgen(getter)]
    pub fn device(&self) -> String {
        self.app.borrow().device_name.to_string()
    }

    /// Why this device (e.g. why WebGPU was not used).
    #[wasm_bindgen(getter, js_name = deviceNote)]
    pub fn device_note(&self) -> String {
        self.app.borrow().device_note.clone()
    }

    /// The settings as a query string (what the URL holds).
    #[wasm_bindgen(getter)]
    pub fn settings(&self) -> String {
        self.app.borrow().settings.to_query()
    }

    /// Trains `steps` Adam steps; resolves `{ steps, loss, ms, totalSteps }`.
    pub fn train(&self, model: String, opts: JsValue) -> js_sys::Promise {
        let app = self.app.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let model = check_model(&model)?;
            let steps = count(&opts, "steps", 100.0, 1e7)?;
            let beta = opt_f64(&opts, "beta");
            if model == Model::Ising {
                if let Some(b) = beta {
                    let (lo, hi) = crate::settings::limits::BETA;
                    if !(b.is_finite() && (lo..=hi).contains(&b)) {
                        return Err(JsValue::from_str(&format!(
                            "beta must be between {lo} and {hi}, got {b}"
                        )));
                    }
                }
            }
            // Training a model shows it (a new beta regenerates the data and starts afresh).
            show_model(&app, model, |s| {
                if let Some(b) = beta {
                    s.ising.beta = b;
                }
            });
            if model == Model::Ising {
                ising::state(&mut app.borrow_mut());
            }
            if model == Model::Mnist {
                mnist::ensure_data(&app)
                    .await
                    .map_err(|e| JsValue::from_str(&e))?;
            }
            let started = now();
            let before = trained_steps(&app.borrow()).unwrap_or(0);
            app.borrow_mut().error = None;
            app.borrow_mut()
                .pending
                .push(TrainRequest { remaining: steps });
            // The page loop runs the steps (between frames); wait until this request is done.
            loop {
                util::next_frame().await;
                let a = app.borrow();
                if a.pending.is_empty() && trained_steps(&a).is_some() {
                    break;
                }
                if let Some(p) = gpu_lost().or_else(panic_message) {
                    return Err(JsValue::from_str(&p));
                }
            }
            let a = app.borrow();
            if let Some(e) = &a.error {
                return Err(JsValue::from_str(e));
            }
            let total = trained_steps(&a).unwrap_or(0);
            let loss = last_loss(&a);
            let out = js_sys::Object::new();
            let set = |k: &str, v: f64| {
                js_sys::Reflect::set(&out, &JsValue::from_str(k), &JsValue::from_f64(v))
            };
            set("steps", total.saturating_sub(before) as f64)?;
            set("totalSteps", total as f64)?;
            set("loss", loss)?;
            set("ms", now() - started)?;
            Ok(out.into())
        })
    }

    /// Draws samples; resolves `{ data: Float32Array, shape: [n] }`.
    /// Options: `n`, `sampler` ("sde" | "ode" | "ode-euler" | "family"), `a`, `steps`,
    /// `score` ("learned" | "exact"), `seed`.
    pub fn sample(&self, model: String, opts: JsValue) -> js_sys::Promise {
        let app = self.app.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let model = check_model(&model)?;
            if model == Model::Ising {
                return ising_sample(&app, &opts).await;
            }
            if model == Model::Mnist {
                return mnist_sample(&app, &opts).await;
            }
            let n = count(&opts, "n", 1000.0, 1e6)? as usize;
            let steps = count(&opts, "steps", app.borrow().settings.steps as f64, 1e5)? as usize;
            let kind = sampler_option(&opts, "sde", 1.0)?;
            let exact = match opt_str(&opts, "score").as_deref().unwrap_or("learned") {
                "learned" => false,
                "exact" => true,
                other => {
                    return Err(JsValue::from_str(&format!(
                        "score must be learned or exact, got '{other}'"
                    )))
                }
            };
            let seed = opt_f64(&opts, "seed")
                .map(|s| s as u64)
                .unwrap_or_else(|| (now() * 1000.0) as u64);
            let data = app::api_sample(&app, n, Sampler { kind, steps }, exact, seed)
                .await
                .map_err(|e| JsValue::from_str(&e))?;
            let out = js_sys::Object::new();
            js_sys::Reflect::set(
                &out,
                &JsValue::from_str("data"),
                &js_sys::Float32Array::from(&data[..]),
            )?;
            js_sys::Reflect::set(
                &out,
                &JsValue::from_str("shape"),
                &js_sys::Array::of1(&JsValue::from_f64(n as f64)),
            )?;
            Ok(out.into())
        })
    }

    /// Exact statistics of the Ising model at the shown beta, and those of `configs` (±1,
    /// 64 per configuration) against them: `{ tvAbsM, tvEnergy, nnCorrelation,
    /// exactNnCorrelation, n }`.
    #[wasm_bindgen(js_name = isingStats)]
    pub fn ising_stats(&self, configs: &[f32]) -> Result<JsValue, JsValue> {
        let mut a = self.app.borrow_mut();
        let s = ising::state(&mut a);
        if configs.len() % crate::models::ising::lattice::SITES != 0 {
            return Err(JsValue::from_str("configurations must have 64 spins each"));
        }
        let spins: Vec<i8> = configs
            .iter()
            .map(|&v| if v > 0.0 { 1 } else { -1 })
            .collect();
        let stats = crate::models::ising::lattice::SpinStats::of(&spins);
        let (tv_m, tv_e) = stats.tv_to(&s.exact);
        let out = js_sys::Object::new();
        let set = |k: &str, v: f64| {
            js_sys::Reflect::set(&out, &JsValue::from_str(k), &JsValue::from_f64(v))
        };
        set("tvAbsM", tv_m)?;
        set("tvEnergy", tv_e)?;
        set("nnCorrelation", stats.nn_correlation)?;
        set("exactNnCorrelation", s.exact.nn_correlation())?;
        set("n", stats.n as f64)?;
        Ok(out.into())
    }

    /// Exact Wasserstein-1 distance of `samples` to the current data density.
    pub fn w1(&self, samples: &[f32]) -> f64 {
        self.app.borrow().mixture.wasserstein1(samples)
    }

    /// A snapshot of the page's state for tests and the console.
    pub fn status(&self) -> JsValue {
        let a = self.app.borrow();
        let out = js_sys::Object::new();
        let set = |k: &str, v: JsValue| {
            let _ = js_sys::Reflect::set(&out, &JsValue::from_str(k), &v);
        };
        set("model", JsValue::from_str(a.settings.model.name()));
        if a.is_mnist() {
            if let Some(s) = a.mnist.as_ref() {
                set("steps", JsValue::from_f64(s.steps() as f64));
                set("playing", JsValue::from_bool(a.playing));
                set(
                    "loss",
                    JsValue::from_f64(s.losses.last().map(|(_, l)| *l).unwrap_or(f64::NAN)),
                );
                set(
                    "error",
                    a.error.clone().map(JsValue::from).unwrap_or(JsValue::NULL),
                );
                set("notices", JsValue::from_str(&a.notices.join("\n")));
                set("dataLoaded", JsValue::from_bool(s.data.is_some()));
                set("lossPoints", JsValue::from_f64(s.losses.len() as f64));
                set("viewsReady", JsValue::from_bool(s.learned.is_some()));
                set(
                    "viewsStep",
                    JsValue::from_f64(s.learned.as_ref().map(|l| l.steps as f64).unwrap_or(-1.0)),
                );
                set("refreshMs", JsValue::from_f64(s.refresh_cost));
                set("drawMs", JsValue::from_f64(a.draw_cost));
                set("stepsPerSec", JsValue::from_f64(s.pace.steps_per_sec));
                set(
                    "classifierSteps",
                    JsValue::from_f64(s.classifier_steps() as f64),
                );
                if let Some(d) = s.learned.as_ref().and_then(|l| l.mean_nearest()) {
                    set("nearestDistance", JsValue::from_f64(d));
                }
            }
            return out.into();
        }
        if a.is_ising() {
            if let Some(s) = a.ising.as_ref() {
                set("steps", JsValue::from_f64(s.steps() as f64));
                set("playing", JsValue::from_bool(a.playing));
                set(
                    "loss",
                    JsValue::from_f64(s.losses.last().map(|(_, l)| *l).unwrap_or(f64::NAN)),
                );
                set(
                    "error",
                    a.error.clone().map(JsValue::from).unwrap_or(JsValue::NULL),
                );
                set("notices", JsValue::from_str(&a.notices.join("\n")));
                set("viewsReady", JsValue::from_bool(s.learned.is_some()));
                set(
                    "viewsStep",
                    JsValue::from_f64(s.learned.as_ref().map(|l| l.steps as f64).unwrap_or(-1.0)),
                );
                set("refreshMs", JsValue::from_f64(s.refresh_cost));
                set("drawMs", JsValue::from_f64(a.draw_cost));
                set("stepsPerSec", JsValue::from_f64(s.pace.steps_per_sec));
                set(
                    "exactNnCorrelation",
                    JsValue::from_f64(s.exact.nn_correlation()),
                );
                set("exactMs", JsValue::from_f64(s.exact_ms));
                if let Some(l) = &s.learned {
                    set("tvAbsM", JsValue::from_f64(l.tv.0));
                    set("tvEnergy", JsValue::from_f64(l.tv.1));
                    set("nnCorrelation", JsValue::from_f64(l.stats.nn_correlation));
                }
            }
            return out.into();
        }
        set(
            "steps",
            JsValue::from_f64(
                a.trainer
                    .as_ref()
                    .map(|t| t.steps())
                    .unwrap_or(a.snapshot_steps) as f64,
            ),
        );
        set("playing", JsValue::from_bool(a.playing));
        set(
            "loss",
            JsValue::from_f64(a.losses.last().map(|(_, l)| *l).unwrap_or(f64::NAN)),
        );
        set(
            "error",
            a.error.clone().map(JsValue::from).unwrap_or(JsValue::NULL),
        );
        set("notices", JsValue::from_str(&a.notices.join("\n")));
        set("viewsReady", JsValue::from_bool(a.learned.is_some()));
        set("refreshMs", JsValue::from_f64(a.refresh_cost));
        set("drawMs", JsValue::from_f64(a.draw_cost));
        set("stepsPerSec", JsValue::from_f64(a.pace.steps_per_sec));
        set(
            "viewsStep",
            JsValue::from_f64(a.learned.as_ref().map(|l| l.steps as f64).unwrap_or(-1.0)),
        );
        if let Some(l) = &a.learned {
            set("sdeW1", JsValue::from_f64(l.sde_w1));
            set("odeW1", JsValue::from_f64(l.ode_w1));
        }
        out.into()
    }

    /// Panics on purpose, so the browser tests can check that a panic is shown in the page.
    #[wasm_bindgen(js_name = panicForTest)]
    pub fn panic_for_test(&self) -> js_sys::Promise {
        wasm_bindgen_futures::future_to_promise(async move { panic!("deliberate test panic") })
    }

    /// Loads weights from bytes (as the file picker does); resolves with a message or rejects.
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights_bytes(&self, bytes: Vec<u8>) -> js_sys::Promise {
        let app = self.app.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let r = load_weights(&app, &bytes, "the given bytes").await;
            report(&app, r.clone());
            r.map(|m| JsValue::from_str(&m))
                .map_err(|e| JsValue::from_str(&e))
        })
    }

    /// The network on show as a weights file's bytes; resolves with a `Uint8Array`.
    #[wasm_bindgen(js_name = exportWeights)]
    pub fn export_weights(&self) -> js_sys::Promise {
        let app = self.app.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            export_bytes(&app)
                .await
                .map(|(bytes, _)| js_sys::Uint8Array::from(&bytes[..]).into())
                .map_err(|e| JsValue::from_str(&e))
        })
    }

    /// Pauses or resumes training in the page loop.
    #[wasm_bindgen(js_name = setPlaying)]
    pub fn set_playing(&self, on: bool) {
        let mut a = self.app.borrow_mut();
        a.playing = on;
        a.dirty = true;
    }

    /// Applies a query string of settings (as the URL would), returning the problems found.
    #[wasm_bindgen(js_name = applySettings)]
    pub fn apply_settings(&self, query: &str) -> Vec<String> {
        let (s, problems) = Settings::from_query(query);
        let mut a = self.app.borrow_mut();
        a.notices = problems.clone();
        a.apply(s);
        write_url(&a.settings);
        fill_controls(&a.settings);
        problems
    }
}

/// `lab.sample("mnist", { n, sampler?, steps?, digit?, guidance?, seed? })`:
/// `{ data: Float32Array in [0, 1], shape: [n, 784] }`.
async fn mnist_sample(app: &Shared, opts: &JsValue) -> Result<JsValue, JsValue> {
    show_model(app, Model::Mnist, |_| {});
    mnist::ensure_data(app)
        .await
        .map_err(|e| JsValue::from_str(&e))?;
    let n = count(opts, "n", 16.0, 10_000.0)? as usize;
    let (default_kind, default_steps, default_scale) = {
        let a = app.borrow();
        (
            a.settings.mnist_sampler,
            a.settings.mnist_steps,
            a.settings.guidance,
        )
    };
    let kind = sampler_option(opts, default_kind.name(), 1.0)?;
    let steps = count(
        opts,
        "steps",
        default_steps as f64,
        crate::settings::limits::MNIST_STEPS.1,
    )? as usize;
    let digit = match opt_f64(opts, "digit") {
        None => None,
        Some(d) if (0.0..=9.0).contains(&d) && d.fract() == 0.0 => Some(d as u8),
        Some(d) => {
            return Err(JsValue::from_str(&format!(
                "digit must be a whole number from 0 to 9, got {d}"
            )))
        }
    };
    let scale = opt_f64(opts, "guidance").unwrap_or(default_scale);
    let (lo, hi) = crate::settings::limits::GUIDANCE;
    if !(scale.is_finite() && (lo..=hi).contains(&scale)) {
        return Err(JsValue::from_str(&format!(
            "guidance must be between {lo} and {hi}, got {scale}"
        )));
    }
    if digit.is_some() {
        mnist::ensure_classifier(app)
            .await
            .map_err(|e| JsValue::from_str(&e))?;
    }
    let (model, guidance, device) = {
        let mut a = app.borrow_mut();
        let device = a.device.clone();
        let guidance = digit.and_then(|d| {
            let clf = mnist::state(&mut a).classifier.as_ref()?.classifier();
            Some(crate::models::mnist::train::Guidance {
                classifier: clf,
                digit: d,
                scale,
            })
        });
        let s = mnist::state(&mut a);
        let model = s
            .trainer
            .as_ref()
            .map(|t| t.inference_model())
            .or_else(|| s.snapshot.clone())
            .ok_or_else(|| JsValue::from_str("no network yet"))?;
        (model, guidance, device)
    };
    let seed = opt_f64(opts, "seed")
        .map(|s| s as u64)
        .unwrap_or_else(|| (now() * 1000.0) as u64);
    let sampler = crate::diffusion::Sampler { kind, steps };
    let (x, _) = mnist::generate(&model, &sampler, n, guidance.as_ref(), seed, &device).await;
    let out = js_sys::Object::new();
    js_sys::Reflect::set(
        &out,
        &JsValue::from_str("data"),
        &js_sys::Float32Array::from(&x[..]),
    )?;
    js_sys::Reflect::set(
        &out,
        &JsValue::from_str("shape"),
        &js_sys::Array::of2(&JsValue::from_f64(n as f64), &JsValue::from_f64(784.0)),
    )?;
    Ok(out.into())
}

/// `lab.sample("ising", { n, steps?, seed? })`: `{ data: Float32Array of ±1, shape: [n, 64] }`.
async fn ising_sample(app: &Shared, opts: &JsValue) -> Result<JsValue, JsValue> {
    show_model(app, Model::Ising, |_| {});
    let (model, mut config, device) = {
        let mut a = app.borrow_mut();
        let device = a.device.clone();
        let s = ising::state(&mut a);
        let model = s
            .trainer
            .as_ref()
            .map(|t| t.inference_model())
            .or_else(|| s.snapshot.clone())
            .ok_or_else(|| JsValue::from_str("no network yet"))?;
        (model, s.config, device)
    };
    let n = count(opts, "n", 1000.0, 1e5)? as usize;
    config.sampler_steps = count(
        opts,
        "steps",
        config.sampler_steps as f64,
        crate::settings::limits::ISING_STEPS.1,
    )? as usize;
    let seed = opt_f64(opts, "seed")
        .map(|s| s as u64)
        .unwrap_or_else(|| (now() * 1000.0) as u64);
    let (x, _) = ising::generate(&model, &config, n, seed, &device).await;
    let data: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let out = js_sys::Object::new();
    js_sys::Reflect::set(
        &out,
        &JsValue::from_str("data"),
        &js_sys::Float32Array::from(&data[..]),
    )?;
    js_sys::Reflect::set(
        &out,
        &JsValue::from_str("shape"),
        &js_sys::Array::of2(&JsValue::from_f64(n as f64), &JsValue::from_f64(64.0)),
    )?;
    Ok(out.into())
}

/// The shown model's network as a weights file and its file name (read back asynchronously, so
/// on WebGPU too).
async fn export_bytes(app: &Shared) -> Result<(Vec<u8>, &'static str), String> {
    let (mnist, ising) = {
        let a = app.borrow();
        (a.is_mnist(), a.is_ising())
    };
    if mnist {
        return mnist::export(app).await.map(|b| (b, "mnist.weights"));
    }
    if ising {
        return ising::export(app).await.map(|b| (b, "ising.weights"));
    }
    let (model, width, depth, activation, steps) = {
        let a = app.borrow();
        let t = a.trainer.as_ref().ok_or("the trainer is busy; try again")?;
        let c = &t.config;
        (
            t.inference_model(),
            c.width,
            c.depth,
            c.activation,
            t.steps(),
        )
    };
    let twin =
        crate::models::toy1d::train::net_config(width, depth, activation).init(&Device::flex());
    let net = crate::weights::to_cpu(&model.net, twin).await?;
    crate::weights::encode(
        &crate::models::toy1d::train::ScoreModel { net, ..model },
        width,
        depth,
        activation,
        steps,
    )
    .map(|b| (b, "toy1d.weights"))
}

/// Loads a weights file (the toy's or MNIST's) into the lab. Nothing changes unless the whole
/// file is valid.
async fn load_weights(app: &Shared, bytes: &[u8], origin: &str) -> Result<String, String> {
    let model = crate::weights::model_of(bytes).map_err(|e| format!("{origin}: {e}"))?;
    if model == Model::Mnist {
        return mnist::install_weights(app, bytes, origin)
            .await
            .map_err(|e| format!("{origin}: {e}"));
    }
    if model == Model::Ising {
        return ising::install_weights(app, bytes, origin)
            .await
            .map_err(|e| format!("{origin}: {e}"));
    }
    let device = app.borrow().device.clone();
    // Validate completely before touching anything.
    let (_, header) =
        crate::weights::decode(bytes, &device).map_err(|e| format!("{origin}: {e}"))?;
    let mut a = app.borrow_mut();
    let mut s = a.settings.clone();
    // Weights files hold the 1D toy's network: loading one shows the toy.
    s.model = Model::Toy1d;
    s.schedule = header.schedule;
    s.train.width = header.width;
    s.train.depth = header.depth;
    s.train.activation = header.activation;
    a.apply(s);
    let trainer = a.trainer.as_mut().ok_or("the trainer is busy; try again")?;
    let (model, _) =
        crate::weights::decode(bytes, trainer.device()).map_err(|e| format!("{origin}: {e}"))?;
    trainer.install_for(model.net, header.data_var, header.steps);
    let snapshot = trainer.inference_model();
    a.snapshot = Some(snapshot);
    a.snapshot_steps = header.steps;
    a.losses.clear();
    a.learned_dirty = true;
    a.dirty = true;
    write_url(&a.settings);
    fill_controls(&a.settings);
    Ok(format!(
        "Loaded weights from {origin}: {}×{} network trained {} steps ({}).",
        header.depth,
        header.width,
        header.steps,
        header.schedule.label()
    ))
}

async fn array_buffer(promise: js_sys::Promise) -> Result<Vec<u8>, String> {
    let buf = wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

pub(crate) async fn fetch_bytes(url: &str) -> Result<Vec<u8>, String> {
    let resp = wasm_bindgen_futures::JsFuture::from(window().fetch_with_str(url))
        .await
        .map_err(|e| format!("could not fetch: {e:?}"))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "not a response".to_string())?;
    if !resp.ok() {
        return Err(format!("the server answered {}", resp.status()));
    }
    array_buffer(resp.array_buffer().map_err(|e| format!("{e:?}"))?).await
}

fn report(app: &Shared, result: Result<String, String>) {
    let mut a = app.borrow_mut();
    match result {
        Ok(msg) => {
            a.error = None;
            a.notices = vec![msg];
        }
        Err(e) => a.error = Some(format!("Weights not loaded — {e}. Nothing was changed.")),
    }
    a.dirty = true;
}

fn bind_weights(app: &Shared) {
    if let Some(input) = element::<web_sys::HtmlInputElement>("weights-file") {
        let a = app.clone();
        let inp = input.clone();
        listen(&input, "change", move |_| {
            let Some(file) = inp.files().and_then(|f| f.get(0)) else {
                return;
            };
            let a = a.clone();
            let name = file.name();
            inp.set_value("");
            wasm_bindgen_futures::spawn_local(async move {
                let result = match array_buffer(file.array_buffer()).await {
                    Ok(bytes) => load_weights(&a, &bytes, &name).await,
                    Err(e) => Err(format!("{name}: could not read the file ({e})")),
                };
                report(&a, result);
            });
        });
    }
    if let Some(button) = document().get_element_by_id("download-weights") {
        let a = app.clone();
        listen(&button, "click", move |_| {
            let a = a.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let result = export_bytes(&a).await;
                if let Err(e) = result.and_then(|(bytes, name)| save_file(&bytes, name)) {
                    a.borrow_mut().error = Some(format!("Weights not downloaded: {e}"));
                    a.borrow_mut().dirty = true;
                }
            });
        });
    }
}

fn save_file(bytes: &[u8], name: &str) -> Result<(), String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("application/octet-stream");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &opts)
        .map_err(|e| format!("{e:?}"))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| format!("{e:?}"))?;
    let a: web_sys::HtmlAnchorElement = document()
        .create_element("a")
        .map_err(|e| format!("{e:?}"))?
        .dyn_into()
        .map_err(|_| "no anchor")?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    let _ = web_sys::Url::revoke_object_url(&url);
    Ok(())
}

fn write_url(settings: &Settings) {
    let q = settings.to_query();
    let loc = window().location();
    let path = loc.pathname().unwrap_or_default();
    let url = if q.is_empty() {
        path
    } else {
        format!("{path}?{q}")
    };
    if let Ok(h) = window().history() {
        let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(&url));
    }
}

/// Keeps, per key, the value of the control that is shown (the last one when several are).
fn dedupe_visible(pairs: &mut Vec<(String, String)>) {
    let shown: Vec<bool> = controls()
        .iter()
        .map(|e| {
            e.dyn_ref::<web_sys::HtmlElement>()
                .map(|h| h.offset_parent().is_some())
                .unwrap_or(true)
        })
        .collect();
    if shown.len() != pairs.len() {
        return;
    }
    let mut keep = vec![true; pairs.len()];
    for i in 0..pairs.len() {
        for j in 0..pairs.len() {
            if i != j && pairs[i].0 == pairs[j].0 && !shown[i] && shown[j] {
                keep[i] = false;
            }
        }
    }
    let mut k = keep.iter();
    pairs.retain(|_| *k.next().unwrap_or(&true));
}

/// Every control with a `name` in `#controls` (or attached to it with `form="controls"`) is a
/// setting of the same key.
fn controls() -> Vec<web_sys::Element> {
    let mut out = Vec::new();
    if let Ok(list) = document().query_selector_all("#controls [name], [form=controls][name]") {
        for i in 0..list.length() {
            if let Some(e) = list
                .get(i)
                .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
            {
                out.push(e);
            }
        }
    }
    out
}

fn control_value(e: &web_sys::Element) -> Option<(String, String)> {
    let name = e.get_attribute("name")?;
    if let Some(i) = e.dyn_ref::<web_sys::HtmlInputElement>() {
        if i.type_() == "checkbox" {
            let on = i.checked();
            let v = if on {
                i.get_attribute("data-on")
            } else {
                i.get_attribute("data-off")
            };
            return Some((
                name,
                v.unwrap_or_else(|| if on { "1".into() } else { "0".into() }),
            ));
        }
        return Some((name, i.value()));
    }
    e.dyn_ref::<web_sys::HtmlSelectElement>()
        .map(|s| (name, s.value()))
}

fn fill_controls(settings: &Settings) {
    let pairs = settings.all_pairs();
    for e in controls() {
        let Some(name) = e.get_attribute("name") else {
            continue;
        };
        let Some((_, v)) = pairs.iter().find(|(k, _)| *k == name) else {
            continue;
        };
        if let Some(i) = e.dyn_ref::<web_sys::HtmlInputElement>() {
            if i.type_() == "checkbox" {
                i.set_checked(
                    Some(v.as_str()) == i.get_attribute("data-on").as_deref()
                        || (v == "1" && i.get_attribute("data-on").is_none()),
                );
            } else {
                i.set_value(v);
            }
        } else if let Some(s) = e.dyn_ref::<web_sys::HtmlSelectElement>() {
            s.set_value(v);
        }
        // Readouts next to sliders.
        if let Some(out) = document().get_element_by_id(&format!("out-{name}")) {
            out.set_text_content(Some(v));
        }
    }
    // Schedule-specific controls only where they apply.
    let ou = matches!(settings.schedule, crate::diffusion::Schedule::Ou { .. });
    if let Ok(list) = document().query_selector_all(".ou-only") {
        for i in 0..list.length() {
            if let Some(e) = list
                .get(i)
                .and_then(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
            {
                let _ = e
                    .style()
                    .set_property("display", if ou { "" } else { "none" });
            }
        }
    }
    // Every numeric control's limits come from the settings table (the time slider's maximum
    // follows the schedule): the page cannot accept what the URL parser would refuse.
    for limit in crate::settings::form_limits(settings) {
        let Ok(list) = document().query_selector_all(&format!(
            "#controls input[name=\"{0}\"], [form=controls][name=\"{0}\"]",
            limit.key
        )) else {
            continue;
        };
        for i in 0..list.length() {
            if let Some(input) = list
                .get(i)
                .and_then(|n| n.dyn_into::<web_sys::HtmlInputElement>().ok())
            {
                input.set_min(&limit.min.to_string());
                input.set_max(&limit.max.to_string());
                input.set_step(&limit.step.map_or("any".to_string(), |s| s.to_string()));
            }
        }
    }
    // The page shows the controls and plots of one model (CSS keys on this attribute).
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-model", settings.model.name());
    }
}

fn on_controls_changed(app: &Shared) {
    let mut pairs: Vec<(String, String)> = controls().iter().filter_map(control_value).collect();
    // A setting may have a control in each model's panel (the seed): the visible one counts.
    dedupe_visible(&mut pairs);
    {
        // URL-only settings are kept.
        let a = app.borrow();
        for (k, v) in a.settings.all_pairs() {
            if (k == "device" || k == "weights") && !pairs.iter().any(|(pk, _)| *pk == k) {
                pairs.push((k, v));
            }
        }
    }
    let (s, problems) = Settings::from_pairs(&pairs);
    let mut a = app.borrow_mut();
    a.notices = problems;
    a.apply(s);
    write_url(&a.settings);
    fill_controls(&a.settings);
}

fn listen(target: &web_sys::EventTarget, event: &str, f: impl FnMut(web_sys::Event) + 'static) {
    let closure = Closure::<dyn FnMut(web_sys::Event)>::new(f);
    let _ = target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref());
    closure.forget(); // lives as long as the page
}

fn bind_controls(app: &Shared) {
    let Some(form) = document().get_element_by_id("controls") else {
        return;
    };
    let a = app.clone();
    listen(&form, "change", move |_| on_controls_changed(&a));
    // The model picker sits in the header (outside the form's subtree).
    if let Some(pick) = document().get_element_by_id("model-select") {
        let a = app.clone();
        listen(&pick, "change", move |_| on_controls_changed(&a));
    }
    // Sliders update live while dragged.
    let a = app.clone();
    listen(&form, "input", move |e| {
        let is_range = e
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            .map(|i| i.type_() == "range")
            .unwrap_or(false);
        if is_range {
            on_controls_changed(&a);
        }
    });
    let buttons: [(&str, fn(&Shared)); 4] = [
        ("play", |app| {
            let mut a = app.borrow_mut();
            a.playing = !a.playing;
            a.error = None;
            a.dirty = true;
        }),
        ("step", |app| {
            let mut a = app.borrow_mut();
            a.error = None;
            a.pending.push(TrainRequest { remaining: 100 });
        }),
        ("reset", |app| {
            let mut a = app.borrow_mut();
            a.error = None;
            if a.is_mnist() {
                let device = a.device.clone();
                mnist::state(&mut a).reset_trainer(&device);
                a.dirty = true;
            } else if a.is_ising() {
                let device = a.device.clone();
                ising::state(&mut a).reset_trainer(&device);
                a.dirty = true;
            } else {
                a.reset_trainer();
            }
        }),
        ("new-seed", |app| {
            let query = {
                let a = app.borrow();
                let mut s = a.settings.clone();
                s.seed = (s.seed + 1) % 4_294_967_296;
                s.to_query()
            };
            LabHandle { app: app.clone() }.apply_settings(&query);
        }),
    ];
    for (id, f) in buttons {
        // By id, or by class for buttons that appear once per model's controls.
        let selector = format!("#{id}, .{id}");
        let Ok(list) = document().query_selector_all(&selector) else {
            continue;
        };
        for i in 0..list.length() {
            if let Some(b) = list.get(i) {
                let a = app.clone();
                listen(&b, "click", move |e| {
                    e.prevent_default();
                    f(&a);
                });
            }
        }
    }
    bind_data_drag(app);
}

/// Dragging a mode of the data density moves it; the wheel changes its width; dragging anywhere
/// else draws the density (each change applies at once, like any setting: the URL holds it).
fn bind_data_drag(app: &Shared) {
    let Some(canvas) = document().get_element_by_id("c-data") else {
        return;
    };
    let pos = |e: &web_sys::Event| {
        let m = e.dyn_ref::<web_sys::MouseEvent>()?;
        let c = m.target()?.dyn_into::<web_sys::Element>().ok()?;
        let r = c.get_bounding_client_rect();
        Some((
            m.client_x() as f64 - r.left(),
            m.client_y() as f64 - r.top(),
        ))
    };
    let nearest = |app: &App, x: f64| -> Option<usize> {
        let area = app.data_panel?;
        views::handles(&app.mixture)
            .iter()
            .enumerate()
            .map(|(i, c)| (i, (area.to_px(c.mean) - x).abs()))
            .filter(|(_, d)| *d < 40.0)
            .min_by(|a, b| a.1.partial_cmp(&b.1).unwrap())
            .map(|(i, _)| i)
    };
    let a = app.clone();
    listen(&canvas, "mousedown", move |e| {
        if let Some((x, y)) = pos(&e) {
            {
                let mut app = a.borrow_mut();
                if let (Some(i), Some(area)) = (nearest(&app, x), app.data_panel) {
                    app.dragging = Some((i, area));
                    return;
                }
                let Some(panel) = app.data_panel else { return };
                // The plot area, and a little below its axis (where a stroke erases).
                if !panel.contains(x, y, 12.0) {
                    return;
                }
                let stroke = app::Stroke::begin(panel, &app.mixture, &app.settings.schedule);
                app.stroke = Some(stroke);
            }
            paint_at(&a, x, y);
        }
    });
    // A new data mixture goes through the settings like any control (URL, rebuilt views); an
    // invalid one (nothing drawn yet, a width out of range) leaves the data as it is.
    fn set_mixture(app: &Shared, mixture: Result<Mixture, String>) {
        let Ok(m) = mixture else { return };
        let mut s = app.borrow().settings.clone();
        s.mixture = m;
        LabHandle { app: app.clone() }.apply_settings(&s.to_query());
    }
    fn paint_at(app: &Shared, x: f64, y: f64) {
        let drawn = {
            let mut a = app.borrow_mut();
            let Some(stroke) = a.stroke.as_mut() else {
                return;
            };
            stroke.paint(x, y);
            Mixture::from_curve(&stroke.centers, &stroke.heights)
        };
        set_mixture(app, drawn);
    }
    let edit = |app: &Shared, f: &dyn Fn(&mut Vec<crate::models::toy1d::mixture::Component>)| {
        let mut comps = app.borrow().mixture.components().to_vec();
        f(&mut comps);
        set_mixture(app, Mixture::new(comps));
    };
    let a = app.clone();
    listen(&canvas, "mousemove", move |e| {
        if a.borrow().stroke.is_some() {
            if let Some((x, y)) = pos(&e) {
                paint_at(&a, x, y);
            }
            return;
        }
        let Some((i, area)) = a.borrow().dragging else {
            return;
        };
        let Some((x, _)) = pos(&e) else { return };
        let v = area.data_x(x).clamp(-7.5, 7.5);
        edit(&a, &|c| c[i].mean = (v * 100.0).round() / 100.0);
    });
    for ev in ["mouseup", "mouseleave"] {
        let a = app.clone();
        listen(&canvas, ev, move |_| {
            let mut app = a.borrow_mut();
            app.dragging = None;
            app.stroke = None;
        });
    }
    let a = app.clone();
    listen(&canvas, "wheel", move |e| {
        let Some((x, _)) = pos(&e) else { return };
        let Some(i) = nearest(&a.borrow(), x) else {
            return;
        };
        e.prevent_default();
        let dy = e
            .dyn_ref::<web_sys::WheelEvent>()
            .map(|w| w.delta_y())
            .unwrap_or(0.0);
        let factor = if dy > 0.0 { 1.0 / 1.1 } else { 1.1 };
        edit(&a, &|c| c[i].width = (c[i].width * factor).clamp(0.05, 3.0));
    });
}

/// Starts the lab: picks the device, reads the URL, binds the controls and starts the loop.
#[wasm_bindgen]
pub async fn start() -> Result<LabHandle, JsValue> {
    install_panic_hook();
    let search = window().location().search().unwrap_or_default();
    let (settings, problems) = Settings::from_query(&search);
    let (device, name, note) = pick_device(settings.device).await;
    util::log(&format!("difflab: device {name}: {note}"));
    util::set_text("device", &format!("{} · {note}", name.to_uppercase()));
    if let Some(e) = document().get_element_by_id("device") {
        let _ = e.set_attribute("data-device", name);
    }
    let mut app = App::new(settings, device, name, note);
    app.notices = problems;
    let app: Shared = Rc::new(RefCell::new(app));
    {
        let a = app.borrow();
        write_url(&a.settings);
        fill_controls(&a.settings);
    }
    bind_controls(&app);
    bind_weights(&app);
    let url = app.borrow().settings.weights.clone();
    if let Some(url) = url {
        let result = match fetch_bytes(&url).await {
            Ok(bytes) => load_weights(&app, &bytes, &url).await,
            Err(e) => Err(format!("{url}: {e}")),
        };
        report(&app, result);
    }
    // Draw once before the API resolves, so messages about the URL are on screen at once.
    {
        let mut a = app.borrow_mut();
        if a.is_mnist() {
            mnist::state(&mut a);
            mnist_views::draw_all(&mut a);
        } else if a.is_ising() {
            ising::state(&mut a);
            ising_views::draw_all(&mut a);
        } else {
            views::draw_all(&mut a);
        }
        a.dirty = false;
    }
    let resize_app = app.clone();
    listen(&window(), "resize", move |_| {
        resize_app.borrow_mut().dirty = true
    });
    let looping = app.clone();
    wasm_bindgen_futures::spawn_local(async move {
        loop {
            if gpu_lost().is_some() {
                break;
            }
            app::tick(&looping).await;
            if panic_message().is_some() {
                break;
            }
            // While training, the next chunk follows at once (the browser still paints and
            // takes input between tasks); idle, the loop waits for the next frame.
            let busy = {
                let a = looping.borrow();
                a.playing || !a.pending.is_empty()
            };
            if busy {
                util::yield_now().await;
            } else {
                util::next_frame().await;
            }
        }
    });
    Ok(LabHandle { app })
}
