//! Channels without a server: rendering in every palette and language, the notify filters,
//! channel isolation (errors and panics), and the HTML file channel.

#[path = "support/fixture.rs"]
#[allow(dead_code)] // Shared by several test crates; each uses part of it.
mod fixture;

use std::cell::RefCell;
use std::time::Duration;

use processes::channels::{
    render, Channel, ChannelError, ChannelOutcome, Delivery, HtmlFileChannel, Language,
    NotifyError, NotifyOptions, Palette, SkipReason, Style, WebhookChannel,
};
use processes::Status;

use fixture::{failing_report, passing_report, subject_date, HOSTILE};

/// The escaped form of [`HOSTILE`] as ramhorns writes it.
const HOSTILE_ESCAPED: &str =
    "row 7 &lt;script&gt;alert('x')&lt;/script&gt; &amp; &quot;quoted&quot;";

fn palette_color(palette: Palette, name: &str) -> String {
    let css = std::fs::read_to_string(format!(
        "{}/src/channels/palettes/{}.css",
        env!("CARGO_MANIFEST_DIR"),
        palette.name()
    ))
    .expect("palette file");
    let line = css
        .lines()
        .find(|l| l.trim().starts_with(&format!("--{name}:")))
        .expect("color in palette");
    line.split(':')
        .nth(1)
        .expect("value")
        .trim()
        .trim_end_matches(';')
        .to_owned()
}

fn strings(language: Language) -> serde_json::Value {
    let text = std::fs::read_to_string(format!(
        "{}/src/channels/i18n/{}.json",
        env!("CARGO_MANIFEST_DIR"),
        language.code()
    ))
    .expect("language file");
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn every_palette_and_language_renders() {
    let report = failing_report("nightly <etl>");
    let delivery = Delivery::all(&report);
    let date = subject_date(&report);
    let english = strings(Language::En);
    for palette in Palette::ALL {
        for language in Language::ALL {
            let style = Style {
                palette,
                language,
                ..Style::default()
            };
            let rendered = render(&delivery, &style).expect("renders");
            let t = strings(language);
            let tr = |key: &str| t[key].as_str().expect("string").to_owned();
            let html = &rendered.html;

            assert_eq!(
                rendered.subject,
                format!("{}: nightly <etl> | {date}", tr("subject")),
                "{palette}/{language}"
            );
            assert!(html.starts_with("<!DOCTYPE html>"));
            assert!(html.contains(&format!("<html lang=\"{}\">", language.code())));
            assert!(html.contains(&palette_color(palette, "errored-bg")));
            assert!(html.contains(&palette_color(palette, "bg")));
            assert!(html.contains("nightly &lt;etl&gt;"));
            for key in [
                "status_success",
                "status_errored",
                "status_skipped",
                "traceback",
            ] {
                assert!(html.contains(&tr(key)), "{palette}/{language}: {key}");
            }
            // Every language is translated, not English with another lang attribute.
            if language != Language::En {
                assert_ne!(tr("subject"), english["subject"].as_str().expect("string"));
            }
            // Every {{tag}} was filled: no template syntax survives.
            assert!(!html.contains("{{") && !rendered.text.contains("{{"));
            for name in [
                "extract",
                "transform",
                "load",
                "publish",
                "notify_team",
                "audit",
            ] {
                assert!(html.contains(&format!("data-task=\"{name}\"")), "{name}");
                assert!(rendered.text.contains(&format!("] {name}\n")), "{name}");
            }
            assert!(html.contains(HOSTILE_ESCAPED));
            assert!(!html.contains("<script>"));
            assert!(rendered.text.contains(HOSTILE), "plain text is not escaped");
        }
    }
}

#[test]
fn failures_open_with_message_downstream_traceback_and_vars() {
    let report = failing_report("nightly");
    let html = render(&Delivery::all(&report), &Style::default())
        .expect("renders")
        .html;

    let open: Vec<_> = html.lines().filter(|l| l.starts_with("<details")).collect();
    assert_eq!(open.len(), 6);
    for line in &open {
        let errored = line.contains("data-status=\"errored\"");
        assert_eq!(line.ends_with(" open>"), errored, "{line}");
    }
    let load = &html[html.find("data-task=\"load\"").expect("load row")..];
    let load = &load[..load.find("</details>").expect("end of row")];
    assert!(load.contains("<span class=\"badge status-errored\">Error</span>"));
    assert!(load.contains("<code>load_orders</code>"));
    assert!(load.contains("<li>publish</li><li>notify_team</li>"));
    assert!(load.contains("<pre class=\"traceback\">Traceback:\n  at load_orders (etl.rs:12)"));
    assert!(load.contains("<code>etl.rs:12</code>"));
    assert!(load.contains("<td><code>batch_size</code></td><td><code>500</code></td>"));
    assert!(load.contains("<td><code>table</code></td><td><code>&lt;orders&gt;</code></td>"));

    let publish = &html[html.find("data-task=\"publish\"").expect("publish row")..];
    assert!(publish.contains("<span class=\"badge status-skipped\">Skipped</span>"));
    assert!(publish.contains("<code class=\"cause\">load</code>"));

    let text = render(&Delivery::all(&report), &Style::default())
        .expect("renders")
        .text;
    assert!(text.contains("[Error] load\n"));
    assert!(text.contains("Tasks it took down: publish notify_team\n"));
    assert!(text.contains("    at load_orders (etl.rs:12)\n"));
    assert!(text.contains("    batch_size = 500\n"));
}

#[test]
fn traceback_and_vars_can_be_hidden() {
    let report = failing_report("nightly");
    let style = Style {
        show_traceback: false,
        show_traced_vars: false,
        ..Style::default()
    };
    let rendered = render(&Delivery::all(&report), &style).expect("renders");
    assert!(!rendered.html.contains("etl.rs:12"));
    assert!(!rendered.html.contains("batch_size"));
    assert!(rendered.html.contains(HOSTILE_ESCAPED));
    assert!(!rendered.text.contains("batch_size"));
}

/// Records what it was asked to send.
struct Recorder {
    seen: RefCell<Vec<Vec<(String, Status)>>>,
}

impl Recorder {
    fn new() -> Recorder {
        Recorder {
            seen: RefCell::new(Vec::new()),
        }
    }

    fn last(&self) -> Vec<String> {
        let seen = self.seen.borrow();
        let last = seen.last().expect("called");
        last.iter().map(|(name, _)| name.clone()).collect()
    }
}

impl Channel for Recorder {
    fn describe(&self) -> String {
        "recorder".into()
    }

    fn send(&self, delivery: &Delivery<'_>) -> Result<(), ChannelError> {
        let entries = delivery
            .entries()
            .iter()
            .map(|e| (e.name().to_owned(), e.status()))
            .collect();
        self.seen.borrow_mut().push(entries);
        Ok(())
    }
}

#[test]
fn filters_select_and_compose() {
    let report = failing_report("nightly");
    let recorder = Recorder::new();
    let channels: [&dyn Channel; 1] = [&recorder];

    let outcomes = report
        .notify(&channels, &NotifyOptions::new())
        .expect("notify");
    assert!(outcomes[0].is_delivered());
    assert_eq!(recorder.last().len(), 6);

    report
        .notify(&channels, &NotifyOptions::new().only_errors(true))
        .expect("notify");
    assert_eq!(recorder.last(), ["load"]);

    report
        .notify(&channels, &NotifyOptions::new().tasks(["AUDIT", "Publish"]))
        .expect("notify");
    let in_order: Vec<_> = report
        .entries()
        .map(|e| e.name().to_owned())
        .filter(|n| n == "audit" || n == "publish")
        .collect();
    assert_eq!(recorder.last(), in_order, "filtered, in topological order");

    let both = NotifyOptions::new()
        .only_errors(true)
        .tasks(["load", "audit"]);
    report.notify(&channels, &both).expect("notify");
    assert_eq!(recorder.last(), ["load"]);

    let calls = recorder.seen.borrow().len();
    let none = NotifyOptions::new()
        .only_errors(true)
        .tasks(["audit", "extract"]);
    let outcomes = report.notify(&channels, &none).expect("notify");
    assert!(matches!(
        outcomes[0],
        ChannelOutcome::Skipped(SkipReason::NoErrors)
    ));
    assert_eq!(
        recorder.seen.borrow().len(),
        calls,
        "a skipped channel is not called"
    );

    let passing = passing_report("fine");
    let outcomes = passing
        .notify(&channels, &NotifyOptions::new().only_errors(true))
        .expect("notify");
    assert!(matches!(
        outcomes[0],
        ChannelOutcome::Skipped(SkipReason::NoErrors)
    ));
}

#[test]
fn an_unknown_task_in_the_filter_is_refused_before_any_channel() {
    let report = failing_report("nightly");
    let recorder = Recorder::new();
    let error = report
        .notify(
            &[&recorder as &dyn Channel],
            &NotifyOptions::new().tasks(["lod"]),
        )
        .expect_err("unknown task");
    assert_eq!(
        error,
        NotifyError::UnknownTask {
            process: "nightly".into(),
            task: "lod".into()
        }
    );
    assert!(error.to_string().contains("field `tasks` names \"lod\""));
    assert!(recorder.seen.borrow().is_empty());
}

struct Failing;

impl Channel for Failing {
    fn describe(&self) -> String {
        "failing".into()
    }

    fn send(&self, _: &Delivery<'_>) -> Result<(), ChannelError> {
        Err(ChannelError::Other {
            channel: self.describe(),
            source: "relay is down".into(),
        })
    }
}

struct Panicking;

impl Channel for Panicking {
    fn describe(&self) -> String {
        "panicking".into()
    }

    fn send(&self, _: &Delivery<'_>) -> Result<(), ChannelError> {
        panic!("channel bug")
    }
}

#[test]
fn a_failing_or_panicking_channel_does_not_stop_the_others() {
    let report = failing_report("nightly");
    let first = Recorder::new();
    let last = Recorder::new();
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let webhook = WebhookChannel::builder(format!("http://127.0.0.1:{closed}/hook"))
        .timeout(Duration::from_secs(5))
        .build()
        .expect("valid");
    let channels: Vec<Box<dyn Channel + '_>> = vec![
        Box::new(Failing),
        Box::new(Panicking),
        Box::new(webhook),
        Box::new(&first),
        Box::new(&last),
    ];
    let channels: Vec<&dyn Channel> = channels.iter().map(|c| c.as_ref()).collect();
    let outcomes = report
        .notify(&channels, &NotifyOptions::new())
        .expect("notify");

    assert_eq!(outcomes.len(), 5);
    assert_eq!(outcomes[0].to_string(), "failed: failing: relay is down");
    assert!(
        matches!(&outcomes[1], ChannelOutcome::Failed(ChannelError::Panicked { message, .. }) if message == "channel bug")
    );
    assert!(
        matches!(
            outcomes[2].error(),
            Some(ChannelError::WebhookConnect { .. })
        ),
        "{}",
        outcomes[2]
    );
    assert!(outcomes[3].is_delivered() && outcomes[4].is_delivered());
    assert_eq!(first.last().len(), 6);
}

#[test]
fn the_html_file_channel_writes_the_email_html() {
    let report = failing_report("nightly");
    let folder = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("channels-file");
    let path = folder.join("report.html");
    let _ = std::fs::remove_file(&path);
    let channel = HtmlFileChannel::builder(&path)
        .palette("neobones")
        .language("it")
        .build()
        .expect("valid");
    let outcomes = report
        .notify(&[&channel], &NotifyOptions::new())
        .expect("notify");
    assert!(outcomes[0].is_delivered(), "{}", outcomes[0]);

    let written = std::fs::read_to_string(&path).expect("file written");
    let style = Style {
        palette: Palette::Neobones,
        language: Language::It,
        ..Style::default()
    };
    let expected = render(&Delivery::all(&report), &style)
        .expect("renders")
        .html;
    assert_eq!(written, expected);
    assert!(written.contains("<html lang=\"it\">"));
}

#[test]
fn counts_follow_the_task_filter_and_a_cancelled_run_says_so() {
    let report = failing_report("nightly");
    let options = NotifyOptions::new()
        .only_errors(true)
        .tasks(["load", "audit"]);
    let delivery = Delivery::new(&report, &options).expect("known tasks");
    let counts = delivery.counts();
    assert_eq!((counts.success, counts.errored, counts.skipped), (1, 1, 0));
    assert_eq!(delivery.entries().len(), 1);

    let token = processes::CancelToken::new();
    token.cancel();
    let tasks = vec![processes::Task::new("never", |_| {
        Ok::<_, processes::TaskError>(1i64)
    })];
    let process = processes::Process::new("stopped", tasks).expect("valid");
    let cancelled = process
        .run(processes::RunOptions::new().cancel_token(token))
        .expect("runs");
    assert!(cancelled.was_cancelled());
    let rendered = render(&Delivery::all(&cancelled), &Style::default()).expect("renders");
    assert!(rendered
        .html
        .contains("The run was cancelled before every task ended."));
    assert!(rendered
        .html
        .contains("<span class=\"badge status-cancelled\">Cancelled</span>"));
    assert!(rendered
        .html
        .contains("data-status=\"cancelled\"><span class=\"count\">1</span>"));
}
