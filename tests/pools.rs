//! The worker threads of parallel runs: a run's pool is its own while it lasts, and a later
//! run of as many workers gets it back instead of starting new threads.
//!
//! Each test uses a worker count no other test in this file uses, since idle pools are kept
//! per worker count for the whole process.

mod common;

use std::collections::HashSet;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use std::time::Duration;

use processes::{Process, RunOptions, Status, Task, TaskError};

use common::timed;

/// A process of `n` independent tasks that note the thread they ran on.
fn noting_threads(n: usize, seen: &Arc<Mutex<HashSet<ThreadId>>>) -> Process {
    let tasks = (0..n)
        .map(|i| {
            let seen = seen.clone();
            Task::new(&format!("t{i}"), move |_| {
                seen.lock().unwrap().insert(thread::current().id());
                thread::sleep(Duration::from_millis(1));
                Ok::<_, TaskError>(())
            })
        })
        .collect::<Vec<_>>();
    Process::new("threads", tasks).unwrap()
}

#[test]
fn a_later_run_reuses_the_threads_of_an_earlier_one() {
    timed(|| {
        let options = || RunOptions::new().parallel(true).max_workers(5);
        let first = Arc::new(Mutex::new(HashSet::new()));
        let report = noting_threads(40, &first).run(options()).unwrap();
        assert_eq!(report.counts().success, 40);
        // Another process, even: the pool belongs to no process once its run is over.
        let second = Arc::new(Mutex::new(HashSet::new()));
        let report = noting_threads(40, &second).run(options()).unwrap();
        assert_eq!(report.counts().success, 40);
        let (first, second) = (first.lock().unwrap(), second.lock().unwrap());
        assert!(!second.is_empty());
        assert!(
            second.is_subset(&first),
            "the second run started new threads: {second:?} is not within {first:?}"
        );
    });
}

#[test]
fn runs_at_the_same_time_never_share_a_pool() {
    timed(|| {
        const WORKERS: usize = 6;
        let (finished, wait_finished) = mpsc::channel::<()>();
        let wait_finished = Arc::new(Mutex::new(wait_finished));
        let (holding_one, wait_holding) = mpsc::channel::<()>();
        let holding_one = Mutex::new(holding_one);
        let holding_one = Arc::new(holding_one);
        // Every worker of the first run blocks until the second run is over: on a shared
        // pool the second run could not start a task before the holders gave up.
        let mut tasks = vec![Task::new("start", |_| Ok::<_, TaskError>(()))];
        tasks.extend((0..WORKERS).map(|i| {
            let wait = wait_finished.clone();
            let holding_one = holding_one.clone();
            Task::new(&format!("hold{i}"), move |_| {
                let _ = holding_one.lock().unwrap().send(());
                let wait = wait.lock().unwrap();
                let released = wait.recv_timeout(Duration::from_secs(20)).is_ok();
                Ok::<_, TaskError>(released)
            })
            .after("start")
        }));
        let holder = Process::new("holder", tasks).unwrap();
        let options = || RunOptions::new().parallel(true).max_workers(WORKERS);
        let holding = thread::spawn(move || holder.run(options()).unwrap());
        for _ in 0..WORKERS {
            wait_holding.recv().unwrap();
        }

        let seen = Arc::new(Mutex::new(HashSet::new()));
        let report = noting_threads(20, &seen).run(options()).unwrap();
        assert_eq!(report.counts().success, 20);
        for _ in 0..WORKERS {
            let _ = finished.send(());
        }
        let held = holding.join().unwrap();
        assert!(held.entries().all(|e| e.status() == Status::Success));
        let released = held
            .entries()
            .filter(|e| e.result().and_then(|v| v.as_bool()) == Some(true))
            .count();
        assert!(
            released >= 1,
            "the holder was released by the second run's end"
        );
    });
}
