//! The floor: the least work a correct parallel DAG runner can do, run on the same graph and
//! bodies as the core so the two can be compared run after run.
//!
//! A dense array of atomic in-degree counters; successors in flat CSR arrays; roots split
//! recursively across the pool with `rayon::join`; when a task ends, the first successor it
//! releases runs next on the same thread and the others are spawned into the run's scope.
//! No names, no report, no failure handling, no timeouts: only the dependency counting.

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rayon::{Scope, ThreadPool};

use crate::body::{pass, spin, Body};
use crate::shapes::Shape;

/// Roots per leaf of the initial split by default: the roots are split down to single ones.
pub const DEFAULT_GRAIN: usize = 1;

/// A graph prepared for the floor: successors and in-degrees, computed once per cell.
pub struct Floor<'g> {
    shape: &'g Shape,
    grain: usize,
    succ_start: Vec<u32>,
    succ: Vec<u32>,
    in_degree: Vec<u32>,
    roots: Vec<u32>,
}

/// What one floor run did.
pub struct FloorRun {
    /// Wall time from allocating the run's state to the last task's end.
    pub elapsed: Duration,
    /// How many task bodies ran.
    pub ran: usize,
    /// Wrapping sum of every task's result (`pass` only; 0 otherwise).
    pub checksum: i64,
}

/// A counter on a cache line of its own, one per pool thread.
#[repr(align(128))]
struct Padded(AtomicUsize);

/// The state of one run.
struct State {
    body: Body,
    waiting: Vec<AtomicU32>,
    results: Vec<AtomicI64>,
    ran: Vec<Padded>,
}

impl<'g> Floor<'g> {
    /// Inverts the shape's dependency lists into successor lists; the roots will be split
    /// down to leaves of at most `grain` roots.
    pub fn new(shape: &'g Shape, grain: usize) -> Floor<'g> {
        let n = shape.tasks;
        let mut in_degree = vec![0u32; n];
        let mut out_degree = vec![0u32; n + 1];
        for (i, degree) in in_degree.iter_mut().enumerate() {
            let deps = shape.deps_of(i);
            *degree = deps.len() as u32;
            for &dep in deps {
                out_degree[dep as usize + 1] += 1;
            }
        }
        let mut succ_start = out_degree;
        for i in 0..n {
            succ_start[i + 1] += succ_start[i];
        }
        let mut fill = succ_start.clone();
        let mut succ = vec![0u32; shape.edges()];
        for i in 0..n {
            for &dep in shape.deps_of(i) {
                succ[fill[dep as usize] as usize] = i as u32;
                fill[dep as usize] += 1;
            }
        }
        let roots = (0..n as u32)
            .filter(|&i| in_degree[i as usize] == 0)
            .collect();
        Floor {
            shape,
            grain: grain.max(1),
            succ_start,
            succ,
            in_degree,
            roots,
        }
    }

    /// Runs every task once on `pool`.
    pub fn run(&self, pool: &ThreadPool, body: Body) -> FloorRun {
        let started = Instant::now();
        let state = State {
            body,
            waiting: self.in_degree.iter().map(|&d| AtomicU32::new(d)).collect(),
            results: if body.passes_results() {
                (0..self.shape.tasks).map(|_| AtomicI64::new(0)).collect()
            } else {
                Vec::new()
            },
            ran: (0..pool.current_num_threads())
                .map(|_| Padded(AtomicUsize::new(0)))
                .collect(),
        };
        pool.scope(|scope| self.split(scope, &state, &self.roots));
        let elapsed = started.elapsed();

        let ran = state.ran.iter().map(|p| p.0.load(Ordering::Relaxed)).sum();
        let checksum = state
            .results
            .iter()
            .fold(0i64, |sum, r| sum.wrapping_add(r.load(Ordering::Relaxed)));
        FloorRun {
            elapsed,
            ran,
            checksum,
        }
    }

    fn split<'s>(&'s self, scope: &Scope<'s>, state: &'s State, roots: &'s [u32]) {
        if roots.len() <= self.grain {
            let mut ran = 0;
            for &root in roots {
                ran += self.chain(scope, state, root);
            }
            count(state, ran);
        } else {
            let (left, right) = roots.split_at(roots.len() / 2);
            rayon::join(
                || self.split(scope, state, left),
                || self.split(scope, state, right),
            );
        }
    }

    /// Runs `task`, then the first successor each task releases; returns how many ran.
    fn chain<'s>(&'s self, scope: &Scope<'s>, state: &'s State, task: u32) -> usize {
        let mut ran = 0;
        let mut current = task;
        loop {
            self.execute(state, current as usize);
            ran += 1;
            let start = self.succ_start[current as usize] as usize;
            let end = self.succ_start[current as usize + 1] as usize;
            let mut next = None;
            for &succ in &self.succ[start..end] {
                if state.waiting[succ as usize].fetch_sub(1, Ordering::AcqRel) != 1 {
                    continue;
                }
                if next.is_none() {
                    next = Some(succ);
                } else {
                    scope.spawn(move |scope| {
                        let ran = self.chain(scope, state, succ);
                        count(state, ran);
                    });
                }
            }
            match next {
                Some(succ) => current = succ,
                None => return ran,
            }
        }
    }

    fn execute(&self, state: &State, task: usize) {
        match state.body {
            Body::Empty => {}
            Body::Spin(micros) => spin(micros),
            Body::Pass => {
                let args = self.shape.deps_of(task).iter();
                let value = pass(args.map(|&d| state.results[d as usize].load(Ordering::Relaxed)));
                // The release in the successors' counter decrement publishes this store.
                state.results[task].store(value, Ordering::Relaxed);
            }
        }
    }
}

/// Adds `ran` to the calling pool thread's counter.
fn count(state: &State, ran: usize) {
    let slot = rayon::current_thread_index().unwrap_or(0) % state.ran.len();
    state.ran[slot].0.fetch_add(ran, Ordering::Relaxed);
}
