//! The quick-start pipeline: a small ETL graph declared in any order, with a positional and a
//! named injection, one failing branch that skips only its dependents, and the report printed
//! and written as an HTML page by the HTML file channel.
//!
//! Run it with `cargo run --example quickstart`, then open `target/quickstart-report.html`.

use processes::channels::{HtmlFileChannel, NotifyOptions};
use processes::{Process, RunOptions, Task, TaskError, Value};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tasks = vec![
        // The report waits for both branches; declared first to show that order is free.
        Task::new("report", |ctx| {
            let rows = ctx.kwarg("rows").and_then(Value::as_int).unwrap_or(0);
            Ok::<_, TaskError>(format!("loaded {rows} rows"))
        })
        .inject_named("load", "rows")
        .after("audit")
        .function("write_report"),
        Task::new("extract", |_| {
            Ok::<_, TaskError>(vec![3i64, 5, 8].len() as i64)
        })
        .function("extract_orders"),
        Task::new("transform", |ctx| {
            let count = ctx.arg(0).ok().and_then(Value::as_int).unwrap_or(0);
            Ok::<_, TaskError>(count * 10)
        })
        .inject("extract")
        .function("transform_orders"),
        Task::new("load", |ctx| {
            let rows = ctx.arg(0).ok().and_then(Value::as_int).unwrap_or(0);
            ctx.trace("rows", rows);
            Ok::<_, TaskError>(rows)
        })
        .inject("transform")
        .function("load_orders"),
        // An independent branch that fails: only its dependent is skipped.
        Task::new("audit", |ctx| {
            ctx.trace("threshold", 0.25);
            Err::<Value, _>(TaskError::new("audit found 3 orders above the threshold"))
        })
        .function("audit_orders"),
        Task::new("archive", |_| Ok::<_, TaskError>("archived"))
            .after("extract")
            .function("archive_raw"),
    ];
    let process = Process::new("quickstart", tasks)?;
    let report = process.run(RunOptions::new())?;

    for entry in report.entries() {
        print!(
            "{:<10} {:<9} {:>8.3} ms",
            entry.name(),
            entry.status(),
            entry.elapsed().as_secs_f64() * 1e3
        );
        if let Some(result) = entry.result() {
            print!("  -> {result:?}");
        }
        if let Some(error) = entry.error() {
            let downstream: Vec<_> = error.downstream().collect();
            print!(
                "  !! {} (took down: {})",
                error.message(),
                downstream.join(", ")
            );
        }
        println!();
    }
    let counts = report.counts();
    println!(
        "{} succeeded, {} errored, {} skipped",
        counts.success, counts.errored, counts.skipped
    );

    // The same report as a page to open in a browser (the email channel sends this HTML too).
    let page = HtmlFileChannel::builder("target/quickstart-report.html").build()?;
    for outcome in report.notify(&[&page], &NotifyOptions::new())? {
        if let Some(error) = outcome.error() {
            return Err(format!("the HTML report was not written: {error}").into());
        }
    }
    println!("HTML report: {}", page.path().display());
    Ok(())
}
