//! The report's views and its lossless JSON.

mod common;

use std::time::{Duration, SystemTime};

use processes::{Process, RunOptions, Status, Task, TaskError, Value};

fn report() -> processes::Report {
    let tasks = vec![
        Task::new("values", |_| {
            Ok::<_, TaskError>(Value::from(serde_json::json!({"rows": [1, 2], "ok": true})))
        })
        .arg(1.5)
        .arg(f64::NAN)
        .arg(vec![0u8, 255])
        .arg(i64::MAX)
        .kwarg("label", "quoted \"text\"")
        .kwarg("none", Value::Null)
        .function("make_values"),
        Task::new("explode", |ctx| {
            ctx.trace("row", 17);
            ctx.trace("path", "/tmp/x");
            Err::<Value, _>(TaskError::new("bad <row>").traceback("frame one\nframe two"))
        }),
        common::ok("child", 1).after("explode"),
        common::ok("grandchild", 1).after("child"),
    ];
    Process::new("json", tasks)
        .unwrap()
        .run(RunOptions::new())
        .unwrap()
}

#[test]
fn json_has_every_field_in_topological_order() {
    let report = report();
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["process_name"], "json");
    assert_eq!(json["cancelled"], false);
    assert_eq!(json["counts"]["errored"], 1);
    let entries = json["entries"].as_array().unwrap();
    let names: Vec<_> = entries
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["values", "explode", "child", "grandchild"]);

    let values = &entries[0];
    assert_eq!(values["function"], "make_values");
    assert_eq!(values["status"], "success");
    assert_eq!(values["attempts"], 1);
    assert!(values["elapsed_seconds"].as_f64().unwrap() >= 0.0);
    assert!(values["started_at"].as_str().unwrap().ends_with('Z'));
    let args = values["args"].as_array().unwrap();
    assert_eq!(
        args[0],
        serde_json::json!({"type": "float", "value": 1.5, "display": "1.5"})
    );
    assert_eq!(args[1]["value"], "NaN");
    assert_eq!(
        args[2],
        serde_json::json!({"type": "bytes", "value": "AP8=", "display": "b\"\\x00\\xff\""})
    );
    assert_eq!(
        args[3]["value"].as_i64(),
        Some(i64::MAX),
        "integers stay exact"
    );
    assert_eq!(values["kwargs"][0]["name"], "label");
    assert_eq!(values["kwargs"][0]["value"]["value"], "quoted \"text\"");
    assert_eq!(values["kwargs"][1]["value"]["type"], "null");
    assert_eq!(values["result"]["type"], "json");
    assert_eq!(values["result"]["value"]["rows"][1], 2);
    assert_eq!(values["error"], serde_json::Value::Null);

    let explode = &entries[1];
    assert_eq!(explode["status"], "errored");
    assert_eq!(explode["result"], serde_json::Value::Null);
    let error = &explode["error"];
    assert_eq!(error["kind"], "error");
    assert_eq!(error["message"], "bad <row>");
    assert_eq!(error["traceback"], "frame one\nframe two");
    assert_eq!(
        error["traced_vars"][0],
        serde_json::json!({"name": "row", "value": "17"})
    );
    assert_eq!(error["traced_vars"][1]["value"], "\"/tmp/x\"");
    assert_eq!(
        error["downstream"],
        serde_json::json!(["child", "grandchild"])
    );

    let child = &entries[2];
    assert_eq!(child["status"], "skipped");
    assert_eq!(child["skipped_because"], "explode");
    assert_eq!(child["started_at"], serde_json::Value::Null);
    assert_eq!(entries[3]["skipped_because"], "child");
}

#[test]
fn views_and_timestamps_agree() {
    let report = report();
    assert_eq!(
        report.successes().map(|e| e.name()).collect::<Vec<_>>(),
        ["values"]
    );
    assert_eq!(
        report.errored().map(|e| e.name()).collect::<Vec<_>>(),
        ["explode"]
    );
    assert_eq!(report.skipped().count(), 2);
    assert!(report.with_status(Status::Cancelled).next().is_none());
    let values = report.entry("VALUES").unwrap();
    assert!(values.started_at().unwrap() >= report.started_at());
    assert!(values.finished_at() <= report.finished_at() + Duration::from_millis(1));
    assert!(report.finished_at() <= SystemTime::now());
    assert_eq!(values.args().len(), 4);
    let pretty = report.to_json_pretty();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&pretty).unwrap(),
        serde_json::from_str::<serde_json::Value>(&report.to_json()).unwrap()
    );
}
