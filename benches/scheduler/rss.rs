//! Resident memory of this process, from `/proc/self/status`.
//!
//! `VmHWM` is the peak resident set so far; writing `5` to `/proc/self/clear_refs` (Linux 4.0
//! and later) resets it to the current resident set, so a peak can be taken over one phase.

use std::fs;

/// Reads a `kB` field of `/proc/self/status`, in bytes.
fn status_field(field: &str) -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    let kib: u64 = line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// The current resident set in bytes, or 0 where `/proc` is missing.
pub fn current() -> u64 {
    status_field("VmRSS:").unwrap_or(0)
}

/// The peak resident set in bytes, or 0 where `/proc` is missing.
pub fn peak() -> u64 {
    status_field("VmHWM:").unwrap_or(0)
}

/// Resets the peak to the current resident set; false when the kernel does not allow it.
pub fn reset_peak() -> bool {
    fs::write("/proc/self/clear_refs", "5").is_ok()
}
