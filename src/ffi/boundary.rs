//! Plumbing shared by every entry point: the panic boundary, argument checks and the writing
//! of out-parameters.
//!
//! Every `extern "C"` function wraps its body in [`ffi_boundary!`]. A body that returns a
//! status is written as a closure returning `Result<(), Failure>`; the macro turns a panic
//! into [`Status::Panic`] and hands the failure's text to the caller's optional `prc_error **`.
//! A body that returns a plain value (a getter) gets a documented default instead.

use std::any::Any;
use std::ffi::{c_char, CStr, CString};

use super::error::{ErrorHandle, Status};

/// Why a call failed: the status returned and the text behind it.
pub(crate) struct Failure {
    pub(crate) status: Status,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: Status, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }
}

/// What a status-returning body gives back.
pub(crate) type Checked<T = ()> = Result<T, Failure>;

/// Runs an entry point's body behind a panic boundary.
///
/// `ffi_boundary!(error => { body })`: `body` returns [`Checked`]; the call returns a
/// [`Status`] and, on failure, writes a new error object to `error` when it is not NULL.
///
/// `ffi_boundary!(default => { body })`: `body` returns the value itself; a panic returns
/// `default`.
macro_rules! ffi_boundary {
    (error: $error:expr => $body:block) => {{
        let error_out = $error;
        // What crosses `catch_unwind` is one pointer-sized word (null on success): a wider
        // result is written and read back through memory in pieces of other sizes, which
        // stalls every call on store forwarding.
        let result = ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| {
            let body = || -> $crate::ffi::boundary::Checked { $body };
            $crate::ffi::boundary::boxed(body())
        }));
        $crate::ffi::boundary::conclude(result, error_out)
    }};
    (default: $default:expr => $body:block) => {{
        ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| $body))
            .unwrap_or_else(|_| $default)
    }};
}
pub(crate) use ffi_boundary;

/// A body's result as one word: `None` on success, the boxed failure otherwise.
#[inline(always)]
pub(crate) fn boxed(result: Checked) -> Option<Box<Failure>> {
    match result {
        Ok(()) => None,
        Err(failure) => box_failure(failure),
    }
}

#[cold]
#[inline(never)]
fn box_failure(failure: Failure) -> Option<Box<Failure>> {
    Some(Box::new(failure))
}

/// Turns a body's result into the status returned to C, writing the error object if asked.
#[inline]
pub(crate) fn conclude(
    result: std::thread::Result<Option<Box<Failure>>>,
    error_out: *mut *mut ErrorHandle,
) -> Status {
    match result {
        Ok(None) => Status::Ok,
        other => fail(other, error_out),
    }
}

/// The failing half of `conclude`, kept out of line.
#[cold]
#[inline(never)]
fn fail(
    result: std::thread::Result<Option<Box<Failure>>>,
    error_out: *mut *mut ErrorHandle,
) -> Status {
    let failure = match result {
        Ok(None) => return Status::Ok,
        Ok(Some(failure)) => *failure,
        Err(payload) => Failure::new(
            Status::Panic,
            format!("internal error in processes: {}", panic_text(&*payload)),
        ),
    };
    if !error_out.is_null() {
        let error = Box::new(ErrorHandle::new(failure.status, &failure.message));
        // SAFETY: the caller passes NULL or a pointer to writable `prc_error *` storage.
        unsafe { *error_out = Box::into_raw(error) };
    }
    failure.status
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "a panic without a message"
    }
}

/// Refuses a NULL argument, naming it.
pub(crate) fn not_null<T>(ptr: *const T, name: &str) -> Checked {
    if ptr.is_null() {
        return Err(Failure::new(
            Status::NullArgument,
            format!("argument `{name}` is NULL"),
        ));
    }
    Ok(())
}

/// The object behind a handle.
///
/// # Safety
///
/// `ptr` is NULL or points to a live `T` that no one mutates for `'a`.
pub(crate) unsafe fn borrow<'a, T>(ptr: *const T, name: &str) -> Checked<&'a T> {
    not_null(ptr, name)?;
    // SAFETY: not NULL, and alive for 'a by the caller's promise.
    Ok(unsafe { &*ptr })
}

/// The object behind a handle, for changing it.
///
/// # Safety
///
/// `ptr` is NULL or points to a live `T` that nothing else uses for `'a`.
pub(crate) unsafe fn borrow_mut<'a, T>(ptr: *mut T, name: &str) -> Checked<&'a mut T> {
    not_null(ptr, name)?;
    // SAFETY: not NULL, and exclusively ours for 'a by the caller's promise.
    Ok(unsafe { &mut *ptr })
}

/// A NUL-terminated UTF-8 argument.
///
/// # Safety
///
/// `ptr` is NULL or points to a NUL-terminated string alive for `'a`.
pub(crate) unsafe fn text<'a>(ptr: *const c_char, name: &str) -> Checked<&'a str> {
    not_null(ptr, name)?;
    // SAFETY: not NULL and NUL-terminated by the caller's promise.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes.to_str().map_err(|error| {
        Failure::new(
            Status::InvalidUtf8,
            format!(
                "argument `{name}` is not valid UTF-8 (bad byte at offset {})",
                error.valid_up_to()
            ),
        )
    })
}

/// Like [`text`], but NULL means "not given".
///
/// # Safety
///
/// As for [`text`].
pub(crate) unsafe fn optional_text<'a>(ptr: *const c_char, name: &str) -> Checked<Option<&'a str>> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: forwarded from the caller.
    unsafe { text(ptr, name) }.map(Some)
}

/// Stores an output. Callers check `out` with [`not_null`] before doing any work, so that a
/// NULL out-parameter never costs a side effect.
///
/// # Safety
///
/// `out` points to writable storage for a `T`.
pub(crate) unsafe fn write<T>(out: *mut T, value: T) {
    // SAFETY: checked not NULL by the caller; `T` is plain data or a pointer, so nothing is
    // dropped by overwriting.
    unsafe { out.write(value) };
}

/// Text handed to C: interior NUL bytes (possible in messages built from user data) become
/// U+FFFD so that the text is never cut short silently.
pub(crate) fn c_string(text: &str) -> CString {
    CString::new(text).unwrap_or_else(|_| {
        let cleaned = text.replace('\0', "\u{fffd}");
        CString::new(cleaned).unwrap_or_default()
    })
}

/// Text allocated for C, freed with `prc_string_free`.
pub(crate) fn owned_string(text: &str) -> *mut c_char {
    c_string(text).into_raw()
}

/// Whole seconds given as a double, checked to be finite and not negative.
pub(crate) fn seconds(value: f64, what: impl FnOnce() -> String) -> Checked<std::time::Duration> {
    if !value.is_finite() || value < 0.0 {
        return Err(Failure::new(
            Status::InvalidArgument,
            format!(
                "{} must be a finite number of seconds >= 0, got {value}",
                what()
            ),
        ));
    }
    std::time::Duration::try_from_secs_f64(value)
        .map_err(|error| Failure::new(Status::InvalidArgument, format!("{}: {error}", what())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_a_status_and_an_error_object() {
        let mut error: *mut ErrorHandle = std::ptr::null_mut();
        let out: *mut *mut ErrorHandle = &mut error;
        let fail = true;
        let status = ffi_boundary!(error: out => {
            if fail {
                panic!("boom at the boundary");
            }
            Ok(())
        });
        assert_eq!(status, Status::Panic);
        assert!(!error.is_null());
        // SAFETY: written by `conclude` just above.
        let owned = unsafe { Box::from_raw(error) };
        let text = owned.message_text();
        assert!(
            text.contains("internal error in processes: boom at the boundary"),
            "{text}"
        );
    }

    #[test]
    fn a_panicking_getter_returns_its_default() {
        let value: usize = ffi_boundary!(default: 7 => { panic!("getter") });
        assert_eq!(value, 7);
    }

    #[test]
    fn interior_nul_bytes_are_replaced() {
        assert_eq!(c_string("a\0b").to_str().ok(), Some("a\u{fffd}b"));
    }
}
