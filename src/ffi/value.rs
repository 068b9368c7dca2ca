//! Values: arguments, results and host objects, as `prc_value` handles.
//!
//! A `prc_value *` from a `prc_value_new_*` call is owned by the caller. A `const prc_value *`
//! handed out by a context, an assignment or a report entry is lent: valid while that object
//! lives, never freed by the caller. Calls that take a `const prc_value *` copy it (a cheap,
//! shared copy), so the caller keeps ownership of what it passed.

use std::any::Any;
use std::ffi::{c_char, c_void};
use std::sync::Arc;

use super::boundary::{
    borrow, ffi_boundary, not_null, optional_text, owned_string, text, write, Checked, Failure,
};
use super::error::{ErrorHandle, Status};
use crate::{ForeignObject, Value};

/// A value. Owned values are freed with `prc_value_free`; a value may be read from several
/// threads at once.
///
/// Never made in Rust: a `*const ValueHandle` is a `*const Value` under the name C sees.
pub struct ValueHandle {
    _opaque: [u8; 0],
}

/// What a value holds. Values are fixed: new ones are only ever appended.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// No value.
    Null = 0,
    /// A boolean.
    Bool = 1,
    /// A signed 64-bit integer.
    Int = 2,
    /// A 64-bit float.
    Float = 3,
    /// UTF-8 text.
    Text = 4,
    /// Raw bytes.
    Bytes = 5,
    /// A JSON document.
    Json = 6,
    /// A host object.
    Foreign = 7,
}

/// Releases a host object. Called exactly once, on whichever thread lets go of the last copy
/// of the value (possibly a pool thread); it may call into the library but must not block on
/// a run.
pub type ForeignDropFn = Option<unsafe extern "C" fn(data: *mut c_void)>;

/// A C host's object carried through the graph untouched.
pub(crate) struct CForeign {
    data: *mut c_void,
    drop: ForeignDropFn,
    display: String,
}

// SAFETY: the header says a foreign object may be dropped and passed on any thread; the
// library never dereferences `data`.
unsafe impl Send for CForeign {}
// SAFETY: as above.
unsafe impl Sync for CForeign {}

impl ForeignObject for CForeign {
    fn display(&self) -> String {
        self.display.clone()
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for CForeign {
    fn drop(&mut self) {
        if let Some(drop) = self.drop {
            // SAFETY: the host gave this function for this pointer; Drop runs once.
            unsafe { drop(self.data) };
        }
    }
}

impl ValueHandle {
    /// Lends a core value as a handle.
    pub(crate) fn lend(value: &Value) -> *const ValueHandle {
        (value as *const Value).cast()
    }
}

fn owned(value: Value) -> *mut ValueHandle {
    Box::into_raw(Box::new(value)).cast()
}

/// The core value behind a handle, or `None` for NULL.
///
/// # Safety
///
/// `ptr` is NULL or a live value (owned or lent).
pub(crate) unsafe fn value_ref<'a>(ptr: *const ValueHandle) -> Option<&'a Value> {
    // SAFETY: every non-NULL handle points to a `Value` (see `lend` and `owned`).
    unsafe { ptr.cast::<Value>().as_ref() }
}

/// The core value behind a `const prc_value *` argument, copied.
///
/// # Safety
///
/// `ptr` is NULL or a live value.
pub(crate) unsafe fn value_arg(ptr: *const ValueHandle, name: &str) -> Checked<Value> {
    // SAFETY: forwarded from the caller.
    Ok(unsafe { borrow(ptr.cast::<Value>(), name) }?.clone())
}

/// A new null value. Never NULL except when memory runs out.
#[no_mangle]
pub extern "C" fn prc_value_new_null() -> *mut ValueHandle {
    ffi_boundary!(default: std::ptr::null_mut() => { owned(Value::Null) })
}

/// A new boolean value.
#[no_mangle]
pub extern "C" fn prc_value_new_bool(value: bool) -> *mut ValueHandle {
    ffi_boundary!(default: std::ptr::null_mut() => { owned(Value::Bool(value)) })
}

/// A new integer value.
#[no_mangle]
pub extern "C" fn prc_value_new_int(value: i64) -> *mut ValueHandle {
    ffi_boundary!(default: std::ptr::null_mut() => { owned(Value::Int(value)) })
}

/// A new float value.
#[no_mangle]
pub extern "C" fn prc_value_new_float(value: f64) -> *mut ValueHandle {
    ffi_boundary!(default: std::ptr::null_mut() => { owned(Value::Float(value)) })
}

/// A new text value from NUL-terminated UTF-8 (copied).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_UTF8`.
///
/// # Safety
///
/// `text` is NULL or NUL-terminated; `out` is NULL or writable; `error` as everywhere.
#[no_mangle]
pub unsafe extern "C" fn prc_value_new_text(
    text: *const c_char,
    out: *mut *mut ValueHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: NULL or NUL-terminated, by the caller's promise.
        let text = unsafe { self::text(text, "text") }?;
        // SAFETY: checked not NULL above.
        unsafe { write(out, owned(Value::from(text))) };
        Ok(())
    })
}

/// A new bytes value (copied). `data` may be NULL when `len` is 0.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// `data` points to `len` readable bytes (or is NULL with `len` 0).
#[no_mangle]
pub unsafe extern "C" fn prc_value_new_bytes(
    data: *const u8,
    len: usize,
    out: *mut *mut ValueHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        let bytes: &[u8] = if len == 0 {
            &[]
        } else {
            not_null(data, "data")?;
            // SAFETY: not NULL, and `len` bytes readable by the caller's promise.
            unsafe { std::slice::from_raw_parts(data, len) }
        };
        // SAFETY: checked not NULL above.
        unsafe { write(out, owned(Value::from(bytes))) };
        Ok(())
    })
}

/// A new JSON value parsed from NUL-terminated UTF-8 text.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`, `PRC_STATUS_INVALID_UTF8` or `PRC_STATUS_INVALID_JSON`
/// (the message gives line and column).
///
/// # Safety
///
/// As for `prc_value_new_text`.
#[no_mangle]
pub unsafe extern "C" fn prc_value_new_json(
    json: *const c_char,
    out: *mut *mut ValueHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: NULL or NUL-terminated, by the caller's promise.
        let json = unsafe { text(json, "json") }?;
        let value = Value::json_from_str(json).map_err(|error| {
            Failure::new(Status::InvalidJson, format!("argument `json` is not valid JSON: {error}"))
        })?;
        // SAFETY: checked not NULL above.
        unsafe { write(out, owned(value)) };
        Ok(())
    })
}

/// A new value wrapping a host object. The library never looks inside `data`; it calls
/// `drop_fn(data)` exactly once, on any thread, when the last copy of the value is gone
/// (`drop_fn` may be NULL). `display` (NULL: `"<foreign>"`) is the text shown in logs and
/// reports. On failure `drop_fn` is not called: the object stays the caller's.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_UTF8`.
///
/// # Safety
///
/// `display` is NULL or NUL-terminated; `drop_fn` may be called with `data` from any thread.
#[no_mangle]
pub unsafe extern "C" fn prc_value_new_foreign(
    data: *mut c_void,
    drop_fn: ForeignDropFn,
    display: *const c_char,
    out: *mut *mut ValueHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: NULL or NUL-terminated, by the caller's promise.
        let display = unsafe { optional_text(display, "display") }?.unwrap_or("<foreign>");
        let object = CForeign {
            data,
            drop: drop_fn,
            display: display.to_owned(),
        };
        // SAFETY: checked not NULL above.
        unsafe { write(out, owned(Value::Foreign(Arc::new(object)))) };
        Ok(())
    })
}

/// A new handle sharing `value`'s content; NULL when `value` is NULL.
///
/// # Safety
///
/// `value` is NULL or a live value.
#[no_mangle]
pub unsafe extern "C" fn prc_value_clone(value: *const ValueHandle) -> *mut ValueHandle {
    ffi_boundary!(default: std::ptr::null_mut() => {
        // SAFETY: NULL or a live value, by the caller's promise.
        match unsafe { value_ref(value) } {
            Some(value) => owned(value.clone()),
            None => std::ptr::null_mut(),
        }
    })
}

/// Frees a value the caller owns. NULL is ignored. Never free a lent `const prc_value *`.
///
/// # Safety
///
/// `value` is NULL or an owned value not yet freed.
#[no_mangle]
pub unsafe extern "C" fn prc_value_free(value: *mut ValueHandle) {
    ffi_boundary!(default: () => {
        if !value.is_null() {
            // SAFETY: made by `owned` (a boxed `Value`) and not freed yet.
            drop(unsafe { Box::from_raw(value.cast::<Value>()) });
        }
    })
}

/// What `value` holds; `PRC_VALUE_TYPE_NULL` when `value` is NULL.
///
/// # Safety
///
/// `value` is NULL or a live value.
#[no_mangle]
pub unsafe extern "C" fn prc_value_type_of(value: *const ValueHandle) -> ValueType {
    ffi_boundary!(default: ValueType::Null => {
        // SAFETY: NULL or a live value, by the caller's promise.
        match unsafe { value_ref(value) } {
            None | Some(Value::Null) => ValueType::Null,
            Some(Value::Bool(_)) => ValueType::Bool,
            Some(Value::Int(_)) => ValueType::Int,
            Some(Value::Float(_)) => ValueType::Float,
            Some(Value::Text(_)) => ValueType::Text,
            Some(Value::Bytes(_)) => ValueType::Bytes,
            Some(Value::Json(_)) => ValueType::Json,
            Some(Value::Foreign(_)) => ValueType::Foreign,
        }
    })
}

pub(crate) fn wrong_type(value: &Value, wanted: &str) -> Failure {
    Failure::new(
        Status::WrongType,
        format!("the value is {}, not {wanted}", value.type_name()),
    )
}

/// Reads a value that has to be of one type.
///
/// # Safety
///
/// `value` is NULL or a live value, `out` NULL or writable.
unsafe fn read<T>(
    value: *const ValueHandle,
    out: *mut T,
    error: *mut *mut ErrorHandle,
    get: impl FnOnce(&Value) -> Checked<T>,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: NULL or a live value, by the caller's promise.
        let value = unsafe { borrow(value.cast::<Value>(), "value") }?;
        let got = get(value)?;
        // SAFETY: checked not NULL above.
        unsafe { write(out, got) };
        Ok(())
    })
}

/// The boolean held by `value`.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_WRONG_TYPE`.
///
/// # Safety
///
/// `value` is NULL or a live value, `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_value_as_bool(
    value: *const ValueHandle,
    out: *mut bool,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        read(value, out, error, |v| {
            v.as_bool().ok_or_else(|| wrong_type(v, "bool"))
        })
    }
}

/// The integer held by `value`.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_WRONG_TYPE`.
///
/// # Safety
///
/// `value` is NULL or a live value, `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_value_as_int(
    value: *const ValueHandle,
    out: *mut i64,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        read(value, out, error, |v| {
            v.as_int().ok_or_else(|| wrong_type(v, "int"))
        })
    }
}

/// The float held by `value` (an integer is widened).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_WRONG_TYPE`.
///
/// # Safety
///
/// `value` is NULL or a live value, `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_value_as_float(
    value: *const ValueHandle,
    out: *mut f64,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        read(value, out, error, |v| {
            v.as_float().ok_or_else(|| wrong_type(v, "float"))
        })
    }
}

/// The text held by `value`: `*data` points to `*len` bytes of UTF-8, lent while `value`
/// lives and NOT NUL-terminated (text may contain NUL bytes); print it with `%.*s`.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_WRONG_TYPE`.
///
/// # Safety
///
/// `value` is NULL or a live value; `data` and `len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_value_as_text(
    value: *const ValueHandle,
    data: *mut *const c_char,
    len: *mut usize,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(data, "data")?;
        not_null(len, "len")?;
        // SAFETY: NULL or a live value, by the caller's promise.
        let value = unsafe { borrow(value.cast::<Value>(), "value") }?;
        let text = value.as_text().ok_or_else(|| wrong_type(value, "text"))?;
        // SAFETY: both checked not NULL above.
        unsafe {
            write(data, text.as_ptr().cast());
            write(len, text.len());
        }
        Ok(())
    })
}

/// The bytes held by `value`, lent while `value` lives (`*data` may be NULL when `*len` is 0).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_WRONG_TYPE`.
///
/// # Safety
///
/// `value` is NULL or a live value; `data` and `len` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_value_as_bytes(
    value: *const ValueHandle,
    data: *mut *const u8,
    len: *mut usize,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(data, "data")?;
        not_null(len, "len")?;
        // SAFETY: NULL or a live value, by the caller's promise.
        let value = unsafe { borrow(value.cast::<Value>(), "value") }?;
        let bytes = value.as_bytes().ok_or_else(|| wrong_type(value, "bytes"))?;
        // SAFETY: both checked not NULL above.
        unsafe {
            write(data, bytes.as_ptr());
            write(len, bytes.len());
        }
        Ok(())
    })
}

/// The JSON document held by `value`, as newly allocated compact text; free it with
/// `prc_string_free`.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_WRONG_TYPE`.
///
/// # Safety
///
/// `value` is NULL or a live value; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_value_as_json(
    value: *const ValueHandle,
    out: *mut *mut c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        read(value, out, error, |v| {
            let json = v.as_json().ok_or_else(|| wrong_type(v, "json"))?;
            Ok(owned_string(&json.to_string()))
        })
    }
}

/// The host pointer of a value made by `prc_value_new_foreign`.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_WRONG_TYPE` (also for an object made by
/// another front end than the C ABI).
///
/// # Safety
///
/// `value` is NULL or a live value; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_value_as_foreign(
    value: *const ValueHandle,
    out: *mut *mut c_void,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        read(value, out, error, |v| {
            v.as_foreign()
                .and_then(|object| object.as_any().downcast_ref::<CForeign>())
                .map(|object| object.data)
                .ok_or_else(|| wrong_type(v, "a foreign object from the C ABI"))
        })
    }
}

/// The value's display text as shown in logs and reports (text as is, bytes as `b"..."`,
/// JSON compact, floats in shortest round-trip form), newly allocated; free it with
/// `prc_string_free`. NULL when `value` is NULL.
///
/// # Safety
///
/// `value` is NULL or a live value.
#[no_mangle]
pub unsafe extern "C" fn prc_value_display(value: *const ValueHandle) -> *mut c_char {
    ffi_boundary!(default: std::ptr::null_mut() => {
        // SAFETY: NULL or a live value, by the caller's promise.
        match unsafe { value_ref(value) } {
            Some(value) => owned_string(&value.to_string()),
            None => std::ptr::null_mut(),
        }
    })
}
