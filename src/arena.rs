//! The threaded module's memory allocator: one dlmalloc heap per thread instead of the standard
//! library's single heap behind one spin lock.
//!
//! Measured in the page (this 2-core machine, Ising at its defaults, two threads, `lab.train`
//! of 600 steps): the two halves of a data-parallel step took 6.3–6.9 ms together where one
//! half alone takes ~5 ms, and every tensor burn's CPU backend makes or drops went through that
//! one lock. With a heap per thread the halves take 6.0–6.1 ms and a step 6.7–6.8 ms instead
//! of 7.6 (one thread: 9.6). The likeliest cause of what is left is burn-autodiff's one global
//! graph registry (`runtime/graph.rs`: a `parking_lot` mutex taken by every operation either
//! half records; not measured apart).
//!
//! Each thread allocates from its own heap (chosen on its first allocation; threads beyond
//! `HEAPS` share them round-robin); a block remembers its heap in a small header, so a block freed by another thread (a gradient made in one half and summed after
//! the join) goes back to its own heap, under that heap's lock. The heaps take memory with
//! `memory.grow` (dlmalloc's wasm system allocator), which is atomic. It compiles on every target
//! (natively dlmalloc takes memory with `mmap`), so `tests/arena.rs` tests it natively with
//! threads allocating and freeing each other's blocks; only the threaded module installs it.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::{Cell, UnsafeCell};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Heaps; threads beyond this many share them round-robin.
pub const HEAPS: usize = 16;
/// Bytes before each block that name its heap (and keep the block aligned to 16).
const HEADER: usize = 16;

struct Heap {
    locked: AtomicBool,
    heap: UnsafeCell<dlmalloc::Dlmalloc>,
}

impl Heap {
    const fn new() -> Heap {
        Heap {
            locked: AtomicBool::new(false),
            heap: UnsafeCell::new(dlmalloc::Dlmalloc::new()),
        }
    }

    /// Runs `f` on the heap under its lock (test and test-and-set: a waiting thread reads the
    /// flag instead of writing it, so the holder's cache line stays put).
    fn with<R>(&self, f: impl FnOnce(&mut dlmalloc::Dlmalloc) -> R) -> R {
        loop {
            if !self.locked.swap(true, Ordering::Acquire) {
                break;
            }
            while self.locked.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        }
        // SAFETY: the lock above gives this thread the heap alone until it is released below.
        let r = f(unsafe { &mut *self.heap.get() });
        self.locked.store(false, Ordering::Release);
        r
    }
}

// SAFETY: a heap is only reached through `Heap::with`, which holds its lock.
unsafe impl Sync for Heap {}

/// One heap per thread (up to `HEAPS`), a `GlobalAlloc`.
pub struct PerThreadHeaps {
    heaps: [Heap; HEAPS],
    next: AtomicUsize,
}

thread_local! {
    static MINE: Cell<usize> = const { Cell::new(usize::MAX) };
}

impl Default for PerThreadHeaps {
    fn default() -> Self {
        PerThreadHeaps::new()
    }
}

impl PerThreadHeaps {
    /// Empty heaps (a `const`, for a `static` global allocator).
    pub const fn new() -> PerThreadHeaps {
        PerThreadHeaps {
            heaps: [const { Heap::new() }; HEAPS],
            next: AtomicUsize::new(0),
        }
    }

    /// This thread's heap (assigned on its first allocation).
    fn mine(&self) -> usize {
        MINE.with(|m| {
            if m.get() == usize::MAX {
                m.set(self.next.fetch_add(1, Ordering::Relaxed) % HEAPS);
            }
            m.get()
        })
    }

    /// A block for `layout` from this thread's heap (`zeroed`: cleared), its heap's index
    /// written in the header in front of the caller's part.
    fn take(&self, layout: Layout, zeroed: bool) -> *mut u8 {
        let k = self.mine();
        let (size, align) = Self::outer(layout);
        let base = self.heaps[k].with(|h| unsafe {
            if zeroed {
                h.calloc(size, align)
            } else {
                h.malloc(size, align)
            }
        });
        if base.is_null() {
            return base;
        }
        // SAFETY: the block has `align` (≥ 16) bytes before the caller's part; the header's
        // word sits right before it.
        unsafe {
            let ptr = base.add(align);
            (ptr as *mut usize).sub(1).write(k);
            ptr
        }
    }

    /// The block's size and alignment with its header in front.
    fn outer(layout: Layout) -> (usize, usize) {
        let align = layout.align().max(HEADER);
        (layout.size() + align, align)
    }
}

unsafe impl GlobalAlloc for PerThreadHeaps {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.take(layout, false)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.take(layout, true)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let (size, align) = Self::outer(layout);
        // SAFETY: `ptr` came from `alloc` with this layout: its heap's index is in the word
        // before it, its block starts `align` bytes before it.
        unsafe {
            let k = (ptr as *const usize).sub(1).read();
            let base = ptr.sub(align);
            self.heaps[k].with(|h| h.free(base, size, align));
        }
    }
}
