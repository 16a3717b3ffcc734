//! Small MNIST's async work in the session: training chunks, the guidance classifier, the live
//! samples, sampling, weights in and out (and restoring a saved network).

use burn::prelude::*;

use std::sync::Arc;

use super::train::{Encoder, Trains};
use super::{Cell, Session, CHUNK_MS};
use crate::diffusion::Sampler;
use crate::models::live::Live;
use crate::models::mnist::classifier::ClassifierTrainer;
use crate::models::mnist::data::PIXELS;
use crate::models::mnist::lab::{describe, generate, MnistLearned, CLASSIFIER_STEPS, LIVE_SAMPLES};
use crate::models::mnist::train::MnistNet;
use crate::models::mnist::train::MnistTrainer;
use crate::models::Model;
use crate::run::{read_loss, Training};

/// MNIST's training in the session.
pub struct Mnist;

impl Trains for Mnist {
    type Trainer = MnistTrainer;
    type Views = MnistLearned;
    const NAME: &'static str = "MNIST";
    /// The U-Net's batch of 32 as two halves of 16: 1.95 steps/s on one thread in the page
    /// against 1.75 in one pass (this machine, headless Chromium, the single-threaded module);
    /// the Ising network and the toy's MLP lost by it (130 vs 140, 305 vs 365 steps/s).
    const HALVES_ON_ONE_THREAD: bool = true;

    fn live(s: &mut Session) -> Option<&mut Live<MnistTrainer, MnistLearned>> {
        s.mnist.as_mut().map(|l| &mut l.live)
    }

    fn data(s: &mut Session) -> Option<Arc<Vec<f32>>> {
        let lab = s.mnist.as_ref()?;
        lab.data.is_some().then(|| lab.centered.clone())
    }

    fn fresh(s: &mut Session) -> MnistTrainer {
        let device = s.device.clone();
        let lab = s.mnist();
        MnistTrainer::new(lab.config, &lab.centered, &device)
    }

    fn learning_rate(s: &Session) -> f64 {
        s.settings.mnist.learning_rate
    }

    fn cpu_twin(t: &MnistTrainer) -> MnistNet {
        t.config.init_net(&Device::flex())
    }

    fn encoder(t: &MnistTrainer) -> Encoder<MnistNet> {
        let (config, steps) = (t.config, t.steps());
        Box::new(move |net| crate::weights::encode_mnist(net, &config, steps))
    }
}

/// Trains the guidance classifier for about `budget_ms`, up to [`CLASSIFIER_STEPS`].
pub async fn classifier_chunk(cell: &Cell, budget_ms: f64) {
    let (mut clf, data, labels, clock) = {
        let mut s = cell.borrow_mut();
        let device = s.device.clone();
        let clock = s.clock;
        let lab = s.mnist();
        let Some(digits) = lab.data.clone() else {
            return;
        };
        let clf = lab.classifier.take().unwrap_or_else(|| {
            ClassifierTrainer::new(true, lab.config.schedule, lab.config.seed ^ 0xc1f, &device)
        });
        (clf, lab.centered.clone(), digits, clock)
    };
    let started = clock();
    let mut last = None;
    while clf.steps < CLASSIFIER_STEPS {
        last = Some(clf.step(&data, &labels.labels));
        if clock() - started > budget_ms {
            break;
        }
    }
    let loss = match last {
        Some(l) => Some(read_loss(l).await),
        None => None,
    };
    let mut s = cell.borrow_mut();
    let Some(lab) = s.mnist.as_mut() else { return };
    if clf.schedule != lab.config.schedule {
        return;
    }
    if let Some(l) = loss {
        lab.classifier_loss = l;
    }
    if clf.steps >= CLASSIFIER_STEPS {
        lab.live.refresh.dirty = true;
    }
    lab.classifier = Some(clf);
    s.dirty = true;
}

/// Trains the guidance classifier to the end, pausing between chunks.
pub async fn ensure_classifier(cell: &Cell) -> Result<(), String> {
    loop {
        let (done, ready, pause) = {
            let mut s = cell.borrow_mut();
            let pause = s.pause.clone();
            let lab = s.mnist();
            (
                lab.classifier_steps() >= CLASSIFIER_STEPS,
                lab.data.is_some(),
                pause,
            )
        };
        if !ready {
            return Err("the MNIST digits are not loaded".into());
        }
        if done {
            return Ok(());
        }
        classifier_chunk(cell, CHUNK_MS).await;
        pause().await;
    }
}

/// Recomputes the generated digits from the latest snapshot.
pub async fn refresh(cell: &Cell) {
    let (model, sampler, guide, device, gen, steps, seed, data, pause, clock, join) = {
        let mut s = cell.borrow_mut();
        let (device, pause, clock, join) = (s.device.clone(), s.pause.clone(), s.clock, s.join);
        let sampler = Sampler {
            kind: s.settings.mnist_sampler,
            steps: s.settings.mnist_steps,
        };
        let (digit, scale, seed) = (s.settings.digit, s.settings.guidance, s.settings.seed);
        let lab = s.mnist();
        lab.live.refresh.dirty = false;
        let guide = lab.guidance(digit, scale);
        let (Some(m), Some(data)) = (lab.live.snapshot.clone(), lab.data.clone()) else {
            return;
        };
        let (gen, steps) = (lab.live.generation, lab.live.snapshot_steps);
        (
            m, sampler, guide, device, gen, steps, seed, data, pause, clock, join,
        )
    };
    let started = clock();
    let (samples, strip) = generate(
        &model,
        &sampler,
        LIVE_SAMPLES,
        guide.as_ref(),
        seed ^ 0x5eed,
        &device,
        &pause,
        join,
    )
    .await;
    let nearest = samples
        .chunks_exact(PIXELS)
        .map(|img| data.nearest(img))
        .collect();
    let mut s = cell.borrow_mut();
    let Some(lab) = s.mnist.as_mut() else { return };
    if lab.live.generation == gen {
        lab.live.learned = Some(MnistLearned {
            steps,
            samples,
            nearest,
            strip,
            sampler: sampler.kind,
            sampler_steps: sampler.steps,
            digit: guide.map(|g| g.digit),
        });
    }
    lab.live.refresh.done(started, clock());
    s.dirty = true;
}

/// `n` digits (pixels in `[0, 1]`, `n × 784`) with `sampler`, guided toward `digit` at `scale`
/// (the guidance classifier trains first when it has not).
pub async fn sample(
    cell: &Cell,
    n: usize,
    sampler: Sampler,
    digit: Option<u8>,
    scale: f64,
    seed: u64,
) -> Result<Vec<f32>, String> {
    if digit.is_some() {
        ensure_classifier(cell).await?;
    }
    let (model, guidance, device, pause, join) = {
        let mut s = cell.borrow_mut();
        let (device, pause, join) = (s.device.clone(), s.pause.clone(), s.join);
        let lab = s.mnist();
        let model = lab.live.model().ok_or("no network yet")?;
        (model, lab.guidance(digit, scale), device, pause, join)
    };
    let (x, _) = generate(
        &model,
        &sampler,
        n,
        guidance.as_ref(),
        seed,
        &device,
        &pause,
        join,
    )
    .await;
    Ok(x)
}

/// Loads an MNIST weights file (the digits must be loaded), showing MNIST with the file's
/// network settings (this page's learning rate and batch are kept).
pub fn import(cell: &Cell, bytes: &[u8], origin: &str) -> Result<String, String> {
    let device = cell.borrow().device.clone();
    let (_, header) = crate::weights::decode_mnist(bytes, &device)?;
    let mut s = cell.borrow_mut();
    if s.mnist().data.is_none() {
        return Err("the MNIST digits are not loaded".into());
    }
    // The file's settings, but this page's learning rate and batch.
    s.show(Model::Mnist, |st| {
        let keep = (st.mnist.learning_rate, st.mnist.batch);
        st.mnist = header.config;
        (st.mnist.learning_rate, st.mnist.batch) = keep;
        st.seed = header.config.seed;
    });
    let lab = s.mnist();
    let t = lab
        .live
        .trainer
        .as_ref()
        .ok_or("the trainer is busy; try again")?;
    let (net, header) = crate::weights::decode_mnist(bytes, t.device())?;
    lab.install(net, header.steps)?;
    s.dirty = true;
    Ok(format!(
        "Loaded the MNIST network from {origin}: {} trained {} steps ({}).",
        describe(&header.config),
        header.steps,
        header.config.schedule.label()
    ))
}

/// Where a network offered to a fresh MNIST view comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offered {
    /// The network this browser saved (IndexedDB).
    Saved,
    /// The site's pretrained network (`pretrained/mnist.weights`).
    Pretrained,
}

/// Installs a network saved earlier (browser storage) or the site's pretrained one if it
/// describes the network the settings ask for and nothing was trained yet; says what it did in
/// the notices. Returns whether it installed it.
pub fn restore(cell: &Cell, bytes: &[u8], offered: Offered) -> bool {
    let Ok((header, _)) = crate::weights::mnist_header(bytes) else {
        return false;
    };
    let mut s = cell.borrow_mut();
    let mine = s.settings.mnist;
    if !crate::models::mnist::lab::same_network(&header.config, &mine) {
        s.notices.push(match offered {
            Offered::Saved => format!(
                "This browser holds an MNIST network ({}, {} steps) for other settings; it was not \
                 restored.",
                describe(&header.config),
                header.steps
            ),
            Offered::Pretrained => format!(
                "The pretrained MNIST network is a {}, seed {}, on the {} schedule; these \
                 settings ask for another network, which trains from scratch.",
                describe(&header.config),
                header.config.seed,
                header.config.schedule.label()
            ),
        });
        return false;
    }
    let lab = s.mnist();
    let Some(t) = lab.live.trainer.as_ref() else {
        return false;
    };
    if t.steps() > 0 {
        return false;
    }
    let Ok((net, _)) = crate::weights::decode_mnist(bytes, t.device()) else {
        return false;
    };
    if lab.install(net, header.steps).is_err() {
        return false;
    }
    s.notices.push(match offered {
        Offered::Saved => format!(
            "Restored the MNIST network saved in this browser ({} steps).",
            header.steps
        ),
        Offered::Pretrained => format!(
            "MNIST started from the pretrained network ({} steps, {}, trained natively by \
             `cargo xtask pretrain`); Reset trains one from scratch ({}).",
            header.steps,
            header.config.activation.label(),
            mine.activation.label()
        ),
    });
    s.dirty = true;
    true
}
