//! The policies that are the same for every model: how many steps a chunk runs, how fast
//! training goes, when the learned views are due again. Plain Rust with an injected clock, so the
//! page (the browser's `performance.now`) and native tests (a monotonic clock) run the same code.

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

/// Where the synchronous part of a chunk (its training steps) runs: `None`, on the calling
/// thread; `Some(run)`, through `run`. The page's threaded module runs it as one job on the CPU
/// backend's thread pool (`rayon::scope`): the backend's parallel operations are then forked
/// from inside the pool (pushed on a worker's own queue, taken by idle workers) instead of each
/// being injected from outside and waited for. Measured in the page on 2 cores: forked from
/// the outside, every parallel operation paid a worker's wake-up, and the Ising network and the
/// toy's 3×128 bench net trained 20–30% slower on two threads than on one.
pub type OnPool = Option<fn(&mut (dyn FnMut() + Send))>;

/// Runs `step` (one training step, returning its loss unread) for about `budget_ms` on the CPU,
/// or `gpu_steps` queued steps on WebGPU, at most `max_steps`, on the pool `on_pool` names;
/// then reads the last loss once. Returns (steps run, loss, elapsed ms). Every model's chunk
/// runs its steps through it.
pub async fn run_steps(
    clock: Clock,
    gpu: Option<u64>,
    max_steps: u64,
    budget_ms: f64,
    on_pool: OnPool,
    mut step: impl FnMut() -> Tensor<1> + Send,
) -> (u64, f64, f64) {
    let started = clock();
    let mut ran = 0u64;
    let mut loss_tensor = None;
    let limit = gpu.map_or(max_steps, |k| k.min(max_steps));
    let mut steps = || {
        // Timed on the thread that runs the steps: a pool thread's clock (a worker's
        // `performance.now()`) has an origin of its own.
        let begun = clock();
        while ran < limit {
            loss_tensor = Some(step());
            ran += 1;
            if gpu.is_none() && clock() - begun > budget_ms {
                break;
            }
        }
    };
    match on_pool {
        Some(run) => run(&mut steps),
        None => steps(),
    }
    let loss = match loss_tensor {
        Some(l) => crate::run::read_loss(l).await,
        None => f64::NAN,
    };
    (ran, loss, clock() - started)
}

/// While the user watches a model train, no learned panel shows a network more than this much
/// training older than the header's: the views refresh before a chunk of training that would
/// take them past it (predicted from the last chunk's length), leaving a quarter of the issue's
/// 2 s for chunks that run long (at 1.8 s the browser test saw 1.94 s on Ising: a chunk longer
/// than the one before it). A model whose single step takes longer cannot keep it.
pub const MAX_LAG_MS: f64 = 1500.0;

/// When a model's learned views (samples drawn from a snapshot of the network) are due again.
/// Sampling costs time that training would otherwise get: while training, a model refreshes at
/// most every `busy_ms` and spends at most about a sixth of the time on it — unless the panels
/// would fall more than [`MAX_LAG_MS`] of training behind, which wins (a model whose views
/// cost more than 0.3 s then spends more than a sixth of its time on them).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Refresh {
    /// Something the views show changed since the last refresh.
    pub dirty: bool,
    /// When the last refresh ended, and what it cost (ms).
    pub last: f64,
    pub cost: f64,
    /// The shortest interval while training.
    pub busy_ms: f64,
    /// While a scripted request (`lab.train`, Step) runs, the caller waits for its steps: views
    /// refresh `scripted_factor` times less often.
    pub scripted_factor: f64,
    /// Training time (ms) since the snapshot the views show, and the last chunk's length.
    pub trained_ms: f64,
    pub chunk_ms: f64,
}

impl Refresh {
    /// A policy refreshing at most every `busy_ms` while training; dirty at first.
    pub fn new(busy_ms: f64, scripted_factor: f64) -> Refresh {
        Refresh {
            dirty: true,
            last: -1e9,
            cost: 0.0,
            busy_ms,
            scripted_factor,
            trained_ms: 0.0,
            chunk_ms: 0.0,
        }
    }

    /// Whether the views are due at `now`: dirty, and the interval since the last refresh is at
    /// least five times its cost (and `busy_ms` while training, 200 ms idle) — or, while the
    /// user watches training, the next chunk would take the panels past [`MAX_LAG_MS`] of
    /// training; or, idle, the views show a network older than the one trained (training has
    /// just stopped: Pause, the end of Step ×100 or of a `lab.train`; `drive::refresh_due`
    /// counts the turn that ran the last chunk as training), whatever the interval —
    /// nothing else needs the time then, and the panels should show what the header's step
    /// says (the interval alone let an MNIST view, ~1 s a refresh, wait up to 5 s). A scripted
    /// request (`lab.train`, whose caller waits for its steps, not the panels) keeps the
    /// interval alone while it runs.
    pub fn due(&self, now: f64, training: bool, scripted: bool) -> bool {
        if !self.dirty {
            return false;
        }
        if scripted {
            return now - self.last > self.scripted_factor * (5.0 * self.cost).max(self.busy_ms);
        }
        if training {
            let behind = self.trained_ms + self.chunk_ms > MAX_LAG_MS;
            return behind || now - self.last > (5.0 * self.cost).max(self.busy_ms);
        }
        self.trained_ms > 0.0 || now - self.last > (5.0 * self.cost).max(200.0)
    }

    /// Records a chunk of training that took `ms`.
    pub fn trained(&mut self, ms: f64) {
        self.trained_ms += ms;
        self.chunk_ms = ms;
    }

    /// Records a refresh that started at `started` and ended at `now` (no training runs during
    /// one: the views show the network as it was when it started).
    pub fn done(&mut self, started: f64, now: f64) {
        self.cost = now - started;
        self.last = now;
        self.trained_ms = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_waits_for_its_interval_and_scales_with_its_cost() {
        let mut r = Refresh::new(1500.0, 1.0);
        assert!(r.due(0.0, true, false), "dirty at first");
        r.done(0.0, 100.0);
        assert!(!r.due(1000.0, true, false), "1.5 s while training");
        assert!(r.due(1700.0, true, false));
        assert!(!r.due(500.0, false, false), "five times its cost idle");
        assert!(r.due(700.0, false, false));
        // Idle after training: at once, whatever the interval.
        r.trained(300.0);
        assert!(
            r.due(150.0, false, false),
            "training stopped: the views catch up"
        );
        assert!(
            !r.due(150.0, true, false),
            "still training: the interval holds"
        );
        assert!(!r.due(150.0, false, true), "a script's steps come first");
        r.done(150.0, 250.0);
        assert!(!r.due(400.0, false, false), "caught up: the interval again");
        r.dirty = false;
        r.trained(300.0);
        assert!(!r.due(1e6, false, false), "nothing changed");
        // A refresh that cost 1 s waits 5 s.
        let mut slow = Refresh::new(1500.0, 1.0);
        slow.done(0.0, 1000.0);
        assert!(!slow.due(5900.0, false, false));
        assert!(slow.due(6100.0, false, false));
        // While the user watches training, a slow refresh (1 s, so five times its cost is 5 s)
        // with a long interval (5 s) is due again before the next chunk would take the panels
        // past MAX_LAG_MS of training: chunks of 0.7 s (an MNIST step) refresh after two...
        let mut watched = Refresh::new(5000.0, 2.0);
        watched.done(0.0, 1000.0);
        watched.trained(700.0);
        assert!(
            !watched.due(1800.0, true, false),
            "0.7 s trained, 0.7 s more is within"
        );
        watched.trained(700.0);
        assert!(
            watched.due(2600.0, true, false),
            "1.4 s trained, 0.7 s more is not"
        );
        assert!(
            !watched.due(2600.0, true, true),
            "a script waits for its steps"
        );
        watched.done(2600.0, 3600.0);
        assert_eq!(watched.trained_ms, 0.0, "the views show the latest network");
        // ...chunks of 1 s after each one, and 30 ms chunks (the toy) after MAX_LAG_MS of them.
        watched.trained(1000.0);
        assert!(watched.due(4700.0, true, false));
        let mut toy = Refresh::new(10_000.0, 1.0);
        toy.done(0.0, 10.0);
        let chunks = (MAX_LAG_MS / 30.0) as usize - 1;
        for _ in 0..chunks {
            toy.trained(30.0);
        }
        assert!(
            !toy.due(MAX_LAG_MS, true, false),
            "MAX_LAG_MS − 30 ms trained, + 30 ms is within"
        );
        toy.trained(30.0);
        assert!(toy.due(MAX_LAG_MS + 30.0, true, false));
        // Scripted requests refresh half as often for a factor of 2.
        let mut s = Refresh::new(5000.0, 2.0);
        s.done(0.0, 0.0);
        assert!(!s.due(9000.0, true, true));
        assert!(s.due(10_100.0, true, true));
    }

    #[test]
    fn pace_smooths_speed_and_sizes_gpu_chunks() {
        let mut p = Pace::new(8, 256);
        p.update(100, 1000.0, 30.0, false);
        assert_eq!(p.steps_per_sec, 100.0);
        p.update(200, 1000.0, 30.0, false);
        assert!((p.steps_per_sec - 120.0).abs() < 1e-9);
        assert_eq!(
            p.gpu_steps_per_chunk, 8,
            "CPU chunks run for their time budget"
        );
        p.update(10, 5.0, 30.0, true);
        assert_eq!(p.gpu_steps_per_chunk, 60, "30 ms at 0.5 ms a step");
        p.update(10, 0.01, 30.0, true);
        assert_eq!(p.gpu_steps_per_chunk, 256, "capped");
    }

    /// The page's threaded module runs a chunk's steps on a pool thread, whose clock (a Web
    /// Worker's `performance.now()`) has an origin of its own: the chunk keeps its time budget
    /// all the same. Each thread here counts from its first reading, and the pool thread starts
    /// 300 ms after this one, so a budget measured across the two would let the chunk run about
    /// 320 steps of 1 ms instead of about 20.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn a_chunk_on_a_pool_thread_keeps_its_time_budget() {
        use std::time::{Duration, Instant};
        thread_local! {
            static ORIGIN: Instant = Instant::now();
        }
        fn per_thread_clock() -> f64 {
            ORIGIN.with(|o| o.elapsed().as_secs_f64() * 1e3)
        }
        let on_pool: OnPool = Some(|steps| {
            std::thread::scope(|s| {
                s.spawn(steps);
            })
        });
        per_thread_clock();
        std::thread::sleep(Duration::from_millis(300));
        let device = Device::flex();
        let (ran, loss, elapsed) = pollster::block_on(run_steps(
            per_thread_clock,
            None,
            100_000,
            20.0,
            on_pool,
            || {
                std::thread::sleep(Duration::from_millis(1));
                Tensor::<1>::from_floats([0.25], &device)
            },
        ));
        assert!((5..100).contains(&ran), "{ran} steps in a 20 ms chunk");
        assert_eq!(loss, 0.25);
        assert!(elapsed >= 20.0 && elapsed < 200.0, "{elapsed} ms");
    }
}

/// What long computations await between their pieces: in the page, a task that lets the browser
/// paint and take input (sampling never freezes it); natively, nothing.
pub type Pause = std::rc::Rc<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>>;

/// A pause that returns at once (native runs and tests).
pub fn no_pause() -> Pause {
    std::rc::Rc::new(|| Box::pin(std::future::ready(())))
}
