//! Severity of a log record.

use std::fmt;

/// Severity of a record in a task's log, lowest first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Detail for whoever debugs the task.
    Debug,
    /// Normal progress (the default threshold).
    #[default]
    Info,
    /// Something unexpected that the task survived, such as a retried attempt.
    Warning,
    /// A failure.
    Error,
}

impl Level {
    /// The level's name as written in log files (`DEBUG`, `INFO`, `WARNING`, `ERROR`).
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
