//! Processes: `prc_process_builder` gathers tasks in any order, `prc_process` is the
//! validated graph that runs and can be changed between runs.
//!
//! A process handle wraps the core process in a read-write lock. Runs and reads take the read
//! side; changes only ever *try* the write side, so a change never waits for a run: it is
//! refused with `PRC_STATUS_RUNNING`. That is what keeps a callback that changes its own
//! process from deadlocking. A read that finds a change in progress waits for it; that wait is
//! short and cannot involve the calling thread, since no thread holds the write side while
//! calling back into C.

use std::ffi::{c_char, CString};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};

use super::boundary::{
    borrow, borrow_mut, c_string, ffi_boundary, not_null, optional_text, owned_string, text, write,
    Checked, Failure,
};
use super::error::{ErrorHandle, Status};
use super::hosted::HostedHandle;
use super::report::ReportHandle;
use super::run::OptionsHandle;
use super::task::{dependency, task_arg, TaskHandle};
use crate::{Process, RunOptions, Task};

/// Tasks gathered before a process is built. Owned by the caller
/// (`prc_process_builder_free`); used by one thread at a time.
pub struct BuilderHandle {
    name: String,
    tasks: Vec<Task>,
}

/// A validated process. Owned by the caller (`prc_process_free`, never while a call on it is
/// under way). May be used from several threads at once: runs and reads share it, a change
/// made while a run is under way is refused with `PRC_STATUS_RUNNING`.
pub struct ProcessHandle {
    process: RwLock<Process>,
    /// Blocking runs under way, so that a refused change can say why.
    runs: AtomicUsize,
    /// The name as C reads it; a process's name never changes.
    name: CString,
}

/// Counts a blocking run for as long as it lasts, however it ends.
struct Running<'a>(&'a AtomicUsize);

impl<'a> Running<'a> {
    fn start(runs: &'a AtomicUsize) -> Running<'a> {
        runs.fetch_add(1, Ordering::AcqRel);
        Running(runs)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ProcessHandle {
    fn read(&self) -> RwLockReadGuard<'_, Process> {
        // A try first: a callback reading its own running process already holds the read
        // side, and a blocking read could wait behind a writer.
        match self.process.try_read() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(TryLockError::WouldBlock) => self
                .process
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        }
    }

    fn write(&self) -> Checked<RwLockWriteGuard<'_, Process>> {
        loop {
            match self.process.try_write() {
                Ok(guard) => return Ok(guard),
                Err(TryLockError::Poisoned(poisoned)) => return Ok(poisoned.into_inner()),
                Err(TryLockError::WouldBlock) => {
                    if self.runs.load(Ordering::Acquire) > 0 {
                        return Err(Failure::new(
                            Status::Running,
                            format!(
                                "process {:?}: cannot be changed while it runs",
                                self.name.to_string_lossy()
                            ),
                        ));
                    }
                    // Only a short read (a name, a count) holds it: try again.
                    std::thread::yield_now();
                }
            }
        }
    }
}

/// A new builder for a process named `name`.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_UTF8`.
///
/// # Safety
///
/// `name` is NULL or NUL-terminated; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_process_builder_new(
    name: *const c_char,
    out: *mut *mut BuilderHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: NULL or NUL-terminated, by the caller's promise.
        let name = unsafe { text(name, "name") }?;
        let builder = BuilderHandle {
            name: name.to_owned(),
            tasks: Vec::new(),
        };
        // SAFETY: checked not NULL above.
        unsafe { write(out, Box::into_raw(Box::new(builder))) };
        Ok(())
    })
}

/// Frees a builder. NULL is ignored.
///
/// # Safety
///
/// `builder` is NULL or a builder not yet freed and not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn prc_process_builder_free(builder: *mut BuilderHandle) {
    ffi_boundary!(default: () => {
        if !builder.is_null() {
            // SAFETY: made by Box::into_raw in prc_process_builder_new and not freed yet.
            drop(unsafe { Box::from_raw(builder) });
        }
    })
}

/// Adds a copy of `task` to the builder; tasks may come in any order. Nothing is checked
/// until `prc_process_build`.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// `builder` and `task` are NULL or live handles.
#[no_mangle]
pub unsafe extern "C" fn prc_process_builder_add_task(
    builder: *mut BuilderHandle,
    task: *const TaskHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        // SAFETY: NULL or live handles, by the caller's promise.
        let (builder, task) = unsafe { (borrow_mut(builder, "builder")?, task_arg(task)?) };
        builder.tasks.push(task.clone());
        Ok(())
    })
}

/// Validates the builder's tasks and orders them into a new process, owned by the caller.
/// The builder is left as it was (it may be built again, or freed).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_GRAPH` (empty or invalid name,
/// duplicate, missing dependency, cycle, ...; the message names the task(s), the field and
/// the reason).
///
/// # Safety
///
/// `builder` is NULL or a live builder; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_process_build(
    builder: *const BuilderHandle,
    out: *mut *mut ProcessHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: NULL or a live builder, by the caller's promise.
        let builder = unsafe { borrow(builder, "builder") }?;
        let process = Process::new(&builder.name, builder.tasks.iter().cloned())?;
        let handle = ProcessHandle {
            name: c_string(process.name()),
            process: RwLock::new(process),
            runs: AtomicUsize::new(0),
        };
        // SAFETY: checked not NULL above.
        unsafe { write(out, Box::into_raw(Box::new(handle))) };
        Ok(())
    })
}

/// Frees a process. NULL is ignored. Reports and host-driven runs made from it live on.
///
/// # Safety
///
/// `process` is NULL or a process not yet freed, with no call on it under way (in particular,
/// never from inside one of its callbacks).
#[no_mangle]
pub unsafe extern "C" fn prc_process_free(process: *mut ProcessHandle) {
    ffi_boundary!(default: () => {
        if !process.is_null() {
            // SAFETY: made by Box::into_raw in prc_process_build and not freed yet.
            drop(unsafe { Box::from_raw(process) });
        }
    })
}

/// The process's name, lent while `process` lives; NULL when `process` is NULL.
///
/// # Safety
///
/// `process` is NULL or a live process.
#[no_mangle]
pub unsafe extern "C" fn prc_process_name(process: *const ProcessHandle) -> *const c_char {
    ffi_boundary!(default: std::ptr::null() => {
        // SAFETY: NULL or a live process, by the caller's promise.
        unsafe { process.as_ref() }.map_or(std::ptr::null(), |p| p.name.as_ptr())
    })
}

/// How many tasks the process has; 0 when `process` is NULL.
///
/// # Safety
///
/// `process` is NULL or a live process.
#[no_mangle]
pub unsafe extern "C" fn prc_process_len(process: *const ProcessHandle) -> usize {
    ffi_boundary!(default: 0 => {
        // SAFETY: NULL or a live process, by the caller's promise.
        unsafe { process.as_ref() }.map_or(0, |p| p.read().len())
    })
}

/// Whether a run of the process (blocking or host-driven) is under way; false when `process`
/// is NULL.
///
/// # Safety
///
/// `process` is NULL or a live process.
#[no_mangle]
pub unsafe extern "C" fn prc_process_is_running(process: *const ProcessHandle) -> bool {
    ffi_boundary!(default: false => {
        // SAFETY: NULL or a live process, by the caller's promise.
        unsafe { process.as_ref() }.is_some_and(|p| p.read().is_running())
    })
}

/// The name of the task at `position` in the order a sequential run starts them
/// (topological, ties broken by insertion order), newly allocated (`prc_string_free`).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_OUT_OF_RANGE`.
///
/// # Safety
///
/// `process` is NULL or a live process; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_process_order_at(
    process: *const ProcessHandle,
    position: usize,
    out: *mut *mut c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: NULL or a live process, by the caller's promise.
        let process = unsafe { borrow(process, "process") }?.read();
        let len = process.len();
        let name = process.order().nth(position).ok_or_else(|| {
            Failure::new(
                Status::OutOfRange,
                format!(
                    "process {:?}: position {position} is out of range (it has {len} tasks)",
                    process.name()
                ),
            )
        })?;
        // SAFETY: checked not NULL above.
        unsafe { write(out, owned_string(name)) };
        Ok(())
    })
}

/// Adds a copy of `task`, whose dependencies must already be in the process; on failure the
/// process is unchanged.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`, `PRC_STATUS_INVALID_GRAPH` or `PRC_STATUS_RUNNING`.
///
/// # Safety
///
/// `process` and `task` are NULL or live handles.
#[no_mangle]
pub unsafe extern "C" fn prc_process_add_task(
    process: *const ProcessHandle,
    task: *const TaskHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        // SAFETY: NULL or live handles, by the caller's promise.
        let (process, task) = unsafe { (borrow(process, "process")?, task_arg(task)?) };
        process.write()?.add_task(task.clone())?;
        Ok(())
    })
}

/// Removes the task `name`; refused while other tasks depend on it.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`, `PRC_STATUS_INVALID_UTF8`, `PRC_STATUS_NOT_FOUND`,
/// `PRC_STATUS_INVALID_GRAPH` (it has dependents) or `PRC_STATUS_RUNNING`.
///
/// # Safety
///
/// `process` is NULL or a live process; `name` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_process_remove_task(
    process: *const ProcessHandle,
    name: *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        // SAFETY: NULL or live, by the caller's promise.
        let (process, name) = unsafe { (borrow(process, "process")?, text(name, "name")?) };
        process.write()?.remove_task(name)?;
        Ok(())
    })
}

/// Makes task `task` wait for task `on` (see `prc_task_add_dependency`); on failure the
/// process is unchanged.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`, `PRC_STATUS_INVALID_UTF8`,
/// `PRC_STATUS_INVALID_ARGUMENT`, `PRC_STATUS_NOT_FOUND`, `PRC_STATUS_INVALID_GRAPH` (cycle,
/// duplicate, ...) or `PRC_STATUS_RUNNING`.
///
/// # Safety
///
/// `process` is NULL or a live process; the strings NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_process_add_dependency(
    process: *const ProcessHandle,
    task: *const c_char,
    on: *const c_char,
    injection: u32,
    arg_name: *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        // SAFETY: NULL or live, by the caller's promise.
        let (process, task, on, arg_name) = unsafe {
            (
                borrow(process, "process")?,
                text(task, "task")?,
                text(on, "on")?,
                optional_text(arg_name, "arg_name")?,
            )
        };
        let dependency = dependency(task, on, injection, arg_name)?;
        process.write()?.add_dependency(task, dependency)?;
        Ok(())
    })
}

/// The options behind a `const prc_run_options *` argument; NULL means the defaults.
///
/// # Safety
///
/// `options` is NULL or live options.
unsafe fn options_arg(options: *const OptionsHandle) -> RunOptions {
    // SAFETY: NULL or live options, by the caller's promise.
    unsafe { options.as_ref() }.map_or_else(RunOptions::new, |o| o.options.clone())
}

/// Runs every task, calling their callbacks, and returns the report (owned by the caller,
/// `prc_report_free`). Blocks until every task ended or the run was cancelled through the
/// options' token. `options` may be NULL for the defaults.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`, `PRC_STATUS_INVALID_ARGUMENT` (options) or
/// `PRC_STATUS_RUNNING` (a run of this process is under way, e.g. when called from one of its
/// own callbacks).
///
/// # Safety
///
/// `process` is NULL or a live process; `options` NULL or live; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_process_run(
    process: *const ProcessHandle,
    options: *const OptionsHandle,
    out: *mut *mut ReportHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: NULL or live handles, by the caller's promise.
        let (handle, options) = unsafe { (borrow(process, "process")?, options_arg(options)) };
        let process = handle.read();
        let running = Running::start(&handle.runs);
        let report = process.run(options);
        drop(running);
        let report = ReportHandle::boxed(report?);
        // SAFETY: checked not NULL above.
        unsafe { write(out, report) };
        Ok(())
    })
}

/// Starts a run that the host drives (see `prc_hosted_run`): no callback is ever called. The
/// run is owned by the caller (`prc_hosted_run_free`) and does not borrow the process: the
/// process may be freed first. `options` may be NULL for the defaults.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`, `PRC_STATUS_INVALID_ARGUMENT` or
/// `PRC_STATUS_RUNNING`.
///
/// # Safety
///
/// `process` is NULL or a live process; `options` NULL or live; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_process_start_hosted(
    process: *const ProcessHandle,
    options: *const OptionsHandle,
    out: *mut *mut HostedHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: NULL or live handles, by the caller's promise.
        let (handle, options) = unsafe { (borrow(process, "process")?, options_arg(options)) };
        let run = handle.read().start_hosted(options)?;
        // SAFETY: checked not NULL above.
        unsafe { write(out, HostedHandle::boxed(run)) };
        Ok(())
    })
}
