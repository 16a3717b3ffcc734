//! The Ising view: Gibbs data at the chosen beta, the learned reverse kernel trained live, and
//! generated configurations compared with the exact distributions of the 8×8 torus.

use std::rc::Rc;
use std::sync::OnceLock;

use burn::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::models::ising::exact::{density_of_states, IsingExact};
use crate::models::ising::lattice::{gibbs_samples, SpinStats, SITES};
use crate::models::ising::train::{IsingConfig, IsingModel, IsingTrainer};
use crate::pacing::{run_steps, Pace};
use crate::run::{diverged_message, read_loss, settle, Training};

use super::app::{App, Chunk, Shared};
use super::util::{breathe, now};

/// Configurations generated for the live plots at each refresh (the API and the "sample"
/// button draw as many as asked).
pub const LIVE_SAMPLES: usize = 300;

/// The density of states of the 8×8 torus: computed once per page (about 10⁸ additions).
fn dos() -> &'static [f64] {
    static DOS: OnceLock<Vec<f64>> = OnceLock::new();
    DOS.get_or_init(|| density_of_states(8))
}

/// What the network generated, from a snapshot of it.
pub struct IsingLearned {
    pub steps: u64,
    pub samples: Vec<i8>,
    pub stats: SpinStats,
    /// TV distances (|M|, energy) to the exact distributions.
    pub tv: (f64, f64),
    /// One configuration's reverse run: (time, spins) after every step.
    pub reverse_run: Vec<(f64, Vec<i8>)>,
}

pub struct IsingState {
    pub config: IsingConfig,
    /// Milliseconds the exact distributions took for this beta (the density of states is
    /// computed once per page and included the first time).
    pub exact_ms: f64,
    pub exact: IsingExact,
    pub data: Rc<Vec<i8>>,
    pub data_stats: SpinStats,
    /// One training configuration's forward run, T + 1 states.
    pub forward_run: Vec<Vec<i8>>,
    pub trainer: Option<IsingTrainer>,
    pub snapshot: Option<IsingModel>,
    pub snapshot_steps: u64,
    pub losses: Vec<(u64, f64)>,
    pub learned: Option<IsingLearned>,
    pub generation: u64,
    pub learned_dirty: bool,
    pub last_refresh: f64,
    pub refresh_cost: f64,
    /// Training speed and WebGPU chunk size.
    pub pace: Pace,
}

impl IsingState {
    pub fn new(config: IsingConfig, device: &Device) -> IsingState {
        let started = now();
        let exact = IsingExact::new(8, config.beta, dos());
        let exact_ms = now() - started;
        let mut rng = StdRng::seed_from_u64(config.seed.wrapping_mul(0x9e37_79b9) ^ 0x15);
        let data = gibbs_samples(config.beta, config.data_size, 2, &mut rng);
        let process = config.process();
        let mut x = data[..SITES].to_vec();
        let mut forward_run = vec![x.clone()];
        for _ in 0..process.steps {
            process.step(&mut x, &mut rng);
            forward_run.push(x.clone());
        }
        let mut s = IsingState {
            config,
            exact_ms,
            exact,
            data_stats: SpinStats::of(&data),
            data: Rc::new(data),
            forward_run,
            trainer: None,
            snapshot: None,
            snapshot_steps: 0,
            losses: Vec::new(),
            learned: None,
            generation: 0,
            learned_dirty: true,
            last_refresh: -1e9,
            refresh_cost: 0.0,
            pace: Pace::new(4, 64),
        };
        s.reset_trainer(device);
        s
    }

    pub fn reset_trainer(&mut self, device: &Device) {
        self.generation += 1;
        let trainer = IsingTrainer::new(self.config, device);
        self.snapshot = Some(trainer.inference_model());
        self.snapshot_steps = 0;
        self.trainer = Some(trainer);
        self.losses.clear();
        self.learned = None;
        self.learned_dirty = true;
    }

    /// Applies a new configuration, rebuilding only what it changes.
    pub fn apply(&mut self, new: IsingConfig, device: &Device) {
        let old = self.config;
        if old.beta != new.beta
            || old.data_size != new.data_size
            || old.seed != new.seed
            || old.r != new.r
        {
            *self = IsingState::new(new, device);
            return;
        }
        self.config = new;
        if old.channels != new.channels
            || old.layers != new.layers
            || old.kernel != new.kernel
            || old.target != new.target
        {
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
}

/// The Ising state of the app, created on first use.
pub fn state(app: &mut App) -> &mut IsingState {
    if app.ising.is_none() {
        app.ising = Some(IsingState::new(app.settings.ising, &app.device));
    }
    app.ising.as_mut().expect("just created")
}

/// Runs Ising training steps for about `budget_ms` (at most `max_steps`), reads the loss once,
/// and settles it as every model does ([`crate::run::settle`]).
pub async fn train_chunk(app: &Shared, max_steps: u64, budget_ms: f64) -> Chunk {
    let (mut trainer, data, gen, gpu) = {
        let mut a = app.borrow_mut();
        let pace = state(&mut a).pace;
        let gpu = a.gpu_steps(pace);
        let s = state(&mut a);
        let Some(t) = s.trainer.take() else {
            return Chunk::Idle;
        };
        (t, s.data.clone(), s.generation, gpu)
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
    let lr = a.settings.ising.learning_rate;
    let Some(s) = a.ising.as_mut() else {
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
                trainer = IsingTrainer::new(s.config, &device);
            }
            let msg = diverged_message(
                "Ising",
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
    let s = a.ising.as_mut().expect("checked above");
    s.snapshot = Some(trainer.inference_model());
    s.snapshot_steps = trainer.steps();
    s.trainer = Some(trainer);
    s.learned_dirty = true;
    a.dirty = true;
    outcome
}

/// The Ising network as a weights file (read back from the device first).
pub async fn export(app: &Shared) -> Result<Vec<u8>, String> {
    let (net, config, steps) = {
        let a = app.borrow();
        let s = a.ising.as_ref().ok_or("no Ising network yet")?;
        let t = s.trainer.as_ref().ok_or("the trainer is busy; try again")?;
        (t.inference_model().net, t.config, t.steps())
    };
    let cpu = crate::weights::to_cpu(&net, config.net().init(&Device::flex())).await?;
    crate::weights::encode_ising(&cpu, &config, steps)
}

/// Installs an Ising weights file: shows the Ising view with the file's settings (β, flip
/// probability, network, kernel, sampler; this page's learning rate and batch are kept) and its
/// weights. Nothing changes unless the whole file is valid.
pub async fn install_weights(app: &Shared, bytes: &[u8], origin: &str) -> Result<String, String> {
    let device = app.borrow().device.clone();
    let (_, header) = crate::weights::decode_ising(bytes, &device)?;
    // The page holds what its settings (the URL) can say: a network built with other values of
    // the rest (a CLI run's window size, say) would be saved back under the wrong description.
    let shown = {
        let mut s = app.borrow().settings.clone();
        s.ising = header.config;
        crate::settings::Settings::from_query(&s.to_query()).0.ising
    };
    let c = &header.config;
    if (shown.net(), shown.r, shown.target) != (c.net(), c.r, c.target) {
        return Err(format!(
            "this Ising network ({} channels, {} layers, {}×{} window) cannot be set up from the \
             page's settings",
            c.channels, c.layers, c.kernel, c.kernel
        ));
    }
    // The file's settings, but this page's learning rate and batch.
    super::show_model(app, crate::models::Model::Ising, |s| {
        let keep = (s.ising.learning_rate, s.ising.batch);
        s.ising = header.config;
        (s.ising.learning_rate, s.ising.batch) = keep;
        s.seed = header.config.seed;
    });
    let mut a = app.borrow_mut();
    let s = state(&mut a);
    let t = s.trainer.as_mut().ok_or("the trainer is busy; try again")?;
    let (net, header) = crate::weights::decode_ising(bytes, t.device())?;
    t.install(net, header.steps);
    s.snapshot = Some(t.inference_model());
    s.snapshot_steps = header.steps;
    s.losses.clear();
    s.learned = None;
    s.learned_dirty = true;
    a.dirty = true;
    let c = &header.config;
    Ok(format!(
        "Loaded the Ising network from {origin}: {} channels, {} layers, {}×{} window, trained {} \
         steps at β = {}.",
        c.channels, c.layers, c.kernel, c.kernel, header.steps, c.beta
    ))
}

/// Generates `n` configurations from the latest snapshot with the configured sampler,
/// recording the first configuration's run.
pub async fn generate(
    model: &IsingModel,
    config: &IsingConfig,
    n: usize,
    seed: u64,
    device: &Device,
) -> (Vec<i8>, Vec<(f64, Vec<i8>)>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let plan = model.plan(config);
    let mut run = Vec::new();
    let x = model
        .sample(
            n,
            &plan,
            &mut rng,
            device,
            |_, t, x: &[i8]| run.push((t, x[..SITES].to_vec())),
            async || breathe().await,
        )
        .await;
    (x, run)
}

/// Recomputes the generated configurations and their statistics from the latest snapshot.
pub async fn refresh_learned(app: &Shared) {
    let (model, config, device, gen, steps) = {
        let mut a = app.borrow_mut();
        let device = a.device.clone();
        let s = state(&mut a);
        let Some(m) = s.snapshot.clone() else { return };
        (m, s.config, device, s.generation, s.snapshot_steps)
    };
    let started = now();
    let (samples, reverse_run) =
        generate(&model, &config, LIVE_SAMPLES, config.seed ^ 0x5eed, &device).await;
    let mut a = app.borrow_mut();
    let Some(s) = a.ising.as_mut() else { return };
    let ms = now() - started;
    if s.generation == gen {
        let stats = SpinStats::of(&samples);
        let tv = stats.tv_to(&s.exact);
        s.learned = Some(IsingLearned {
            steps,
            samples,
            stats,
            tv,
            reverse_run,
        });
    }
    s.refresh_cost = ms;
    s.last_refresh = now();
    a.dirty = true;
}

/// One turn of the page loop for the Ising view.
pub async fn tick(app: &Shared) {
    super::app::train_turn(app, train_chunk).await;
    let due = {
        let mut a = app.borrow_mut();
        let busy = a.playing || !a.pending.is_empty();
        let scripted = !a.pending.is_empty();
        let s = state(&mut a);
        // Sampling costs seconds: while training, refresh at most every 5 s and spend at most
        // about a sixth of the time on it; while a scripted request (`lab.train`, Step) runs,
        // half as often: the caller waits for the steps.
        let interval = if scripted {
            (10.0 * s.refresh_cost).max(10_000.0)
        } else {
            (5.0 * s.refresh_cost).max(if busy { 5000.0 } else { 200.0 })
        };
        s.learned_dirty && now() - s.last_refresh > interval
    };
    if due {
        if let Some(s) = app.borrow_mut().ising.as_mut() {
            s.learned_dirty = false;
        }
        refresh_learned(app).await;
    }
    super::app::draw_if_due(&mut app.borrow_mut(), super::ising_views::draw_all);
}
