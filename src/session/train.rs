//! One training chunk, the same for every model: run steps for a time budget (or a queued number
//! on WebGPU), read the loss back once, and settle it by the shared divergence rule.

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::{stop_diverged, Cell, Chunk, Session};
use crate::models::live::Live;
use crate::pacing::run_steps;
use crate::run::{diverged_message, read_loss, settle, Join, Training};

/// How the session reaches one model's training.
pub trait Trains {
    /// Send, with data that is Sync: its steps may run on a pool thread (`pacing::OnPool`).
    type Trainer: Training<Data: Sync> + Send;
    type Views;
    /// The model's name in messages ("{NAME} training diverged").
    const NAME: &'static str;
    /// On the CPU without a second thread, whether a step takes its batch as two halves one
    /// after the other ([`ONE_AFTER_THE_OTHER`]) rather than in one pass: the same step (to
    /// rounding), faster where a half's activations stay in cache.
    const HALVES_ON_ONE_THREAD: bool = false;
    /// The model's live training state (`None` where the model does not exist yet).
    fn live(s: &mut Session) -> Option<&mut Live<Self::Trainer, Self::Views>>;
    /// What its steps draw batches from (`None` before the model has data).
    fn data(s: &mut Session) -> Option<<Self::Trainer as Training>::Data>;
    /// A fresh network, for a run that diverged before any weights were good.
    fn fresh(s: &mut Session) -> Self::Trainer;
    /// The learning rate the settings give it.
    fn learning_rate(s: &Session) -> f64;
    /// A network of the same shape on the CPU, for reading the weights back into.
    fn cpu_twin(t: &Self::Trainer) -> <Self::Trainer as Training>::Net;
    /// What encodes the weights file of `t`'s network once it is read back (its settings and
    /// step count taken now, while the trainer is at hand).
    fn encoder(t: &Self::Trainer) -> Encoder<<Self::Trainer as Training>::Net>;
}

/// The split step's two halves run one after the other on this thread.
const ONE_AFTER_THE_OTHER: Join = |a, b| {
    a();
    b();
};

/// Encodes a weights file from the CPU copy of a network.
pub type Encoder<N> = Box<dyn FnOnce(&N) -> Result<Vec<u8>, String>>;

/// `M`'s network (its weight average) as a weights file, read back asynchronously into a CPU
/// copy first (so on WebGPU too).
pub async fn export<M: Trains>(cell: &Cell) -> Result<Vec<u8>, String> {
    let (net, twin, encode) = {
        let mut s = cell.borrow_mut();
        let live = M::live(&mut s).ok_or("no network yet")?;
        let t = live
            .trainer
            .as_ref()
            .ok_or("the trainer is busy; try again")?;
        (t.inference_net(), M::cpu_twin(t), M::encoder(t))
    };
    encode(&crate::weights::to_cpu(&net, twin).await?)
}

/// The loss of `M`'s network when it arrived trained and has none on record
/// ([`crate::models::live::Live::loss_due`]): measured on one batch of its own (a fixed random
/// stream; the training batches' is left alone) and recorded at its step, so the header and
/// the loss curve start from the loaded network rather than "–". A failed read records nothing.
pub async fn loaded_loss<M: Trains>(cell: &Cell) {
    let (loss, generation, steps) = {
        let mut s = cell.borrow_mut();
        let Some(data) = M::data(&mut s) else {
            return;
        };
        let Some(live) = M::live(&mut s) else {
            return;
        };
        if !live.loss_due {
            return;
        }
        let Some(t) = live.trainer.as_ref() else {
            return;
        };
        live.loss_due = false;
        let mut rng = StdRng::seed_from_u64(0x10ad_1055);
        (t.sample_loss(&data, &mut rng), live.generation, t.steps())
    };
    let loss = read_loss(loss).await;
    let mut s = cell.borrow_mut();
    if let Some(live) = M::live(&mut s) {
        if live.generation == generation && live.losses.is_empty() && loss.is_finite() {
            live.losses.push((steps, loss));
            s.dirty = true;
        }
    }
}

/// `M`'s training steps for about `budget_ms` (at most `max_steps`), one loss read-back,
/// settled by [`settle`]: a diverged run goes back to its last good weights (fresh ones when
/// none were good), pauses and says why.
pub async fn chunk<M: Trains>(cell: &Cell, max_steps: u64, budget_ms: f64) -> Chunk {
    let (mut trainer, data, gen, gpu, clock, on_pool, join) = {
        let mut s = cell.borrow_mut();
        let (clock, on_pool, join) = (s.clock, s.on_pool, s.join);
        let Some(data) = M::data(&mut s) else {
            return Chunk::Idle;
        };
        let Some(live) = M::live(&mut s) else {
            return Chunk::Idle;
        };
        let (pace, gen) = (live.pace, live.generation);
        let Some(t) = live.trainer.take() else {
            return Chunk::Idle;
        };
        (t, data, gen, s.gpu_steps(pace), clock, on_pool, join)
    };
    // The weights this chunk starts from: good once a loss computed during the chunk is sane.
    let candidate = trainer.checkpoint();
    if trainer.steps() == 0 && trainer.run().reference_loss.is_none() {
        // The untrained network's loss, on a batch of its own (the training batches' random
        // stream is left alone): the yardstick for "sane" weights.
        let mut rng = StdRng::seed_from_u64(0x5eed_1055);
        let reference = read_loss(trainer.sample_loss(&data, &mut rng)).await;
        trainer.parts().1.reference_loss = Some(reference);
    }
    let join = match join {
        None if gpu.is_none() && M::HALVES_ON_ONE_THREAD => Some(ONE_AFTER_THE_OTHER),
        join => join,
    };
    let (ran, loss, elapsed) =
        run_steps(clock, gpu, max_steps, budget_ms, on_pool, || match join {
            Some(join) => trainer.train_step_split(&data, join),
            None => trainer.train_step(&data),
        })
        .await;
    let mut s = cell.borrow_mut();
    let Some(live) = M::live(&mut s) else {
        return Chunk::Idle;
    };
    if live.generation != gen {
        return Chunk::Idle; // the settings replaced this network meanwhile
    }
    live.pace.update(ran, elapsed, budget_ms, gpu.is_some());
    live.refresh.trained(elapsed);
    let outcome = match settle(&mut trainer, candidate, &mut live.losses, loss) {
        Ok(()) => Chunk::Ran { steps: ran },
        Err(restored) => {
            if restored.is_none() {
                trainer = M::fresh(&mut s);
            }
            let message = diverged_message(
                M::NAME,
                loss,
                trainer.run().reference_loss,
                M::learning_rate(&s),
                restored.unwrap_or(0),
            );
            stop_diverged(&mut s, message)
        }
    };
    if let Some(live) = M::live(&mut s) {
        live.put_back(trainer);
    }
    s.dirty = true;
    outcome
}
