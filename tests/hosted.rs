//! Host-driven runs: the host pulls ready tasks in batches and completes them.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use processes::{
    Assignment, ErrorKind, Process, Readiness, RunError, RunOptions, Status, Task, TaskError, Value,
};

use common::timed;

/// Tasks whose callbacks must never be called in a host-driven run.
fn never(name: &str) -> Task {
    Task::new(name, |_| -> Result<Value, TaskError> {
        panic!("a callback ran in a hosted run")
    })
}

fn graph() -> Process {
    let mut tasks = vec![never("root").arg(10)];
    for i in 0..8 {
        tasks.push(never(&format!("mid{i}")).inject("root"));
    }
    tasks.push(never("bad").after("root"));
    tasks.push(never("after_bad").after("bad"));
    let mut sink = never("sink");
    for i in 0..8 {
        sink = sink.inject(&format!("mid{i}"));
    }
    tasks.push(sink);
    Process::new("hosted", tasks).unwrap()
}

fn perform(assignment: &Assignment) -> Result<Value, TaskError> {
    if assignment.name() == "bad" {
        return Err(TaskError::with_kind(
            ErrorKind::Other("HostError".into()),
            "host failure",
        ));
    }
    let sum: i64 = assignment.args().iter().filter_map(Value::as_int).sum();
    Ok(Value::from(sum + 1))
}

#[test]
fn the_host_runs_every_task_in_batches_within_the_limit() {
    timed(|| {
        let process = graph();
        let run = process
            .start_hosted(RunOptions::new().max_workers(3))
            .unwrap();
        assert!(process.is_running());
        let mut seen = HashSet::new();
        loop {
            match run.wait(Some(Duration::from_secs(5))) {
                Readiness::Finished => break,
                Readiness::TimedOut => panic!("the run stalled"),
                Readiness::Ready => {}
            }
            let batch = run.next_batch(100);
            assert!(batch.len() <= 3, "in-flight limit");
            assert_eq!(run.in_flight(), batch.len());
            let workers: Vec<_> = batch
                .into_iter()
                .map(|assignment| {
                    assert!(seen.insert(assignment.name().to_owned()), "handed out once");
                    thread::spawn(move || {
                        let outcome = perform(&assignment);
                        assignment.completion().complete(outcome).unwrap();
                    })
                })
                .collect();
            workers.into_iter().for_each(|w| w.join().unwrap());
        }
        let report = run.report().unwrap();
        assert_eq!(
            report.entry("root").unwrap().result(),
            Some(Value::from(11))
        );
        assert_eq!(
            report.entry("mid0").unwrap().result(),
            Some(Value::from(12))
        );
        assert_eq!(
            report.entry("sink").unwrap().result(),
            Some(Value::from(97))
        );
        assert_eq!(
            report
                .entry("bad")
                .unwrap()
                .error()
                .unwrap()
                .kind()
                .as_str(),
            "HostError"
        );
        assert_eq!(report.entry("after_bad").unwrap().status(), Status::Skipped);
        assert!(!seen.contains("after_bad"));
        drop(run);
        assert!(!process.is_running());
    });
}

#[test]
fn completing_twice_is_refused() {
    timed(|| {
        let process = Process::new("twice", vec![never("a")]).unwrap();
        let run = process.start_hosted(RunOptions::new()).unwrap();
        let batch = run.next_batch(1);
        let completion = batch[0].completion().clone();
        completion.succeed(1).unwrap();
        let error = completion.succeed(2).unwrap_err();
        assert_eq!(
            error.to_string(),
            "task \"a\": attempt 1 was already completed"
        );
        assert_eq!(run.wait(Some(Duration::from_secs(1))), Readiness::Finished);
        assert_eq!(
            run.report().unwrap().entry("a").unwrap().result(),
            Some(Value::from(1))
        );
    });
}

#[test]
fn a_hosted_run_retries_and_times_out() {
    timed(|| {
        let tasks = vec![
            never("flaky").retries(2),
            never("slow").timeout(Duration::from_millis(30)),
        ];
        let process = Process::new("retries", tasks).unwrap();
        let run = process.start_hosted(RunOptions::new()).unwrap();
        let mut attempts = Vec::new();
        let mut held = Vec::new();
        while run.wait(Some(Duration::from_secs(5))) == Readiness::Ready {
            for assignment in run.next_batch(10) {
                attempts.push((assignment.name().to_owned(), assignment.attempt()));
                match assignment.name() {
                    "flaky" if assignment.attempt() < 3 => {
                        let error = TaskError::with_kind(ErrorKind::Connection, "reset");
                        assignment.completion().fail(error).unwrap();
                    }
                    "flaky" => assignment.completion().succeed("third time").unwrap(),
                    _ => held.push(assignment.into_completion()),
                }
            }
        }
        let report = run.report().unwrap();
        assert_eq!(report.entry("flaky").unwrap().attempts(), 3);
        assert_eq!(report.entry("flaky").unwrap().status(), Status::Success);
        assert_eq!(
            report.entry("slow").unwrap().error().unwrap().kind(),
            &ErrorKind::Timeout
        );
        let late = held[0].succeed(1).unwrap_err();
        assert!(matches!(late, RunError::Abandoned { .. }));
        assert_eq!(attempts.iter().filter(|a| a.0 == "flaky").count(), 3);
    });
}

#[test]
fn a_second_run_while_hosted_is_refused_and_dropping_cancels() {
    timed(|| {
        let process = Arc::new(graph());
        let run = process.start_hosted(RunOptions::new()).unwrap();
        let error = process.run(RunOptions::new()).unwrap_err();
        assert!(matches!(error, RunError::AlreadyRunning { .. }));
        let assignment = run.next_batch(1).pop().unwrap();
        run.cancel();
        assert!(run.is_finished());
        let late = assignment.completion().succeed(1).unwrap_err();
        assert!(matches!(
            late,
            RunError::Abandoned {
                reason: "run cancelled",
                ..
            }
        ));
        let report = run.report().unwrap();
        assert_eq!(report.counts().cancelled, 12);
        assert_eq!(report.entry("root").unwrap().attempts(), 1);
        drop(run);
        let again = process.run(RunOptions::new().parallel(false)).unwrap();
        assert_eq!(
            again.entry("root").unwrap().error().unwrap().kind(),
            &ErrorKind::Panic
        );
    });
}
