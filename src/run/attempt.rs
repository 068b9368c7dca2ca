//! One attempt of a task that may outlive its callback call: it has a timeout, or it completes
//! asynchronously, or the host runs it.
//!
//! Three parties may try to settle such an attempt: the thread that called the callback (when
//! it returns), a [`Completion`] handle (from any thread), and the timer (when the timeout
//! expires). One state word decides who wins; the losers' results are discarded.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use super::cancel::CancelToken;
use super::engine::Shared;
use crate::error::{set_traced, RunError, TaskError, TracedVar};
use crate::value::Value;

/// The callback is still on a thread's stack.
const EXECUTING: u8 = 1;
/// A result was accepted.
const SETTLED: u8 = 2;
/// The timeout fired first.
const TIMED_OUT: u8 = 4;
/// The attempt failed (timed out, or was completed as failed) while the callback was still
/// executing and the task will be retried: the retry waits for the callback to return.
const RETRY_ON_RETURN: u8 = 8;

/// Shared state of one attempt.
pub(crate) struct AttemptCell {
    pub(crate) task: u32,
    pub(crate) attempt: u32,
    pub(crate) first_start: u64,
    pub(crate) token: CancelToken,
    state: AtomicU8,
    /// What the callback traced once it took a completion handle (and before), for a failure
    /// completed from any thread.
    traced: Mutex<Vec<TracedVar>>,
}

/// What the calling thread should do once the callback returned.
pub(crate) enum Returned {
    /// Its outcome stands: process it.
    Accept,
    /// It answered pending and nobody settled the attempt yet: wait for the completion.
    Wait,
    /// Somebody else already dealt with the attempt; if `retry`, start the next attempt now.
    Discard {
        /// Start the retry the timer deferred until the callback returned.
        retry: bool,
    },
}

impl AttemptCell {
    pub(crate) fn new(
        run_token: &CancelToken,
        task: u32,
        attempt: u32,
        first_start: u64,
        executing: bool,
    ) -> AttemptCell {
        AttemptCell {
            task,
            attempt,
            first_start,
            token: run_token.child(),
            state: AtomicU8::new(if executing { EXECUTING } else { 0 }),
            traced: Mutex::new(Vec::new()),
        }
    }

    /// Adds variables traced before the completion handle was taken.
    pub(crate) fn append_traced(&self, traced: Vec<TracedVar>) {
        if !traced.is_empty() {
            self.traced_vars().extend(traced);
        }
    }

    /// Records a variable traced after the completion handle was taken.
    pub(crate) fn trace(&self, name: &str, value: String) {
        set_traced(&mut self.traced_vars(), name, value);
    }

    /// The variables traced for this attempt, taken out.
    pub(crate) fn take_traced(&self) -> Vec<TracedVar> {
        std::mem::take(&mut *self.traced_vars())
    }

    fn traced_vars(&self) -> std::sync::MutexGuard<'_, Vec<TracedVar>> {
        self.traced.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Called by the thread whose callback just returned (`pending` if it answered pending).
    pub(crate) fn callback_returned(&self, pending: bool) -> Returned {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            let (next, verdict) = if state & (TIMED_OUT | SETTLED) != 0 {
                let retry = state & RETRY_ON_RETURN != 0;
                (state & !EXECUTING, Returned::Discard { retry })
            } else if pending {
                (state & !EXECUTING, Returned::Wait)
            } else {
                ((state & !EXECUTING) | SETTLED, Returned::Accept)
            };
            match self
                .state
                .compare_exchange_weak(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return verdict,
                Err(seen) => state = seen,
            }
        }
    }

    /// Accepts a completion unless the attempt was already settled or timed out.
    pub(crate) fn settle(&self) -> Result<(), Settled> {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if state & SETTLED != 0 {
                return Err(Settled::Already);
            }
            if state & TIMED_OUT != 0 {
                return Err(Settled::TimedOut);
            }
            match self.state.compare_exchange_weak(
                state,
                state | SETTLED,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(seen) => state = seen,
            }
        }
    }

    /// Marks the attempt timed out unless it was settled. Returns `None` when it was settled
    /// first, otherwise whether the callback is still executing.
    pub(crate) fn time_out(&self, retry: bool) -> Option<bool> {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if state & (SETTLED | TIMED_OUT) != 0 {
                return None;
            }
            let executing = state & EXECUTING != 0;
            let mut next = state | TIMED_OUT;
            if retry && executing {
                next |= RETRY_ON_RETURN;
            }
            match self
                .state
                .compare_exchange_weak(state, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    self.token.cancel();
                    return Some(executing);
                }
                Err(seen) => state = seen,
            }
        }
    }

    /// Leaves the retry of a settled attempt to its callback's thread, if the callback is
    /// still executing; false when it already returned (the caller starts the retry).
    pub(crate) fn defer_retry(&self) -> bool {
        let mut state = self.state.load(Ordering::Acquire);
        loop {
            if state & EXECUTING == 0 {
                return false;
            }
            match self.state.compare_exchange_weak(
                state,
                state | RETRY_ON_RETURN,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(seen) => state = seen,
            }
        }
    }
}

/// Why a completion was refused by the attempt itself.
pub(crate) enum Settled {
    Already,
    TimedOut,
}

/// Settles one pending attempt from any thread: exactly one of [`Completion::succeed`] or
/// [`Completion::fail`] is accepted; later calls, and calls after the attempt timed out or the
/// run was cancelled, return an error and change nothing.
#[derive(Clone)]
pub struct Completion {
    shared: Arc<Shared>,
    cell: Arc<AttemptCell>,
}

impl Completion {
    pub(crate) fn new(shared: Arc<Shared>, cell: Arc<AttemptCell>) -> Completion {
        Completion { shared, cell }
    }

    /// The task's name.
    pub fn task(&self) -> &str {
        self.shared.task_name(self.cell.task)
    }

    /// The attempt number, from 1.
    pub fn attempt(&self) -> u32 {
        self.cell.attempt
    }

    /// A token that turns cancelled when the run is cancelled or this attempt times out.
    pub fn cancel_token(&self) -> CancelToken {
        self.cell.token.clone()
    }

    /// Settles the attempt as a success with `result`.
    pub fn succeed(&self, result: impl Into<Value>) -> Result<(), RunError> {
        self.complete(Ok(result.into()))
    }

    /// Settles the attempt as a failure.
    pub fn fail(&self, error: impl Into<TaskError>) -> Result<(), RunError> {
        self.complete(Err(error.into()))
    }

    /// Settles the attempt with `outcome`.
    pub fn complete(&self, outcome: Result<Value, TaskError>) -> Result<(), RunError> {
        self.shared.complete_attempt(&self.cell, outcome)
    }
}

impl std::fmt::Debug for Completion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completion")
            .field("task", &self.task())
            .field("attempt", &self.cell.attempt)
            .finish()
    }
}
