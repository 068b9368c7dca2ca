//! Running a process: options, the drivers (pool, sequential, host-driven) and what they share.

pub(crate) mod attempt;
pub(crate) mod cancel;
pub(crate) mod clock;
pub(crate) mod engine;
mod events;
mod hosted;
mod pool;
mod queue;
mod timer;

use std::sync::Arc;

pub use attempt::Completion;
pub use cancel::CancelToken;
pub use events::{Event, Observer};
pub use hosted::{Assignment, HostedRun, Readiness};
pub(crate) use pool::Lease;

/// How a run executes its ready tasks.
pub(crate) enum Mode {
    /// On rayon pools lent to the run.
    Pool(pool::Lease),
    /// From a FIFO, by the calling thread or by the host.
    Queue(queue::ReadyQueue),
}

/// The default number of worker threads.
pub const DEFAULT_WORKERS: usize = 4;

/// From this many tasks up, a run is parallel unless told otherwise.
pub const PARALLEL_FROM: usize = 10;

/// How to run a process.
#[derive(Clone, Default)]
pub struct RunOptions {
    pub(crate) parallel: Option<bool>,
    pub(crate) max_workers: Option<usize>,
    pub(crate) max_in_flight: Option<usize>,
    pub(crate) observer: Option<Arc<dyn Observer>>,
    pub(crate) cancel: Option<CancelToken>,
}

impl RunOptions {
    /// Defaults: parallel from 10 tasks up, 4 workers, no observer, no cancellation token.
    pub fn new() -> RunOptions {
        RunOptions::default()
    }

    /// Forces a parallel (`true`) or sequential (`false`) run.
    pub fn parallel(mut self, parallel: bool) -> RunOptions {
        self.parallel = Some(parallel);
        self
    }

    /// Worker threads of a parallel run (default 4; 1 means sequential). In a host-driven run,
    /// the most tasks handed out and not yet completed.
    pub fn max_workers(mut self, workers: usize) -> RunOptions {
        self.max_workers = Some(workers);
        self
    }

    /// In a host-driven run, the most tasks in flight, overriding `max_workers`.
    pub fn max_in_flight(mut self, limit: usize) -> RunOptions {
        self.max_in_flight = Some(limit);
        self
    }

    /// Receives the run's events.
    pub fn observer(mut self, observer: Arc<dyn Observer>) -> RunOptions {
        self.observer = Some(observer);
        self
    }

    /// Cancels the run when `token` is cancelled, from any thread.
    pub fn cancel_token(mut self, token: CancelToken) -> RunOptions {
        self.cancel = Some(token);
        self
    }

    pub(crate) fn workers(&self) -> Result<usize, crate::RunError> {
        match self.max_workers {
            Some(0) => Err(crate::RunError::InvalidOption {
                field: "max_workers",
                reason: "must be at least 1".into(),
            }),
            Some(n) => Ok(n),
            None => Ok(DEFAULT_WORKERS),
        }
    }
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("parallel", &self.parallel)
            .field("max_workers", &self.max_workers)
            .field("max_in_flight", &self.max_in_flight)
            .field("observer", &self.observer.is_some())
            .field("cancel", &self.cancel)
            .finish()
    }
}
