//! Turns a hang of either system into a clear failure instead of a benchmark that never ends.

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Exit status when a phase overran its deadline.
const HUNG: i32 = 3;

/// The phase being watched, if any: its deadline and what to say when it passes.
type Armed = Arc<(Mutex<Option<(Instant, String)>>, Condvar)>;

/// A thread that ends the process when an armed phase outlives its deadline.
pub struct Watchdog {
    armed: Armed,
}

impl Watchdog {
    /// Starts the watching thread.
    pub fn start() -> Watchdog {
        let armed: Armed = Arc::default();
        let watched = armed.clone();
        std::thread::spawn(move || {
            let (lock, wake) = &*watched;
            let mut slot = lock.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                match slot.as_ref() {
                    None => slot = wake.wait(slot).unwrap_or_else(|e| e.into_inner()),
                    Some((deadline, what)) => {
                        let now = Instant::now();
                        if now >= *deadline {
                            eprintln!("scheduler bench: HANG: {what} did not end in time");
                            std::process::exit(HUNG);
                        }
                        let wait = *deadline - now;
                        slot = wake
                            .wait_timeout(slot, wait)
                            .unwrap_or_else(|e| e.into_inner())
                            .0;
                    }
                }
            }
        });
        Watchdog { armed }
    }

    /// Expects `what` to end within `limit`; replaces any earlier phase.
    pub fn arm(&self, what: String, limit: Duration) {
        let (lock, wake) = &*self.armed;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now() + limit, what));
        wake.notify_one();
    }

    /// The armed phase ended.
    pub fn disarm(&self) {
        let (lock, wake) = &*self.armed;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = None;
        wake.notify_one();
    }
}
