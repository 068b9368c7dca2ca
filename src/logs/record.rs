//! The text of one record: `2026-12-03 18:47:36,123 - processes.<task> - INFO - <message>`.
//!
//! The date and time are local (through chrono). Working out the local date is the costly
//! part, so each thread keeps the text of the current second and only appends milliseconds;
//! a new second, including one where the UTC offset changes, is worked out afresh.

use std::cell::RefCell;
use std::fmt::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{Datelike, Local, TimeZone, Timelike};

use super::Level;

/// Records longer than this do not keep their buffer alive on the thread afterwards.
const KEEP_BUFFER: usize = 64 * 1024;

thread_local! {
    /// The second last stamped on this thread and its text, `YYYY-MM-DD HH:MM:SS`.
    static SECOND: RefCell<(i64, String)> = const { RefCell::new((i64::MIN, String::new())) };
    /// The buffer records are formatted into on this thread.
    static BUFFER: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Formats a record and hands its bytes to `sink`. Each thread reuses one buffer; a record
/// formatted while another is being formatted on the same thread (a `Display` that logs)
/// finds the buffer taken and starts an empty one.
pub(crate) fn with_record<R>(
    logger: &str,
    level: Level,
    message: fmt::Arguments<'_>,
    sink: impl FnOnce(&[u8]) -> R,
) -> R {
    let mut buffer = BUFFER
        .try_with(|cell| cell.try_borrow_mut().map(|mut b| std::mem::take(&mut *b)))
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    buffer.clear();
    format_into(&mut buffer, SystemTime::now(), logger, level, message);
    let result = sink(buffer.as_bytes());
    if buffer.capacity() <= KEEP_BUFFER {
        let _ = BUFFER.try_with(|cell| {
            if let Ok(mut slot) = cell.try_borrow_mut() {
                if slot.capacity() < buffer.capacity() {
                    *slot = buffer;
                }
            }
        });
    }
    result
}

/// Writes the record for `message` at `at` into `out`, ending with a newline.
pub(crate) fn format_into(
    out: &mut String,
    at: SystemTime,
    logger: &str,
    level: Level,
    message: fmt::Arguments<'_>,
) {
    stamp(out, at);
    out.push_str(" - ");
    out.push_str(logger);
    out.push_str(" - ");
    out.push_str(level.as_str());
    out.push_str(" - ");
    // A `Display` that fails leaves what it wrote so far; the record still ends cleanly.
    let _ = out.write_fmt(message);
    out.push('\n');
}

/// Appends `YYYY-MM-DD HH:MM:SS,mmm` in local time.
fn stamp(out: &mut String, at: SystemTime) {
    let since_epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let second = i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX);
    let cached = SECOND.try_with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.0 != second {
            cell.1.clear();
            local_second(&mut cell.1, second);
            cell.0 = second;
        }
        out.push_str(&cell.1);
    });
    if cached.is_err() {
        local_second(out, second);
    }
    let millis = since_epoch.subsec_millis();
    let _ = write!(out, ",{millis:03}");
}

fn local_second(out: &mut String, second: i64) {
    match Local.timestamp_opt(second, 0).earliest() {
        Some(t) => {
            let _ = write!(
                out,
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            );
        }
        None => out.push_str("0000-00-00 00:00:00"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn record_layout() {
        let at = UNIX_EPOCH + Duration::from_millis(1_764_787_656_007);
        let mut out = String::new();
        format_into(
            &mut out,
            at,
            "processes.load",
            Level::Warning,
            format_args!("x {}", 1),
        );
        let local = Local.timestamp_opt(1_764_787_656, 0).unwrap();
        let expected = format!(
            "{} - processes.load - WARNING - x 1\n",
            local.format("%Y-%m-%d %H:%M:%S,007")
        );
        assert_eq!(out, expected);
    }

    #[test]
    fn the_cached_second_follows_the_clock() {
        let mut first = String::new();
        let mut second = String::new();
        stamp(
            &mut first,
            UNIX_EPOCH + Duration::from_millis(1_000_000_999),
        );
        stamp(
            &mut second,
            UNIX_EPOCH + Duration::from_millis(1_000_001_000),
        );
        assert!(first.ends_with(",999"));
        assert!(second.ends_with(",000"));
        assert_ne!(first[..19], second[..19]);
    }

    #[test]
    fn nested_records_get_their_own_buffer() {
        struct Nested;
        impl fmt::Display for Nested {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let inner = with_record("processes.inner", Level::Info, format_args!("in"), |b| {
                    String::from_utf8_lossy(b).into_owned()
                });
                f.write_str(inner.trim_end())
            }
        }
        let outer = with_record(
            "processes.outer",
            Level::Info,
            format_args!("{Nested}"),
            |b| String::from_utf8_lossy(b).into_owned(),
        );
        assert!(outer.contains("processes.outer - INFO - "));
        assert!(outer.contains("processes.inner - INFO - in\n"));
    }
}
