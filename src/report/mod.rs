//! What a run leaves behind: one entry per task, in topological order.
//!
//! A [`Report`] shares the run's graph (names, function labels, static arguments) instead of
//! copying it, so a report of a million tasks costs little more than the run's own records.

mod json;
mod records;

pub(crate) use records::{Record, Records, Swept};

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::error::{ErrorKind, TaskError, TracedVar};
use crate::graph::Graph;
use crate::run::clock;
use crate::value::Value;

/// How a task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// The callback succeeded.
    Success,
    /// Every attempt failed.
    Errored,
    /// Not run because a dependency did not succeed.
    Skipped,
    /// Not run, or interrupted, because the run was cancelled.
    Cancelled,
}

impl Status {
    /// The status as written in reports and JSON (`success`, `errored`, `skipped`,
    /// `cancelled`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "success",
            Status::Errored => "errored",
            Status::Skipped => "skipped",
            Status::Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The rarer parts of a record.
#[derive(Debug, Default)]
pub(crate) struct Detail {
    pub(crate) error: Option<TaskError>,
    pub(crate) log_error: Option<String>,
}

/// The outcome of one run of a process.
pub struct Report {
    pub(crate) process_name: Arc<str>,
    pub(crate) graph: Arc<Graph>,
    pub(crate) records: Arc<Records>,
    /// For each errored task (by index), the tasks it took down, in topological order.
    pub(crate) downstream: Vec<(u32, Box<[u32]>)>,
    pub(crate) started_at: SystemTime,
    pub(crate) elapsed: Duration,
    pub(crate) cancelled: bool,
}

impl std::fmt::Debug for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report")
            .field("process_name", &self.process_name)
            .field("counts", &self.counts())
            .field("cancelled", &self.cancelled)
            .finish_non_exhaustive()
    }
}

impl Report {
    /// The process's name.
    pub fn process_name(&self) -> &str {
        &self.process_name
    }

    /// Wall-clock time the run started.
    pub fn started_at(&self) -> SystemTime {
        self.started_at
    }

    /// Wall-clock time the run finished.
    pub fn finished_at(&self) -> SystemTime {
        self.started_at + self.elapsed
    }

    /// How long the run took.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Whether the run was cancelled.
    pub fn was_cancelled(&self) -> bool {
        self.cancelled
    }

    /// How many tasks the report covers.
    pub fn len(&self) -> usize {
        self.graph.tasks.len()
    }

    /// Whether the report covers no task.
    pub fn is_empty(&self) -> bool {
        self.graph.tasks.is_empty()
    }

    /// Every entry, in topological order.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = Entry<'_>> + '_ {
        self.graph
            .topology
            .order()
            .iter()
            .map(move |&index| self.entry_at(index))
    }

    /// The entry of the task with this name (case-insensitive).
    pub fn entry(&self, name: &str) -> Option<Entry<'_>> {
        let name = crate::task::normalize(name);
        self.graph.find(&name).map(|index| self.entry_at(index))
    }

    /// Entries that succeeded, in topological order.
    pub fn successes(&self) -> impl Iterator<Item = Entry<'_>> + '_ {
        self.with_status(Status::Success)
    }

    /// Entries that errored, in topological order.
    pub fn errored(&self) -> impl Iterator<Item = Entry<'_>> + '_ {
        self.with_status(Status::Errored)
    }

    /// Entries that were skipped, in topological order.
    pub fn skipped(&self) -> impl Iterator<Item = Entry<'_>> + '_ {
        self.with_status(Status::Skipped)
    }

    /// Entries that were cancelled, in topological order.
    pub fn cancelled(&self) -> impl Iterator<Item = Entry<'_>> + '_ {
        self.with_status(Status::Cancelled)
    }

    /// Entries with `status`, in topological order.
    pub fn with_status(&self, status: Status) -> impl Iterator<Item = Entry<'_>> + '_ {
        self.entries().filter(move |e| e.status() == status)
    }

    /// How many entries have each status: success, errored, skipped, cancelled.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for index in 0..self.records.len() as u32 {
            match self.records.status(index).unwrap_or(Status::Cancelled) {
                Status::Success => counts.success += 1,
                Status::Errored => counts.errored += 1,
                Status::Skipped => counts.skipped += 1,
                Status::Cancelled => counts.cancelled += 1,
            }
        }
        counts
    }

    /// Whether every task succeeded.
    pub fn all_succeeded(&self) -> bool {
        self.counts().success == self.len()
    }

    fn entry_at(&self, index: u32) -> Entry<'_> {
        Entry {
            report: self,
            index,
            record: self.records.get(index).unwrap_or(records::MISSING),
        }
    }
}

/// How many entries of a report have each status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Entries that succeeded.
    pub success: usize,
    /// Entries that errored.
    pub errored: usize,
    /// Entries that were skipped.
    pub skipped: usize,
    /// Entries that were cancelled.
    pub cancelled: usize,
}

/// One task's line in a report.
#[derive(Clone, Copy)]
pub struct Entry<'r> {
    report: &'r Report,
    index: u32,
    record: Record<'r>,
}

impl<'r> Entry<'r> {
    fn task(&self) -> &'r crate::task::Task {
        &self.report.graph.tasks[self.index as usize]
    }

    /// The task's name (lowercase).
    pub fn name(&self) -> &'r str {
        &self.task().name
    }

    /// The function label: the one the task set, or its name.
    pub fn function(&self) -> &'r str {
        self.task().function_label()
    }

    /// The static positional arguments.
    pub fn args(&self) -> &'r [Value] {
        self.task().args()
    }

    /// The static named arguments.
    pub fn kwargs(&self) -> &'r [(compact_str::CompactString, Value)] {
        self.task().kwargs()
    }

    /// How the task ended.
    pub fn status(&self) -> Status {
        self.record.status
    }

    /// Time from the first attempt's start to the task's end (monotonic clock); zero for a
    /// task that never started.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(clock::nanos(
            self.record.end.saturating_sub(self.record.start),
        ))
    }

    /// How many attempts started.
    pub fn attempts(&self) -> u32 {
        self.record.attempts
    }

    /// When the first attempt started (`None` if the task never started).
    pub fn started_at(&self) -> Option<SystemTime> {
        (self.record.attempts > 0)
            .then(|| self.report.started_at + Duration::from_nanos(clock::nanos(self.record.start)))
    }

    /// When the task ended (skipped and cancelled tasks end when that was decided).
    pub fn finished_at(&self) -> SystemTime {
        self.report.started_at + Duration::from_nanos(clock::nanos(self.record.end))
    }

    /// The result, for a task that succeeded (a cheap clone: scalars are copied, anything
    /// larger is shared).
    pub fn result(&self) -> Option<Value> {
        (self.record.status == Status::Success).then(|| self.record.result())
    }

    /// The failure, for a task that errored.
    pub fn error(&self) -> Option<ErrorView<'r>> {
        let error = self.record.detail()?.error.as_ref()?;
        (self.record.status == Status::Errored).then_some(ErrorView {
            entry: *self,
            error,
        })
    }

    /// For a skipped task, the dependency that did not succeed (the first one noticed).
    pub fn skipped_because(&self) -> Option<&'r str> {
        if self.record.status != Status::Skipped {
            return None;
        }
        let graph = &self.report.graph;
        let succeeded = |d: u32| self.report.records.status(d) == Some(Status::Success);
        let cause = graph
            .topology
            .dependencies(self.index)
            .iter()
            .copied()
            .find(|&d| !succeeded(d))?;
        Some(graph.tasks[cause as usize].name.as_str())
    }

    /// A problem writing the task's log file, if one occurred; the task's outcome is not
    /// affected by it.
    pub fn log_error(&self) -> Option<&'r str> {
        self.record.detail()?.log_error.as_deref()
    }
}

/// The failure of an errored entry.
#[derive(Clone, Copy)]
pub struct ErrorView<'r> {
    entry: Entry<'r>,
    error: &'r TaskError,
}

impl<'r> ErrorView<'r> {
    /// The failure's kind.
    pub fn kind(&self) -> &'r ErrorKind {
        &self.error.kind
    }

    /// The failure's message.
    pub fn message(&self) -> &'r str {
        &self.error.message
    }

    /// The traceback text, if one was captured.
    pub fn traceback(&self) -> Option<&'r str> {
        self.error.traceback.as_deref()
    }

    /// Where the traced variables were recorded (`file:line`), if known.
    pub fn location(&self) -> Option<&'r str> {
        self.error.location.as_deref()
    }

    /// The variables traced during the failing attempt.
    pub fn traced_vars(&self) -> &'r [TracedVar] {
        &self.error.traced_vars
    }

    /// The tasks this failure took down (skipped because of it), in topological order.
    pub fn downstream(&self) -> impl ExactSizeIterator<Item = &'r str> + 'r {
        let report = self.entry.report;
        let found = report
            .downstream
            .binary_search_by_key(&self.entry.index, |(i, _)| *i)
            .map(|at| &report.downstream[at].1[..])
            .unwrap_or(&[]);
        found
            .iter()
            .map(move |&i| report.graph.tasks[i as usize].name.as_str())
    }

    /// The whole error as recorded.
    pub fn task_error(&self) -> &'r TaskError {
        self.error
    }
}
