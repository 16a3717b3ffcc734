//! The Ising model's async work in the session: training chunks, the live samples, sampling,
//! weights.

use burn::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::{stop_diverged, Cell, Chunk};
use crate::models::ising::lab::{generate, LIVE_SAMPLES};
use crate::models::ising::train::IsingTrainer;
use crate::models::Model;
use crate::pacing::run_steps;
use crate::run::{diverged_message, read_loss, settle, Training};

/// The Ising network's steps for about `budget_ms`, settled by the shared rule.
pub async fn chunk(cell: &Cell, max_steps: u64, budget_ms: f64) -> Chunk {
    let (mut trainer, data, gen, gpu, clock) = {
        let mut s = cell.borrow_mut();
        let pace = s.ising().pace;
        let gpu = s.gpu_steps(pace);
        let clock = s.clock;
        let lab = s.ising();
        let Some(t) = lab.trainer.take() else {
            return Chunk::Idle;
        };
        (t, lab.data.clone(), lab.generation, gpu, clock)
    };
    let candidate = trainer.checkpoint();
    if trainer.steps() == 0 && trainer.run.reference_loss.is_none() {
        let mut rng = StdRng::seed_from_u64(0x5eed_1055);
        trainer.run.reference_loss = Some(read_loss(trainer.loss_on(&data, &mut rng)).await);
    }
    let (ran, loss, elapsed) =
        run_steps(clock, gpu, max_steps, budget_ms, || trainer.step(&data)).await;
    let mut s = cell.borrow_mut();
    let (device, lr) = (s.device.clone(), s.settings.ising.learning_rate);
    let Some(lab) = s.ising.as_mut() else {
        return Chunk::Idle;
    };
    if lab.generation != gen {
        return Chunk::Idle;
    }
    lab.pace.update(ran, elapsed, budget_ms, gpu.is_some());
    let outcome = match settle(&mut trainer, candidate, &mut lab.losses, loss) {
        Ok(()) => Chunk::Ran { steps: ran },
        Err(restored) => {
            if restored.is_none() {
                trainer = IsingTrainer::new(lab.config, &device);
            }
            let reference = trainer.run.reference_loss;
            let message = diverged_message("Ising", loss, reference, lr, restored.unwrap_or(0));
            stop_diverged(&mut s, message)
        }
    };
    let lab = s.ising();
    lab.snapshot = Some(trainer.inference_model());
    lab.snapshot_steps = trainer.steps();
    lab.trainer = Some(trainer);
    lab.refresh.dirty = true;
    s.dirty = true;
    outcome
}

/// Recomputes the generated configurations and their statistics from the latest snapshot.
pub async fn refresh(cell: &Cell) {
    let (model, config, device, gen, steps, pause, clock) = {
        let mut s = cell.borrow_mut();
        let (device, pause, clock) = (s.device.clone(), s.pause.clone(), s.clock);
        let lab = s.ising();
        lab.refresh.dirty = false;
        let Some(m) = lab.snapshot.clone() else {
            return;
        };
        (
            m,
            lab.config,
            device,
            lab.generation,
            lab.snapshot_steps,
            pause,
            clock,
        )
    };
    let started = clock();
    let seed = config.seed ^ 0x5eed;
    let (samples, run) = generate(&model, &config, LIVE_SAMPLES, seed, &device, &pause).await;
    let mut s = cell.borrow_mut();
    let Some(lab) = s.ising.as_mut() else { return };
    if lab.generation == gen {
        lab.learned = Some(lab.learned_from(steps, samples, run));
    }
    lab.refresh.done(started, clock());
    s.dirty = true;
}

/// `n` Ising configurations (±1, 64 each) with the configured sampler, `steps` reverse steps.
pub async fn sample(
    cell: &Cell,
    n: usize,
    steps: Option<usize>,
    seed: u64,
) -> Result<Vec<i8>, String> {
    let (model, mut config, device, pause) = {
        let mut s = cell.borrow_mut();
        let (device, pause) = (s.device.clone(), s.pause.clone());
        let lab = s.ising();
        let model = lab
            .trainer
            .as_ref()
            .map(|t| t.inference_model())
            .or_else(|| lab.snapshot.clone())
            .ok_or("no network yet")?;
        (model, lab.config, device, pause)
    };
    if let Some(k) = steps {
        config.sampler_steps = k;
    }
    let (x, _) = generate(&model, &config, n, seed, &device, &pause).await;
    Ok(x)
}

/// The Ising network as a weights file (read back into a CPU copy first).
pub async fn export(cell: &Cell) -> Result<Vec<u8>, String> {
    let (net, config, steps) = {
        let s = cell.borrow();
        let lab = s.ising.as_ref().ok_or("no Ising network yet")?;
        let t = lab
            .trainer
            .as_ref()
            .ok_or("the trainer is busy; try again")?;
        (t.inference_model().net, t.config, t.steps())
    };
    let cpu = crate::weights::to_cpu(&net, config.net().init(&Device::flex())).await?;
    crate::weights::encode_ising(&cpu, &config, steps)
}

/// Loads an Ising weights file, showing the model with the file's settings (this page's
/// learning rate and batch are kept). Nothing changes unless the whole file is valid.
pub fn import(cell: &Cell, bytes: &[u8], origin: &str) -> Result<String, String> {
    let device = cell.borrow().device.clone();
    let (_, header) = crate::weights::decode_ising(bytes, &device)?;
    let mut s = cell.borrow_mut();
    // The page holds what its settings (the URL) can say: a network built with other
    // values of the rest (a CLI run's window size, say) would be saved back under the
    // wrong description.
    let shown = {
        let mut st = s.settings.clone();
        st.ising = header.config;
        crate::settings::Settings::from_query(&st.to_query())
            .0
            .ising
    };
    let c = &header.config;
    if (shown.net(), shown.r, shown.target) != (c.net(), c.r, c.target) {
        return Err(format!(
            "this Ising network ({} channels, {} layers, {}×{} window) cannot be set up \
                 from the page's settings",
            c.channels, c.layers, c.kernel, c.kernel
        ));
    }
    // The file's settings, but this page's learning rate and batch.
    s.show(Model::Ising, |st| {
        let keep = (st.ising.learning_rate, st.ising.batch);
        st.ising = header.config;
        (st.ising.learning_rate, st.ising.batch) = keep;
        st.seed = header.config.seed;
    });
    let lab = s.ising();
    let t = lab
        .trainer
        .as_mut()
        .ok_or("the trainer is busy; try again")?;
    let (net, header) = crate::weights::decode_ising(bytes, t.device())?;
    t.install(net, header.steps);
    lab.snapshot = Some(t.inference_model());
    lab.snapshot_steps = header.steps;
    lab.losses.clear();
    lab.learned = None;
    lab.refresh.dirty = true;
    s.dirty = true;
    Ok(format!(
        "Loaded the Ising network from {origin}: {} channels, {} layers, {}×{} window, \
             trained {} steps at β = {}.",
        c.channels, c.layers, c.kernel, c.kernel, header.steps, c.beta
    ))
}
