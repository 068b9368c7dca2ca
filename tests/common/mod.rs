//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use processes::{Task, TaskError, Value};

/// Runs `body` on its own thread with a stack of `stack` bytes and fails the test if it does
/// not finish within `limit`.
pub fn within<T: Send + 'static>(
    limit: Duration,
    stack: usize,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (done, wait) = mpsc::channel();
    let worker = thread::Builder::new()
        .stack_size(stack)
        .spawn(move || {
            let _ = done.send(body());
        })
        .expect("spawn the test thread");
    match wait.recv_timeout(limit) {
        Ok(value) => {
            let _ = worker.join();
            value
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("the test did not finish within {limit:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(worker.join().expect_err("the test thread panicked"))
        }
    }
}

/// [`within`] with a 30 s limit and a normal stack.
pub fn timed<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> T {
    within(Duration::from_secs(30), 2 << 20, body)
}

/// A task that returns `value`.
pub fn ok(name: &str, value: impl Into<Value> + Clone + Send + Sync + 'static) -> Task {
    Task::new(name, move |_| Ok::<_, TaskError>(value.clone()))
}

/// A task that fails with `message`.
pub fn failing(name: &str, message: &'static str) -> Task {
    Task::new(name, move |_| Err::<Value, _>(TaskError::new(message)))
}

/// `task` as link `i` of the chain `prefix0 -> prefix1 -> ...`: after the link before it.
pub fn link(task: Task, prefix: &str, i: usize) -> Task {
    match i {
        0 => task,
        _ => task.after(&format!("{prefix}{}", i - 1)),
    }
}
