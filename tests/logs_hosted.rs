//! A host-driven run (how the Go and Node SDKs run tasks) writes the same log lines, and a
//! traceback the host supplies (a Go panic stack here) is searched with the task's frame filter.

use std::sync::mpsc;
use std::time::Duration;

use processes::{ErrorKind, Process, Readiness, RunOptions, Status, Task, TaskError, Value};

const GO_STACK: &str = "goroutine 7 [running]:
runtime/debug.Stack()
\t/usr/local/go/src/runtime/debug/stack.go:26 +0x5e
example.com/etl/db.Query(0x1)
\t/go/pkg/mod/example.com/db@v1.2.0/query.go:88 +0x25
example.com/etl/jobs.Load()
\t/app/jobs/load.go:14 +0x1d";

fn host_task(name: &str) -> Task {
    Task::new(name, |_| -> Result<Value, TaskError> {
        panic!("no callback runs in a host-driven run")
    })
}

#[test]
fn a_hosted_run_logs_like_any_other() {
    let dir = std::env::temp_dir().join(format!("processes-hosted-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("hosted.log");
    let tasks = [
        host_task("extract"),
        host_task("load").after("extract").frame_filter("/app/"),
        host_task("publish").after("load"),
    ];
    let process = Process::new("hosted", tasks.map(|t| t.log_file(&log))).unwrap();

    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let run = process
            .start_hosted(RunOptions::new().max_workers(2))
            .unwrap();
        while run.wait(Some(Duration::from_secs(5))) == Readiness::Ready {
            for assignment in run.next_batch(8) {
                let completion = assignment.completion();
                let outcome = if assignment.name() == "load" {
                    let kind = ErrorKind::Other("panic".into());
                    completion.fail(TaskError::with_kind(kind, "nil map").traceback(GO_STACK))
                } else {
                    completion.succeed(1)
                };
                outcome.unwrap();
            }
        }
        let _ = tx.send(run.report().unwrap());
    });
    let report = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the hosted run stalled");

    assert_eq!(report.entry("extract").unwrap().status(), Status::Success);
    let load = report.entry("load").unwrap();
    let error = load.error().unwrap();
    assert_eq!(error.location(), Some("/app/jobs/load.go:14"));
    assert_eq!(report.entry("publish").unwrap().status(), Status::Skipped);

    let text = std::fs::read_to_string(&log).unwrap();
    let messages: Vec<&str> = text
        .lines()
        .filter_map(|line| line.split_once(" - processes.").map(|(_, rest)| rest))
        .collect();
    assert_eq!(
        messages,
        [
            "extract - INFO - Starting extract.",
            "extract - INFO - Finished extract.",
            "load - INFO - Starting load.",
            "load - ERROR - Failed load (panic): nil map",
            "publish - INFO - Skipped publish: dependency load did not succeed.",
        ]
    );
    assert!(text.contains(
        "Downstream impact: publish\nTraced vars location: /app/jobs/load.go:14\nTraced vars: -\n\
         Traceback:\ngoroutine 7 [running]:\n"
    ));
}
