//! Task log files and log levels, tracebacks of failing callbacks and the location of their
//! traced variables.
//!
//! A task may name a log file; tasks naming the same file share one writer for the whole
//! process (`registry`, `file`). Records have the upstream layout (`record`), the engine writes
//! how each task ended (`lines`), and a write that fails is noted for the task's report entry
//! rather than failing the task (`faults`). The library's own diagnostics go through the `log`
//! crate, never to the standard streams.

mod faults;
mod file;
mod level;
mod lines;
mod record;
mod registry;
pub(crate) mod traceback;

pub(crate) use faults::Faults;
pub use level::Level;
pub(crate) use lines::log_detail;
pub(crate) use registry::Logs;
