//! The parallel driver: tasks run on a rayon pool.
//!
//! Roots are split recursively with `join` down to leaves of a few roots; a leaf runs its
//! roots in a row and splits what is left of it as soon as it has run for a few microseconds,
//! so a worker that is free steals any slow root that has not started, while short roots do
//! not pay a `join` each. When a task ends, the first dependent it made ready
//! runs next on the same thread (no hand-off at all along a chain); the others are spawned, or
//! handed over as one batch that splits itself when there are many (a fan-out of a hundred
//! thousand costs one spawn, not a hundred thousand).
//!
//! Everything released on the pool's own threads runs inside one rayon scope that the first
//! job opens: its jobs borrow the run instead of holding a reference count on it. Ended tasks
//! are counted on the thread, the counts travel back up the join tree, and a scope job adds
//! its count to its worker's own counter; those join the run's shared counter once the scope
//! is over. The run's shared counter is thus touched once per run rather than once per task,
//! and what a completion or a timer releases from outside the pool runs as jobs that hold the
//! run and count on the shared counter directly. That is only sound if no job on the pool can
//! block for good: a worker waiting in `join` or in the scope runs other jobs, and a job that
//! never returns would hold the counts of every frame below it. Tasks with a timeout (the one
//! kind of callback a run may abandon while it still runs) therefore run on a second pool of
//! their own, one task per job, with no `join` there at all.
//!
//! A run's pools are leased to it alone. Once the run's state is dropped (which waits for
//! every job of the run, an abandoned callback included) they go back to a small idle list,
//! and the next run of as many workers takes them instead of starting threads: a run of a few
//! hundred tasks would otherwise spend most of its time starting them.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use once_cell::sync::Lazy;
use rayon::Scope;

use super::clock;
use super::engine::{Padded, Resume, Shared};
use crate::context::AttemptState;

/// Released dependents beyond which they travel as one self-splitting batch.
const BATCH: usize = 16;

/// Roots a leaf of the initial split runs in a row before it splits again.
const GRAIN: usize = 32;

/// How long (in nanoseconds) a leaf runs its roots in a row before it offers the rest to idle
/// workers.
const LEAF_NS: u64 = 20_000;

/// [`LEAF_NS`] in clock ticks.
static LEAF_TICKS: Lazy<u64> = Lazy::new(|| clock::ticks(LEAF_NS));

/// What a worker needs to run tasks one after another: the list of tasks each one released,
/// and the state lent to each attempt.
#[derive(Default)]
struct Scratch {
    ready: Vec<u32>,
    attempt: AttemptState,
}

thread_local! {
    /// This thread's scratch, lent to one job or leaf at a time, so that jobs do not each
    /// allocate their own. A run nested in a callback finds it lent out and starts a fresh one.
    static SCRATCH: RefCell<Scratch> = const {
        RefCell::new(Scratch {
            ready: Vec::new(),
            attempt: AttemptState::new(),
        })
    };
}

/// Runs `body` with this thread's scratch.
fn with_scratch<R>(body: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut scratch) => body(&mut scratch),
        Err(_) => body(&mut Scratch::default()),
    })
}

/// The pools of a parallel run.
pub(crate) struct Pools {
    pub(crate) main: rayon::ThreadPool,
    timed: OnceLock<Option<rayon::ThreadPool>>,
    workers: usize,
    /// Tasks ended by the jobs of the run's scope, one counter per worker.
    scoped: Box<[Padded<AtomicUsize>]>,
}

/// Pools whose run is over, kept for the next run of as many workers.
static IDLE: Mutex<Vec<Pools>> = Mutex::new(Vec::new());

/// At most this many sets of idle pools are kept; more are shut down.
const KEEP_IDLE: usize = 4;

/// A run's pools, lent to it alone for as long as it lasts and kept for a later run after
/// that. The lease ends when the run's state is dropped, which happens only once no job of
/// the run is left on the pools, so the next run finds every thread free.
pub(crate) struct Lease(Option<Pools>);

impl Lease {
    /// Pools of `workers` threads: idle ones left by an earlier run if there are any (no
    /// thread to start), or new ones.
    pub(crate) fn take(workers: usize) -> Result<Lease, rayon::ThreadPoolBuildError> {
        let idle = {
            let mut idle = IDLE.lock().unwrap_or_else(|p| p.into_inner());
            let found = idle.iter().position(|p| p.workers == workers);
            found.map(|at| idle.swap_remove(at))
        };
        match idle {
            Some(pools) => Ok(Lease(Some(pools))),
            None => Pools::new(workers).map(|pools| Lease(Some(pools))),
        }
    }
}

impl std::ops::Deref for Lease {
    type Target = Pools;

    fn deref(&self) -> &Pools {
        // Only `drop` empties the lease.
        self.0
            .as_ref()
            .expect("a lease holds its pools until dropped")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(pools) = self.0.take() else { return };
        let mut idle = IDLE.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < KEEP_IDLE {
            idle.push(pools);
            return;
        }
        // Shut down outside the lock.
        drop(idle);
        drop(pools);
    }
}

impl Pools {
    fn new(workers: usize) -> Result<Pools, rayon::ThreadPoolBuildError> {
        Ok(Pools {
            main: build(workers, "processes-worker")?,
            timed: OnceLock::new(),
            workers,
            scoped: (0..workers).map(|_| Padded(AtomicUsize::new(0))).collect(),
        })
    }

    /// The pool for tasks with a timeout, started on first use; the main pool stands in if
    /// its threads cannot be started.
    fn timed(&self) -> &rayon::ThreadPool {
        let timed = self
            .timed
            .get_or_init(|| match build(self.workers, "processes-timed") {
                Ok(pool) => Some(pool),
                Err(error) => {
                    log::error!("could not start the pool for tasks with a timeout: {error}");
                    None
                }
            });
        timed.as_ref().unwrap_or(&self.main)
    }
}

fn build(
    workers: usize,
    name: &'static str,
) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .thread_name(move |i| format!("{name}-{i}"))
        .panic_handler(|_| log::error!("a processes worker job panicked"))
        .build()
}

impl Shared {
    fn pools(&self) -> Option<&Pools> {
        match &self.mode {
            super::Mode::Pool(pools) => Some(pools),
            super::Mode::Queue(_) => None,
        }
    }

    /// Hands `index` to the right pool as a job of its own.
    pub(crate) fn spawn_job(self: &Arc<Self>, pools: &Pools, index: u32, resume: Resume) {
        let me = self.clone();
        if self.graph.hot.get(index).has_timeout() {
            pools.timed().spawn(move || me.work_timed(index, resume));
        } else {
            pools.main.spawn(move || me.work(index, resume));
        }
    }

    /// Runs every root, splitting the list across the pool, and counts what ended. Everything
    /// released from the pool's own threads runs in one scope, whose jobs borrow the run
    /// rather than hold it and count what they end on their worker's own counter, which joins
    /// the run's count once the scope is over.
    pub(crate) fn run_roots(self: &Arc<Self>) {
        let Some(pools) = self.pools() else { return };
        let roots = self.graph.topology.roots();
        let ended = pools
            .main
            .scope(|scope| self.split(roots, GRAIN, Outlet::Scoped(scope)));
        let scoped: usize = pools
            .scoped
            .iter()
            .map(|c| c.swap(0, Ordering::AcqRel))
            .sum();
        self.add_done(ended + scoped);
    }

    /// Runs `tasks` (and what they release), halving the list with `join` down to leaves of
    /// at most `grain` roots; returns how many tasks ended.
    fn split<'s>(
        self: &'s Arc<Self>,
        tasks: &[u32],
        grain: usize,
        outlet: Outlet<'_, 's>,
    ) -> usize {
        if tasks.len() > grain {
            let (left, right) = tasks.split_at(tasks.len() / 2);
            let (a, b) = rayon::join(
                || self.split(left, grain, outlet),
                || self.split(right, grain, outlet),
            );
            return a + b;
        }
        self.run_leaf(tasks, outlet)
    }

    /// Runs a leaf's roots one after another on this thread. Once the leaf has run longer
    /// than `LEAF_NS`, what is left of it is split down to single roots so that idle workers
    /// can steal them: short roots pay one `join` per leaf instead of one per root, and slow
    /// ones still spread across the pool.
    fn run_leaf<'s>(self: &'s Arc<Self>, tasks: &[u32], outlet: Outlet<'_, 's>) -> usize {
        let (started, leaf_ticks) = (self.now(), *LEAF_TICKS);
        let mut now = Some(started);
        let mut tally = 0;
        let mut rest = tasks;
        with_scratch(|scratch| {
            while let Some((&task, after)) = rest.split_first() {
                rest = after;
                now = self.chain(task, Resume::first_at(now), &mut tally, outlet, scratch);
                if rest.len() > 1 {
                    let reading = *now.get_or_insert_with(|| self.now());
                    if reading.saturating_sub(started) > leaf_ticks {
                        break;
                    }
                }
            }
        });
        if rest.is_empty() {
            tally
        } else {
            tally + self.split(rest, 1, outlet)
        }
    }

    /// A job of its own on the main pool: runs `index` (and what it releases).
    fn work(self: &Arc<Self>, index: u32, resume: Resume) {
        let mut tally = 0;
        with_scratch(|scratch| self.chain(index, resume, &mut tally, Outlet::Detached, scratch));
        self.add_done(tally);
    }

    /// Counts tasks ended by a job of the run's scope on its worker's own counter.
    fn count_scoped(&self, pools: &Pools, ended: usize) {
        if ended == 0 {
            return;
        }
        let worker = rayon::current_thread_index().unwrap_or(0);
        let counter = &pools.scoped[worker.min(pools.scoped.len() - 1)];
        counter.fetch_add(ended, Ordering::Relaxed);
    }

    /// One attempt loop of one task off the driver's thread (a job on the timed pool, or the
    /// thread of a sequential run's task with a timeout); what it releases goes back to the
    /// driver.
    pub(crate) fn work_timed(self: &Arc<Self>, index: u32, resume: Resume) {
        let mut ready = Vec::new();
        let mut tally = 0;
        let state = &mut AttemptState::new();
        self.run_task(index, resume, &mut ready, &mut tally, state);
        self.hand_over(ready, tally);
    }

    /// Runs `index` on the main pool, then keeps running the first dependent each task
    /// releases, each starting at the clock reading that ended the one before; the others go
    /// to `outlet`. Returns the reading that ended the last task run here, if the last step
    /// ended one.
    fn chain<'s>(
        self: &'s Arc<Self>,
        index: u32,
        resume: Resume,
        tally: &mut usize,
        outlet: Outlet<'_, 's>,
        scratch: &mut Scratch,
    ) -> Option<u64> {
        let Scratch { ready, attempt } = scratch;
        let pools = self.pools()?;
        let mut next = Some((index, resume));
        let mut now = None;
        while let Some((task, resume)) = next.take() {
            now = None;
            let hot = self.graph.hot.get(task);
            if hot.has_timeout() {
                self.spawn_job(pools, task, resume);
                continue;
            }
            ready.clear();
            now = self.run_ready::<true>(task, hot, resume, ready, tally, attempt);
            let Some((&head, rest)) = ready.split_first() else {
                continue;
            };
            next = Some((head, Resume::first_at(now)));
            match outlet {
                Outlet::Scoped(scope) => self.spawn_scoped(pools, scope, rest),
                Outlet::Detached => self.spawn_detached(pools, rest),
            }
        }
        now
    }

    /// Hands `tasks` to the run's scope: one job each, or one self-splitting batch when there
    /// are many.
    fn spawn_scoped<'s>(self: &'s Arc<Self>, pools: &'s Pools, scope: &Scope<'s>, tasks: &[u32]) {
        if tasks.len() > BATCH {
            let batch = tasks.to_vec();
            scope.spawn(move |scope| {
                let ended = self.split(&batch, GRAIN, Outlet::Scoped(scope));
                self.count_scoped(pools, ended);
            });
            return;
        }
        for &task in tasks {
            // A task with a timeout moves on to its own pool from the job.
            scope.spawn(move |scope| {
                let mut tally = 0;
                let outlet = Outlet::Scoped(scope);
                let resume = Resume::FIRST;
                with_scratch(|scratch| self.chain(task, resume, &mut tally, outlet, scratch));
                self.count_scoped(pools, tally);
            });
        }
    }

    /// Hands `tasks` to the pool as jobs that hold the run: one job each, or one
    /// self-splitting batch when there are many.
    fn spawn_detached(self: &Arc<Self>, pools: &Pools, tasks: &[u32]) {
        if tasks.len() > BATCH {
            let me = self.clone();
            let batch = tasks.to_vec();
            pools.main.spawn(move || {
                let ended = me.split(&batch, GRAIN, Outlet::Detached);
                me.add_done(ended);
            });
            return;
        }
        for &task in tasks {
            self.spawn_job(pools, task, Resume::FIRST);
        }
    }
}

/// Where a worker sends the dependents it released beyond the one it runs next.
#[derive(Clone, Copy)]
enum Outlet<'a, 's> {
    /// Jobs of the run's scope (everything released on the pool's own threads).
    Scoped(&'a Scope<'s>),
    /// Jobs of their own, holding the run (what a completion or a timer released).
    Detached,
}
