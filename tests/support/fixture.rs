//! A small failing run shared by the channel tests: six tasks, one failure that takes two
//! dependents down, a hostile message that must come out escaped.

use processes::{Process, Report, RunOptions, Task, TaskError};

/// The message of the failing task: markup that must never reach a page unescaped.
pub const HOSTILE: &str = "row 7 <script>alert('x')</script> & \"quoted\"";

/// Runs the fixture process named `name` and returns its report.
pub fn failing_report(name: &str) -> Report {
    let tasks = vec![
        Task::new("extract", |_| Ok::<_, TaskError>(42i64)).function("extract_orders"),
        Task::new("transform", |ctx| {
            let n = ctx.arg(0).ok().and_then(|v| v.as_int()).unwrap_or(0);
            Ok::<_, TaskError>(n * 2)
        })
        .inject("extract")
        .function("transform_orders"),
        Task::new("load", |_| {
            Err::<i64, _>(
                TaskError::new(HOSTILE)
                    .traceback("Traceback:\n  at load_orders (etl.rs:12)\n  at main")
                    .location("etl.rs:12")
                    .trace("batch_size", 500)
                    .trace("table", "<orders>"),
            )
        })
        .inject("transform")
        .function("load_orders"),
        Task::new("publish", |_| Ok::<_, TaskError>("published"))
            .after("load")
            .function("publish_dashboard"),
        Task::new("notify_team", |_| Ok::<_, TaskError>("sent"))
            .after("publish")
            .function("notify"),
        Task::new("audit", |_| Ok::<_, TaskError>("clean")).function("audit_orders"),
    ];
    let process = Process::new(name, tasks).expect("fixture graph is valid");
    process.run(RunOptions::new()).expect("fixture runs")
}

/// Runs a process whose tasks all succeed.
pub fn passing_report(name: &str) -> Report {
    let tasks = vec![
        Task::new("one", |_| Ok::<_, TaskError>(1i64)),
        Task::new("two", |_| Ok::<_, TaskError>(2i64)).after("one"),
    ];
    let process = Process::new(name, tasks).expect("valid graph");
    process.run(RunOptions::new()).expect("runs")
}

/// The local date the subject line carries for `report`.
pub fn subject_date(report: &Report) -> String {
    chrono::DateTime::<chrono::Local>::from(report.started_at())
        .format("%Y%m%d")
        .to_string()
}
