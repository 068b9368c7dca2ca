//! Per-attempt timeouts and retries with a filter and a backoff.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use processes::{
    Backoff, ErrorKind, Event, Observer, Process, RunOptions, Status, Task, TaskError, Value,
};

use common::timed;

/// A gate a callback blocks on until the test opens it.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    fn wait(&self) {
        let (open, cv) = &*self.0;
        let mut open = open.lock().unwrap();
        while !*open {
            open = cv.wait(open).unwrap();
        }
    }

    fn open(&self) {
        let (open, cv) = &*self.0;
        *open.lock().unwrap() = true;
        cv.notify_all();
    }
}

#[test]
fn a_timed_out_attempt_fails_and_the_run_goes_on() {
    timed(|| {
        for parallel in [false, true] {
            a_timed_out_attempt_fails_and_the_run_goes_on_when(parallel);
        }
    });
}

fn a_timed_out_attempt_fails_and_the_run_goes_on_when(parallel: bool) {
    {
        let gate = Gate::default();
        let blocked = gate.clone();
        let saw_token = Arc::new(AtomicBool::new(false));
        let token_seen = saw_token.clone();
        let late_return = Arc::new(AtomicBool::new(false));
        let returned = late_return.clone();
        let mut tasks = vec![
            Task::new("stuck", move |ctx| {
                blocked.wait();
                token_seen.store(ctx.is_cancelled(), Ordering::SeqCst);
                returned.store(true, Ordering::SeqCst);
                Ok::<_, TaskError>("too late")
            })
            .timeout(Duration::from_millis(100)),
            common::ok("after_stuck", 1).after("stuck"),
        ];
        for i in 0..10 {
            tasks.push(common::ok(&format!("free{i}"), i));
        }
        let process = Process::new("timeouts", tasks).unwrap();
        let report = process
            .run(RunOptions::new().parallel(parallel).max_workers(2))
            .unwrap();
        let stuck = report.entry("stuck").unwrap();
        assert_eq!(stuck.status(), Status::Errored);
        let error = stuck.error().unwrap();
        assert_eq!(error.kind(), &ErrorKind::Timeout);
        assert!(
            error.message().contains("timed out after 100ms"),
            "{}",
            error.message()
        );
        assert_eq!(
            report.entry("after_stuck").unwrap().status(),
            Status::Skipped
        );
        assert_eq!(report.successes().count(), 10);
        assert!(
            !late_return.load(Ordering::SeqCst),
            "the run ended while the callback was blocked (parallel: {parallel})"
        );

        gate.open();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !late_return.load(Ordering::SeqCst) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            saw_token.load(Ordering::SeqCst),
            "the callback saw its token set"
        );
    }
}

#[test]
fn durations_too_long_for_the_clock_mean_never() {
    timed(|| {
        let capped = Backoff::Exponential {
            initial: Duration::from_millis(1),
            factor: 2.0,
            max: Duration::MAX,
            jitter: 0.5,
        };
        for retry in [1, 10, 1_000, u32::MAX] {
            let _ = capped.delay(retry, 0.0);
        }
        assert_eq!(capped.delay(1_000_000, 0.0), Duration::MAX);
        let flaky = Arc::new(AtomicU32::new(0));
        let seen = flaky.clone();
        let tasks = vec![
            common::ok("endless_timeout", 1).timeout(Duration::MAX),
            Task::new("capped_backoff", move |_| {
                if seen.fetch_add(1, Ordering::SeqCst) == 0 {
                    Err(TaskError::with_kind(ErrorKind::Connection, "blip"))
                } else {
                    Ok(Value::from(2))
                }
            })
            .retries(1)
            .backoff(capped),
        ];
        let process = Process::new("long", tasks).unwrap();
        for parallel in [false, true] {
            flaky.store(0, Ordering::SeqCst);
            let report = process.run(RunOptions::new().parallel(parallel)).unwrap();
            assert!(report.all_succeeded(), "parallel: {parallel}");
        }
        let hosted = process.start_hosted(RunOptions::new()).unwrap();
        assert_eq!(
            hosted.wait(Some(Duration::MAX)),
            processes::Readiness::Ready
        );
    });
}

#[test]
fn a_retry_never_overlaps_its_abandoned_attempt() {
    timed(|| {
        let running = Arc::new(AtomicU32::new(0));
        let overlap = Arc::new(AtomicBool::new(false));
        let attempts = Arc::new(AtomicU32::new(0));
        let (r, o, a) = (running.clone(), overlap.clone(), attempts.clone());
        let task = Task::new("slow", move |ctx| {
            if r.fetch_add(1, Ordering::SeqCst) > 0 {
                o.store(true, Ordering::SeqCst);
            }
            a.fetch_add(1, Ordering::SeqCst);
            // The first two attempts outlive their timeout, ignoring the token for a while.
            if ctx.attempt() < 3 {
                std::thread::sleep(Duration::from_millis(150));
            }
            r.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, TaskError>(ctx.attempt())
        })
        .timeout(Duration::from_millis(40))
        .retries(2);
        let process = Process::new("overlap", vec![task]).unwrap();
        for parallel in [false, true] {
            attempts.store(0, Ordering::SeqCst);
            let report = process.run(RunOptions::new().parallel(parallel)).unwrap();
            let entry = report.entry("slow").unwrap();
            assert_eq!(entry.status(), Status::Success);
            assert_eq!(entry.attempts(), 3);
            assert_eq!(entry.result(), Some(Value::from(3)));
            assert!(entry.elapsed() >= Duration::from_millis(300));
            assert!(
                !overlap.load(Ordering::SeqCst),
                "a retry ran while an attempt still ran"
            );
        }
    });
}

#[test]
fn retries_count_attempts_and_honour_the_filter() {
    timed(|| {
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let connection = Task::new("connect", move |ctx| {
            c.fetch_add(1, Ordering::SeqCst);
            if ctx.attempt() < 3 {
                Err(TaskError::with_kind(ErrorKind::Connection, "refused"))
            } else {
                Ok(Value::from("connected"))
            }
        })
        .retries(5);
        let plain = Task::new("plain", |_| {
            Err::<Value, _>(TaskError::new("not retried by default"))
        })
        .retries(3);
        let filtered = Task::new("filtered", |_| {
            Err::<Value, _>(TaskError::with_kind(
                ErrorKind::Other("ValueError".into()),
                "bad",
            ))
        })
        .retries(2)
        .retry_on([ErrorKind::Other("ValueError".into())]);
        let exhausted = Task::new("exhausted", |_| {
            Err::<Value, _>(TaskError::with_kind(ErrorKind::Timeout, "slow network"))
        })
        .retries(1);
        let process =
            Process::new("retries", vec![connection, plain, filtered, exhausted]).unwrap();
        let report = process.run(RunOptions::new()).unwrap();
        let entry = |n: &str| report.entry(n).unwrap();
        assert_eq!(entry("connect").status(), Status::Success);
        assert_eq!(entry("connect").attempts(), 3);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert_eq!(entry("plain").attempts(), 1);
        assert_eq!(entry("filtered").attempts(), 3);
        assert_eq!(entry("filtered").status(), Status::Errored);
        assert_eq!(entry("exhausted").attempts(), 2);
        assert_eq!(
            entry("exhausted").error().unwrap().message(),
            "slow network"
        );
    });
}

struct Retries(Mutex<Vec<(u32, Duration, Instant)>>);

impl Observer for Retries {
    fn on_event(&self, event: &Event<'_>) {
        if let Event::AttemptFailed {
            attempt, retry_in, ..
        } = event
        {
            self.0
                .lock()
                .unwrap()
                .push((*attempt, *retry_in, Instant::now()));
        }
    }
}

#[test]
fn backoff_delays_each_retry() {
    timed(|| {
        let starts = Arc::new(Mutex::new(Vec::new()));
        let s = starts.clone();
        let task = Task::new("backoff", move |ctx| {
            s.lock().unwrap().push(Instant::now());
            if ctx.attempt() < 4 {
                Err(TaskError::with_kind(ErrorKind::Connection, "again"))
            } else {
                Ok(Value::Null)
            }
        })
        .retries(3)
        .backoff(Backoff::Exponential {
            initial: Duration::from_millis(20),
            factor: 2.0,
            max: Duration::from_millis(60),
            jitter: 0.0,
        });
        let observer = Arc::new(Retries(Mutex::new(Vec::new())));
        let process = Process::new("backoff", vec![task]).unwrap();
        for parallel in [false, true] {
            starts.lock().unwrap().clear();
            observer.0.lock().unwrap().clear();
            let options = RunOptions::new()
                .parallel(parallel)
                .observer(observer.clone());
            let report = process.run(options).unwrap();
            assert_eq!(report.entry("backoff").unwrap().attempts(), 4);
            let starts = starts.lock().unwrap();
            let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
            let expected = [20, 40, 60].map(Duration::from_millis);
            for (gap, want) in gaps.iter().zip(expected) {
                assert!(*gap >= want, "gap {gap:?} shorter than backoff {want:?}");
            }
            let announced: Vec<_> = observer
                .0
                .lock()
                .unwrap()
                .iter()
                .map(|r| (r.0, r.1))
                .collect();
            assert_eq!(
                announced,
                [(1, expected[0]), (2, expected[1]), (3, expected[2])]
            );
        }
    });
}

#[test]
fn fixed_backoff_with_jitter_stays_within_bounds() {
    let backoff = Backoff::Exponential {
        initial: Duration::from_millis(100),
        factor: 3.0,
        max: Duration::from_secs(1),
        jitter: 0.5,
    };
    for draw in [0.0, 0.25, 0.999] {
        let delay = backoff.delay(2, draw);
        assert!(delay <= Duration::from_millis(300) && delay >= Duration::from_millis(150));
    }
    assert_eq!(
        Backoff::Fixed(Duration::from_millis(7)).delay(9, 0.5),
        Duration::from_millis(7)
    );
}
