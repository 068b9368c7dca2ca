//! Every line a run writes to its log files has the upstream layout:
//! `2026-12-03 18:47:36,123 - processes.<task> - INFO - <message>`, with the failure context
//! block after an ERROR record; and each task's lines say what happened to it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use chrono::{Local, NaiveDateTime};
use processes::{CancelToken, ErrorKind, Level, Process, RunOptions, Status, Task, TaskError};
use regex::Regex;

fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("processes-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `f` on a thread of its own and fails if it takes longer than `limit`.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .expect("the run did not finish in time")
}

/// One record: its time, task, level and message (with the lines of a block after it).
#[derive(Debug)]
struct Record {
    at: NaiveDateTime,
    task: String,
    level: String,
    message: String,
    block: Vec<String>,
}

/// Parses every line of `log`; a line that is not a record must continue an ERROR record.
fn parse(log: &Path) -> Vec<Record> {
    let record = Regex::new(
        r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}) - processes\.([a-z0-9_]+) - (DEBUG|INFO|WARNING|ERROR) - (.+)$",
    )
    .unwrap();
    let block = Regex::new(
        r"^(Function: .+|Args: \[.*\]|Kwargs: \{.*\}|Downstream impact: .+|Traced vars location: .+|Traced vars:( -)?|  \w+ = .+|Traceback:( -)?|\s+\d+: .+|\s+at .+)$",
    )
    .unwrap();
    let text = std::fs::read_to_string(log).unwrap();
    assert!(text.ends_with('\n'), "the last record is not ended");
    let mut records: Vec<Record> = Vec::new();
    for line in text.lines() {
        if let Some(found) = record.captures(line) {
            records.push(Record {
                at: NaiveDateTime::parse_from_str(&found[1], "%Y-%m-%d %H:%M:%S,%3f").unwrap(),
                task: found[2].to_owned(),
                level: found[3].to_owned(),
                message: found[4].to_owned(),
                block: Vec::new(),
            });
            continue;
        }
        let last = records
            .last_mut()
            .unwrap_or_else(|| panic!("stray first line {line:?}"));
        assert_eq!(
            last.level, "ERROR",
            "line {line:?} continues a non-error record"
        );
        assert!(
            block.is_match(line),
            "line {line:?} is not part of a failure block"
        );
        last.block.push(line.to_owned());
    }
    records
}

fn lines_of<'a>(records: &'a [Record], task: &str) -> Vec<(&'a str, &'a str)> {
    records
        .iter()
        .filter(|r| r.task == task)
        .map(|r| (r.level.as_str(), r.message.as_str()))
        .collect()
}

#[test]
fn every_line_of_a_sequential_run_parses() {
    mixed_run(false);
}

#[test]
fn every_line_of_a_parallel_run_parses() {
    mixed_run(true);
}

fn mixed_run(parallel: bool) {
    let dir = scratch(&format!("format-{parallel}"));
    let log = dir.join("run.log");
    let tries = Arc::new(AtomicU32::new(0));
    let fetch_tries = tries.clone();
    let tasks = vec![
        Task::new("extract", |ctx| {
            ctx.info("read 3 rows");
            ctx.debug("not written at the default threshold");
            Ok::<_, TaskError>(3)
        }),
        Task::new("fetch", move |_| {
            if fetch_tries.fetch_add(1, Ordering::SeqCst) == 0 {
                return Err(TaskError::with_kind(
                    ErrorKind::Connection,
                    "connection reset",
                ));
            }
            Ok(())
        })
        .retries(2),
        Task::new("transform", |ctx| {
            ctx.debug("detail");
            ctx.warning("odd row");
            Ok::<_, TaskError>(())
        })
        .inject("extract")
        .log_level(Level::Debug),
        Task::new("load", |ctx| {
            ctx.trace("table", "sales");
            Err::<(), _>(TaskError::new("no space in warehouse"))
        })
        .after("transform"),
        Task::new("report", |_| Ok::<_, TaskError>(())).after("load"),
        Task::new("notify", |_| Ok::<_, TaskError>(())).after("report"),
        Task::new("quiet", |ctx| {
            ctx.info("below the threshold");
            ctx.error("quiet but loud");
            Ok::<_, TaskError>(())
        })
        .log_level(Level::Error),
    ];
    let tasks = tasks.into_iter().map(|t| t.log_file(&log));
    let process = Process::new("etl", tasks).unwrap();
    let before = Local::now().naive_local() - chrono::Duration::seconds(1);
    let options = RunOptions::new().parallel(parallel).max_workers(2);
    let report = within(Duration::from_secs(60), move || {
        process.run(options).unwrap()
    });
    let after = Local::now().naive_local() + chrono::Duration::seconds(1);
    assert_eq!(report.entry("fetch").unwrap().status(), Status::Success);
    assert_eq!(report.entry("load").unwrap().status(), Status::Errored);
    assert_eq!(report.entry("notify").unwrap().status(), Status::Skipped);

    let records = parse(&log);
    // Two workers may stamp records in one order and write them in the other.
    for pair in records.windows(2).filter(|_| !parallel) {
        assert!(pair[0].at <= pair[1].at, "time runs backwards: {pair:?}");
    }
    assert!(
        records.iter().all(|r| before <= r.at && r.at <= after),
        "not local time now"
    );
    assert_eq!(
        lines_of(&records, "extract"),
        [
            ("INFO", "Starting extract."),
            ("INFO", "read 3 rows"),
            ("INFO", "Finished extract.")
        ]
    );
    assert_eq!(
        lines_of(&records, "fetch"),
        [
            ("INFO", "Starting fetch."),
            (
                "WARNING",
                "Attempt 1/3 failed: connection reset. Retrying..."
            ),
            ("INFO", "Finished fetch."),
        ]
    );
    assert_eq!(
        lines_of(&records, "transform"),
        [
            ("INFO", "Starting transform."),
            ("DEBUG", "detail"),
            ("WARNING", "odd row"),
            ("INFO", "Finished transform."),
        ]
    );
    assert_eq!(
        lines_of(&records, "load"),
        [
            ("INFO", "Starting load."),
            ("ERROR", "Failed load (error): no space in warehouse")
        ]
    );
    assert_eq!(
        lines_of(&records, "report"),
        [("INFO", "Skipped report: dependency load did not succeed.")]
    );
    assert_eq!(
        lines_of(&records, "notify"),
        [("INFO", "Skipped notify: dependency report did not succeed.")]
    );
    assert_eq!(lines_of(&records, "quiet"), [("ERROR", "quiet but loud")]);

    let failure = records
        .iter()
        .find(|r| r.task == "load" && r.level == "ERROR")
        .unwrap();
    assert_eq!(
        failure.block[..8],
        [
            "Function: load",
            "Args: []",
            "Kwargs: {}",
            "Downstream impact: report, notify",
            &format!(
                "Traced vars location: {}",
                report
                    .entry("load")
                    .unwrap()
                    .error()
                    .unwrap()
                    .location()
                    .unwrap()
            ),
            "Traced vars:",
            "  table = \"sales\"",
            "Traceback:",
        ]
    );
    assert!(
        failure.block[8].contains("logs_format::"),
        "{:?}",
        failure.block
    );
    assert!(records
        .iter()
        .all(|r| r.task != "quiet" || r.block.is_empty()));
}

#[test]
fn cancelled_tasks_say_so() {
    let dir = scratch("cancel");
    let log = dir.join("cancel.log");
    let token = CancelToken::new();
    let stopper = token.clone();
    let tasks = [
        Task::new("stop", move |_| {
            stopper.cancel();
            Ok::<_, TaskError>(())
        }),
        Task::new("later", |_| Ok::<_, TaskError>(())).after("stop"),
        Task::new("other", |_| Ok::<_, TaskError>(())),
    ];
    let process = Process::new("c", tasks.map(|t| t.log_file(&log))).unwrap();
    let report = process
        .run(RunOptions::new().parallel(false).cancel_token(token))
        .unwrap();
    assert!(report.was_cancelled());
    let records = parse(&log);
    assert_eq!(
        lines_of(&records, "stop"),
        [("INFO", "Starting stop."), ("INFO", "Finished stop.")]
    );
    for task in ["later", "other"] {
        assert_eq!(report.entry(task).unwrap().status(), Status::Cancelled);
        let expected = format!("Cancelled {task}: the run was cancelled.");
        assert_eq!(lines_of(&records, task), [("INFO", expected.as_str())]);
    }
}
