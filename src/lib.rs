//! `processes` runs a graph of interdependent tasks in the right order, sequentially or in
//! parallel, so that one failure never sinks the independent branches, and reports what
//! happened to every task.
//!
//! ```
//! use processes::{Process, RunOptions, Status, Task, TaskError};
//!
//! let tasks = vec![
//!     // Declared in any order: `sum` waits for both sources and receives their results.
//!     Task::new("sum", |ctx| {
//!         let total: i64 = ctx.args().iter().filter_map(|v| v.as_int()).sum();
//!         Ok::<_, TaskError>(total)
//!     })
//!     .inject("left")
//!     .inject("right"),
//!     Task::new("left", |_| Ok::<_, TaskError>(2)),
//!     Task::new("right", |_| Ok::<_, TaskError>(3)),
//! ];
//! let process = Process::new("diamond", tasks)?;
//! let report = process.run(RunOptions::new())?;
//! let sum = report.entry("sum").unwrap();
//! assert_eq!(sum.status(), Status::Success);
//! assert_eq!(sum.result().and_then(|v| v.as_int()), Some(5));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

/// The README's examples compile and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

pub mod channels;
mod context;
mod error;
mod ffi;
mod graph;
pub mod logs;
mod process;
pub mod report;
mod run;
mod shelf;
mod task;
mod value;

pub use context::TaskContext;
pub use error::{ErrorKind, GraphError, RunError, TaskError, TracedVar};
pub use logs::Level;
pub use process::Process;
pub use report::{Counts, Entry, ErrorView, Report, Status};
pub use run::{
    Assignment, CancelToken, Completion, Event, HostedRun, Observer, Readiness, RunOptions,
    DEFAULT_WORKERS, PARALLEL_FROM,
};
pub use task::{
    Backoff, Callback, Dependency, Injection, Outcome, Task, TriggerRule, DEFAULT_RETRY_KINDS,
};
pub use value::{ForeignObject, Value};
