//! One failure never sinks the independent branches: the upstream suite's style of DAG.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use processes::{Process, RunOptions, Status, Task, TaskError, TriggerRule, Value};

use common::timed;

/// Calls per task name.
type Calls = Arc<Mutex<HashMap<String, usize>>>;

fn counted(name: &str, calls: &Calls, fail: bool) -> Task {
    let calls = calls.clone();
    Task::new(name, move |ctx| {
        *calls
            .lock()
            .unwrap()
            .entry(ctx.name().to_owned())
            .or_default() += 1;
        if fail {
            Err(TaskError::new(format!("{} failed on purpose", ctx.name())))
        } else {
            Ok(Value::from(ctx.name()))
        }
    })
}

/// 14 tasks: two independent failures (`c2` and `f1`), each with its own downstream, and
/// branches that must run to the end around them.
fn dag(calls: &Calls) -> Vec<Task> {
    let t = |name: &str, fail: bool, deps: &[&str]| {
        deps.iter()
            .fold(counted(name, calls, fail), |task, dep| task.after(dep))
    };
    vec![
        t("a1", false, &[]),
        t("a2", false, &["a1"]),
        t("b1", false, &[]),
        t("c1", false, &["a1"]),
        t("c2", true, &["c1"]),
        t("c3", false, &["c2"]),
        t("c4", false, &["c3", "b1"]),
        t("c5", false, &["c2", "a2"]),
        t("d1", false, &["b1", "a2"]),
        t("f1", true, &["b1"]),
        t("f2", false, &["f1"]),
        t("f3", false, &["f2", "d1"]),
        t("g1", false, &["d1"]),
        t("g2", false, &["g1", "a2"]),
    ]
}

fn check_dag(parallel: bool, workers: usize) {
    let calls: Calls = Default::default();
    let process = Process::new("dag", dag(&calls)).unwrap();
    let options = RunOptions::new().parallel(parallel).max_workers(workers);
    let report = process.run(options).unwrap();

    let expect_success = ["a1", "a2", "b1", "c1", "d1", "g1", "g2"];
    let expect_skipped = ["c3", "c4", "c5", "f2", "f3"];
    let calls = calls.lock().unwrap();
    for name in expect_success {
        assert_eq!(
            report.entry(name).unwrap().status(),
            Status::Success,
            "{name}"
        );
        assert_eq!(calls.get(name), Some(&1), "{name} runs exactly once");
    }
    for name in expect_skipped {
        let entry = report.entry(name).unwrap();
        assert_eq!(entry.status(), Status::Skipped, "{name}");
        assert_eq!(entry.attempts(), 0);
        assert!(!calls.contains_key(name), "{name} is never called");
    }
    for name in ["c2", "f1"] {
        assert_eq!(report.entry(name).unwrap().status(), Status::Errored);
        assert_eq!(calls.get(name), Some(&1));
    }
    let downstream = |name: &str| -> Vec<String> {
        let entry = report.entry(name).unwrap();
        entry
            .error()
            .unwrap()
            .downstream()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(downstream("c2"), ["c3", "c5", "c4"]);
    assert_eq!(downstream("f1"), ["f2", "f3"]);
    assert_eq!(report.entry("c4").unwrap().skipped_because(), Some("c3"));
    assert_eq!(report.entry("c5").unwrap().skipped_because(), Some("c2"));
    let counts = report.counts();
    assert_eq!((counts.success, counts.errored, counts.skipped), (7, 2, 5));
    assert_eq!(report.errored().count(), 2);
    assert_eq!(report.successes().count(), 7);
    assert_eq!(report.skipped().count(), 5);
}

#[test]
fn two_failures_sequential() {
    timed(|| check_dag(false, 1));
}

#[test]
fn two_failures_parallel() {
    timed(|| {
        for _ in 0..50 {
            check_dag(true, 2);
            check_dag(true, 4);
        }
    });
}

#[test]
fn a_panic_becomes_the_failure_with_its_message() {
    timed(|| {
        let tasks = vec![
            Task::new("explode", |_| -> Result<Value, TaskError> {
                panic!("wires crossed")
            }),
            common::ok("after", 1).after("explode"),
            common::ok("free", 2),
        ];
        let process = Process::new("panics", tasks).unwrap();
        for parallel in [false, true] {
            let report = process.run(RunOptions::new().parallel(parallel)).unwrap();
            let error = report.entry("explode").unwrap().error().unwrap();
            assert_eq!(error.kind().as_str(), "panic");
            assert_eq!(error.message(), "wires crossed");
            assert_eq!(report.entry("after").unwrap().status(), Status::Skipped);
            assert_eq!(report.entry("free").unwrap().status(), Status::Success);
        }
    });
}

#[test]
fn all_done_cleanup_runs_after_a_failure_without_its_result() {
    timed(|| {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let tasks = vec![
            common::ok("fetch", "data"),
            common::failing("parse", "bad input"),
            Task::new("cleanup", move |ctx| {
                record.lock().unwrap().extend(ctx.args().iter().cloned());
                Ok::<_, TaskError>("cleaned")
            })
            .inject("fetch")
            .inject("parse")
            .trigger(TriggerRule::AllDone),
            common::ok("after_cleanup", 1).after("cleanup"),
            common::ok("after_parse", 1).after("parse"),
        ];
        let process = Process::new("cleanup", tasks).unwrap();
        let report = process.run(RunOptions::new().parallel(true)).unwrap();
        assert_eq!(report.entry("cleanup").unwrap().status(), Status::Success);
        assert_eq!(*seen.lock().unwrap(), [Value::from("data")]);
        assert_eq!(
            report.entry("after_cleanup").unwrap().status(),
            Status::Success
        );
        assert_eq!(
            report.entry("after_parse").unwrap().status(),
            Status::Skipped
        );
        let error = report.entry("parse").unwrap().error().unwrap();
        assert_eq!(error.downstream().collect::<Vec<_>>(), ["after_parse"]);
    });
}

#[test]
fn injection_positional_named_and_both() {
    timed(|| {
        let captured = Arc::new(Mutex::new(None));
        let keep = captured.clone();
        let tasks = vec![
            Task::new("sink", move |ctx| {
                let kwargs: Vec<(String, Value)> = ctx
                    .kwargs()
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect();
                *keep.lock().unwrap() = Some((ctx.args().to_vec(), kwargs));
                Ok::<_, TaskError>(())
            })
            .arg("static")
            .kwarg("mode", "fast")
            .kwarg("left", "static-left")
            .inject("one")
            .dependency(processes::Dependency::named("two", "left"))
            .dependency(processes::Dependency::both("three", "third"))
            .after("four"),
            common::ok("one", 1),
            common::ok("two", 2),
            common::ok("three", 3),
            common::ok("four", 4),
        ];
        let report = Process::new("inject", tasks)
            .unwrap()
            .run(RunOptions::new())
            .unwrap();
        assert!(report.all_succeeded());
        let (args, kwargs) = captured.lock().unwrap().take().unwrap();
        assert_eq!(
            args,
            [Value::from("static"), Value::from(1), Value::from(3)]
        );
        assert_eq!(
            kwargs,
            [
                ("mode".to_owned(), Value::from("fast")),
                ("left".to_owned(), Value::from(2)),
                ("third".to_owned(), Value::from(3)),
            ]
        );
    });
}

#[test]
fn an_injected_result_is_shared_not_copied() {
    timed(|| {
        let received = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = vec![Task::new("big", |_| Ok::<_, TaskError>(vec![7u8; 1 << 20]))];
        for i in 0..8 {
            let received = received.clone();
            tasks.push(
                Task::new(&format!("use{i}"), move |ctx| {
                    received.lock().unwrap().push(ctx.args()[0].clone());
                    Ok::<_, TaskError>(())
                })
                .inject("big"),
            );
        }
        let report = Process::new("share", tasks)
            .unwrap()
            .run(RunOptions::new().parallel(true))
            .unwrap();
        let original = report.entry("big").unwrap().result().unwrap().clone();
        let received = received.lock().unwrap();
        assert_eq!(received.len(), 8);
        assert!(received.iter().all(|v| v.same_as(&original)));
    });
}

#[test]
fn every_run_starts_fresh() {
    timed(|| {
        let runs = Arc::new(AtomicUsize::new(0));
        let count = runs.clone();
        let flaky = Task::new("flaky", move |_| {
            if count.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(TaskError::new("first run fails"))
            } else {
                Ok(Value::from("ok"))
            }
        });
        let process =
            Process::new("again", vec![flaky, common::ok("next", 1).after("flaky")]).unwrap();
        let first = process.run(RunOptions::new()).unwrap();
        let second = process.run(RunOptions::new()).unwrap();
        assert_eq!(first.entry("next").unwrap().status(), Status::Skipped);
        assert!(second.all_succeeded());
        assert_eq!(first.entry("flaky").unwrap().status(), Status::Errored);
    });
}

#[test]
fn running_while_running_is_refused() {
    timed(|| {
        let process = Arc::new(Mutex::new(None::<Arc<Process>>));
        let inner = process.clone();
        let nested = Task::new("nested", move |_| {
            let process = inner.lock().unwrap().clone().unwrap();
            match process.run(RunOptions::new()) {
                Err(error) => Ok::<_, TaskError>(error.to_string()),
                Ok(_) => Err(TaskError::new("a nested run was allowed")),
            }
        });
        let built = Arc::new(Process::new("busy", vec![nested]).unwrap());
        *process.lock().unwrap() = Some(built.clone());
        let report = built.run(RunOptions::new()).unwrap();
        let result = report
            .entry("nested")
            .unwrap()
            .result()
            .unwrap()
            .to_string();
        assert_eq!(
            result,
            "process \"busy\": already running; wait for the current run to finish"
        );
        assert!(!built.is_running());
    });
}

#[test]
fn arguments_out_of_range_name_the_task() {
    timed(|| {
        let task = Task::new("probe", |ctx| match ctx.arg(3) {
            Ok(_) => Ok(Value::Null),
            Err(error) => Err(TaskError::new(error.to_string())),
        })
        .arg(1);
        let report = Process::new("args", vec![task])
            .unwrap()
            .run(RunOptions::new())
            .unwrap();
        let error = report.entry("probe").unwrap().error().unwrap();
        assert_eq!(
            error.message(),
            "task \"probe\": argument index 3 is out of range (the task has 1 positional arguments)"
        );
    });
}

/// `prefix0 -> prefix1 -> ...`: each link after the one before, each counted in `calls`;
/// `fail` names the link that fails and how (`Err` or a panic).
fn linked(prefix: &str, links: usize, calls: &Calls, fail: Option<(usize, bool)>) -> Vec<Task> {
    (0..links)
        .map(|i| {
            let calls = calls.clone();
            let failure = fail.and_then(|(at, panics)| (at == i).then_some(panics));
            let task = Task::new(&format!("{prefix}{i}"), move |ctx| {
                *calls
                    .lock()
                    .unwrap()
                    .entry(ctx.name().to_owned())
                    .or_default() += 1;
                match failure {
                    Some(true) => panic!("{} panicked on purpose", ctx.name()),
                    Some(false) => Err(TaskError::new("failed on purpose")),
                    None => Ok(ctx.args().first().cloned().unwrap_or(Value::Null)),
                }
            });
            common::link(task, prefix, i)
        })
        .collect()
}

#[test]
fn chains_run_link_after_link_on_a_worker_and_stop_at_their_failure() {
    timed(|| {
        for round in 0..40 {
            let calls: Calls = Default::default();
            let mut tasks = linked("k", 30, &calls, Some((12, false)));
            tasks.extend(linked("p", 10, &calls, Some((4, true))));
            // A link with a timeout, and one with a static argument, in an unbroken chain.
            let mut plain = linked("t", 6, &calls, None);
            plain[2] = plain[2].clone().timeout(std::time::Duration::from_secs(20));
            plain[3] = plain[3].clone().arg(7);
            tasks.extend(plain);
            let process = Process::new("chains", tasks).unwrap();
            let workers = 2 + round % 2;
            let options = RunOptions::new().parallel(true).max_workers(workers);
            let report = process.run(options).unwrap();

            let calls = calls.lock().unwrap();
            let expect = |prefix: &str, links: usize, failed: usize| {
                for i in 0..links {
                    let name = format!("{prefix}{i}");
                    let entry = report.entry(&name).unwrap();
                    let (status, called) = match i {
                        _ if i < failed => (Status::Success, Some(&1)),
                        _ if i == failed => (Status::Errored, Some(&1)),
                        _ => (Status::Skipped, None),
                    };
                    assert_eq!(entry.status(), status, "{name}");
                    assert_eq!(calls.get(&name), called, "{name} is called at most once");
                }
            };
            expect("k", 30, 12);
            expect("p", 10, 4);
            expect("t", 6, 6);
            let k12 = report.entry("k12").unwrap();
            let downstream: Vec<&str> = k12.error().unwrap().downstream().collect();
            let expected: Vec<String> = (13..30).map(|i| format!("k{i}")).collect();
            assert_eq!(downstream, expected, "exactly the links after k12");
            for (name, kind) in [("p4", "panic"), ("k12", "error")] {
                let error = report.entry(name).unwrap().error().unwrap();
                assert_eq!(error.kind().as_str(), kind, "{name}");
                let traceback = error.traceback().unwrap_or_default();
                assert!(
                    traceback.contains("failure_isolation::linked"),
                    "{name} keeps where it failed: {traceback:?}"
                );
            }
            assert_eq!(report.entry("t3").unwrap().result(), Some(Value::Int(7)));
            for i in 1..12 {
                let before = report.entry(&format!("k{}", i - 1)).unwrap().finished_at();
                let started = report
                    .entry(&format!("k{i}"))
                    .unwrap()
                    .started_at()
                    .unwrap();
                assert!(started >= before, "k{i} starts once k{} ended", i - 1);
            }
        }
    });
}

#[inline(never)]
fn swallow_a_panic() -> Result<Value, TaskError> {
    let caught = std::panic::catch_unwind(|| panic!("caught inside the callback"));
    assert!(caught.is_err());
    Ok(Value::Null)
}

#[inline(never)]
fn fail_on_its_own() -> Result<Value, TaskError> {
    Err(TaskError::new("the second link fails"))
}

#[test]
fn a_link_after_one_that_caught_a_panic_keeps_its_own_traceback() {
    timed(|| {
        let mut tasks: Vec<Task> = (0..12)
            .map(|i| common::ok(&format!("pad{i}"), i as i64))
            .collect();
        tasks.push(Task::new("catcher", |_| swallow_a_panic()));
        tasks.push(Task::new("failer", |_| fail_on_its_own()).after("catcher"));
        tasks.push(common::ok("after", 1).after("failer"));
        let process = Process::new("stale", tasks).unwrap();
        for parallel in [false, true] {
            let report = process.run(RunOptions::new().parallel(parallel)).unwrap();
            assert_eq!(report.entry("catcher").unwrap().status(), Status::Success);
            let error = report.entry("failer").unwrap().error().unwrap();
            assert_eq!(error.kind().as_str(), "error");
            let traceback = error.traceback().unwrap_or_default();
            // Its own frames (a debug build may leave out the innermost one), none of the
            // panic the link before caught.
            assert!(
                traceback.contains("failure_isolation::") && !traceback.contains("swallow_a_panic"),
                "parallel {parallel}: {traceback}"
            );
            assert_eq!(report.entry("after").unwrap().status(), Status::Skipped);
        }
    });
}

#[test]
fn a_sequential_run_keeps_its_order_through_chains() {
    timed(|| {
        // Roots in the order given, then what each task releases, first released first: a
        // worker that ran each released task at once would go a, c, e, f, ... instead.
        let order = Arc::new(Mutex::new(Vec::new()));
        let task = |name: &'static str, deps: &[&str]| {
            let order = order.clone();
            let task = Task::new(name, move |_| {
                order.lock().unwrap().push(name);
                Ok::<_, TaskError>(())
            });
            deps.iter().fold(task, |task, dep| task.after(dep))
        };
        let tasks = vec![
            task("a", &[]),
            task("b", &[]),
            task("c", &["a"]),
            task("d", &["b"]),
            task("e", &["c"]),
            task("f", &["e"]),
            task("g", &["d", "f"]),
        ];
        let process = Process::new("order", tasks).unwrap();
        for _ in 0..3 {
            order.lock().unwrap().clear();
            let report = process.run(RunOptions::new().parallel(false)).unwrap();
            assert!(report.all_succeeded());
            let called = order.lock().unwrap().clone();
            assert_eq!(called, ["a", "b", "c", "d", "e", "f", "g"]);
            let reported: Vec<&str> = report.entries().map(|e| e.name()).collect();
            assert_eq!(
                called, reported,
                "a sequential run follows the report's order"
            );
        }
    });
}
