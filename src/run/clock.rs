//! The clock of task timestamps: the CPU's time-stamp counter where it is invariant (about
//! 11 ns a read on the machines we measure), the monotonic clock elsewhere (about 28 ns).
//! A run keeps raw ticks and converts them to nanoseconds only when a report reads them, so
//! that ending a task costs one read and no arithmetic.

use once_cell::sync::Lazy;

/// Calibrated once per process, on first use.
static CLOCK: Lazy<quanta::Clock> = Lazy::new(quanta::Clock::new);

/// A raw reading; only differences of readings mean anything.
pub(crate) fn raw() -> u64 {
    CLOCK.raw()
}

/// Nanoseconds from reading `start` to reading `end` (zero if `end` is not later).
fn nanos_between(start: u64, end: u64) -> u64 {
    CLOCK.delta_as_nanos(start, end)
}

/// Nanoseconds in `ticks` (a difference of readings).
pub(crate) fn nanos(ticks: u64) -> u64 {
    nanos_between(0, ticks)
}

/// About how many ticks `nanos` nanoseconds take.
pub(crate) fn ticks(nanos: u64) -> u64 {
    const PROBE: u64 = 1 << 32;
    let probe_nanos = nanos_between(0, PROBE).max(1);
    (u128::from(nanos) * u128::from(PROBE) / u128::from(probe_nanos)) as u64
}
