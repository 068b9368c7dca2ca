//! Errors: what a callback returns when it fails ([`TaskError`]), what validation and mutation
//! of a graph refuse ([`GraphError`]), and misuse of a run ([`RunError`]).

use std::fmt;

/// The kind of a task failure. Retry filters match on it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A failure with no more specific kind.
    Error,
    /// The callback panicked (or threw, in a host language).
    Panic,
    /// The attempt ran past the task's timeout.
    Timeout,
    /// A network or connection problem; retried by default, as upstream.
    Connection,
    /// A kind named by the callback, such as an exception class name.
    Other(String),
}

impl ErrorKind {
    /// The kind's name as shown in reports and JSON.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorKind::Error => "error",
            ErrorKind::Panic => "panic",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Connection => "connection",
            ErrorKind::Other(name) => name,
        }
    }

    /// The kind with that name; the built-in names map to their variants.
    pub fn from_name(name: &str) -> ErrorKind {
        match name {
            "error" => ErrorKind::Error,
            "panic" => ErrorKind::Panic,
            "timeout" => ErrorKind::Timeout,
            "connection" => ErrorKind::Connection,
            other => ErrorKind::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A variable recorded by a callback, shown in the failure context when its attempt fails.
#[derive(Clone, Debug, PartialEq)]
pub struct TracedVar {
    /// The variable's name.
    pub name: String,
    /// Its display text.
    pub value: String,
}

/// Records `name = value` in `traced`, replacing an earlier value of the same name.
pub(crate) fn set_traced(traced: &mut Vec<TracedVar>, name: &str, value: String) {
    match traced.iter_mut().find(|v| v.name == name) {
        Some(var) => var.value = value,
        None => traced.push(TracedVar {
            name: name.to_owned(),
            value,
        }),
    }
}

/// How a callback failed: a kind, a message, and the context a reader needs to fix it.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskError {
    /// What kind of failure this is; retry filters match on it.
    pub kind: ErrorKind,
    /// A one-line message.
    pub message: String,
    /// Traceback text, when the callback or its front end captured one.
    pub traceback: Option<String>,
    /// The `file:line` where the traced variables were recorded, when known.
    pub location: Option<String>,
    /// Variables the callback recorded; the context adds its own when the attempt fails.
    pub traced_vars: Vec<TracedVar>,
}

impl TaskError {
    /// A failure of kind [`ErrorKind::Error`].
    pub fn new(message: impl Into<String>) -> TaskError {
        TaskError::with_kind(ErrorKind::Error, message)
    }

    /// A failure of the given kind.
    ///
    /// Created inside a running callback, it captures the thread's backtrace as the traceback
    /// of the failure, unless the callback attaches one of its own.
    pub fn with_kind(kind: ErrorKind, message: impl Into<String>) -> TaskError {
        crate::logs::traceback::note_failure();
        TaskError {
            kind,
            message: message.into(),
            traceback: None,
            location: None,
            traced_vars: Vec::new(),
        }
    }

    /// Attaches traceback text (a host language's stack, for example).
    pub fn traceback(mut self, text: impl Into<String>) -> TaskError {
        self.traceback = Some(text.into());
        self
    }

    /// Attaches the `file:line` where the traced variables belong.
    pub fn location(mut self, location: impl Into<String>) -> TaskError {
        self.location = Some(location.into());
        self
    }

    /// Records a traced variable.
    pub fn trace(mut self, name: impl Into<String>, value: impl fmt::Display) -> TaskError {
        self.traced_vars.push(TracedVar {
            name: name.into(),
            value: value.to_string(),
        });
        self
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for TaskError {}

impl From<String> for TaskError {
    fn from(message: String) -> TaskError {
        TaskError::new(message)
    }
}

impl From<&str> for TaskError {
    fn from(message: &str) -> TaskError {
        TaskError::new(message)
    }
}

/// Misuse inside a callback (such as an argument index out of range) fails the attempt.
impl From<RunError> for TaskError {
    fn from(error: RunError) -> TaskError {
        TaskError::new(error.to_string())
    }
}

/// Why a graph was refused. Every message names the task(s), the field and the reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// A task name is empty.
    #[error("task #{position}: field `name` is empty")]
    EmptyName {
        /// The task's position in the order it was given (0-based).
        position: usize,
    },
    /// A task name contains whitespace or a control character.
    #[error("task {name:?}: field `name` contains {what} at byte {offset}; names may not")]
    InvalidName {
        /// The name as given.
        name: String,
        /// `"whitespace"` or `"a control character"`.
        what: &'static str,
        /// Byte offset of the offending character.
        offset: usize,
    },
    /// Two tasks have the same name, compared case-insensitively.
    #[error("task {name:?}: field `name` duplicates task {existing:?} (names ignore case)")]
    DuplicateName {
        /// The later task's name as given.
        name: String,
        /// The earlier task's normalized name.
        existing: String,
    },
    /// A task lists the same dependency twice.
    #[error("task {task:?}: field `dependencies` lists {dependency:?} twice")]
    DuplicateDependency {
        /// The dependent task.
        task: String,
        /// The repeated dependency.
        dependency: String,
    },
    /// A task depends on itself.
    #[error("task {task:?}: field `dependencies` names the task itself")]
    SelfDependency {
        /// The task.
        task: String,
    },
    /// A task depends on a task that does not exist.
    #[error("task {task:?}: field `dependencies` names {dependency:?}, which is not a task of this process")]
    MissingDependency {
        /// The dependent task.
        task: String,
        /// The missing dependency as written.
        dependency: String,
    },
    /// A dependency injects its result as a named argument without naming it.
    #[error("task {task:?}: dependency {dependency:?} injects a named argument but field `arg_name` is empty")]
    MissingInjectionName {
        /// The dependent task.
        task: String,
        /// The dependency.
        dependency: String,
    },
    /// The dependencies form a cycle.
    #[error("tasks form a cycle through field `dependencies`: {}", cycle_text(.cycle))]
    Cycle {
        /// The tasks of one cycle in dependency order; the first is repeated at the end.
        cycle: Vec<String>,
    },
    /// A task cannot be removed while others depend on it.
    #[error("task {task:?}: cannot be removed while {} depend(s) on it", .dependents.join(", "))]
    HasDependents {
        /// The task to remove.
        task: String,
        /// The tasks that depend on it.
        dependents: Vec<String>,
    },
    /// A named task is not part of the process.
    #[error("task {task:?}: not a task of this process")]
    UnknownTask {
        /// The name as given.
        task: String,
    },
    /// A task option is out of range.
    #[error("task {task:?}: field `{field}` {reason}")]
    InvalidOption {
        /// The task.
        task: String,
        /// The option.
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The process cannot be changed while a run of it is under way.
    #[error("process {process:?}: cannot be changed while it runs")]
    Running {
        /// The process.
        process: String,
    },
    /// A task's log file cannot be opened (a missing folder, a permission problem...).
    #[error("task {task:?}: field `log_file` names {}, which cannot be opened: {reason}", .path.display())]
    LogFile {
        /// The task.
        task: String,
        /// The path as given.
        path: std::path::PathBuf,
        /// The operating system's reason.
        reason: String,
    },
    /// The process has more tasks than the engine can index.
    #[error("process {process:?}: field `tasks` holds more than {max} tasks")]
    TooManyTasks {
        /// The process.
        process: String,
        /// The most tasks a process may hold.
        max: usize,
    },
}

fn cycle_text(cycle: &[String]) -> String {
    cycle.join(" -> ")
}

/// Misuse of a run or of one of its handles.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    /// The process is already running; a process runs once at a time.
    #[error("process {process:?}: already running; wait for the current run to finish")]
    AlreadyRunning {
        /// The process.
        process: String,
    },
    /// The process cannot be changed while it runs.
    #[error("process {process:?}: cannot be changed while it runs")]
    Busy {
        /// The process.
        process: String,
    },
    /// A completion handle was used after its attempt was settled.
    #[error("task {task:?}: attempt {attempt} was already completed")]
    AlreadyCompleted {
        /// The task.
        task: String,
        /// The attempt (1-based).
        attempt: u32,
    },
    /// A completion arrived for an attempt that was abandoned (timed out or cancelled).
    #[error("task {task:?}: attempt {attempt} was abandoned ({reason}); its result is discarded")]
    Abandoned {
        /// The task.
        task: String,
        /// The attempt (1-based).
        attempt: u32,
        /// `"timed out"` or `"run cancelled"`.
        reason: &'static str,
    },
    /// An argument index past the end of a task's arguments.
    #[error("task {task:?}: argument index {index} is out of range (the task has {len} positional arguments)")]
    ArgumentIndex {
        /// The task.
        task: String,
        /// The index asked for.
        index: usize,
        /// How many positional arguments there are.
        len: usize,
    },
    /// A run option is out of range.
    #[error("run option `{field}` {reason}")]
    InvalidOption {
        /// The option.
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// The operation needs a host-driven run.
    #[error("process {process:?}: {what} needs a host-driven run")]
    NotHosted {
        /// The process.
        process: String,
        /// The operation.
        what: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_task_field_and_reason() {
        let err = GraphError::MissingDependency {
            task: "load".into(),
            dependency: "extract".into(),
        };
        assert_eq!(
            err.to_string(),
            "task \"load\": field `dependencies` names \"extract\", which is not a task of this process"
        );
        let cycle = GraphError::Cycle {
            cycle: vec!["a".into(), "b".into(), "c".into(), "a".into()],
        };
        assert!(cycle.to_string().ends_with("a -> b -> c -> a"));
    }

    #[test]
    fn kinds_round_trip_by_name() {
        for kind in [
            ErrorKind::Error,
            ErrorKind::Panic,
            ErrorKind::Timeout,
            ErrorKind::Connection,
        ] {
            assert_eq!(ErrorKind::from_name(kind.as_str()), kind);
        }
        assert_eq!(ErrorKind::from_name("ValueError").as_str(), "ValueError");
    }
}
