//! Progress events: enough to drive a progress bar or a live log.

use std::time::Duration;

use crate::error::TaskError;
use crate::report::Status;

/// Something that happened during a run.
#[derive(Debug)]
pub enum Event<'a> {
    /// An attempt of a task started.
    TaskStarted {
        /// The task.
        task: &'a str,
        /// The attempt number, from 1.
        attempt: u32,
    },
    /// An attempt failed and the task will be retried.
    AttemptFailed {
        /// The task.
        task: &'a str,
        /// The attempt that failed.
        attempt: u32,
        /// How many attempts the task may make in all.
        max_attempts: u32,
        /// Why it failed.
        error: &'a TaskError,
        /// The delay before the next attempt.
        retry_in: Duration,
    },
    /// A task reached its final status; every task gets exactly one of these.
    TaskFinished {
        /// The task.
        task: &'a str,
        /// How it ended.
        status: Status,
        /// Tasks finished so far, this one included.
        done: usize,
        /// Tasks in the run.
        total: usize,
    },
    /// The run ended.
    RunFinished {
        /// Tasks finished.
        done: usize,
        /// Tasks in the run.
        total: usize,
        /// Whether the run was cancelled.
        cancelled: bool,
    },
}

/// Receives a run's events, from whichever thread caused them, possibly several at once.
pub trait Observer: Send + Sync {
    /// Called for each event. A panic here is caught and logged, never propagated.
    fn on_event(&self, event: &Event<'_>);
}

impl<F: Fn(&Event<'_>) + Send + Sync> Observer for F {
    fn on_event(&self, event: &Event<'_>) {
        self(event)
    }
}
