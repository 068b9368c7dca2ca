//! The webhook channel: the report as JSON in an HTTP POST, optionally signed with
//! HMAC-SHA256, sent with a blocking client (ureq over rustls) on the calling thread.
//!
//! Signing, when a secret is set:
//! - [`SIGNATURE_HEADER`] is the lowercase hex HMAC-SHA256 of the body, as upstream sends it;
//! - [`TIMESTAMP_HEADER`] is the Unix time of sending, in seconds;
//! - [`TIMESTAMPED_SIGNATURE_HEADER`] is the hex HMAC-SHA256 of `<timestamp>.<body>`, so a
//!   receiver that also checks the timestamp's age can reject replayed requests.

use std::fmt;
use std::io::Read;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use super::error::{io_kind, is_timeout, root_text, ChannelError, ConfigError};
use super::{Channel, Delivery};
use crate::report::Entry;

const CHANNEL: &str = "webhook";

/// The header with the hex HMAC-SHA256 of the body.
pub const SIGNATURE_HEADER: &str = "X-Signature-SHA256";
/// The header with the Unix time (seconds) the request was signed.
pub const TIMESTAMP_HEADER: &str = "X-Signature-Timestamp";
/// The header with the hex HMAC-SHA256 of `<timestamp>.<body>`.
pub const TIMESTAMPED_SIGNATURE_HEADER: &str = "X-Signature-Timestamp-SHA256";

/// The most of an error answer's body kept in the error.
const BODY_EXCERPT: u64 = 512;

/// Configures a [`WebhookChannel`]; [`WebhookBuilder::build`] checks every field.
#[derive(Clone)]
pub struct WebhookBuilder {
    url: String,
    headers: Vec<(String, String)>,
    timeout: Duration,
    extra_payload: Option<Value>,
    nest_under: Option<String>,
    secret: Option<Vec<u8>>,
}

impl fmt::Debug for WebhookBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookBuilder")
            .field("url", &self.url)
            .field(
                "headers",
                &self.headers.iter().map(|h| &h.0).collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .field("nest_under", &self.nest_under)
            .field("signed", &self.secret.is_some())
            .finish_non_exhaustive()
    }
}

impl WebhookBuilder {
    /// Adds a header to every request (an `Authorization` token, for example).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> WebhookBuilder {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Timeout for the whole request: connecting, sending, and reading the answer (default
    /// 30 s).
    pub fn timeout(mut self, timeout: Duration) -> WebhookBuilder {
        self.timeout = timeout;
        self
    }

    /// Keys added at the top level of the payload; on a collision they win over the
    /// report's fields. Must be a JSON object.
    pub fn extra_payload(mut self, extra: Value) -> WebhookBuilder {
        self.extra_payload = Some(extra);
        self
    }

    /// Puts the report's fields under this key instead of at the top level (extra payload
    /// keys stay at the top level).
    pub fn nest_under(mut self, key: impl Into<String>) -> WebhookBuilder {
        self.nest_under = Some(key.into());
        self
    }

    /// Signs every request with HMAC-SHA256 under this secret.
    pub fn secret(mut self, secret: impl Into<Vec<u8>>) -> WebhookBuilder {
        self.secret = Some(secret.into());
        self
    }

    /// Checks every field. The error names the first bad field.
    pub fn build(self) -> Result<WebhookChannel, ConfigError> {
        let url = url::Url::parse(self.url.trim()).map_err(|e| {
            ConfigError::new(
                CHANNEL,
                "url",
                format!("is {:?}, which is not a URL ({e})", self.url),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ConfigError::new(
                CHANNEL,
                "url",
                format!("has scheme {:?}; use http or https", url.scheme()),
            ));
        }
        if url.host_str().filter(|h| !h.is_empty()).is_none() {
            return Err(ConfigError::new(CHANNEL, "url", "has no host"));
        }
        for (i, (name, value)) in self.headers.iter().enumerate() {
            check_header(i, name, value)?;
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::new(CHANNEL, "timeout", "is zero"));
        }
        let extra_payload = match self.extra_payload {
            None => Map::new(),
            Some(Value::Object(map)) => map,
            Some(other) => {
                return Err(ConfigError::new(
                    CHANNEL,
                    "extra_payload",
                    format!("is {}, not a JSON object", json_type(&other)),
                ))
            }
        };
        if let Some(key) = &self.nest_under {
            if key.is_empty() {
                return Err(ConfigError::new(CHANNEL, "nest_under", "is empty"));
            }
        }
        if self.secret.as_ref().is_some_and(Vec::is_empty) {
            return Err(ConfigError::new(CHANNEL, "secret", "is empty"));
        }

        let agent = ureq::AgentBuilder::new()
            .timeout(self.timeout)
            .redirects(0)
            .user_agent(concat!("processes/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(WebhookChannel {
            agent,
            url: url.to_string(),
            headers: self.headers,
            timeout: self.timeout,
            extra_payload,
            nest_under: self.nest_under,
            secret: self.secret,
        })
    }
}

fn check_header(index: usize, name: &str, value: &str) -> Result<(), ConfigError> {
    let field = || format!("headers[{index}]");
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(ConfigError::new(
            CHANNEL,
            field(),
            format!("has name {name:?}, which is not a valid header name"),
        ));
    }
    let reserved = [
        SIGNATURE_HEADER,
        TIMESTAMP_HEADER,
        TIMESTAMPED_SIGNATURE_HEADER,
    ];
    if reserved.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(ConfigError::new(
            CHANNEL,
            field(),
            format!("sets {name}, which the channel sets itself when a secret is given"),
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(ConfigError::new(
            CHANNEL,
            field(),
            format!("({name}) has a control character in its value"),
        ));
    }
    Ok(())
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Posts the report as JSON to a URL, optionally signed.
pub struct WebhookChannel {
    agent: ureq::Agent,
    url: String,
    headers: Vec<(String, String)>,
    timeout: Duration,
    extra_payload: Map<String, Value>,
    nest_under: Option<String>,
    secret: Option<Vec<u8>>,
}

impl fmt::Debug for WebhookChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookChannel")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .field("nest_under", &self.nest_under)
            .field("signed", &self.secret.is_some())
            .finish_non_exhaustive()
    }
}

impl WebhookChannel {
    /// A builder for a webhook at `url`: no extra header or payload, unsigned, 30 s timeout.
    pub fn builder(url: impl Into<String>) -> WebhookBuilder {
        WebhookBuilder {
            url: url.into(),
            headers: Vec::new(),
            timeout: Duration::from_secs(30),
            extra_payload: None,
            nest_under: None,
            secret: None,
        }
    }

    /// The JSON document this channel posts for `delivery`.
    pub fn payload(&self, delivery: &Delivery<'_>) -> Value {
        let generic = report_fields(delivery);
        let mut payload = match &self.nest_under {
            Some(key) => {
                let mut outer = Map::new();
                outer.insert(key.clone(), Value::Object(generic));
                outer
            }
            None => generic,
        };
        for (key, value) in &self.extra_payload {
            payload.insert(key.clone(), value.clone());
        }
        Value::Object(payload)
    }

    fn status_error(&self, status: u16, response: ureq::Response) -> ChannelError {
        let location = response.header("Location").map(str::to_owned);
        let mut body = String::new();
        // The excerpt is only for the error message: a body that cannot be read is left out.
        let _ = response
            .into_reader()
            .take(BODY_EXCERPT)
            .read_to_string(&mut body);
        if let Some(location) = location {
            body = format!("redirect to {location} not followed");
        }
        ChannelError::WebhookStatus {
            url: self.url.clone(),
            status,
            body: body.trim().to_owned(),
        }
    }

    fn transport_error(&self, error: ureq::Error) -> ChannelError {
        let url = self.url.clone();
        let detail = root_text(&error);
        let kind = error.kind();
        if is_timeout(io_kind(&error)) {
            return ChannelError::WebhookTimeout {
                url,
                timeout: self.timeout,
                detail,
            };
        }
        match kind {
            ureq::ErrorKind::ConnectionFailed | ureq::ErrorKind::Dns => {
                ChannelError::WebhookConnect { url, detail }
            }
            _ => ChannelError::Webhook { url, detail },
        }
    }
}

/// HMAC-SHA256 of `parts` joined, as lowercase hex.
pub(crate) fn sign(secret: &[u8], parts: &[&[u8]]) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    for part in parts {
        mac.update(part);
    }
    let digest = mac.finalize().into_bytes();
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 0x0f)]));
    }
    hex
}

fn rfc3339(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(at).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The report's fields: process, times, counts, and the selected entries.
fn report_fields(delivery: &Delivery<'_>) -> Map<String, Value> {
    let report = delivery.report();
    let counts = delivery.counts();
    let entries: Vec<Value> = delivery.entries().iter().map(entry_fields).collect();
    let fields = json!({
        "process_name": report.process_name(),
        "started_at": rfc3339(report.started_at()),
        "finished_at": rfc3339(report.finished_at()),
        "elapsed_seconds": report.elapsed().as_secs_f64(),
        "cancelled": report.was_cancelled(),
        "only_errors": delivery.only_errors(),
        "counts": {
            "success": counts.success,
            "errored": counts.errored,
            "skipped": counts.skipped,
            "cancelled": counts.cancelled,
        },
        "entries": entries,
    });
    match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn entry_fields(entry: &Entry<'_>) -> Value {
    json!({
        "name": entry.name(),
        "function": entry.function(),
        "status": entry.status().as_str(),
        "elapsed_seconds": entry.elapsed().as_secs_f64(),
        "attempts": entry.attempts(),
        "started_at": entry.started_at().map(rfc3339),
        "finished_at": rfc3339(entry.finished_at()),
        "result": entry.result().map(|value| value.to_string()),
        "error": entry.error(),
        "skipped_because": entry.skipped_because(),
    })
}

impl Channel for WebhookChannel {
    fn describe(&self) -> String {
        format!("webhook {}", self.url)
    }

    fn send(&self, delivery: &Delivery<'_>) -> Result<(), ChannelError> {
        let body =
            serde_json::to_vec(&self.payload(delivery)).map_err(|e| ChannelError::Webhook {
                url: self.url.clone(),
                detail: format!("payload could not be serialized: {e}"),
            })?;

        let mut request = self
            .agent
            .post(&self.url)
            .set("Content-Type", "application/json");
        for (name, value) in &self.headers {
            request = request.set(name, value);
        }
        if let Some(secret) = &self.secret {
            let timestamp = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs()
                .to_string();
            request = request
                .set(SIGNATURE_HEADER, &sign(secret, &[&body]))
                .set(TIMESTAMP_HEADER, &timestamp)
                .set(
                    TIMESTAMPED_SIGNATURE_HEADER,
                    &sign(secret, &[timestamp.as_bytes(), b".", &body]),
                );
        }

        match request.send_bytes(&body) {
            Ok(response) if (200..300).contains(&response.status()) => {
                log::info!(
                    "report of {:?} posted to {} (HTTP {})",
                    delivery.report().process_name(),
                    self.url,
                    response.status()
                );
                Ok(())
            }
            Ok(response) => Err(self.status_error(response.status(), response)),
            Err(ureq::Error::Status(status, response)) => Err(self.status_error(status, response)),
            Err(error) => Err(self.transport_error(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        assert_eq!(
            sign(b"Jefe", &[b"what do ya want ", b"for nothing?"]),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let field = |b: WebhookBuilder| b.build().expect_err("invalid").field;
        assert_eq!(field(WebhookChannel::builder("not a url")), "url");
        assert_eq!(field(WebhookChannel::builder("ftp://example.com/x")), "url");
        let base = || WebhookChannel::builder("http://127.0.0.1:9/hook");
        assert_eq!(field(base().header("Bad Name", "x")), "headers[0]");
        assert_eq!(
            field(base().header("X-Ok", "a").header("X-B", "a\r\nb")),
            "headers[1]"
        );
        assert_eq!(
            field(base().header("x-signature-sha256", "forged")),
            "headers[0]"
        );
        assert_eq!(field(base().timeout(Duration::ZERO)), "timeout");
        assert_eq!(field(base().extra_payload(json!([1]))), "extra_payload");
        assert_eq!(field(base().nest_under("")), "nest_under");
        assert_eq!(field(base().secret("")), "secret");
        assert!(base()
            .secret("k")
            .header("Authorization", "Bearer t")
            .build()
            .is_ok());
    }
}
