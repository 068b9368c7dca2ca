//! The system under test: the `processes` core, driven through its public Rust API exactly as
//! a front end would drive it.

use std::fmt::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use processes::{Process, Report, RunOptions, Status, Task};

use crate::body::Body;
use crate::shapes::Shape;

/// Builds the tasks of `shape` (named `t<id>`, all sharing one callback, every one writing to
/// `log_file` when given) and validates and orders them with `Process::new`; returns the
/// process and the time both took.
pub fn build(
    shape: &Shape,
    body: Body,
    log_file: Option<&Path>,
) -> Result<(Process, Duration), String> {
    let callback = body.callback();
    let mut name = String::new();
    let mut dep_name = String::new();

    let started = Instant::now();
    let mut tasks = Vec::with_capacity(shape.tasks);
    for i in 0..shape.tasks {
        set_name(&mut name, i as u32);
        let mut task = Task::with_callback(&name, callback.clone());
        if let Some(path) = log_file {
            task = task.log_file(path);
        }
        for &dep in shape.deps_of(i) {
            set_name(&mut dep_name, dep);
            task = if body.passes_results() {
                task.inject(&dep_name)
            } else {
                task.after(&dep_name)
            };
        }
        tasks.push(task);
    }
    let process = Process::new(shape.id, tasks)
        .map_err(|e| format!("Process::new refused the {} graph: {e}", shape.id))?;
    Ok((process, started.elapsed()))
}

fn set_name(buffer: &mut String, id: u32) {
    buffer.clear();
    // Writing into a String cannot fail.
    let _ = write!(buffer, "t{id}");
}

/// Runs `process` on `workers` threads (sequentially for 1); the time includes building the
/// report.
pub fn run(process: &Process, workers: usize) -> Result<(Report, Duration), String> {
    let options = RunOptions::new().parallel(workers > 1).max_workers(workers);
    let started = Instant::now();
    let report = process
        .run(options)
        .map_err(|e| format!("Process::run failed: {e}"))?;
    Ok((report, started.elapsed()))
}

/// Checks that every task succeeded and returns the wrapping sum of the integer results.
pub fn check(report: &Report, tasks: usize) -> Result<i64, String> {
    let counts = report.counts();
    if counts.success != tasks || report.len() != tasks {
        let not_ok = report.entries().find(|e| e.status() != Status::Success);
        return Err(format!(
            "report of {} entries for {tasks} tasks: {} success, {} errored, {} skipped, {} \
             cancelled; first not successful: {}",
            report.len(),
            counts.success,
            counts.errored,
            counts.skipped,
            counts.cancelled,
            not_ok.map_or("none".to_owned(), |e| format!(
                "{} ({})",
                e.name(),
                e.status().as_str()
            )),
        ));
    }
    Ok(report
        .entries()
        .filter_map(|e| e.result().and_then(|v| v.as_int()))
        .fold(0i64, i64::wrapping_add))
}
