//! Runs of the same size share their per-task tables (dependency counts, record slots) from
//! one run to the next without clearing them first. Whatever an earlier run left there (a
//! cancellation halfway, failed dependencies, another graph altogether) must not show in a
//! later run: every task runs exactly once, after all its dependencies, and the report holds
//! only this run's records.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use processes::{CancelToken, Process, RunOptions, Status, Task, TaskError};

use common::timed;

/// Enough tasks for the tables to be kept between runs.
const TASKS: usize = 40_000;

/// What the tasks of one graph share: which tasks ended, how many calls there were, and
/// which ones went wrong.
struct Log {
    ended: Vec<AtomicBool>,
    calls: AtomicUsize,
    out_of_order: AtomicUsize,
    /// Set when the task that cancelled its run returns, well after the run did.
    late_return: AtomicBool,
}

impl Log {
    fn new() -> Arc<Log> {
        Arc::new(Log {
            ended: (0..TASKS).map(|_| AtomicBool::new(false)).collect(),
            calls: AtomicUsize::new(0),
            out_of_order: AtomicUsize::new(0),
            late_return: AtomicBool::new(false),
        })
    }

    fn reset(&self) {
        self.ended
            .iter()
            .for_each(|e| e.store(false, Ordering::SeqCst));
        self.calls.store(0, Ordering::SeqCst);
    }
}

/// Task `i` depends on `i - 1` and `i - stride` (when they exist); task `fail` fails, and
/// task `cancel_at` cancels `token` when it runs, then keeps its thread for a while: the run
/// ends its unstarted tasks meanwhile, and this task's own end then counts it for dependents
/// that will never see their other dependencies end.
fn graph(
    stride: usize,
    log: &Arc<Log>,
    fail: Option<usize>,
    cancel_at: Option<(usize, CancelToken)>,
) -> Process {
    let tasks = (0..TASKS)
        .map(|i| {
            let log = log.clone();
            let deps: Vec<usize> = [i.checked_sub(1), i.checked_sub(stride)]
                .into_iter()
                .flatten()
                .collect();
            let cancel = cancel_at
                .as_ref()
                .filter(|(at, _)| *at == i)
                .map(|(_, token)| token.clone());
            let callback_deps = deps.clone();
            let mut task = Task::new(&format!("t{i}"), move |_| {
                log.calls.fetch_add(1, Ordering::SeqCst);
                if callback_deps
                    .iter()
                    .any(|&d| !log.ended[d].load(Ordering::SeqCst))
                {
                    log.out_of_order.fetch_add(1, Ordering::SeqCst);
                }
                log.ended[i].store(true, Ordering::SeqCst);
                if let Some(token) = &cancel {
                    token.cancel();
                    std::thread::sleep(Duration::from_millis(200));
                    log.late_return.store(true, Ordering::SeqCst);
                }
                if fail == Some(i) {
                    return Err(TaskError::new("planned failure"));
                }
                Ok(())
            });
            for d in deps {
                task = task.after(&format!("t{d}"));
            }
            task
        })
        .collect::<Vec<_>>();
    Process::new("tables", tasks).unwrap()
}

fn run(process: &Process, token: Option<CancelToken>) -> processes::Report {
    let mut options = RunOptions::new().parallel(true).max_workers(3);
    if let Some(token) = token {
        options = options.cancel_token(token);
    }
    process.run(options).unwrap()
}

/// Every task ran once, after its dependencies, and the report says success for each.
fn assert_clean(process: &Process, log: &Log, what: &str) {
    log.reset();
    let report = run(process, None);
    assert_eq!(report.counts().success, TASKS, "{what}");
    assert_eq!(
        log.calls.load(Ordering::SeqCst),
        TASKS,
        "{what}: one call each"
    );
    assert_eq!(log.out_of_order.load(Ordering::SeqCst), 0, "{what}");
    assert!(report.entries().all(|e| e.attempts() == 1), "{what}");
}

#[test]
fn what_an_earlier_run_left_in_the_tables_never_shows_in_a_later_one() {
    timed(|| {
        let log = Log::new();
        let plain = graph(7, &log, None, None);
        assert_clean(&plain, &log, "first run");
        assert_clean(&plain, &log, "second run of the same graph");

        // Cancelled halfway: counts are left short and some records unwritten.
        let token = CancelToken::new();
        let cancelled = graph(7, &log, None, Some((TASKS / 2, token.clone())));
        log.reset();
        let report = run(&cancelled, Some(token));
        let counts = report.counts();
        assert!(counts.cancelled > 0, "the run was cut short");
        assert_eq!(counts.success + counts.cancelled, TASKS);
        while !log.late_return.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        // The run's tables go back once its last callback is done with them.
        std::thread::sleep(Duration::from_millis(50));
        assert_clean(&plain, &log, "after a cancelled run");

        // A failure early on skips almost everything and leaves blocked counts behind.
        let failing = graph(7, &log, Some(3), None);
        log.reset();
        let report = run(&failing, None);
        assert_eq!(report.counts().errored, 1);
        assert_eq!(report.counts().success, 3);
        assert_eq!(report.counts().skipped, TASKS - 4);
        let report = run(&failing, None);
        assert_eq!(report.counts().skipped, TASKS - 4, "the same again");
        assert_clean(&plain, &log, "after failed runs");

        // Another graph of the same size, with other dependency counts.
        let other = graph(3, &log, None, None);
        assert_clean(&other, &log, "another graph");
        assert_clean(&plain, &log, "the first graph again");
    });
}

#[test]
fn a_report_kept_while_later_runs_go_on_keeps_its_own_records() {
    timed(|| {
        let log = Log::new();
        let failing = graph(5, &log, Some(TASKS - 1), None);
        let kept = run(&failing, None);
        let plain = graph(5, &log, None, None);
        for _ in 0..3 {
            assert_clean(&plain, &log, "a later run");
        }
        let last = kept.entries().last().unwrap();
        assert_eq!(last.status(), Status::Errored);
        assert_eq!(kept.counts().success, TASKS - 1);
    });
}
