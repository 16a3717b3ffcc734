//! The lab core's policies that are the same for every model: how many steps a chunk runs, how
//! fast training goes, when the learned views are due again. Plain Rust with an injected clock,
//! so the page (the browser's `performance.now`) and native tests (a monotonic clock) run the
//! same code.

use burn::prelude::*;

/// Milliseconds since some fixed origin.
pub type Clock = fn() -> f64;

/// A monotonic clock for native code (the page passes `performance.now`).
#[cfg(not(target_arch = "wasm32"))]
pub fn native_clock() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e3
}

/// How one model's training loop paces itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pace {
    /// Smoothed training speed.
    pub steps_per_sec: f64,
    /// Steps queued per chunk on WebGPU (adapted to the chunk's time budget).
    pub gpu_steps_per_chunk: u64,
    /// The most steps a WebGPU chunk queues.
    pub max_gpu_steps: u64,
}

impl Pace {
    /// A model's pace, starting with `gpu_steps` queued per WebGPU chunk, at most `max_gpu_steps`.
    pub fn new(gpu_steps: u64, max_gpu_steps: u64) -> Pace {
        Pace {
            steps_per_sec: 0.0,
            gpu_steps_per_chunk: gpu_steps,
            max_gpu_steps,
        }
    }

    /// After a chunk of `ran` steps that took `elapsed` ms: updates the smoothed steps/s and, on
    /// WebGPU, the steps to queue per chunk (aiming at `budget_ms`).
    pub fn update(&mut self, ran: u64, elapsed: f64, budget_ms: f64, gpu: bool) {
        if gpu {
            // Queue more steps when the GPU keeps up.
            let per_step = elapsed / ran.max(1) as f64;
            self.gpu_steps_per_chunk =
                ((budget_ms / per_step.max(0.05)) as u64).clamp(1, self.max_gpu_steps);
        }
        if ran > 0 {
            let rate = ran as f64 / (elapsed / 1000.0).max(1e-6);
            self.steps_per_sec = if self.steps_per_sec == 0.0 {
                rate
            } else {
                0.8 * self.steps_per_sec + 0.2 * rate
            };
        }
    }
}

/// Runs `step` (one training step, returning its loss unread) for about `budget_ms` on the CPU,
/// or `gpu_steps` queued steps on WebGPU, at most `max_steps`; then reads the last loss once.
/// Returns (steps run, loss, elapsed ms). Every model's chunk runs its steps through it.
pub async fn run_steps(
    clock: Clock,
    gpu: Option<u64>,
    max_steps: u64,
    budget_ms: f64,
    mut step: impl FnMut() -> Tensor<1>,
) -> (u64, f64, f64) {
    let started = clock();
    let mut ran = 0u64;
    let mut loss_tensor = None;
    let limit = gpu.map_or(max_steps, |k| k.min(max_steps));
    while ran < limit {
        loss_tensor = Some(step());
        ran += 1;
        if gpu.is_none() && clock() - started > budget_ms {
            break;
        }
    }
    let loss = match loss_tensor {
        Some(l) => crate::run::read_loss(l).await,
        None => f64::NAN,
    };
    (ran, loss, clock() - started)
}
