//! The Ising model's async work in the session: training chunks, the live samples, sampling,
//! weights.

use burn::prelude::*;

use std::sync::Arc;

use super::train::{Encoder, Trains};
use super::{Cell, Session};
use crate::models::ising::lab::{generate, IsingLearned, LIVE_SAMPLES};
use crate::models::ising::net::IsingNet;
use crate::models::ising::train::IsingTrainer;
use crate::models::live::Live;
use crate::models::Model;
use crate::run::Training;

/// The Ising model's training in the session.
pub struct Ising;

impl Trains for Ising {
    type Trainer = IsingTrainer;
    type Views = IsingLearned;
    const NAME: &'static str = "Ising";

    fn live(s: &mut Session) -> Option<&mut Live<IsingTrainer, IsingLearned>> {
        s.ising.as_mut().map(|l| &mut l.live)
    }

    fn data(s: &mut Session) -> Option<Arc<Vec<i8>>> {
        s.ising.as_ref().map(|l| l.data.clone())
    }

    fn fresh(s: &mut Session) -> IsingTrainer {
        let device = s.device.clone();
        IsingTrainer::new(s.ising().config, &device)
    }

    fn learning_rate(s: &Session) -> f64 {
        s.settings.ising.learning_rate
    }

    fn cpu_twin(t: &IsingTrainer) -> IsingNet {
        t.config.net().init(&Device::flex())
    }

    fn encoder(t: &IsingTrainer) -> Encoder<IsingNet> {
        let (config, steps) = (t.config, t.steps());
        Box::new(move |net| crate::weights::encode_ising(net, &config, steps))
    }
}

/// Recomputes the generated configurations and their statistics from the latest snapshot.
pub async fn refresh(cell: &Cell) {
    let (model, config, device, gen, steps, pause, clock, join) = {
        let mut s = cell.borrow_mut();
        let (device, pause, clock, join) = (s.device.clone(), s.pause.clone(), s.clock, s.join);
        let lab = s.ising();
        lab.live.refresh.dirty = false;
        let Some(m) = lab.live.snapshot.clone() else {
            return;
        };
        (
            m,
            lab.config,
            device,
            lab.live.generation,
            lab.live.snapshot_steps,
            pause,
            clock,
            join,
        )
    };
    let started = clock();
    let seed = config.seed ^ 0x5eed;
    let (samples, run) = generate(&model, &config, LIVE_SAMPLES, seed, &device, &pause, join).await;
    let mut s = cell.borrow_mut();
    let Some(lab) = s.ising.as_mut() else { return };
    if lab.live.generation == gen {
        lab.live.learned = Some(lab.learned_from(steps, samples, run));
    }
    lab.live.refresh.done(started, clock());
    s.dirty = true;
}

/// `n` Ising configurations (±1, 64 each) with the configured sampler, `steps` reverse steps.
pub async fn sample(
    cell: &Cell,
    n: usize,
    steps: Option<usize>,
    seed: u64,
) -> Result<Vec<i8>, String> {
    let (model, mut config, device, pause, join) = {
        let mut s = cell.borrow_mut();
        let (device, pause, join) = (s.device.clone(), s.pause.clone(), s.join);
        let lab = s.ising();
        let model = lab.live.model().ok_or("no network yet")?;
        (model, lab.config, device, pause, join)
    };
    if let Some(k) = steps {
        config.sampler_steps = k;
    }
    let (x, _) = generate(&model, &config, n, seed, &device, &pause, join).await;
    Ok(x)
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
        .live
        .trainer
        .as_mut()
        .ok_or("the trainer is busy; try again")?;
    let (net, header) = crate::weights::decode_ising(bytes, t.device())?;
    t.install(net, header.steps);
    let t = lab.live.trainer.take().expect("checked above");
    lab.live.installed(t);
    lab.live.learned = None;
    s.dirty = true;
    Ok(format!(
        "Loaded the Ising network from {origin}: {} channels, {} layers, {}×{} window, \
             trained {} steps at β = {}.",
        c.channels, c.layers, c.kernel, c.kernel, header.steps, c.beta
    ))
}
