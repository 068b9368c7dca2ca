//! Cancelling a run from another thread, asynchronous completion, and events.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use processes::{
    CancelToken, Event, Observer, Outcome, Process, RunError, RunOptions, Status, Task, TaskError,
    Value,
};

use common::timed;

#[test]
fn cancelling_mid_run_stops_new_tasks_and_returns_promptly() {
    timed(|| {
        for parallel in [false, true] {
            let token = CancelToken::new();
            let started = Arc::new(AtomicUsize::new(0));
            let (first_started, wait_first) = mpsc::channel();
            let first_started = Mutex::new(first_started);
            let count = started.clone();
            let slow = Task::new("slow", move |ctx| {
                count.fetch_add(1, Ordering::SeqCst);
                let _ = first_started.lock().unwrap().send(());
                while !ctx.is_cancelled() {
                    thread::sleep(Duration::from_millis(1));
                }
                Err::<Value, _>(TaskError::new("stopped by its token"))
            });
            let mut tasks = vec![slow];
            for i in 0..20 {
                let count = started.clone();
                tasks.push(
                    Task::new(&format!("later{i}"), move |_| {
                        count.fetch_add(1, Ordering::SeqCst);
                        Ok::<_, TaskError>(())
                    })
                    .after("slow"),
                );
            }
            let process = Process::new("cancel", tasks).unwrap();
            let canceller = token.clone();
            let cancel_thread = thread::spawn(move || {
                wait_first.recv().unwrap();
                thread::sleep(Duration::from_millis(20));
                let at = Instant::now();
                canceller.cancel();
                at
            });
            let options = RunOptions::new().parallel(parallel).cancel_token(token);
            let report = process.run(options).unwrap();
            let returned = Instant::now();
            let cancelled_at = cancel_thread.join().unwrap();
            assert!(
                returned - cancelled_at < Duration::from_millis(500),
                "prompt return"
            );
            assert!(report.was_cancelled());
            assert_eq!(
                started.load(Ordering::SeqCst),
                1,
                "no task starts after the cancel"
            );
            let later = report.entry("later3").unwrap();
            assert_eq!(later.status(), Status::Cancelled);
            assert_eq!(later.attempts(), 0);
            let slow = report.entry("slow").unwrap();
            assert_eq!(
                (slow.status(), slow.attempts()),
                (Status::Cancelled, 1),
                "a callback stopped by its token is cancelled, not errored (parallel: {parallel})"
            );
            assert_eq!(report.counts().cancelled, 21);
            assert_eq!(
                report.counts().skipped,
                0,
                "cancelled is distinct from skipped"
            );
        }
    });
}

#[test]
fn a_task_that_ends_after_the_cancel_leaves_the_report_unchanged() {
    timed(|| {
        let token = CancelToken::new();
        let (started, wait_started) = mpsc::channel();
        let (release, wait_release) = mpsc::channel::<()>();
        let (returned, wait_returned) = mpsc::channel();
        let (started, wait_release) = (Mutex::new(started), Mutex::new(wait_release));
        let returned = Mutex::new(returned);
        // Ignores its token and succeeds once released, after the run has returned.
        let stubborn = Task::new("stubborn", move |_| {
            let _ = started.lock().unwrap().send(());
            let _ = wait_release.lock().unwrap().recv();
            let _ = returned.lock().unwrap().send(());
            Ok::<_, TaskError>(7)
        });
        let mut tasks = vec![stubborn];
        tasks.extend((0..12).map(|i| common::ok(&format!("next{i}"), i).after("stubborn")));
        let process = Process::new("late", tasks).unwrap();
        let canceller = token.clone();
        let cancel_thread = thread::spawn(move || {
            wait_started.recv().unwrap();
            canceller.cancel();
        });
        let options = RunOptions::new().parallel(true).cancel_token(token);
        let report = process.run(options).unwrap();
        cancel_thread.join().unwrap();
        let before = report.to_json();
        let entry = report.entry("stubborn").unwrap();
        assert_eq!((entry.status(), entry.attempts()), (Status::Cancelled, 1));

        release.send(()).unwrap();
        wait_returned.recv().unwrap();
        // Give the late success every chance to reach the records.
        thread::sleep(Duration::from_millis(20));
        let entry = report.entry("stubborn").unwrap();
        assert_eq!(entry.status(), Status::Cancelled);
        assert_eq!(entry.result(), None);
        assert_eq!(report.counts().cancelled, 13);
        assert_eq!(report.to_json(), before, "the report did not change");
    });
}

#[test]
fn a_token_cancelled_before_the_run_cancels_everything() {
    timed(|| {
        let token = CancelToken::new();
        token.cancel();
        let process = Process::new(
            "pre",
            vec![common::ok("a", 1), common::ok("b", 2).after("a")],
        )
        .unwrap();
        let report = process.run(RunOptions::new().cancel_token(token)).unwrap();
        assert_eq!(report.counts().cancelled, 2);
    });
}

#[test]
fn a_pending_task_completes_from_another_thread() {
    timed(|| {
        for parallel in [false, true] {
            let (second_tx, second_rx) = mpsc::channel();
            let second_tx = Mutex::new(second_tx);
            let async_task = Task::with_outcome("fetch", move |ctx| {
                let completion = ctx.completion();
                let seed = ctx.arg(0).ok().and_then(Value::as_int).unwrap_or(0);
                let second = second_tx.lock().unwrap().clone();
                thread::spawn(move || {
                    thread::sleep(Duration::from_millis(30));
                    completion.succeed(seed * 2).unwrap();
                    let _ = second.send(completion.succeed(0));
                });
                Outcome::Pending
            })
            .arg(21);
            let failing_async = Task::with_outcome("flaky", |ctx| {
                ctx.trace("endpoint", "/v1/orders");
                let completion = ctx.completion();
                thread::spawn(move || completion.fail("remote said no").unwrap());
                Outcome::Pending
            });
            // Completed while the callback still runs, with a variable traced after the
            // handle was taken: the failure carries both variables all the same.
            let failing_at_once = Task::with_outcome("hasty", |ctx| {
                ctx.trace("before", 1);
                let completion = ctx.completion();
                ctx.trace("after", 2);
                completion.fail("refused at once").unwrap();
                Outcome::Pending
            });
            let tasks = vec![
                async_task,
                failing_async,
                failing_at_once,
                Task::new("use", |ctx| Ok::<_, TaskError>(ctx.arg(0).unwrap().clone()))
                    .inject("fetch"),
                common::ok("after_flaky", 1).after("flaky"),
            ];
            let process = Process::new("async", tasks).unwrap();
            let report = process.run(RunOptions::new().parallel(parallel)).unwrap();
            assert_eq!(report.entry("use").unwrap().result(), Some(Value::from(42)));
            assert!(report.entry("fetch").unwrap().elapsed() >= Duration::from_millis(30));
            let again = second_rx.recv_timeout(Duration::from_secs(5)).unwrap();
            assert!(
                matches!(again, Err(RunError::AlreadyCompleted { attempt: 1, .. })),
                "{again:?}"
            );
            let flaky = report.entry("flaky").unwrap();
            let error = flaky.error().unwrap();
            assert_eq!(error.message(), "remote said no");
            let traced: Vec<_> = error
                .traced_vars()
                .iter()
                .map(|v| (v.name.as_str(), v.value.as_str()))
                .collect();
            assert_eq!(
                traced,
                [("endpoint", "\"/v1/orders\"")],
                "what the callback traced before answering pending"
            );
            let hasty = report.entry("hasty").unwrap().error().unwrap();
            let traced: Vec<_> = hasty
                .traced_vars()
                .iter()
                .map(|v| (v.name.as_str(), v.value.as_str()))
                .collect();
            assert_eq!(traced, [("before", "1"), ("after", "2")]);
            assert_eq!(
                report.entry("after_flaky").unwrap().status(),
                Status::Skipped
            );
        }
    });
}

#[test]
fn a_failure_completed_before_the_callback_returns_retries_after_it() {
    timed(|| {
        for parallel in [false, true] {
            let running = Arc::new(AtomicUsize::new(0));
            let overlaps = Arc::new(AtomicUsize::new(0));
            let (r, o) = (running.clone(), overlaps.clone());
            let task = Task::with_outcome("eager", move |ctx| {
                if r.fetch_add(1, Ordering::SeqCst) > 0 {
                    o.fetch_add(1, Ordering::SeqCst);
                }
                let completion = ctx.completion();
                let outcome = if ctx.attempt() == 1 {
                    // Settled as a retryable failure while this callback is still running.
                    completion
                        .fail(TaskError::with_kind(
                            processes::ErrorKind::Connection,
                            "reset",
                        ))
                        .unwrap();
                    thread::sleep(Duration::from_millis(50));
                    Outcome::Pending
                } else {
                    completion.succeed(ctx.attempt()).unwrap();
                    Outcome::Pending
                };
                r.fetch_sub(1, Ordering::SeqCst);
                outcome
            })
            .retries(1);
            let mut tasks = vec![task];
            tasks.extend((0..10).map(|i| common::ok(&format!("other{i}"), i)));
            let process = Process::new("eager", tasks).unwrap();
            let report = process
                .run(RunOptions::new().parallel(parallel).max_workers(2))
                .unwrap();
            let entry = report.entry("eager").unwrap();
            assert_eq!(entry.status(), Status::Success);
            assert_eq!(entry.attempts(), 2);
            assert_eq!(
                overlaps.load(Ordering::SeqCst),
                0,
                "the retry started while the first callback still ran (parallel: {parallel})"
            );
        }
    });
}

#[test]
fn a_pending_task_times_out_and_its_late_completion_is_refused() {
    timed(|| {
        let (handles, take) = mpsc::channel();
        let handles = Mutex::new(handles);
        let task = Task::with_outcome("never", move |ctx| {
            handles.lock().unwrap().send(ctx.completion()).unwrap();
            Outcome::Pending
        })
        .timeout(Duration::from_millis(50));
        let process = Process::new("late", vec![task]).unwrap();
        let report = process.run(RunOptions::new()).unwrap();
        let entry = report.entry("never").unwrap();
        assert_eq!(entry.error().unwrap().kind().as_str(), "timeout");
        let completion = take.recv().unwrap();
        assert!(completion.cancel_token().is_cancelled());
        let late = completion.succeed(1).unwrap_err();
        assert!(
            matches!(
                late,
                RunError::Abandoned {
                    reason: "timed out",
                    ..
                }
            ),
            "{late}"
        );
    });
}

#[test]
fn answering_pending_without_a_handle_is_a_failure() {
    timed(|| {
        let tasks = vec![
            Task::with_outcome("confused", |_| Outcome::Pending),
            // An attempt that has a state of its own (a timeout, a token taken) must not wait
            // for a completion nobody can send either.
            Task::with_outcome("timed", |_| Outcome::Pending).timeout(Duration::from_secs(60)),
            Task::with_outcome("token", |ctx| {
                let _token = ctx.cancel_token();
                Outcome::Pending
            }),
        ];
        let process = Process::new("p", tasks).unwrap();
        for parallel in [false, true] {
            let report = process.run(RunOptions::new().parallel(parallel)).unwrap();
            for name in ["confused", "timed", "token"] {
                let error = report.entry(name).unwrap().error().unwrap();
                assert!(
                    error
                        .message()
                        .contains("pending without taking a completion handle"),
                    "{name}: {}",
                    error.message()
                );
            }
        }
    });
}

#[derive(Default)]
struct Recorder {
    events: Mutex<Vec<String>>,
    finished: Mutex<Vec<(String, Status, usize, usize)>>,
}

impl Observer for Recorder {
    fn on_event(&self, event: &Event<'_>) {
        let line = match event {
            Event::TaskStarted { task, attempt } => format!("start {task} {attempt}"),
            Event::AttemptFailed { task, attempt, .. } => format!("retry {task} {attempt}"),
            Event::TaskFinished {
                task,
                status,
                done,
                total,
            } => {
                self.finished
                    .lock()
                    .unwrap()
                    .push((task.to_string(), *status, *done, *total));
                format!("end {task} {status}")
            }
            Event::RunFinished {
                done,
                total,
                cancelled,
            } => {
                format!("run {done}/{total} {cancelled}")
            }
        };
        self.events.lock().unwrap().push(line);
    }
}

#[test]
fn every_task_gets_exactly_one_terminal_event() {
    timed(|| {
        let mut tasks = vec![
            common::failing("bad", "no"),
            Task::new("retry", |ctx| {
                if ctx.attempt() == 1 {
                    Err(TaskError::with_kind(
                        processes::ErrorKind::Connection,
                        "blip",
                    ))
                } else {
                    Ok(Value::Null)
                }
            })
            .retries(1),
        ];
        for i in 0..30 {
            let task = common::ok(&format!("t{i}"), i);
            tasks.push(if i % 3 == 0 {
                task.after("bad")
            } else {
                task.after("retry")
            });
        }
        let process = Process::new("events", tasks).unwrap();
        for parallel in [false, true] {
            let recorder = Arc::new(Recorder::default());
            let options = RunOptions::new()
                .parallel(parallel)
                .observer(recorder.clone());
            process.run(options).unwrap();
            let finished = recorder.finished.lock().unwrap();
            assert_eq!(finished.len(), 32);
            let mut names: Vec<_> = finished.iter().map(|f| f.0.clone()).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), 32, "one terminal event per task");
            let mut done: Vec<usize> = finished.iter().map(|f| f.2).collect();
            done.sort();
            assert_eq!(done, (1..=32).collect::<Vec<_>>());
            assert!(finished.iter().all(|f| f.3 == 32));
            let events = recorder.events.lock().unwrap();
            assert!(events.contains(&"retry retry 1".to_owned()));
            assert!(events.contains(&"start retry 2".to_owned()));
            assert_eq!(events.last().unwrap(), "run 32/32 false");
        }
    });
}

#[test]
fn a_cancelled_run_ends_with_its_last_event() {
    timed(|| {
        // Workers end tasks right up to the cancel, so the sweep races with their events.
        for _ in 0..20 {
            let token = CancelToken::new();
            let tasks: Vec<_> = (0..200)
                .map(|i| {
                    let canceller = token.clone();
                    Task::new(&format!("t{i}"), move |_| {
                        if i == 50 {
                            canceller.cancel();
                        }
                        Ok::<_, TaskError>(i)
                    })
                })
                .collect();
            let process = Process::new("cancel-events", tasks).unwrap();
            let recorder = Arc::new(Recorder::default());
            let options = RunOptions::new()
                .parallel(true)
                .max_workers(2)
                .observer(recorder.clone())
                .cancel_token(token);
            let report = process.run(options).unwrap();
            assert!(report.was_cancelled());
            let events = recorder.events.lock().unwrap();
            assert_eq!(events.last().unwrap(), "run 200/200 true");
            let ends = events.iter().filter(|e| e.starts_with("end ")).count();
            assert_eq!(ends, 200, "one end event per task, all before the run's");
        }
    });
}

#[test]
fn a_panicking_observer_does_not_break_the_run() {
    timed(|| {
        let observer: Arc<dyn Observer> = Arc::new(|_: &Event<'_>| panic!("observer bug"));
        let process = Process::new("obs", vec![common::ok("a", 1)]).unwrap();
        let report = process.run(RunOptions::new().observer(observer)).unwrap();
        assert!(report.all_succeeded());
    });
}

#[test]
fn a_cancel_inside_a_chain_stops_the_next_link() {
    timed(|| {
        for parallel in [false, true] {
            let token = CancelToken::new();
            let called = Arc::new(Mutex::new(Vec::new()));
            let tasks: Vec<Task> = (0..50)
                .map(|i| {
                    let (called, token) = (called.clone(), token.clone());
                    let task = Task::new(&format!("c{i}"), move |_| {
                        called.lock().unwrap().push(i);
                        if i == 10 {
                            token.cancel();
                        }
                        Ok::<_, TaskError>(())
                    });
                    common::link(task, "c", i)
                })
                .collect();
            let process = Process::new("chain", tasks).unwrap();
            let options = RunOptions::new().parallel(parallel).cancel_token(token);
            let report = process.run(options).unwrap();
            assert!(report.was_cancelled());
            assert_eq!(
                *called.lock().unwrap(),
                (0..=10).collect::<Vec<_>>(),
                "no link starts after the cancel (parallel: {parallel})"
            );
            for i in 0..10 {
                assert_eq!(
                    report.entry(&format!("c{i}")).unwrap().status(),
                    Status::Success
                );
            }
            // c10 ended as the cancel was being laid over the run: either verdict is fair.
            let c10 = report.entry("c10").unwrap().status();
            assert!(
                matches!(c10, Status::Success | Status::Cancelled),
                "{c10:?}"
            );
            for i in 11..50 {
                let entry = report.entry(&format!("c{i}")).unwrap();
                assert_eq!(
                    (entry.status(), entry.attempts()),
                    (Status::Cancelled, 0),
                    "c{i}"
                );
            }
        }
    });
}
