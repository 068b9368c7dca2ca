//! Cancellation tokens: cancel a run, or see that an attempt should stop, from any thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

type Waker = dyn Fn() + Send + Sync;

/// A flag that, once set, stays set. Clones share the flag.
///
/// A token made with [`CancelToken::child`] also reads as cancelled when its parent is.
#[derive(Clone, Default)]
pub struct CancelToken {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    cancelled: AtomicBool,
    parent: Option<CancelToken>,
    wakers: Mutex<Vec<Weak<Waker>>>,
}

impl CancelToken {
    /// A token that is not cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// A token that is cancelled when it or `self` is.
    pub fn child(&self) -> CancelToken {
        CancelToken {
            inner: Arc::new(Inner {
                parent: Some(self.clone()),
                ..Inner::default()
            }),
        }
    }

    /// Cancels the token (idempotent) and wakes whatever waits on it.
    pub fn cancel(&self) {
        if self.inner.cancelled.swap(true, Ordering::AcqRel) {
            return;
        }
        let wakers = match self.inner.wakers.lock() {
            Ok(mut wakers) => std::mem::take(&mut *wakers),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        };
        for waker in wakers.iter().filter_map(Weak::upgrade) {
            waker();
        }
    }

    /// Whether the token, or its parent, was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::Acquire)
            || self
                .inner
                .parent
                .as_ref()
                .is_some_and(CancelToken::is_cancelled)
    }

    /// Calls `waker` once when the token is cancelled (at once if it already is), for as long
    /// as the caller keeps `waker` alive.
    pub(crate) fn on_cancel(&self, waker: &Arc<Waker>) {
        {
            let mut wakers = self.inner.wakers.lock().unwrap_or_else(|p| p.into_inner());
            wakers.retain(|w| w.strong_count() > 0);
            wakers.push(Arc::downgrade(waker));
        }
        if self.inner.cancelled.load(Ordering::Acquire) {
            waker();
        }
    }
}

impl std::fmt::Debug for CancelToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}
