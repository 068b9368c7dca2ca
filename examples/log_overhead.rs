//! What task log files cost per task: the `independent` shape (N tasks, no edges, an empty
//! body) on 2 workers, once with no log files and once with every task writing its two engine
//! lines (`Starting`, `Finished`) to one shared file. Runs alternate and the best of each is
//! kept, so drift on a shared machine hits both alike.
//!
//! Run it with `cargo run --release --example log_overhead [tasks] [rounds] [folder]`; the log
//! file goes to a fresh folder under `folder` (default: the system's temporary folder).

use std::sync::Arc;
use std::time::Instant;

use processes::{Callback, Outcome, Process, RunOptions, Task, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let tasks: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let rounds: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(7);
    let base = args.next().map_or_else(std::env::temp_dir, Into::into);
    let dir = base.join(format!("processes-log-overhead-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let log = dir.join("shared.log");

    // One callback shared by every task, so that building the graph allocates no closures.
    let body: Callback = Arc::new(|_| Outcome::Success(Value::Null));
    let task = |i: usize| Task::with_callback(&format!("t{i}"), body.clone());
    let plain = Process::new("plain", (0..tasks).map(task))?;
    let logged = Process::new("logged", (0..tasks).map(|i| task(i).log_file(&log)))?;

    let mut best = [f64::MAX; 2];
    let mut all = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (at, process) in [&plain, &logged].into_iter().enumerate() {
            let options = RunOptions::new().parallel(true).max_workers(2);
            let start = Instant::now();
            let report = process.run(options)?;
            let per_task = start.elapsed().as_secs_f64() * 1e9 / tasks as f64;
            assert!(report.all_succeeded());
            best[at] = best[at].min(per_task);
            all[at].push(per_task);
        }
        std::fs::write(&log, "")?;
    }
    for runs in &mut all {
        runs.sort_by(f64::total_cmp);
    }
    let median = |runs: &[f64]| runs[runs.len() / 2];
    println!("independent, {tasks} tasks, 2 workers, best of {rounds} (median):");
    println!(
        "  no log files        {:8.1} ns/task ({:.1})",
        best[0],
        median(&all[0])
    );
    println!(
        "  shared file, 2 rec. {:8.1} ns/task ({:.1})",
        best[1],
        median(&all[1])
    );
    println!(
        "  logging costs       {:8.1} ns/task ({:.1})",
        best[1] - best[0],
        median(&all[1]) - median(&all[0])
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
