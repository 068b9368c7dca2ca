//! A million tasks: nothing in validation, ordering, running or skip propagation recurses, so
//! a thread with a small stack copes.

mod common;

use std::sync::Arc;
use std::time::Duration;

use processes::{Callback, Outcome, Process, RunOptions, Status, Task, TaskError, Value};

const N: usize = 1_000_000;
/// Far below what a recursive walk of a million-deep chain would need.
const SMALL_STACK: usize = 256 << 10;

fn chain(fail_first: bool) -> Vec<Task> {
    let pass: Callback = Arc::new(|_| Outcome::Success(Value::Null));
    let fail: Callback = Arc::new(|_| Outcome::failure(TaskError::new("head of the chain")));
    (0..N)
        .map(|i| {
            let callback = if i == 0 && fail_first {
                fail.clone()
            } else {
                pass.clone()
            };
            let task = Task::with_callback(&format!("t{i}"), callback);
            if i == 0 {
                task
            } else {
                task.after(&format!("t{}", i - 1))
            }
        })
        .collect()
}

#[test]
fn a_million_task_chain_runs_and_skips_without_recursion() {
    common::within(Duration::from_secs(300), SMALL_STACK, || {
        let process = Process::new("chain", chain(false)).unwrap();
        assert_eq!(process.order().nth(N - 1), Some("t999999"));
        for parallel in [false, true] {
            let report = process.run(RunOptions::new().parallel(parallel)).unwrap();
            assert_eq!(report.counts().success, N);
        }
        let failing = Process::new("chain", chain(true)).unwrap();
        let report = failing.run(RunOptions::new().parallel(true)).unwrap();
        assert_eq!(report.counts().skipped, N - 1);
        let head = report.entry("t0").unwrap();
        assert_eq!(head.error().unwrap().downstream().len(), N - 1);
        assert_eq!(
            report.entry("t999999").unwrap().skipped_because(),
            Some("t999998")
        );
    });
}

#[test]
fn a_million_independent_tasks_run() {
    common::within(Duration::from_secs(300), SMALL_STACK, || {
        let callback: Callback = Arc::new(|_| Outcome::Success(Value::Int(7)));
        let tasks = (0..N).map(|i| Task::with_callback(&format!("t{i}"), callback.clone()));
        let process = Process::new("wide", tasks).unwrap();
        let report = process.run(RunOptions::new().max_workers(2)).unwrap();
        assert_eq!(report.counts().success, N);
        let last = report.entries().last().unwrap();
        assert_eq!((last.name(), last.status()), ("t999999", Status::Success));
    });
}

#[test]
fn a_million_task_cycle_is_found_without_recursion() {
    common::within(Duration::from_secs(300), SMALL_STACK, || {
        let mut tasks = chain(false);
        tasks[0] = Task::new("t0", |_| Ok::<_, TaskError>(())).after("t999999");
        let error = Process::new("ring", tasks).unwrap_err();
        let processes::GraphError::Cycle { cycle } = error else {
            panic!("expected a cycle, got {error}");
        };
        assert_eq!(cycle.len(), N + 1);
        assert_eq!((cycle[0].as_str(), cycle[1].as_str()), ("t0", "t999999"));
    });
}
