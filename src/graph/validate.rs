//! Checks that need no ordering: names and each task's own dependency list.

use super::NameIndex;
use crate::error::GraphError;
use crate::task::{Injection, Task};

/// Checks every name and builds the name index.
pub(super) fn names(tasks: &[Task]) -> Result<NameIndex, GraphError> {
    let mut index = NameIndex::default();
    index.table.reserve(tasks.len(), |_| 0);
    for (position, task) in tasks.iter().enumerate() {
        name(&task.name, position)?;
        if let Some(existing) = index.insert(tasks, position as u32) {
            return Err(GraphError::DuplicateName {
                name: task.name.to_string(),
                existing: tasks[existing as usize].name.to_string(),
            });
        }
    }
    Ok(index)
}

/// Checks one name: not empty, no whitespace, no control characters.
pub(super) fn name(name: &str, position: usize) -> Result<(), GraphError> {
    if name.is_empty() {
        return Err(GraphError::EmptyName { position });
    }
    let bad = name
        .char_indices()
        .find(|(_, c)| c.is_whitespace() || c.is_control());
    match bad {
        None => Ok(()),
        Some((offset, c)) => Err(GraphError::InvalidName {
            name: name.to_owned(),
            what: if c.is_whitespace() {
                "whitespace"
            } else {
                "a control character"
            },
            offset,
        }),
    }
}

/// Checks each task's dependency list on its own.
pub(super) fn dependencies(tasks: &[Task]) -> Result<(), GraphError> {
    tasks.iter().try_for_each(task_dependencies)
}

/// Self-dependency, duplicates and unnamed named injections of one task.
pub(super) fn task_dependencies(task: &Task) -> Result<(), GraphError> {
    let deps = &task.dependencies;
    for (i, dep) in deps.iter().enumerate() {
        if dep.task == task.name {
            return Err(GraphError::SelfDependency {
                task: task.name.to_string(),
            });
        }
        if let Injection::Named(arg) | Injection::Both(arg) = &dep.injection {
            if arg.is_empty() {
                return Err(GraphError::MissingInjectionName {
                    task: task.name.to_string(),
                    dependency: dep.task.to_string(),
                });
            }
        }
        // Dependency lists are short; a quadratic scan beats hashing for them.
        if deps.len() <= 32 && deps[..i].iter().any(|earlier| earlier.task == dep.task) {
            return Err(duplicate(task, &dep.task));
        }
    }
    if deps.len() > 32 {
        let mut seen = std::collections::HashSet::with_capacity(deps.len());
        if let Some(dep) = deps.iter().find(|d| !seen.insert(d.task.as_str())) {
            return Err(duplicate(task, &dep.task));
        }
    }
    if let Some(options) = task.options.as_deref() {
        if options.timeout.is_some_and(|t| t.is_zero()) {
            return Err(GraphError::InvalidOption {
                task: task.name.to_string(),
                field: "timeout",
                reason: "must be greater than zero".into(),
            });
        }
        if let crate::task::Backoff::Exponential { factor, jitter, .. } = options.backoff {
            if !(factor >= 1.0 && factor.is_finite()) {
                return Err(GraphError::InvalidOption {
                    task: task.name.to_string(),
                    field: "backoff.factor",
                    reason: format!("must be a finite number of at least 1, not {factor}"),
                });
            }
            if !(0.0..=1.0).contains(&jitter) {
                return Err(GraphError::InvalidOption {
                    task: task.name.to_string(),
                    field: "backoff.jitter",
                    reason: format!("must be between 0 and 1, not {jitter}"),
                });
            }
        }
    }
    Ok(())
}

fn duplicate(task: &Task, dependency: &str) -> GraphError {
    GraphError::DuplicateDependency {
        task: task.name.to_string(),
        dependency: dependency.to_owned(),
    }
}
