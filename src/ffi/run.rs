//! Run options, cancellation tokens and observers: `prc_run_options`, `prc_cancel_token`,
//! `prc_observer_fn`.

use std::ffi::{c_char, c_void, CString};
use std::sync::Arc;

use super::boundary::{borrow, borrow_mut, c_string, ffi_boundary, Checked, Failure};
use super::callback::{FinalizeFn, UserData};
use super::error::{ErrorHandle, Status};
use super::report::entry_status;
use crate::{CancelToken, Event as CoreEvent, Observer, RunOptions};

/// How to run a process. Owned by the caller (`prc_run_options_free`); used by one thread at
/// a time. A run copies what it needs, so the options may be freed once the run started.
pub struct OptionsHandle {
    pub(crate) options: RunOptions,
}

/// A cancellation flag that, once set, stays set. Owned by the caller
/// (`prc_cancel_token_free`); may be used from any thread, including while a run that holds a
/// copy of it is under way.
pub struct TokenHandle {
    token: CancelToken,
}

impl TokenHandle {
    pub(crate) fn boxed(token: CancelToken) -> *mut TokenHandle {
        Box::into_raw(Box::new(TokenHandle { token }))
    }
}

/// What an observer event is about. Values are fixed.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// An attempt of `task` started (`attempt`).
    TaskStarted = 0,
    /// An attempt failed and will be retried after `retry_in_seconds` (`attempt`,
    /// `max_attempts`, `error_kind`, `error_message`).
    AttemptFailed = 1,
    /// `task` reached its final `status` (`done` of `total` tasks have ended).
    TaskFinished = 2,
    /// The run ended (`done`, `total`, `cancelled`); `task` is NULL.
    RunFinished = 3,
}

/// One event of a run, lent to the observer for the duration of its call. Fields that do not
/// apply to the event's kind are 0, false or NULL.
#[repr(C)]
pub struct Event {
    /// A `prc_event_kind`.
    pub kind: u32,
    /// The task's name.
    pub task: *const c_char,
    /// The attempt number, from 1.
    pub attempt: u32,
    /// How many attempts the task may make in all.
    pub max_attempts: u32,
    /// For `PRC_EVENT_KIND_TASK_FINISHED`, a `prc_task_status`.
    pub status: u32,
    /// Tasks ended so far.
    pub done: usize,
    /// Tasks in the run.
    pub total: usize,
    /// For `PRC_EVENT_KIND_RUN_FINISHED`, whether the run was cancelled.
    pub cancelled: bool,
    /// For `PRC_EVENT_KIND_ATTEMPT_FAILED`, the failure's kind.
    pub error_kind: *const c_char,
    /// For `PRC_EVENT_KIND_ATTEMPT_FAILED`, the failure's message.
    pub error_message: *const c_char,
    /// For `PRC_EVENT_KIND_ATTEMPT_FAILED`, the delay before the next attempt.
    pub retry_in_seconds: f64,
}

/// Receives a run's events. Called from whichever thread caused the event (pool threads, the
/// thread running a sequential run, or the host's thread in a host-driven run), possibly from
/// several at once. It must return quickly; it may call any function of this library except
/// that it must not free the run, the process or the options it observes.
pub type ObserverFn = Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const Event)>;

struct CObserver {
    function: unsafe extern "C" fn(*mut c_void, *const Event),
    user: UserData,
}

impl Observer for CObserver {
    fn on_event(&self, event: &CoreEvent<'_>) {
        let empty = std::ptr::null();
        let mut c = Event {
            kind: 0,
            task: empty,
            attempt: 0,
            max_attempts: 0,
            status: 0,
            done: 0,
            total: 0,
            cancelled: false,
            error_kind: empty,
            error_message: empty,
            retry_in_seconds: 0.0,
        };
        let task_name: CString;
        let (kind_text, message_text): (CString, CString);
        match event {
            CoreEvent::TaskStarted { task, attempt } => {
                task_name = c_string(task);
                c.kind = EventKind::TaskStarted as u32;
                c.attempt = *attempt;
            }
            CoreEvent::AttemptFailed {
                task,
                attempt,
                max_attempts,
                error,
                retry_in,
            } => {
                task_name = c_string(task);
                kind_text = c_string(error.kind.as_str());
                message_text = c_string(&error.message);
                c.kind = EventKind::AttemptFailed as u32;
                c.attempt = *attempt;
                c.max_attempts = *max_attempts;
                c.error_kind = kind_text.as_ptr();
                c.error_message = message_text.as_ptr();
                c.retry_in_seconds = retry_in.as_secs_f64();
            }
            CoreEvent::TaskFinished {
                task,
                status,
                done,
                total,
            } => {
                task_name = c_string(task);
                c.kind = EventKind::TaskFinished as u32;
                c.status = entry_status(*status) as u32;
                c.done = *done;
                c.total = *total;
            }
            CoreEvent::RunFinished {
                done,
                total,
                cancelled,
            } => {
                task_name = CString::default();
                c.kind = EventKind::RunFinished as u32;
                c.done = *done;
                c.total = *total;
                c.cancelled = *cancelled;
            }
        }
        if c.kind != EventKind::RunFinished as u32 {
            c.task = task_name.as_ptr();
        }
        // SAFETY: the host gave this function for this user data; `c` and the strings it
        // points to live until the call returns.
        unsafe { (self.function)(self.user.ptr, &c) };
    }
}

/// New run options with the defaults: parallel from 10 tasks up, 4 workers, no observer, no
/// cancellation token. Never NULL except when memory runs out.
#[no_mangle]
pub extern "C" fn prc_run_options_new() -> *mut OptionsHandle {
    ffi_boundary!(default: std::ptr::null_mut() => {
        Box::into_raw(Box::new(OptionsHandle {
            options: RunOptions::new(),
        }))
    })
}

/// Frees run options. NULL is ignored. Runs that started with them are not affected.
///
/// # Safety
///
/// `options` is NULL or live options not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn prc_run_options_free(options: *mut OptionsHandle) {
    ffi_boundary!(default: () => {
        if !options.is_null() {
            // SAFETY: made by Box::into_raw in prc_run_options_new and not freed yet.
            drop(unsafe { Box::from_raw(options) });
        }
    })
}

/// Changes run options.
///
/// # Safety
///
/// `options` is NULL or live options used by no other thread.
unsafe fn change(
    options: *mut OptionsHandle,
    error: *mut *mut ErrorHandle,
    body: impl FnOnce(&mut OptionsHandle) -> Checked,
) -> Status {
    ffi_boundary!(error: error => {
        // SAFETY: forwarded from the caller.
        let options = unsafe { borrow_mut(options, "options") }?;
        body(options)
    })
}

/// Forces a parallel (`true`) or sequential (`false`) run.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// `options` is NULL or live options.
#[no_mangle]
pub unsafe extern "C" fn prc_run_options_set_parallel(
    options: *mut OptionsHandle,
    parallel: bool,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(options, error, |o| {
            o.options = o.options.clone().parallel(parallel);
            Ok(())
        })
    }
}

fn at_least_one(field: &str, value: usize) -> Checked {
    if value == 0 {
        return Err(Failure::new(
            Status::InvalidArgument,
            format!("run option `{field}` must be at least 1"),
        ));
    }
    Ok(())
}

/// Sets the worker threads of a parallel run (1 means sequential); in a host-driven run, the
/// most tasks handed out and not yet completed.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_ARGUMENT` (0).
///
/// # Safety
///
/// `options` is NULL or live options.
#[no_mangle]
pub unsafe extern "C" fn prc_run_options_set_max_workers(
    options: *mut OptionsHandle,
    workers: usize,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(options, error, |o| {
            at_least_one("max_workers", workers)?;
            o.options = o.options.clone().max_workers(workers);
            Ok(())
        })
    }
}

/// In a host-driven run, the most tasks in flight, overriding `max_workers`.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_ARGUMENT` (0).
///
/// # Safety
///
/// `options` is NULL or live options.
#[no_mangle]
pub unsafe extern "C" fn prc_run_options_set_max_in_flight(
    options: *mut OptionsHandle,
    limit: usize,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(options, error, |o| {
            at_least_one("max_in_flight", limit)?;
            o.options = o.options.clone().max_in_flight(limit);
            Ok(())
        })
    }
}

/// Sends the run's events to `observer` with `user_data` (replacing an earlier observer).
/// `finalize` (may be NULL) is called with `user_data` exactly once, when these options and
/// every run that used them are gone; also before returning when this call fails.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` (`options` or `observer` NULL).
///
/// # Safety
///
/// `options` is NULL or live options; `observer` and `finalize` may be called from any
/// thread with `user_data`.
#[no_mangle]
pub unsafe extern "C" fn prc_run_options_set_observer(
    options: *mut OptionsHandle,
    observer: ObserverFn,
    user_data: *mut c_void,
    finalize: FinalizeFn,
    error: *mut *mut ErrorHandle,
) -> Status {
    let user = UserData::new(user_data, finalize);
    // SAFETY: forwarded from the caller.
    unsafe {
        change(options, error, |o| {
            let Some(function) = observer else {
                return Err(Failure::new(
                    Status::NullArgument,
                    "argument `observer` is NULL",
                ));
            };
            let observer: Arc<dyn Observer> = Arc::new(CObserver { function, user });
            o.options = o.options.clone().observer(observer);
            Ok(())
        })
    }
}

/// Cancels the run when `token` is cancelled (the options keep their own reference to it).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// `options` is NULL or live options; `token` NULL or a live token.
#[no_mangle]
pub unsafe extern "C" fn prc_run_options_set_cancel_token(
    options: *mut OptionsHandle,
    token: *const TokenHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(options, error, |o| {
            let token = borrow(token, "token")?.token.clone();
            o.options = o.options.clone().cancel_token(token);
            Ok(())
        })
    }
}

/// A new token, not cancelled. Never NULL except when memory runs out.
#[no_mangle]
pub extern "C" fn prc_cancel_token_new() -> *mut TokenHandle {
    ffi_boundary!(default: std::ptr::null_mut() => { TokenHandle::boxed(CancelToken::new()) })
}

/// Frees a token handle. NULL is ignored. Runs holding the token keep their own reference.
///
/// # Safety
///
/// `token` is NULL or a live token not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn prc_cancel_token_free(token: *mut TokenHandle) {
    ffi_boundary!(default: () => {
        if !token.is_null() {
            // SAFETY: made by Box::into_raw in this library and not freed yet.
            drop(unsafe { Box::from_raw(token) });
        }
    })
}

/// Cancels the token (idempotent), from any thread: a run holding it stops handing out tasks,
/// running attempts see their cancellation, and tasks not yet ended are reported cancelled.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// `token` is NULL or a live token.
#[no_mangle]
pub unsafe extern "C" fn prc_cancel_token_cancel(
    token: *const TokenHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        // SAFETY: forwarded from the caller.
        unsafe { borrow(token, "token") }?.token.cancel();
        Ok(())
    })
}

/// Whether the token (or the run or attempt it belongs to) was cancelled; false when `token`
/// is NULL.
///
/// # Safety
///
/// `token` is NULL or a live token.
#[no_mangle]
pub unsafe extern "C" fn prc_cancel_token_is_cancelled(token: *const TokenHandle) -> bool {
    ffi_boundary!(default: false => {
        // SAFETY: NULL or a live token, by the caller's promise.
        unsafe { token.as_ref() }.is_some_and(|t| t.token.is_cancelled())
    })
}
