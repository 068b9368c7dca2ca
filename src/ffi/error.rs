//! Statuses and error objects: how every fallible call reports what went wrong.

use std::ffi::{c_char, CString};

use super::boundary::{c_string, ffi_boundary};
use crate::{GraphError, RunError};

/// What a call came to. Values are fixed: new ones are only ever appended.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The call succeeded and wrote its outputs.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullArgument = 1,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 2,
    /// An argument was out of range (a negative timeout, an unknown enum value, ...).
    InvalidArgument = 3,
    /// The tasks do not form a valid graph (missing dependency, cycle, duplicate name, ...).
    InvalidGraph = 4,
    /// The process is running (or starting a run) and cannot be run again or changed now;
    /// also what a callback gets when it runs or changes its own process.
    Running = 5,
    /// The attempt was already completed; the later completion changed nothing.
    AlreadyCompleted = 6,
    /// The attempt timed out or its run was cancelled; the completion was discarded.
    Abandoned = 7,
    /// No task, argument or entry has that name.
    NotFound = 8,
    /// An index was past the end.
    OutOfRange = 9,
    /// The value does not hold the type asked for.
    WrongType = 10,
    /// The run has not finished yet, so there is no report.
    NotFinished = 11,
    /// Text given as JSON did not parse.
    InvalidJson = 12,
    /// A bug inside the library was caught at the boundary; the message says where.
    Panic = 13,
    /// A handle was used in a state that does not allow the call (a context after its
    /// callback, a completion handle taken twice, ...).
    WrongState = 14,
}

/// A failure's status and message. Owned by the caller, who frees it with `prc_error_free`;
/// it may be read and freed from any thread.
pub struct ErrorHandle {
    status: Status,
    message: CString,
}

impl ErrorHandle {
    pub(crate) fn new(status: Status, message: &str) -> ErrorHandle {
        ErrorHandle {
            status,
            message: c_string(message),
        }
    }

    #[cfg(test)]
    pub(crate) fn message_text(&self) -> String {
        self.message.to_string_lossy().into_owned()
    }
}

/// The status of a graph error.
pub(crate) fn graph_status(error: &GraphError) -> Status {
    match error {
        GraphError::Running { .. } => Status::Running,
        GraphError::UnknownTask { .. } => Status::NotFound,
        GraphError::InvalidOption { .. } => Status::InvalidArgument,
        _ => Status::InvalidGraph,
    }
}

/// The status of a run error.
pub(crate) fn run_status(error: &RunError) -> Status {
    match error {
        RunError::AlreadyRunning { .. } | RunError::Busy { .. } => Status::Running,
        RunError::AlreadyCompleted { .. } => Status::AlreadyCompleted,
        RunError::Abandoned { .. } => Status::Abandoned,
        RunError::ArgumentIndex { .. } => Status::OutOfRange,
        RunError::InvalidOption { .. } => Status::InvalidArgument,
        RunError::NotHosted { .. } => Status::WrongState,
    }
}

impl From<GraphError> for super::boundary::Failure {
    fn from(error: GraphError) -> Self {
        super::boundary::Failure::new(graph_status(&error), error.to_string())
    }
}

impl From<RunError> for super::boundary::Failure {
    fn from(error: RunError) -> Self {
        super::boundary::Failure::new(run_status(&error), error.to_string())
    }
}

/// The error's message: one line naming the task, the field and the reason. Borrowed from
/// `error`; NULL when `error` is NULL.
///
/// # Safety
///
/// `error` is NULL or a live error object.
#[no_mangle]
pub unsafe extern "C" fn prc_error_message(error: *const ErrorHandle) -> *const c_char {
    ffi_boundary!(default: std::ptr::null() => {
        // SAFETY: NULL or a live error object, by the caller's promise.
        match unsafe { error.as_ref() } {
            Some(error) => error.message.as_ptr(),
            None => std::ptr::null(),
        }
    })
}

/// The status the failing call returned; `PRC_STATUS_NULL_ARGUMENT` when `error` is NULL.
///
/// # Safety
///
/// `error` is NULL or a live error object.
#[no_mangle]
pub unsafe extern "C" fn prc_error_status(error: *const ErrorHandle) -> Status {
    ffi_boundary!(default: Status::Panic => {
        // SAFETY: NULL or a live error object, by the caller's promise.
        unsafe { error.as_ref() }.map_or(Status::NullArgument, |error| error.status)
    })
}

/// Frees an error object. NULL is ignored.
///
/// # Safety
///
/// `error` is NULL or an error object not yet freed.
#[no_mangle]
pub unsafe extern "C" fn prc_error_free(error: *mut ErrorHandle) {
    ffi_boundary!(default: () => {
        if !error.is_null() {
            // SAFETY: made by Box::into_raw in `conclude` and not freed yet.
            drop(unsafe { Box::from_raw(error) });
        }
    })
}

/// The name of a status (`"PRC_STATUS_OK"`, ...), static; `"PRC_STATUS_UNKNOWN"` for a value
/// this version does not know.
#[no_mangle]
pub extern "C" fn prc_status_name(status: u32) -> *const c_char {
    let name: &'static std::ffi::CStr = match status {
        0 => c"PRC_STATUS_OK",
        1 => c"PRC_STATUS_NULL_ARGUMENT",
        2 => c"PRC_STATUS_INVALID_UTF8",
        3 => c"PRC_STATUS_INVALID_ARGUMENT",
        4 => c"PRC_STATUS_INVALID_GRAPH",
        5 => c"PRC_STATUS_RUNNING",
        6 => c"PRC_STATUS_ALREADY_COMPLETED",
        7 => c"PRC_STATUS_ABANDONED",
        8 => c"PRC_STATUS_NOT_FOUND",
        9 => c"PRC_STATUS_OUT_OF_RANGE",
        10 => c"PRC_STATUS_WRONG_TYPE",
        11 => c"PRC_STATUS_NOT_FINISHED",
        12 => c"PRC_STATUS_INVALID_JSON",
        13 => c"PRC_STATUS_PANIC",
        14 => c"PRC_STATUS_WRONG_STATE",
        _ => c"PRC_STATUS_UNKNOWN",
    };
    name.as_ptr()
}
