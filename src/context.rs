//! What a callback sees: its task, its arguments, cancellation, logging and traced variables.

use std::borrow::Cow;
use std::cell::{Cell, OnceCell, RefCell};
use std::fmt;
use std::sync::Arc;

use compact_str::CompactString;

use crate::error::{set_traced, RunError, TracedVar};
use crate::logs::Level;
use crate::run::attempt::{AttemptCell, Completion};
use crate::run::cancel::CancelToken;
use crate::run::engine::Shared;
use crate::task::{Injection, Injects, Task};
use crate::value::Value;

/// The context of one attempt of one task, handed to its callback.
///
/// It lives on the thread that calls the callback and only for that call; what must outlive
/// the call (a [`Completion`], a [`CancelToken`]) is taken out of it explicitly.
pub struct TaskContext<'a> {
    pub(crate) shared: &'a Arc<Shared>,
    pub(crate) task: &'a Task,
    pub(crate) index: u32,
    pub(crate) attempt: u32,
    pub(crate) first_start: u64,
    pub(crate) args: Cow<'a, [Value]>,
    pub(crate) kwargs: Cow<'a, [(CompactString, Value)]>,
    pub(crate) cell: OnceCell<Arc<AttemptCell>>,
    pub(crate) traced: RefCell<Vec<TracedVar>>,
    /// Whether the callback took a completion handle, without which it may not answer
    /// pending.
    pub(crate) completion_taken: Cell<bool>,
}

impl<'a> TaskContext<'a> {
    /// Builds the context of `task`'s attempt: static arguments first, then injected results
    /// in declaration order; an injected named argument replaces a static one of that name.
    #[inline(always)]
    pub(crate) fn new(
        shared: &'a Arc<Shared>,
        index: u32,
        attempt: u32,
        first_start: u64,
        cell: Option<Arc<AttemptCell>>,
    ) -> TaskContext<'a> {
        let task = &shared.graph.tasks[index as usize];
        let (args, kwargs) = match task.injects {
            // Built right in the returned context; nothing is copied there afterwards.
            Injects::Nothing => (Cow::Borrowed(&task.args[..]), Cow::Borrowed(task.kwargs())),
            _ => arguments(shared, task, index),
        };
        TaskContext {
            shared,
            task,
            index,
            attempt,
            first_start,
            args,
            kwargs,
            cell: cell.map_or_else(OnceCell::new, OnceCell::from),
            traced: RefCell::new(Vec::new()),
            completion_taken: Cell::new(false),
        }
    }

    /// The task's name (lowercase).
    pub fn name(&self) -> &str {
        &self.task.name
    }

    /// The process's name.
    pub fn process_name(&self) -> &str {
        &self.shared.process_name
    }

    /// The attempt number, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Positional arguments: static ones, then injected results.
    pub fn args(&self) -> &[Value] {
        &self.args
    }

    /// The positional argument at `index`.
    pub fn arg(&self, index: usize) -> Result<&Value, RunError> {
        self.args.get(index).ok_or_else(|| RunError::ArgumentIndex {
            task: self.task.name.to_string(),
            index,
            len: self.args.len(),
        })
    }

    /// Named arguments: static ones, then injected ones.
    pub fn kwargs(&self) -> &[(CompactString, Value)] {
        &self.kwargs
    }

    /// The named argument `name`, if present.
    pub fn kwarg(&self, name: &str) -> Option<&Value> {
        self.kwargs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// Whether this attempt should stop: the run was cancelled or the attempt timed out.
    pub fn is_cancelled(&self) -> bool {
        self.shared.cancel.is_cancelled() || self.cell.get().is_some_and(|c| c.token.is_cancelled())
    }

    /// A token that turns cancelled when the run is cancelled or this attempt times out; it
    /// may be moved to other threads.
    pub fn cancel_token(&self) -> CancelToken {
        self.cell().token.clone()
    }

    /// The handle that settles this attempt later, from any thread. Return
    /// [`crate::Outcome::Pending`] from the callback after taking it.
    pub fn completion(&self) -> Completion {
        let cell = self.cell();
        if !self.completion_taken.replace(true) {
            // From now on the attempt may be completed from another thread at any moment, so
            // what the callback traces lives where that completion finds it.
            cell.append_traced(self.traced.take());
        }
        Completion::new(self.shared.clone(), cell.clone())
    }

    fn cell(&self) -> &Arc<AttemptCell> {
        self.cell.get_or_init(|| {
            Arc::new(AttemptCell::new(
                &self.shared.cancel,
                self.index,
                self.attempt,
                self.first_start,
                true,
            ))
        })
    }

    /// Records a variable to show in the failure context if this attempt fails.
    pub fn trace(&self, name: &str, value: impl fmt::Debug) {
        let value = format!("{value:?}");
        match self.cell.get() {
            Some(cell) if self.completion_taken.get() => cell.trace(name, value),
            _ => set_traced(&mut self.traced.borrow_mut(), name, value),
        }
    }

    /// Writes a line to the task's log at `level` (nothing when the task has no log file or
    /// the level is below its threshold).
    pub fn log(&self, level: Level, message: impl fmt::Display) {
        self.shared
            .log(self.index, level, format_args!("{message}"));
    }

    /// [`TaskContext::log`] at debug level.
    pub fn debug(&self, message: impl fmt::Display) {
        self.log(Level::Debug, message);
    }

    /// [`TaskContext::log`] at info level.
    pub fn info(&self, message: impl fmt::Display) {
        self.log(Level::Info, message);
    }

    /// [`TaskContext::log`] at warning level.
    pub fn warning(&self, message: impl fmt::Display) {
        self.log(Level::Warning, message);
    }

    /// [`TaskContext::log`] at error level.
    pub fn error(&self, message: impl fmt::Display) {
        self.log(Level::Error, message);
    }
}

type Kwargs = [(CompactString, Value)];

/// The arguments of `task` for a run: borrowed when nothing is injected, otherwise built from
/// the static ones plus the results of dependencies that succeeded.
pub(crate) fn arguments<'a>(
    shared: &'a Shared,
    task: &'a Task,
    index: u32,
) -> (Cow<'a, [Value]>, Cow<'a, Kwargs>) {
    let mut args = Cow::Borrowed(&task.args[..]);
    let mut kwargs = Cow::Borrowed(task.kwargs());
    if task.injects != Injects::Nothing {
        inject(shared, task, index, &mut args, &mut kwargs);
    }
    (args, kwargs)
}

/// Adds to the static arguments of `task` the results of its dependencies that succeeded.
#[inline(never)]
fn inject<'a>(
    shared: &'a Shared,
    task: &'a Task,
    index: u32,
    args: &mut Cow<'a, [Value]>,
    kwargs: &mut Cow<'a, Kwargs>,
) {
    let targets = shared.graph.topology.dependencies(index);
    if task.injects == Injects::AllPositional {
        // The common case reads only the compact dependency rows.
        let mut all = Vec::with_capacity(task.args.len() + targets.len());
        all.extend_from_slice(&task.args);
        all.extend(targets.iter().filter_map(|&t| shared.result_of(t)));
        *args = Cow::Owned(all);
        return;
    }
    for (dep, &target) in task.dependencies.iter().zip(targets) {
        if dep.injection == Injection::None {
            continue;
        }
        let Some(value) = shared.result_of(target) else {
            continue;
        };
        match &dep.injection {
            Injection::None => {}
            Injection::Positional => args.to_mut().push(value),
            Injection::Named(name) => set_kwarg(kwargs.to_mut(), name, value),
            Injection::Both(name) => {
                args.to_mut().push(value.clone());
                set_kwarg(kwargs.to_mut(), name, value);
            }
        }
    }
}

fn set_kwarg(kwargs: &mut Vec<(CompactString, Value)>, name: &CompactString, value: Value) {
    match kwargs.iter_mut().find(|(k, _)| k == name) {
        Some(slot) => slot.1 = value,
        None => kwargs.push((name.clone(), value)),
    }
}
