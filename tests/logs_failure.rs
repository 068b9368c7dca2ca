//! The failure context: traced variables, their location with and without a frame filter, the
//! native traceback and the downstream impact, in the report and in the task's log file.

#[path = "support/failing_helper.rs"]
mod helper;
#[path = "support/failing_vendor.rs"]
mod vendor;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use processes::{ErrorKind, Process, Report, RunOptions, Status, Task, TaskError, TriggerRule};

const HELPER: &str = include_str!("support/failing_helper.rs");
const VENDOR: &str = include_str!("support/failing_vendor.rs");

/// Runs `f` on a thread of its own and fails if it takes longer than `limit`.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .expect("the run did not finish in time")
}

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("processes-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `file:line` of the line of `source` holding `marker`.
fn at(file: &str, source: &str, marker: &str) -> String {
    let line = source.lines().position(|l| l.contains(marker)).unwrap() + 1;
    format!("tests/support/{file}:{line}")
}

/// `pay` fails inside the helper; `receipt` and `audit` are taken down with it; `cleanup`
/// runs whatever happened, and `archive` after it.
fn run(log: PathBuf, panic: bool, filter: Option<String>, parallel: bool) -> Report {
    let mut pay = Task::new("pay", move |ctx| {
        ctx.trace("amount", 120);
        ctx.trace("account", "acme");
        let settled = helper::settle(120, 100, panic)?;
        Ok::<_, TaskError>(settled)
    })
    .arg(7)
    .kwarg("currency", "EUR")
    .log_file(&log);
    if let Some(filter) = filter {
        pay = pay.frame_filter(&filter);
    }
    let ok = |_: &processes::TaskContext<'_>| Ok::<_, TaskError>(());
    let tasks = vec![
        pay,
        Task::new("receipt", ok).after("pay").log_file(&log),
        Task::new("audit", ok).after("receipt").log_file(&log),
        Task::new("cleanup", ok)
            .after("pay")
            .trigger(TriggerRule::AllDone)
            .log_file(&log),
        Task::new("archive", ok).after("cleanup").log_file(&log),
    ];
    let process = Process::new("payments", tasks).unwrap();
    process
        .run(RunOptions::new().parallel(parallel).max_workers(2))
        .unwrap()
}

/// The lines of the ERROR record in `log`: its first line and the block after it.
fn error_record(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.contains(" - ERROR - "))
        .unwrap();
    let end = (start + 1..lines.len())
        .find(|&i| lines[i].contains(" - processes."))
        .unwrap_or(lines.len());
    lines[start..end].iter().map(|l| l.to_string()).collect()
}

fn check(test: &str, panic: bool, filter: Option<&str>, expected_location: &str) {
    for parallel in [false, true] {
        let dir = scratch(&format!("{test}-{parallel}"));
        let log = dir.join("payments.log");
        let (path, filter) = (log.clone(), filter.map(str::to_owned));
        let report = within(Duration::from_secs(60), move || {
            run(path, panic, filter, parallel)
        });

        let pay = report.entry("pay").unwrap();
        assert_eq!(pay.status(), Status::Errored);
        let error = pay.error().unwrap();
        let kind = if panic {
            ErrorKind::Panic
        } else {
            ErrorKind::Error
        };
        assert_eq!(error.kind(), &kind);
        let location = error.location().unwrap();
        assert!(
            location.ends_with(expected_location),
            "{location} vs {expected_location}"
        );
        let vars: Vec<_> = error
            .traced_vars()
            .iter()
            .map(|v| (&*v.name, &*v.value))
            .collect();
        assert_eq!(vars, [("amount", "120"), ("account", "\"acme\"")]);
        let traceback = error.traceback().unwrap();
        let first = traceback.lines().next().unwrap();
        let innermost = if panic {
            "vendor::pick"
        } else {
            "vendor::check"
        };
        assert!(first.contains(innermost), "traceback starts at {first:?}");
        for frame in [
            "logs_failure::helper::apply",
            "logs_failure::helper::settle",
            "logs_failure::",
        ] {
            assert!(
                traceback.contains(frame),
                "{frame} missing from\n{traceback}"
            );
        }
        assert!(!traceback.contains("processes::run::engine"), "{traceback}");
        assert_eq!(error.downstream().collect::<Vec<_>>(), ["receipt", "audit"]);
        assert_eq!(report.entry("archive").unwrap().status(), Status::Success);

        let record = error_record(&log);
        let kind = kind.as_str();
        assert!(record[0].ends_with(&format!(
            " - processes.pay - ERROR - Failed pay ({kind}): {}",
            error.message()
        )));
        let expected = [
            "Function: pay".to_owned(),
            "Args: [7]".to_owned(),
            "Kwargs: {currency: \"EUR\"}".to_owned(),
            "Downstream impact: receipt, audit".to_owned(),
            format!("Traced vars location: {location}"),
            "Traced vars:".to_owned(),
            "  amount = 120".to_owned(),
            "  account = \"acme\"".to_owned(),
            "Traceback:".to_owned(),
        ];
        assert_eq!(record[1..10], expected);
        assert_eq!(record[10..].join("\n"), traceback.trim_end());
    }
}

#[test]
fn error_without_filter_points_into_the_vendor() {
    check(
        "error-plain",
        false,
        None,
        &at("failing_vendor.rs", VENDOR, "// vendor error"),
    );
}

#[test]
fn error_with_a_filter_on_the_helper_file() {
    let expected = at("failing_helper.rs", HELPER, "// apply calls vendor (error)");
    check(
        "error-file",
        false,
        Some("support/failing_helper.rs"),
        &expected,
    );
}

#[test]
fn error_with_a_filter_on_a_helper_symbol() {
    let expected = at("failing_helper.rs", HELPER, "// settle calls apply");
    check("error-symbol", false, Some("helper::settle"), &expected);
}

#[test]
fn panic_without_filter_points_into_the_vendor() {
    check(
        "panic-plain",
        true,
        None,
        &at("failing_vendor.rs", VENDOR, "// vendor panic"),
    );
}

#[test]
fn panic_with_a_filter_on_the_helper_file() {
    let expected = at("failing_helper.rs", HELPER, "// apply calls vendor (panic)");
    check(
        "panic-file",
        true,
        Some("support/failing_helper.rs"),
        &expected,
    );
}

#[test]
fn a_supplied_traceback_is_kept_and_filtered() {
    let dir = scratch("supplied");
    let log = dir.join("js.log");
    let stack = "Error: no route\n    at connect (/app/node_modules/db/index.js:40:11)\n    \
                 at load (/app/src/jobs/load.js:12:7)\n    \
                 at process.processTicksAndRejections (node:internal/process/task_queues:95:5)";
    let task = |name: &str, filter: Option<&str>| {
        let task = Task::new(name, move |_| {
            Err::<(), _>(
                TaskError::with_kind(ErrorKind::Other("Error".into()), "no route").traceback(stack),
            )
        })
        .log_file(&log);
        match filter {
            Some(filter) => task.frame_filter(filter),
            None => task,
        }
    };
    let process = Process::new("js", [task("plain", None), task("mine", Some("/src/"))]).unwrap();
    let report = process.run(RunOptions::new()).unwrap();
    let plain = report.entry("plain").unwrap().error().unwrap();
    assert_eq!(plain.traceback(), Some(stack));
    assert_eq!(plain.location(), Some("/app/node_modules/db/index.js:40"));
    let mine = report.entry("mine").unwrap().error().unwrap();
    assert_eq!(mine.location(), Some("/app/src/jobs/load.js:12"));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("Traced vars location: /app/src/jobs/load.js:12\nTraced vars: -\nTraceback:\nError: no route\n"));
}

#[test]
fn an_error_converted_after_the_callback_returned_has_no_traceback() {
    let task = Task::new("text", |ctx| {
        ctx.trace("step", 3);
        Err::<(), _>("plain text failure")
    });
    let process = Process::new("p", [task]).unwrap();
    let report = process.run(RunOptions::new()).unwrap();
    let error = report.entry("text").unwrap().error().unwrap();
    assert_eq!(error.message(), "plain text failure");
    assert_eq!(
        error.traceback(),
        None,
        "only this library's frames were on the stack"
    );
    assert_eq!(error.location(), None);
    assert_eq!(error.traced_vars().len(), 1);
}

#[test]
fn an_error_made_outside_a_callback_has_no_traceback() {
    let error = TaskError::new("made by the host");
    assert_eq!(error.traceback, None);
    let process = Process::new(
        "p",
        [Task::with_outcome("t", move |_| {
            processes::Outcome::failure(error.clone())
        })],
    )
    .unwrap();
    let report = process.run(RunOptions::new()).unwrap();
    let entry = report.entry("t").unwrap();
    assert_eq!(entry.error().unwrap().traceback(), None);
    assert_eq!(entry.error().unwrap().location(), None);
}
