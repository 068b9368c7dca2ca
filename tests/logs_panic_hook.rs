//! The panic hook that captures a panicking callback's backtrace leaves the host's own panics
//! to the hook the host installed, and keeps callback panics from reaching it (the library
//! never prints). Alone in its file: panic hooks are global to the test binary.

use std::panic;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use processes::{ErrorKind, Process, RunOptions, Status, Task, TaskError};

/// Runs `f` on a thread of its own and fails if it takes longer than `limit`.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .expect("the run did not finish in time")
}

static HOST_HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);

#[test]
fn host_panics_still_reach_the_host_hook() {
    panic::set_hook(Box::new(|_| {
        HOST_HOOK_CALLS.fetch_add(1, Ordering::SeqCst);
    }));
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let task = Task::new("boom", move |_| {
        seen.fetch_add(1, Ordering::SeqCst);
        let empty: Vec<u8> = Vec::new();
        Ok::<_, TaskError>(i64::from(empty[3]))
    });
    let process = Arc::new(Process::new("p", [task]).unwrap());
    for parallel in [false, true] {
        let process = process.clone();
        let report = within(Duration::from_secs(60), move || {
            process.run(RunOptions::new().parallel(parallel)).unwrap()
        });
        let entry = report.entry("boom").unwrap();
        assert_eq!(entry.status(), Status::Errored);
        let error = entry.error().unwrap();
        assert_eq!(error.kind(), &ErrorKind::Panic);
        assert!(
            error.message().contains("index out of bounds"),
            "{}",
            error.message()
        );
        let location = error.location().unwrap();
        assert!(location.contains("tests/logs_panic_hook.rs:"), "{location}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(
        HOST_HOOK_CALLS.load(Ordering::SeqCst),
        0,
        "callback panics stay inside"
    );

    let host = panic::catch_unwind(|| panic!("the host's own panic"));
    assert!(host.is_err());
    assert_eq!(
        HOST_HOOK_CALLS.load(Ordering::SeqCst),
        1,
        "host panics reach the host's hook"
    );
    let _ = panic::take_hook();
}
