//! The threaded module's allocator (`difflab::arena`, one dlmalloc heap per thread) under the
//! traffic the page gives it: threads allocating blocks of every size and alignment, writing
//! them, and freeing each other's blocks (a gradient made in one half of a split step is
//! dropped by the other thread). Natively dlmalloc takes its memory with `mmap` instead of
//! `memory.grow`; the heaps, their locks and the headers are the same code.

use difflab::arena::{PerThreadHeaps, HEAPS};
use std::alloc::{GlobalAlloc, Layout};
use std::sync::mpsc;

static ARENA: PerThreadHeaps = PerThreadHeaps::new();

/// A block and the byte it was filled with (a raw pointer that may cross threads).
struct Block(*mut u8, Layout, u8);
unsafe impl Send for Block {}

fn check(b: &Block) {
    let Block(ptr, layout, fill) = *b;
    assert_eq!(ptr as usize % layout.align(), 0, "{layout:?} misaligned");
    // SAFETY: `ptr` is a live block of `layout.size()` bytes written with `fill`.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
    assert!(bytes.iter().all(|&v| v == fill), "{layout:?}: overwritten");
}

/// Sizes from one byte to a large tensor's, alignments from 1 to a page.
fn layout(k: usize) -> Layout {
    let sizes = [1, 7, 16, 100, 4096, 65_536, 300_000, 1 << 21];
    let aligns = [1, 2, 8, 16, 32, 64, 4096];
    Layout::from_size_align(
        sizes[k % sizes.len()] + k % 13,
        aligns[(k / 3) % aligns.len()],
    )
    .unwrap()
}

#[test]
fn blocks_are_aligned_zeroed_when_asked_and_kept_apart() {
    let mut live = Vec::new();
    for k in 0..200 {
        let l = layout(k);
        let zeroed = k % 2 == 0;
        // SAFETY: a non-zero size; every block is freed below with its layout.
        let ptr = unsafe {
            if zeroed {
                ARENA.alloc_zeroed(l)
            } else {
                ARENA.alloc(l)
            }
        };
        assert!(!ptr.is_null());
        if zeroed {
            check(&Block(ptr, l, 0));
        }
        let fill = (k % 251) as u8 + 1;
        // SAFETY: the block holds `l.size()` bytes.
        unsafe { std::ptr::write_bytes(ptr, fill, l.size()) };
        live.push(Block(ptr, l, fill));
    }
    // Writing every block left every other block as it was.
    for b in &live {
        check(b);
        // SAFETY: allocated above with this layout.
        unsafe { ARENA.dealloc(b.0, b.1) };
    }
}

#[test]
fn threads_free_each_others_blocks() {
    // More threads than heaps, so that some share one; each hands every other block it makes
    // to the next thread, which checks and frees it while making its own.
    let threads = HEAPS + 4;
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..threads).map(|_| mpsc::channel()).unzip();
    std::thread::scope(|s| {
        for (t, rx) in receivers.into_iter().enumerate() {
            let next: mpsc::Sender<Block> = senders[(t + 1) % threads].clone();
            s.spawn(move || {
                let mut mine = Vec::new();
                for k in 0..400 {
                    let l = layout(k * 7 + t);
                    // SAFETY: a non-zero size; freed below or by the next thread.
                    let ptr = unsafe { ARENA.alloc(l) };
                    assert!(!ptr.is_null());
                    let fill = ((t * 31 + k) % 251) as u8 + 1;
                    unsafe { std::ptr::write_bytes(ptr, fill, l.size()) };
                    let b = Block(ptr, l, fill);
                    if k % 2 == 0 {
                        next.send(b).unwrap();
                    } else {
                        mine.push(b);
                    }
                    while let Ok(theirs) = rx.try_recv() {
                        check(&theirs);
                        unsafe { ARENA.dealloc(theirs.0, theirs.1) };
                    }
                }
                drop(next);
                for b in mine {
                    check(&b);
                    unsafe { ARENA.dealloc(b.0, b.1) };
                }
                // What is still on its way from the previous thread.
                for theirs in rx {
                    check(&theirs);
                    unsafe { ARENA.dealloc(theirs.0, theirs.1) };
                }
            });
        }
        drop(senders);
    });
}
