//! Tasks: a callback with its arguments, dependencies and options, as `prc_task` builders.

use std::cell::RefCell;
use std::ffi::{c_char, c_void};
use std::sync::Arc;

use super::boundary::{
    borrow, borrow_mut, ffi_boundary, not_null, optional_text, seconds, text, write, Checked,
    Failure,
};
use super::callback::{FinalizeFn, UserData};
use super::context::ContextHandle;
use super::error::{ErrorHandle, Status};
use super::value::{value_arg, ValueHandle};
use crate::{
    Backoff, Callback, Dependency, ErrorKind, Level, Outcome, Task, TaskContext, TaskError,
};

/// A task being declared. Owned by the caller (`prc_task_free`); used by one thread at a time.
/// Adding it to a builder or a process copies it, so it may be changed and added again.
pub struct TaskHandle {
    task: Task,
    /// The name as C reads it; a task's name never changes.
    name: std::ffi::CString,
}

/// A task's body. Called on a pool thread (or the thread that called `prc_process_run` for a
/// sequential run), possibly for several tasks at once when tasks share a callback. It reads
/// its arguments and settles the attempt through `context`, which is valid only during the
/// call and only on that thread, and returns a `prc_outcome`. It may call any function of this
/// library, including on its own process: calls that would deadlock (running the process
/// again, changing it) return `PRC_STATUS_RUNNING` instead.
pub type TaskFn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, context: *mut ContextHandle) -> u32>;

/// What a task callback returns. Values are fixed.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskOutcome {
    /// Success; the result is the value given to `prc_context_set_result` (null if none).
    Success = 0,
    /// Failure; the error is the one given to `prc_context_fail` (a generic one if none).
    Failure = 1,
    /// The attempt goes on elsewhere: the callback took a completion handle with
    /// `prc_context_completion` and settles the attempt through it later, from any thread.
    Pending = 2,
}

/// How a dependency's result reaches the dependent task. Values are fixed.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Injection {
    /// Order only: the result is not passed.
    None = 0,
    /// Appended to the positional arguments.
    Positional = 1,
    /// Passed as the named argument `arg_name`.
    Named = 2,
    /// Both appended and passed as `arg_name`.
    Both = 3,
}

/// When a task may run given how its dependencies ended. Values are fixed.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TriggerRule {
    /// Every dependency succeeded (the default); otherwise the task is skipped.
    AllSuccess = 0,
    /// Every dependency ended, whatever the outcome.
    AllDone = 1,
}

/// Severity of a task log record, lowest first. Values are fixed.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    /// Detail for whoever debugs the task.
    Debug = 0,
    /// Normal progress (the default threshold).
    Info = 1,
    /// Something unexpected that the task survived.
    Warning = 2,
    /// A failure.
    Error = 3,
}

/// A log level from C.
pub(crate) fn level(value: u32, field: &str) -> Checked<Level> {
    const DEBUG: u32 = LogLevel::Debug as u32;
    const INFO: u32 = LogLevel::Info as u32;
    const WARNING: u32 = LogLevel::Warning as u32;
    const ERROR: u32 = LogLevel::Error as u32;
    match value {
        DEBUG => Ok(Level::Debug),
        INFO => Ok(Level::Info),
        WARNING => Ok(Level::Warning),
        ERROR => Ok(Level::Error),
        other => Err(Failure::new(
            Status::InvalidArgument,
            format!("{field}: {other} is not a prc_log_level (0 to 3)"),
        )),
    }
}

/// A dependency from C; `task` names the dependent, for messages.
pub(crate) fn dependency(
    task: &str,
    on: &str,
    injection: u32,
    arg_name: Option<&str>,
) -> Checked<Dependency> {
    let named = || {
        arg_name.filter(|name| !name.is_empty()).ok_or_else(|| {
            Failure::new(
                Status::InvalidArgument,
                format!(
                    "task {task:?}: dependency {on:?} injects a named argument but field \
                     `arg_name` is NULL or empty"
                ),
            )
        })
    };
    const NONE: u32 = Injection::None as u32;
    const POSITIONAL: u32 = Injection::Positional as u32;
    const NAMED: u32 = Injection::Named as u32;
    const BOTH: u32 = Injection::Both as u32;
    match injection {
        NONE => Ok(Dependency::on(on)),
        POSITIONAL => Ok(Dependency::positional(on)),
        NAMED => Ok(Dependency::named(on, named()?)),
        BOTH => Ok(Dependency::both(on, named()?)),
        other => Err(Failure::new(
            Status::InvalidArgument,
            format!(
                "task {task:?}: dependency {on:?}: field `injection` is {other}, not a \
                 prc_injection (0 to 3)"
            ),
        )),
    }
}

impl TaskHandle {
    pub(crate) fn task(&self) -> &Task {
        &self.task
    }

    fn update(&mut self, change: impl FnOnce(Task) -> Task) {
        // Moved out and back rather than cloned: a task declared with a hundred thousand
        // dependencies must not copy its list on each new one.
        let placeholder = Task::with_callback("", self.task.callback.clone());
        let task = std::mem::replace(&mut self.task, placeholder);
        self.task = change(task);
    }

    fn invalid(&self, field: &str, reason: impl std::fmt::Display) -> Failure {
        Failure::new(
            Status::InvalidArgument,
            format!("task {:?}: field `{field}` {reason}", self.task.name()),
        )
    }
}

/// The core callback that calls a C task function.
fn trampoline(function: TaskFn, user_data: *mut c_void, finalize: FinalizeFn) -> Callback {
    // Tasks declared one after another with the same function and user data and no finalizer
    // (a graph of many tasks with one body) share one callback: the sharing cannot be seen,
    // and it saves two allocations and a cold pointer chase per task.
    let key = (function.map_or(0, |f| f as usize), user_data as usize);
    if finalize.is_none() && function.is_some() {
        // `try_with`: this runs before the panic boundary, and a thread being torn down has
        // no thread-locals left.
        let shared = LAST_CALLBACK.try_with(|last| match &*last.borrow() {
            Some((cached, callback)) if *cached == key => Some(callback.clone()),
            _ => None,
        });
        if let Ok(Some(callback)) = shared {
            return callback;
        }
    }
    let callback = make_trampoline(function, user_data, finalize);
    if finalize.is_none() && function.is_some() {
        let _ = LAST_CALLBACK.try_with(|last| *last.borrow_mut() = Some((key, callback.clone())));
    }
    callback
}

thread_local! {
    /// The last callback `trampoline` made on this thread without a finalizer, by function
    /// and user data.
    static LAST_CALLBACK: RefCell<Option<((usize, usize), Callback)>> = const { RefCell::new(None) };
}

fn make_trampoline(function: TaskFn, user_data: *mut c_void, finalize: FinalizeFn) -> Callback {
    let user = Arc::new(UserData::new(user_data, finalize));
    let Some(function) = function else {
        return Arc::new(move |ctx: &TaskContext<'_>| {
            let _keep = &user;
            Outcome::failure(TaskError::new(format!(
                "task {:?} has no callback (it was declared for host-driven runs only)",
                ctx.name()
            )))
        });
    };
    Arc::new(move |ctx: &TaskContext<'_>| {
        let mut handle = ContextHandle::new(ctx);
        // SAFETY: the host gave this function and pointer together; the context lives on this
        // stack frame for the whole call.
        let code = unsafe { function(user.ptr, &mut handle) };
        handle.outcome(code)
    })
}

/// Declares a task named `name` (compared case-insensitively, stored lowercase) whose body is
/// `callback`, called with `user_data`. `callback` may be NULL for a task that only ever runs
/// host-driven (a callback run then fails it). `finalize` (may be NULL) is called with
/// `user_data` exactly once, when the task and every copy of it (in builders, processes,
/// reports and running attempts) are gone, on whichever thread lets go last; it is also
/// called, before returning, when this call fails.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_UTF8`. The name itself is
/// checked when the task joins a process.
///
/// # Safety
///
/// `name` is NULL or NUL-terminated; `callback` and `finalize` may be called from any thread
/// with `user_data`.
#[no_mangle]
pub unsafe extern "C" fn prc_task_new(
    name: *const c_char,
    callback: TaskFn,
    user_data: *mut c_void,
    finalize: FinalizeFn,
    out: *mut *mut TaskHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    // Take charge of the user data first, so that every failure path finalizes it.
    let callback = trampoline(callback, user_data, finalize);
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: NULL or NUL-terminated, by the caller's promise.
        let name = unsafe { text(name, "name") }?;
        let task = Task::with_callback(name, callback);
        let handle = TaskHandle {
            name: super::boundary::c_string(task.name()),
            task,
        };
        // SAFETY: checked not NULL above.
        unsafe { write(out, Box::into_raw(Box::new(handle))) };
        Ok(())
    })
}

/// Frees a task handle. NULL is ignored. Copies already added elsewhere live on.
///
/// # Safety
///
/// `task` is NULL or a task handle not yet freed and not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn prc_task_free(task: *mut TaskHandle) {
    ffi_boundary!(default: () => {
        if !task.is_null() {
            // SAFETY: made by Box::into_raw in prc_task_new and not freed yet.
            drop(unsafe { Box::from_raw(task) });
        }
    })
}

/// The task's name (lowercase), lent while `task` lives; NULL when `task` is NULL.
///
/// # Safety
///
/// `task` is NULL or a live task handle.
#[no_mangle]
pub unsafe extern "C" fn prc_task_name(task: *const TaskHandle) -> *const c_char {
    ffi_boundary!(default: std::ptr::null() => {
        // SAFETY: NULL or a live task handle, by the caller's promise.
        unsafe { task.as_ref() }.map_or(std::ptr::null(), |task| task.name.as_ptr())
    })
}

/// Changes a task handle.
///
/// # Safety
///
/// `task` is NULL or a live task handle used by no other thread.
unsafe fn change(
    task: *mut TaskHandle,
    error: *mut *mut ErrorHandle,
    body: impl FnOnce(&mut TaskHandle) -> Checked,
) -> Status {
    ffi_boundary!(error: error => {
        // SAFETY: forwarded from the caller.
        let task = unsafe { borrow_mut(task, "task") }?;
        body(task)
    })
}

/// Appends a static positional argument (copied).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// `task` and `value` are NULL or live handles.
#[no_mangle]
pub unsafe extern "C" fn prc_task_add_arg(
    task: *mut TaskHandle,
    value: *const ValueHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(task, error, |task| {
            let value = value_arg(value, "value")?;
            task.update(|t| t.arg(value));
            Ok(())
        })
    }
}

/// Sets a static named argument (copied), replacing one of the same name.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`, `PRC_STATUS_INVALID_UTF8` or
/// `PRC_STATUS_INVALID_ARGUMENT` (empty name).
///
/// # Safety
///
/// `task` and `value` are NULL or live handles; `name` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_task_set_kwarg(
    task: *mut TaskHandle,
    name: *const c_char,
    value: *const ValueHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(task, error, |task| {
            let name = text(name, "name")?;
            let value = value_arg(value, "value")?;
            if name.is_empty() {
                return Err(task.invalid("kwargs", "has an argument with an empty name"));
            }
            task.update(|t| t.kwarg(name, value));
            Ok(())
        })
    }
}

/// Makes the task wait for the task named `on`. `injection` is a `prc_injection`;
/// `arg_name` names the argument for `PRC_INJECTION_NAMED` and `PRC_INJECTION_BOTH` and is
/// ignored (may be NULL) otherwise. Whether `on` exists is checked when the process is built.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`, `PRC_STATUS_INVALID_UTF8` or
/// `PRC_STATUS_INVALID_ARGUMENT` (unknown injection, missing argument name).
///
/// # Safety
///
/// `task` is NULL or a live handle; `on` and `arg_name` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_task_add_dependency(
    task: *mut TaskHandle,
    on: *const c_char,
    injection: u32,
    arg_name: *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(task, error, |task| {
            let on = text(on, "on")?;
            let arg_name = optional_text(arg_name, "arg_name")?;
            let dependency = dependency(task.task.name(), on, injection, arg_name)?;
            task.update(|t| t.dependency(dependency));
            Ok(())
        })
    }
}

/// Fails an attempt with kind `"timeout"` when it runs longer than `seconds` (> 0).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `task` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn prc_task_set_timeout(
    task: *mut TaskHandle,
    seconds: f64,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(task, error, |task| {
            let name = task.task.name().to_owned();
            let timeout = self::seconds(seconds, || format!("task {name:?}: field `timeout`"))?;
            if timeout.is_zero() {
                return Err(task.invalid("timeout", "must be more than 0 seconds"));
            }
            task.update(|t| t.timeout(timeout));
            Ok(())
        })
    }
}

/// Allows `retries` extra attempts after a failure whose kind passes the retry filter
/// (default filter: `"timeout"` and `"connection"`).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// `task` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn prc_task_set_retries(
    task: *mut TaskHandle,
    retries: u32,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(task, error, |task| {
            task.update(|t| t.retries(retries));
            Ok(())
        })
    }
}

/// Retries only failures whose kind is one of the `count` names in `kinds` (`"error"`,
/// `"timeout"`, `"connection"`, `"panic"` or a kind of the host's own). `count` 0 retries
/// nothing.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` (also for a NULL entry) or `PRC_STATUS_INVALID_UTF8`.
///
/// # Safety
///
/// `task` is NULL or a live handle; `kinds` points to `count` NUL-terminated strings (or is
/// NULL with `count` 0).
#[no_mangle]
pub unsafe extern "C" fn prc_task_set_retry_on(
    task: *mut TaskHandle,
    kinds: *const *const c_char,
    count: usize,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(task, error, |task| {
            let mut parsed = Vec::with_capacity(count);
            if count > 0 {
                not_null(kinds, "kinds")?;
                for i in 0..count {
                    let kind = text(*kinds.add(i), &format!("kinds[{i}]"))?;
                    parsed.push(ErrorKind::from_name(kind));
                }
            }
            task.update(|t| t.retry_on(parsed));
            Ok(())
        })
    }
}

/// Retries at once (the default).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// `task` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn prc_task_set_backoff_none(
    task: *mut TaskHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(task, error, |task| {
            task.update(|t| t.backoff(Backoff::None));
            Ok(())
        })
    }
}

/// Waits `delay` seconds (>= 0) before every retry.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `task` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn prc_task_set_backoff_fixed(
    task: *mut TaskHandle,
    delay: f64,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(task, error, |task| {
            let name = task.task.name().to_owned();
            let delay = seconds(delay, || format!("task {name:?}: field `backoff.delay`"))?;
            task.update(|t| t.backoff(Backoff::Fixed(delay)));
            Ok(())
        })
    }
}

/// Waits `initial * factor^(retry - 1)` seconds before retry number `retry`, at most `max`,
/// with up to `jitter` (0 to 1) of the delay taken off at random.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `task` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn prc_task_set_backoff_exponential(
    task: *mut TaskHandle,
    initial: f64,
    factor: f64,
    max: f64,
    jitter: f64,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(task, error, |task| {
            let name = task.task.name().to_owned();
            let field = |f: &str| format!("task {name:?}: field `backoff.{f}`");
            let initial = seconds(initial, || field("initial"))?;
            let max = seconds(max, || field("max"))?;
            if !(factor.is_finite() && factor >= 1.0) {
                return Err(task.invalid("backoff.factor", format!("must be >= 1, got {factor}")));
            }
            if !(0.0..=1.0).contains(&jitter) {
                return Err(task.invalid("backoff.jitter", format!("must be 0 to 1, got {jitter}")));
            }
            let backoff = Backoff::Exponential {
                initial,
                factor,
                max,
                jitter,
            };
            task.update(|t| t.backoff(backoff));
            Ok(())
        })
    }
}

/// Sets when the task may run; `rule` is a `prc_trigger_rule`.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `task` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn prc_task_set_trigger_rule(
    task: *mut TaskHandle,
    rule: u32,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(task, error, |task| {
            const ALL_SUCCESS: u32 = TriggerRule::AllSuccess as u32;
            const ALL_DONE: u32 = TriggerRule::AllDone as u32;
            let rule = match rule {
                ALL_SUCCESS => crate::TriggerRule::AllSuccess,
                ALL_DONE => crate::TriggerRule::AllDone,
                other => {
                    return Err(task.invalid(
                        "trigger_rule",
                        format!("is {other}, not a prc_trigger_rule (0 or 1)"),
                    ))
                }
            };
            task.update(|t| t.trigger(rule));
            Ok(())
        })
    }
}

/// Sets the function label shown in reports and logs (default: the task's name).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_UTF8`.
///
/// # Safety
///
/// `task` is NULL or a live handle; `label` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_task_set_function(
    task: *mut TaskHandle,
    label: *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(task, error, |task| {
            let label = text(label, "label")?;
            task.update(|t| t.function(label));
            Ok(())
        })
    }
}

/// Picks where traced variables are said to come from: the innermost frame whose file or
/// symbol contains `filter`.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_UTF8`.
///
/// # Safety
///
/// `task` is NULL or a live handle; `filter` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_task_set_frame_filter(
    task: *mut TaskHandle,
    filter: *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(task, error, |task| {
            let filter = text(filter, "filter")?;
            task.update(|t| t.frame_filter(filter));
            Ok(())
        })
    }
}

/// Writes the task's log records to the file at `path`; tasks naming the same file share it.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`, `PRC_STATUS_INVALID_UTF8` or
/// `PRC_STATUS_INVALID_ARGUMENT` (empty path).
///
/// # Safety
///
/// `task` is NULL or a live handle; `path` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_task_set_log_file(
    task: *mut TaskHandle,
    path: *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(task, error, |task| {
            let path = text(path, "path")?;
            if path.is_empty() {
                return Err(task.invalid("log_file", "is empty"));
            }
            task.update(|t| t.log_file(path));
            Ok(())
        })
    }
}

/// Sets the lowest level written to the task's log; `level` is a `prc_log_level`.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `task` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn prc_task_set_log_level(
    task: *mut TaskHandle,
    level: u32,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(task, error, |task| {
            let name = task.task.name().to_owned();
            let level = self::level(level, &format!("task {name:?}: field `log_level`"))?;
            task.update(|t| t.log_level(level));
            Ok(())
        })
    }
}

/// A task handle from a `const prc_task *` argument.
///
/// # Safety
///
/// `ptr` is NULL or a live task handle.
pub(crate) unsafe fn task_arg<'a>(ptr: *const TaskHandle) -> Checked<&'a Task> {
    // SAFETY: forwarded from the caller.
    Ok(unsafe { borrow(ptr, "task") }?.task())
}
