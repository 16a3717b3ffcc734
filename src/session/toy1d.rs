//! The 1D toy's async work in the session: training chunks, the live views, sampling, weights.

use burn::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::{stop_diverged, Cell, Chunk};
use crate::diffusion::Sampler;
use crate::models::toy1d::train::Trainer;
use crate::models::toy1d::views::{learned_views, run_sampler, Evaluation, LiveSettings};
use crate::models::Model;
use crate::pacing::run_steps;
use crate::run::{diverged_message, read_loss, settle, Training};

/// The toy's training steps for about `budget_ms` (at most `max_steps`), one loss read-back,
/// settled by the shared rule ([`settle`]).
pub async fn chunk(cell: &Cell, max_steps: u64, budget_ms: f64) -> Chunk {
    let (mut trainer, source, mixture, gen, gpu, clock) = {
        let mut s = cell.borrow_mut();
        let gpu = s.gpu_steps(s.toy.pace);
        let Some(t) = s.toy.trainer.take() else {
            return Chunk::Idle;
        };
        let lab = &s.toy;
        (
            t,
            lab.source.clone(),
            lab.mixture().clone(),
            lab.generation,
            gpu,
            s.clock,
        )
    };
    // The weights this chunk starts from: good once a loss computed during the chunk is sane.
    let candidate = trainer.checkpoint();
    if trainer.steps() == 0 && trainer.run.reference_loss.is_none() {
        // The untrained network's loss, on a batch of its own (the training batches' random
        // stream is left alone): the yardstick for "sane" weights.
        let mut rng = StdRng::seed_from_u64(0x5eed_1055);
        let batch = source.batch(
            &mixture,
            &trainer.model.schedule,
            trainer.config.batch,
            trainer.config.time_draw,
            &mut rng,
        );
        trainer.run.reference_loss = Some(read_loss(trainer.loss(&batch)).await);
    }
    let (ran, loss, elapsed) = run_steps(clock, gpu, max_steps, budget_ms, || {
        trainer.step_on(&source, &mixture)
    })
    .await;
    let mut s = cell.borrow_mut();
    if s.toy.generation != gen {
        return Chunk::Idle; // the settings replaced this network meanwhile
    }
    s.toy.pace.update(ran, elapsed, budget_ms, gpu.is_some());
    let outcome = match settle(&mut trainer, candidate, &mut s.toy.losses, loss) {
        Ok(()) => Chunk::Ran { steps: ran },
        Err(restored) => {
            if restored.is_none() {
                // Diverged before any good step: start again from fresh weights.
                let c = s.toy.config.clone();
                trainer = Trainer::new(c.train, c.schedule, c.mixture.variance(), &s.device);
            }
            let message = diverged_message(
                "Training",
                loss,
                trainer.run.reference_loss,
                s.settings.train.learning_rate,
                restored.unwrap_or(0),
            );
            stop_diverged(&mut s, message)
        }
    };
    let lab = &mut s.toy;
    lab.snapshot = Some(trainer.inference_model());
    lab.snapshot_steps = trainer.steps();
    lab.trainer = Some(trainer);
    lab.refresh.dirty = true;
    s.dirty = true;
    outcome
}

/// Recomputes the toy's learned views from its latest snapshot.
pub async fn refresh(cell: &Cell) {
    let (model, mixture, x_range, live, steps, gen, device, pause, clock) = {
        let mut s = cell.borrow_mut();
        s.toy.refresh.dirty = false;
        let Some(m) = s.toy.snapshot.clone() else {
            return;
        };
        let st = &s.settings;
        let live = LiveSettings {
            t_view: st.t_view,
            panels: st.sampler.panels(st.a),
            steps: st.steps,
            exact_score: st.exact_score,
            seed: st.seed,
        };
        (
            m,
            s.toy.mixture().clone(),
            s.toy.exact.x_range,
            live,
            s.toy.snapshot_steps,
            s.toy.generation,
            s.device.clone(),
            s.pause.clone(),
            s.clock,
        )
    };
    let started = clock();
    let views = learned_views(&model, &mixture, x_range, live, steps, &device, &pause).await;
    let mut s = cell.borrow_mut();
    if s.toy.generation == gen && s.settings.schedule == model.schedule {
        s.toy.learned = Some(views);
        s.dirty = true;
    }
    s.toy.refresh.done(started, clock());
}

/// `n` draws of the toy with `sampler`, from the network (the exact score when `exact`).
pub async fn sample(
    cell: &Cell,
    n: usize,
    sampler: Sampler,
    exact: bool,
    seed: u64,
) -> Result<Vec<f32>, String> {
    let (model, mixture, device, pause) = {
        let s = cell.borrow();
        let model = s
            .toy
            .trainer
            .as_ref()
            .map(|t| t.inference_model())
            .or_else(|| s.toy.snapshot.clone())
            .ok_or("no network yet")?;
        (
            model,
            s.toy.mixture().clone(),
            s.device.clone(),
            s.pause.clone(),
        )
    };
    let which = (!exact).then_some(&model);
    let (x, _) = run_sampler(
        which,
        &mixture,
        &model.schedule,
        &device,
        sampler,
        n,
        0,
        seed,
        Evaluation::Direct,
        &pause,
    )
    .await;
    Ok(x)
}

/// The toy's network as a weights file (read back into a CPU copy first).
pub async fn export(cell: &Cell) -> Result<Vec<u8>, String> {
    let (model, c, steps) = {
        let s = cell.borrow();
        let t = s
            .toy
            .trainer
            .as_ref()
            .ok_or("the trainer is busy; try again")?;
        (t.inference_model(), t.config, t.steps())
    };
    let twin = crate::models::toy1d::train::net_config(c.width, c.depth, c.activation)
        .init(&Device::flex());
    let net = crate::weights::to_cpu(&model.net, twin).await?;
    let cpu = crate::models::toy1d::train::ScoreModel { net, ..model };
    crate::weights::encode(&cpu, c.width, c.depth, c.activation, steps)
}

/// Loads a toy weights file, showing the toy with the file's network settings. Nothing changes
/// unless the whole file is valid.
pub fn import(cell: &Cell, bytes: &[u8], origin: &str) -> Result<String, String> {
    let device = cell.borrow().device.clone();
    // Validate completely before touching anything.
    let (_, header) = crate::weights::decode(bytes, &device)?;
    let mut s = cell.borrow_mut();
    // Weights files hold the 1D toy's network: loading one shows the toy.
    s.show(Model::Toy1d, |st| {
        st.schedule = header.schedule;
        st.train.width = header.width;
        st.train.depth = header.depth;
        st.train.activation = header.activation;
    });
    let lab = &mut s.toy;
    let trainer = lab
        .trainer
        .as_mut()
        .ok_or("the trainer is busy; try again")?;
    let (model, _) = crate::weights::decode(bytes, trainer.device())?;
    trainer.install_for(model.net, header.data_var, header.steps);
    lab.snapshot = Some(trainer.inference_model());
    lab.snapshot_steps = header.steps;
    lab.losses.clear();
    lab.refresh.dirty = true;
    s.dirty = true;
    Ok(format!(
        "Loaded weights from {origin}: {}×{} network trained {} steps ({}).",
        header.depth,
        header.width,
        header.steps,
        header.schedule.label()
    ))
}
