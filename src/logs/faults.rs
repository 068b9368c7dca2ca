//! Log writes that failed during one run, kept until the task's report entry is written.
//!
//! A failed write never fails the task: it is noted here (the first one per task) and ends up
//! in the task's `log_error`. Failures are rare, so a flag keeps the common case to one load.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// The first log error of each task of a run whose log could not be written.
#[derive(Default)]
pub(crate) struct Faults {
    any: AtomicBool,
    noted: Mutex<Vec<(u32, String)>>,
}

impl Faults {
    /// Notes that writing `task`'s log failed, unless a failure is already noted for it.
    pub(crate) fn note(&self, task: u32, reason: impl FnOnce() -> String) {
        let mut noted = self.noted.lock().unwrap_or_else(|p| p.into_inner());
        if !noted.iter().any(|(t, _)| *t == task) {
            noted.push((task, reason()));
            self.any.store(true, Ordering::Release);
        }
    }

    /// Takes the failure noted for `task`, if any.
    pub(crate) fn take(&self, task: u32) -> Option<String> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        let mut noted = self.noted.lock().unwrap_or_else(|p| p.into_inner());
        let at = noted.iter().position(|(t, _)| *t == task)?;
        Some(noted.swap_remove(at).1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_failure_per_task_is_kept_until_taken() {
        let faults = Faults::default();
        assert_eq!(faults.take(1), None);
        faults.note(1, || "first".into());
        faults.note(1, || "second".into());
        faults.note(2, || "other".into());
        assert_eq!(faults.take(1).as_deref(), Some("first"));
        assert_eq!(faults.take(1), None);
        assert_eq!(faults.take(2).as_deref(), Some("other"));
    }
}
