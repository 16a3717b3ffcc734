//! A partner thread for a training chunk's split steps: a thread of the pool that stays with
//! the chunk and waits for each step's second half by spinning, instead of going back to the
//! pool to sleep and being woken for every step.
//!
//! Why: a data-parallel step ([`crate::run::Run::descend_split`]) hands its second half to
//! another thread through `join`; between two steps that thread has nothing to do while the
//! first one sums the halves' gradients and takes the optimizer step. Through rayon's own
//! `join` it falls asleep there, and the next step wakes it: in the page (wasm threads) that
//! wake is a `memory.atomic.notify` and a worker's wake-up, and the half starts late. Measured
//! with `tests/browser/profile.mjs` (Ising at its defaults, two threads, 600 steps): rayon's
//! sleep and wake paths (`Sleep::wake_any_threads`, its condition variable, the lock latch)
//! took 0.46 ms of working time per 4.9 ms step, and the two pool threads were busy 61% and
//! 77% of the time.
//!
//! How: [`with_partner`] runs a chunk's steps on this thread and [`Partner::serve`] on
//! another (through the pool's `join`: the pool's idle thread takes it). While the chunk
//! runs, [`hand_over`] gives a step's second half to the partner: it is written in a slot, the
//! partner (spinning on the slot) runs it at once while this thread runs the first half, and
//! this thread waits for it to be done. A partner that has waited longer than `spin_ms` with
//! nothing to do parks (`std::thread::park`, a futex wait in wasm) and is unparked by the next
//! hand-over, so a slow step (MNIST's optimizer) does not keep a core spinning. When the
//! chunk's steps are done the partner is told to stop and returns to the pool.
//!
//! It compiles and is tested natively (`tests` below: `std::thread::scope` as the `join`);
//! only the page's threaded module uses it, with rayon.

use std::cell::{Cell, UnsafeCell};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::*};
use std::sync::OnceLock;
use std::thread::Thread;

use crate::pacing::Clock;

/// The slot is empty.
const IDLE: u32 = 0;
/// A half is in the slot for the partner to run.
const POSTED: u32 = 1;
/// The partner has run it.
const DONE: u32 = 2;
/// The chunk is over: the partner returns.
const STOP: u32 = 3;

/// A job: a half-step borrowed from the thread that handed it over, which waits for it.
type Job = *mut (dyn FnMut() + Send + 'static);

/// The slot between the chunk's thread and its partner.
pub struct Partner {
    state: AtomicU32,
    job: UnsafeCell<Option<Job>>,
    /// The partner has started serving (until then a hand-over runs both halves here).
    serving: AtomicBool,
    /// The partner's half panicked (natively; in wasm a panic aborts).
    panicked: AtomicBool,
    /// Each thread, and whether it is parked (or about to be): who must be unparked.
    partner: OnceLock<Thread>,
    partner_parked: AtomicBool,
    owner: OnceLock<Thread>,
    owner_parked: AtomicBool,
    clock: Clock,
    spin_ms: f64,
    /// Work a waiting thread may do meanwhile (the pool's pending jobs); `true` if it did some.
    help: fn() -> bool,
}

// SAFETY: `job` is written by the owner only while the state is IDLE (the partner does not
// read it then) and read by the partner only after it has seen POSTED (Acquire after the
// owner's SeqCst store); the owner waits for DONE before the job's borrow ends.
unsafe impl Sync for Partner {}

thread_local! {
    /// The partner of the chunk that this thread is running, if any.
    static CURRENT: Cell<*const Partner> = const { Cell::new(std::ptr::null()) };
}

/// Runs `steps` on this thread with a partner serving on another for as long as it runs.
/// `join` must run its first closure on the calling thread and the second on another thread
/// when one is free, or after the first (rayon's `join` does both); the partner stops when
/// `steps` returns. A waiting thread calls `help` (the pool's pending jobs: the other half's
/// parallel operations) and otherwise spins, for at most `spin_ms` (by `clock`) without work
/// before it parks.
pub fn with_partner(
    join: impl FnOnce(&mut (dyn FnMut() + Send), &mut (dyn FnMut() + Send)),
    clock: Clock,
    spin_ms: f64,
    help: fn() -> bool,
    steps: &mut (dyn FnMut() + Send),
) {
    let partner = Partner {
        state: AtomicU32::new(IDLE),
        job: UnsafeCell::new(None),
        serving: AtomicBool::new(false),
        panicked: AtomicBool::new(false),
        partner: OnceLock::new(),
        partner_parked: AtomicBool::new(false),
        owner: OnceLock::new(),
        owner_parked: AtomicBool::new(false),
        clock,
        spin_ms,
        help,
    };
    let p = &partner;
    join(
        &mut || {
            let _ = p.owner.set(std::thread::current());
            let previous = CURRENT.with(|c| c.replace(p));
            // Reset and stop even if a step panics (natively), so the partner returns.
            struct Finish<'a>(&'a Partner, *const Partner);
            impl Drop for Finish<'_> {
                fn drop(&mut self) {
                    CURRENT.with(|c| c.set(self.1));
                    self.0.state.store(STOP, SeqCst);
                    self.0.wake(&self.0.partner_parked, &self.0.partner);
                }
            }
            let _finish = Finish(p, previous);
            steps();
        },
        &mut || p.serve(),
    );
}

/// Hands `b` to the partner of the chunk this thread runs and runs `a` here meanwhile;
/// returns when both are done. Returns `false` without running either when this thread has no
/// partner serving (outside [`with_partner`], or before the partner has started): the caller
/// joins them its own way.
pub fn hand_over(a: &mut (dyn FnMut() + Send), b: &mut (dyn FnMut() + Send)) -> bool {
    let p = CURRENT.with(|c| c.get());
    if p.is_null() {
        return false;
    }
    // SAFETY: CURRENT points at the `Partner` of the `with_partner` call running on this
    // thread, which outlives the steps that call this (it is reset before that call returns).
    let p = unsafe { &*p };
    if !p.serving.load(Acquire) {
        return false;
    }
    debug_assert_eq!(p.state.load(Relaxed), IDLE);
    // SAFETY: the borrow `b` outlives the job: this function waits for DONE below before it
    // returns, and the partner does not touch the job after DONE. Only the lifetime is erased.
    let job: Job = unsafe {
        std::mem::transmute::<*mut (dyn FnMut() + Send + '_), Job>(b as *mut (dyn FnMut() + Send))
    };
    // SAFETY: the state is IDLE: the partner does not read the slot until it sees POSTED.
    unsafe { *p.job.get() = Some(job) };
    p.state.store(POSTED, SeqCst);
    p.wake(&p.partner_parked, &p.partner);
    a();
    p.wait_for(|s| s == DONE, &p.owner_parked);
    // SAFETY: the partner is done with the job (DONE) and reads the slot only after POSTED.
    unsafe { *p.job.get() = None };
    p.state.store(IDLE, SeqCst);
    if p.panicked.load(SeqCst) {
        panic!("the other half of a split training step panicked");
    }
    true
}

impl Partner {
    /// The partner's side: runs what is handed over until the chunk stops.
    fn serve(&self) {
        let _ = self.partner.set(std::thread::current());
        self.serving.store(true, SeqCst);
        loop {
            self.wait_for(|s| s == POSTED || s == STOP, &self.partner_parked);
            if self.state.load(Acquire) == STOP {
                return;
            }
            // SAFETY: POSTED: the owner wrote the slot before its SeqCst store and waits for
            // DONE before the job's borrow ends.
            let job = unsafe { (*self.job.get()).expect("a posted job") };
            struct Done<'a>(&'a Partner);
            impl Drop for Done<'_> {
                fn drop(&mut self) {
                    if std::thread::panicking() {
                        self.0.panicked.store(true, SeqCst);
                    }
                    self.0.state.store(DONE, SeqCst);
                    self.0.wake(&self.0.owner_parked, &self.0.owner);
                }
            }
            let done = Done(self);
            // SAFETY: see above; only this thread runs the job, once.
            unsafe { (*job)() };
            drop(done);
        }
    }

    /// Waits until `ready(state)`: helping or spinning for up to `spin_ms` without work, then
    /// parked (`parked` says so, for whoever changes the state next to unpark this thread).
    fn wait_for(&self, ready: impl Fn(u32) -> bool, parked: &AtomicBool) {
        let mut since = None;
        let mut spins = 0u32;
        loop {
            if ready(self.state.load(Acquire)) {
                return;
            }
            if (self.help)() {
                since = None;
                continue;
            }
            spins = spins.wrapping_add(1);
            if spins.is_multiple_of(256) {
                let now = (self.clock)();
                if now - *since.get_or_insert(now) > self.spin_ms {
                    // Say so before the last look at the state (SeqCst both sides: either the
                    // waker sees `parked` and unparks, or this thread sees the new state).
                    parked.store(true, SeqCst);
                    while !ready(self.state.load(SeqCst)) {
                        std::thread::park();
                    }
                    parked.store(false, SeqCst);
                    return;
                }
            }
            std::hint::spin_loop();
        }
    }

    /// Unparks `thread` when it is parked (or about to park) waiting on the state.
    fn wake(&self, parked: &AtomicBool, thread: &OnceLock<Thread>) {
        if parked.load(SeqCst) {
            if let Some(t) = thread.get() {
                t.unpark();
            }
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn scoped_join(a: &mut (dyn FnMut() + Send), b: &mut (dyn FnMut() + Send)) {
        std::thread::scope(|s| {
            s.spawn(|| b());
            a();
        });
    }

    /// Every half runs exactly once, on the partner's thread once it serves (every hand-over
    /// from then on), and each hand-over returns only after both halves are done; with spin
    /// times from none (every wait parks) to long.
    #[test]
    fn halves_run_once_each_on_two_threads() {
        for spin_ms in [0.0, 0.05, 5.0] {
            let (ran_a, ran_b) = (AtomicUsize::new(0), AtomicUsize::new(0));
            let elsewhere = AtomicUsize::new(0);
            let mut handed = 0;
            let me = std::thread::current().id();
            static HELPS: AtomicUsize = AtomicUsize::new(0);
            HELPS.store(0, SeqCst);
            let help = || {
                HELPS.fetch_add(1, SeqCst);
                false
            };
            with_partner(
                scoped_join,
                crate::pacing::native_clock,
                spin_ms,
                help,
                &mut || {
                    // Until the partner serves, a hand-over declines (the spawned thread starts).
                    while !hand_over(&mut || {}, &mut || {}) {
                        std::thread::yield_now();
                    }
                    for step in 0..2000 {
                        let (mut a_done, mut b_done) = (false, false);
                        let mut a = || {
                            ran_a.fetch_add(1, SeqCst);
                            a_done = true;
                        };
                        let mut b = || {
                            ran_b.fetch_add(1, SeqCst);
                            if std::thread::current().id() != me {
                                elsewhere.fetch_add(1, SeqCst);
                            }
                            b_done = true;
                            if step % 100 == 0 {
                                std::thread::sleep(std::time::Duration::from_micros(200));
                            }
                        };
                        if hand_over(&mut a, &mut b) {
                            handed += 1;
                        } else {
                            a();
                            b();
                        }
                        assert!(a_done && b_done, "step {step}: a hand-over returned early");
                        // Serial work between steps, longer than the spin now and then.
                        if step % 300 == 0 {
                            std::thread::sleep(std::time::Duration::from_millis(2));
                        }
                    }
                },
            );
            assert_eq!(ran_a.load(SeqCst), 2000);
            assert_eq!(ran_b.load(SeqCst), 2000);
            assert_eq!(elsewhere.load(SeqCst), handed, "spin {spin_ms}");
            // Once it serves, the partner takes every half, however long it was parked.
            assert_eq!(handed, 2000, "spin {spin_ms}");
            // A waiting thread offers to help (a half of 200 µs keeps the other waiting).
            assert!(
                HELPS.load(SeqCst) > 0,
                "spin {spin_ms}: no thread offered to help"
            );
        }
    }

    /// Outside a chunk there is no partner: nothing runs, the caller joins its own way.
    #[test]
    fn no_partner_outside_a_chunk() {
        let (mut ran_a, mut ran_b) = (false, false);
        assert!(!hand_over(&mut || ran_a = true, &mut || ran_b = true));
        assert!(!ran_a && !ran_b);
    }

    /// The partner returns when the steps end, even when it never got a half (and when it
    /// starts only after them: a join that runs its second closure afterwards).
    #[test]
    fn the_partner_stops_with_the_chunk() {
        with_partner(
            scoped_join,
            crate::pacing::native_clock,
            0.1,
            || false,
            &mut || {},
        );
        let sequential = |a: &mut (dyn FnMut() + Send), b: &mut (dyn FnMut() + Send)| {
            a();
            b();
        };
        let mut handed = false;
        with_partner(
            sequential,
            crate::pacing::native_clock,
            0.1,
            || false,
            &mut || {
                handed = hand_over(&mut || {}, &mut || {});
            },
        );
        assert!(!handed, "no partner was serving yet");
    }

    /// A panic in the partner's half comes back to the chunk's thread (natively).
    #[test]
    fn a_panicking_half_panics_the_step() {
        let result = std::panic::catch_unwind(|| {
            with_partner(
                scoped_join,
                crate::pacing::native_clock,
                1.0,
                || false,
                &mut || {
                    // Wait until the partner serves, then hand it a half that panics.
                    while !hand_over(&mut || {}, &mut || {}) {
                        std::thread::yield_now();
                    }
                    hand_over(&mut || {}, &mut || panic!("half"));
                },
            );
        });
        assert!(result.is_err());
    }
}
