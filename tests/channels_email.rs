//! The email channel against real SMTP servers on 127.0.0.1 (started by
//! scripts/test.d/30-channels.sh): STARTTLS + AUTH, implicit TLS + AUTH, plain; and the
//! failures: wrong password, closed port, silent server, a server stalling mid-session,
//! untrusted certificate.

#[path = "support/fixture.rs"]
#[allow(dead_code)] // Shared by several test crates; each uses part of it.
mod fixture;
#[path = "support/servers.rs"]
#[allow(dead_code)] // Shared by several test crates; each uses part of it.
mod servers;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use processes::channels::{
    Channel, ChannelError, EmailBuilder, EmailChannel, NotifyOptions, Security,
};
use serde_json::Value;

use fixture::{failing_report, subject_date};

const NEEDS: &str = "needs the SMTP servers of scripts/test.d/30-channels.sh";
const TIMEOUT: Duration = Duration::from_secs(2);

struct Smtp {
    config: Value,
}

impl Smtp {
    fn new() -> Smtp {
        Smtp {
            config: servers::servers()["smtp"].clone(),
        }
    }

    fn port(&self, server: &str) -> u16 {
        servers::port(&self.config, server)
    }

    fn ca(&self) -> Vec<u8> {
        std::fs::read(servers::text(&self.config, "ca")).expect("test CA")
    }

    /// A builder for one of the servers, with the test CA and credentials.
    fn builder(&self, server: &str, security: Security, recipient: &str) -> EmailBuilder {
        EmailChannel::builder()
            .server(servers::text(&self.config, "host"), self.port(server))
            .security(security)
            .root_certificate_pem(self.ca())
            .credentials(
                servers::text(&self.config, "user"),
                servers::text(&self.config, "password"),
            )
            .sender("Processes <reports@example.com>")
            .recipient(recipient)
            .timeout(TIMEOUT)
    }

    fn received(&self, recipient: &str) -> Value {
        let maildir = PathBuf::from(servers::text(&self.config, "maildir"));
        servers::wait_for_record(&maildir, Duration::from_secs(10), |record| {
            record["rcpt_tos"]
                .as_array()
                .is_some_and(|r| r.iter().any(|a| a == recipient))
        })
    }
}

/// A body part's text, with SMTP's CRLF line ends read as LF.
fn part(message: &Value, content_type: &str) -> String {
    message["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .find(|p| p["type"] == content_type)
        .unwrap_or_else(|| panic!("no {content_type} part in {message}"))["body"]
        .as_str()
        .expect("body")
        .replace("\r\n", "\n")
}

/// The assertions every delivered fixture report must pass.
fn check_message(message: &Value, process: &str, subject_lead: &str, date: &str) {
    assert_eq!(message["content_type"], "multipart/alternative");
    assert_eq!(
        message["subject"],
        format!("{subject_lead}: {process} | {date}")
    );
    assert_eq!(message["mail_from"], "reports@example.com");
    let html = part(message, "text/html");
    let text = part(message, "text/plain");
    for (task, status) in [
        ("extract", "success"),
        ("transform", "success"),
        ("load", "errored"),
        ("publish", "skipped"),
        ("notify_team", "skipped"),
        ("audit", "success"),
    ] {
        assert!(
            html.contains(&format!("data-task=\"{task}\" data-status=\"{status}\"")),
            "row of {task}"
        );
        assert!(text.contains(&format!("] {task}\n")), "text line of {task}");
    }
    assert!(html.contains("<span class=\"badge status-errored\">"));
    assert!(html.contains("&lt;script&gt;alert('x')&lt;/script&gt; &amp; &quot;quoted&quot;"));
    assert!(!html.contains("<script>"), "the task message is escaped");
    assert!(html.contains("data-task=\"load\" data-status=\"errored\" open>"));
    assert!(
        text.contains("<script>alert('x')</script>"),
        "plain text keeps it as is"
    );
}

#[test]
#[ignore = "needs the SMTP servers of scripts/test.d/30-channels.sh"]
fn starttls_with_auth_delivers_to_every_recipient() {
    let smtp = Smtp::new();
    let process = "nightly-starttls <etl>";
    let report = failing_report(process);
    let channel = smtp
        .builder("starttls", Security::StartTls, "ops-starttls@example.com")
        .recipient("Team <team-starttls@example.com>")
        .build()
        .expect("valid config");

    let outcomes = report
        .notify(&[&channel], &NotifyOptions::new())
        .expect(NEEDS);
    assert!(outcomes[0].is_delivered(), "{}", outcomes[0]);

    let message = smtp.received("ops-starttls@example.com");
    assert_eq!(message["server"], "starttls");
    assert_eq!(message["tls"], true);
    assert_eq!(message["authenticated"], true);
    assert_eq!(
        message["rcpt_tos"],
        serde_json::json!(["ops-starttls@example.com", "team-starttls@example.com"])
    );
    assert!(message["to"]
        .as_str()
        .expect("To")
        .contains("team-starttls@example.com"));
    check_message(&message, process, "Process report", &subject_date(&report));
}

#[test]
#[ignore = "needs the SMTP servers of scripts/test.d/30-channels.sh"]
fn implicit_tls_with_auth_delivers_in_german() {
    let smtp = Smtp::new();
    let process = "nightly-tls";
    let report = failing_report(process);
    let channel = smtp
        .builder("tls", Security::ImplicitTls, "ops-tls@example.com")
        .tls_name("localhost")
        .language("de")
        .palette("catppuccin")
        .build()
        .expect("valid config");

    let outcomes = report
        .notify(&[&channel], &NotifyOptions::new())
        .expect(NEEDS);
    assert!(outcomes[0].is_delivered(), "{}", outcomes[0]);

    let message = smtp.received("ops-tls@example.com");
    assert_eq!(message["server"], "tls");
    assert_eq!(message["tls"], true);
    assert_eq!(message["authenticated"], true);
    check_message(&message, process, "Prozessbericht", &subject_date(&report));
    let html = part(&message, "text/html");
    assert!(html.contains("<html lang=\"de\">"));
    assert!(html.contains(">Übersprungen</span>"));
    assert!(html.contains("#f38ba8"), "catppuccin red");
}

#[test]
#[ignore = "needs the SMTP servers of scripts/test.d/30-channels.sh"]
fn plain_smtp_without_credentials_sends_the_errors_only_variant() {
    let smtp = Smtp::new();
    let process = "nightly-plain";
    let report = failing_report(process);
    let channel = EmailChannel::builder()
        .server("127.0.0.1", smtp.port("plain"))
        .security(Security::None)
        .sender("reports@example.com")
        .recipient("ops-plain@example.com")
        .timeout(TIMEOUT)
        .build()
        .expect("valid config");

    let options = NotifyOptions::new().only_errors(true);
    let outcomes = report.notify(&[&channel], &options).expect(NEEDS);
    assert!(outcomes[0].is_delivered(), "{}", outcomes[0]);

    let message = smtp.received("ops-plain@example.com");
    assert_eq!(message["tls"], false);
    assert_eq!(message["authenticated"], false);
    assert_eq!(
        message["subject"],
        format!("Process errors: {process} | {}", subject_date(&report))
    );
    let html = part(&message, "text/html");
    assert!(html.contains("data-task=\"load\""));
    assert!(
        !html.contains("data-task=\"audit\""),
        "only errored entries"
    );
    assert!(html.contains("Only the tasks that failed are listed."));
}

/// Runs `failing` next to a channel that works, and returns the failure and how long it
/// took; the working channel must still deliver.
fn fail_beside_a_working_channel(failing: EmailChannel, tag: &str) -> (ChannelError, Duration) {
    let smtp = Smtp::new();
    let report = failing_report(&format!("nightly-{tag}"));
    let witness_address = format!("witness-{tag}@example.com");
    let witness = EmailChannel::builder()
        .server("127.0.0.1", smtp.port("plain"))
        .security(Security::None)
        .sender("reports@example.com")
        .recipient(witness_address.as_str())
        .timeout(TIMEOUT)
        .build()
        .expect("valid config");

    let started = Instant::now();
    let channels: [&dyn Channel; 2] = [&failing, &witness];
    let mut outcomes = report
        .notify(&channels, &NotifyOptions::new())
        .expect(NEEDS);
    let elapsed = started.elapsed();
    eprintln!("{tag}: {} after {elapsed:?}", outcomes[0]);
    assert!(outcomes[1].is_delivered(), "{}", outcomes[1]);
    smtp.received(&witness_address);
    match outcomes.remove(0) {
        processes::channels::ChannelOutcome::Failed(error) => (error, elapsed),
        other => panic!("expected a failure, got {other}"),
    }
}

#[test]
#[ignore = "needs the SMTP servers of scripts/test.d/30-channels.sh"]
fn a_wrong_password_is_an_auth_error() {
    let smtp = Smtp::new();
    let failing = smtp
        .builder("starttls", Security::StartTls, "nobody@example.com")
        .credentials(servers::text(&smtp.config, "user"), "wrong password")
        .build()
        .expect("valid config");
    let (error, elapsed) = fail_beside_a_working_channel(failing, "auth");
    assert!(
        matches!(&error, ChannelError::SmtpAuth { code, .. } if code == "535"),
        "{error}"
    );
    assert!(elapsed < TIMEOUT * 2, "took {elapsed:?}");
}

#[test]
#[ignore = "needs the SMTP servers of scripts/test.d/30-channels.sh"]
fn a_closed_port_is_a_connect_error() {
    let failing = EmailChannel::builder()
        .server("127.0.0.1", servers::closed_port())
        .security(Security::None)
        .sender("reports@example.com")
        .recipient("nobody@example.com")
        .timeout(TIMEOUT)
        .build()
        .expect("valid config");
    let (error, elapsed) = fail_beside_a_working_channel(failing, "closed");
    assert!(matches!(error, ChannelError::SmtpConnect { .. }), "{error}");
    assert!(elapsed < TIMEOUT, "took {elapsed:?}");
}

#[test]
#[ignore = "needs the SMTP servers of scripts/test.d/30-channels.sh"]
fn a_silent_server_times_out_within_the_timeout() {
    times_out_within_the_timeout(servers::silent_server(), Security::StartTls, "silent");
}

#[test]
#[ignore = "needs the SMTP servers of scripts/test.d/30-channels.sh"]
fn a_server_stalling_mid_session_times_out_within_the_timeout() {
    // The timeout covers each command, not only connecting and the greeting.
    times_out_within_the_timeout(servers::stalling_server(), Security::None, "stalling");
}

/// A channel to the server on `port` fails with a timeout no sooner than its limit and well
/// before twice that, while the next channel still delivers.
fn times_out_within_the_timeout(port: u16, security: Security, tag: &str) {
    let failing = EmailChannel::builder()
        .server("127.0.0.1", port)
        .security(security)
        .sender("reports@example.com")
        .recipient("nobody@example.com")
        .timeout(TIMEOUT)
        .build()
        .expect("valid config");
    let (error, elapsed) = fail_beside_a_working_channel(failing, tag);
    assert!(
        matches!(error, ChannelError::SmtpTimeout { timeout, .. } if timeout == TIMEOUT),
        "{error}"
    );
    assert!(elapsed >= TIMEOUT, "gave up early: {elapsed:?}");
    assert!(
        elapsed < TIMEOUT * 2 + Duration::from_secs(1),
        "took {elapsed:?}"
    );
}

#[test]
#[ignore = "needs the SMTP servers of scripts/test.d/30-channels.sh"]
fn an_untrusted_certificate_is_a_tls_error() {
    let smtp = Smtp::new();
    // Without the test CA, the server's certificate chains to nothing the client trusts.
    let failing = EmailChannel::builder()
        .server("127.0.0.1", smtp.port("starttls"))
        .security(Security::StartTls)
        .sender("reports@example.com")
        .recipient("nobody@example.com")
        .timeout(TIMEOUT)
        .build()
        .expect("valid config");
    let (error, _) = fail_beside_a_working_channel(failing, "untrusted");
    assert!(matches!(error, ChannelError::SmtpTls { .. }), "{error}");
    assert!(error.to_string().contains("127.0.0.1"), "{error}");
}

#[test]
#[ignore = "needs the SMTP servers of scripts/test.d/30-channels.sh"]
fn implicit_tls_against_a_plain_server_is_a_tls_error() {
    let smtp = Smtp::new();
    let failing = smtp
        .builder("plain", Security::ImplicitTls, "nobody@example.com")
        .build()
        .expect("valid config");
    let (error, elapsed) = fail_beside_a_working_channel(failing, "notls");
    assert!(
        matches!(
            error,
            ChannelError::SmtpTls { .. } | ChannelError::SmtpTimeout { .. }
        ),
        "{error}"
    );
    assert!(
        elapsed < TIMEOUT * 2 + Duration::from_secs(1),
        "took {elapsed:?}"
    );
}

#[test]
#[ignore = "needs the SMTP servers of scripts/test.d/30-channels.sh"]
fn starttls_happens_without_credentials_too() {
    let smtp = Smtp::new();
    // No credentials: the channel still upgrades with STARTTLS (the server refuses plain-text
    // commands with "Must issue a STARTTLS command first"), then the server asks for AUTH.
    let failing = EmailChannel::builder()
        .server("127.0.0.1", smtp.port("starttls"))
        .security(Security::StartTls)
        .root_certificate_pem(smtp.ca())
        .sender("reports@example.com")
        .recipient("nobody@example.com")
        .timeout(TIMEOUT)
        .build()
        .expect("valid config");
    let (error, _) = fail_beside_a_working_channel(failing, "nocredentials");
    assert!(
        matches!(&error, ChannelError::SmtpAuth { code, detail, .. }
            if code == "530" && detail.contains("Authentication required")),
        "{error}"
    );
}

#[test]
#[ignore = "needs the SMTP servers of scripts/test.d/30-channels.sh"]
fn a_server_without_starttls_is_a_tls_error_when_starttls_is_required() {
    let smtp = Smtp::new();
    let failing = EmailChannel::builder()
        .server("127.0.0.1", smtp.port("plain"))
        .security(Security::StartTls)
        .sender("reports@example.com")
        .recipient("nobody@example.com")
        .timeout(TIMEOUT)
        .build()
        .expect("valid config");
    let (error, _) = fail_beside_a_working_channel(failing, "nostarttls");
    assert!(matches!(error, ChannelError::SmtpTls { .. }), "{error}");
    assert!(error.to_string().contains("STARTTLS"), "{error}");
}
