//! The task bodies of WORKLOADS.md. The core's callbacks and the floor executor call the same
//! functions, so that both systems do the same work per task.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use processes::{Callback, Outcome, Value};

/// Microseconds a `spin` body waits when the option does not say.
pub const DEFAULT_SPIN_US: u64 = 10;

/// What each task does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    /// Returns at once.
    Empty,
    /// Busy-waits this many microseconds on a monotonic clock.
    Spin(u64),
    /// Returns an integer: one plus the sum of its arguments (its dependencies' results).
    Pass,
}

impl Body {
    /// Parses `empty`, `pass`, `spin` or `spin:U`.
    pub fn parse(text: &str) -> Result<Body, String> {
        match text {
            "empty" => Ok(Body::Empty),
            "pass" => Ok(Body::Pass),
            "spin" => Ok(Body::Spin(DEFAULT_SPIN_US)),
            _ => match text.strip_prefix("spin:").map(str::parse::<u64>) {
                Some(Ok(micros)) => Ok(Body::Spin(micros)),
                _ => Err(format!(
                    "--body: unknown body `{text}` (expected empty, pass, spin or spin:U with U \
                     in microseconds)"
                )),
            },
        }
    }

    /// The name used in the JSON output: `empty`, `pass` or `spin:U`.
    pub fn label(self) -> String {
        match self {
            Body::Empty => "empty".into(),
            Body::Pass => "pass".into(),
            Body::Spin(micros) => format!("spin:{micros}"),
        }
    }

    /// Whether dependents receive their dependencies' results.
    pub fn passes_results(self) -> bool {
        self == Body::Pass
    }

    /// The one callback every task of a core run shares.
    pub fn callback(self) -> Callback {
        match self {
            Body::Empty => Arc::new(|_| Outcome::Success(Value::Null)),
            Body::Spin(micros) => Arc::new(move |_| {
                spin(micros);
                Outcome::Success(Value::Null)
            }),
            Body::Pass => Arc::new(|ctx| {
                let args = ctx.args().iter().filter_map(Value::as_int);
                Outcome::Success(Value::Int(pass(args)))
            }),
        }
    }
}

/// Busy-waits `micros` microseconds.
pub fn spin(micros: u64) {
    let until = Instant::now() + Duration::from_micros(micros);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

/// The `pass` body: one plus the (wrapping) sum of the arguments.
pub fn pass(args: impl Iterator<Item = i64>) -> i64 {
    black_box(args.fold(1i64, i64::wrapping_add))
}
