//! Routing the library's own log records (the `log` crate) to a C callback, opt-in.
//!
//! The library never prints. A Rust host installs its own `log` logger; a C host calls
//! `prc_set_log_callback` once, and the library installs a process-wide logger that hands each
//! record at or above the chosen level to the callback. The callback can be replaced or
//! removed at any time; replacing it finalizes the previous user data once no record is being
//! delivered through it.

use std::ffi::{c_char, c_void};
use std::sync::{Arc, OnceLock, RwLock};

use super::boundary::{c_string, ffi_boundary, Failure};
use super::callback::{FinalizeFn, UserData};
use super::error::{ErrorHandle, Status};
use super::task::{level, LogLevel};
use crate::Level;

/// Receives one log record of the library: its level (a `prc_log_level`), its target (the
/// library module, e.g. `processes::channels`) and its message, both lent for the call. Called
/// on whichever thread logged, possibly several at once. It must not log through the library
/// itself or change the log callback.
pub type LogFn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        level: u32,
        target: *const c_char,
        message: *const c_char,
    ),
>;

struct Sink {
    function: unsafe extern "C" fn(*mut c_void, u32, *const c_char, *const c_char),
    user: UserData,
    min: Level,
}

struct CLogger {
    sink: RwLock<Option<Arc<Sink>>>,
}

static LOGGER: OnceLock<Result<&'static CLogger, String>> = OnceLock::new();

fn level_of(record: log::Level) -> (Level, LogLevel) {
    match record {
        log::Level::Error => (Level::Error, LogLevel::Error),
        log::Level::Warn => (Level::Warning, LogLevel::Warning),
        log::Level::Info => (Level::Info, LogLevel::Info),
        log::Level::Debug | log::Level::Trace => (Level::Debug, LogLevel::Debug),
    }
}

impl CLogger {
    fn current(&self) -> Option<Arc<Sink>> {
        self.sink.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl log::Log for CLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.current()
            .is_some_and(|sink| level_of(metadata.level()).0 >= sink.min)
    }

    fn log(&self, record: &log::Record<'_>) {
        let Some(sink) = self.current() else { return };
        let (core, c) = level_of(record.level());
        if core < sink.min {
            return;
        }
        let target = c_string(record.target());
        let message = c_string(&record.args().to_string());
        // SAFETY: the host gave this function for this user data; the strings live until the
        // call returns, and the Arc keeps the user data alive during it.
        unsafe { (sink.function)(sink.user.ptr, c as u32, target.as_ptr(), message.as_ptr()) };
    }

    fn flush(&self) {}
}

fn logger() -> Result<&'static CLogger, Failure> {
    let installed = LOGGER.get_or_init(|| {
        let logger: &'static CLogger = Box::leak(Box::new(CLogger {
            sink: RwLock::new(None),
        }));
        log::set_logger(logger)
            .map(|()| {
                log::set_max_level(log::LevelFilter::Trace);
                logger
            })
            .map_err(|_| String::from("another logger is already installed in this process"))
    });
    installed
        .as_ref()
        .copied()
        .map_err(|reason| Failure::new(Status::WrongState, format!("log callback: {reason}")))
}

/// Sends the library's log records at `min_level` (a `prc_log_level`) and above to
/// `callback` with `user_data`, replacing an earlier callback; NULL `callback` stops
/// delivery (and its `user_data` is finalized at once). `finalize` (may be NULL) is called with `user_data` once the callback is replaced
/// or removed and no record is being delivered through it; also before returning when this
/// call fails.
///
/// Returns `PRC_STATUS_INVALID_ARGUMENT` (level) or `PRC_STATUS_WRONG_STATE` (a Rust host
/// already installed its own `log` logger in this process).
///
/// # Safety
///
/// `callback` and `finalize` may be called from any thread with `user_data`.
#[no_mangle]
pub unsafe extern "C" fn prc_set_log_callback(
    callback: LogFn,
    user_data: *mut c_void,
    finalize: FinalizeFn,
    min_level: u32,
    error: *mut *mut ErrorHandle,
) -> Status {
    let user = UserData::new(user_data, finalize);
    ffi_boundary!(error: error => {
        let min = level(min_level, "argument `min_level`")?;
        let logger = logger()?;
        let sink = callback.map(|function| Arc::new(Sink { function, user, min }));
        let previous = {
            let mut slot = logger.sink.write().unwrap_or_else(|p| p.into_inner());
            std::mem::replace(&mut *slot, sink)
        };
        // The previous sink's user data is finalized when the last record using it is done.
        drop(previous);
        Ok(())
    })
}
