//! Task log files and log levels.

mod level;

pub use level::Level;
