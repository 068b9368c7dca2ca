//! Stands in for a third-party library the `logs_failure` helper calls: this is where
//! failures happen.

use processes::TaskError;

/// Fails when `amount` is over `limit`.
pub fn check(amount: i64, limit: i64) -> Result<i64, TaskError> {
    if amount > limit {
        let message = format!("{amount} is over the limit of {limit}");
        return Err(TaskError::new(message)); // vendor error
    }
    Ok(amount)
}

/// Indexes `values`, panicking when `at` is out of range.
pub fn pick(values: &[i64], at: usize) -> i64 {
    values[at] // vendor panic
}
