//! `window.lab`: a thin adapter from JavaScript calls to the session. It converts arguments and
//! results; what they mean (limits, samplers, models) comes from the settings and sampler tables.

use wasm_bindgen::prelude::*;

use super::controls::{apply_query, load_weights, report, sync_if_changed};
use super::store::ensure_mnist_data;
use super::ui::Shared;
use super::util::{next_frame, now};
use crate::diffusion::{Sampler, SamplerKind};
use crate::models::ising::lattice::SITES;
use crate::models::Model;
use crate::session::{drive, Reply, Request, SampleRequest};
use crate::settings::{limits, DeviceChoice};

/// The handle `window.lab` wraps.
#[wasm_bindgen]
pub struct LabHandle {
    pub(crate) lab: Shared,
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

fn js_err(e: impl std::fmt::Display) -> JsValue {
    JsValue::from_str(&e.to_string())
}

/// `opts.key` as a whole number from 1 to `max` (`default` when absent).
fn count(opts: &JsValue, key: &str, default: f64, max: f64) -> Result<u64, JsValue> {
    let v = opt_f64(opts, key).unwrap_or(default);
    if !(v.is_finite() && v >= 1.0 && v <= max && v.fract() == 0.0) {
        return Err(js_err(format!(
            "{key} must be a whole number from 1 to {max}, got {v}"
        )));
    }
    Ok(v as u64)
}

/// `opts.sampler` (a name of the sampler table, `default` when absent) with `opts.a` for the
/// reverse family.
fn sampler_option(opts: &JsValue, default: &str) -> Result<SamplerKind, JsValue> {
    let name = opt_str(opts, "sampler").unwrap_or_else(|| default.to_string());
    let a = opt_f64(opts, "a").unwrap_or(1.0);
    let (lo, hi) = limits::A;
    if name == "family" && !(a.is_finite() && (lo..=hi).contains(&a)) {
        return Err(js_err(format!("a must be between {lo} and {hi}, got {a}")));
    }
    SamplerKind::from_name(&name, a).ok_or_else(|| {
        js_err(format!(
            "unknown sampler '{name}' (one of {})",
            SamplerKind::names()
        ))
    })
}

/// `opts.seed`, or one from the clock.
fn seed_option(opts: &JsValue) -> u64 {
    opt_f64(opts, "seed")
        .map(|s| s as u64)
        .unwrap_or_else(|| (now() * 1000.0) as u64)
}

/// `{ data, shape }` for `lab.sample`.
fn samples_object(data: &[f32], shape: &[usize]) -> Result<JsValue, JsValue> {
    let out = js_sys::Object::new();
    js_sys::Reflect::set(
        &out,
        &JsValue::from_str("data"),
        &js_sys::Float32Array::from(data),
    )?;
    let dims = js_sys::Array::new();
    for &d in shape {
        dims.push(&JsValue::from_f64(d as f64));
    }
    js_sys::Reflect::set(&out, &JsValue::from_str("shape"), &dims)?;
    Ok(out.into())
}

/// `lab.sample`'s options as a request: validated like the settings (a sampler of the table,
/// counts within the settings' limits, a digit 0–9, a guidance scale within its bounds).
fn sample_request(lab: &Shared, model: Model, opts: &JsValue) -> Result<SampleRequest, JsValue> {
    let st = lab.session.borrow().settings.clone();
    let seed = seed_option(opts);
    let (n, sampler) = match model {
        Model::Toy1d => {
            let n = count(opts, "n", 1000.0, 1e6)? as usize;
            let steps = count(opts, "steps", st.steps as f64, 1e5)? as usize;
            let kind = sampler_option(opts, "sde")?;
            (n, Sampler { kind, steps })
        }
        Model::Ising => {
            let n = count(opts, "n", 1000.0, 1e5)? as usize;
            let default = st.ising.sampler_steps as f64;
            let steps = count(opts, "steps", default, limits::ISING_STEPS.1)? as usize;
            // The Ising model samples with its own plan; only the step count is chosen.
            let kind = SamplerKind::Ancestral;
            (n, Sampler { kind, steps })
        }
        Model::Mnist => {
            let n = count(opts, "n", 16.0, 10_000.0)? as usize;
            let kind = sampler_option(opts, st.mnist_sampler.name())?;
            let default = st.mnist_steps as f64;
            let steps = count(opts, "steps", default, limits::MNIST_STEPS.1)? as usize;
            (n, Sampler { kind, steps })
        }
    };
    let exact = match opt_str(opts, "score").as_deref().unwrap_or("learned") {
        "learned" => false,
        "exact" if model == Model::Toy1d => true,
        other => {
            return Err(js_err(format!(
                "score must be learned or exact (the toy's only), got '{other}'"
            )))
        }
    };
    let digit = match opt_f64(opts, "digit") {
        None => None,
        Some(d) if (0.0..=9.0).contains(&d) && d.fract() == 0.0 => Some(d as u8),
        Some(d) => {
            return Err(js_err(format!(
                "digit must be a whole number from 0 to 9, got {d}"
            )))
        }
    };
    let guidance = opt_f64(opts, "guidance").unwrap_or(st.guidance);
    let (lo, hi) = limits::GUIDANCE;
    if !(guidance.is_finite() && (lo..=hi).contains(&guidance)) {
        return Err(js_err(format!(
            "guidance must be between {lo} and {hi}, got {guidance}"
        )));
    }
    Ok(SampleRequest {
        model,
        n,
        sampler,
        seed,
        exact,
        digit,
        guidance,
    })
}

impl LabHandle {
    /// The model named `model`, unless the lab has stopped.
    fn check_model(&self, model: &str) -> Result<Model, JsValue> {
        if let Some(stopped) = self.lab.session.borrow().stopped.clone() {
            return Err(js_err(stopped));
        }
        Model::from_name(model).ok_or_else(|| {
            js_err(format!(
                "unknown model '{model}' (available: {})",
                Model::names()
            ))
        })
    }

    /// Shows `model` (as choosing it would) and loads what it needs (MNIST's digits).
    async fn show(lab: &Shared, model: Model) -> Result<(), JsValue> {
        lab.session.borrow_mut().show(model, |_| {});
        sync_if_changed(lab);
        if model == Model::Mnist {
            ensure_mnist_data(lab).await.map_err(js_err)?;
        }
        Ok(())
    }
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
        super::util::log(&message);
        super::util::set_gpu_lost();
        self.lab.session.borrow_mut().stop(message.clone());
        let mut s = self.lab.session.borrow().settings.clone();
        s.device = DeviceChoice::Cpu;
        let href = format!("?{}", s.to_query());
        super::outbox::fatal(&message, Some((&href, "continue on the CPU")));
    }

    /// "webgpu" or "cpu".
    #[wasm_bindgen(getter)]
    pub fn device(&self) -> String {
        self.lab.session.borrow().device_name.to_string()
    }

    /// Why this device (e.g. why WebGPU was not used).
    #[wasm_bindgen(getter, js_name = deviceNote)]
    pub fn device_note(&self) -> String {
        self.lab.session.borrow().device_note.clone()
    }

    /// The settings as a query string (what the URL holds).
    #[wasm_bindgen(getter)]
    pub fn settings(&self) -> String {
        self.lab.session.borrow().settings.to_query()
    }

    /// Trains `steps` Adam steps; resolves `{ steps, loss, ms, totalSteps }`.
    pub fn train(&self, model: String, opts: JsValue) -> js_sys::Promise {
        let checked = self.check_model(&model);
        let lab = self.lab.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let model = checked?;
            let steps = count(&opts, "steps", 100.0, 1e7)?;
            let beta = opt_f64(&opts, "beta");
            if let Some(b) = beta {
                let (lo, hi) = limits::BETA;
                if model == Model::Ising && !(b.is_finite() && (lo..=hi).contains(&b)) {
                    return Err(js_err(format!(
                        "beta must be between {lo} and {hi}, got {b}"
                    )));
                }
            }
            if model == Model::Mnist {
                lab.session.borrow_mut().show(model, |_| {});
                ensure_mnist_data(&lab).await.map_err(js_err)?;
            }
            let started = now();
            let request = Request::Train { model, steps, beta };
            let before = match drive::handle(&lab.session, request).await.map_err(js_err)? {
                Reply::Queued { before } => before,
                other => return Err(js_err(format!("unexpected reply {other:?}"))),
            };
            sync_if_changed(&lab);
            // The page loop runs the steps (between frames); wait until this request is done.
            loop {
                next_frame().await;
                let s = lab.session.borrow();
                if let Some(p) = s.stopped.clone().or_else(super::util::panic_message) {
                    return Err(js_err(p));
                }
                if s.pending.is_empty() && s.trained_steps().is_some() {
                    break;
                }
            }
            let s = lab.session.borrow();
            if let Some(e) = &s.error {
                return Err(js_err(e));
            }
            let total = s.trained_steps().unwrap_or(0);
            let out = js_sys::Object::new();
            let set = |k: &str, v: f64| {
                js_sys::Reflect::set(&out, &JsValue::from_str(k), &JsValue::from_f64(v))
            };
            set("steps", total.saturating_sub(before) as f64)?;
            set("totalSteps", total as f64)?;
            set("loss", s.last_loss())?;
            set("ms", now() - started)?;
            Ok(out.into())
        })
    }

    /// Draws samples; resolves `{ data: Float32Array, shape }`. Options: `n`, `sampler` (a name
    /// of the sampler table), `a`, `steps`, `seed`; the toy also `score` ("learned" | "exact"),
    /// MNIST `digit` and `guidance`.
    pub fn sample(&self, model: String, opts: JsValue) -> js_sys::Promise {
        let checked = self.check_model(&model);
        let lab = self.lab.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let model = checked?;
            if model != Model::Toy1d {
                Self::show(&lab, model).await?;
            }
            let request = sample_request(&lab, model, &opts)?;
            match drive::handle(&lab.session, Request::Sample(request))
                .await
                .map_err(js_err)?
            {
                Reply::Samples { data, shape } => samples_object(&data, &shape),
                other => Err(js_err(format!("unexpected reply {other:?}"))),
            }
        })
    }

    /// Exact statistics of the Ising model at the shown beta, and those of `configs` (±1,
    /// 64 per configuration) against them: `{ tvAbsM, tvEnergy, nnCorrelation,
    /// exactNnCorrelation, n }`.
    #[wasm_bindgen(js_name = isingStats)]
    pub fn ising_stats(&self, configs: &[f32]) -> Result<JsValue, JsValue> {
        if configs.len() % SITES != 0 {
            return Err(js_err("configurations must have 64 spins each"));
        }
        let mut s = self.lab.session.borrow_mut();
        let lab = s.ising();
        let spins: Vec<i8> = configs
            .iter()
            .map(|&v| if v > 0.0 { 1 } else { -1 })
            .collect();
        let stats = crate::models::ising::lattice::SpinStats::of(&spins);
        let (tv_m, tv_e) = stats.tv_to(&lab.exact);
        let out = js_sys::Object::new();
        let set = |k: &str, v: f64| {
            js_sys::Reflect::set(&out, &JsValue::from_str(k), &JsValue::from_f64(v))
        };
        set("tvAbsM", tv_m)?;
        set("tvEnergy", tv_e)?;
        set("nnCorrelation", stats.nn_correlation)?;
        set("exactNnCorrelation", lab.exact.nn_correlation())?;
        set("n", stats.n as f64)?;
        Ok(out.into())
    }

    /// Exact Wasserstein-1 distance of `samples` to the current data density.
    pub fn w1(&self, samples: &[f32]) -> f64 {
        self.lab
            .session
            .borrow()
            .toy
            .mixture()
            .wasserstein1(samples)
    }

    /// A snapshot of the lab's state for tests and the console (`Session::status`, plus the
    /// page's drawing cost).
    pub fn status(&self) -> Result<JsValue, JsValue> {
        let status = self.lab.session.borrow().status();
        let json = serde_json::to_string(&status).map_err(js_err)?;
        let out = js_sys::JSON::parse(&json)?;
        js_sys::Reflect::set(
            &out,
            &JsValue::from_str("drawMs"),
            &JsValue::from_f64(self.lab.ui.borrow().draw_cost),
        )?;
        Ok(out)
    }

    /// Panics on purpose, so the browser tests can check that a panic is shown in the page.
    #[wasm_bindgen(js_name = panicForTest)]
    pub fn panic_for_test(&self) -> js_sys::Promise {
        wasm_bindgen_futures::future_to_promise(async move { panic!("deliberate test panic") })
    }

    /// Loads weights from bytes (as the file picker does); resolves with a message or rejects.
    #[wasm_bindgen(js_name = loadWeights)]
    pub fn load_weights_bytes(&self, bytes: Vec<u8>) -> js_sys::Promise {
        let lab = self.lab.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let r = load_weights(&lab, &bytes, "the given bytes").await;
            report(&lab, r.clone());
            r.map(|m| JsValue::from_str(&m)).map_err(js_err)
        })
    }

    /// Loads the site's pretrained network for the model on show (as the Pretrained button
    /// does); resolves with a message or rejects.
    #[wasm_bindgen(js_name = loadPretrained)]
    pub fn load_pretrained(&self) -> js_sys::Promise {
        let lab = self.lab.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let r = super::controls::load_pretrained(&lab).await;
            report(&lab, r.clone());
            r.map(|m| JsValue::from_str(&m)).map_err(js_err)
        })
    }

    /// The network on show as a weights file's bytes; resolves with a `Uint8Array`.
    #[wasm_bindgen(js_name = exportWeights)]
    pub fn export_weights(&self) -> js_sys::Promise {
        let lab = self.lab.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            match drive::handle(&lab.session, Request::Export)
                .await
                .map_err(js_err)?
            {
                Reply::Weights { bytes, .. } => Ok(js_sys::Uint8Array::from(&bytes[..]).into()),
                other => Err(js_err(format!("unexpected reply {other:?}"))),
            }
        })
    }

    /// A figure as `png` (twice its on-screen size) or `svg`, or the samples it shows as `csv` or `npy`
    /// (the sample figures: `c-samples`, `c-ising-configs`, `c-mnist-digits`); resolves with a
    /// `Uint8Array`.
    #[wasm_bindgen(js_name = exportFigure)]
    pub fn export_figure(&self, id: String, format: String) -> js_sys::Promise {
        let lab = self.lab.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            let bytes = match format.as_str() {
                "png" => super::export::png(&lab, &id).await,
                "svg" => {
                    // The page replays the record on svgcanvas (`www/main.js`).
                    let record = super::export::svg_record(&lab, &id).map_err(js_err)?;
                    let out = js_sys::Object::new();
                    js_sys::Reflect::set(&out, &"svg".into(), &record)?;
                    return Ok(out.into());
                }
                "csv" | "npy" => {
                    let model = lab.session.borrow().settings.model;
                    if super::export::sample_figure(model) != id {
                        Err(format!(
                            "'{id}' shows no samples to export (the {} view's are in {})",
                            model.name(),
                            super::export::sample_figure(model)
                        ))
                    } else {
                        super::export::samples(&lab, false).and_then(|s| s.encode(&format))
                    }
                }
                other => Err(format!(
                    "a figure exports as png, svg, csv or npy, not '{other}'"
                )),
            }
            .map_err(js_err)?;
            Ok(js_sys::Uint8Array::from(&bytes[..]).into())
        })
    }

    /// The samples `lab.sample` returned last, as `csv` or `npy`.
    #[wasm_bindgen(js_name = exportSamples)]
    pub fn export_samples(&self, format: &str) -> Result<js_sys::Uint8Array, JsValue> {
        let bytes = super::export::samples(&self.lab, true)
            .and_then(|s| s.encode(format))
            .map_err(js_err)?;
        Ok(js_sys::Uint8Array::from(&bytes[..]))
    }

    /// Pauses or resumes training in the page loop.
    #[wasm_bindgen(js_name = setPlaying)]
    pub fn set_playing(&self, on: bool) {
        self.lab
            .session
            .borrow_mut()
            .command(crate::session::Command::SetPlaying(on));
    }

    /// Applies a query string of settings (as the URL would), returning the problems found.
    #[wasm_bindgen(js_name = applySettings)]
    pub fn apply_settings(&self, query: &str) -> Vec<String> {
        apply_query(&self.lab, query)
    }

    /// A message from the page's shell (`protocol::ToLab` as JSON).
    pub fn shell(&self, json: &str) -> Result<(), JsValue> {
        let msg = serde_json::from_str(json).map_err(js_err)?;
        super::controls::on_message(&self.lab, msg);
        Ok(())
    }

    /// A weights file the user chose in the page (name and bytes), loaded as the API's are.
    #[wasm_bindgen(js_name = loadFile)]
    pub fn load_file(&self, name: String, bytes: Vec<u8>) {
        let lab = self.lab.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let result = load_weights(&lab, &bytes, &name).await;
            report(&lab, result);
        });
    }

    /// The pixels canvas `id` shows (an `ImageData` of its backing store): the page
    /// cannot read a canvas it handed to this worker, and the tests look at what is drawn.
    #[wasm_bindgen(js_name = canvasPixels)]
    pub fn canvas_pixels(&self, id: &str) -> Result<JsValue, JsValue> {
        let image =
            super::surface::pixels(id).ok_or_else(|| js_err(format!("no canvas '{id}'")))?;
        Ok(image.into())
    }

    /// Sends the page what changed (queued DOM changes, then the status): before each reply.
    pub fn flush(&self) {
        super::post_status(&self.lab);
    }
}
