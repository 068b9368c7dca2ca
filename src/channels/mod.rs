//! Report channels: where a finished [`Report`] goes once the run is over.
//!
//! A channel is anything that implements [`Channel`]. Three come with the library: a styled
//! HTML email over SMTP ([`EmailChannel`]), a signed JSON webhook ([`WebhookChannel`]) and an
//! HTML file ([`HtmlFileChannel`]). [`Report::notify`] hands the report to a list of channels,
//! in order, after applying the filters of [`NotifyOptions`], and returns what happened to each
//! one: a failing channel never stops the ones after it.
//!
//! ```no_run
//! use processes::channels::{Channel, HtmlFileChannel, NotifyOptions, WebhookChannel};
//! # fn demo(report: &processes::Report) -> Result<(), Box<dyn std::error::Error>> {
//! let file = HtmlFileChannel::builder("target/report.html").palette("slate").build()?;
//! let hook = WebhookChannel::builder("https://alerts.example.com/hook").secret("s3cret").build()?;
//! let channels: [&dyn Channel; 2] = [&file, &hook];
//! for outcome in report.notify(&channels, &NotifyOptions::new().only_errors(true))? {
//!     println!("{outcome}");
//! }
//! # Ok(())
//! # }
//! ```

mod email;
mod error;
mod file;
mod html;
mod webhook;

use std::collections::HashSet;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::report::{Counts, Entry, Report, Status};

pub use email::{EmailBuilder, EmailChannel, Security};
pub use error::{ChannelError, ConfigError, NotifyError};
pub use file::{HtmlFileBuilder, HtmlFileChannel};
pub use html::{render, Language, Palette, Rendered, Style};
pub use webhook::{
    WebhookBuilder, WebhookChannel, SIGNATURE_HEADER, TIMESTAMPED_SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
};

/// Somewhere a report can be sent. Implement it to add your own channel.
///
/// `send` may block (network, disk); [`Report::notify`] calls channels one after the other on
/// the calling thread.
pub trait Channel {
    /// A short label for logs, such as `email to smtp.example.com:587`.
    fn describe(&self) -> String;

    /// Sends what `delivery` selected. Called only when the selection is not empty.
    fn send(&self, delivery: &Delivery<'_>) -> Result<(), ChannelError>;
}

/// Filters applied before a report is sent. The filters compose: with both set, only the
/// errored entries among the named tasks are sent.
#[derive(Clone, Debug, Default)]
pub struct NotifyOptions {
    only_errors: bool,
    tasks: Option<Vec<String>>,
}

impl NotifyOptions {
    /// No filter: every entry is sent.
    pub fn new() -> NotifyOptions {
        NotifyOptions::default()
    }

    /// Sends only errored entries; when none is left, nothing is sent and every channel is
    /// [`ChannelOutcome::Skipped`]. The email subject uses its errors-only variant.
    pub fn only_errors(mut self, only_errors: bool) -> NotifyOptions {
        self.only_errors = only_errors;
        self
    }

    /// Sends only the entries of these tasks (names compared case-insensitively). Every name
    /// must be a task of the report.
    pub fn tasks<I, S>(mut self, names: I) -> NotifyOptions
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tasks = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Whether only errored entries are sent.
    pub fn is_only_errors(&self) -> bool {
        self.only_errors
    }

    /// The task filter, if one is set.
    pub fn task_names(&self) -> Option<&[String]> {
        self.tasks.as_deref()
    }
}

/// What a channel is asked to send: the report and the entries the filters kept.
pub struct Delivery<'r> {
    report: &'r Report,
    entries: Vec<Entry<'r>>,
    counts: Counts,
    only_errors: bool,
}

impl<'r> Delivery<'r> {
    /// Applies `options` to `report`. Fails when the task filter names a task the report
    /// does not have.
    pub fn new(report: &'r Report, options: &NotifyOptions) -> Result<Delivery<'r>, NotifyError> {
        let wanted = match &options.tasks {
            None => None,
            Some(names) => {
                let mut wanted = HashSet::with_capacity(names.len());
                for name in names {
                    let entry = report.entry(name).ok_or_else(|| NotifyError::UnknownTask {
                        process: report.process_name().to_owned(),
                        task: name.clone(),
                    })?;
                    wanted.insert(entry.name());
                }
                Some(wanted)
            }
        };

        let mut counts = Counts::default();
        let mut entries = Vec::new();
        for entry in report.entries() {
            if wanted.as_ref().is_some_and(|w| !w.contains(entry.name())) {
                continue;
            }
            match entry.status() {
                Status::Success => counts.success += 1,
                Status::Errored => counts.errored += 1,
                Status::Skipped => counts.skipped += 1,
                Status::Cancelled => counts.cancelled += 1,
            }
            if !options.only_errors || entry.status() == Status::Errored {
                entries.push(entry);
            }
        }

        Ok(Delivery {
            report,
            entries,
            counts,
            only_errors: options.only_errors,
        })
    }

    /// Every entry of `report`, unfiltered.
    pub fn all(report: &'r Report) -> Delivery<'r> {
        Delivery {
            report,
            entries: report.entries().collect(),
            counts: report.counts(),
            only_errors: false,
        }
    }

    /// The whole report.
    pub fn report(&self) -> &'r Report {
        self.report
    }

    /// The entries to send, in topological order.
    pub fn entries(&self) -> &[Entry<'r>] {
        &self.entries
    }

    /// Status counts of the entries the task filter kept (before `only_errors`), for the
    /// summary.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Whether only errored entries were asked for.
    pub fn only_errors(&self) -> bool {
        self.only_errors
    }
}

/// Why a channel was not called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// `only_errors` was set and no selected entry errored.
    NoErrors,
    /// The filters left no entry.
    NoEntries,
}

/// What happened to one channel in [`Report::notify`].
#[derive(Debug)]
pub enum ChannelOutcome {
    /// The channel sent the report.
    Delivered,
    /// The channel was not called.
    Skipped(SkipReason),
    /// The channel failed; later channels were still called.
    Failed(ChannelError),
}

impl ChannelOutcome {
    /// Whether the channel sent the report.
    pub fn is_delivered(&self) -> bool {
        matches!(self, ChannelOutcome::Delivered)
    }

    /// The channel's error, if it failed.
    pub fn error(&self) -> Option<&ChannelError> {
        match self {
            ChannelOutcome::Failed(error) => Some(error),
            _ => None,
        }
    }
}

impl fmt::Display for ChannelOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelOutcome::Delivered => f.write_str("delivered"),
            ChannelOutcome::Skipped(SkipReason::NoErrors) => {
                f.write_str("skipped: no errored entry to send")
            }
            ChannelOutcome::Skipped(SkipReason::NoEntries) => {
                f.write_str("skipped: no entry to send")
            }
            ChannelOutcome::Failed(error) => write!(f, "failed: {error}"),
        }
    }
}

impl Report {
    /// Sends this report to each channel in order, after applying `options`, and returns
    /// one outcome per channel, in the same order. `channels` may be `&dyn Channel`s,
    /// `Box<dyn Channel>`s or channels of one type. A channel that fails or panics does not
    /// stop the others. Fails before calling any channel when the task filter names a task
    /// that the report does not have.
    pub fn notify<C>(
        &self,
        channels: &[C],
        options: &NotifyOptions,
    ) -> Result<Vec<ChannelOutcome>, NotifyError>
    where
        C: Channel,
    {
        let delivery = Delivery::new(self, options)?;
        let skip = if delivery.entries.is_empty() {
            Some(if delivery.only_errors {
                SkipReason::NoErrors
            } else {
                SkipReason::NoEntries
            })
        } else {
            None
        };

        let outcomes = channels
            .iter()
            .map(|channel| {
                if let Some(reason) = skip {
                    return ChannelOutcome::Skipped(reason);
                }
                let sent = catch_unwind(AssertUnwindSafe(|| channel.send(&delivery)));
                let outcome = match sent {
                    Ok(Ok(())) => ChannelOutcome::Delivered,
                    Ok(Err(error)) => ChannelOutcome::Failed(error),
                    Err(panic) => ChannelOutcome::Failed(ChannelError::Panicked {
                        // A channel that panicked once may panic again: describe it safely.
                        channel: catch_unwind(AssertUnwindSafe(|| channel.describe()))
                            .unwrap_or_else(|_| String::from("a channel")),
                        message: panic_message(panic.as_ref()),
                    }),
                };
                match &outcome {
                    ChannelOutcome::Failed(error) => {
                        log::warn!("report of {:?}: {error}", self.process_name())
                    }
                    _ => log::debug!("report of {:?}: {outcome}", self.process_name()),
                }
                outcome
            })
            .collect();
        Ok(outcomes)
    }
}

impl<T: Channel + ?Sized> Channel for &T {
    fn describe(&self) -> String {
        (**self).describe()
    }

    fn send(&self, delivery: &Delivery<'_>) -> Result<(), ChannelError> {
        (**self).send(delivery)
    }
}

impl<T: Channel + ?Sized> Channel for Box<T> {
    fn describe(&self) -> String {
        (**self).describe()
    }

    fn send(&self, delivery: &Delivery<'_>) -> Result<(), ChannelError> {
        (**self).send(delivery)
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        String::from("a panic with a non-text payload")
    }
}
