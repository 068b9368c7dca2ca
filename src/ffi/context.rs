//! What a task callback sees: `prc_context`, valid during one callback call on one thread.

use std::cell::{Cell, OnceCell, RefCell};
use std::ffi::{c_char, CString};
use std::fmt;

use super::boundary::{
    borrow, borrow_mut, c_string, ffi_boundary, not_null, optional_text, text, write, Checked,
    Failure,
};
use super::error::{ErrorHandle, Status};
use super::hosted::CompletionHandle;
use super::run::TokenHandle;
use super::task::{level, TaskOutcome};
use super::value::{value_arg, wrong_type, ValueHandle};
use crate::{ErrorKind, Outcome, TaskContext, TaskError, Value};

/// The context of one attempt, lent to a task callback. Valid only during that call and only
/// on the thread that made it; everything that must outlive the call (a completion handle, a
/// cancellation token, copies of values) is taken out of it explicitly.
pub struct ContextHandle<'a> {
    ctx: &'a TaskContext<'a>,
    result: RefCell<Option<Value>>,
    /// A scalar result (`prc_context_set_result_int` and kin), kept as plain words: its kind
    /// and its bits. A `Value` written there and moved out again would be copied through
    /// memory in wider pieces than it was written in, which stalls the CPU on store
    /// forwarding on every task.
    scalar_kind: Cell<Scalar>,
    scalar_bits: Cell<u64>,
    failure: RefCell<Option<TaskError>>,
    names: OnceCell<Names>,
    completion_taken: Cell<bool>,
}

/// NUL-terminated copies of the names a callback may ask for, made on first request.
struct Names {
    task: CString,
    process: CString,
    kwargs: Vec<CString>,
}

/// Text traced as is, without the quotes `Debug` gives a `&str`.
struct Plain<'a>(&'a str);

impl fmt::Debug for Plain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl<'a> ContextHandle<'a> {
    pub(crate) fn new(ctx: &'a TaskContext<'a>) -> ContextHandle<'a> {
        ContextHandle {
            ctx,
            result: RefCell::new(None),
            scalar_kind: Cell::new(Scalar::None),
            scalar_bits: Cell::new(0),
            failure: RefCell::new(None),
            names: OnceCell::new(),
            completion_taken: Cell::new(false),
        }
    }

    fn names(&self) -> &Names {
        self.names.get_or_init(|| Names {
            task: c_string(self.ctx.name()),
            process: c_string(self.ctx.process_name()),
            kwargs: self.ctx.kwargs().iter().map(|(k, _)| c_string(k)).collect(),
        })
    }

    /// The result set by the callback, `Null` if none.
    fn take_result(&self) -> Value {
        let bits = self.scalar_bits.get();
        match self.scalar_kind.get() {
            Scalar::Int => Value::Int(bits as i64),
            Scalar::Float => Value::Float(f64::from_bits(bits)),
            Scalar::Bool => Value::Bool(bits != 0),
            Scalar::None => self.result.take().unwrap_or_default(),
        }
    }

    /// Sets a scalar result, replacing any result set before.
    fn set_scalar(&self, kind: Scalar, bits: u64) {
        self.scalar_kind.set(kind);
        self.scalar_bits.set(bits);
    }

    /// The attempt's outcome from the code the callback returned.
    pub(crate) fn outcome(&self, code: u32) -> Outcome {
        let name = self.ctx.name();
        const SUCCESS: u32 = TaskOutcome::Success as u32;
        const FAILURE: u32 = TaskOutcome::Failure as u32;
        const PENDING: u32 = TaskOutcome::Pending as u32;
        match code {
            SUCCESS => Outcome::Success(self.take_result()),
            FAILURE => Outcome::failure(self.failure.take().unwrap_or_else(|| {
                TaskError::new(format!(
                    "task {name:?}: the callback returned PRC_OUTCOME_FAILURE without calling \
                     prc_context_fail"
                ))
            })),
            PENDING => Outcome::Pending,
            other => Outcome::failure(TaskError::new(format!(
                "task {name:?}: the callback returned {other}, which is not a prc_outcome (0 to 2)"
            ))),
        }
    }
}

/// A failure from C arguments; `kind` NULL means `"error"`.
pub(crate) fn task_error(
    kind: Option<&str>,
    message: &str,
    traceback: Option<&str>,
    location: Option<&str>,
) -> TaskError {
    let mut error = TaskError::with_kind(ErrorKind::from_name(kind.unwrap_or("error")), message);
    error.traceback = traceback.map(str::to_owned);
    error.location = location.map(str::to_owned);
    error
}

/// Reads a context.
///
/// # Safety
///
/// `context` is NULL or the live context of the current callback call.
unsafe fn read<T>(
    context: *const ContextHandle<'_>,
    out: *mut T,
    error: *mut *mut ErrorHandle,
    get: impl FnOnce(&ContextHandle<'_>) -> Checked<T>,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: forwarded from the caller.
        let context = unsafe { borrow(context, "context") }?;
        let got = get(context)?;
        // SAFETY: checked not NULL above.
        unsafe { write(out, got) };
        Ok(())
    })
}

/// The task's name (lowercase), lent for the callback call.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// `context` is NULL or the live context of the current callback call; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_context_task_name(
    context: *const ContextHandle<'_>,
    out: *mut *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe { read(context, out, error, |c| Ok(c.names().task.as_ptr())) }
}

/// The process's name, lent for the callback call.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// As for `prc_context_task_name`.
#[no_mangle]
pub unsafe extern "C" fn prc_context_process_name(
    context: *const ContextHandle<'_>,
    out: *mut *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe { read(context, out, error, |c| Ok(c.names().process.as_ptr())) }
}

/// The attempt number, from 1.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// As for `prc_context_task_name`.
#[no_mangle]
pub unsafe extern "C" fn prc_context_attempt(
    context: *const ContextHandle<'_>,
    out: *mut u32,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe { read(context, out, error, |c| Ok(c.ctx.attempt())) }
}

/// How many positional arguments there are (static ones, then injected results).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// As for `prc_context_task_name`.
#[no_mangle]
pub unsafe extern "C" fn prc_context_arg_count(
    context: *const ContextHandle<'_>,
    out: *mut usize,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe { read(context, out, error, |c| Ok(c.ctx.args().len())) }
}

/// The positional argument at `index`, lent for the callback call.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_OUT_OF_RANGE`.
///
/// # Safety
///
/// As for `prc_context_task_name`.
#[no_mangle]
pub unsafe extern "C" fn prc_context_arg(
    context: *const ContextHandle<'_>,
    index: usize,
    out: *mut *const ValueHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        read(context, out, error, |c| {
            Ok(ValueHandle::lend(c.ctx.arg(index)?))
        })
    }
}

/// The integer held by the positional argument at `index`, with no value handle to read it
/// through (the common case of a result injected by a dependency).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`, `PRC_STATUS_OUT_OF_RANGE` or `PRC_STATUS_WRONG_TYPE`.
///
/// # Safety
///
/// As for `prc_context_task_name`.
#[no_mangle]
pub unsafe extern "C" fn prc_context_arg_int(
    context: *const ContextHandle<'_>,
    index: usize,
    out: *mut i64,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        read(context, out, error, |c| {
            let value = c.ctx.arg(index)?;
            value.as_int().ok_or_else(|| wrong_type(value, "int"))
        })
    }
}

/// How many named arguments there are.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// As for `prc_context_task_name`.
#[no_mangle]
pub unsafe extern "C" fn prc_context_kwarg_count(
    context: *const ContextHandle<'_>,
    out: *mut usize,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe { read(context, out, error, |c| Ok(c.ctx.kwargs().len())) }
}

/// The named argument at `index` (static ones first, in the order set, then injected ones):
/// its name and value, both lent for the callback call.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_OUT_OF_RANGE`.
///
/// # Safety
///
/// As for `prc_context_task_name`; `name` and `value` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_context_kwarg_at(
    context: *const ContextHandle<'_>,
    index: usize,
    name: *mut *const c_char,
    value: *mut *const ValueHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(name, "name")?;
        not_null(value, "value")?;
        // SAFETY: forwarded from the caller.
        let context = unsafe { borrow(context, "context") }?;
        let kwargs = context.ctx.kwargs();
        let Some((_, found)) = kwargs.get(index) else {
            return Err(out_of_range(context.ctx.name(), "named argument", index, kwargs.len()));
        };
        // SAFETY: both checked not NULL above.
        unsafe {
            write(name, context.names().kwargs[index].as_ptr());
            write(value, ValueHandle::lend(found));
        }
        Ok(())
    })
}

pub(crate) fn out_of_range(task: &str, what: &str, index: usize, len: usize) -> Failure {
    Failure::new(
        Status::OutOfRange,
        format!("task {task:?}: {what} index {index} is out of range (there are {len})"),
    )
}

/// The named argument `name`, lent for the callback call.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`, `PRC_STATUS_INVALID_UTF8` or `PRC_STATUS_NOT_FOUND`.
///
/// # Safety
///
/// As for `prc_context_task_name`; `name` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_context_kwarg(
    context: *const ContextHandle<'_>,
    name: *const c_char,
    out: *mut *const ValueHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        read(context, out, error, |c| {
            let name = text(name, "name")?;
            let value = c.ctx.kwarg(name).ok_or_else(|| {
                Failure::new(
                    Status::NotFound,
                    format!("task {:?}: no named argument {name:?}", c.ctx.name()),
                )
            })?;
            Ok(ValueHandle::lend(value))
        })
    }
}

/// Whether the attempt should stop: the run was cancelled or the attempt timed out.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// As for `prc_context_task_name`.
#[no_mangle]
pub unsafe extern "C" fn prc_context_is_cancelled(
    context: *const ContextHandle<'_>,
    out: *mut bool,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe { read(context, out, error, |c| Ok(c.ctx.is_cancelled())) }
}

/// A new token that turns cancelled when the run is cancelled or this attempt times out;
/// owned by the caller (`prc_cancel_token_free`) and usable from any thread, after the call.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// As for `prc_context_task_name`.
#[no_mangle]
pub unsafe extern "C" fn prc_context_cancel_token(
    context: *const ContextHandle<'_>,
    out: *mut *mut TokenHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        read(context, out, error, |c| {
            Ok(TokenHandle::boxed(c.ctx.cancel_token()))
        })
    }
}

/// Takes the handle that settles this attempt later, from any thread; the callback then
/// returns `PRC_OUTCOME_PENDING`. Owned by the caller (`prc_completion_free`). A second call
/// in the same callback returns `PRC_STATUS_WRONG_STATE`.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_WRONG_STATE`.
///
/// # Safety
///
/// As for `prc_context_task_name`.
#[no_mangle]
pub unsafe extern "C" fn prc_context_completion(
    context: *mut ContextHandle<'_>,
    out: *mut *mut CompletionHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        read(context, out, error, |c| {
            if c.completion_taken.replace(true) {
                return Err(Failure::new(
                    Status::WrongState,
                    format!(
                        "task {:?}: the completion handle of this attempt was already taken",
                        c.ctx.name()
                    ),
                ));
            }
            Ok(CompletionHandle::boxed(c.ctx.completion()))
        })
    }
}

/// Sets the result returned with `PRC_OUTCOME_SUCCESS` (copied; a later call replaces it).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// As for `prc_context_task_name`; `value` NULL or a live value.
#[no_mangle]
pub unsafe extern "C" fn prc_context_set_result(
    context: *mut ContextHandle<'_>,
    value: *const ValueHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        // SAFETY: forwarded from the caller.
        let context = unsafe { borrow_mut(context, "context") }?;
        // SAFETY: forwarded from the caller.
        let value = unsafe { value_arg(value, "value") }?;
        *context.result.borrow_mut() = Some(value);
        context.scalar_kind.set(Scalar::None);
        Ok(())
    })
}

/// Sets an integer result returned with `PRC_OUTCOME_SUCCESS`, with no value handle to make
/// and free (a later call of any `prc_context_set_result*` replaces it).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// As for `prc_context_task_name`.
#[no_mangle]
pub unsafe extern "C" fn prc_context_set_result_int(
    context: *mut ContextHandle<'_>,
    value: i64,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe { set_scalar_result(context, Scalar::Int, value as u64, error) }
}

/// Sets a floating-point result, as `prc_context_set_result_int` does an integer.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// As for `prc_context_task_name`.
#[no_mangle]
pub unsafe extern "C" fn prc_context_set_result_float(
    context: *mut ContextHandle<'_>,
    value: f64,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe { set_scalar_result(context, Scalar::Float, value.to_bits(), error) }
}

/// Sets a boolean result, as `prc_context_set_result_int` does an integer.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// As for `prc_context_task_name`.
#[no_mangle]
pub unsafe extern "C" fn prc_context_set_result_bool(
    context: *mut ContextHandle<'_>,
    value: bool,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe { set_scalar_result(context, Scalar::Bool, u64::from(value), error) }
}

/// The kind of scalar result a context keeps as plain words.
#[derive(Clone, Copy)]
enum Scalar {
    /// None set: the result is the `Value` slot's.
    None,
    Int,
    Float,
    Bool,
}

/// The body of the scalar result setters.
///
/// # Safety
///
/// `context` is NULL or the live context of the running callback.
#[inline(always)]
unsafe fn set_scalar_result(
    context: *mut ContextHandle<'_>,
    kind: Scalar,
    bits: u64,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        // SAFETY: forwarded from the caller.
        let context = unsafe { borrow(context, "context") }?;
        context.set_scalar(kind, bits);
        Ok(())
    })
}

/// Sets the failure returned with `PRC_OUTCOME_FAILURE`: its `kind` (NULL: `"error"`; retry
/// filters match on it), one-line `message`, and optional `traceback` text and `location`
/// (`file:line`). Variables traced with `prc_context_trace` are added to it.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_UTF8`.
///
/// # Safety
///
/// As for `prc_context_task_name`; the strings NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_context_fail(
    context: *mut ContextHandle<'_>,
    kind: *const c_char,
    message: *const c_char,
    traceback: *const c_char,
    location: *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        // SAFETY: forwarded from the caller.
        let context = unsafe { borrow_mut(context, "context") }?;
        // SAFETY: each NULL or NUL-terminated, by the caller's promise.
        let (kind, message, traceback, location) = unsafe {
            (
                optional_text(kind, "kind")?,
                text(message, "message")?,
                optional_text(traceback, "traceback")?,
                optional_text(location, "location")?,
            )
        };
        *context.failure.borrow_mut() = Some(task_error(kind, message, traceback, location));
        Ok(())
    })
}

/// Records a variable (name and display text) shown in the failure context if this attempt
/// fails; a later call with the same name replaces the text.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_UTF8`.
///
/// # Safety
///
/// As for `prc_context_task_name`; the strings NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_context_trace(
    context: *mut ContextHandle<'_>,
    name: *const c_char,
    value: *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        // SAFETY: forwarded from the caller.
        let context = unsafe { borrow_mut(context, "context") }?;
        // SAFETY: NULL or NUL-terminated, by the caller's promise.
        let (name, value) = unsafe { (text(name, "name")?, text(value, "value")?) };
        context.ctx.trace(name, Plain(value));
        Ok(())
    })
}

/// Writes `message` to the task's log at `level` (a `prc_log_level`); nothing is written
/// when the task has no log file or `level` is below its threshold.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`, `PRC_STATUS_INVALID_UTF8` or
/// `PRC_STATUS_INVALID_ARGUMENT`.
///
/// # Safety
///
/// As for `prc_context_task_name`; `message` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_context_log(
    context: *const ContextHandle<'_>,
    level: u32,
    message: *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        // SAFETY: forwarded from the caller.
        let context = unsafe { borrow(context, "context") }?;
        let level = self::level(level, "argument `level`")?;
        // SAFETY: NULL or NUL-terminated, by the caller's promise.
        let message = unsafe { text(message, "message") }?;
        context.ctx.log(level, message);
        Ok(())
    })
}
