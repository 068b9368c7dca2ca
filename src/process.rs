//! A process: a named, validated graph of tasks that can be run, inspected and changed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{GraphError, RunError};
use crate::graph::Graph;
use crate::report::Report;
use crate::run::engine::Shared;
use crate::run::{HostedRun, Lease, Mode, RunOptions, PARALLEL_FROM};
use crate::task::{normalize, Dependency, Task};

/// A named set of tasks, validated and ordered when it is built and after every change.
///
/// A process runs once at a time; each run starts from fresh state and returns a fresh
/// [`Report`].
pub struct Process {
    name: Arc<str>,
    graph: Arc<Graph>,
    running: Arc<AtomicBool>,
}

impl Process {
    /// Validates `tasks`, given in any order, and orders them. Fails on the first problem
    /// found, naming the task(s), the field and the reason.
    pub fn new(name: &str, tasks: impl IntoIterator<Item = Task>) -> Result<Process, GraphError> {
        let graph = Graph::build(tasks.into_iter().collect()).map_err(|error| match error {
            GraphError::TooManyTasks { max, .. } => GraphError::TooManyTasks {
                process: name.to_owned(),
                max,
            },
            other => other,
        })?;
        Ok(Process {
            name: name.into(),
            graph: Arc::new(graph),
            running: Arc::new(AtomicBool::new(false)),
        })
    }

    /// A process with no tasks yet.
    pub fn empty(name: &str) -> Process {
        Process {
            name: name.into(),
            graph: Arc::new(Graph::empty()),
            running: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The process's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many tasks it has.
    pub fn len(&self) -> usize {
        self.graph.tasks.len()
    }

    /// Whether it has no task.
    pub fn is_empty(&self) -> bool {
        self.graph.tasks.is_empty()
    }

    /// The tasks in insertion order.
    pub fn tasks(&self) -> &[Task] {
        &self.graph.tasks
    }

    /// The task with this name (case-insensitive).
    pub fn task(&self, name: &str) -> Option<&Task> {
        self.graph
            .find(&normalize(name))
            .map(|i| &self.graph.tasks[i as usize])
    }

    /// Task names in the order a sequential run starts them: topological, ties broken by
    /// insertion order.
    pub fn order(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.graph
            .topology
            .order()
            .iter()
            .map(|&i| self.graph.tasks[i as usize].name.as_str())
    }

    /// Whether a run of this process is under way.
    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }

    fn editable(&mut self) -> Result<&mut Graph, GraphError> {
        if self.is_running() {
            return Err(GraphError::Running {
                process: self.name.to_string(),
            });
        }
        Ok(Arc::make_mut(&mut self.graph))
    }

    /// Adds a task; on error the process is unchanged.
    pub fn add_task(&mut self, task: Task) -> Result<(), GraphError> {
        self.editable()?.add_task(task)
    }

    /// Removes the task `name` and returns it; refused while other tasks depend on it.
    pub fn remove_task(&mut self, name: &str) -> Result<Task, GraphError> {
        self.editable()?.remove_task(&normalize(name))
    }

    /// Adds a dependency to the task `task`; on error the process is unchanged.
    pub fn add_dependency(&mut self, task: &str, dependency: Dependency) -> Result<(), GraphError> {
        self.editable()?
            .add_dependency(&normalize(task), dependency)
    }

    fn claim(&self) -> Result<(), RunError> {
        self.running
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ())
            .map_err(|_| RunError::AlreadyRunning {
                process: self.name.to_string(),
            })
    }

    /// Runs every task and returns the report. Blocks until every task has ended or the run
    /// was cancelled through [`RunOptions::cancel_token`].
    ///
    /// A callback that ignores its cancellation token after a timeout keeps its thread until
    /// it returns; the run itself goes on without it.
    pub fn run(&self, options: RunOptions) -> Result<Report, RunError> {
        let workers = options.workers()?;
        let parallel = options.parallel.unwrap_or(self.len() >= PARALLEL_FROM) && workers > 1;
        let mode = if parallel {
            let pools = Lease::take(workers).map_err(|error| RunError::InvalidOption {
                field: "max_workers",
                reason: format!("could not start {workers} worker threads: {error}"),
            })?;
            Mode::Pool(pools)
        } else {
            Mode::Queue(Default::default())
        };
        self.claim()?;
        let _release = Release(&self.running);
        crate::logs::traceback::install_panic_hook();
        let (shared, cancel, _waker) = self.start(mode, &options, 1);

        if let Mode::Pool(pools) = &shared.mode {
            let me = shared.clone();
            pools.main.spawn(move || me.run_roots());
            // Once cancelled, the sweep ends every task that had not ended; counts still held
            // by workers do not matter then, since every record is written.
            if !shared.wait_until(None, || cancel.is_cancelled()) {
                let ended = shared.sweep_cancelled();
                shared.add_done(ended);
                // Workers may still be delivering the end events of tasks they ended just
                // before the sweep: the run's own end event comes after every one of them.
                shared.await_announced();
            }
        } else {
            shared.run_sequential();
        }
        shared.announce_end();
        Ok(shared.report())
    }

    /// Starts a run that the host drives: no callback is ever called; the host takes ready
    /// tasks with [`HostedRun::next_batch`] and completes them. At most `max_workers` tasks
    /// (or [`RunOptions::max_in_flight`]) are in flight at once.
    pub fn start_hosted(&self, options: RunOptions) -> Result<HostedRun, RunError> {
        let limit = match options.max_in_flight {
            Some(0) => {
                return Err(RunError::InvalidOption {
                    field: "max_in_flight",
                    reason: "must be at least 1".into(),
                })
            }
            Some(limit) => limit,
            None => options.workers()?,
        };
        self.claim()?;
        let (shared, _cancel, waker) = self.start(Mode::Queue(Default::default()), &options, limit);
        if let Mode::Queue(queue) = &shared.mode {
            queue.extend(self.graph.topology.roots().iter().copied());
        }
        Ok(HostedRun {
            shared,
            running: self.running.clone(),
            waker,
        })
    }

    fn start(
        &self,
        mode: Mode,
        options: &RunOptions,
        max_in_flight: usize,
    ) -> (Arc<Shared>, crate::CancelToken, Arc<dyn Fn() + Send + Sync>) {
        let cancel = options.cancel.clone().unwrap_or_default();
        let shared = Arc::new(Shared::new(
            self.graph.clone(),
            self.name.clone(),
            mode,
            cancel.clone(),
            options.observer.clone(),
            max_in_flight,
        ));
        let weak = Arc::downgrade(&shared);
        let waker: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.notify();
            }
        });
        cancel.on_cancel(&waker);
        (shared, cancel, waker)
    }
}

impl std::fmt::Debug for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process")
            .field("name", &self.name)
            .field("tasks", &self.len())
            .finish()
    }
}

/// Clears the running flag when a blocking run ends, however it ends.
struct Release<'a>(&'a AtomicBool);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}
