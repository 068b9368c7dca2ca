//! The parallel driver: tasks run on a rayon pool.
//!
//! Roots are split recursively with `join`, so idle workers steal halves. When a task ends,
//! the first dependent it made ready runs next on the same thread (no hand-off at all along a
//! chain); the others are spawned, or handed as one batch that splits itself when there are
//! many (a fan-out of a hundred thousand costs one spawn, not a hundred thousand).

use std::sync::Arc;

use super::engine::{Resume, Shared};

/// Roots per leaf of the initial split.
const GRAIN: usize = 32;
/// Released dependents beyond which they travel as one self-splitting batch.
const BATCH: usize = 16;

impl Shared {
    /// Runs every root, splitting the list across the pool.
    pub(crate) fn run_roots(self: &Arc<Self>, from: usize, to: usize) {
        if to - from <= GRAIN {
            let mut tally = 0;
            let mut ready = Vec::new();
            for at in from..to {
                let root = self.graph.topology.roots()[at];
                self.chain(root, Resume::FIRST, &mut ready, &mut tally);
            }
            self.add_done(tally);
        } else {
            let middle = from + (to - from) / 2;
            rayon::join(|| self.run_roots(from, middle), || self.run_roots(middle, to));
        }
    }

    /// Runs a batch of ready tasks, splitting it across the pool.
    fn run_batch(self: &Arc<Self>, batch: &[u32]) {
        if batch.len() <= GRAIN {
            let mut tally = 0;
            let mut ready = Vec::new();
            for &task in batch {
                self.chain(task, Resume::FIRST, &mut ready, &mut tally);
            }
            self.add_done(tally);
        } else {
            let (left, right) = batch.split_at(batch.len() / 2);
            rayon::join(|| self.run_batch(left), || self.run_batch(right));
        }
    }

    /// A job of its own: runs `index` (and what it releases) and counts what ended.
    pub(crate) fn work(self: &Arc<Self>, index: u32, resume: Resume) {
        let mut tally = 0;
        self.chain(index, resume, &mut Vec::new(), &mut tally);
        self.add_done(tally);
    }

    /// Runs `index`, then keeps running the first dependent each task releases.
    fn chain(self: &Arc<Self>, index: u32, resume: Resume, ready: &mut Vec<u32>, tally: &mut usize) {
        let mut next = Some((index, resume));
        while let Some((task, resume)) = next.take() {
            let Some(end) = self.run_task(task, resume) else {
                continue;
            };
            ready.clear();
            self.finish(task, end, ready, tally);
            let Some((&first, rest)) = ready.split_first() else {
                continue;
            };
            next = Some((first, Resume::FIRST));
            if rest.len() > BATCH {
                let me = self.clone();
                let batch = rest.to_vec();
                rayon::spawn(move || me.run_batch(&batch));
            } else {
                for &other in rest {
                    let me = self.clone();
                    rayon::spawn(move || me.work(other, Resume::FIRST));
                }
            }
        }
    }
}
