//! What the real process has used: CPU time (`getrusage`), the heap the
//! allocator holds (glibc's `mallinfo2`, since replsim uses the system
//! allocator) and the resident set (`/proc/self/statm`). Only `replsim
//! serve` asks: a simulation's process holds every node at once.

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

/// Bytes in use in the allocator's arenas and its mmapped blocks.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn heap_bytes() -> u64 {
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    let info = unsafe { libc::mallinfo2() };
    (info.uordblks + info.hblkhd) as u64
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn heap_bytes() -> u64 {
    0
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
