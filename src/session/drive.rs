//! The session's turn: train the model on show, refresh its views when due; and the requests
//! every model answers (weights in and out), dispatched to the model's own module.

use super::{ising, mnist, toy1d, train, Cell, Chunk, Reply, Request, TrainRequest, CHUNK_MS};
use crate::models::mnist::lab::CLASSIFIER_STEPS;
use crate::models::Model;

/// One turn of the lab: train the model on show (the first queued request, else a chunk while
/// playing), train the guidance classifier when a digit is chosen, and refresh the learned
/// views when they are due.
pub async fn tick(cell: &Cell) {
    if cell.borrow().stopped.is_some() {
        return;
    }
    let (model, was_busy) = {
        let s = cell.borrow();
        (s.settings.model, s.busy())
    };
    match model {
        Model::Toy1d => train_turn::<toy1d::Toy>(cell).await,
        Model::Ising => train_turn::<ising::Ising>(cell).await,
        Model::Mnist => {
            if !mnist_ready(cell) {
                return;
            }
            train_turn::<mnist::Mnist>(cell).await;
            let wants_classifier = {
                let mut s = cell.borrow_mut();
                s.settings.digit.is_some() && s.mnist().classifier_steps() < CLASSIFIER_STEPS
            };
            if wants_classifier {
                mnist::classifier_chunk(cell, 20.0).await;
            }
        }
    }
    if refresh_due(cell, was_busy) {
        refresh(cell).await;
    }
}

/// Whether the MNIST digits are in (the page loads them).
fn mnist_ready(cell: &Cell) -> bool {
    cell.borrow_mut().mnist().data.is_some()
}

/// Whether the learned views of the model on show are due (see [`crate::pacing::Refresh`]).
/// A turn that began training counts as training (`was_busy`): when its chunk was the last, the
/// idle catch-up waits for the next turn, so that the page has the turn's outcome (the step
/// count, a divergence's message) before a `lab.train` waiting on it resolves — a refresh in
/// this turn let the reply overtake the status.
pub fn refresh_due(cell: &Cell, was_busy: bool) -> bool {
    let mut s = cell.borrow_mut();
    let (now, busy, scripted) = ((s.clock)(), was_busy || s.busy(), !s.pending.is_empty());
    match s.settings.model {
        Model::Toy1d => s.toy.live.refresh.due(now, busy, scripted),
        Model::Ising => s.ising().live.refresh.due(now, busy, scripted),
        Model::Mnist => {
            let m = s.mnist();
            m.live.snapshot.is_some() && m.live.refresh.due(now, busy, scripted)
        }
    }
}

/// Recomputes the learned views of the model on show.
pub async fn refresh(cell: &Cell) {
    let model = cell.borrow().settings.model;
    match model {
        Model::Toy1d => toy1d::refresh(cell).await,
        Model::Ising => ising::refresh(cell).await,
        Model::Mnist => mnist::refresh(cell).await,
    }
}

/// One turn's training of `M`: a loaded network's loss when it is due
/// ([`train::loaded_loss`]), then the first queued request, else a chunk while playing.
async fn train_turn<M: train::Trains>(cell: &Cell) {
    train::loaded_loss::<M>(cell).await;
    let (playing, pending) = {
        let s = cell.borrow();
        (s.playing, s.pending.first().map(|r| r.remaining))
    };
    if let Some(remaining) = pending {
        if let Chunk::Ran { steps } = train::chunk::<M>(cell, remaining, CHUNK_MS).await {
            let mut s = cell.borrow_mut();
            if let Some(r) = s.pending.first_mut() {
                r.remaining = r.remaining.saturating_sub(steps);
                if r.remaining == 0 {
                    s.pending.remove(0);
                }
            }
        } else {
            cell.borrow_mut().pending.clear();
        }
    } else if playing {
        train::chunk::<M>(cell, u64::MAX, CHUNK_MS).await;
    }
}

/// The network on show as a weights file and its file name, read back asynchronously into a
/// CPU copy first (so on WebGPU too).
pub async fn export(cell: &Cell) -> Result<(Vec<u8>, &'static str), String> {
    let model = cell.borrow().settings.model;
    match model {
        Model::Toy1d => train::export::<toy1d::Toy>(cell).await,
        Model::Ising => train::export::<ising::Ising>(cell).await,
        Model::Mnist => train::export::<mnist::Mnist>(cell).await,
    }
    .map(|bytes| (bytes, model_file(model)))
}

/// The file name a model's weights are offered under (and the site's pretrained network's, in
/// `pretrained/`).
pub fn model_file(model: Model) -> &'static str {
    match model {
        Model::Toy1d => "toy1d.weights",
        Model::Ising => "ising.weights",
        Model::Mnist => "mnist.weights",
    }
}

/// Loads a weights file (any model's) into the lab, showing its model with the file's
/// settings. Nothing changes unless the whole file is valid. MNIST needs its digits loaded.
pub fn import(cell: &Cell, bytes: &[u8], origin: &str) -> Result<String, String> {
    match crate::weights::model_of(bytes)? {
        Model::Toy1d => toy1d::import(cell, bytes, origin),
        Model::Ising => ising::import(cell, bytes, origin),
        Model::Mnist => mnist::import(cell, bytes, origin),
    }
}

/// Loads the site's pretrained network (`pretrained/<model>.weights`, made by `cargo xtask
/// pretrain`) as a weights file. The toy's network learned the default mixture, so the toy's
/// data return to it; the Ising and MNIST files carry their settings as every weights file does.
/// Nothing changes unless the whole file is valid.
pub fn import_pretrained(cell: &Cell, bytes: &[u8]) -> Result<String, String> {
    let origin = "the pretrained network";
    let mut data_note = "";
    if crate::weights::model_of(bytes)? == Model::Toy1d {
        let device = cell.borrow().device.clone();
        crate::weights::decode(bytes, &device)?;
        let default = crate::models::toy1d::mixture::Mixture::default();
        let mut s = cell.borrow_mut();
        if s.settings.mixture != default {
            s.show(Model::Toy1d, |st| st.mixture = default);
            data_note = " The data are back to the default two modes, which it learned.";
        }
    }
    import(cell, bytes, origin).map(|m| format!("{m}{data_note} Reset trains one from scratch."))
}

/// Answers a request. MNIST's digits must be in the session (the page loads them) before MNIST
/// trains, samples or loads a file; a stopped lab refuses every request with its reason.
pub async fn handle(cell: &Cell, request: Request) -> Result<Reply, String> {
    if let Some(stopped) = cell.borrow().stopped.clone() {
        return Err(stopped);
    }
    match request {
        Request::Train { model, steps, beta } => {
            let mut s = cell.borrow_mut();
            // Training a model shows it (a new β regenerates the data and starts afresh).
            s.show(model, |st| {
                if let (Some(b), Model::Ising) = (beta, model) {
                    st.ising.beta = b;
                }
            });
            s.error = None;
            s.pending.push(TrainRequest { remaining: steps });
            let before = s.trained_steps().unwrap_or(0);
            Ok(Reply::Queued { before })
        }
        Request::Sample(r) => {
            if r.model != Model::Toy1d {
                cell.borrow_mut().show(r.model, |_| {});
            }
            let (data, shape) = match r.model {
                Model::Toy1d => {
                    let x = toy1d::sample(cell, r.n, r.sampler, r.exact, r.seed).await?;
                    (x, vec![r.n])
                }
                Model::Ising => {
                    let x = ising::sample(cell, r.n, Some(r.sampler.steps), r.seed).await?;
                    let data = x.iter().map(|&v| v as f32).collect();
                    (data, vec![r.n, crate::models::ising::lattice::SITES])
                }
                Model::Mnist => {
                    let x =
                        mnist::sample(cell, r.n, r.sampler, r.digit, r.guidance, r.seed).await?;
                    (x, vec![r.n, crate::models::mnist::data::PIXELS])
                }
            };
            let mut s = cell.borrow_mut();
            let steps = s.trained_steps().unwrap_or(0);
            s.last_samples = Some(super::samples::Samples {
                model: r.model,
                data: data.clone(),
                shape: shape.clone(),
                names: None,
                steps,
            });
            Ok(Reply::Samples { data, shape })
        }
        Request::Export => export(cell).await.map(|(bytes, name)| Reply::Weights {
            bytes,
            name: name.into(),
        }),
        Request::Import { bytes, origin } => {
            import(cell, &bytes, &origin).map(|message| Reply::Loaded { message })
        }
    }
}
