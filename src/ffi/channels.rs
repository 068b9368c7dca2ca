//! Report channels: `prc_email_config`, `prc_webhook_config` and `prc_html_file_config`
//! describe a channel, `prc_channel` is a checked, ready channel, and `prc_report_notify`
//! sends a report to several channels and hands back one `prc_notify_outcomes` entry each.
//!
//! Configs are plain builders: nothing is checked until a channel is made from them, and the
//! error then names the channel, the field and the reason.

use std::ffi::{c_char, CString};

use super::boundary::{
    borrow, borrow_mut, c_string, ffi_boundary, not_null, optional_text, seconds, text, write,
    Checked, Failure,
};
use super::error::{ErrorHandle, Status};
use super::report::ReportHandle;
use crate::channels::{
    Channel, ChannelOutcome, ConfigError, EmailBuilder, EmailChannel, HtmlFileBuilder,
    HtmlFileChannel, NotifyOptions, Security, SkipReason, WebhookBuilder, WebhookChannel,
};

/// An email channel being described: an HTML report over SMTP. Owned by the caller
/// (`prc_email_config_free`); one thread at a time.
pub struct EmailConfigHandle {
    builder: EmailBuilder,
    host: String,
    port: Option<u16>,
}

/// A webhook channel being described: the report as signed JSON over HTTP(S). Owned by the
/// caller (`prc_webhook_config_free`); one thread at a time.
pub struct WebhookConfigHandle {
    builder: WebhookBuilder,
}

/// An HTML file channel being described. Owned by the caller (`prc_html_file_config_free`);
/// one thread at a time.
pub struct HtmlFileConfigHandle {
    builder: HtmlFileBuilder,
}

/// A checked channel, ready to send reports. Owned by the caller (`prc_channel_free`); used
/// by one thread at a time (`prc_report_notify` blocks while it sends).
pub struct ChannelHandle {
    channel: Box<dyn Channel>,
    description: CString,
}

/// What `prc_report_notify` did with each channel. Owned by the caller
/// (`prc_notify_outcomes_free`); may be read from any thread.
pub struct NotifyOutcomesHandle {
    outcomes: Vec<(ChannelOutcomeKind, CString)>,
}

/// How the SMTP connection is protected. Values are fixed.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailSecurity {
    /// Plain text throughout: only for a trusted relay (default port 25).
    None = 0,
    /// STARTTLS required before anything else is sent (the default; port 587).
    StartTls = 1,
    /// TLS from the first byte (SMTPS; port 465).
    ImplicitTls = 2,
}

/// What happened to one channel. Values are fixed.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelOutcomeKind {
    /// The channel sent the report.
    Delivered = 0,
    /// Not called: only errors were asked for and no selected entry errored.
    SkippedNoErrors = 1,
    /// Not called: the filters left no entry.
    SkippedNoEntries = 2,
    /// The channel failed (its message says why); later channels were still called.
    Failed = 3,
}

fn config_failure(error: ConfigError) -> Failure {
    Failure::new(Status::InvalidArgument, error.to_string())
}

/// Applies a change to a config handle.
///
/// # Safety
///
/// `config` is NULL or a live handle used by no other thread.
unsafe fn change<T>(
    config: *mut T,
    error: *mut *mut ErrorHandle,
    body: impl FnOnce(&mut T) -> Checked,
) -> Status {
    ffi_boundary!(error: error => {
        // SAFETY: forwarded from the caller.
        let config = unsafe { borrow_mut(config, "config") }?;
        body(config)
    })
}

/// Frees a config handle made by `Box::into_raw`.
///
/// # Safety
///
/// `config` is NULL or a handle not yet freed.
unsafe fn free<T>(config: *mut T) {
    if !config.is_null() {
        // SAFETY: made by Box::into_raw in this file and not freed yet.
        drop(unsafe { Box::from_raw(config) });
    }
}

/// A byte string argument; `data` may be NULL when `len` is 0.
///
/// # Safety
///
/// `data` points to `len` readable bytes.
unsafe fn bytes<'a>(data: *const u8, len: usize, name: &str) -> Checked<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    not_null(data, name)?;
    // SAFETY: not NULL, and `len` readable bytes by the caller's promise.
    Ok(unsafe { std::slice::from_raw_parts(data, len) })
}

/// A new email config for the SMTP server `host` and the `sender` address (`Name <addr>` or
/// `addr`), with STARTTLS, a 30 s timeout, no recipient yet.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_UTF8`.
///
/// # Safety
///
/// The strings are NULL or NUL-terminated; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_email_config_new(
    host: *const c_char,
    sender: *const c_char,
    out: *mut *mut EmailConfigHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: NULL or NUL-terminated, by the caller's promise.
        let (host, sender) = unsafe { (text(host, "host")?, text(sender, "sender")?) };
        let handle = EmailConfigHandle {
            builder: EmailChannel::builder().host(host).sender(sender),
            host: host.to_owned(),
            port: None,
        };
        // SAFETY: checked not NULL above.
        unsafe { write(out, Box::into_raw(Box::new(handle))) };
        Ok(())
    })
}

/// Frees an email config. NULL is ignored.
///
/// # Safety
///
/// `config` is NULL or a config not yet freed.
#[no_mangle]
pub unsafe extern "C" fn prc_email_config_free(config: *mut EmailConfigHandle) {
    // SAFETY: forwarded from the caller.
    ffi_boundary!(default: () => { unsafe { free(config) } })
}

/// Sets the SMTP port (default: the usual port of the security mode).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`; a port of 0 is refused when the channel is made.
///
/// # Safety
///
/// `config` is NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn prc_email_config_set_port(
    config: *mut EmailConfigHandle,
    port: u16,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(config, error, |c| {
            c.port = Some(port);
            Ok(())
        })
    }
}

/// Sets how the connection is protected; `security` is a `prc_email_security`.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `config` is NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn prc_email_config_set_security(
    config: *mut EmailConfigHandle,
    security: u32,
    error: *mut *mut ErrorHandle,
) -> Status {
    const NONE: u32 = EmailSecurity::None as u32;
    const STARTTLS: u32 = EmailSecurity::StartTls as u32;
    const IMPLICIT: u32 = EmailSecurity::ImplicitTls as u32;
    // SAFETY: forwarded from the caller.
    unsafe {
        change(config, error, |c| {
            let security = match security {
                NONE => Security::None,
                STARTTLS => Security::StartTls,
                IMPLICIT => Security::ImplicitTls,
                other => {
                    return Err(Failure::new(
                        Status::InvalidArgument,
                        format!(
                            "email channel: field `security` is {other}, not a \
                             prc_email_security (0 to 2)"
                        ),
                    ))
                }
            };
            c.builder = c.builder.clone().security(security);
            Ok(())
        })
    }
}

/// Sets the name the server's certificate must carry (default: the host).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_UTF8`.
///
/// # Safety
///
/// `config` is NULL or a live config; `name` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_email_config_set_tls_name(
    config: *mut EmailConfigHandle,
    name: *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(config, error, |c| {
            let name = text(name, "name")?;
            c.builder = c.builder.clone().tls_name(name);
            Ok(())
        })
    }
}

/// Adds a recipient address.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_UTF8`; the address is checked
/// when the channel is made.
///
/// # Safety
///
/// `config` is NULL or a live config; `recipient` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_email_config_add_recipient(
    config: *mut EmailConfigHandle,
    recipient: *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(config, error, |c| {
            let recipient = text(recipient, "recipient")?;
            c.builder = c.builder.clone().recipient(recipient);
            Ok(())
        })
    }
}

/// Logs in with these credentials (AUTH PLAIN or LOGIN, only over TLS unless security is
/// `PRC_EMAIL_SECURITY_NONE`).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_UTF8`.
///
/// # Safety
///
/// `config` is NULL or a live config; the strings NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_email_config_set_credentials(
    config: *mut EmailConfigHandle,
    username: *const c_char,
    password: *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(config, error, |c| {
            let (username, password) = (text(username, "username")?, text(password, "password")?);
            c.builder = c.builder.clone().credentials(username, password);
            Ok(())
        })
    }
}

/// Trusts one more root certificate (PEM bytes, copied), e.g. a private CA.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`; the PEM is checked when the channel is made.
///
/// # Safety
///
/// `config` is NULL or a live config; `pem` points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn prc_email_config_add_root_certificate(
    config: *mut EmailConfigHandle,
    pem: *const u8,
    len: usize,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(config, error, |c| {
            let pem = bytes(pem, len, "pem")?;
            c.builder = c.builder.clone().root_certificate_pem(pem.to_vec());
            Ok(())
        })
    }
}

/// Sets the timeout of each SMTP step, in seconds (default 30).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `config` is NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn prc_email_config_set_timeout(
    config: *mut EmailConfigHandle,
    timeout_seconds: f64,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(config, error, |c| {
            let timeout = seconds(timeout_seconds, || "email channel: field `timeout`".into())?;
            c.builder = c.builder.clone().timeout(timeout);
            Ok(())
        })
    }
}

/// Styles the HTML report: `palette` (`neutral`, `catppuccin`, `neobones`, `slate`) and
/// `language` (`en`, `es`, `pt`, `fr`, `de`, `it`), NULL keeping the default; whether failures
/// show their traceback and their traced variables. Names are checked when the channel is
/// made.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_UTF8`.
///
/// # Safety
///
/// `config` is NULL or a live config; the strings NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_email_config_set_style(
    config: *mut EmailConfigHandle,
    palette: *const c_char,
    language: *const c_char,
    show_traceback: bool,
    show_traced_vars: bool,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(config, error, |c| {
            let palette = optional_text(palette, "palette")?;
            let language = optional_text(language, "language")?;
            let mut builder = c.builder.clone();
            if let Some(palette) = palette {
                builder = builder.palette(palette);
            }
            if let Some(language) = language {
                builder = builder.language(language);
            }
            c.builder = builder
                .show_traceback(show_traceback)
                .show_traced_vars(show_traced_vars);
            Ok(())
        })
    }
}

/// A new webhook config posting to `url` (http or https), with a 30 s timeout.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_UTF8`.
///
/// # Safety
///
/// `url` is NULL or NUL-terminated; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_webhook_config_new(
    url: *const c_char,
    out: *mut *mut WebhookConfigHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: NULL or NUL-terminated, by the caller's promise.
        let url = unsafe { text(url, "url") }?;
        let handle = WebhookConfigHandle {
            builder: WebhookChannel::builder(url),
        };
        // SAFETY: checked not NULL above.
        unsafe { write(out, Box::into_raw(Box::new(handle))) };
        Ok(())
    })
}

/// Frees a webhook config. NULL is ignored.
///
/// # Safety
///
/// `config` is NULL or a config not yet freed.
#[no_mangle]
pub unsafe extern "C" fn prc_webhook_config_free(config: *mut WebhookConfigHandle) {
    // SAFETY: forwarded from the caller.
    ffi_boundary!(default: () => { unsafe { free(config) } })
}

/// Adds a header to every request (an `Authorization` token, for example).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_UTF8`.
///
/// # Safety
///
/// `config` is NULL or a live config; the strings NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_webhook_config_add_header(
    config: *mut WebhookConfigHandle,
    name: *const c_char,
    value: *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(config, error, |c| {
            let (name, value) = (text(name, "name")?, text(value, "value")?);
            c.builder = c.builder.clone().header(name, value);
            Ok(())
        })
    }
}

/// Sets the timeout of a whole request, in seconds (default 30).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `config` is NULL or a live config.
#[no_mangle]
pub unsafe extern "C" fn prc_webhook_config_set_timeout(
    config: *mut WebhookConfigHandle,
    timeout_seconds: f64,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(config, error, |c| {
            let timeout = seconds(timeout_seconds, || {
                "webhook channel: field `timeout`".into()
            })?;
            c.builder = c.builder.clone().timeout(timeout);
            Ok(())
        })
    }
}

/// Adds the keys of the JSON object `json` at the top level of every payload.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`, `PRC_STATUS_INVALID_UTF8` or
/// `PRC_STATUS_INVALID_JSON`; that it is an object is checked when the channel is made.
///
/// # Safety
///
/// `config` is NULL or a live config; `json` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_webhook_config_set_extra_payload(
    config: *mut WebhookConfigHandle,
    json: *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(config, error, |c| {
            let json = text(json, "json")?;
            let extra: serde_json::Value = serde_json::from_str(json).map_err(|e| {
                Failure::new(
                    Status::InvalidJson,
                    format!("webhook channel: field `extra_payload` is not valid JSON: {e}"),
                )
            })?;
            c.builder = c.builder.clone().extra_payload(extra);
            Ok(())
        })
    }
}

/// Puts the report's fields under the key `key` instead of at the top level.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_UTF8`.
///
/// # Safety
///
/// `config` is NULL or a live config; `key` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_webhook_config_set_nest_under(
    config: *mut WebhookConfigHandle,
    key: *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(config, error, |c| {
            let key = text(key, "key")?;
            c.builder = c.builder.clone().nest_under(key);
            Ok(())
        })
    }
}

/// Signs every request with HMAC-SHA256 under `secret` (`len` bytes, copied).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`.
///
/// # Safety
///
/// `config` is NULL or a live config; `secret` points to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn prc_webhook_config_set_secret(
    config: *mut WebhookConfigHandle,
    secret: *const u8,
    len: usize,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(config, error, |c| {
            let secret = bytes(secret, len, "secret")?;
            c.builder = c.builder.clone().secret(secret.to_vec());
            Ok(())
        })
    }
}

/// A new HTML file config writing the report to `path` (its folder is created when needed).
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_UTF8`.
///
/// # Safety
///
/// `path` is NULL or NUL-terminated; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_html_file_config_new(
    path: *const c_char,
    out: *mut *mut HtmlFileConfigHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: NULL or NUL-terminated, by the caller's promise.
        let path = unsafe { text(path, "path") }?;
        let handle = HtmlFileConfigHandle {
            builder: HtmlFileChannel::builder(path),
        };
        // SAFETY: checked not NULL above.
        unsafe { write(out, Box::into_raw(Box::new(handle))) };
        Ok(())
    })
}

/// Frees an HTML file config. NULL is ignored.
///
/// # Safety
///
/// `config` is NULL or a config not yet freed.
#[no_mangle]
pub unsafe extern "C" fn prc_html_file_config_free(config: *mut HtmlFileConfigHandle) {
    // SAFETY: forwarded from the caller.
    ffi_boundary!(default: () => { unsafe { free(config) } })
}

/// Styles the HTML report, as `prc_email_config_set_style`.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_UTF8`.
///
/// # Safety
///
/// `config` is NULL or a live config; the strings NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn prc_html_file_config_set_style(
    config: *mut HtmlFileConfigHandle,
    palette: *const c_char,
    language: *const c_char,
    show_traceback: bool,
    show_traced_vars: bool,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        change(config, error, |c| {
            let palette = optional_text(palette, "palette")?;
            let language = optional_text(language, "language")?;
            let mut builder = c.builder.clone();
            if let Some(palette) = palette {
                builder = builder.palette(palette);
            }
            if let Some(language) = language {
                builder = builder.language(language);
            }
            c.builder = builder
                .show_traceback(show_traceback)
                .show_traced_vars(show_traced_vars);
            Ok(())
        })
    }
}

/// Makes a channel from a config.
///
/// # Safety
///
/// `config` is NULL or a live config; `out` NULL or writable.
unsafe fn make<T>(
    config: *const T,
    out: *mut *mut ChannelHandle,
    error: *mut *mut ErrorHandle,
    build: impl FnOnce(&T) -> Result<Box<dyn Channel>, ConfigError>,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: forwarded from the caller.
        let config = unsafe { borrow(config, "config") }?;
        let channel = build(config).map_err(config_failure)?;
        let handle = ChannelHandle {
            description: c_string(&channel.describe()),
            channel,
        };
        // SAFETY: checked not NULL above.
        unsafe { write(out, Box::into_raw(Box::new(handle))) };
        Ok(())
    })
}

/// Checks an email config and makes a channel from it; the config may then be freed.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_ARGUMENT` (the message names
/// the field: host, port, sender, recipients, credentials, palette, ...).
///
/// # Safety
///
/// `config` is NULL or a live config; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_channel_new_email(
    config: *const EmailConfigHandle,
    out: *mut *mut ChannelHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(config, out, error, |c| {
            let builder = match c.port {
                Some(port) => c.builder.clone().server(c.host.clone(), port),
                None => c.builder.clone(),
            };
            Ok(Box::new(builder.build()?))
        })
    }
}

/// Checks a webhook config and makes a channel from it.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `config` is NULL or a live config; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_channel_new_webhook(
    config: *const WebhookConfigHandle,
    out: *mut *mut ChannelHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(config, out, error, |c| {
            Ok(Box::new(c.builder.clone().build()?))
        })
    }
}

/// Checks an HTML file config and makes a channel from it.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_INVALID_ARGUMENT`.
///
/// # Safety
///
/// `config` is NULL or a live config; `out` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_channel_new_html_file(
    config: *const HtmlFileConfigHandle,
    out: *mut *mut ChannelHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    // SAFETY: forwarded from the caller.
    unsafe {
        make(config, out, error, |c| {
            Ok(Box::new(c.builder.clone().build()?))
        })
    }
}

/// A short label for the channel (`email to host:port`, ...), lent while it lives; NULL when
/// `channel` is NULL.
///
/// # Safety
///
/// `channel` is NULL or a live channel.
#[no_mangle]
pub unsafe extern "C" fn prc_channel_describe(channel: *const ChannelHandle) -> *const c_char {
    ffi_boundary!(default: std::ptr::null() => {
        // SAFETY: NULL or a live channel, by the caller's promise.
        unsafe { channel.as_ref() }.map_or(std::ptr::null(), |c| c.description.as_ptr())
    })
}

/// Frees a channel. NULL is ignored.
///
/// # Safety
///
/// `channel` is NULL or a channel not yet freed and not in use.
#[no_mangle]
pub unsafe extern "C" fn prc_channel_free(channel: *mut ChannelHandle) {
    // SAFETY: forwarded from the caller.
    ffi_boundary!(default: () => { unsafe { free(channel) } })
}

/// Sends `report` to the `count` channels in order, on the calling thread (it blocks while
/// they send), and writes one outcome per channel to `*out` (`prc_notify_outcomes_free`).
/// A failing channel does not stop the others: its failure is in its outcome, not in the
/// status. `only_errors` sends only errored entries; `tasks` (NULL: no filter) keeps only the
/// entries of those `task_count` tasks.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT`, `PRC_STATUS_INVALID_UTF8` or `PRC_STATUS_NOT_FOUND`
/// (the task filter names a task the report does not have; no channel was called).
///
/// # Safety
///
/// `report` is NULL or a live report; `channels` points to `count` live channels (or is NULL
/// with `count` 0); `tasks` is NULL or points to `task_count` NUL-terminated strings; `out`
/// NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_report_notify(
    report: *const ReportHandle,
    channels: *const *const ChannelHandle,
    count: usize,
    only_errors: bool,
    tasks: *const *const c_char,
    task_count: usize,
    out: *mut *mut NotifyOutcomesHandle,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(out, "out")?;
        // SAFETY: NULL or a live report, by the caller's promise.
        let report = unsafe { borrow(report, "report") }?.report();
        let mut selected: Vec<&dyn Channel> = Vec::with_capacity(count);
        if count > 0 {
            not_null(channels, "channels")?;
        }
        for i in 0..count {
            // SAFETY: `channels` holds `count` pointers, each NULL or a live channel.
            let channel = unsafe { borrow(*channels.add(i), &format!("channels[{i}]")) }?;
            selected.push(&*channel.channel);
        }
        let mut options = NotifyOptions::new().only_errors(only_errors);
        if !tasks.is_null() {
            let mut names = Vec::with_capacity(task_count);
            for i in 0..task_count {
                // SAFETY: `tasks` holds `task_count` strings, each NULL or NUL-terminated.
                names.push(unsafe { text(*tasks.add(i), &format!("tasks[{i}]")) }?.to_owned());
            }
            options = options.tasks(names);
        }
        let outcomes = report
            .notify(&selected, &options)
            .map_err(|e| Failure::new(Status::NotFound, e.to_string()))?;
        let outcomes = outcomes
            .iter()
            .map(|outcome| {
                let kind = match outcome {
                    ChannelOutcome::Delivered => ChannelOutcomeKind::Delivered,
                    ChannelOutcome::Skipped(SkipReason::NoErrors) => {
                        ChannelOutcomeKind::SkippedNoErrors
                    }
                    ChannelOutcome::Skipped(SkipReason::NoEntries) => {
                        ChannelOutcomeKind::SkippedNoEntries
                    }
                    ChannelOutcome::Failed(_) => ChannelOutcomeKind::Failed,
                };
                (kind, c_string(&outcome.to_string()))
            })
            .collect();
        let handle = NotifyOutcomesHandle { outcomes };
        // SAFETY: checked not NULL above.
        unsafe { write(out, Box::into_raw(Box::new(handle))) };
        Ok(())
    })
}

/// How many outcomes there are (one per channel); 0 when `outcomes` is NULL.
///
/// # Safety
///
/// `outcomes` is NULL or live outcomes.
#[no_mangle]
pub unsafe extern "C" fn prc_notify_outcomes_len(outcomes: *const NotifyOutcomesHandle) -> usize {
    ffi_boundary!(default: 0 => {
        // SAFETY: NULL or live, by the caller's promise.
        unsafe { outcomes.as_ref() }.map_or(0, |o| o.outcomes.len())
    })
}

/// The outcome of channel `index`: a `prc_channel_outcome` and its text (`delivered`,
/// `skipped: ...` or `failed: <why>`, naming the channel's target), lent while `outcomes`
/// lives.
///
/// Returns `PRC_STATUS_NULL_ARGUMENT` or `PRC_STATUS_OUT_OF_RANGE`.
///
/// # Safety
///
/// `outcomes` is NULL or live outcomes; `kind` and `message` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn prc_notify_outcomes_get(
    outcomes: *const NotifyOutcomesHandle,
    index: usize,
    kind: *mut u32,
    message: *mut *const c_char,
    error: *mut *mut ErrorHandle,
) -> Status {
    ffi_boundary!(error: error => {
        not_null(kind, "kind")?;
        not_null(message, "message")?;
        // SAFETY: NULL or live, by the caller's promise.
        let outcomes = &unsafe { borrow(outcomes, "outcomes") }?.outcomes;
        let (k, text) = outcomes.get(index).ok_or_else(|| {
            Failure::new(
                Status::OutOfRange,
                format!("outcome {index} is out of range (there are {})", outcomes.len()),
            )
        })?;
        // SAFETY: both checked not NULL above.
        unsafe {
            write(kind, *k as u32);
            write(message, text.as_ptr());
        }
        Ok(())
    })
}

/// Frees notify outcomes. NULL is ignored.
///
/// # Safety
///
/// `outcomes` is NULL or outcomes not yet freed.
#[no_mangle]
pub unsafe extern "C" fn prc_notify_outcomes_free(outcomes: *mut NotifyOutcomesHandle) {
    // SAFETY: forwarded from the caller.
    ffi_boundary!(default: () => { unsafe { free(outcomes) } })
}
