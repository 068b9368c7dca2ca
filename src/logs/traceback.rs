//! Tracebacks of failing callbacks and the location of their traced variables.
//!
//! While a callback executes, its thread is marked (a thread-local state word). On that
//! thread, creating a [`TaskError`] or panicking captures the thread's backtrace at that very
//! point and stashes it; when the callback returns a failure, the engine takes the stash and
//! keeps its text as the traceback, unless the callback supplied a traceback of its own. The
//! panic hook is installed once, chained to the hook found then: panics outside callbacks
//! (the host's own) go to that hook untouched; panics inside callbacks become task failures and
//! are not printed.
//!
//! Tracebacks are read as text, line by line, so native backtraces and the ones SDKs supply
//! (a JS stack, a Go panic stack) are searched the same way: the traced-variables location is
//! the innermost frame outside this library, the Rust runtime (std, core, alloc, rayon,
//! backtrace machinery) and the language runtimes, or the innermost frame whose file or symbol
//! contains the task's frame filter.

use std::backtrace::Backtrace;
use std::cell::{Cell, RefCell};
use std::panic;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::TaskError;
use crate::task::Outcome;

/// Set while a callback executes on this thread.
const ACTIVE: u8 = 1;
/// Set when [`STASH`] holds a backtrace captured during the current callback.
const STASHED: u8 = 2;
/// Set when the callback panicked: the panic is the failure point, and errors created while
/// unwinding or when the engine turns the panic into a failure do not replace its backtrace.
const PANICKED: u8 = 4;

thread_local! {
    static STATE: Cell<u8> = const { Cell::new(0) };
    static STASH: RefCell<Option<Backtrace>> = const { RefCell::new(None) };
}

static HOOK_INSTALLED: AtomicBool = AtomicBool::new(false);

/// Installs the panic hook that captures backtraces of panicking callbacks, once per process.
pub(crate) fn install_panic_hook() {
    if HOOK_INSTALLED.load(Ordering::Acquire) || std::thread::panicking() {
        return;
    }
    if HOOK_INSTALLED.swap(true, Ordering::AcqRel) {
        return;
    }
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info| {
        if in_callback() {
            log::debug!("a task callback panicked: {info}");
            stash(Backtrace::force_capture(), PANICKED);
        } else {
            previous(info);
        }
    }));
}

fn in_callback() -> bool {
    STATE.try_with(|s| s.get() & ACTIVE != 0).unwrap_or(false)
}

fn stash(backtrace: Backtrace, flags: u8) {
    let _ = STASH.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = Some(backtrace);
            STATE.with(|s| s.set(s.get() | STASHED | flags));
        }
    });
}

/// Called whenever a [`TaskError`] is created: inside a callback, this is the failure point
/// (the last error created wins, unless the callback panicked).
pub(crate) fn note_failure() {
    let state = STATE.try_with(Cell::get).unwrap_or(0);
    if state & ACTIVE != 0 && state & PANICKED == 0 {
        stash(Backtrace::force_capture(), 0);
    }
}

/// Marks this thread as executing a callback from [`Watch::start`] to [`Watch::end`], and
/// restores what an enclosing callback (a run nested inside a callback) had.
///
/// There is no `Drop`: the engine catches every panic of the callback, so `end` always runs,
/// and a callback that succeeds costs two thread-local accesses.
pub(crate) struct Watch {
    outer: u8,
    /// What an enclosing callback had stashed, put back when this one ends.
    outer_stash: Option<Box<Backtrace>>,
}

impl Watch {
    /// Starts watching the callback about to be called on this thread.
    #[inline]
    pub(crate) fn start() -> Watch {
        let outer = STATE.with(|s| s.replace(ACTIVE));
        let outer_stash = if outer & STASHED != 0 {
            take_stash().map(Box::new)
        } else {
            None
        };
        Watch { outer, outer_stash }
    }

    /// Goes on watching the next callback of a chain run on this thread, once the one before
    /// succeeded: whatever that one stashed (an error it made and dropped, a panic it caught
    /// itself) is let go, as [`Watch::end`] followed by [`Watch::start`] would.
    #[inline]
    pub(crate) fn next_callback(&self) {
        let stale = STATE.with(|s| {
            let stale = s.get() != ACTIVE;
            if stale {
                s.set(ACTIVE);
            }
            stale
        });
        if stale {
            drop(take_stash());
        }
    }

    /// Ends the watch; a failed `outcome` gets the backtrace captured at its failure point,
    /// unless it has a traceback already.
    #[inline]
    pub(crate) fn end(self, outcome: &mut Outcome) {
        let mine = STATE.with(|s| s.replace(self.outer));
        if mine & STASHED != 0 || self.outer_stash.is_some() {
            let failure = match outcome {
                Outcome::Failure(error) => Some(&mut **error),
                _ => None,
            };
            self.end_slowly(mine, failure);
        }
    }

    #[cold]
    #[inline(never)]
    fn end_slowly(self, mine: u8, failure: Option<&mut TaskError>) {
        let captured = if mine & STASHED != 0 {
            take_stash()
        } else {
            None
        };
        if let (Some(error), Some(backtrace)) = (failure, captured) {
            if error.traceback.is_none() {
                error.traceback = trim_native(&backtrace.to_string());
            }
        }
        if let Some(outer) = self.outer_stash {
            let _ = STASH.try_with(|slot| *slot.borrow_mut() = Some(*outer));
        }
    }
}

fn take_stash() -> Option<Backtrace> {
    STASH
        .try_with(|slot| slot.try_borrow_mut().ok().and_then(|mut s| s.take()))
        .ok()
        .flatten()
}

/// Sets `error`'s location from its traceback when it has none: the innermost frame matching
/// `filter` if one does, otherwise the innermost frame outside the runtimes.
pub(crate) fn locate(error: &mut TaskError, filter: Option<&str>) {
    if error.location.is_some() {
        return;
    }
    if let Some(text) = &error.traceback {
        error.location = location(text, filter);
    }
}

/// The `file:line` of the frame picked from `text` (see [`locate`]).
pub(crate) fn location(text: &str, filter: Option<&str>) -> Option<String> {
    let frames = frames(text);
    let placed = || frames.iter().filter_map(|f| Some((f, f.file?, f.line?)));
    let picked = filter
        .filter(|filter| !filter.is_empty())
        .and_then(|filter| {
            placed().find(|(f, file, _)| f.symbol.contains(filter) || file.contains(filter))
        })
        .or_else(|| placed().find(|(f, _, _)| !f.is_runtime()));
    picked.map(|(_, file, line)| format!("{file}:{line}"))
}

/// One frame of a traceback, innermost first.
#[derive(Debug, PartialEq)]
struct Frame<'a> {
    symbol: &'a str,
    file: Option<&'a str>,
    line: Option<&'a str>,
    /// The first line of the text that belongs to the frame.
    starts_at: usize,
}

/// Splits traceback text into frames. Understands the layouts of Rust (`N: symbol` then
/// `at file:line:col`), JS (`at symbol (file:line:col)`), Go (`pkg.fn(...)` then
/// `<tab>file:line +0x..`) and lines ending in `file:line` (C and C++ stack dumps).
fn frames(text: &str) -> Vec<Frame<'_>> {
    let mut frames: Vec<Frame<'_>> = Vec::new();
    for (number, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        // The last frame may still take a location from a continuation line.
        let open = frames.last().is_some_and(|f| f.file.is_none());
        if let Some(rest) = line.strip_prefix("at ") {
            if let Some((symbol, place)) = rest.strip_suffix(')').and_then(|r| r.rsplit_once(" ("))
            {
                frames.push(Frame::at(symbol, split_location(place), number));
            } else if let (true, Some(place)) = (open, split_location(rest)) {
                if let Some(frame) = frames.last_mut() {
                    frame.place(place);
                }
            } else {
                frames.push(Frame::at("", split_location(rest), number));
            }
            continue;
        }
        if open && raw.starts_with('\t') {
            let first = line.split_whitespace().next().unwrap_or("");
            if let Some(place) = split_location(first) {
                if let Some(frame) = frames.last_mut() {
                    frame.place(place);
                }
                continue;
            }
        }
        let symbol = strip_frame_number(line);
        let tail = symbol.rsplit(char::is_whitespace).next().unwrap_or("");
        let place = split_location(tail).filter(|(file, _)| file.contains(['/', '.']));
        frames.push(Frame::at(symbol, place, number));
    }
    frames
}

impl<'a> Frame<'a> {
    fn at(symbol: &'a str, place: Option<(&'a str, &'a str)>, starts_at: usize) -> Frame<'a> {
        Frame {
            symbol,
            file: place.map(|p| p.0),
            line: place.map(|p| p.1),
            starts_at,
        }
    }

    fn place(&mut self, (file, line): (&'a str, &'a str)) {
        self.file = Some(file);
        self.line = Some(line);
    }

    /// Whether the frame belongs to this library, the Rust runtime or a language runtime.
    fn is_runtime(&self) -> bool {
        let symbol = self.symbol.trim_start_matches('<');
        if symbol.is_empty() && self.file.is_none() {
            return true;
        }
        RUNTIME_SYMBOLS.iter().any(|p| symbol.starts_with(p))
            || RUNTIME_EXACT.contains(&symbol)
            || self.file.is_some_and(|file| {
                file.starts_with(OUR_SOURCES) || RUNTIME_FILES.iter().any(|p| file.contains(p))
            })
    }
}

/// Symbol prefixes of frames that are never the user's code.
const RUNTIME_SYMBOLS: &[&str] = &[
    "processes::",
    "std::",
    "core::",
    "alloc::",
    "__rust",
    "rust_begin_unwind",
    "rust_panic",
    "backtrace::",
    "rayon::",
    "rayon_core::",
    "test::",
    "unknown>",
    "__libc_start",
    // Go
    "runtime.",
    "runtime/",
    "panic(",
    "_cgo_",
    "crosscall",
    "goroutine ",
    // Node and V8
    "node::",
    "v8::",
    "uv_",
    "Builtins_",
    "process.processTicksAndRejections",
    "new Promise",
    "Promise.",
    // foreign-call glue
    "ffi_call",
    "koffi::",
];

/// Symbols of C library frames at the bottom of every thread.
const RUNTIME_EXACT: &[&str] = &[
    "_start",
    "start_thread",
    "clone",
    "clone3",
    "__clone",
    "__clone3",
];

/// File fragments of frames that are never the user's code.
const RUNTIME_FILES: &[&str] = &[
    "/rustc/",
    "/library/std/",
    "/library/core/",
    "/library/alloc/",
    "/rayon-core-",
    "/rayon-1.",
    "/backtrace-",
    "node:internal",
    "node:",
    "/go/src/runtime/",
    "/koffi/",
];

/// This library's own source folder, as recorded in its debug information.
const OUR_SOURCES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/");

/// `"12: symbol"` to `"symbol"`; `"#3 symbol"` to `"symbol"`.
fn strip_frame_number(line: &str) -> &str {
    let rest = line.strip_prefix('#').unwrap_or(line);
    let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits == 0 {
        return line;
    }
    let rest = &rest[digits..];
    rest.strip_prefix(':').unwrap_or(rest).trim_start()
}

/// `file:line`, `file:line:col`, or `file:line +0x1d` to `(file, line)`.
fn split_location(text: &str) -> Option<(&str, &str)> {
    let text = text.split_whitespace().next()?;
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (head, last) = text.rsplit_once(':')?;
    if !numeric(last) {
        return None;
    }
    let (file, line) = match head.rsplit_once(':') {
        Some((file, line)) if numeric(line) => (file, line),
        _ => (head, last),
    };
    (!file.is_empty()).then_some((file, line))
}

/// Frames from which down a native backtrace only shows how the engine called the callback.
const ENGINE_SYMBOLS: &[&str] = &["processes::run::", "processes::task::"];

/// A captured native backtrace without the frames that only show how it was captured (the
/// capture and panic machinery, this library's constructors) and without the engine frames
/// below the callback. `None` when no frame is the user's: the error was made by this library
/// after the callback returned (a callback answering `Err("text")`), and its frames would only
/// mislead.
fn trim_native(text: &str) -> Option<String> {
    let frames = frames(text);
    // The callback's frames lie above the engine's; below them is whoever started the run.
    let engine = frames
        .iter()
        .position(|f| ENGINE_SYMBOLS.iter().any(|e| f.symbol.contains(e)));
    let above = &frames[..engine.unwrap_or(frames.len())];
    let first = above.iter().position(|f| !f.is_runtime())?;
    let start = frames[first].starts_at;
    let end = engine.map_or(usize::MAX, |at| frames[at].starts_at);
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(n, _)| (start..end).contains(n))
        .map(|(_, line)| line)
        .collect();
    Some(kept.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUST: &str = "   0: std::backtrace::Backtrace::force_capture
             at /rustc/abc/library/std/src/backtrace.rs:312:13
   1: processes::logs::traceback::note_failure
             at /work/processes/src/logs/traceback.rs:60:9
   2: app::vendor::check
             at ./src/vendor.rs:12:9
      app::helper::apply
             at ./src/helper.rs:30:5
   3: app::helper::settle
             at ./src/helper.rs:20:5
   4: processes::run::engine::invoke
             at /work/processes/src/run/engine.rs:700:5
   5: std::rt::lang_start
             at /rustc/abc/library/std/src/rt.rs:1:1";

    #[test]
    fn rust_frames_including_inlined_ones() {
        let frames = frames(RUST);
        assert_eq!(frames.len(), 7);
        assert_eq!(frames[3].symbol, "app::helper::apply");
        assert_eq!(frames[3].file, Some("./src/helper.rs"));
        assert_eq!(frames[3].line, Some("30"));
    }

    #[test]
    fn innermost_user_frame_or_filtered_frame() {
        assert_eq!(location(RUST, None).as_deref(), Some("./src/vendor.rs:12"));
        assert_eq!(
            location(RUST, Some("helper.rs")).as_deref(),
            Some("./src/helper.rs:30")
        );
        assert_eq!(
            location(RUST, Some("helper::settle")).as_deref(),
            Some("./src/helper.rs:20")
        );
        assert_eq!(
            location(RUST, Some("nowhere")).as_deref(),
            Some("./src/vendor.rs:12")
        );
    }

    #[test]
    fn native_text_is_trimmed_to_the_callback() {
        let trimmed = trim_native(RUST).unwrap();
        assert!(trimmed.starts_with("   2: app::vendor::check"));
        assert!(trimmed.trim_end().ends_with("./src/helper.rs:20:5"));
        let ours =
            "   0: processes::error::TaskError::new\n             at /x/src/error.rs:1:1\n   \
                    1: processes::task::Task::new::{{closure}}\n   2: host::main";
        assert_eq!(trim_native(ours), None);
    }

    #[test]
    fn js_stack() {
        let text = "Error: boom
    at inner (/app/lib/db.js:10:5)
    at /app/src/jobs.js:20:3
    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)";
        assert_eq!(location(text, None).as_deref(), Some("/app/lib/db.js:10"));
        assert_eq!(
            location(text, Some("src/jobs")).as_deref(),
            Some("/app/src/jobs.js:20")
        );
    }

    #[test]
    fn go_stack() {
        let text = "goroutine 7 [running]:
runtime/debug.Stack()
\t/usr/local/go/src/runtime/debug/stack.go:26 +0x5e
main.load(0x1)
\t/app/load.go:14 +0x25
main.main.func1()
\t/app/main.go:30 +0x1d";
        assert_eq!(location(text, None).as_deref(), Some("/app/load.go:14"));
        assert_eq!(
            location(text, Some("main.main")).as_deref(),
            Some("/app/main.go:30")
        );
    }

    #[test]
    fn a_supplied_location_is_kept() {
        let mut error = TaskError::new("x").traceback(RUST).location("given.rs:1");
        locate(&mut error, Some("helper"));
        assert_eq!(error.location.as_deref(), Some("given.rs:1"));
        let mut error = TaskError::new("x").traceback(RUST);
        locate(&mut error, Some("helper"));
        assert_eq!(error.location.as_deref(), Some("./src/helper.rs:30"));
    }

    #[test]
    fn locations() {
        assert_eq!(split_location("a.rs:1:2"), Some(("a.rs", "1")));
        assert_eq!(split_location("/x/a.go:14 +0x25"), Some(("/x/a.go", "14")));
        assert_eq!(
            split_location("file:///a.js:3:4"),
            Some(("file:///a.js", "3"))
        );
        assert_eq!(split_location("std::rt::lang_start"), None);
        assert_eq!(split_location(":12"), None);
    }
}
