//! Code the tests call into from their callbacks, kept in files of their own so that
//! tracebacks name frames outside the test files.

pub mod helper;
pub mod vendor;
