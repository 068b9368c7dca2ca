//! Resolved edges and a topological order, built iteratively in O(V + E).

use super::NameIndex;
use crate::error::GraphError;
use crate::task::Task;

/// Edges in compressed rows: the dependencies of task `i` are
/// `dep_targets[dep_offsets[i]..dep_offsets[i + 1]]` (in declaration order) and its dependents
/// are `succ_targets[succ_offsets[i]..succ_offsets[i + 1]]` (in insertion order).
#[derive(Clone, Default)]
pub(crate) struct Topology {
    dep_offsets: Vec<u32>,
    dep_targets: Vec<u32>,
    succ_offsets: Vec<u32>,
    succ_targets: Vec<u32>,
    /// Task indices in topological order; the tasks without dependencies come first, in
    /// insertion order.
    order: Vec<u32>,
    roots: u32,
}

impl Topology {
    /// Resolves every dependency by name and orders the tasks, or reports the first missing
    /// dependency or one cycle.
    pub(crate) fn build(tasks: &[Task], names: &NameIndex) -> Result<Topology, GraphError> {
        let n = tasks.len();
        let edges: usize = tasks.iter().map(|t| t.dependencies.len()).sum();
        let mut dep_offsets = Vec::with_capacity(n + 1);
        let mut dep_targets = Vec::with_capacity(edges);
        let mut out_degree = vec![0u32; n + 1];
        dep_offsets.push(0);
        for task in tasks {
            for dep in &task.dependencies {
                let target =
                    names
                        .get(tasks, &dep.task)
                        .ok_or_else(|| GraphError::MissingDependency {
                            task: task.name.to_string(),
                            dependency: dep.task.to_string(),
                        })?;
                dep_targets.push(target);
                out_degree[target as usize] += 1;
            }
            dep_offsets.push(dep_targets.len() as u32);
        }

        // Successor rows by a counting sort over the dependency rows, so that each row lists
        // dependents in insertion order.
        let mut succ_offsets = Vec::with_capacity(n + 1);
        let mut running = 0u32;
        for degree in &out_degree[..n] {
            succ_offsets.push(running);
            running += degree;
        }
        succ_offsets.push(running);
        drop(out_degree);
        let mut cursor: Vec<u32> = succ_offsets[..n].to_vec();
        let mut succ_targets = vec![0u32; edges];
        for task in 0..n {
            let row = dep_offsets[task] as usize..dep_offsets[task + 1] as usize;
            for &target in &dep_targets[row] {
                let slot = &mut cursor[target as usize];
                succ_targets[*slot as usize] = task as u32;
                *slot += 1;
            }
        }
        drop(cursor);

        let mut topology = Topology {
            dep_offsets,
            dep_targets,
            succ_offsets,
            succ_targets,
            order: Vec::new(),
            roots: 0,
        };
        topology.sort(tasks)?;
        Ok(topology)
    }

    /// Kahn's algorithm with a FIFO queue (the order vector itself): ties go to the task that
    /// was released first, and among the initial tasks to insertion order.
    fn sort(&mut self, tasks: &[Task]) -> Result<(), GraphError> {
        let n = tasks.len();
        let mut waiting: Vec<u32> = (0..n).map(|i| self.dependency_count(i as u32)).collect();
        let mut order = Vec::with_capacity(n);
        order.extend((0..n as u32).filter(|&i| waiting[i as usize] == 0));
        self.roots = order.len() as u32;
        let mut head = 0;
        while head < order.len() {
            let task = order[head];
            head += 1;
            for &next in self.successors(task) {
                let count = &mut waiting[next as usize];
                *count -= 1;
                if *count == 0 {
                    order.push(next);
                }
            }
        }
        if order.len() < n {
            return Err(GraphError::Cycle {
                cycle: self.find_cycle(tasks, &waiting),
            });
        }
        self.order = order;
        Ok(())
    }

    /// One cycle among the tasks Kahn's algorithm could not release (`waiting > 0`). Every
    /// such task has a dependency that is also stuck, so following stuck dependencies from the
    /// first stuck task must revisit a task; the loop from that task is a cycle.
    fn find_cycle(&self, tasks: &[Task], waiting: &[u32]) -> Vec<String> {
        let stuck = |i: u32| waiting[i as usize] > 0;
        let start = (0..tasks.len() as u32).find(|&i| stuck(i)).unwrap_or(0);
        let mut seen_at = vec![u32::MAX; tasks.len()];
        let mut path = Vec::new();
        let mut current = start;
        while seen_at[current as usize] == u32::MAX {
            seen_at[current as usize] = path.len() as u32;
            path.push(current);
            current = self
                .dependencies(current)
                .iter()
                .copied()
                .find(|&d| stuck(d))
                .unwrap_or(start);
        }
        let mut cycle: Vec<u32> = path.split_off(seen_at[current as usize] as usize);
        // Start from the earliest-added task of the cycle so the message is stable.
        if let Some(first) = (0..cycle.len()).min_by_key(|&i| cycle[i]) {
            cycle.rotate_left(first);
        }
        cycle.push(cycle[0]);
        cycle
            .into_iter()
            .map(|i| tasks[i as usize].name.to_string())
            .collect()
    }

    /// The resolved dependencies of `task`, in declaration order.
    pub(crate) fn dependencies(&self, task: u32) -> &[u32] {
        let t = task as usize;
        &self.dep_targets[self.dep_offsets[t] as usize..self.dep_offsets[t + 1] as usize]
    }

    /// How many dependencies `task` has.
    pub(crate) fn dependency_count(&self, task: u32) -> u32 {
        let t = task as usize;
        self.dep_offsets[t + 1] - self.dep_offsets[t]
    }

    /// The tasks that depend on `task`, in insertion order.
    pub(crate) fn successors(&self, task: u32) -> &[u32] {
        let t = task as usize;
        &self.succ_targets[self.succ_offsets[t] as usize..self.succ_offsets[t + 1] as usize]
    }

    /// All task indices in topological order.
    pub(crate) fn order(&self) -> &[u32] {
        &self.order
    }

    /// The tasks without dependencies, in insertion order.
    pub(crate) fn roots(&self) -> &[u32] {
        &self.order[..self.roots as usize]
    }
}
