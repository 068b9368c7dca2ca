//! Tasks and their dependencies: what a user declares before anything runs.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use compact_str::CompactString;
use thin_vec::ThinVec;

use crate::context::TaskContext;
use crate::error::{ErrorKind, TaskError};
use crate::logs::Level;
use crate::value::Value;

/// What a callback's attempt came to.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// The attempt succeeded with this result.
    Success(Value),
    /// The attempt failed (boxed, so that the outcome of a success stays small).
    Failure(Box<TaskError>),
    /// The attempt goes on elsewhere and will be settled through the completion handle taken
    /// from [`TaskContext::completion`]. It holds no pool thread meanwhile.
    Pending,
}

impl<V: Into<Value>, E: Into<TaskError>> From<Result<V, E>> for Outcome {
    fn from(result: Result<V, E>) -> Outcome {
        match result {
            Ok(value) => Outcome::Success(value.into()),
            Err(error) => Outcome::failure(error),
        }
    }
}

impl Outcome {
    /// A failed attempt.
    pub fn failure(error: impl Into<TaskError>) -> Outcome {
        Outcome::Failure(Box::new(error.into()))
    }
}

/// A task's callback. It may be called from any pool thread, and from several at once when
/// the same callback serves several tasks.
pub type Callback = Arc<dyn Fn(&TaskContext<'_>) -> Outcome + Send + Sync>;

/// How a dependency's result reaches the dependent task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Injection {
    /// Order only: the result is not passed.
    None,
    /// Appended to the positional arguments.
    Positional,
    /// Passed as the named argument with this name.
    Named(CompactString),
    /// Both appended positionally and passed by name.
    Both(CompactString),
}

/// One edge of the graph: the dependent waits for `task`, and may receive its result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    pub(crate) task: CompactString,
    pub(crate) injection: Injection,
}

impl Dependency {
    /// Waits for `task` without receiving its result.
    pub fn on(task: &str) -> Dependency {
        Dependency {
            task: normalize(task),
            injection: Injection::None,
        }
    }

    /// Waits for `task` and appends its result to the positional arguments.
    pub fn positional(task: &str) -> Dependency {
        Dependency {
            injection: Injection::Positional,
            ..Dependency::on(task)
        }
    }

    /// Waits for `task` and passes its result as the named argument `arg_name`.
    pub fn named(task: &str, arg_name: &str) -> Dependency {
        Dependency {
            injection: Injection::Named(arg_name.into()),
            ..Dependency::on(task)
        }
    }

    /// Waits for `task` and passes its result both positionally and as `arg_name`.
    pub fn both(task: &str, arg_name: &str) -> Dependency {
        Dependency {
            injection: Injection::Both(arg_name.into()),
            ..Dependency::on(task)
        }
    }

    /// The name of the task waited for (lowercase).
    pub fn task(&self) -> &str {
        &self.task
    }

    /// How the result is injected.
    pub fn injection(&self) -> &Injection {
        &self.injection
    }
}

/// When a task may run, given how its dependencies ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TriggerRule {
    /// Every dependency succeeded; otherwise the task is skipped.
    #[default]
    AllSuccess,
    /// Every dependency finished, whatever the outcome: for cleanup and notification tasks.
    /// Results of dependencies that did not succeed are absent from the arguments.
    AllDone,
}

/// How long to wait before a retry.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Backoff {
    /// Retry at once.
    #[default]
    None,
    /// Wait the same delay before every retry.
    Fixed(Duration),
    /// Wait `initial * factor^(retry - 1)`, at most `max`, with up to `jitter` (0 to 1) of
    /// the delay taken off at random so that retries of many tasks spread out.
    Exponential {
        /// Delay before the first retry.
        initial: Duration,
        /// Growth per retry (at least 1).
        factor: f64,
        /// Ceiling of the delay.
        max: Duration,
        /// Fraction of the delay that may be removed at random, from 0 to 1.
        jitter: f64,
    },
}

impl Backoff {
    /// The delay before retry number `retry` (1 for the first retry), given a random draw in
    /// `[0, 1)`.
    pub fn delay(&self, retry: u32, draw: f64) -> Duration {
        match *self {
            Backoff::None => Duration::ZERO,
            Backoff::Fixed(delay) => delay,
            Backoff::Exponential {
                initial,
                factor,
                max,
                jitter,
            } => {
                let grown = initial.as_secs_f64() * factor.powi(retry.saturating_sub(1) as i32);
                let capped = grown.min(max.as_secs_f64());
                // A ceiling near `Duration::MAX` does not survive the trip through f64.
                Duration::try_from_secs_f64((capped * (1.0 - jitter * draw)).max(0.0))
                    .unwrap_or(max)
            }
        }
    }
}

/// Settings most tasks leave at their defaults, kept out of line to keep [`Task`] small.
#[derive(Clone, Debug, Default)]
pub(crate) struct TaskOptions {
    pub(crate) kwargs: Vec<(CompactString, Value)>,
    pub(crate) log_file: Option<PathBuf>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retries: u32,
    pub(crate) retry_on: Option<Vec<ErrorKind>>,
    pub(crate) backoff: Backoff,
    pub(crate) function: Option<Arc<str>>,
    pub(crate) frame_filter: Option<String>,
    pub(crate) log_level: Level,
}

/// The failure kinds retried when a task has retries but no filter, as upstream.
pub const DEFAULT_RETRY_KINDS: [ErrorKind; 2] = [ErrorKind::Timeout, ErrorKind::Connection];

/// A named unit of work: a callback, its static arguments, what it waits for, and how it is
/// retried and timed.
///
/// Names are compared case-insensitively and stored in lowercase. A task is kept small (its
/// lists are one pointer each, rare settings live out of line) because a process may hold a
/// million of them.
#[derive(Clone)]
pub struct Task {
    pub(crate) name: CompactString,
    pub(crate) callback: Callback,
    pub(crate) args: ThinVec<Value>,
    pub(crate) dependencies: ThinVec<Dependency>,
    pub(crate) options: Option<Box<TaskOptions>>,
    pub(crate) trigger: TriggerRule,
    /// How the dependencies inject their results, so that tasks that only wait skip building
    /// arguments and tasks that only take positional results skip their dependency list.
    pub(crate) injects: Injects,
}

/// What a task's dependencies inject, summed up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Injects {
    /// Nothing (no dependency, or order only).
    Nothing,
    /// Every dependency appends its result positionally.
    AllPositional,
    /// Anything else.
    Mixed,
}

impl Injects {
    /// The summary once `injection` joins dependencies summed up as `self`.
    fn with(self, injection: &Injection, first: bool) -> Injects {
        match (self, injection) {
            (Injects::Nothing, Injection::None) => Injects::Nothing,
            (Injects::Nothing, Injection::Positional) if first => Injects::AllPositional,
            (Injects::AllPositional, Injection::Positional) => Injects::AllPositional,
            _ => Injects::Mixed,
        }
    }
}

impl Task {
    /// A task whose callback returns `Ok(result)` or `Err(failure)`.
    pub fn new<F, V, E>(name: &str, callback: F) -> Task
    where
        F: Fn(&TaskContext<'_>) -> Result<V, E> + Send + Sync + 'static,
        V: Into<Value>,
        E: Into<TaskError>,
    {
        Task::with_callback(name, Arc::new(move |ctx| callback(ctx).into()))
    }

    /// A task whose callback returns an [`Outcome`], so that it may also answer
    /// [`Outcome::Pending`] and complete later.
    pub fn with_outcome<F>(name: &str, callback: F) -> Task
    where
        F: Fn(&TaskContext<'_>) -> Outcome + Send + Sync + 'static,
    {
        Task::with_callback(name, Arc::new(callback))
    }

    /// A task with a callback that is already shared (one callback may serve many tasks).
    pub fn with_callback(name: &str, callback: Callback) -> Task {
        Task {
            name: normalize(name),
            callback,
            args: ThinVec::new(),
            dependencies: ThinVec::new(),
            options: None,
            trigger: TriggerRule::AllSuccess,
            injects: Injects::Nothing,
        }
    }

    fn options_mut(&mut self) -> &mut TaskOptions {
        self.options.get_or_insert_with(Default::default)
    }

    /// Appends a static positional argument.
    pub fn arg(mut self, value: impl Into<Value>) -> Task {
        self.args.push(value.into());
        self
    }

    /// Sets a static named argument (replacing one of the same name).
    pub fn kwarg(mut self, name: &str, value: impl Into<Value>) -> Task {
        let kwargs = &mut self.options_mut().kwargs;
        let value = value.into();
        match kwargs.iter_mut().find(|(key, _)| key == name) {
            Some(slot) => slot.1 = value,
            None => kwargs.push((name.into(), value)),
        }
        self
    }

    /// Adds a dependency.
    pub fn dependency(mut self, dependency: Dependency) -> Task {
        // Updated from the new dependency alone: a sink declared with a hundred thousand
        // dependencies must not rescan its list on each one.
        let first = self.dependencies.is_empty();
        self.injects = self.injects.with(&dependency.injection, first);
        self.dependencies.push(dependency);
        self
    }

    pub(crate) fn refresh_injects(&mut self) {
        self.injects = (self.dependencies.iter().enumerate())
            .fold(Injects::Nothing, |sum, (at, d)| {
                sum.with(&d.injection, at == 0)
            });
    }

    /// Waits for `task` (order only).
    pub fn after(self, task: &str) -> Task {
        self.dependency(Dependency::on(task))
    }

    /// Waits for `task` and appends its result to the positional arguments.
    pub fn inject(self, task: &str) -> Task {
        self.dependency(Dependency::positional(task))
    }

    /// Waits for `task` and passes its result as the named argument `arg_name`.
    pub fn inject_named(self, task: &str, arg_name: &str) -> Task {
        self.dependency(Dependency::named(task, arg_name))
    }

    /// Writes this task's log records to `path`; tasks naming the same file share it.
    ///
    /// The file is opened for appending (and created) when the task is added to a process; a
    /// missing folder or a permission problem is refused then, naming the task and the path.
    pub fn log_file(mut self, path: impl Into<PathBuf>) -> Task {
        self.options_mut().log_file = Some(path.into());
        self
    }

    /// Fails an attempt with kind `timeout` when it runs longer than `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Task {
        self.options_mut().timeout = Some(timeout);
        self
    }

    /// Allows `retries` extra attempts after a failure whose kind passes the retry filter.
    pub fn retries(mut self, retries: u32) -> Task {
        self.options_mut().retries = retries;
        self
    }

    /// Retries only failures of these kinds (default: `timeout` and `connection`).
    pub fn retry_on(mut self, kinds: impl IntoIterator<Item = ErrorKind>) -> Task {
        self.options_mut().retry_on = Some(kinds.into_iter().collect());
        self
    }

    /// Waits before each retry.
    pub fn backoff(mut self, backoff: Backoff) -> Task {
        self.options_mut().backoff = backoff;
        self
    }

    /// Sets when the task may run given its dependencies' outcomes.
    pub fn trigger(mut self, rule: TriggerRule) -> Task {
        self.trigger = rule;
        self
    }

    /// The function name shown in reports and logs (SDKs pass the callback's name).
    pub fn function(mut self, label: &str) -> Task {
        self.options_mut().function = Some(label.into());
        self
    }

    /// Picks the traced-variables location: the innermost frame whose file or symbol contains
    /// `filter`. When no frame matches, the innermost frame outside this library, the Rust
    /// runtime and the language runtimes is kept, as without a filter.
    pub fn frame_filter(mut self, filter: &str) -> Task {
        self.options_mut().frame_filter = Some(filter.to_owned());
        self
    }

    /// The lowest level written to the task's log (default: info).
    pub fn log_level(mut self, level: Level) -> Task {
        self.options_mut().log_level = level;
        self
    }

    /// The task's name (lowercase).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The static positional arguments.
    pub fn args(&self) -> &[Value] {
        &self.args
    }

    /// The static named arguments, in the order they were set.
    pub fn kwargs(&self) -> &[(CompactString, Value)] {
        self.options.as_ref().map_or(&[], |o| &o.kwargs)
    }

    /// The dependencies, in declaration order.
    pub fn dependencies(&self) -> &[Dependency] {
        &self.dependencies
    }

    /// The function label: the one set, or the task's name.
    pub fn function_label(&self) -> &str {
        self.options
            .as_ref()
            .and_then(|o| o.function.as_deref())
            .unwrap_or(&self.name)
    }

    /// The log file, if any.
    pub fn log_path(&self) -> Option<&std::path::Path> {
        self.options.as_ref().and_then(|o| o.log_file.as_deref())
    }

    /// The per-attempt timeout, if any.
    pub fn timeout_value(&self) -> Option<Duration> {
        self.options.as_ref().and_then(|o| o.timeout)
    }

    pub(crate) fn has_timeout(&self) -> bool {
        self.options.as_ref().is_some_and(|o| o.timeout.is_some())
    }

    /// How many extra attempts are allowed.
    pub fn retry_count(&self) -> u32 {
        self.options.as_ref().map_or(0, |o| o.retries)
    }

    /// The retry backoff.
    pub fn backoff_value(&self) -> Backoff {
        self.options.as_ref().map_or(Backoff::None, |o| o.backoff)
    }

    /// The trigger rule.
    pub fn trigger_rule(&self) -> TriggerRule {
        self.trigger
    }

    /// The frame filter, if any.
    pub fn frame_filter_value(&self) -> Option<&str> {
        self.options
            .as_ref()
            .and_then(|o| o.frame_filter.as_deref())
    }

    /// The log threshold.
    pub fn log_level_value(&self) -> Level {
        self.options.as_ref().map_or(Level::Info, |o| o.log_level)
    }

    /// Whether a failure of `kind` may be retried (ignoring how many attempts are left).
    pub fn retries_kind(&self, kind: &ErrorKind) -> bool {
        match self.options.as_deref() {
            None => false,
            Some(o) if o.retries == 0 => false,
            Some(o) => match &o.retry_on {
                Some(kinds) => kinds.contains(kind),
                None => DEFAULT_RETRY_KINDS.contains(kind),
            },
        }
    }
}

impl fmt::Debug for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("name", &self.name)
            .field("args", &self.args)
            .field("dependencies", &self.dependencies)
            .field("trigger", &self.trigger)
            .finish_non_exhaustive()
    }
}

/// The canonical form of a task name: lowercase.
pub(crate) fn normalize(name: &str) -> CompactString {
    if name.bytes().any(|b| b.is_ascii_uppercase()) || !name.is_ascii() {
        name.to_lowercase().into()
    } else {
        name.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lowercase() {
        let task = Task::new("Extract", |_| Ok::<_, TaskError>(()));
        assert_eq!(task.name(), "extract");
        assert_eq!(Dependency::on("LOAD").task(), "load");
    }

    #[test]
    fn default_retry_filter_is_timeout_and_connection() {
        let task = Task::new("a", |_| Ok::<_, TaskError>(())).retries(2);
        assert!(task.retries_kind(&ErrorKind::Timeout));
        assert!(task.retries_kind(&ErrorKind::Connection));
        assert!(!task.retries_kind(&ErrorKind::Error));
        let filtered = task.retry_on([ErrorKind::Error]);
        assert!(filtered.retries_kind(&ErrorKind::Error));
        assert!(!filtered.retries_kind(&ErrorKind::Timeout));
    }

    #[test]
    fn exponential_backoff_grows_and_caps() {
        let backoff = Backoff::Exponential {
            initial: Duration::from_millis(10),
            factor: 2.0,
            max: Duration::from_millis(50),
            jitter: 0.5,
        };
        assert_eq!(backoff.delay(1, 0.0), Duration::from_millis(10));
        assert_eq!(backoff.delay(2, 0.0), Duration::from_millis(20));
        assert_eq!(backoff.delay(5, 0.0), Duration::from_millis(50));
        assert_eq!(backoff.delay(5, 1.0), Duration::from_millis(25));
    }
}
