//! The webhook channel against a real HTTP server on 127.0.0.1 (started by
//! scripts/test.d/30-channels.sh): payload schema, `nest_under`, `extra_payload`, both
//! signatures checked by the server with Python's hmac module, 500, hang, redirect.

#[path = "support/fixture.rs"]
#[allow(dead_code)] // Shared by several test crates; each uses part of it.
mod fixture;
#[path = "support/servers.rs"]
#[allow(dead_code)] // Shared by several test crates; each uses part of it.
mod servers;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use processes::channels::{
    Channel, ChannelError, ChannelOutcome, NotifyOptions, WebhookBuilder, WebhookChannel,
};
use serde_json::{json, Value};

use fixture::{failing_report, HOSTILE};

const NEEDS: &str = "needs the HTTP server of scripts/test.d/30-channels.sh";
const TIMEOUT: Duration = Duration::from_secs(2);

struct Hooks {
    config: Value,
}

impl Hooks {
    fn new() -> Hooks {
        Hooks {
            config: servers::servers()["webhook"].clone(),
        }
    }

    fn builder(&self, path: &str) -> WebhookBuilder {
        WebhookChannel::builder(format!("{}{path}", servers::text(&self.config, "url")))
            .timeout(TIMEOUT)
    }

    fn secret(&self) -> String {
        servers::text(&self.config, "secret")
    }

    fn received(&self, path: &str) -> Value {
        let folder = PathBuf::from(servers::text(&self.config, "records"));
        servers::wait_for_record(&folder, Duration::from_secs(10), |r| r["path"] == path)
    }
}

fn body(record: &Value) -> Value {
    serde_json::from_str(record["body"].as_str().expect("body")).expect("JSON body")
}

#[test]
#[ignore = "needs the HTTP server of scripts/test.d/30-channels.sh"]
fn posts_the_report_signed_twice() {
    let hooks = Hooks::new();
    let report = failing_report("nightly-hook");
    let channel = hooks
        .builder("/hook/plain")
        .secret(hooks.secret())
        .header("Authorization", "Bearer t0ken")
        .build()
        .expect("valid");

    let outcomes = report
        .notify(&[&channel], &NotifyOptions::new())
        .expect(NEEDS);
    assert!(outcomes[0].is_delivered(), "{}", outcomes[0]);

    let record = hooks.received("/hook/plain");
    assert_eq!(
        record["signature_ok"], true,
        "X-Signature-SHA256 verified by Python"
    );
    assert_eq!(
        record["timestamped_signature_ok"], true,
        "timestamp.body signature"
    );
    let age = record["timestamp_age"].as_f64().expect("timestamp header");
    assert!((-5.0..60.0).contains(&age), "timestamp is now: age {age}");
    assert_eq!(record["headers"]["authorization"], "Bearer t0ken");
    assert_eq!(record["headers"]["content-type"], "application/json");

    let payload = body(&record);
    assert_eq!(payload["process_name"], "nightly-hook");
    assert_eq!(payload["only_errors"], false);
    assert_eq!(
        payload["counts"],
        json!({"success": 3, "errored": 1, "skipped": 2, "cancelled": 0})
    );
    let entries = payload["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 6);
    for entry in entries {
        for key in [
            "name",
            "function",
            "status",
            "elapsed_seconds",
            "attempts",
            "result",
            "error",
        ] {
            assert!(entry.get(key).is_some(), "{key} in {entry}");
        }
    }
    let by_name = |name: &str| {
        entries
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("entry {name}"))
    };
    let extract = by_name("extract");
    assert_eq!(extract["status"], "success");
    assert_eq!(extract["function"], "extract_orders");
    assert_eq!(extract["result"], "42");
    assert_eq!(extract["attempts"], 1);
    assert!(extract["elapsed_seconds"].as_f64().is_some());
    assert_eq!(extract["error"], Value::Null);
    let load = by_name("load");
    assert_eq!(load["status"], "errored");
    assert_eq!(load["result"], Value::Null);
    assert_eq!(load["error"]["message"], HOSTILE);
    assert_eq!(load["error"]["kind"], "error");
    assert_eq!(
        load["error"]["downstream"],
        json!(["publish", "notify_team"])
    );
    assert_eq!(load["error"]["traced_vars_location"], "etl.rs:12");
    assert_eq!(
        load["error"]["traced_vars"][0],
        json!({"name": "batch_size", "value": "500"})
    );
    assert!(load["error"]["traceback"]
        .as_str()
        .expect("traceback")
        .contains("load_orders"));
    assert_eq!(by_name("publish")["skipped_because"], "load");
}

#[test]
#[ignore = "needs the HTTP server of scripts/test.d/30-channels.sh"]
fn nest_under_and_extra_payload_shape_the_body() {
    let hooks = Hooks::new();
    let report = failing_report("nightly-nested");
    let channel = hooks
        .builder("/hook/nested")
        .nest_under("report")
        .extra_payload(json!({"text": "nightly failed", "report": "extra wins", "channel": "#ops"}))
        .build()
        .expect("valid");
    let nested_only = hooks
        .builder("/hook/nested-only")
        .nest_under("report")
        .extra_payload(json!({"text": "nightly failed"}))
        .build()
        .expect("valid");
    let options = NotifyOptions::new().only_errors(true);
    let channels: [&dyn Channel; 2] = [&channel, &nested_only];
    let outcomes = report.notify(&channels, &options).expect(NEEDS);
    assert!(outcomes.iter().all(ChannelOutcome::is_delivered));

    let record = hooks.received("/hook/nested");
    assert!(
        record["headers"].get("x-signature-sha256").is_none(),
        "unsigned"
    );
    let payload = body(&record);
    assert_eq!(
        payload,
        json!({"text": "nightly failed", "report": "extra wins", "channel": "#ops"}),
        "extra payload keys win over the nested report"
    );

    let payload = body(&hooks.received("/hook/nested-only"));
    assert_eq!(payload["text"], "nightly failed");
    assert!(
        payload.get("process_name").is_none(),
        "generic fields are nested"
    );
    assert_eq!(payload["report"]["process_name"], "nightly-nested");
    assert_eq!(payload["report"]["only_errors"], true);
    let entries = payload["report"]["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["name"], "load");
}

#[test]
#[ignore = "needs the HTTP server of scripts/test.d/30-channels.sh"]
fn a_500_a_hang_and_a_redirect_are_errors_and_others_still_deliver() {
    let hooks = Hooks::new();
    let report = failing_report("nightly-faults");
    let failing = hooks.builder("/fail").build().expect("valid");
    let hanging = hooks.builder("/hang").build().expect("valid");
    let redirect = hooks.builder("/redirect").build().expect("valid");
    let working = hooks.builder("/hook/after-faults").build().expect("valid");

    let started = Instant::now();
    let channels: [&dyn Channel; 4] = [&failing, &hanging, &redirect, &working];
    let outcomes = report
        .notify(&channels, &NotifyOptions::new())
        .expect(NEEDS);
    let elapsed = started.elapsed();
    for outcome in &outcomes {
        eprintln!("webhook faults: {outcome}");
    }
    eprintln!("webhook faults: all four channels took {elapsed:?}");

    match outcomes[0].error() {
        Some(ChannelError::WebhookStatus { status, body, .. }) => {
            assert_eq!(*status, 500);
            assert_eq!(body, "database unavailable");
        }
        _ => panic!("500 must be an error: {}", outcomes[0]),
    }
    assert!(
        matches!(outcomes[1].error(), Some(ChannelError::WebhookTimeout { timeout, .. }) if *timeout == TIMEOUT),
        "{}",
        outcomes[1]
    );
    match outcomes[2].error() {
        Some(ChannelError::WebhookStatus { status, body, .. }) => {
            assert_eq!(*status, 302);
            assert!(body.contains("not followed"), "{body}");
        }
        _ => panic!("a redirect must not be followed: {}", outcomes[2]),
    }
    assert!(outcomes[3].is_delivered(), "{}", outcomes[3]);
    hooks.received("/hook/after-faults");
    assert!(
        elapsed < TIMEOUT * 2,
        "the hang cost more than its timeout: {elapsed:?}"
    );
}
