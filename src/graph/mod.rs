//! The validated, ordered form of a process's tasks.
//!
//! [`Graph`] owns the tasks and everything derived from them that a run needs: the name index,
//! the resolved dependency edges, the successor lists and a topological order. It is built in
//! O(V + E) with no recursion, so a chain of a million tasks is as safe as a diamond.

mod hot;
mod topology;
mod validate;

use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

use crate::error::GraphError;
use crate::logs::Logs;
use crate::task::Task;

pub(crate) use hot::{Hot, HotTask};
pub(crate) use topology::Topology;

/// The tasks of a process, validated, with their edges resolved and ordered.
#[derive(Clone)]
pub(crate) struct Graph {
    pub(crate) tasks: Vec<Task>,
    pub(crate) names: NameIndex,
    pub(crate) topology: Topology,
    /// The tasks' log files, opened when the tasks are added.
    pub(crate) logs: Logs,
    /// What running each task needs, packed densely; rebuilt on every change.
    pub(crate) hot: Hot,
}

impl Graph {
    /// Validates `tasks` (given in any order) and orders them.
    pub(crate) fn build(tasks: Vec<Task>) -> Result<Graph, GraphError> {
        if tasks.len() >= u32::MAX as usize {
            return Err(GraphError::TooManyTasks {
                process: String::new(),
                max: u32::MAX as usize - 1,
            });
        }
        let names = validate::names(&tasks)?;
        validate::dependencies(&tasks)?;
        let topology = Topology::build(&tasks, &names)?;
        let logs = Logs::build(&tasks)?;
        let hot = Hot::build(&tasks, &topology);
        Ok(Graph {
            tasks,
            names,
            topology,
            logs,
            hot,
        })
    }

    /// An empty graph.
    pub(crate) fn empty() -> Graph {
        Graph {
            tasks: Vec::new(),
            names: NameIndex::default(),
            topology: Topology::default(),
            logs: Logs::default(),
            hot: Hot::default(),
        }
    }

    /// The index of the task with this (normalized) name.
    pub(crate) fn find(&self, name: &str) -> Option<u32> {
        self.names.get(&self.tasks, name)
    }

    /// Adds a task, keeping the graph unchanged on error.
    pub(crate) fn add_task(&mut self, task: Task) -> Result<(), GraphError> {
        validate::name(&task.name, self.tasks.len())?;
        if let Some(existing) = self.find(&task.name) {
            return Err(GraphError::DuplicateName {
                name: task.name.to_string(),
                existing: self.tasks[existing as usize].name.to_string(),
            });
        }
        validate::task_dependencies(&task)?;
        let log = self.logs.open(&task)?;
        self.tasks.push(task);
        let index = (self.tasks.len() - 1) as u32;
        match Topology::build(&self.tasks, &self.names_with(index)) {
            Ok(topology) => {
                self.names.insert(&self.tasks, index);
                self.topology = topology;
                self.logs.attach(index as usize, log);
                self.hot = Hot::build(&self.tasks, &self.topology);
                Ok(())
            }
            Err(error) => {
                self.tasks.pop();
                Err(error)
            }
        }
    }

    fn names_with(&self, index: u32) -> NameIndex {
        let mut names = self.names.clone();
        names.insert(&self.tasks, index);
        names
    }

    /// Adds a dependency to an existing task, keeping the graph unchanged on error.
    pub(crate) fn add_dependency(
        &mut self,
        task: &str,
        dependency: crate::task::Dependency,
    ) -> Result<(), GraphError> {
        let index = self.find(task).ok_or_else(|| GraphError::UnknownTask {
            task: task.to_owned(),
        })? as usize;
        self.tasks[index].dependencies.push(dependency);
        self.tasks[index].refresh_injects();
        let checked = validate::task_dependencies(&self.tasks[index])
            .and_then(|()| Topology::build(&self.tasks, &self.names));
        match checked {
            Ok(topology) => {
                self.topology = topology;
                self.hot = Hot::build(&self.tasks, &self.topology);
                Ok(())
            }
            Err(error) => {
                self.tasks[index].dependencies.pop();
                self.tasks[index].refresh_injects();
                Err(error)
            }
        }
    }

    /// Removes a task nothing depends on, and returns it.
    pub(crate) fn remove_task(&mut self, name: &str) -> Result<Task, GraphError> {
        let index = self.find(name).ok_or_else(|| GraphError::UnknownTask {
            task: name.to_owned(),
        })?;
        let dependents = self.topology.successors(index);
        if !dependents.is_empty() {
            return Err(GraphError::HasDependents {
                task: self.tasks[index as usize].name.to_string(),
                dependents: dependents
                    .iter()
                    .map(|&d| self.tasks[d as usize].name.to_string())
                    .collect(),
            });
        }
        let removed = self.tasks.remove(index as usize);
        self.logs.remove(index as usize);
        self.names = NameIndex::build(&self.tasks);
        self.topology = Topology::build(&self.tasks, &self.names)?;
        self.hot = Hot::build(&self.tasks, &self.topology);
        Ok(removed)
    }
}

/// Task names to task indices, storing only the indices (the names live in the tasks).
#[derive(Clone, Default)]
pub(crate) struct NameIndex {
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
}

impl NameIndex {
    fn build(tasks: &[Task]) -> NameIndex {
        let mut index = NameIndex::default();
        index.table.reserve(tasks.len(), |_| 0);
        for i in 0..tasks.len() {
            index.insert(tasks, i as u32);
        }
        index
    }

    pub(crate) fn get(&self, tasks: &[Task], name: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(name);
        self.table
            .find(hash, |&i| tasks[i as usize].name == name)
            .copied()
    }

    /// Inserts `index`, or returns the index already holding the same name.
    fn insert(&mut self, tasks: &[Task], index: u32) -> Option<u32> {
        let name = &tasks[index as usize].name;
        let hash = self.hasher.hash_one(name.as_str());
        let hasher = &self.hasher;
        match self.table.entry(
            hash,
            |&i| tasks[i as usize].name == *name,
            |&i| hasher.hash_one(tasks[i as usize].name.as_str()),
        ) {
            hashbrown::hash_table::Entry::Occupied(found) => Some(*found.get()),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(index);
                None
            }
        }
    }
}
