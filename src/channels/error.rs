//! What can go wrong with a channel: a bad configuration (refused when it is built), a bad
//! filter (refused before any channel is called), and a failed delivery.

use std::path::PathBuf;
use std::time::Duration;

/// A channel configuration that was refused when it was built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{channel} channel: field `{field}` {reason}")]
pub struct ConfigError {
    /// `email`, `webhook` or `html file`.
    pub channel: &'static str,
    /// The configuration field, such as `recipients[1]`.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    pub(crate) fn new(
        channel: &'static str,
        field: impl Into<String>,
        reason: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            channel,
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Filters that cannot apply to the report.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// The task filter names a task the report does not have.
    #[error(
        "notify {process:?}: field `tasks` names {task:?}, which is not a task of this process"
    )]
    UnknownTask {
        /// The process.
        process: String,
        /// The name as given.
        task: String,
    },
}

/// Why a channel could not deliver a report. Each message names the channel's target.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    /// The SMTP server could not be reached (refused, unreachable, name not resolved).
    #[error("email to {server}: cannot connect: {detail}")]
    SmtpConnect {
        /// `host:port`.
        server: String,
        /// What the system reported.
        detail: String,
    },
    /// The SMTP server did not answer in time.
    #[error("email to {server}: no answer within {timeout:?}: {detail}")]
    SmtpTimeout {
        /// `host:port`.
        server: String,
        /// The configured timeout.
        timeout: Duration,
        /// Where it stalled.
        detail: String,
    },
    /// The TLS handshake failed (untrusted certificate, wrong name, no TLS on the port).
    #[error("email to {server}: TLS failed: {detail}")]
    SmtpTls {
        /// `host:port`.
        server: String,
        /// What TLS reported.
        detail: String,
    },
    /// The server refused the credentials (SMTP 535 and the like).
    #[error("email to {server}: authentication refused ({code}): {detail}")]
    SmtpAuth {
        /// `host:port`.
        server: String,
        /// The SMTP reply code.
        code: String,
        /// The server's reply text.
        detail: String,
    },
    /// The server refused a command (sender, recipient, message).
    #[error("email to {server}: server refused ({code}): {detail}")]
    SmtpRejected {
        /// `host:port`.
        server: String,
        /// The SMTP reply code.
        code: String,
        /// The server's reply text.
        detail: String,
    },
    /// Any other SMTP failure.
    #[error("email to {server}: {detail}")]
    Smtp {
        /// `host:port`.
        server: String,
        /// What went wrong.
        detail: String,
    },
    /// The message could not be built.
    #[error("email: message could not be built: {detail}")]
    Message {
        /// What went wrong.
        detail: String,
    },
    /// The webhook answered with a status outside 200–299 (redirects are not followed).
    #[error("webhook {url}: answered HTTP {status}{}", excerpt_text(.body))]
    WebhookStatus {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// The webhook did not answer in time.
    #[error("webhook {url}: no answer within {timeout:?}: {detail}")]
    WebhookTimeout {
        /// The URL.
        url: String,
        /// The configured timeout.
        timeout: Duration,
        /// Where it stalled.
        detail: String,
    },
    /// The webhook could not be reached.
    #[error("webhook {url}: cannot connect: {detail}")]
    WebhookConnect {
        /// The URL.
        url: String,
        /// What the system reported.
        detail: String,
    },
    /// Any other webhook failure.
    #[error("webhook {url}: {detail}")]
    Webhook {
        /// The URL.
        url: String,
        /// What went wrong.
        detail: String,
    },
    /// The HTML file could not be written.
    #[error("html file {}: {action}: {source}", .path.display())]
    File {
        /// The target path.
        path: PathBuf,
        /// The step that failed.
        action: &'static str,
        /// The system error.
        source: std::io::Error,
    },
    /// The report could not be rendered.
    #[error("report could not be rendered: {detail}")]
    Render {
        /// What went wrong.
        detail: String,
    },
    /// The channel panicked.
    #[error("{channel}: panicked: {message}")]
    Panicked {
        /// The channel's description.
        channel: String,
        /// The panic's message.
        message: String,
    },
    /// A failure of a channel implemented outside this library.
    #[error("{channel}: {source}")]
    Other {
        /// The channel's description.
        channel: String,
        /// The failure.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

fn excerpt_text(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

/// Walks an error's sources for an I/O error.
pub(crate) fn io_kind(error: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(io) = error.downcast_ref::<std::io::Error>() {
            return Some(io.kind());
        }
        current = error.source();
    }
    None
}

/// Whether an I/O error kind means a socket timed out (a read timeout is `WouldBlock` on
/// Unix, `TimedOut` elsewhere).
pub(crate) fn is_timeout(kind: Option<std::io::ErrorKind>) -> bool {
    matches!(
        kind,
        Some(std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock)
    )
}

/// An error and its sources on one line.
pub(crate) fn chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut current = error.source();
    while let Some(source) = current {
        let part = source.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        current = source.source();
    }
    text
}

/// The innermost source of an error: the system's own words, without the layers' prefixes.
pub(crate) fn root_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}
