//! The email channel: the report as a `multipart/alternative` message (plain text and HTML)
//! sent over SMTP with lettre, on the calling thread, without an async runtime.

use std::fmt;

use base64::Engine as _;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};

use super::error::{chain_text, io_kind, is_timeout, ChannelError, ConfigError};
use super::html::{render, Style, StyleSpec};
use super::{Channel, Delivery};

const CHANNEL: &str = "email";

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Security {
    /// Plain text throughout: only for a trusted relay on the same host or network.
    None,
    /// A plain connection upgraded with STARTTLS before anything else is sent; the upgrade
    /// is required (a server that does not offer it is an error).
    #[default]
    StartTls,
    /// TLS from the first byte (SMTPS, usually port 465).
    ImplicitTls,
}

impl Security {
    /// The usual port for this security.
    pub fn default_port(self) -> u16 {
        match self {
            Security::None => 25,
            Security::StartTls => 587,
            Security::ImplicitTls => 465,
        }
    }
}

/// Configures an [`EmailChannel`]; [`EmailBuilder::build`] checks every field.
#[derive(Clone)]
pub struct EmailBuilder {
    host: String,
    port: Option<u16>,
    security: Security,
    tls_name: Option<String>,
    sender: String,
    recipients: Vec<String>,
    credentials: Option<(String, String)>,
    root_certificates: Vec<Vec<u8>>,
    timeout: Duration,
    style: StyleSpec,
}

impl fmt::Debug for EmailBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailBuilder")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("sender", &self.sender)
            .field("recipients", &self.recipients)
            .field("username", &self.credentials.as_ref().map(|c| &c.0))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl EmailBuilder {
    /// The SMTP server's host name or IP address, and its port.
    pub fn server(mut self, host: impl Into<String>, port: u16) -> EmailBuilder {
        self.host = host.into();
        self.port = Some(port);
        self
    }

    /// The SMTP server's host, on the usual port for the security (25, 587 or 465).
    pub fn host(mut self, host: impl Into<String>) -> EmailBuilder {
        self.host = host.into();
        self
    }

    /// How the connection is protected (default: STARTTLS, required).
    pub fn security(mut self, security: Security) -> EmailBuilder {
        self.security = security;
        self
    }

    /// The name the server's certificate must carry, when it differs from the host (for
    /// example when connecting by IP address to a certificate issued for a name).
    pub fn tls_name(mut self, name: impl Into<String>) -> EmailBuilder {
        self.tls_name = Some(name.into());
        self
    }

    /// The sender, as `ops@example.com` or `Ops <ops@example.com>`.
    pub fn sender(mut self, sender: impl Into<String>) -> EmailBuilder {
        self.sender = sender.into();
        self
    }

    /// Adds a recipient.
    pub fn recipient(mut self, recipient: impl Into<String>) -> EmailBuilder {
        self.recipients.push(recipient.into());
        self
    }

    /// Adds recipients.
    pub fn recipients<I, S>(mut self, recipients: I) -> EmailBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.recipients
            .extend(recipients.into_iter().map(Into::into));
        self
    }

    /// Logs in with these credentials (AUTH PLAIN or LOGIN). Independent of the security:
    /// set them only if the server asks for them.
    pub fn credentials(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> EmailBuilder {
        self.credentials = Some((username.into(), password.into()));
        self
    }

    /// Trusts this root certificate (PEM) besides the built-in web roots, for servers with
    /// a private CA.
    pub fn root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> EmailBuilder {
        self.root_certificates.push(pem.into());
        self
    }

    /// Timeout for connecting and for each SMTP command (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> EmailBuilder {
        self.timeout = timeout;
        self
    }

    /// The palette: `neutral` (default), `catppuccin`, `neobones` or `slate`.
    pub fn palette(mut self, palette: impl Into<String>) -> EmailBuilder {
        self.style.palette = palette.into();
        self
    }

    /// The language: `en` (default), `es`, `pt`, `fr`, `de` or `it`.
    pub fn language(mut self, language: impl Into<String>) -> EmailBuilder {
        self.style.language = language.into();
        self
    }

    /// Whether failures show their traceback (default true).
    pub fn show_traceback(mut self, show: bool) -> EmailBuilder {
        self.style.show_traceback = show;
        self
    }

    /// Whether failures show their traced variables (default true).
    pub fn show_traced_vars(mut self, show: bool) -> EmailBuilder {
        self.style.show_traced_vars = show;
        self
    }

    /// Checks every field and prepares the transport. The error names the first bad field.
    pub fn build(self) -> Result<EmailChannel, ConfigError> {
        let host = self.host.trim();
        if host.is_empty() {
            return Err(ConfigError::new(CHANNEL, "host", "is empty"));
        }
        if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ConfigError::new(
                CHANNEL,
                "host",
                format!("is {host:?}, which contains whitespace"),
            ));
        }
        let port = self.port.unwrap_or(self.security.default_port());
        if port == 0 {
            return Err(ConfigError::new(CHANNEL, "port", "is 0"));
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::new(CHANNEL, "timeout", "is zero"));
        }
        let sender = parse_mailbox(&self.sender, "sender")?;
        if self.recipients.is_empty() {
            return Err(ConfigError::new(
                CHANNEL,
                "recipients",
                "is empty; give at least one address",
            ));
        }
        let recipients = self
            .recipients
            .iter()
            .enumerate()
            .map(|(i, r)| parse_mailbox(r, &format!("recipients[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let style = self.style.resolve(CHANNEL)?;

        let mut transport = SmtpTransport::builder_dangerous(host)
            .port(port)
            .timeout(Some(self.timeout));
        if let Some((username, password)) = &self.credentials {
            if username.is_empty() {
                return Err(ConfigError::new(
                    CHANNEL,
                    "credentials.username",
                    "is empty",
                ));
            }
            transport = transport.credentials(Credentials::new(username.clone(), password.clone()));
        }
        let tls = match self.security {
            Security::None => Tls::None,
            Security::StartTls => Tls::Required(self.tls_parameters(host)?),
            Security::ImplicitTls => Tls::Wrapper(self.tls_parameters(host)?),
        };

        Ok(EmailChannel {
            transport: transport.tls(tls).build(),
            server: format!("{host}:{port}"),
            sender,
            recipients,
            timeout: self.timeout,
            style,
        })
    }

    fn tls_parameters(&self, host: &str) -> Result<TlsParameters, ConfigError> {
        let name = self.tls_name.as_deref().unwrap_or(host);
        let mut parameters = TlsParameters::builder(name.to_owned());
        for (i, pem) in self.root_certificates.iter().enumerate() {
            let field = || format!("root_certificates[{i}]");
            let blocks = pem_certificates(pem)
                .map_err(|reason| ConfigError::new(CHANNEL, field(), reason))?;
            for der in blocks {
                let certificate = Certificate::from_der(der).map_err(|e| {
                    ConfigError::new(
                        CHANNEL,
                        field(),
                        format!("is not a certificate: {}", chain_text(&e)),
                    )
                })?;
                parameters = parameters.add_root_certificate(certificate);
            }
        }
        parameters.build_rustls().map_err(|e| {
            let field = if self.tls_name.is_some() {
                "tls_name"
            } else {
                "host"
            };
            ConfigError::new(
                CHANNEL,
                field,
                format!("cannot be used for TLS: {}", chain_text(&e)),
            )
        })
    }
}

/// The DER bytes of every `CERTIFICATE` block of a PEM text.
fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let text = std::str::from_utf8(pem).map_err(|_| "is not PEM text (not UTF-8)".to_owned())?;
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let body = &rest[start + BEGIN.len()..];
        let end = body
            .find(END)
            .ok_or_else(|| format!("has a certificate block with no {END:?} line"))?;
        let base64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(base64)
            .map_err(|e| format!("has a certificate block that is not base64 ({e})"))?;
        blocks.push(der);
        rest = &body[end + END.len()..];
    }
    if blocks.is_empty() {
        return Err(format!("is not a PEM certificate (no {BEGIN:?} line)"));
    }
    Ok(blocks)
}

fn parse_mailbox(text: &str, field: &str) -> Result<Mailbox, ConfigError> {
    if text.trim().is_empty() {
        return Err(ConfigError::new(CHANNEL, field, "is empty"));
    }
    text.trim().parse().map_err(|e| {
        ConfigError::new(
            CHANNEL,
            field,
            format!("is {text:?}, which is not an email address ({e})"),
        )
    })
}

/// Sends the report as a styled HTML email (with a plain-text alternative) over SMTP.
pub struct EmailChannel {
    transport: SmtpTransport,
    server: String,
    sender: Mailbox,
    recipients: Vec<Mailbox>,
    timeout: Duration,
    style: Style,
}

impl fmt::Debug for EmailChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailChannel")
            .field("server", &self.server)
            .field("sender", &self.sender.to_string())
            .field("recipients", &self.recipients.len())
            .field("style", &self.style)
            .finish_non_exhaustive()
    }
}

impl EmailChannel {
    /// A builder with no server, sender or recipient yet; STARTTLS, a 30 s timeout, the
    /// neutral palette, English, tracebacks and traced variables shown.
    pub fn builder() -> EmailBuilder {
        EmailBuilder {
            host: String::new(),
            port: None,
            security: Security::default(),
            tls_name: None,
            sender: String::new(),
            recipients: Vec::new(),
            credentials: None,
            root_certificates: Vec::new(),
            timeout: Duration::from_secs(30),
            style: StyleSpec::default(),
        }
    }

    /// The style the messages are rendered in.
    pub fn style(&self) -> &Style {
        &self.style
    }

    /// The message this channel would send for `delivery`.
    pub fn message(&self, delivery: &Delivery<'_>) -> Result<Message, ChannelError> {
        let rendered = render(delivery, &self.style)?;
        let mut message = Message::builder()
            .from(self.sender.clone())
            .subject(rendered.subject)
            .date_now();
        for recipient in &self.recipients {
            message = message.to(recipient.clone());
        }
        message
            .multipart(MultiPart::alternative_plain_html(
                rendered.text,
                rendered.html,
            ))
            .map_err(|e| ChannelError::Message {
                detail: chain_text(&e),
            })
    }

    fn classify(&self, error: lettre::transport::smtp::Error) -> ChannelError {
        let server = self.server.clone();
        let detail = chain_text(&error);
        let io = io_kind(&error);
        if let Some(code) = error.status() {
            let code = code.to_string();
            return if matches!(code.as_str(), "530" | "534" | "535") {
                ChannelError::SmtpAuth {
                    server,
                    code,
                    detail,
                }
            } else {
                ChannelError::SmtpRejected {
                    server,
                    code,
                    detail,
                }
            };
        }
        if error.is_timeout() || is_timeout(io) {
            return ChannelError::SmtpTimeout {
                server,
                timeout: self.timeout,
                detail,
            };
        }
        // A server that does not offer the required STARTTLS upgrade is a TLS failure too.
        if error.is_tls() || (error.is_client() && detail.contains("STARTTLS")) {
            return ChannelError::SmtpTls { server, detail };
        }
        match io {
            Some(
                std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::NotConnected
                | std::io::ErrorKind::AddrNotAvailable,
            ) => ChannelError::SmtpConnect { server, detail },
            Some(std::io::ErrorKind::InvalidData) => ChannelError::SmtpTls { server, detail },
            _ if detail.contains("failed to lookup address") => {
                ChannelError::SmtpConnect { server, detail }
            }
            _ => ChannelError::Smtp { server, detail },
        }
    }
}

impl Channel for EmailChannel {
    fn describe(&self) -> String {
        format!("email to {}", self.server)
    }

    fn send(&self, delivery: &Delivery<'_>) -> Result<(), ChannelError> {
        let message = self.message(delivery)?;
        self.transport
            .send(&message)
            .map_err(|error| self.classify(error))?;
        log::info!(
            "report of {:?} emailed through {} to {} recipient(s)",
            delivery.report().process_name(),
            self.server,
            self.recipients.len()
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> EmailBuilder {
        EmailChannel::builder()
            .server("127.0.0.1", 2525)
            .sender("Ops <ops@example.com>")
            .recipient("a@example.com")
    }

    #[test]
    fn a_good_config_builds() {
        let channel = base().security(Security::None).build().expect("valid");
        assert_eq!(channel.describe(), "email to 127.0.0.1:2525");
    }

    #[test]
    fn bad_fields_are_named() {
        let field = |b: EmailBuilder| b.build().expect_err("invalid").field;
        assert_eq!(field(base().sender("not an address")), "sender");
        assert_eq!(field(base().recipient("x@")), "recipients[1]");
        assert_eq!(field(EmailChannel::builder().sender("a@b.c")), "host");
        assert_eq!(field(base().server("", 25)), "host");
        assert_eq!(field(base().server("h", 0)), "port");
        assert_eq!(field(base().timeout(Duration::ZERO)), "timeout");
        assert_eq!(field(base().credentials("", "pw")), "credentials.username");
        assert_eq!(
            field(base().root_certificate_pem("garbage")),
            "root_certificates[0]"
        );
        let empty = EmailChannel::builder().server("h", 25).sender("a@b.c");
        assert_eq!(field(empty), "recipients");
    }

    #[test]
    fn unknown_style_names_list_the_valid_ones() {
        let error = base().palette("solarized").build().expect_err("invalid");
        assert_eq!(error.field, "palette");
        assert!(error
            .to_string()
            .contains("neutral, catppuccin, neobones, slate"));
        let error = base().language("nl").build().expect_err("invalid");
        assert_eq!(error.field, "language");
        assert!(error.to_string().contains("en, es, pt, fr, de, it"));
    }
}
