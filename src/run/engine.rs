//! The state of one run and the rules every driver shares: starting attempts, retrying,
//! finishing a task exactly once, releasing its dependents and skipping what a failure took
//! down.
//!
//! A task with several dependencies has an atomic count of those that ended (its top bit says
//! that one of them did not succeed); a task with one needs none. Each task has a record slot
//! that is written once. A task ends when one thread claims its slot (or, in a run without an
//! observer, when the thread that ran it writes it: a cancellation then lays its verdict over
//! the slots); that thread alone writes it, counts the task and releases its dependents, and
//! anyone who comes later (a late callback, a cancellation sweep) finds the slot taken and
//! backs off.
//! Nothing ever rescans the graph while it runs.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use super::attempt::{AttemptCell, Returned, Settled};
use super::cancel::CancelToken;
use super::clock;
use super::events::{Event, Observer};
use super::timer::Timer;
use super::Mode;
use crate::context::{AttemptState, TaskContext};
use crate::error::{ErrorKind, RunError, TaskError};
use crate::graph::{Graph, HotTask};
use crate::logs::Level;
use crate::report::{Records, Report, Status, Swept};
use crate::shelf::Shelf;
use crate::task::{Outcome, TriggerRule};
use crate::value::Value;

/// Set in a task's count of ended dependencies when one of them did not succeed.
const BLOCKED: u32 = 1 << 31;

/// Keeps a contended atomic on a cache line of its own, away from the read-mostly fields.
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

/// Where the next attempt of a task starts from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Resume {
    pub(crate) attempt: u32,
    /// Clock ticks from the run's start to the first attempt's start, or `UNSET`.
    pub(crate) first_start: u64,
}

const UNSET: u64 = u64::MAX;

/// What the call of a callback tells the attempt loop, instead of a clock reading that ended
/// the task: the callback answered something other than a plain success...
const ANSWERED: u64 = u64::MAX;
/// ...or it succeeded, but something else (a cancellation) had ended the task already.
const ENDED_ELSEWHERE: u64 = u64::MAX - 1;
/// ...or, in a chain of plain tasks, the run was cancelled before the next one started.
const CANCELLED: u64 = u64::MAX - 2;

impl Resume {
    pub(crate) const FIRST: Resume = Resume {
        attempt: 1,
        first_start: UNSET,
    };

    /// A first attempt that starts at `now` (a reading the caller just took), or reads the
    /// clock itself when there is none.
    pub(crate) fn first_at(now: Option<u64>) -> Resume {
        Resume {
            attempt: 1,
            first_start: now.unwrap_or(UNSET),
        }
    }

    fn next(self, first_start: u64) -> Resume {
        Resume {
            attempt: self.attempt + 1,
            first_start,
        }
    }
}

/// What follows an attempt that did not simply succeed.
enum Settle {
    /// The attempt loop is over: the reading that ended the task, if this thread ended it.
    Ended(Option<u64>),
    /// Try again at once, from here.
    Again(Resume),
}

/// How a task ended, before its record is written.
pub(crate) struct Final {
    status: Status,
    result: Value,
    /// Boxed so that the hot path (success) moves a small value around.
    error: Option<Box<TaskError>>,
    attempts: u32,
    first_start: u64,
}

impl Final {
    /// A task whose attempt `attempts` failed because the run was cancelled while it ran.
    fn interrupted(attempts: u32, first_start: u64) -> Final {
        Final {
            status: Status::Cancelled,
            result: Value::Null,
            error: None,
            attempts,
            first_start,
        }
    }

    fn cancelled(resume: Resume) -> Final {
        Final {
            status: Status::Cancelled,
            result: Value::Null,
            error: None,
            attempts: resume.attempt - 1,
            first_start: resume.first_start,
        }
    }
}

/// Tables of counts of ended dependencies freed by earlier runs, for runs of their size,
/// marked when every count in them is back at zero.
static WAITING: Shelf<AtomicU32, bool> = Shelf::new();

/// Everything one run shares between its threads.
pub(crate) struct Shared {
    pub(crate) graph: Arc<Graph>,
    pub(crate) process_name: Arc<str>,
    pub(crate) cancel: CancelToken,
    pub(crate) mode: Mode,
    /// Per task, how many of its dependencies have ended (and `BLOCKED`). The release that
    /// completes a count puts it back to zero, so a run that was not cancelled leaves the
    /// table as it found it, and the next run takes it without writing it.
    waiting: Box<[AtomicU32]>,
    /// Set when a cancellation ended tasks without releasing their dependents, which leaves
    /// counts short of zero.
    counts_left: AtomicBool,
    pub(crate) records: Arc<Records>,
    done: Padded<AtomicUsize>,
    /// Whether any task errored, set before its record is published.
    any_errored: AtomicBool,
    /// With an observer: tasks whose end event has been numbered.
    announced: AtomicUsize,
    /// Raw clock reading at the run's start; task timestamps count from it.
    origin: u64,
    started: Instant,
    started_at: SystemTime,
    observer: Option<Arc<dyn Observer>>,
    /// Neither an observer nor any log file: plain tasks take [`Shared::run_plain`].
    plain: bool,
    finished: Mutex<bool>,
    pub(crate) wake: Condvar,
    timer: OnceLock<Timer>,
    seed: AtomicU64,
    pub(crate) in_flight: AtomicUsize,
    pub(crate) max_in_flight: usize,
    /// In a sequential run, the ticket of the task with a timeout that the calling thread
    /// waits for while it runs on a thread of its own (0: none).
    pub(crate) aside: AtomicU64,
    pub(crate) log_faults: crate::logs::Faults,
}

impl Shared {
    pub(crate) fn new(
        graph: Arc<Graph>,
        process_name: Arc<str>,
        mode: Mode,
        cancel: CancelToken,
        observer: Option<Arc<dyn Observer>>,
        max_in_flight: usize,
    ) -> Shared {
        let n = graph.tasks.len();
        let waiting = match WAITING.take(n) {
            Some((waiting, true)) => waiting,
            Some((mut waiting, false)) => {
                waiting.iter_mut().for_each(|count| *count.get_mut() = 0);
                waiting
            }
            None => (0..n).map(|_| AtomicU32::new(0)).collect(),
        };
        let records = Records::new(n);
        let plain = observer.is_none() && graph.logs.is_empty();
        let started_at = SystemTime::now();
        let seed = started_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0x9E37_79B9_7F4A_7C15, |d| d.as_nanos() as u64)
            | 1;
        Shared {
            graph,
            process_name,
            cancel,
            mode,
            waiting,
            counts_left: AtomicBool::new(false),
            records: Arc::new(records),
            done: Padded(AtomicUsize::new(0)),
            any_errored: AtomicBool::new(false),
            announced: AtomicUsize::new(0),
            origin: clock::raw(),
            started: Instant::now(),
            started_at,
            plain,
            observer,
            finished: Mutex::new(n == 0),
            wake: Condvar::new(),
            timer: OnceLock::new(),
            seed: AtomicU64::new(seed),
            in_flight: AtomicUsize::new(0),
            max_in_flight,
            aside: AtomicU64::new(0),
            log_faults: Default::default(),
        }
    }

    pub(crate) fn total(&self) -> usize {
        self.graph.tasks.len()
    }

    pub(crate) fn task_name(&self, index: u32) -> &str {
        &self.graph.tasks[index as usize].name
    }

    /// Clock ticks since the run started.
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        clock::raw().saturating_sub(self.origin)
    }

    /// The result of `task`, if it ended in success.
    pub(crate) fn result_of(&self, task: u32) -> Option<Value> {
        self.records.result(task)
    }

    #[inline]
    pub(crate) fn emit(&self, event: Event<'_>) {
        if let Some(observer) = &self.observer {
            if catch_unwind(AssertUnwindSafe(|| observer.on_event(&event))).is_err() {
                log::warn!(
                    "the observer of process {:?} panicked; event dropped",
                    self.process_name
                );
            }
        }
    }

    /// Writes a line to the task's log file, if it has one.
    #[inline]
    pub(crate) fn log(&self, task: u32, level: Level, message: std::fmt::Arguments<'_>) {
        if let Some(log) = self.graph.logs.get(task) {
            self.write_log(task, log, level, message);
        }
    }

    /// The first attempt's start for `resume`, which is now for a first attempt.
    pub(crate) fn first_start(&self, resume: Resume) -> u64 {
        match resume.first_start {
            UNSET => self.now(),
            at => at,
        }
    }

    /// Expires `cell` after `timeout` unless it is settled first.
    pub(crate) fn time_out_later(self: &Arc<Self>, timeout: Duration, cell: Arc<AttemptCell>) {
        self.timer().time_out(timeout, cell);
    }

    fn timer(self: &Arc<Self>) -> &Timer {
        self.timer
            .get_or_init(|| Timer::start(Arc::downgrade(self)))
    }

    /// A draw in `[0, 1)` for backoff jitter (xorshift; quality is not a concern here).
    fn draw(&self) -> f64 {
        let step = |mut s: u64| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let previous = self
            .seed
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| Some(step(s)))
            .unwrap_or(1);
        (step(previous) >> 11) as f64 / (1u64 << 53) as f64
    }

    // ---- finishing and releasing -------------------------------------------------------

    /// Whether every task has ended.
    pub(crate) fn is_finished(&self) -> bool {
        *self.finished.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts `n` more ended tasks; the call that reaches the total wakes the run's waiters.
    pub(crate) fn add_done(&self, n: usize) -> usize {
        if n == 0 {
            return self.done.load(Ordering::Acquire);
        }
        let done = self.done.fetch_add(n, Ordering::AcqRel) + n;
        if done == self.total() {
            *self.finished.lock().unwrap_or_else(|p| p.into_inner()) = true;
            self.wake.notify_all();
        }
        done
    }

    /// Blocks until the run finished, the timeout passed, or `stop` says so; returns whether
    /// it finished.
    pub(crate) fn wait_until(&self, deadline: Option<Instant>, stop: impl Fn() -> bool) -> bool {
        let mut finished = self.finished.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if *finished || stop() {
                return *finished;
            }
            finished = match deadline {
                None => self.wake.wait(finished).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return *finished;
                    }
                    self.wake
                        .wait_timeout(finished, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
    }

    /// With an observer, blocks until every task's end event has been delivered (each is
    /// counted once delivered); without one there is nothing to wait for.
    pub(crate) fn await_announced(&self) {
        if self.observer.is_some() {
            self.wait_until(None, || false);
        }
    }

    /// Wakes every thread waiting on the run (for cancellation and new ready tasks).
    pub(crate) fn notify(&self) {
        let _guard = self.finished.lock().unwrap_or_else(|p| p.into_inner());
        self.wake.notify_all();
    }

    /// Ends `index` with `end` unless something else ended it first, then releases its
    /// dependents: those now ready go to `ready`, those that must be skipped are ended here.
    /// `tally` counts the tasks this call ended when no observer needs exact counts. Returns
    /// the clock reading taken as the task's end, so that the task run next on this thread can
    /// start from it instead of reading the clock again.
    #[inline(never)]
    pub(crate) fn finish(
        &self,
        index: u32,
        end: Final,
        ready: &mut Vec<u32>,
        tally: &mut usize,
    ) -> Option<u64> {
        // The log lines come before the claim, so that nothing between the claim and the
        // record's publication can call back into the host (a cancellation sweep waits for
        // claimed records to be published).
        if self.is_ended(index) {
            return None;
        }
        let Final {
            status,
            mut result,
            error,
            attempts,
            first_start,
        } = end;
        let detail = match error {
            Some(error) => Some(self.failure_detail(index, status, *error)),
            None => self.end_line(index, status),
        };
        if !self.records.claim(index) {
            return None;
        }
        if status == Status::Errored {
            self.any_errored.store(true, Ordering::Relaxed);
        }
        let now = self.now();
        let start = if first_start == UNSET {
            now
        } else {
            first_start
        };
        let records = &self.records;
        records.write(index, status, attempts, start, now, &mut result, detail);
        self.ended(index, status, ready, tally);
        Some(now)
    }

    /// [`Shared::finish`] for a success, inlined where the callback's answer is read.
    #[inline(always)]
    fn succeed(
        &self,
        index: u32,
        result: &mut Value,
        attempts: u32,
        first_start: u64,
        ready: &mut Vec<u32>,
        tally: &mut usize,
    ) -> Option<u64> {
        let status = Status::Success;
        let detail = self.end_line(index, status);
        // Only an observer's exactly-once end events need the claim: without one, nothing
        // else may write the record of a task whose callback answered on this thread (a
        // cancellation overrules it instead, see `sweep_cancelled`).
        if self.observer.is_some() && !self.records.claim(index) {
            return None;
        }
        let now = self.now();
        let records = &self.records;
        records.write(index, status, attempts, first_start, now, result, detail);
        self.ended(index, status, ready, tally);
        Some(now)
    }

    /// Writes the end line of a task that has a log file; returns the problem writing it, if
    /// any, as a record detail. A task without a log costs one check here, not a call.
    #[inline(always)]
    fn end_line(&self, index: u32, status: Status) -> Option<Box<crate::report::Detail>> {
        self.graph.logs.get(index)?;
        crate::logs::log_detail(self.log_end(index, status, None))
    }

    /// Counts `index`, whose record was just written, and releases its dependents.
    #[inline(always)]
    fn ended(&self, index: u32, status: Status, ready: &mut Vec<u32>, tally: &mut usize) {
        self.count_end(index, status, tally);
        let mut skipped = Vec::new();
        self.release(index, status == Status::Success, ready, &mut skipped);
        if !skipped.is_empty() {
            self.skip(skipped, ready, tally);
        }
    }

    /// Ends `skipped` and every dependent they take down as skipped (cancelled once the run
    /// is cancelled), with an explicit stack: a chain of a million skipped tasks must not
    /// recurse.
    #[cold]
    #[inline(never)]
    fn skip(&self, mut skipped: Vec<u32>, ready: &mut Vec<u32>, tally: &mut usize) {
        while let Some(task) = skipped.pop() {
            if self.is_ended(task) {
                continue;
            }
            let status = if self.cancel.is_cancelled() {
                Status::Cancelled
            } else {
                Status::Skipped
            };
            let detail = crate::logs::log_detail(self.log_end(task, status, None));
            if !self.records.claim(task) {
                continue;
            }
            let now = self.now();
            self.records
                .write(task, status, 0, now, now, &mut Value::Null, detail);
            self.count_end(task, status, tally);
            self.release(task, false, ready, &mut skipped);
        }
    }

    /// Counts `index`, whose record was just written, as ended: with an observer, announces
    /// it and counts it at once; otherwise adds it to `tally`.
    #[inline(always)]
    fn count_end(&self, index: u32, status: Status, tally: &mut usize) {
        if self.observer.is_some() {
            self.announce(index, status);
        } else {
            *tally += 1;
        }
    }

    #[inline(never)]
    fn announce(&self, index: u32, status: Status) {
        // Numbered before the event, counted after it, so that the run cannot be seen
        // finished while an event is still being delivered.
        let done = self.announced.fetch_add(1, Ordering::AcqRel) + 1;
        self.emit(Event::TaskFinished {
            task: self.task_name(index),
            status,
            done,
            total: self.total(),
        });
        self.add_done(1);
    }

    /// Whether `index` has ended (or is being ended).
    pub(crate) fn is_ended(&self, index: u32) -> bool {
        self.records.is_taken(index)
    }

    /// Counts `index` as ended for each dependent; a dependent whose dependencies have all
    /// ended is ready, or skipped when one did not succeed and it needs all to succeed.
    ///
    /// A dependent with this one dependency alone keeps no count: this release is its last,
    /// and whoever runs it next is ordered after this thread by the hand-off itself (the same
    /// thread, a pool job or the run's queue).
    #[inline(always)]
    fn release(&self, index: u32, succeeded: bool, ready: &mut Vec<u32>, skipped: &mut Vec<u32>) {
        let graph = &*self.graph;
        for &next in graph.hot.successors(&graph.topology, index) {
            let needed = graph.hot.dependency_count(&graph.topology, next);
            let blocked = if needed == 1 {
                !succeeded
            } else {
                let counter = &self.waiting[next as usize];
                if !succeeded {
                    counter.fetch_or(BLOCKED, Ordering::AcqRel);
                }
                let before = counter.fetch_add(1, Ordering::AcqRel);
                if (before & !BLOCKED) + 1 != needed {
                    continue;
                }
                // The last one: nothing else touches this count in this run.
                counter.store(0, Ordering::Relaxed);
                before & BLOCKED != 0
            };
            if blocked && graph.hot.get(next).trigger() == TriggerRule::AllSuccess {
                skipped.push(next);
            } else {
                ready.push(next);
            }
        }
    }

    /// Ends every task that has not ended as cancelled; returns how many it ended.
    ///
    /// Without an observer the verdict is laid over the records rather than written into
    /// them, since a task's own thread writes its record without claiming it; a task that
    /// ends after the sweep then changes nothing a report shows. With an observer every
    /// record is claimed, so that each task gets exactly one end event.
    pub(crate) fn sweep_cancelled(&self) -> usize {
        self.counts_left.store(true, Ordering::Relaxed);
        if self.observer.is_none() {
            return self.overrule_unended();
        }
        let mut ended = 0;
        let now = self.now();
        let status = Status::Cancelled;
        for index in 0..self.total() as u32 {
            if !self.is_ended(index) {
                let detail = crate::logs::log_detail(self.log_end(index, status, None));
                if self.records.claim(index) {
                    let attempts = u32::from(self.records.was_started(index));
                    (self.records).write(
                        index,
                        status,
                        attempts,
                        now,
                        now,
                        &mut Value::Null,
                        detail,
                    );
                    self.count_end(index, status, &mut ended);
                    continue;
                }
            }
            // Another thread ended it: a report built right after the sweep must not change
            // under its reader.
            self.records.await_published(index);
        }
        ended
    }

    /// [`Shared::sweep_cancelled`] without an observer.
    fn overrule_unended(&self) -> usize {
        if self.records.is_overruled() {
            return 0;
        }
        let status = Status::Cancelled;
        let mut swept = Swept::new(self.total(), self.now());
        let mut ended = 0;
        for index in 0..self.total() as u32 {
            if self.records.status(index).is_none() {
                let detail = crate::logs::log_detail(self.log_end(index, status, None));
                let attempts = u32::from(self.records.was_started(index));
                swept.cancel(index, attempts, detail);
                ended += 1;
            }
        }
        if self.records.overrule(swept) {
            ended
        } else {
            0
        }
    }

    // ---- attempts ----------------------------------------------------------------------

    /// Marks `index` started; false when it already ended (the run was cancelled). A
    /// cancellation may still end it while it runs; its own end then finds the slot full.
    pub(crate) fn begin(&self, index: u32) -> bool {
        self.records.begin(index)
    }

    /// Runs a task that is ready on this thread, as [`Shared::run_task`] does; plain tasks of a
    /// run that watches nothing take a shorter way. `hot` is the task's entry in the graph's
    /// dense table. With `FOLLOW`, a plain task whose success readies exactly one plain task
    /// runs that one next in the same call, and so on down a chain. Pool workers always
    /// follow: they run the first task a task releases next anyway. The sequential driver
    /// follows only when no other task waits to run first, which keeps its order.
    #[inline(always)]
    pub(crate) fn run_ready<const FOLLOW: bool>(
        self: &Arc<Self>,
        index: u32,
        hot: HotTask,
        resume: Resume,
        ready: &mut Vec<u32>,
        tally: &mut usize,
        state: &mut AttemptState,
    ) -> Option<u64> {
        if self.plain && resume.attempt == 1 && hot.is_plain() {
            self.run_plain::<FOLLOW>(index, hot, resume, ready, tally, state)
        } else {
            self.run_task(index, resume, ready, tally, state)
        }
    }

    /// The first attempt of a plain task (no timeout, nothing injected) in a run with no
    /// observer and no log file: the steps of [`Shared::run_task`] less those such a task and
    /// run cannot need (events, log lines, a timer, building arguments, claiming the record).
    /// An answer other than an immediate success is settled as `run_task` settles it. With
    /// `FOLLOW`, see [`Shared::run_ready`]: the tasks of a chain then run inside one
    /// `catch_unwind`, and the task under way and its watch live outside it, so that a panic
    /// is settled for the task that raised it.
    #[inline(never)]
    fn run_plain<const FOLLOW: bool>(
        self: &Arc<Self>,
        index: u32,
        hot: HotTask,
        resume: Resume,
        ready: &mut Vec<u32>,
        tally: &mut usize,
        state: &mut AttemptState,
    ) -> Option<u64> {
        let mut at = (index, resume);
        let mut outcome = Outcome::Pending;
        let watch = crate::logs::traceback::Watch::start();
        let called = catch_unwind(AssertUnwindSafe(|| {
            let mut hot = hot;
            loop {
                let (index, resume) = at;
                if self.cancel.is_cancelled() {
                    return CANCELLED;
                }
                // Without an observer, timeouts or completions, nothing but this thread ends
                // a task that is not cancelled: a cancellation lays its verdict over the
                // records.
                self.records.mark_started(index);
                let first_start = self.first_start(resume);
                at.1 = Resume::first_at(Some(first_start));
                let follower = match FOLLOW {
                    true => self
                        .graph
                        .hot
                        .sole_follower(hot)
                        .filter(|(_, h)| h.is_plain()),
                    false => None,
                };
                let task = &self.graph.tasks[index as usize];
                let arguments = hot.has_arguments();
                let ctx = TaskContext::new(self, task, arguments, index, 1, first_start, state);
                let mut answer = (self.graph.hot.callback(hot))(&ctx);
                let (Outcome::Success(result), None) = (&mut answer, ctx.state.cell.get()) else {
                    outcome = answer;
                    return ANSWERED;
                };
                let now = self.now();
                let status = Status::Success;
                (self.records).write(index, status, 1, first_start, now, result, None);
                // The record took out of the result whatever needs dropping.
                std::mem::forget(answer);
                let (next, next_hot) = match follower {
                    // Its success readies the follower, which runs next.
                    Some(follower) => {
                        self.count_end(index, status, tally);
                        follower
                    }
                    None => {
                        self.ended(index, status, ready, tally);
                        // A single task made ready runs next here too; more go back to the
                        // worker, which hands all but one to the pool at once.
                        let next = match ready.as_slice() {
                            [next] if FOLLOW => *next,
                            _ => return now,
                        };
                        let next_hot = self.graph.hot.get(next);
                        if !next_hot.is_plain() {
                            return now;
                        }
                        ready.clear();
                        (next, next_hot)
                    }
                };
                state.reset();
                watch.next_callback();
                (at, hot) = ((next, Resume::first_at(Some(now))), next_hot);
            }
        }));
        let (index, resume) = at;
        match called {
            Ok(ANSWERED) => {}
            Ok(CANCELLED) => {
                watch.end(&mut outcome);
                return self.run_task(index, resume, ready, tally, state);
            }
            Ok(end) => {
                watch.end(&mut outcome);
                state.reset();
                return Some(end);
            }
            Err(payload) => outcome = Outcome::failure(panic_failure(payload)),
        }
        watch.end(&mut outcome);
        match self.settle_answer(index, resume, outcome, ready, tally, state) {
            Settle::Ended(end) => end,
            Settle::Again(next) => self.run_task(index, next, ready, tally, state),
        }
    }

    /// Runs attempts of `index` on this thread until the task ends, and then finishes it as
    /// [`Shared::finish`] does, returning the reading that ended it; `None` when its next step
    /// belongs to someone else (a pending completion, a timer, a callback still executing) or
    /// something else ended it.
    ///
    /// `state` is lent to each attempt in turn and left fresh afterwards. Only the common case
    /// (a callback that succeeds at once) runs here; any other answer is settled out of line
    /// by [`Shared::settle_answer`], which keeps this loop small.
    pub(crate) fn run_task(
        self: &Arc<Self>,
        index: u32,
        mut resume: Resume,
        ready: &mut Vec<u32>,
        tally: &mut usize,
        state: &mut AttemptState,
    ) -> Option<u64> {
        if self.cancel.is_cancelled() {
            return self.finish(index, Final::cancelled(resume), ready, tally);
        }
        if resume.attempt == 1 && !self.begin(index) {
            return None;
        }
        let task = &self.graph.tasks[index as usize];
        let hot = self.graph.hot.get(index);
        loop {
            let first_start = self.first_start(resume);
            resume.first_start = first_start;
            self.started(index, resume.attempt);
            if resume.attempt == 1 && self.graph.logs.get(index).is_some() {
                self.log(index, Level::Info, format_args!("Starting {}.", task.name));
            }
            let cell = match hot.has_timeout() {
                true => self.timed_cell(index, resume, first_start),
                false => None,
            };
            state.prepare(self, task, hot.injects, index, cell);
            let attempt = resume.attempt;
            let arguments = hot.has_arguments();
            let ctx = TaskContext::new(self, task, arguments, index, attempt, first_start, state);
            let watch = crate::logs::traceback::Watch::start();
            let mut outcome = Outcome::Pending;
            let called = catch_unwind(AssertUnwindSafe(|| {
                let mut answer = (self.graph.hot.callback(hot))(&ctx);
                if let (Outcome::Success(result), None) = (&mut answer, ctx.state.cell.get()) {
                    // The common case ends the task right here, reading the result where the
                    // callback left it: moving the answer out first would copy it through
                    // memory the callback has just written, and stall.
                    let attempts = resume.attempt;
                    let end = self.succeed(index, result, attempts, first_start, ready, tally);
                    return end.unwrap_or(ENDED_ELSEWHERE);
                }
                outcome = answer;
                ANSWERED
            }));
            match called {
                Ok(ANSWERED) => {}
                Ok(end) => {
                    watch.end(&mut outcome);
                    state.reset();
                    return (end != ENDED_ELSEWHERE).then_some(end);
                }
                Err(payload) => outcome = Outcome::failure(panic_failure(payload)),
            }
            watch.end(&mut outcome);
            match self.settle_answer(index, resume, outcome, ready, tally, state) {
                Settle::Ended(end) => return end,
                Settle::Again(next) => resume = next,
            }
        }
    }

    /// The cell of an attempt of `index` that has a timeout, with its timer set.
    #[cold]
    #[inline(never)]
    fn timed_cell(
        self: &Arc<Self>,
        index: u32,
        resume: Resume,
        first_start: u64,
    ) -> Option<Arc<AttemptCell>> {
        let timeout = self.graph.tasks[index as usize].timeout_value()?;
        let cell = Arc::new(AttemptCell::new(
            &self.cancel,
            index,
            resume.attempt,
            first_start,
            true,
        ));
        self.timer().time_out(timeout, cell.clone());
        Some(cell)
    }

    /// Settles an attempt whose callback answered anything but an immediate success (a
    /// failure, a panic, pending, or a success with a timeout running): ends the task, hands
    /// its next step to whoever owns it, or says to try again at once. Leaves `state` fresh.
    #[cold]
    #[inline(never)]
    fn settle_answer(
        self: &Arc<Self>,
        index: u32,
        resume: Resume,
        mut outcome: Outcome,
        ready: &mut Vec<u32>,
        tally: &mut usize,
        state: &mut AttemptState,
    ) -> Settle {
        let first_start = resume.first_start;
        if matches!(outcome, Outcome::Pending) && !state.completion_taken.get() {
            // Nobody could ever complete this attempt.
            outcome = Outcome::failure(TaskError::new(
                "the callback answered pending without taking a completion handle",
            ));
        }
        let cell = state.cell.take();
        let mut traced = state.traced.take();
        state.reset();
        let outcome: Result<Value, Box<TaskError>> = match cell {
            None => match outcome {
                Outcome::Success(value) => Ok(value),
                Outcome::Failure(error) => Err(error),
                Outcome::Pending => return Settle::Ended(None),
            },
            Some(cell) => match cell.callback_returned(matches!(outcome, Outcome::Pending)) {
                Returned::Accept => match outcome {
                    Outcome::Success(value) => Ok(value),
                    Outcome::Failure(mut error) => {
                        // Traced before, then after, taking a completion handle it did not
                        // use.
                        merge_traced(&mut error, std::mem::take(&mut traced));
                        merge_traced(&mut error, cell.take_traced());
                        Err(error)
                    }
                    Outcome::Pending => return Settle::Ended(None),
                },
                Returned::Wait => return Settle::Ended(None),
                Returned::Discard { retry: false } => return Settle::Ended(None),
                Returned::Discard { retry: true } => {
                    let delay = self.backoff(index, resume.attempt);
                    self.retry(index, resume.next(first_start), delay);
                    return Settle::Ended(None);
                }
            },
        };
        let end = match outcome {
            Ok(mut result) => {
                let attempts = resume.attempt;
                let result = &mut result;
                self.succeed(index, result, attempts, first_start, ready, tally)
            }
            Err(_) if self.cancel.is_cancelled() => {
                // A callback that stopped on its token: cancelled, in every mode alike.
                let end = Final::interrupted(resume.attempt, first_start);
                self.finish(index, end, ready, tally)
            }
            Err(mut error) => {
                merge_traced(&mut error, std::mem::take(&mut traced));
                match self.retry_delay(index, resume.attempt, &error) {
                    None => {
                        let end = errored(error, resume.attempt, first_start);
                        self.finish(index, end, ready, tally)
                    }
                    Some(delay) if delay.is_zero() && !self.cancel.is_cancelled() => {
                        return Settle::Again(resume.next(first_start));
                    }
                    Some(delay) => {
                        self.retry(index, resume.next(first_start), delay);
                        None
                    }
                }
            }
        };
        Settle::Ended(end)
    }

    #[inline]
    pub(crate) fn started(&self, index: u32, attempt: u32) {
        if self.observer.is_some() {
            self.emit(Event::TaskStarted {
                task: self.task_name(index),
                attempt,
            });
        }
    }

    /// The delay before the next attempt if a failure of `error` on `attempt` is retried
    /// (announcing the retry), or `None` if the task fails for good.
    fn retry_delay(&self, index: u32, attempt: u32, error: &TaskError) -> Option<Duration> {
        let task = &self.graph.tasks[index as usize];
        let max_attempts = task.retry_count().saturating_add(1);
        if attempt >= max_attempts || !task.retries_kind(&error.kind) || self.cancel.is_cancelled()
        {
            return None;
        }
        let delay = self.backoff(index, attempt);
        self.emit(Event::AttemptFailed {
            task: &task.name,
            attempt,
            max_attempts,
            error,
            retry_in: delay,
        });
        self.log(
            index,
            Level::Warning,
            format_args!(
                "Attempt {attempt}/{max_attempts} failed: {}. Retrying...",
                error.message
            ),
        );
        Some(delay)
    }

    fn backoff(&self, index: u32, attempt: u32) -> Duration {
        self.graph.tasks[index as usize]
            .backoff_value()
            .delay(attempt, self.draw())
    }

    /// Starts the next attempt now or after `delay`.
    pub(crate) fn retry(self: &Arc<Self>, index: u32, resume: Resume, delay: Duration) {
        if delay.is_zero() {
            self.dispatch(index, resume);
        } else {
            self.timer().retry(delay, index, resume);
        }
    }

    /// Hands a ready task to the run's driver from any thread.
    pub(crate) fn dispatch(self: &Arc<Self>, index: u32, resume: Resume) {
        match &self.mode {
            Mode::Pool(pools) => self.spawn_job(pools, index, resume),
            Mode::Queue(queue) => {
                queue.push(index, resume);
                self.notify();
            }
        }
    }

    /// Finishes a task from a thread that is not a driver's (a completion, the timer) and
    /// hands its ready dependents to the driver.
    pub(crate) fn finish_elsewhere(self: &Arc<Self>, index: u32, end: Final) {
        let mut ready = Vec::new();
        let mut tally = 0;
        self.finish(index, end, &mut ready, &mut tally);
        self.hand_over(ready, tally);
    }

    /// Hands tasks made ready off a driver's thread to the driver, and counts those ended.
    pub(crate) fn hand_over(self: &Arc<Self>, ready: Vec<u32>, tally: usize) {
        for task in ready {
            self.dispatch(task, Resume::FIRST);
        }
        self.add_done(tally);
    }

    /// Applies the outcome of an attempt settled outside the calling thread.
    pub(crate) fn settle_attempt(
        self: &Arc<Self>,
        cell: &AttemptCell,
        outcome: Result<Value, TaskError>,
    ) {
        let end = match outcome {
            Ok(result) => Final {
                status: Status::Success,
                result,
                error: None,
                attempts: cell.attempt,
                first_start: cell.first_start,
            },
            Err(_) if self.cancel.is_cancelled() => {
                Final::interrupted(cell.attempt, cell.first_start)
            }
            Err(mut error) => match self.retry_delay(cell.task, cell.attempt, &error) {
                Some(_) if cell.defer_retry() => return,
                Some(delay) => {
                    let resume = Resume {
                        attempt: cell.attempt,
                        first_start: cell.first_start,
                    };
                    self.retry(cell.task, resume.next(cell.first_start), delay);
                    return;
                }
                None => {
                    merge_traced(&mut error, cell.take_traced());
                    errored(Box::new(error), cell.attempt, cell.first_start)
                }
            },
        };
        self.finish_elsewhere(cell.task, end);
    }

    /// A completion handle's call.
    pub(crate) fn complete_attempt(
        self: &Arc<Self>,
        cell: &AttemptCell,
        outcome: Result<Value, TaskError>,
    ) -> Result<(), RunError> {
        let abandoned = |reason| RunError::Abandoned {
            task: self.task_name(cell.task).to_owned(),
            attempt: cell.attempt,
            reason,
        };
        if self.cancel.is_cancelled() {
            // The sweep ends the task as cancelled, whatever the attempt would have said.
            return Err(abandoned("run cancelled"));
        }
        match cell.settle() {
            Ok(()) => {}
            Err(Settled::Already) => {
                return Err(RunError::AlreadyCompleted {
                    task: self.task_name(cell.task).to_owned(),
                    attempt: cell.attempt,
                })
            }
            Err(Settled::TimedOut) => return Err(abandoned("timed out")),
        }
        if self.is_ended(cell.task) {
            return Err(abandoned("run cancelled"));
        }
        self.attempt_over();
        self.settle_attempt(cell, outcome);
        Ok(())
    }

    /// An attempt handed to the host ended (settled or timed out).
    pub(crate) fn attempt_over(&self) {
        let released = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        if released.is_ok() {
            self.notify();
        }
    }

    /// The timer's call when an attempt's timeout expires.
    pub(crate) fn expire(self: &Arc<Self>, cell: &AttemptCell) {
        let task = &self.graph.tasks[cell.task as usize];
        let timeout = task.timeout_value().unwrap_or_default();
        let error = TaskError::with_kind(
            ErrorKind::Timeout,
            format!("attempt {} timed out after {:?}", cell.attempt, timeout),
        );
        let max_attempts = task.retry_count().saturating_add(1);
        let may_retry = cell.attempt < max_attempts
            && task.retries_kind(&ErrorKind::Timeout)
            && !self.cancel.is_cancelled();
        let Some(executing) = cell.time_out(may_retry) else {
            return;
        };
        if executing {
            // A sequential run waiting for this callback goes on without it.
            self.release_aside(None);
        } else {
            self.attempt_over();
        }
        if !may_retry {
            let end = errored(Box::new(error), cell.attempt, cell.first_start);
            self.finish_elsewhere(cell.task, end);
            return;
        }
        let delay = self
            .retry_delay(cell.task, cell.attempt, &error)
            .unwrap_or_default();
        if !executing {
            let resume = Resume {
                attempt: cell.attempt,
                first_start: cell.first_start,
            };
            self.retry(cell.task, resume.next(cell.first_start), delay);
        }
    }

    /// Builds the report; only called once every task ended.
    pub(crate) fn report(&self) -> Report {
        Report {
            process_name: self.process_name.clone(),
            graph: self.graph.clone(),
            records: self.records.clone(),
            downstream: self.downstream(),
            started_at: self.started_at,
            elapsed: self.started.elapsed(),
            cancelled: self.cancel.is_cancelled(),
        }
    }

    /// For each errored task, the skipped tasks reachable from it through skipped tasks, in
    /// topological order. Iterative; one visit stamp per task serves every failure.
    fn downstream(&self) -> Vec<(u32, Box<[u32]>)> {
        if !self.any_errored.load(Ordering::Relaxed) {
            return Vec::new();
        }
        let status = |i: u32| self.records.status(i);
        let failed: Vec<u32> = (0..self.total() as u32)
            .filter(|&i| status(i) == Some(Status::Errored))
            .collect();
        if failed.is_empty() {
            return Vec::new();
        }
        let order = self.graph.topology.order();
        let mut position = vec![0u32; order.len()];
        for (at, &task) in order.iter().enumerate() {
            position[task as usize] = at as u32;
        }
        let mut stamp = vec![u32::MAX; order.len()];
        let mut stack = Vec::new();
        failed
            .into_iter()
            .enumerate()
            .map(|(round, root)| {
                let mut found = Vec::new();
                stack.push(root);
                while let Some(task) = stack.pop() {
                    for &next in self.graph.topology.successors(task) {
                        if stamp[next as usize] != round as u32
                            && status(next) == Some(Status::Skipped)
                        {
                            stamp[next as usize] = round as u32;
                            found.push(next);
                            stack.push(next);
                        }
                    }
                }
                found.sort_unstable_by_key(|&t| position[t as usize]);
                (root, found.into_boxed_slice())
            })
            .collect()
    }

    /// Announces the end of the run.
    pub(crate) fn announce_end(&self) {
        if let Some(timer) = self.timer.get() {
            timer.stop();
        }
        self.emit(Event::RunFinished {
            done: self.done.load(Ordering::Acquire),
            total: self.total(),
            cancelled: self.cancel.is_cancelled(),
        });
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // A run that ended every task through its dependencies put every count back to zero.
        let zero = !*self.counts_left.get_mut() && self.is_finished();
        WAITING.put(std::mem::take(&mut self.waiting), zero);
    }
}

fn errored(error: Box<TaskError>, attempts: u32, first_start: u64) -> Final {
    Final {
        status: Status::Errored,
        result: Value::Null,
        error: Some(error),
        attempts,
        first_start,
    }
}

/// Adds the variables the context traced to those the error already carries.
fn merge_traced(error: &mut TaskError, traced: Vec<crate::error::TracedVar>) {
    for var in traced {
        if !error.traced_vars.iter().any(|v| v.name == var.name) {
            error.traced_vars.push(var);
        }
    }
}

/// The failure of an attempt whose callback panicked with `payload`: kind `panic`, with the
/// panic's message.
fn panic_failure(payload: Box<dyn std::any::Any + Send>) -> TaskError {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the callback panicked".to_owned());
    TaskError::with_kind(ErrorKind::Panic, message)
}
