//! Opening, sharing, faults and closing of log files: a missing folder is refused when the task
//! is added; a file that cannot be written never changes a task's outcome but shows in its
//! report entry; files close when the process and its reports are gone.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use processes::{GraphError, Process, RunOptions, Status, Task, TaskError};

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

fn ok(name: &str) -> Task {
    Task::new(name, |_| Ok::<_, TaskError>(42))
}

/// Whether this process holds a descriptor open on `path`.
fn is_open(path: &Path) -> bool {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .any(|target| target == path)
}

#[test]
fn a_missing_folder_is_refused_when_the_task_is_added() {
    let dir = scratch("missing");
    let path = dir.join("no-such-folder").join("a.log");
    let error = Process::new("p", [ok("a"), ok("b").log_file(&path)]).unwrap_err();
    match &error {
        GraphError::LogFile {
            task,
            path: named,
            reason,
        } => {
            assert_eq!(task, "b");
            assert_eq!(named, &path);
            assert!(reason.contains("No such file or directory"), "{reason}");
        }
        other => panic!("unexpected error {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.starts_with("task \"b\": field `log_file` names "),
        "{message}"
    );
    assert!(message.contains(&path.display().to_string()), "{message}");

    let mut process = Process::new("p", [ok("a")]).unwrap();
    let error = process.add_task(ok("c").log_file(&path)).unwrap_err();
    assert!(matches!(error, GraphError::LogFile { ref task, .. } if task == "c"));
    assert_eq!(process.len(), 1, "a refused task is not added");
}

#[test]
fn a_folder_is_not_a_log_file() {
    let dir = scratch("folder");
    let error = Process::new("p", [ok("a").log_file(&dir)]).unwrap_err();
    let GraphError::LogFile { reason, .. } = error else {
        panic!("unexpected error {error:?}");
    };
    assert!(reason.contains("Is a directory"), "{reason}");
}

#[test]
fn a_file_is_not_a_folder() {
    let dir = scratch("not-folder");
    let file = dir.join("plain.txt");
    std::fs::write(&file, "").unwrap();
    let error = Process::new("p", [ok("a").log_file(file.join("a.log"))]).unwrap_err();
    let GraphError::LogFile { reason, .. } = error else {
        panic!("unexpected error {error:?}");
    };
    assert!(reason.contains("Not a directory"), "{reason}");
}

/// CI runs as root, where file modes refuse nothing; sysfs attributes without a writer refuse
/// even root.
#[test]
fn a_permission_problem_is_refused_even_for_root() {
    let path = Path::new("/sys/kernel/notes");
    if !path.exists() {
        return;
    }
    let error = Process::new("p", [ok("notes").log_file(path)]).unwrap_err();
    let GraphError::LogFile { task, reason, .. } = &error else {
        panic!("unexpected error {error:?}");
    };
    assert_eq!(task, "notes");
    assert!(
        reason.contains("Permission denied") || reason.contains("Read-only file system"),
        "{reason}"
    );
    assert!(error.to_string().contains("/sys/kernel/notes"), "{error}");
}

#[test]
fn a_full_device_leaves_the_outcome_alone() {
    let dir = scratch("full");
    let good = dir.join("good.log");
    let tasks = [
        Task::new("value", |ctx| {
            ctx.info("this record cannot be written");
            Ok::<_, TaskError>(42)
        })
        .log_file("/dev/full"),
        Task::new("broken", |_| Err::<(), _>(TaskError::new("real failure"))).log_file("/dev/full"),
        ok("neighbour").after("value").log_file(&good),
    ];
    let process = Arc::new(Process::new("p", tasks).unwrap());
    for parallel in [false, true] {
        let process = process.clone();
        let report = within(Duration::from_secs(60), move || {
            process.run(RunOptions::new().parallel(parallel)).unwrap()
        });
        let value = report.entry("value").unwrap();
        assert_eq!(value.status(), Status::Success);
        assert_eq!(value.result().and_then(|v| v.as_int()), Some(42));
        let log_error = value.log_error().unwrap();
        assert!(log_error.contains("/dev/full"), "{log_error}");
        assert!(log_error.contains("No space left on device"), "{log_error}");
        let broken = report.entry("broken").unwrap();
        assert_eq!(broken.status(), Status::Errored);
        assert_eq!(broken.error().unwrap().message(), "real failure");
        assert!(broken.log_error().is_some());
        let neighbour = report.entry("neighbour").unwrap();
        assert_eq!(neighbour.status(), Status::Success);
        assert_eq!(neighbour.log_error(), None);
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        let entries = json["entries"].as_array().unwrap();
        let entry = |name: &str| entries.iter().find(|e| e["name"] == name).unwrap();
        assert_eq!(entry("value")["log_error"].as_str(), Some(log_error));
        assert_eq!(entry("value")["result"]["value"], 42);
        assert!(entry("neighbour")["log_error"].is_null());
    }
    let written = std::fs::read_to_string(&good).unwrap();
    assert_eq!(written.lines().count(), 4, "{written}");
}

#[test]
fn files_close_with_the_process_and_its_reports() {
    let dir = scratch("close");
    let path = dir.join("closing.log");
    let process = Process::new("p", [ok("a").log_file(&path), ok("b").log_file(&path)]).unwrap();
    let canonical = path.canonicalize().unwrap();
    assert!(is_open(&canonical), "opened when the tasks are added");
    let report = process.run(RunOptions::new()).unwrap();
    drop(process);
    assert!(is_open(&canonical), "the report keeps the file open");
    assert_eq!(report.entry("a").unwrap().status(), Status::Success);
    drop(report);
    assert!(
        !is_open(&canonical),
        "closed once the process and the report are gone"
    );
}

#[test]
fn removing_the_last_task_of_a_file_closes_it() {
    let dir = scratch("remove");
    let path = dir.join("removed.log");
    let mut process = Process::new("p", [ok("a").log_file(&path), ok("b")]).unwrap();
    let canonical = path.canonicalize().unwrap();
    assert!(is_open(&canonical));
    let removed = process.remove_task("a").unwrap();
    assert_eq!(removed.name(), "a");
    assert!(!is_open(&canonical));
    process.add_task(ok("c").log_file(&path)).unwrap();
    let report = process.run(RunOptions::new()).unwrap();
    assert_eq!(report.entry("c").unwrap().status(), Status::Success);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("processes.c - INFO - Finished c."), "{text}");
    assert!(!text.contains("processes.b"), "{text}");
}
