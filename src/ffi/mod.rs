//! The C ABI, declared in `include/processes.h` (generated from this folder by cbindgen).
//!
//! Conventions, the same in every file here:
//! - Handles are opaque; `prc_<noun>_new` makes one, `prc_<noun>_free` frees it and accepts
//!   NULL. A `const` handle argument means the call only reads it.
//! - A fallible call returns a [`error::Status`], writes its outputs through trailing
//!   out-parameters only when it returns `PRC_STATUS_OK`, and, when the caller passes a
//!   `prc_error **`, hands over an error object describing the failure.
//! - Strings in are NUL-terminated UTF-8 and checked; strings the library allocates are freed
//!   with `prc_string_free`; strings it lends are valid while the handle they came from lives.
//! - Enums coming from C are plain integers, checked before use.
//! - Callbacks take a `void *user_data` and an optional finalizer, called exactly once when
//!   the library drops its last reference, which is never while the callback may still run:
//!   every running invocation holds that reference.
//! - No panic crosses the boundary: `boundary::ffi_boundary!` wraps every entry point.

mod boundary;
mod callback;
mod channels;
mod context;
mod error;
mod hosted;
mod logging;
mod process;
mod report;
mod run;
mod task;
mod value;

use std::ffi::{c_char, CString};

use boundary::ffi_boundary;

/// The library's version (`"0.1.0"`), static. Compare with `PRC_VERSION_STRING` to catch a
/// header and a library that do not match.
#[no_mangle]
pub extern "C" fn prc_version() -> *const c_char {
    static VERSION: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
    ) {
        Ok(version) => version,
        Err(_) => c"unknown",
    };
    VERSION.as_ptr()
}

/// Frees a string the library allocated (JSON, display text, ...). NULL is ignored.
///
/// # Safety
///
/// `text` is NULL or a string from this library not yet freed.
#[no_mangle]
pub unsafe extern "C" fn prc_string_free(text: *mut c_char) {
    ffi_boundary!(default: () => {
        if !text.is_null() {
            // SAFETY: allocated by CString::into_raw in this library and not yet freed.
            drop(unsafe { CString::from_raw(text) });
        }
    })
}
