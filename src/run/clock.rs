//! The clock of task timestamps: the CPU's time-stamp counter where it is invariant (a few ns
//! a read), the monotonic clock elsewhere. A `clock_gettime` costs about 25 ns on the machines
//! we measure, and every task reads the clock twice.

use once_cell::sync::Lazy;

/// Calibrated once per process, on first use.
static CLOCK: Lazy<quanta::Clock> = Lazy::new(quanta::Clock::new);

/// A raw reading; only differences of readings mean anything.
pub(crate) fn raw() -> u64 {
    CLOCK.raw()
}

/// Nanoseconds from reading `start` to reading `end` (zero if `end` is not later).
pub(crate) fn nanos_between(start: u64, end: u64) -> u64 {
    CLOCK.delta_as_nanos(start, end)
}
