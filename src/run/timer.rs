//! One thread per run that needs it, firing attempt timeouts and delayed retries.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread;
use std::time::{Duration, Instant};

use super::attempt::AttemptCell;
use super::engine::{Resume, Shared};

const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

enum Job {
    TimeOut(Arc<AttemptCell>),
    Retry(u32, Resume),
}

struct Entry {
    at: Instant,
    seq: u64,
    job: Job,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Entry) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Entry) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Earliest first in a max-heap.
impl Ord for Entry {
    fn cmp(&self, other: &Entry) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Entry>,
    seq: u64,
    stopped: bool,
}

#[derive(Default)]
struct Inner {
    queue: Mutex<Queue>,
    wake: Condvar,
}

/// The timer of one run. It holds the run weakly, so it never keeps a finished run alive.
pub(crate) struct Timer {
    inner: Arc<Inner>,
}

impl Timer {
    pub(crate) fn start(run: Weak<Shared>) -> Timer {
        let inner = Arc::new(Inner::default());
        let worker = inner.clone();
        let spawned = thread::Builder::new()
            .name("processes-timer".into())
            .spawn(move || fire(&worker, &run));
        if let Err(error) = spawned {
            log::error!("could not start the timer thread: {error}; timeouts and delayed retries will not fire");
        }
        Timer { inner }
    }

    fn push(&self, after: Duration, job: Job) {
        let mut queue = self.inner.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.seq += 1;
        let seq = queue.seq;
        let now = Instant::now();
        queue.heap.push(Entry {
            // A delay too long for the clock (`Duration::MAX` as "never") waits a century.
            at: now.checked_add(after).unwrap_or_else(|| now + CENTURY),
            seq,
            job,
        });
        self.inner.wake.notify_one();
    }

    /// Expires `cell` after `timeout` unless it is settled by then.
    pub(crate) fn time_out(&self, timeout: Duration, cell: Arc<AttemptCell>) {
        self.push(timeout, Job::TimeOut(cell));
    }

    /// Starts attempt `resume` of `task` after `delay`.
    pub(crate) fn retry(&self, delay: Duration, task: u32, resume: Resume) {
        self.push(delay, Job::Retry(task, resume));
    }

    /// Ends the timer thread; pending jobs are dropped.
    pub(crate) fn stop(&self) {
        let mut queue = self.inner.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.stopped = true;
        queue.heap.clear();
        self.inner.wake.notify_one();
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn fire(inner: &Inner, run: &Weak<Shared>) {
    let mut queue = inner.queue.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        if queue.stopped {
            return;
        }
        let now = Instant::now();
        match queue.heap.peek().map(|e| e.at) {
            Some(at) if at <= now => {
                let Some(entry) = queue.heap.pop() else {
                    continue;
                };
                drop(queue);
                let Some(run) = run.upgrade() else { return };
                match entry.job {
                    Job::TimeOut(cell) => run.expire(&cell),
                    Job::Retry(task, resume) => run.dispatch(task, resume),
                }
                drop(run);
                queue = inner.queue.lock().unwrap_or_else(|p| p.into_inner());
            }
            Some(at) => {
                queue = inner
                    .wake
                    .wait_timeout(queue, at - now)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            None => queue = inner.wake.wait(queue).unwrap_or_else(|p| p.into_inner()),
        }
    }
}
