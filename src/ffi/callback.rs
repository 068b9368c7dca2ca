//! The user data behind a callback, and the finalizer that releases it exactly once.

use std::ffi::c_void;

/// Releases a callback's user data. Called exactly once, on whichever thread drops the last
/// reference (a pool thread, a thread freeing a report or a process, ...), after the last call
/// of the callback has returned. It may call into the library, but must not block on a run.
pub type FinalizeFn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// A host's `void *` with its finalizer. Shared behind an `Arc` by everything that may call
/// the callback, so that the finalizer runs only after the last possible call.
pub(crate) struct UserData {
    pub(crate) ptr: *mut c_void,
    finalize: FinalizeFn,
}

// SAFETY: the header tells hosts that their callbacks and finalizers are called from any
// thread, possibly at once; passing the pointer around is what they agreed to.
unsafe impl Send for UserData {}
// SAFETY: as above; the library never dereferences the pointer.
unsafe impl Sync for UserData {}

impl UserData {
    pub(crate) fn new(ptr: *mut c_void, finalize: FinalizeFn) -> UserData {
        UserData { ptr, finalize }
    }
}

impl Drop for UserData {
    fn drop(&mut self) {
        if let Some(finalize) = self.finalize {
            // SAFETY: the host gave this finalizer for this pointer; Drop runs once.
            unsafe { finalize(self.ptr) };
        }
    }
}
