//! What the real process has used: CPU time (`getrusage`), the bytes it
//! has allocated (counted by the process's global allocator, a thin layer
//! over the system allocator, as Redis counts through zmalloc) and the
//! resident set (`/proc/self/statm`). Only `replsim serve` asks: a
//! simulation's process holds every node at once.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::ProcessUsage;

/// The process's usage now, as far as the platform tells.
pub fn process_usage() -> ProcessUsage {
    let mut usage = ProcessUsage::default();
    // SAFETY: getrusage fills the zeroed struct it is given.
    let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut rusage) } == 0 {
        let time = |tv: libc::timeval| {
            Duration::from_secs(tv.tv_sec.max(0) as u64)
                + Duration::from_micros(tv.tv_usec.max(0) as u64)
        };
        usage.cpu_user = time(rusage.ru_utime);
        usage.cpu_sys = time(rusage.ru_stime);
    }
    usage.heap_bytes = heap_bytes();
    usage.rss_bytes = rss_bytes().unwrap_or(0);
    usage
}

/// The system allocator, counting the bytes it hands out: `maxmemory`
/// needs the process's memory on every command, which a counter gives for
/// one atomic add per allocation where asking the allocator (glibc's
/// `mallinfo2` walks its free lists) would cost a walk per command.
pub struct CountingAllocator;

static ALLOCATED: AtomicU64 = AtomicU64::new(0);

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

// SAFETY: every call is forwarded to the system allocator unchanged; the
// counter only observes the sizes.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = System.alloc_zeroed(layout);
        if !ptr.is_null() {
            ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        ALLOCATED.fetch_sub(layout.size() as u64, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = System.realloc(ptr, layout, new_size);
        if !new.is_null() {
            ALLOCATED.fetch_add(new_size as u64, Ordering::Relaxed);
            ALLOCATED.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        }
        new
    }
}

/// The bytes the process has allocated and not freed.
pub fn allocated_bytes() -> u64 {
    ALLOCATED.load(Ordering::Relaxed)
}

fn heap_bytes() -> u64 {
    allocated_bytes()
}

/// The resident set size, from the second field of `/proc/self/statm`
/// (in pages).
fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Some(pages * page.max(0) as u64)
}
