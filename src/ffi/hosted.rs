//! Host-driven runs and asynchronous completion: `prc_hosted_run`, `prc_assignment`,
//! `prc_completion`.
//!
//! In a host-driven run no callback is ever called: the host pulls ready tasks as
//! assignments, runs them however it likes (goroutines, a JS event loop, its own threads) and
//! completes them. Nothing here calls into the host, so no call can re-enter.

use std::ffi::{c_char, CString};
use std::time::Duration;

use super::boundary::{
    borrow, c_string, ffi_boundary, not_null, optional_text, text, write, Checked, Failure,
};
use super::context::{out_of_range, task_error};
use super::error::{ErrorHandle, Status};
use super::report::ReportHandle;
use super::run::TokenHandle;
use super::value::{value_ref, ValueHandle};
use crate::{Assignment, Completion, HostedRun, Readiness as CoreReadiness, Value};

/// The handle that settles one pending attempt. Owned by the caller
/// (`prc_completion_free`); may be moved to and used from any thread, by one thread at a
/// time. Exactly one completion is accepted; later ones return `PRC_STATUS_ALREADY_COMPLETED`.
pub struct CompletionHandle {
    completion: Completion,
}

impl CompletionHandle {
    pub(crate) fn boxed(completion: Completion) -> *mut CompletionHandle {
        Box::into_raw(Box::new(CompletionHandle { completion }))
    }
}

/// A run the host drives. Owned by the caller (`prc_hosted_run_free`; freeing an unfinished
/// run cancels it). Every function may be called from any thread, at the same time as the
/// others: `prc_hosted_run_wait` typically blocks on a spare thread while another thread takes
/// batches and completes them.
pub struct HostedHandle {
    run: HostedRun,
}

impl HostedHandle {
    pub(crate) fn boxed(run: HostedRun) -> *mut HostedHandle {
        Box::into_raw(Box::new(HostedHandle { run }))
    }
}

/// One attempt of one task handed to the host. Owned by the caller
/// (`prc_assignment_free`); may be moved to any thread and used by one thread at a time. Its
/// strings and values are lent while it lives.
pub struct AssignmentHandle {
    assignment: Assignment,
    name: CString,
    function: CString,
    kwarg_names: Vec<CString>,
}

/// What `prc_hosted_run_wait` saw. Values are fixed.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// At least one task can be taken with `prc_hosted_run_next_batch`.
    Ready = 0,
    /// Every task has ended: take the report.
    Finished = 1,
    /// The timeout passed first.
    TimedOut = 2,
}

/// Settles a completion.
///
/// # Safety
///
/// `completion` is NULL or a live completion handle.
unsafe fn settle(
    completion: *const CompletionHandle,
    error: *mut *mut ErrorHandle,
    outcome: impl FnOnce() -> Checked<Result<Value, crate::TaskError>>,
) -> Status {
    ffi_boundary!(error: error => {
        // SAFETY: forwarded from the caller.
        let completion = unsafe { borrow(completion, "completion") }?;
        completion.completion.complete(outcome()?)?;
        Ok(())
    })
}

/// Settles the attempt as a success with a copy of `result` (NULL: a null result). Never
/// blocks; may be called from any thread, including from inside the callback.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`, `PRC_STATUS_ALREADY_COMPLETED` or
/// `PRC_STATUS_ABANDONED` (the attempt timed out or the run was cancelled; nothing changed).
///
/// # Safety
///
/// `completion` is NULL or a live completion handle; `result` NULL or a live value.
#[no_mangle]
pub unsafe extern "C" fn prc_completion_succeed(
    completion: *const CompletionHandle,
    result: *const ValueHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        settle(completion, error, || {
            // SAFETY: NULL or a live value, by the caller's promise.
            Ok(Ok(value_ref(result).cloned().unwrap_or_default()))
        })
    }
}

/// Settles the attempt as a failure (see `prc_context_fail` for the fields). Never blocks.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`, `PRC_STATUS_INVALID_UTF8`,
/// `PRC_STATUS_ALREADY_COMPLETED` or `PRC_STATUS_ABANDONED`.
///
/// # Safety
///
/// `completion` is NULL or a live completion handle; the strings NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_completion_fail(
    completion: *const CompletionHandle,
    kind: *const c_char,
    message: *const c_char,
    traceback: *const c_char,
    location: *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        settle(completion, error, || {
            // SAFETY: each NULL or NUL-terminated, by the caller's promise.
            let error = task_error(
                optional_text(kind, "kind")?,
                text(message, "message")?,
                optional_text(traceback, "traceback")?,
                optional_text(location, "location")?,
            );
            Ok(Err(error))
        })
    }
}

/// The attempt number, from 1; 0 when `completion` is NULL.
///
/// # Safety
///
/// `completion` is NULL or a live completion handle.
#[no_mangle]
pub unsafe extern "C" fn prc_completion_attempt(completion: *const CompletionHandle) -> u32 {
    ffi_boundary!(default: 0 => {
        // SAFETY: NULL or live, by the caller's promise.
        unsafe { completion.as_ref() }.map_or(0, |c| c.completion.attempt())
    })
}

/// A new token that turns cancelled when the run is cancelled or the attempt times out
/// (`prc_cancel_token_free`).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// `completion` is NULL or a live completion handle; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_completion_cancel_token(
    completion: *const CompletionHandle,
    out: *mut *mut TokenHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: forwarded from the caller.
        let completion = unsafe { borrow(completion, "completion") }?;
        // SAFETY: checked not NULL above.
        unsafe { write(out, TokenHandle::boxed(completion.completion.cancel_token())) };
        Ok(())
    })
}

/// Frees a completion handle. NULL is ignored. An attempt never settled stays pending until
/// its timeout or the run's cancellation.
///
/// # Safety
///
/// `completion` is NULL or a handle not yet freed and not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn prc_completion_free(completion: *mut CompletionHandle) {
    ffi_boundary!(default: () => {
        if !completion.is_null() {
            // SAFETY: made by Box::into_raw in this library and not freed yet.
            drop(unsafe { Box::from_raw(completion) });
        }
    })
}

/// Takes up to `capacity` ready tasks (never more than the in-flight limit allows) into
/// `items[0 .. *count]`; returns at once, possibly with none. Each assignment is owned by the
/// caller (`prc_assignment_free`).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` (`items` may be NULL only when `capacity` is 0).
///
/// # Safety
///
/// `run` is NULL or a live run; `items` has room for `capacity` pointers; `count` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn prc_hosted_run_next_batch(
    run: *const HostedHandle,
    items: *mut *mut AssignmentHandle,
    capacity: usize,
    count: *mut usize,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(count, "count")?;
        if capacity > 0 {
            not_null(items, "items")?;
        }
        // SAFETY: forwarded from the caller.
        let run = unsafe { borrow(run, "run") }?;
        let batch = run.run.next_batch(capacity);
        let taken = batch.len();
        for (i, assignment) in batch.into_iter().enumerate() {
            let handle = AssignmentHandle {
                name: c_string(assignment.name()),
                function: c_string(assignment.function()),
                kwarg_names: assignment.kwargs().iter().map(|(k, _)| c_string(k)).collect(),
                assignment,
            };
            // SAFETY: i < taken <= capacity, and `items` has room for `capacity` pointers.
            unsafe { write(items.add(i), Box::into_raw(Box::new(handle))) };
        }
        // SAFETY: checked not NULL above.
        unsafe { write(count, taken) };
        Ok(())
    })
}

/// Blocks until a task is ready, the run finished, or `timeout_seconds` passed (negative:
/// no limit), and writes a `prc_readiness`. Meant for a thread the host can spare (a
/// goroutine, a libuv worker through koffi's async call); wakes at once when the run is
/// cancelled.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_ARGUMENT` (NaN).
///
/// # Safety
///
/// `run` is NULL or a live run; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_hosted_run_wait(
    run: *const HostedHandle,
    timeout_seconds: f64,
    out: *mut u32,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: forwarded from the caller.
        let run = unsafe { borrow(run, "run") }?;
        if timeout_seconds.is_nan() {
            return Err(Failure::new(Status::InvalidArgument, "argument `timeout_seconds` is NaN"));
        }
        let timeout = (timeout_seconds >= 0.0)
            .then(|| Duration::try_from_secs_f64(timeout_seconds).unwrap_or(Duration::MAX));
        let readiness = match run.run.wait(timeout) {
            CoreReadiness::Ready => Readiness::Ready,
            CoreReadiness::Finished => Readiness::Finished,
            CoreReadiness::TimedOut => Readiness::TimedOut,
        };
        // SAFETY: checked not NULL above.
        unsafe { write(out, readiness as u32) };
        Ok(())
    })
}

/// Cancels the run: nothing new is handed out, pending attempts see their cancellation, every
/// task not yet ended is reported cancelled, and waiters wake.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// `run` is NULL or a live run.
#[no_mangle]
pub unsafe extern "C" fn prc_hosted_run_cancel(
    run: *const HostedHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        // SAFETY: forwarded from the caller.
        unsafe { borrow(run, "run") }?.run.cancel();
        Ok(())
    })
}

/// Whether every task has ended; false when `run` is NULL.
///
/// # Safety
///
/// `run` is NULL or a live run.
#[no_mangle]
pub unsafe extern "C" fn prc_hosted_run_is_finished(run: *const HostedHandle) -> bool {
    ffi_boundary!(default: false => {
        // SAFETY: NULL or live, by the caller's promise.
        unsafe { run.as_ref() }.is_some_and(|r| r.run.is_finished())
    })
}

/// How many tasks are handed out and not yet settled; 0 when `run` is NULL.
///
/// # Safety
///
/// `run` is NULL or a live run.
#[no_mangle]
pub unsafe extern "C" fn prc_hosted_run_in_flight(run: *const HostedHandle) -> usize {
    ffi_boundary!(default: 0 => {
        // SAFETY: NULL or live, by the caller's promise.
        unsafe { run.as_ref() }.map_or(0, |r| r.run.in_flight())
    })
}

/// The report, once every task has ended (owned by the caller, `prc_report_free`); may be
/// taken more than once.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_NOT_FINISHED`.
///
/// # Safety
///
/// `run` is NULL or a live run; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_hosted_run_report(
    run: *const HostedHandle,
    out: *mut *mut ReportHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: forwarded from the caller.
        let run = unsafe { borrow(run, "run") }?;
        let report = run.run.report().ok_or_else(|| {
            Failure::new(
                Status::NotFinished,
                format!("the host-driven run has not finished ({} in flight)", run.run.in_flight()),
            )
        })?;
        // SAFETY: checked not NULL above.
        unsafe { write(out, ReportHandle::boxed(report)) };
        Ok(())
    })
}

/// Frees a host-driven run, cancelling it if it has not finished. NULL is ignored. Reports
/// and completion handles taken from it live on (their completions are then abandoned).
///
/// # Safety
///
/// `run` is NULL or a run not yet freed, with no call on it under way.
#[no_mangle]
pub unsafe extern "C" fn prc_hosted_run_free(run: *mut HostedHandle) {
    ffi_boundary!(default: () => {
        if !run.is_null() {
            // SAFETY: made by Box::into_raw in this library and not freed yet.
            drop(unsafe { Box::from_raw(run) });
        }
    })
}

/// Reads an assignment.
///
/// # Safety
///
/// `assignment` is NULL or a live assignment; `out` NULL or writable.
unsafe fn read<T>(
    assignment: *const AssignmentHandle,
    out: *mut T,
    error: *mut *mut ErrorHandle,
    get: impl FnOnce(&AssignmentHandle) -> Checked<T>,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: forwarded from the caller.
        let assignment = unsafe { borrow(assignment, "assignment") }?;
        let got = get(assignment)?;
        // SAFETY: checked not NULL above.
        unsafe { write(out, got) };
        Ok(())
    })
}

/// The task's name, lent while `assignment` lives; NULL when `assignment` is NULL.
///
/// # Safety
///
/// `assignment` is NULL or a live assignment.
#[no_mangle]
pub unsafe extern "C" fn prc_assignment_name(assignment: *const AssignmentHandle) -> *const c_char {
    ffi_boundary!(default: std::ptr::null() => {
        // SAFETY: NULL or live, by the caller's promise.
        unsafe { assignment.as_ref() }.map_or(std::ptr::null(), |a| a.name.as_ptr())
    })
}

/// The task's function label, lent while `assignment` lives; NULL when `assignment` is NULL.
///
/// # Safety
///
/// `assignment` is NULL or a live assignment.
#[no_mangle]
pub unsafe extern "C" fn prc_assignment_function(
    assignment: *const AssignmentHandle,
) -> *const c_char {
    ffi_boundary!(default: std::ptr::null() => {
        // SAFETY: NULL or live, by the caller's promise.
        unsafe { assignment.as_ref() }.map_or(std::ptr::null(), |a| a.function.as_ptr())
    })
}

/// The task's index in insertion order (stable while the process is not changed); `UINT32_MAX`
/// when `assignment` is NULL.
///
/// # Safety
///
/// `assignment` is NULL or a live assignment.
#[no_mangle]
pub unsafe extern "C" fn prc_assignment_index(assignment: *const AssignmentHandle) -> u32 {
    ffi_boundary!(default: u32::MAX => {
        // SAFETY: NULL or live, by the caller's promise.
        unsafe { assignment.as_ref() }.map_or(u32::MAX, |a| a.assignment.index())
    })
}

/// The attempt number, from 1; 0 when `assignment` is NULL.
///
/// # Safety
///
/// `assignment` is NULL or a live assignment.
#[no_mangle]
pub unsafe extern "C" fn prc_assignment_attempt(assignment: *const AssignmentHandle) -> u32 {
    ffi_boundary!(default: 0 => {
        // SAFETY: NULL or live, by the caller's promise.
        unsafe { assignment.as_ref() }.map_or(0, |a| a.assignment.attempt())
    })
}

/// How many positional arguments there are; 0 when `assignment` is NULL.
///
/// # Safety
///
/// `assignment` is NULL or a live assignment.
#[no_mangle]
pub unsafe extern "C" fn prc_assignment_arg_count(assignment: *const AssignmentHandle) -> usize {
    ffi_boundary!(default: 0 => {
        // SAFETY: NULL or live, by the caller's promise.
        unsafe { assignment.as_ref() }.map_or(0, |a| a.assignment.args().len())
    })
}

/// The positional argument at `index`, lent while `assignment` lives.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_OUT_OF_RANGE`.
///
/// # Safety
///
/// `assignment` is NULL or a live assignment; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_assignment_arg(
    assignment: *const AssignmentHandle,
    index: usize,
    out: *mut *const ValueHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        read(assignment, out, error, |a| {
            let args = a.assignment.args();
            let value = args.get(index).ok_or_else(|| {
                out_of_range(
                    a.assignment.name(),
                    "positional argument",
                    index,
                    args.len(),
                )
            })?;
            Ok(ValueHandle::lend(value))
        })
    }
}

/// How many named arguments there are; 0 when `assignment` is NULL.
///
/// # Safety
///
/// `assignment` is NULL or a live assignment.
#[no_mangle]
pub unsafe extern "C" fn prc_assignment_kwarg_count(assignment: *const AssignmentHandle) -> usize {
    ffi_boundary!(default: 0 => {
        // SAFETY: NULL or live, by the caller's promise.
        unsafe { assignment.as_ref() }.map_or(0, |a| a.assignment.kwargs().len())
    })
}

/// The named argument at `index`: its name and value, lent while `assignment` lives.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_OUT_OF_RANGE`.
///
/// # Safety
///
/// `assignment` is NULL or a live assignment; `name` and `value` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_assignment_kwarg_at(
    assignment: *const AssignmentHandle,
    index: usize,
    name: *mut *const c_char,
    value: *mut *const ValueHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(name, "name")?;
        not_null(value, "value")?;
        // SAFETY: forwarded from the caller.
        let a = unsafe { borrow(assignment, "assignment") }?;
        let kwargs = a.assignment.kwargs();
        let Some((_, found)) = kwargs.get(index) else {
            return Err(out_of_range(a.assignment.name(), "named argument", index, kwargs.len()));
        };
        // SAFETY: both checked not NULL above.
        unsafe {
            write(name, a.kwarg_names[index].as_ptr());
            write(value, ValueHandle::lend(found));
        }
        Ok(())
    })
}

/// The named argument `name`, lent while `assignment` lives.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`, `PRC_STATUS_INVALID_UTF8` or `PRC_STATUS_NOT_FOUND`.
///
/// # Safety
///
/// `assignment` is NULL or a live assignment; `name` NULL or NUL-terminated; `out` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn prc_assignment_kwarg(
    assignment: *const AssignmentHandle,
    name: *const c_char,
    out: *mut *const ValueHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        read(assignment, out, error, |a| {
            let name = text(name, "name")?;
            let found = a.assignment.kwargs().iter().find(|(k, _)| k == name);
            let (_, value) = found.ok_or_else(|| {
                Failure::new(
                    Status::NotFound,
                    format!("task {:?}: no named argument {name:?}", a.assignment.name()),
                )
            })?;
            Ok(ValueHandle::lend(value))
        })
    }
}

/// A new completion handle for this attempt (`prc_completion_free`), to settle it from
/// another thread after the assignment is freed.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// `assignment` is NULL or a live assignment; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_assignment_completion(
    assignment: *const AssignmentHandle,
    out: *mut *mut CompletionHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        read(assignment, out, error, |a| {
            Ok(CompletionHandle::boxed(a.assignment.completion().clone()))
        })
    }
}

/// Settles the attempt as a success with a copy of `result` (NULL: a null result).
///
/// Returns as `prc_completion_succeed`.
///
/// # Safety
///
/// `assignment` is NULL or a live assignment; `result` NULL or a live value.
#[no_mangle]
pub unsafe extern "C" fn prc_assignment_succeed(
    assignment: *const AssignmentHandle,
    result: *const ValueHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        // SAFETY: forwarded from the caller.
        let a = unsafe { borrow(assignment, "assignment") }?;
        // SAFETY: NULL or a live value, by the caller's promise.
        let result = unsafe { value_ref(result) }.cloned().unwrap_or_default();
        a.assignment.completion().succeed(result)?;
        Ok(())
    })
}

/// Settles the attempt as a failure (see `prc_context_fail` for the fields).
///
/// Returns as `prc_completion_fail`.
///
/// # Safety
///
/// `assignment` is NULL or a live assignment; the strings NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_assignment_fail(
    assignment: *const AssignmentHandle,
    kind: *const c_char,
    message: *const c_char,
    traceback: *const c_char,
    location: *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        // SAFETY: forwarded from the caller.
        let a = unsafe { borrow(assignment, "assignment") }?;
        // SAFETY: each NULL or NUL-terminated, by the caller's promise.
        let failure = unsafe {
            task_error(
                optional_text(kind, "kind")?,
                text(message, "message")?,
                optional_text(traceback, "traceback")?,
                optional_text(location, "location")?,
            )
        };
        a.assignment.completion().fail(failure)?;
        Ok(())
    })
}

/// Frees an assignment. NULL is ignored. An attempt never settled stays in flight until its
/// timeout or the run's cancellation (a completion handle taken from it still works).
///
/// # Safety
///
/// `assignment` is NULL or an assignment not yet freed and not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn prc_assignment_free(assignment: *mut AssignmentHandle) {
    ffi_boundary!(default: () => {
        if !assignment.is_null() {
            // SAFETY: made by Box::into_raw in prc_hosted_run_next_batch and not freed yet.
            drop(unsafe { Box::from_raw(assignment) });
        }
    })
}
