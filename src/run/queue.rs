//! The queue driver: ready tasks wait in a FIFO for whoever runs them, the calling thread
//! (sequential runs) or the host (host-driven runs).

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use super::engine::{Resume, Shared};
use crate::context::AttemptState;

/// Ready tasks waiting to start, with the attempt each starts at.
#[derive(Default)]
pub(crate) struct ReadyQueue {
    items: Mutex<VecDeque<(u32, Resume)>>,
}

impl ReadyQueue {
    pub(crate) fn push(&self, task: u32, resume: Resume) {
        self.lock().push_back((task, resume));
    }

    pub(crate) fn pop(&self) -> Option<(u32, Resume)> {
        self.lock().pop_front()
    }

    pub(crate) fn extend(&self, tasks: impl IntoIterator<Item = u32>) {
        self.lock()
            .extend(tasks.into_iter().map(|t| (t, Resume::FIRST)));
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(u32, Resume)>> {
        self.items.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Shared {
    fn queue(&self) -> &ReadyQueue {
        match &self.mode {
            super::Mode::Queue(queue) => queue,
            super::Mode::Pool(_) => unreachable_queue(),
        }
    }

    /// Runs the whole graph on the calling thread, in topological order, until every task has
    /// ended. Tasks completed from other threads (asynchronous completions, retries after a
    /// delay) come back through the shared queue.
    pub(crate) fn run_sequential(self: &Arc<Self>) {
        let queue = self.queue();
        let mut local: VecDeque<(u32, Resume)> = self
            .graph
            .topology
            .roots()
            .iter()
            .map(|&t| (t, Resume::FIRST))
            .collect();
        let mut ready = Vec::new();
        let mut attempt = AttemptState::new();
        let mut tally = 0;
        // The reading that ended the task before, which the next one starts from.
        let mut now = None;
        loop {
            let Some((task, mut resume)) = local.pop_front().or_else(|| queue.pop()) else {
                now = None;
                self.add_done(std::mem::take(&mut tally));
                if self.cancel.is_cancelled() {
                    let ended = self.sweep_cancelled();
                    self.add_done(ended);
                }
                let finished =
                    self.wait_until(None, || queue.len() > 0 || self.cancel.is_cancelled());
                if finished {
                    return;
                }
                continue;
            };
            let hot = self.graph.hot.get(task);
            if hot.has_timeout() {
                self.run_aside(task, resume);
                now = None;
                continue;
            }
            if resume.attempt == 1 {
                resume = Resume::first_at(now.take());
            }
            ready.clear();
            // When nothing waits to run before what this task releases, running a single
            // released task at once keeps the order, and spares the trip through the queue.
            now = if local.is_empty() {
                self.run_ready::<true>(task, hot, resume, &mut ready, &mut tally, &mut attempt)
            } else {
                self.run_ready::<false>(task, hot, resume, &mut ready, &mut tally, &mut attempt)
            };
            local.extend(ready.iter().map(|&t| (t, Resume::FIRST)));
        }
    }

    /// Runs the attempts of a task with a timeout on a thread of its own and waits until the
    /// task ended, handed its next step on, or its attempt timed out: a callback that ignores
    /// its token then holds that thread alone while the sequential run goes on. What the task
    /// releases comes back through the shared queue.
    fn run_aside(self: &Arc<Self>, task: u32, resume: Resume) {
        let ticket = (u64::from(task) + 1) << 32 | u64::from(resume.attempt);
        self.aside.store(ticket, Ordering::Release);
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("processes-timed".into())
            .spawn(move || {
                me.work_timed(task, resume);
                me.release_aside(Some(ticket));
            });
        if let Err(error) = spawned {
            let name = self.task_name(task);
            log::warn!("could not start a thread for task {name}: {error}; it runs inline");
            self.aside.store(0, Ordering::Release);
            self.work_timed(task, resume);
            return;
        }
        self.wait_until(None, || {
            self.aside.load(Ordering::Acquire) != ticket || self.cancel.is_cancelled()
        });
    }

    /// Lets the sequential run go on past the task it waits for: the one holding `ticket`, or
    /// whichever it is (`None`, when its attempt timed out).
    pub(crate) fn release_aside(&self, ticket: Option<u64>) {
        let released = match ticket {
            Some(ticket) => self
                .aside
                .compare_exchange(ticket, 0, Ordering::AcqRel, Ordering::Acquire)
                .is_ok(),
            None => self.aside.swap(0, Ordering::AcqRel) != 0,
        };
        if released {
            self.notify();
        }
    }

    /// Takes up to `max` ready tasks for the host, within the in-flight limit.
    pub(crate) fn take_ready(&self, max: usize) -> Vec<(u32, Resume)> {
        let queue = self.queue();
        let mut taken = Vec::new();
        while taken.len() < max {
            let in_flight = self.in_flight.load(Ordering::Acquire);
            if in_flight >= self.max_in_flight {
                break;
            }
            let Some((task, resume)) = queue.pop() else {
                break;
            };
            if resume.attempt == 1 && !self.begin(task) {
                continue;
            }
            self.in_flight.fetch_add(1, Ordering::AcqRel);
            taken.push((task, resume));
        }
        taken
    }

    /// Whether the host could take a task now.
    pub(crate) fn has_ready(&self) -> bool {
        self.queue().len() > 0 && self.in_flight.load(Ordering::Acquire) < self.max_in_flight
    }
}

fn unreachable_queue() -> ! {
    panic!("internal error: a queue operation on a pool-driven run")
}
