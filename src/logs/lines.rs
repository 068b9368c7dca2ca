//! What the engine writes to task logs: how each task ended, and for a failure the context a
//! reader needs (function, arguments, what it took down, traced variables, traceback).
//!
//! Every line is written by the thread that ends the task, before its report entry is written,
//! so that a log error met on the way still reaches the entry.
//!
//! The downstream impact of a failure is worked out when the failure happens rather than at
//! the end of the run, so the block is written where it belongs in the log: the tasks a
//! failure takes down are exactly its transitive dependents reached through tasks that need all
//! their dependencies to succeed (a task that runs whatever happened, `TriggerRule::AllDone`,
//! stops the spread). If the run is cancelled meanwhile, some of them end cancelled instead of
//! skipped; the report's own list, built at the end, leaves those out.

use std::collections::HashSet;
use std::fmt::{self, Write};

use super::registry::TaskLog;
use super::traceback;
use super::Level;
use crate::context::arguments;
use crate::error::TaskError;
use crate::report::{Detail, Status};
use crate::run::engine::Shared;
use crate::task::TriggerRule;

impl Shared {
    /// Writes a record to `task`'s log if `level` passes its threshold; a failed write is
    /// noted for the task's report entry and otherwise ignored.
    #[inline(never)]
    pub(crate) fn write_log(
        &self,
        task: u32,
        log: &TaskLog,
        level: Level,
        message: fmt::Arguments<'_>,
    ) {
        if !log.enabled(level) {
            return;
        }
        if let Err(error) = log.write(level, message) {
            self.log_faults.note(task, || log.describe(&error));
        }
    }

    /// Writes the line saying how `task` ended and returns the task's first log error, if any.
    /// Does nothing for a task without a log file.
    #[inline]
    pub(crate) fn log_end(
        &self,
        task: u32,
        status: Status,
        error: Option<&TaskError>,
    ) -> Option<String> {
        let log = self.graph.logs.get(task)?;
        self.log_end_to(log, task, status, error)
    }

    #[inline(never)]
    fn log_end_to(
        &self,
        log: &TaskLog,
        task: u32,
        status: Status,
        error: Option<&TaskError>,
    ) -> Option<String> {
        let name = self.task_name(task);
        match (status, error) {
            (Status::Success, _) => {
                self.write_log(task, log, Level::Info, format_args!("Finished {name}."));
            }
            (Status::Errored, Some(error)) if log.enabled(Level::Error) => {
                let block = self.failure_block(task, error);
                self.write_log(task, log, Level::Error, format_args!("{block}"));
            }
            (Status::Errored, _) => {}
            (Status::Skipped, _) => {
                // The first dependency that did not succeed, as the report names it.
                let cause = (self.graph.topology.dependencies(task).iter())
                    .find(|&&d| self.result_of(d).is_none())
                    .map_or("?", |&d| self.task_name(d));
                let line = format_args!("Skipped {name}: dependency {cause} did not succeed.");
                self.write_log(task, log, Level::Info, line);
            }
            (Status::Cancelled, _) => {
                let line = format_args!("Cancelled {name}: the run was cancelled.");
                self.write_log(task, log, Level::Info, line);
            }
        }
        self.log_faults.take(task)
    }

    /// The detail of a task that ended with `error`: its traced-variables location found, its
    /// failure written to its log, and any log error met on the way.
    #[inline(never)]
    pub(crate) fn failure_detail(
        &self,
        task: u32,
        status: Status,
        mut error: TaskError,
    ) -> Box<Detail> {
        let filter = self.graph.tasks[task as usize].frame_filter_value();
        traceback::locate(&mut error, filter);
        let log_error = self.log_end(task, status, Some(&error));
        Box::new(Detail {
            error: Some(error),
            log_error,
        })
    }

    /// The message of a failure's ERROR record: a first line, then the context block.
    fn failure_block(&self, task: u32, error: &TaskError) -> String {
        let spec = &self.graph.tasks[task as usize];
        let (args, kwargs) = arguments(self, spec, task);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Failed {} ({}): {}",
            spec.name, error.kind, error.message
        );
        let _ = writeln!(out, "Function: {}", spec.function_label());
        let _ = writeln!(out, "Args: {}", List(&args));
        let _ = writeln!(out, "Kwargs: {}", Map(&kwargs));
        let doomed = self.doomed_by(task);
        let doomed = doomed.iter().map(|&t| self.task_name(t));
        let _ = writeln!(out, "Downstream impact: {}", Joined(doomed));
        let location = error.location.as_deref().unwrap_or("-");
        let _ = writeln!(out, "Traced vars location: {location}");
        if error.traced_vars.is_empty() {
            out.push_str("Traced vars: -\n");
        } else {
            out.push_str("Traced vars:\n");
            for var in &error.traced_vars {
                let _ = writeln!(out, "  {} = {}", var.name, var.value);
            }
        }
        match &error.traceback {
            Some(text) => {
                out.push_str("Traceback:\n");
                out.push_str(text.trim_end());
            }
            None => out.push_str("Traceback: -"),
        }
        out
    }

    /// The tasks a failure of `failed` takes down, in topological order.
    fn doomed_by(&self, failed: u32) -> Vec<u32> {
        let topology = &self.graph.topology;
        let mut seen = HashSet::new();
        let mut stack = vec![failed];
        let mut found = Vec::new();
        while let Some(task) = stack.pop() {
            for &next in topology.successors(task) {
                let spreads = self.graph.tasks[next as usize].trigger == TriggerRule::AllSuccess;
                if spreads && seen.insert(next) {
                    found.push(next);
                    stack.push(next);
                }
            }
        }
        found.sort_unstable_by_key(|&t| topology.position(t));
        found
    }
}

/// The detail of a task that has no failure to report but whose log could not be written.
#[inline]
pub(crate) fn log_detail(log_error: Option<String>) -> Option<Box<Detail>> {
    log_error.map(|log_error| {
        Box::new(Detail {
            error: None,
            log_error: Some(log_error),
        })
    })
}

/// `[a, b]` with each value's debug text.
struct List<'a>(&'a [crate::value::Value]);

impl fmt::Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (at, value) in self.0.iter().enumerate() {
            let comma = if at > 0 { ", " } else { "" };
            write!(f, "{comma}{value:?}")?;
        }
        f.write_str("]")
    }
}

/// `{name: value, ...}` with each value's debug text.
struct Map<'a>(&'a [(compact_str::CompactString, crate::value::Value)]);

impl fmt::Display for Map<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (at, (name, value)) in self.0.iter().enumerate() {
            let comma = if at > 0 { ", " } else { "" };
            write!(f, "{comma}{name}: {value:?}")?;
        }
        f.write_str("}")
    }
}

/// Names joined with `, `, or `-` when there are none.
struct Joined<I>(I);

impl<'a, I: Iterator<Item = &'a str> + Clone> fmt::Display for Joined<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names = self.0.clone().peekable();
        if names.peek().is_none() {
            return f.write_str("-");
        }
        for (at, name) in names.enumerate() {
            let comma = if at > 0 { ", " } else { "" };
            write!(f, "{comma}{name}")?;
        }
        Ok(())
    }
}
