//! The 1D toy's async work in the session: training chunks, the live views, sampling, weights.

use burn::prelude::*;

use std::sync::Arc;

use super::train::{Encoder, Trains};
use super::{Cell, Session};
use crate::diffusion::Sampler;
use crate::models::live::Live;
use crate::models::toy1d::mixture::{Mixture, PairSource};
use crate::models::toy1d::train::Trainer;
use crate::models::toy1d::train::{net_config, ScoreModel};
use crate::models::toy1d::views::{
    learned_views, run_sampler, Evaluation, LearnedViews, LiveSettings, Start,
};
use crate::models::Model;
use crate::nn::ScoreMlp;
use crate::run::Training;

/// The toy's training in the session.
pub struct Toy;

impl Trains for Toy {
    type Trainer = Trainer;
    type Views = LearnedViews;
    const NAME: &'static str = "The 1D toy's";

    fn live(s: &mut Session) -> Option<&mut Live<Trainer, LearnedViews>> {
        Some(&mut s.toy.live)
    }

    fn data(s: &mut Session) -> Option<(Arc<PairSource>, Mixture)> {
        Some((s.toy.source.clone(), s.toy.mixture().clone()))
    }

    fn fresh(s: &mut Session) -> Trainer {
        let c = &s.toy.config;
        Trainer::new(c.train, c.schedule, c.mixture.variance(), &s.device)
    }

    fn learning_rate(s: &Session) -> f64 {
        s.settings.train.learning_rate
    }

    fn cpu_twin(t: &Trainer) -> ScoreMlp {
        let c = &t.config;
        net_config(c.width, c.depth, c.activation).init(&Device::flex())
    }

    fn encoder(t: &Trainer) -> Encoder<ScoreMlp> {
        let (model, c, steps) = (t.inference_model(), t.config, t.steps());
        Box::new(move |net| {
            let cpu = ScoreModel {
                net: net.clone(),
                ..model
            };
            crate::weights::encode(&cpu, c.width, c.depth, c.activation, steps)
        })
    }
}

/// Recomputes the toy's learned views from its latest snapshot.
pub async fn refresh(cell: &Cell) {
    let (model, mixture, x_range, live, steps, gen, device, pause, clock) = {
        let mut s = cell.borrow_mut();
        s.toy.live.refresh.dirty = false;
        let Some(m) = s.toy.live.snapshot.clone() else {
            return;
        };
        let st = &s.settings;
        let live = LiveSettings {
            t_view: st.t_view,
            panels: st.sampler.panels(st.a),
            steps: st.steps,
            exact_score: st.exact_score,
            seed: st.seed,
            quantiles: true,
        };
        (
            m,
            s.toy.mixture().clone(),
            s.toy.exact.x_range,
            live,
            s.toy.live.snapshot_steps,
            s.toy.live.generation,
            s.device.clone(),
            s.pause.clone(),
            s.clock,
        )
    };
    let started = clock();
    let views = learned_views(&model, &mixture, x_range, live, steps, &device, &pause).await;
    let mut s = cell.borrow_mut();
    if s.toy.live.generation == gen && s.settings.schedule == model.schedule {
        s.toy.live.learned = Some(views);
        s.dirty = true;
    }
    s.toy.live.refresh.done(started, clock());
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
        let model = s.toy.live.model().ok_or("no network yet")?;
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
        Start::Draws,
        &pause,
    )
    .await;
    Ok(x)
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
        .live
        .trainer
        .as_mut()
        .ok_or("the trainer is busy; try again")?;
    let (model, _) = crate::weights::decode(bytes, trainer.device())?;
    trainer.install_for(model.net, header.data_var, header.steps);
    let trainer = lab.live.trainer.take().expect("checked above");
    lab.live.installed(trainer);
    s.dirty = true;
    Ok(format!(
        "Loaded weights from {origin}: {}×{} network trained {} steps ({}).",
        header.depth,
        header.width,
        header.steps,
        header.schedule.label()
    ))
}
