//! The "helper module" of the failure-context tests (`logs_failure`): a callback calls
//! `settle`, which calls `apply`, which calls into `vendor`, where the failure happens.

use processes::TaskError;

use super::vendor;

/// Settles `amount` against `limit`; fails two calls deep, inside `vendor`.
pub fn settle(amount: i64, limit: i64, panic: bool) -> Result<i64, TaskError> {
    let applied = apply(amount, limit, panic)?; // settle calls apply
    Ok(applied + 1)
}

fn apply(amount: i64, limit: i64, panic: bool) -> Result<i64, TaskError> {
    if panic {
        return Ok(vendor::pick(&[amount], limit as usize)); // apply calls vendor (panic)
    }
    vendor::check(amount, limit) // apply calls vendor (error)
}
