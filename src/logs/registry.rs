//! The log files of one process: one writer per file, shared by the tasks naming it.
//!
//! The registry lives in the process's graph, so reports and runs (which share the graph)
//! keep the files open as long as they need them, and the files close when the last of them
//! is dropped. Tasks without a log file cost nothing: the per-task table stays empty until the
//! first task with a log file is added.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Weak};

use super::file::{canonical, LogFile};
use super::record::with_record;
use super::Level;
use crate::error::GraphError;
use crate::task::Task;

/// Where one task's records go.
pub(crate) struct TaskLog {
    file: Arc<LogFile>,
    threshold: Level,
    /// `processes.<task>`.
    logger: Box<str>,
}

impl TaskLog {
    /// Whether a record at `level` is written at all.
    #[inline]
    pub(crate) fn enabled(&self, level: Level) -> bool {
        level >= self.threshold
    }

    /// Writes one record (the caller checked [`TaskLog::enabled`]).
    pub(crate) fn write(&self, level: Level, message: fmt::Arguments<'_>) -> io::Result<()> {
        with_record(&self.logger, level, message, |record| {
            self.file.append(record)
        })
    }

    /// Describes a failed write for the task's report entry.
    pub(crate) fn describe(&self, error: &io::Error) -> String {
        format!(
            "cannot write log file {}: {error}",
            self.file.path().display()
        )
    }
}

/// Every log file of a process and which task writes to which.
#[derive(Clone, Default)]
pub(crate) struct Logs {
    /// By task index; empty until a task has a log file, then as long as needed.
    tasks: Vec<Option<Arc<TaskLog>>>,
    /// Open files by canonical path; an entry dies with the last task using it.
    files: HashMap<PathBuf, Weak<LogFile>>,
    /// Open files by absolute path as given, so that many tasks naming one file cost one
    /// path resolution rather than one each.
    given: HashMap<PathBuf, Weak<LogFile>>,
}

impl Logs {
    /// Opens the log file of every task in `tasks` (indexed by position).
    pub(crate) fn build(tasks: &[Task]) -> Result<Logs, GraphError> {
        let mut logs = Logs::default();
        for (index, task) in tasks.iter().enumerate() {
            let log = logs.open(task)?;
            logs.attach(index, log);
        }
        Ok(logs)
    }

    /// Opens `task`'s log file, or shares the writer already open for it; `None` when the task
    /// names no file. The task is not attached yet (see [`Logs::attach`]).
    pub(crate) fn open(&mut self, task: &Task) -> Result<Option<Arc<TaskLog>>, GraphError> {
        let Some(path) = task.log_path() else {
            return Ok(None);
        };
        let refused = |error: io::Error| GraphError::LogFile {
            task: task.name.to_string(),
            path: path.to_owned(),
            reason: error.to_string(),
        };
        let known = self.given.get(path).and_then(Weak::upgrade);
        let file = match known {
            Some(file) => file,
            None => {
                let key = canonical(path).map_err(refused)?;
                let file = match self.files.get(&key).and_then(Weak::upgrade) {
                    Some(file) => file,
                    None => {
                        let file = Arc::new(LogFile::open(&key).map_err(refused)?);
                        self.files.insert(key, Arc::downgrade(&file));
                        file
                    }
                };
                if path.is_absolute() {
                    self.given.insert(path.to_owned(), Arc::downgrade(&file));
                }
                file
            }
        };
        Ok(Some(Arc::new(TaskLog {
            file,
            threshold: task.log_level_value(),
            logger: format!("processes.{}", task.name).into(),
        })))
    }

    /// Makes `log` the log of the task at `index`.
    pub(crate) fn attach(&mut self, index: usize, log: Option<Arc<TaskLog>>) {
        if let Some(log) = log {
            if self.tasks.len() <= index {
                self.tasks.resize(index + 1, None);
            }
            self.tasks[index] = Some(log);
        }
    }

    /// Forgets the task at `index` (later tasks move down by one), closing its file if no
    /// other task uses it.
    pub(crate) fn remove(&mut self, index: usize) {
        if index < self.tasks.len() {
            self.tasks.remove(index);
        }
        self.files.retain(|_, file| file.strong_count() > 0);
        self.given.retain(|_, file| file.strong_count() > 0);
    }

    /// Whether no task has a log.
    pub(crate) fn is_empty(&self) -> bool {
        self.tasks.iter().all(Option::is_none)
    }

    /// The log of the task at `index`, if it has one.
    #[inline]
    pub(crate) fn get(&self, index: u32) -> Option<&TaskLog> {
        self.tasks.get(index as usize)?.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TaskError;

    fn task(name: &str, path: &std::path::Path) -> Task {
        Task::new(name, |_| Ok::<_, TaskError>(())).log_file(path)
    }

    #[test]
    fn tasks_naming_one_file_share_its_writer() {
        let dir = std::env::temp_dir().join(format!("processes-registry-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("shared.log");
        let detour = dir.join(".").join("shared.log");
        let other = dir.join("other.log");
        let logs =
            Logs::build(&[task("a", &plain), task("b", &detour), task("c", &other)]).unwrap();
        let file = |i| logs.get(i).map(|log| Arc::as_ptr(&log.file)).unwrap();
        assert_eq!(file(0), file(1));
        assert_ne!(file(0), file(2));
        assert_eq!(logs.files.len(), 2);
    }

    #[test]
    fn no_log_file_no_table() {
        let logs = Logs::build(&[Task::new("a", |_| Ok::<_, TaskError>(()))]).unwrap();
        assert!(logs.tasks.is_empty());
        assert!(logs.get(0).is_none());
    }
}
