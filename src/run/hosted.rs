//! Runs driven by the host: the core hands out ready tasks with their arguments, the host runs
//! them however it likes (goroutines, a JS event loop) and completes them. No callback is ever
//! called on a thread the host does not own.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use compact_str::CompactString;

use super::attempt::{AttemptCell, Completion};
use super::engine::Shared;
use crate::context::arguments;
use crate::logs::Level;
use crate::report::Report;
use crate::value::Value;

/// A run whose tasks the host executes. Dropping it before it finished cancels it.
pub struct HostedRun {
    pub(crate) shared: Arc<Shared>,
    pub(crate) running: Arc<AtomicBool>,
    pub(crate) waker: Arc<dyn Fn() + Send + Sync>,
}

/// What [`HostedRun::wait`] saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// At least one task can be taken with [`HostedRun::next_batch`].
    Ready,
    /// Every task has ended: take the report.
    Finished,
    /// The timeout passed first.
    TimedOut,
}

/// One attempt of one task, handed to the host to run.
pub struct Assignment {
    index: u32,
    name: CompactString,
    function: Arc<str>,
    args: Vec<Value>,
    kwargs: Vec<(CompactString, Value)>,
    completion: Completion,
}

impl Assignment {
    /// The task's index in insertion order (stable for the process's lifetime).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The task's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The function label.
    pub fn function(&self) -> &str {
        &self.function
    }

    /// The attempt number, from 1.
    pub fn attempt(&self) -> u32 {
        self.completion.attempt()
    }

    /// Positional arguments: static ones, then injected results.
    pub fn args(&self) -> &[Value] {
        &self.args
    }

    /// Named arguments: static ones, then injected ones.
    pub fn kwargs(&self) -> &[(CompactString, Value)] {
        &self.kwargs
    }

    /// The handle that settles this attempt; it may be cloned and moved to any thread.
    pub fn completion(&self) -> &Completion {
        &self.completion
    }

    /// Takes the handle that settles this attempt.
    pub fn into_completion(self) -> Completion {
        self.completion
    }
}

impl HostedRun {
    /// Takes up to `max` ready tasks, never more than the in-flight limit allows; returns at
    /// once, possibly with none.
    pub fn next_batch(&self, max: usize) -> Vec<Assignment> {
        let shared = &self.shared;
        if shared.cancel.is_cancelled() {
            self.sweep();
            return Vec::new();
        }
        shared
            .take_ready(max)
            .into_iter()
            .map(|(index, resume)| {
                let first_start = shared.first_start(resume);
                let cell = Arc::new(AttemptCell::new(
                    &shared.cancel,
                    index,
                    resume.attempt,
                    first_start,
                    false,
                ));
                let task = &shared.graph.tasks[index as usize];
                if let Some(timeout) = task.timeout_value() {
                    shared.time_out_later(timeout, cell.clone());
                }
                shared.started(index, resume.attempt);
                if resume.attempt == 1 {
                    shared.log(index, Level::Info, format_args!("Starting {}.", task.name));
                }
                let (args, kwargs) = arguments(shared, task, index);
                Assignment {
                    index,
                    name: task.name.clone(),
                    function: task.function_label().into(),
                    args: args.into_owned(),
                    kwargs: kwargs.into_owned(),
                    completion: Completion::new(shared.clone(), cell),
                }
            })
            .collect()
    }

    /// Blocks until a task is ready, the run finished, or `timeout` passed (`None`: no limit).
    /// Meant for a thread the host can spare (a Node worker, a goroutine).
    pub fn wait(&self, timeout: Option<Duration>) -> Readiness {
        // A timeout too long for the clock waits without limit.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let shared = &self.shared;
        loop {
            if shared.cancel.is_cancelled() {
                self.sweep();
            }
            if shared.is_finished() {
                return Readiness::Finished;
            }
            if shared.has_ready() {
                return Readiness::Ready;
            }
            let finished = shared.wait_until(deadline, || {
                shared.has_ready() || shared.cancel.is_cancelled()
            });
            if finished {
                return Readiness::Finished;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) && !shared.has_ready() {
                return Readiness::TimedOut;
            }
        }
    }

    /// Cancels the run: nothing new is handed out, pending attempts see their token, and every
    /// task not yet ended is reported cancelled.
    pub fn cancel(&self) {
        self.shared.cancel.cancel();
        self.sweep();
    }

    /// Whether every task has ended.
    pub fn is_finished(&self) -> bool {
        self.shared.is_finished()
    }

    /// How many tasks are handed out and not yet settled.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Acquire)
    }

    /// The report, once every task has ended; `None` before.
    pub fn report(&self) -> Option<Report> {
        self.shared.is_finished().then(|| self.shared.report())
    }

    fn sweep(&self) {
        let ended = self.shared.sweep_cancelled();
        self.shared.add_done(ended);
    }
}

impl Drop for HostedRun {
    fn drop(&mut self) {
        if !self.shared.is_finished() {
            self.cancel();
        }
        self.shared.announce_end();
        let _ = &self.waker;
        self.running.store(false, Ordering::Release);
    }
}
