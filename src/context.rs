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
    /// Whether the task has static arguments; without them [`TaskContext::args`] and
    /// [`TaskContext::kwargs`] do not read the task at all.
    arguments: bool,
    /// What the callback may change, lent by the thread that runs the attempt.
    pub(crate) state: &'a AttemptState,
}

/// What the callback of an attempt may change (its completion cell, the variables it traced,
/// whether it took a completion handle) and room for the arguments it is given when its
/// dependencies inject results.
///
/// A thread that runs attempts keeps one and lends it to each attempt in turn: building a
/// context then writes a few words and leaves nothing to drop, and injected arguments reuse
/// the same buffers from task to task.
pub(crate) struct AttemptState {
    pub(crate) cell: OnceCell<Arc<AttemptCell>>,
    pub(crate) traced: RefCell<Vec<TracedVar>>,
    /// Whether the callback took a completion handle, without which it may not answer
    /// pending.
    pub(crate) completion_taken: Cell<bool>,
    args: Vec<Value>,
    kwargs: Vec<(CompactString, Value)>,
    /// Whether `args` and `kwargs` hold this attempt's arguments (otherwise they are the
    /// task's static ones).
    injected: (bool, bool),
}

impl Default for AttemptState {
    fn default() -> AttemptState {
        AttemptState::new()
    }
}

impl AttemptState {
    /// A fresh state.
    pub(crate) const fn new() -> AttemptState {
        AttemptState {
            cell: OnceCell::new(),
            traced: RefCell::new(Vec::new()),
            completion_taken: Cell::new(false),
            args: Vec::new(),
            kwargs: Vec::new(),
            injected: (false, false),
        }
    }

    /// Readies the state for an attempt of `task`, whose dependencies inject as `injects`
    /// says: `cell` is the attempt's cell when it has a timeout, and the arguments are built
    /// when dependencies inject results.
    #[inline(always)]
    pub(crate) fn prepare(
        &mut self,
        shared: &Shared,
        task: &Task,
        injects: Injects,
        index: u32,
        cell: Option<Arc<AttemptCell>>,
    ) {
        if let Some(cell) = cell {
            let _ = self.cell.set(cell);
        }
        if injects != Injects::Nothing {
            self.injected = inject(shared, task, index, &mut self.args, &mut self.kwargs);
        }
    }

    /// Leaves the state as a fresh one, dropping what the last attempt left in it.
    #[inline(always)]
    pub(crate) fn reset(&mut self) {
        if self.cell.get().is_some() {
            self.cell.take();
        }
        let traced = self.traced.get_mut();
        if !traced.is_empty() {
            traced.clear();
        }
        self.completion_taken.set(false);
        if self.injected != (false, false) {
            self.args.clear();
            self.kwargs.clear();
            self.injected = (false, false);
        }
    }
}

impl<'a> TaskContext<'a> {
    /// The context of attempt `attempt` of `task` (the task at `index`), lent `state`, which
    /// [`AttemptState::prepare`] readied for it: static arguments first, then injected
    /// results in declaration order; an injected named argument replaces a static one of that
    /// name. The arguments are looked up when the callback asks for them, so a task without
    /// static arguments (`arguments` false) is not read for them at all.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        shared: &'a Arc<Shared>,
        task: &'a Task,
        arguments: bool,
        index: u32,
        attempt: u32,
        first_start: u64,
        state: &'a AttemptState,
    ) -> TaskContext<'a> {
        TaskContext {
            shared,
            task,
            index,
            attempt,
            first_start,
            arguments,
            state,
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
    pub fn args(&self) -> &'a [Value] {
        let state = self.state;
        if state.injected.0 {
            &state.args
        } else if self.arguments {
            &self.task.args
        } else {
            &[]
        }
    }

    /// The positional argument at `index`.
    pub fn arg(&self, index: usize) -> Result<&Value, RunError> {
        let args = self.args();
        args.get(index).ok_or_else(|| RunError::ArgumentIndex {
            task: self.task.name.to_string(),
            index,
            len: args.len(),
        })
    }

    /// Named arguments: static ones, then injected ones.
    pub fn kwargs(&self) -> &'a [(CompactString, Value)] {
        let state = self.state;
        if state.injected.1 {
            &state.kwargs
        } else if self.arguments {
            self.task.kwargs()
        } else {
            &[]
        }
    }

    /// The named argument `name`, if present.
    pub fn kwarg(&self, name: &str) -> Option<&Value> {
        self.kwargs()
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// Whether this attempt should stop: the run was cancelled or the attempt timed out.
    pub fn is_cancelled(&self) -> bool {
        let cell = self.state.cell.get();
        self.shared.cancel.is_cancelled() || cell.is_some_and(|c| c.token.is_cancelled())
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
        if !self.state.completion_taken.replace(true) {
            // From now on the attempt may be completed from another thread at any moment, so
            // what the callback traces lives where that completion finds it.
            cell.append_traced(self.state.traced.take());
        }
        Completion::new(self.shared.clone(), cell.clone())
    }

    fn cell(&self) -> &Arc<AttemptCell> {
        self.state.cell.get_or_init(|| {
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
        match self.state.cell.get() {
            Some(cell) if self.state.completion_taken.get() => cell.trace(name, value),
            _ => set_traced(&mut self.state.traced.borrow_mut(), name, value),
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
    let (mut args, mut kwargs) = (Vec::new(), Vec::new());
    let (args_injected, kwargs_injected) = match task.injects {
        Injects::Nothing => (false, false),
        _ => inject(shared, task, index, &mut args, &mut kwargs),
    };
    let args = match args_injected {
        true => Cow::Owned(args),
        false => Cow::Borrowed(&task.args[..]),
    };
    let kwargs = match kwargs_injected {
        true => Cow::Owned(kwargs),
        false => Cow::Borrowed(task.kwargs()),
    };
    (args, kwargs)
}

/// Builds in `args` and `kwargs` (both empty) the static arguments of `task` plus the results
/// of its dependencies that succeeded; returns which of the two it built (the other stays the
/// task's static list).
#[inline(never)]
fn inject(
    shared: &Shared,
    task: &Task,
    index: u32,
    args: &mut Vec<Value>,
    kwargs: &mut Vec<(CompactString, Value)>,
) -> (bool, bool) {
    let targets = shared.graph.topology.dependencies(index);
    if task.injects == Injects::AllPositional {
        // The common case reads only the compact dependency rows.
        args.reserve(task.args.len() + targets.len());
        args.extend_from_slice(&task.args);
        args.extend(targets.iter().filter_map(|&t| shared.result_of(t)));
        return (true, false);
    }
    let mut built = (false, false);
    for (dep, &target) in task.dependencies.iter().zip(targets) {
        if dep.injection == Injection::None {
            continue;
        }
        let Some(value) = shared.result_of(target) else {
            continue;
        };
        // The static lists are copied in the first time each of them receives a result.
        let mut positional = |value| {
            if !built.0 {
                args.extend_from_slice(&task.args);
                built.0 = true;
            }
            args.push(value);
        };
        let mut named = |name, value| {
            if !built.1 {
                kwargs.extend_from_slice(task.kwargs());
                built.1 = true;
            }
            set_kwarg(kwargs, name, value);
        };
        match &dep.injection {
            Injection::None => {}
            Injection::Positional => positional(value),
            Injection::Named(name) => named(name, value),
            Injection::Both(name) => {
                positional(value.clone());
                named(name, value);
            }
        }
    }
    built
}

fn set_kwarg(kwargs: &mut Vec<(CompactString, Value)>, name: &CompactString, value: Value) {
    match kwargs.iter_mut().find(|(k, _)| k == name) {
        Some(slot) => slot.1 = value,
        None => kwargs.push((name.clone(), value)),
    }
}
