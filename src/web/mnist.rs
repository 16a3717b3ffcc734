//! The MNIST view: 2,000 real digits, a noise-prediction network trained live, generated digits
//! next to their nearest training digit, a progressive-denoising strip, and classifier guidance.

use std::rc::Rc;

use burn::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::diffusion::{Sampler, SamplerKind};
use crate::models::mnist::data::{to_pixel, Digits, PIXELS};
use crate::models::mnist::train::{
    ClassifierTrainer, Guidance, MnistConfig, MnistModel, MnistTrainer,
};

use super::app::{App, Chunk, Shared};
use super::util::{breathe, now};
use crate::pacing::{run_steps, Pace};
use crate::run::{diverged_message, read_loss, settle, Training};

/// Digits generated for the live grid at each refresh.
pub const LIVE_SAMPLES: usize = 16;
/// Samples whose denoising is shown as a strip, and the times shown.
pub const STRIP_SAMPLES: usize = 4;
pub const STRIP_TIMES: usize = 8;
/// Adam steps of the guidance classifier (it trains by itself once a digit is chosen).
pub const CLASSIFIER_STEPS: u64 = 1000;

/// Where the page fetches the training digits (relative to the page).
const TRAIN_ASSET: &str = "mnist-train.bin";

/// What the network generated, from a snapshot of it.
pub struct MnistLearned {
    pub steps: u64,
    /// Generated digits, pixels in `[0, 1]`.
    pub samples: Vec<f32>,
    /// Nearest training digit (index, Euclidean distance in `[0, 1]` pixels) of each sample.
    pub nearest: Vec<(usize, f32)>,
    /// `(t, pixels of the first STRIP_SAMPLES images)` at STRIP_TIMES times of the reverse run.
    pub strip: Vec<(f64, Vec<f32>)>,
    pub sampler: SamplerKind,
    pub sampler_steps: usize,
    pub digit: Option<u8>,
}

impl MnistLearned {
    /// Mean pixel distance of the samples to their nearest training digits.
    pub fn mean_nearest(&self) -> Option<f64> {
        (!self.nearest.is_empty()).then(|| {
            self.nearest.iter().map(|(_, d)| *d as f64).sum::<f64>() / self.nearest.len() as f64
        })
    }
}

pub struct MnistState {
    pub config: MnistConfig,
    pub data: Option<Rc<Digits>>,
    /// The training digits in model space (`[-1, 1]`).
    pub centered: Rc<Vec<f32>>,
    pub load_error: Option<String>,
    pub trainer: Option<MnistTrainer>,
    pub snapshot: Option<MnistModel>,
    pub snapshot_steps: u64,
    pub losses: Vec<(u64, f64)>,
    pub learned: Option<MnistLearned>,
    pub generation: u64,
    pub learned_dirty: bool,
    pub last_refresh: f64,
    pub refresh_cost: f64,
    /// Training speed and WebGPU chunk size.
    pub pace: Pace,
    /// The time-conditioned classifier that guidance follows.
    pub classifier: Option<ClassifierTrainer>,
    pub classifier_loss: f64,
    /// Steps of the network last saved to this browser's storage, and when.
    pub saved_steps: u64,
    pub last_save: f64,
}

impl MnistState {
    pub fn new(config: MnistConfig) -> MnistState {
        MnistState {
            config,
            data: None,
            centered: Rc::new(Vec::new()),
            load_error: None,
            trainer: None,
            snapshot: None,
            snapshot_steps: 0,
            losses: Vec::new(),
            learned: None,
            generation: 0,
            learned_dirty: true,
            last_refresh: -1e9,
            refresh_cost: 0.0,
            pace: Pace::new(2, 32),
            classifier: None,
            classifier_loss: f64::NAN,
            saved_steps: 0,
            last_save: -1e9,
        }
    }

    /// A fresh network (new weights, new optimizer) on the loaded data.
    pub fn reset_trainer(&mut self, device: &Device) {
        self.generation += 1;
        self.losses.clear();
        self.learned = None;
        self.learned_dirty = true;
        if self.data.is_none() {
            return;
        }
        let trainer = MnistTrainer::new(self.config, &self.centered, device);
        self.snapshot = Some(trainer.inference_model());
        self.snapshot_steps = 0;
        self.trainer = Some(trainer);
    }

    /// Applies a new configuration, rebuilding only what it changes.
    pub fn apply(&mut self, new: MnistConfig, device: &Device) {
        let old = self.config;
        self.config = new;
        let net_changed = old.net != new.net
            || old.channels != new.channels
            || old.levels != new.levels
            || old.width != new.width
            || old.depth != new.depth
            || old.schedule != new.schedule
            || old.seed != new.seed;
        if old.schedule != new.schedule {
            self.classifier = None;
        }
        if net_changed {
            self.reset_trainer(device);
        } else if let Some(t) = self.trainer.as_mut() {
            t.config = new;
        }
        self.learned_dirty = true;
    }

    pub fn steps(&self) -> u64 {
        self.trainer
            .as_ref()
            .map(|t| t.steps())
            .unwrap_or(self.snapshot_steps)
    }

    pub fn classifier_steps(&self) -> u64 {
        self.classifier.as_ref().map(|c| c.steps).unwrap_or(0)
    }
}

/// The MNIST state of the app, created on first use (the digits load asynchronously).
pub fn state(app: &mut App) -> &mut MnistState {
    if app.mnist.is_none() {
        app.mnist = Some(MnistState::new(app.settings.mnist));
    }
    app.mnist.as_mut().expect("just created")
}

/// Fetches and decodes the training digits once; an error is kept and shown.
pub async fn ensure_data(app: &Shared) -> Result<(), String> {
    {
        let mut a = app.borrow_mut();
        let s = state(&mut a);
        if s.data.is_some() {
            return Ok(());
        }
        if let Some(e) = &s.load_error {
            return Err(e.clone());
        }
    }
    let result = super::fetch_bytes(TRAIN_ASSET)
        .await
        .and_then(|bytes| Digits::decode(&bytes))
        .map_err(|e| format!("The MNIST digits ({TRAIN_ASSET}) could not be loaded: {e}."));
    let mut a = app.borrow_mut();
    let device = a.device.clone();
    let s = state(&mut a);
    if s.data.is_some() {
        return Ok(());
    }
    match result {
        Ok(digits) => {
            s.centered = Rc::new(digits.centered());
            s.data = Some(Rc::new(digits));
            s.reset_trainer(&device);
            a.dirty = true;
            drop(a);
            restore(app).await;
            Ok(())
        }
        Err(e) => {
            s.load_error = Some(e.clone());
            a.error = Some(e.clone());
            a.playing = false;
            a.dirty = true;
            Err(e)
        }
    }
}

/// Runs MNIST training steps for about `budget_ms` (at most `max_steps`), reads the loss once,
/// and guards against divergence.
pub async fn train_chunk(app: &Shared, max_steps: u64, budget_ms: f64) -> Chunk {
    if ensure_data(app).await.is_err() {
        return Chunk::Idle;
    }
    let (mut trainer, data, gen, gpu) = {
        let mut a = app.borrow_mut();
        let pace = state(&mut a).pace;
        let gpu = a.gpu_steps(pace);
        let s = state(&mut a);
        let Some(t) = s.trainer.take() else {
            return Chunk::Idle;
        };
        (t, s.centered.clone(), s.generation, gpu)
    };
    let candidate = trainer.checkpoint();
    if trainer.steps() == 0 && trainer.run.reference_loss.is_none() {
        let mut rng = StdRng::seed_from_u64(0x5eed_1055);
        trainer.run.reference_loss = Some(read_loss(trainer.loss_on(&data, &mut rng)).await);
    }
    let (ran, loss, elapsed) =
        run_steps(now, gpu, max_steps, budget_ms, || trainer.step(&data)).await;
    let mut a = app.borrow_mut();
    let device = a.device.clone();
    let lr = a.settings.mnist.learning_rate;
    let Some(s) = a.mnist.as_mut() else {
        return Chunk::Idle;
    };
    if s.generation != gen {
        return Chunk::Idle;
    }
    s.pace.update(ran, elapsed, budget_ms, gpu.is_some());
    let outcome = match settle(&mut trainer, candidate, &mut s.losses, loss) {
        Ok(()) => Chunk::Ran { steps: ran },
        Err(restored) => {
            if restored.is_none() {
                trainer = MnistTrainer::new(s.config, &s.centered, &device);
            }
            let msg = diverged_message(
                "MNIST",
                loss,
                trainer.run.reference_loss,
                lr,
                restored.unwrap_or(0),
            );
            a.playing = false;
            a.error = Some(msg);
            Chunk::Diverged
        }
    };
    let s = a.mnist.as_mut().expect("checked above");
    s.snapshot = Some(trainer.inference_model());
    s.snapshot_steps = trainer.steps();
    s.trainer = Some(trainer);
    s.learned_dirty = true;
    a.dirty = true;
    outcome
}

/// Trains the guidance classifier for about `budget_ms`, up to [`CLASSIFIER_STEPS`].
pub async fn classifier_chunk(app: &Shared, budget_ms: f64) {
    let (mut clf, data) = {
        let mut a = app.borrow_mut();
        let device = a.device.clone();
        let s = state(&mut a);
        let Some(digits) = s.data.clone() else { return };
        let clf = s.classifier.take().unwrap_or_else(|| {
            ClassifierTrainer::new(true, s.config.schedule, s.config.seed ^ 0xc1f, &device)
        });
        (clf, (s.centered.clone(), digits))
    };
    let started = now();
    let mut last = None;
    while clf.steps < CLASSIFIER_STEPS {
        last = Some(clf.step(&data.0, &data.1.labels));
        if now() - started > budget_ms {
            break;
        }
    }
    let loss = match last {
        Some(l) => Some(crate::run::read_loss(l).await),
        None => None,
    };
    let mut a = app.borrow_mut();
    let Some(s) = a.mnist.as_mut() else { return };
    if clf.schedule != s.config.schedule {
        return;
    }
    if let Some(l) = loss {
        s.classifier_loss = l;
    }
    if clf.steps >= CLASSIFIER_STEPS {
        s.learned_dirty = true;
    }
    s.classifier = Some(clf);
    a.dirty = true;
}

/// Trains the guidance classifier to the end (yielding to the browser between chunks).
pub async fn ensure_classifier(app: &Shared) -> Result<(), String> {
    ensure_data(app).await?;
    loop {
        let done = {
            let mut a = app.borrow_mut();
            state(&mut a).classifier_steps() >= CLASSIFIER_STEPS
        };
        if done {
            return Ok(());
        }
        classifier_chunk(app, 30.0).await;
        super::util::yield_now().await;
    }
}

/// Generates `n` digits from `model`; returns pixels in `[0, 1]` and the denoising strip of
/// the first samples.
pub async fn generate(
    model: &MnistModel,
    sampler: &Sampler,
    n: usize,
    guidance: Option<&Guidance>,
    seed: u64,
    device: &Device,
) -> (Vec<f32>, Vec<(f64, Vec<f32>)>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut strip = Vec::new();
    let keep = STRIP_SAMPLES.min(n) * PIXELS;
    let every = (sampler.steps / (STRIP_TIMES - 1)).max(1);
    let x = model
        .sample(
            sampler,
            n,
            guidance,
            &mut rng,
            device,
            |k, t, x: &[f32]| {
                if k % every == 0 || k == sampler.steps {
                    strip.push((t, x[..keep].iter().map(|&v| to_pixel(v)).collect()));
                }
            },
            async || breathe().await,
        )
        .await;
    // Keep STRIP_TIMES columns: the first ones and the last.
    if strip.len() > STRIP_TIMES {
        let last = strip.pop().expect("non-empty");
        strip.truncate(STRIP_TIMES - 1);
        strip.push(last);
    }
    (x.iter().map(|&v| to_pixel(v)).collect(), strip)
}

/// The guidance the settings ask for, if the classifier is trained.
pub fn guidance(a: &App) -> Option<Guidance> {
    let digit = a.settings.digit?;
    let s = a.mnist.as_ref()?;
    let clf = s
        .classifier
        .as_ref()
        .filter(|c| c.steps >= CLASSIFIER_STEPS)?;
    Some(Guidance {
        classifier: clf.classifier(),
        digit,
        scale: a.settings.guidance,
    })
}

/// Recomputes the generated digits from the latest snapshot.
pub async fn refresh_learned(app: &Shared) {
    let (model, sampler, guide, device, gen, steps, seed, data) = {
        let mut a = app.borrow_mut();
        let device = a.device.clone();
        let sampler = Sampler {
            kind: a.settings.mnist_sampler,
            steps: a.settings.mnist_steps,
        };
        let guide = guidance(&a);
        let seed = a.settings.seed;
        let s = state(&mut a);
        let (Some(m), Some(data)) = (s.snapshot.clone(), s.data.clone()) else {
            return;
        };
        (
            m,
            sampler,
            guide,
            device,
            s.generation,
            s.snapshot_steps,
            seed,
            data,
        )
    };
    let started = now();
    let (samples, strip) = generate(
        &model,
        &sampler,
        LIVE_SAMPLES,
        guide.as_ref(),
        seed ^ 0x5eed,
        &device,
    )
    .await;
    let nearest = samples
        .chunks_exact(PIXELS)
        .map(|img| data.nearest(img))
        .collect();
    let mut a = app.borrow_mut();
    let Some(s) = a.mnist.as_mut() else { return };
    if s.generation == gen {
        s.learned = Some(MnistLearned {
            steps,
            samples,
            nearest,
            strip,
            sampler: sampler.kind,
            sampler_steps: sampler.steps,
            digit: guide.map(|g| g.digit),
        });
    }
    s.refresh_cost = now() - started;
    s.last_refresh = now();
    a.dirty = true;
}

/// One turn of the page loop for the MNIST view.
pub async fn tick(app: &Shared) {
    if ensure_data(app).await.is_err() {
        super::app::draw_if_due(&mut app.borrow_mut(), super::mnist_views::draw_all);
        return;
    }
    super::app::train_turn(app, train_chunk).await;
    let wants_classifier = {
        let mut a = app.borrow_mut();
        let digit = a.settings.digit.is_some();
        digit && state(&mut a).classifier_steps() < CLASSIFIER_STEPS
    };
    if wants_classifier {
        classifier_chunk(app, 20.0).await;
    }
    let due = {
        let mut a = app.borrow_mut();
        let busy = a.playing || !a.pending.is_empty();
        let scripted = !a.pending.is_empty();
        let s = state(&mut a);
        // Sampling costs seconds: refresh at most every 5 s while training and spend at most
        // about a sixth of the time on it; half as often while a scripted request runs.
        let interval = if scripted {
            (10.0 * s.refresh_cost).max(10_000.0)
        } else {
            (5.0 * s.refresh_cost).max(if busy { 5000.0 } else { 200.0 })
        };
        s.learned_dirty && s.snapshot.is_some() && now() - s.last_refresh > interval
    };
    if due {
        if let Some(s) = app.borrow_mut().mnist.as_mut() {
            s.learned_dirty = false;
        }
        refresh_learned(app).await;
    }
    // Draw before saving: on WebGPU the save reads every weight back, which takes a while.
    super::app::draw_if_due(&mut app.borrow_mut(), super::mnist_views::draw_all);
    save_if_due(app).await;
}

/// The IndexedDB key the MNIST network is kept under.
const STORE_KEY: &str = "mnist";

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `www/main.js`: a small IndexedDB store of byte arrays.
    #[wasm_bindgen(js_namespace = difflabStore, js_name = put, catch)]
    fn store_put(key: &str, bytes: &[u8]) -> Result<js_sys::Promise, wasm_bindgen::JsValue>;
    #[wasm_bindgen(js_namespace = difflabStore, js_name = get, catch)]
    fn store_get(key: &str) -> Result<js_sys::Promise, wasm_bindgen::JsValue>;
}

/// The current network (its weight average) as a weights file, on any device (the weights are
/// read back asynchronously into a CPU copy first).
pub async fn export(app: &Shared) -> Result<Vec<u8>, String> {
    let (net, config, steps) = {
        let a = app.borrow();
        let s = a.mnist.as_ref().ok_or("no MNIST network yet")?;
        let t = s.trainer.as_ref().ok_or("the trainer is busy; try again")?;
        (t.inference_model().net, t.config, t.steps())
    };
    let cpu = crate::weights::to_cpu(&net, config.init_net(&Device::flex())).await?;
    crate::weights::encode_mnist(&cpu, &config, steps)
}

/// Installs an MNIST weights file: shows MNIST with the file's network settings and its weights.
/// Nothing changes unless the whole file is valid.
pub async fn install_weights(app: &Shared, bytes: &[u8], origin: &str) -> Result<String, String> {
    let device = app.borrow().device.clone();
    let (_, header) = crate::weights::decode_mnist(bytes, &device)?;
    ensure_data(app).await?;
    // The file's settings, but this page's learning rate and batch.
    super::show_model(app, crate::models::Model::Mnist, |s| {
        let keep = (s.mnist.learning_rate, s.mnist.batch);
        s.mnist = header.config;
        (s.mnist.learning_rate, s.mnist.batch) = keep;
        s.seed = header.config.seed;
    });
    let mut a = app.borrow_mut();
    let s = state(&mut a);
    let t = s.trainer.as_mut().ok_or("the trainer is busy; try again")?;
    let (net, header) = crate::weights::decode_mnist(bytes, t.device())?;
    t.install(net, header.steps);
    s.snapshot = Some(t.inference_model());
    s.snapshot_steps = header.steps;
    s.losses.clear();
    s.saved_steps = header.steps;
    s.learned_dirty = true;
    a.dirty = true;
    Ok(format!(
        "Loaded the MNIST network from {origin}: {} trained {} steps ({}).",
        describe(&header.config),
        header.steps,
        header.config.schedule.label()
    ))
}

/// "U-Net, 16 channels, 2 levels" / "MLP 3 × 512".
pub fn describe(c: &MnistConfig) -> String {
    match c.net {
        crate::models::mnist::train::NetKind::Unet => {
            format!("U-Net ({} channels, {} levels)", c.channels, c.levels)
        }
        crate::models::mnist::train::NetKind::Mlp => format!("MLP ({} × {})", c.depth, c.width),
    }
}

/// Restores the network this browser saved, if it matches the settings on show.
async fn restore(app: &Shared) {
    let Ok(promise) = store_get(STORE_KEY) else {
        return;
    };
    let Ok(value) = wasm_bindgen_futures::JsFuture::from(promise).await else {
        return;
    };
    if value.is_null() || value.is_undefined() {
        return;
    }
    let bytes = js_sys::Uint8Array::new(&value).to_vec();
    let Ok((header, _)) = crate::weights::mnist_header(&bytes) else {
        return;
    };
    let mut a = app.borrow_mut();
    let mine = a.settings.mnist;
    let same_net = |c: &MnistConfig| {
        (
            c.net, c.channels, c.levels, c.width, c.depth, c.schedule, c.seed,
        ) == (
            mine.net,
            mine.channels,
            mine.levels,
            mine.width,
            mine.depth,
            mine.schedule,
            mine.seed,
        )
    };
    if !same_net(&header.config) {
        a.notices.push(format!(
            "This browser holds an MNIST network ({}, {} steps) for other settings; it was not \
             restored.",
            describe(&header.config),
            header.steps
        ));
        return;
    }
    let s = state(&mut a);
    let Some(t) = s.trainer.as_mut() else { return };
    if t.steps() > 0 {
        return;
    }
    let Ok((net, _)) = crate::weights::decode_mnist(&bytes, t.device()) else {
        return;
    };
    t.install(net, header.steps);
    s.snapshot = Some(t.inference_model());
    s.snapshot_steps = header.steps;
    s.saved_steps = header.steps;
    s.learned_dirty = true;
    a.notices.push(format!(
        "Restored the MNIST network saved in this browser ({} steps).",
        header.steps
    ));
    a.dirty = true;
}

/// Saves the network to IndexedDB when it has trained since the last save: at once when
/// training stops, at most every 30 s while it runs (on WebGPU too: the read is asynchronous).
async fn save_if_due(app: &Shared) {
    let steps = {
        let a = app.borrow();
        let Some(s) = a.mnist.as_ref() else { return };
        let busy = a.playing || !a.pending.is_empty();
        let steps = s.steps();
        if steps == s.saved_steps || (busy && now() - s.last_save < 30_000.0) {
            return;
        }
        steps
    };
    let bytes = match export(app).await {
        Ok(b) => (b, steps),
        Err(_) => return,
    };
    if let Ok(p) = store_put(STORE_KEY, &bytes.0) {
        let _ = wasm_bindgen_futures::JsFuture::from(p).await;
    }
    if let Some(s) = app.borrow_mut().mnist.as_mut() {
        s.saved_steps = bytes.1;
        s.last_save = now();
    }
}
