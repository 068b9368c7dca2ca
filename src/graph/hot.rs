//! What running a task needs to know about it, packed into sixteen bytes per task.
//!
//! A [`Task`] is about seventy bytes, and its callback, options and arguments sit in different
//! parts of it. A run that read them there would pull one or two cache lines per task, from
//! memory the thread that built the graph wrote last, which is as slow as memory gets when
//! that thread ran on another core. The run reads this table instead: a callback number, a
//! few flags and counts, and the successor of a task that has exactly one (most tasks of a
//! chain or a tree), so that releasing it reads nothing else; the task itself is read only
//! for what it has beyond them, and the topology only for tasks with several successors.
//!
//! Callbacks are numbered in task order, and a task whose callback is the same as the one
//! before it shares its number, so graphs whose tasks share one callback keep a table of one.

use super::Topology;
use crate::task::{Callback, Injects, Task, TriggerRule};

/// The task has a timeout.
const TIMEOUT: u8 = 1;
/// The task has static positional or named arguments.
const ARGUMENTS: u8 = 1 << 1;
/// The task runs once its dependencies are done, whatever their outcome.
const ALL_DONE: u8 = 1 << 2;

/// A dependency count this high is looked up in the topology.
const MANY: u16 = u16::MAX;

/// One task's entry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct HotTask {
    callback: u32,
    flags: u8,
    /// How the task's dependencies inject their results.
    pub(crate) injects: Injects,
    /// How many dependencies the task has, or `MANY`.
    dependencies: u16,
    /// How many tasks depend on this one.
    successors: u32,
    /// The one task that depends on this one, when there is exactly one.
    successor: u32,
}

impl HotTask {
    /// Whether the task has a timeout.
    #[inline(always)]
    pub(crate) fn has_timeout(self) -> bool {
        self.flags & TIMEOUT != 0
    }

    /// Whether the task has static arguments of either kind.
    #[inline(always)]
    pub(crate) fn has_arguments(self) -> bool {
        self.flags & ARGUMENTS != 0
    }

    /// Whether running the task needs no more than calling its callback: no timeout, and no
    /// result of a dependency to pass it.
    #[inline(always)]
    pub(crate) fn is_plain(self) -> bool {
        self.flags & TIMEOUT == 0 && self.injects == Injects::Nothing
    }

    /// The task's trigger rule.
    #[inline(always)]
    pub(crate) fn trigger(self) -> TriggerRule {
        if self.flags & ALL_DONE != 0 {
            TriggerRule::AllDone
        } else {
            TriggerRule::AllSuccess
        }
    }
}

/// The entries of every task, in task-index order, and the callbacks they number.
#[derive(Clone, Default)]
pub(crate) struct Hot {
    tasks: Box<[HotTask]>,
    callbacks: Vec<Callback>,
}

impl Hot {
    /// The table for `tasks`, whose edges `topology` resolved.
    pub(crate) fn build(tasks: &[Task], topology: &Topology) -> Hot {
        let mut callbacks: Vec<Callback> = Vec::new();
        let entries = tasks
            .iter()
            .enumerate()
            .map(|(index, task)| {
                let same = callbacks
                    .last()
                    .is_some_and(|last| std::sync::Arc::ptr_eq(last, &task.callback));
                if !same {
                    callbacks.push(task.callback.clone());
                }
                let successors = topology.successors(index as u32);
                let mut flags = 0;
                if task.has_timeout() {
                    flags |= TIMEOUT;
                }
                if !task.args.is_empty() || !task.kwargs().is_empty() {
                    flags |= ARGUMENTS;
                }
                if task.trigger == TriggerRule::AllDone {
                    flags |= ALL_DONE;
                }
                HotTask {
                    callback: (callbacks.len() - 1) as u32,
                    flags,
                    injects: task.injects,
                    dependencies: u16::try_from(task.dependencies.len()).unwrap_or(MANY),
                    successors: successors.len() as u32,
                    successor: successors.first().copied().unwrap_or(0),
                }
            })
            .collect();
        Hot {
            tasks: entries,
            callbacks,
        }
    }

    /// The entry of the task at `index`.
    #[inline(always)]
    pub(crate) fn get(&self, index: u32) -> HotTask {
        self.tasks[index as usize]
    }

    /// The callback of `task`.
    #[inline(always)]
    pub(crate) fn callback(&self, task: HotTask) -> &Callback {
        &self.callbacks[task.callback as usize]
    }

    /// The tasks that depend on the task at `index`.
    #[inline(always)]
    pub(crate) fn successors<'a>(&'a self, topology: &'a Topology, index: u32) -> &'a [u32] {
        let entry = &self.tasks[index as usize];
        match entry.successors {
            0 => &[],
            1 => std::slice::from_ref(&entry.successor),
            _ => topology.successors(index),
        }
    }

    /// The one task that depends on `task` and on nothing else, when `task` has exactly one
    /// dependent and that dependent has no other dependency: the task that ending `task`
    /// successfully makes ready, with no count to keep.
    #[inline(always)]
    pub(crate) fn sole_follower(&self, task: HotTask) -> Option<(u32, HotTask)> {
        if task.successors != 1 {
            return None;
        }
        let next = self.get(task.successor);
        (next.dependencies == 1).then_some((task.successor, next))
    }

    /// How many dependencies the task at `index` has.
    #[inline(always)]
    pub(crate) fn dependency_count(&self, topology: &Topology, index: u32) -> u32 {
        match self.get(index).dependencies {
            MANY => topology.dependency_count(index),
            few => u32::from(few),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::Outcome;
    use crate::value::Value;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn entries_match_their_tasks_and_shared_callbacks_are_kept_once() {
        let shared: Callback = Arc::new(|_| Outcome::Success(Value::Int(1)));
        let other: Callback = Arc::new(|_| Outcome::Success(Value::Int(2)));
        let tasks = vec![
            Task::with_callback("a", shared.clone()),
            Task::with_callback("b", shared.clone()).timeout(Duration::from_secs(1)),
            Task::with_callback("c", other).arg(3),
            Task::with_callback("d", shared.clone())
                .inject("a")
                .trigger(TriggerRule::AllDone),
        ];
        let graph = crate::graph::Graph::build(tasks).expect("valid");
        let hot = &graph.hot;
        assert_eq!(
            hot.callbacks.len(),
            3,
            "a and b share, c differs, d differs from c"
        );
        let (a, b, c, d) = (hot.get(0), hot.get(1), hot.get(2), hot.get(3));
        assert_eq!(a.callback, b.callback);
        assert!(Arc::ptr_eq(hot.callback(d), &shared));
        assert!(!a.has_timeout() && b.has_timeout());
        assert!(!a.has_arguments() && c.has_arguments());
        assert_eq!(a.trigger(), TriggerRule::AllSuccess);
        assert_eq!(d.trigger(), TriggerRule::AllDone);
        assert_eq!(
            (a.injects, d.injects),
            (Injects::Nothing, Injects::AllPositional)
        );
        let topology = &graph.topology;
        for index in 0..4 {
            let expected = topology.successors(index);
            assert_eq!(hot.successors(topology, index), expected, "task {index}");
        }
        assert_eq!(hot.successors(topology, 0), [3], "only d depends on a");
        assert_eq!(hot.sole_follower(a).map(|(next, _)| next), Some(3));
        assert!(hot.sole_follower(b).is_none(), "nothing depends on b");
    }

    #[test]
    fn a_follower_with_another_dependency_is_not_sole() {
        let callback: Callback = Arc::new(|_| Outcome::Success(Value::Null));
        let tasks = vec![
            Task::with_callback("a", callback.clone()),
            Task::with_callback("b", callback.clone()),
            Task::with_callback("c", callback.clone())
                .after("a")
                .after("b"),
            Task::with_callback("d", callback.clone()).after("c"),
            Task::with_callback("e", callback.clone()).after("c"),
        ];
        let graph = crate::graph::Graph::build(tasks).expect("valid");
        let hot = &graph.hot;
        let [a, c] = ["a", "c"].map(|name| hot.get(graph.find(name).unwrap()));
        assert!(hot.sole_follower(a).is_none(), "c also waits for b");
        assert!(hot.sole_follower(c).is_none(), "c has two dependents");
    }

    #[test]
    fn a_task_with_very_many_dependencies_reads_its_count_from_the_topology() {
        let callback: Callback = Arc::new(|_| Outcome::Success(Value::Null));
        let roots = usize::from(MANY) + 10;
        let mut tasks: Vec<Task> = (0..roots)
            .map(|i| Task::with_callback(&format!("r{i}"), callback.clone()))
            .collect();
        let mut sink = Task::with_callback("sink", callback.clone());
        for i in 0..roots {
            sink = sink.after(&format!("r{i}"));
        }
        tasks.push(Task::with_callback("one", callback.clone()).after("r0"));
        tasks.push(sink);
        let graph = crate::graph::Graph::build(tasks).expect("valid");
        let sink = graph.find("sink").unwrap();
        let one = graph.find("one").unwrap();
        assert_eq!(graph.hot.get(sink).dependencies, MANY);
        assert_eq!(
            graph.hot.dependency_count(&graph.topology, sink),
            roots as u32
        );
        assert_eq!(graph.hot.dependency_count(&graph.topology, one), 1);
        assert_eq!(graph.hot.dependency_count(&graph.topology, 0), 0);
        let r0 = graph.hot.successors(&graph.topology, 0);
        assert_eq!(r0, [one, sink], "two successors, from the topology");
        assert_eq!(graph.hot.successors(&graph.topology, 1), [sink]);
        assert!(graph.hot.successors(&graph.topology, sink).is_empty());
    }
}
