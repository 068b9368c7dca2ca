//! Reports: `prc_report` and its `prc_entry` lines.
//!
//! Strings and values read from a report are lent while the report lives. The C copies of an
//! entry's strings are made once, on the first call that reads an entry, so a run whose report
//! is only turned into JSON (or only counted) pays nothing for them.

use std::ffi::{c_char, CString};
use std::sync::OnceLock;

use super::boundary::{
    borrow, c_string, ffi_boundary, not_null, owned_string, text, write, Failure,
};
use super::error::{ErrorHandle, Status};
use super::value::ValueHandle;
use crate::{Entry, Report, Status as CoreStatus, Value};

/// The outcome of a run. Owned by the caller (`prc_report_free`); may be read from several
/// threads at once.
pub struct ReportHandle {
    report: Report,
    process_name: CString,
    started_at: CString,
    finished_at: CString,
    entries: OnceLock<Vec<EntryHandle>>,
}

/// One task's line in a report, lent while the report lives.
pub struct EntryHandle {
    name: CString,
    function: CString,
    status: TaskStatus,
    elapsed: f64,
    attempts: u32,
    started_at: Option<CString>,
    finished_at: CString,
    result: Option<Value>,
    error: Option<ErrorText>,
    skipped_because: Option<CString>,
    log_error: Option<CString>,
}

struct ErrorText {
    kind: CString,
    message: CString,
    traceback: Option<CString>,
    location: Option<CString>,
    traced: Vec<(CString, CString)>,
    downstream: Vec<CString>,
}

/// How a task ended. Values are fixed.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskStatus {
    /// The callback succeeded.
    Success = 0,
    /// Every attempt failed.
    Errored = 1,
    /// Not run because a dependency did not succeed.
    Skipped = 2,
    /// Not run, or interrupted, because the run was cancelled.
    Cancelled = 3,
}

/// How many entries of a report have each status.
#[repr(C)]
pub struct Counts {
    /// Entries that succeeded.
    pub success: usize,
    /// Entries that errored.
    pub errored: usize,
    /// Entries that were skipped.
    pub skipped: usize,
    /// Entries that were cancelled.
    pub cancelled: usize,
}

/// RFC 3339 in UTC with microseconds, as in the JSON report.
fn timestamp(at: std::time::SystemTime) -> String {
    let at: chrono::DateTime<chrono::Utc> = at.into();
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub(crate) fn entry_status(status: CoreStatus) -> TaskStatus {
    match status {
        CoreStatus::Success => TaskStatus::Success,
        CoreStatus::Errored => TaskStatus::Errored,
        CoreStatus::Skipped => TaskStatus::Skipped,
        CoreStatus::Cancelled => TaskStatus::Cancelled,
    }
}

impl ReportHandle {
    pub(crate) fn boxed(report: Report) -> *mut ReportHandle {
        Box::into_raw(Box::new(ReportHandle {
            process_name: c_string(report.process_name()),
            started_at: c_string(&timestamp(report.started_at())),
            finished_at: c_string(&timestamp(report.finished_at())),
            report,
            entries: OnceLock::new(),
        }))
    }

    pub(crate) fn report(&self) -> &Report {
        &self.report
    }

    fn entries(&self) -> &[EntryHandle] {
        self.entries.get_or_init(|| {
            self.report
                .entries()
                .map(|e| EntryHandle::new(&e))
                .collect()
        })
    }
}

impl EntryHandle {
    fn new(entry: &Entry<'_>) -> EntryHandle {
        let error = entry.error().map(|error| ErrorText {
            kind: c_string(error.kind().as_str()),
            message: c_string(error.message()),
            traceback: error.traceback().map(c_string),
            location: error.location().map(c_string),
            traced: error
                .traced_vars()
                .iter()
                .map(|v| (c_string(&v.name), c_string(&v.value)))
                .collect(),
            downstream: error.downstream().map(c_string).collect(),
        });
        EntryHandle {
            name: c_string(entry.name()),
            function: c_string(entry.function()),
            status: entry_status(entry.status()),
            elapsed: entry.elapsed().as_secs_f64(),
            attempts: entry.attempts(),
            started_at: entry.started_at().map(|at| c_string(&timestamp(at))),
            finished_at: c_string(&timestamp(entry.finished_at())),
            result: entry.result(),
            error,
            skipped_because: entry.skipped_because().map(c_string),
            log_error: entry.log_error().map(c_string),
        }
    }
}

fn lend(text: Option<&CString>) -> *const c_char {
    text.map_or(std::ptr::null(), |t| t.as_ptr())
}

/// Frees a report. NULL is ignored; entries, strings and values lent by it die with it.
///
/// # Safety
///
/// `report` is NULL or a report not yet freed and not in use on another thread.
#[no_mangle]
pub unsafe extern "C" fn prc_report_free(report: *mut ReportHandle) {
    ffi_boundary!(default: () => {
        if !report.is_null() {
            // SAFETY: made by Box::into_raw in ReportHandle::boxed and not freed yet.
            drop(unsafe { Box::from_raw(report) });
        }
    })
}

/// Reads a report field that cannot fail, with a default for NULL.
///
/// # Safety
///
/// `report` is NULL or a live report.
unsafe fn field<T>(
    report: *const ReportHandle,
    default: T,
    get: impl FnOnce(&ReportHandle) -> T,
) -> T {
    // SAFETY: NULL or a live report, by the caller's promise.
    match unsafe { report.as_ref() } {
        Some(report) => get(report),
        None => default,
    }
}

/// The process's name, lent; NULL when `report` is NULL.
///
/// # Safety
///
/// `report` is NULL or a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_report_process_name(report: *const ReportHandle) -> *const c_char {
    ffi_boundary!(default: std::ptr::null() => {
        // SAFETY: forwarded from the caller.
        unsafe { field(report, std::ptr::null(), |r| r.process_name.as_ptr()) }
    })
}

/// How many entries (tasks) the report has; 0 when `report` is NULL.
///
/// # Safety
///
/// `report` is NULL or a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_report_len(report: *const ReportHandle) -> usize {
    ffi_boundary!(default: 0 => {
        // SAFETY: forwarded from the caller.
        unsafe { field(report, 0, |r| r.report.len()) }
    })
}

/// Whether the run was cancelled; false when `report` is NULL.
///
/// # Safety
///
/// `report` is NULL or a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_report_was_cancelled(report: *const ReportHandle) -> bool {
    ffi_boundary!(default: false => {
        // SAFETY: forwarded from the caller.
        unsafe { field(report, false, |r| r.report.was_cancelled()) }
    })
}

/// How long the run took, in seconds; 0 when `report` is NULL.
///
/// # Safety
///
/// `report` is NULL or a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_report_elapsed_seconds(report: *const ReportHandle) -> f64 {
    ffi_boundary!(default: 0.0 => {
        // SAFETY: forwarded from the caller.
        unsafe { field(report, 0.0, |r| r.report.elapsed().as_secs_f64()) }
    })
}

/// When the run started (RFC 3339, UTC, microseconds), lent; NULL when `report` is NULL.
///
/// # Safety
///
/// `report` is NULL or a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_report_started_at(report: *const ReportHandle) -> *const c_char {
    ffi_boundary!(default: std::ptr::null() => {
        // SAFETY: forwarded from the caller.
        unsafe { field(report, std::ptr::null(), |r| r.started_at.as_ptr()) }
    })
}

/// When the run finished (RFC 3339, UTC, microseconds), lent; NULL when `report` is NULL.
///
/// # Safety
///
/// `report` is NULL or a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_report_finished_at(report: *const ReportHandle) -> *const c_char {
    ffi_boundary!(default: std::ptr::null() => {
        // SAFETY: forwarded from the caller.
        unsafe { field(report, std::ptr::null(), |r| r.finished_at.as_ptr()) }
    })
}

/// How many entries have each status.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// `report` is NULL or a live report; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_report_counts(
    report: *const ReportHandle,
    out: *mut Counts,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: forwarded from the caller.
        let counts = unsafe { borrow(report, "report") }?.report.counts();
        let counts = Counts {
            success: counts.success,
            errored: counts.errored,
            skipped: counts.skipped,
            cancelled: counts.cancelled,
        };
        // SAFETY: checked not NULL above.
        unsafe { write(out, counts) };
        Ok(())
    })
}

/// The entry at `position` in topological order, lent while `report` lives.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_OUT_OF_RANGE`.
///
/// # Safety
///
/// `report` is NULL or a live report; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_report_entry(
    report: *const ReportHandle,
    position: usize,
    out: *mut *const EntryHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: forwarded from the caller.
        let report = unsafe { borrow(report, "report") }?;
        let entries = report.entries();
        let entry = entries.get(position).ok_or_else(|| {
            Failure::new(
                Status::OutOfRange,
                format!(
                    "report of {:?}: entry {position} is out of range (it has {})",
                    report.report.process_name(),
                    entries.len()
                ),
            )
        })?;
        // SAFETY: checked not NULL above.
        unsafe { write(out, entry as *const EntryHandle) };
        Ok(())
    })
}

/// The entry of the task `name` (case-insensitive), lent while `report` lives.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`, `PRC_STATUS_INVALID_UTF8` or `PRC_STATUS_NOT_FOUND`.
///
/// # Safety
///
/// `report` is NULL or a live report; `name` NULL or NUL-terminated; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_report_find(
    report: *const ReportHandle,
    name: *const c_char,
    out: *mut *const EntryHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: forwarded from the caller.
        let (report, name) = unsafe { (borrow(report, "report")?, text(name, "name")?) };
        let wanted = crate::task::normalize(name);
        let entry = report
            .entries()
            .iter()
            .find(|e| e.name.to_bytes() == wanted.as_bytes())
            .ok_or_else(|| {
                Failure::new(
                    Status::NotFound,
                    format!(
                        "report of {:?}: no task named {name:?}",
                        report.report.process_name()
                    ),
                )
            })?;
        // SAFETY: checked not NULL above.
        unsafe { write(out, entry as *const EntryHandle) };
        Ok(())
    })
}

/// The report as JSON text (indented when `pretty`), newly allocated (`prc_string_free`).
/// The schema is the one the README documents for every front end.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// `report` is NULL or a live report; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_report_to_json(
    report: *const ReportHandle,
    pretty: bool,
    out: *mut *mut c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: forwarded from the caller.
        let report = &unsafe { borrow(report, "report") }?.report;
        let json = if pretty { report.to_json_pretty() } else { report.to_json() };
        // SAFETY: checked not NULL above.
        unsafe { write(out, owned_string(&json)) };
        Ok(())
    })
}

/// Reads an entry field that cannot fail, with a default for NULL.
///
/// # Safety
///
/// `entry` is NULL or a live entry.
unsafe fn entry_field<T>(
    entry: *const EntryHandle,
    default: T,
    get: impl FnOnce(&EntryHandle) -> T,
) -> T {
    // SAFETY: NULL or a live entry, by the caller's promise.
    match unsafe { entry.as_ref() } {
        Some(entry) => get(entry),
        None => default,
    }
}

/// Reads a text field of an entry, NULL for a NULL entry.
///
/// # Safety
///
/// `entry` is NULL or an entry of a live report.
unsafe fn entry_text(
    entry: *const EntryHandle,
    get: impl FnOnce(&EntryHandle) -> *const c_char,
) -> *const c_char {
    // SAFETY: forwarded from the caller.
    unsafe { entry_field(entry, std::ptr::null(), get) }
}

/// The task's name (lowercase), lent; NULL when `entry` is NULL.
///
/// # Safety
///
/// `entry` is NULL or an entry of a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_entry_name(entry: *const EntryHandle) -> *const c_char {
    // SAFETY: forwarded from the caller.
    ffi_boundary!(default: std::ptr::null() => { unsafe { entry_text(entry, |e| e.name.as_ptr()) } })
}

/// The function label, lent; NULL when `entry` is NULL.
///
/// # Safety
///
/// `entry` is NULL or an entry of a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_entry_function(entry: *const EntryHandle) -> *const c_char {
    // SAFETY: forwarded from the caller.
    ffi_boundary!(default: std::ptr::null() => { unsafe { entry_text(entry, |e| e.function.as_ptr()) } })
}

/// When the first attempt started (RFC 3339), lent; NULL if the task never started.
///
/// # Safety
///
/// `entry` is NULL or an entry of a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_entry_started_at(entry: *const EntryHandle) -> *const c_char {
    // SAFETY: forwarded from the caller.
    ffi_boundary!(default: std::ptr::null() => { unsafe { entry_text(entry, |e| lend(e.started_at.as_ref())) } })
}

/// When the task ended (RFC 3339; for skipped and cancelled tasks, when that was
/// decided), lent; NULL when `entry` is NULL.
///
/// # Safety
///
/// `entry` is NULL or an entry of a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_entry_finished_at(entry: *const EntryHandle) -> *const c_char {
    // SAFETY: forwarded from the caller.
    ffi_boundary!(default: std::ptr::null() => { unsafe { entry_text(entry, |e| e.finished_at.as_ptr()) } })
}

/// For a skipped task, the dependency that did not succeed, lent; NULL otherwise.
///
/// # Safety
///
/// `entry` is NULL or an entry of a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_entry_skipped_because(entry: *const EntryHandle) -> *const c_char {
    // SAFETY: forwarded from the caller.
    ffi_boundary!(default: std::ptr::null() => { unsafe { entry_text(entry, |e| lend(e.skipped_because.as_ref())) } })
}

/// A problem writing the task's log file, lent; NULL if none.
///
/// # Safety
///
/// `entry` is NULL or an entry of a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_entry_log_error(entry: *const EntryHandle) -> *const c_char {
    // SAFETY: forwarded from the caller.
    ffi_boundary!(default: std::ptr::null() => { unsafe { entry_text(entry, |e| lend(e.log_error.as_ref())) } })
}

/// For an errored task, the failure's kind (`"error"`, `"timeout"`, ...), lent; NULL
/// otherwise.
///
/// # Safety
///
/// `entry` is NULL or an entry of a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_entry_error_kind(entry: *const EntryHandle) -> *const c_char {
    // SAFETY: forwarded from the caller.
    ffi_boundary!(default: std::ptr::null() => { unsafe { entry_text(entry, |e| lend(e.error.as_ref().map(|x| &x.kind))) } })
}

/// For an errored task, the failure's message, lent; NULL otherwise.
///
/// # Safety
///
/// `entry` is NULL or an entry of a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_entry_error_message(entry: *const EntryHandle) -> *const c_char {
    // SAFETY: forwarded from the caller.
    ffi_boundary!(default: std::ptr::null() => { unsafe { entry_text(entry, |e| lend(e.error.as_ref().map(|x| &x.message))) } })
}

/// For an errored task, the traceback text if one was captured, lent; NULL otherwise.
///
/// # Safety
///
/// `entry` is NULL or an entry of a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_entry_error_traceback(entry: *const EntryHandle) -> *const c_char {
    // SAFETY: forwarded from the caller.
    ffi_boundary!(default: std::ptr::null() => { unsafe { entry_text(entry, |e| lend(e.error.as_ref().and_then(|x| x.traceback.as_ref()))) } })
}

/// For an errored task, where its traced variables were recorded (`file:line`), lent;
/// NULL if unknown.
///
/// # Safety
///
/// `entry` is NULL or an entry of a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_entry_error_location(entry: *const EntryHandle) -> *const c_char {
    // SAFETY: forwarded from the caller.
    ffi_boundary!(default: std::ptr::null() => { unsafe { entry_text(entry, |e| lend(e.error.as_ref().and_then(|x| x.location.as_ref()))) } })
}

/// How the task ended; `PRC_TASK_STATUS_CANCELLED` when `entry` is NULL.
///
/// # Safety
///
/// `entry` is NULL or an entry of a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_entry_status(entry: *const EntryHandle) -> TaskStatus {
    ffi_boundary!(default: TaskStatus::Cancelled => {
        // SAFETY: forwarded from the caller.
        unsafe { entry_field(entry, TaskStatus::Cancelled, |e| e.status) }
    })
}

/// Seconds from the first attempt's start to the task's end; 0 for a task that never started
/// or when `entry` is NULL.
///
/// # Safety
///
/// `entry` is NULL or an entry of a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_entry_elapsed_seconds(entry: *const EntryHandle) -> f64 {
    ffi_boundary!(default: 0.0 => {
        // SAFETY: forwarded from the caller.
        unsafe { entry_field(entry, 0.0, |e| e.elapsed) }
    })
}

/// How many attempts started; 0 when `entry` is NULL.
///
/// # Safety
///
/// `entry` is NULL or an entry of a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_entry_attempts(entry: *const EntryHandle) -> u32 {
    ffi_boundary!(default: 0 => {
        // SAFETY: forwarded from the caller.
        unsafe { entry_field(entry, 0, |e| e.attempts) }
    })
}

/// The result of a task that succeeded, lent while the report lives; NULL otherwise.
///
/// # Safety
///
/// `entry` is NULL or an entry of a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_entry_result(entry: *const EntryHandle) -> *const ValueHandle {
    ffi_boundary!(default: std::ptr::null() => {
        // SAFETY: forwarded from the caller.
        unsafe {
            entry_field(entry, std::ptr::null(), |e| {
                e.result.as_ref().map_or(std::ptr::null(), ValueHandle::lend)
            })
        }
    })
}

/// How many variables the failing attempt traced; 0 for a task that did not error.
///
/// # Safety
///
/// `entry` is NULL or an entry of a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_entry_traced_var_count(entry: *const EntryHandle) -> usize {
    ffi_boundary!(default: 0 => {
        // SAFETY: forwarded from the caller.
        unsafe { entry_field(entry, 0, |e| e.error.as_ref().map_or(0, |x| x.traced.len())) }
    })
}

/// The traced variable at `index`: its name and display text, lent.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_OUT_OF_RANGE`.
///
/// # Safety
///
/// `entry` is NULL or an entry of a live report; `name` and `value` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_entry_traced_var(
    entry: *const EntryHandle,
    index: usize,
    name: *mut *const c_char,
    value: *mut *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(name, "name")?;
        not_null(value, "value")?;
        // SAFETY: forwarded from the caller.
        let entry = unsafe { borrow(entry, "entry") }?;
        let traced = entry.error.as_ref().map_or(&[][..], |x| &x.traced[..]);
        let (n, v) = traced.get(index).ok_or_else(|| {
            super::context::out_of_range(
                &entry.name.to_string_lossy(),
                "traced variable",
                index,
                traced.len(),
            )
        })?;
        // SAFETY: both checked not NULL above.
        unsafe {
            write(name, n.as_ptr());
            write(value, v.as_ptr());
        }
        Ok(())
    })
}

/// How many tasks this failure took down (skipped because of it); 0 for a task that did not
/// error.
///
/// # Safety
///
/// `entry` is NULL or an entry of a live report.
#[no_mangle]
pub unsafe extern "C" fn prc_entry_downstream_count(entry: *const EntryHandle) -> usize {
    ffi_boundary!(default: 0 => {
        // SAFETY: forwarded from the caller.
        unsafe { entry_field(entry, 0, |e| e.error.as_ref().map_or(0, |x| x.downstream.len())) }
    })
}

/// The name of the downstream task at `index` (topological order), lent.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_OUT_OF_RANGE`.
///
/// # Safety
///
/// `entry` is NULL or an entry of a live report; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_entry_downstream(
    entry: *const EntryHandle,
    index: usize,
    out: *mut *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: forwarded from the caller.
        let entry = unsafe { borrow(entry, "entry") }?;
        let downstream = entry.error.as_ref().map_or(&[][..], |x| &x.downstream[..]);
        let name = downstream.get(index).ok_or_else(|| {
            super::context::out_of_range(
                &entry.name.to_string_lossy(),
                "downstream task",
                index,
                downstream.len(),
            )
        })?;
        // SAFETY: checked not NULL above.
        unsafe { write(out, name.as_ptr()) };
        Ok(())
    })
}
