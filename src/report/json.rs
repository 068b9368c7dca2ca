//! The report as lossless JSON; the schema is documented in the README.

use std::time::SystemTime;

use base64::Engine as _;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::Serialize;

use super::{Entry, ErrorView, Report};
use crate::value::Value;

impl Report {
    /// The report as JSON text (compact).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|error| {
            log::error!(
                "report of {:?} could not be serialized: {error}",
                self.process_name
            );
            String::from("{}")
        })
    }

    /// The report as indented JSON text.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| self.to_json())
    }
}

/// RFC 3339 in UTC with microseconds, e.g. `2026-12-03T18:47:36.123456Z`.
pub fn timestamp(at: SystemTime) -> String {
    let at: chrono::DateTime<chrono::Utc> = at.into();
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let counts = self.counts();
        let mut map = serializer.serialize_map(Some(7))?;
        map.serialize_entry("process_name", &*self.process_name)?;
        map.serialize_entry("started_at", &timestamp(self.started_at()))?;
        map.serialize_entry("finished_at", &timestamp(self.finished_at()))?;
        map.serialize_entry("elapsed_seconds", &self.elapsed.as_secs_f64())?;
        map.serialize_entry("cancelled", &self.cancelled)?;
        map.serialize_entry(
            "counts",
            &serde_json::json!({
                "success": counts.success,
                "errored": counts.errored,
                "skipped": counts.skipped,
                "cancelled": counts.cancelled,
            }),
        )?;
        map.serialize_entry("entries", &Entries(self))?;
        map.end()
    }
}

struct Entries<'r>(&'r Report);

impl Serialize for Entries<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for entry in self.0.entries() {
            seq.serialize_element(&entry)?;
        }
        seq.end()
    }
}

impl Serialize for Entry<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(13))?;
        map.serialize_entry("name", self.name())?;
        map.serialize_entry("function", self.function())?;
        map.serialize_entry("args", &Values(self.args()))?;
        map.serialize_entry("kwargs", &Kwargs(self.kwargs()))?;
        map.serialize_entry("status", self.status().as_str())?;
        map.serialize_entry("elapsed_seconds", &self.elapsed().as_secs_f64())?;
        map.serialize_entry("attempts", &self.attempts())?;
        map.serialize_entry("started_at", &self.started_at().map(timestamp))?;
        map.serialize_entry("finished_at", &timestamp(self.finished_at()))?;
        map.serialize_entry("result", &self.result().as_ref().map(JsonValue))?;
        map.serialize_entry("error", &self.error())?;
        map.serialize_entry("skipped_because", &self.skipped_because())?;
        map.serialize_entry("log_error", &self.log_error())?;
        map.end()
    }
}

impl Serialize for ErrorView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(6))?;
        map.serialize_entry("kind", self.kind().as_str())?;
        map.serialize_entry("message", self.message())?;
        map.serialize_entry("traceback", &self.traceback())?;
        let vars: Vec<_> = self
            .traced_vars()
            .iter()
            .map(|v| serde_json::json!({"name": v.name, "value": v.value}))
            .collect();
        map.serialize_entry("traced_vars", &vars)?;
        map.serialize_entry("traced_vars_location", &self.location())?;
        map.serialize_entry("downstream", &self.downstream().collect::<Vec<_>>())?;
        map.end()
    }
}

struct Values<'a>(&'a [Value]);

impl Serialize for Values<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(JsonValue))
    }
}

struct Kwargs<'a>(&'a [(compact_str::CompactString, Value)]);

impl Serialize for Kwargs<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for (name, value) in self.0 {
            let mut pair = serde_json::Map::new();
            pair.insert("name".into(), name.as_str().into());
            pair.insert("value".into(), value_json(value));
            seq.serialize_element(&pair)?;
        }
        seq.end()
    }
}

/// A value as `{"type": ..., "value": ..., "display": ...}`: the type keeps it lossless
/// (bytes are base64, non-finite floats are the strings `NaN`, `inf`, `-inf`, foreign objects
/// have only their display text).
pub struct JsonValue<'a>(pub &'a Value);

impl Serialize for JsonValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("type", self.0.type_name())?;
        match self.0 {
            Value::Null | Value::Foreign(_) => map.serialize_entry("value", &())?,
            Value::Bool(v) => map.serialize_entry("value", v)?,
            Value::Int(v) => map.serialize_entry("value", v)?,
            Value::Float(v) if v.is_finite() => map.serialize_entry("value", v)?,
            Value::Float(v) => map.serialize_entry("value", &v.to_string())?,
            Value::Text(v) => map.serialize_entry("value", &**v)?,
            Value::Bytes(v) => map.serialize_entry(
                "value",
                &base64::engine::general_purpose::STANDARD.encode(v),
            )?,
            Value::Json(v) => map.serialize_entry("value", &**v)?,
        }
        map.serialize_entry("display", &self.0.to_string())?;
        map.end()
    }
}

/// A value in the JSON form of [`JsonValue`], as a `serde_json::Value`.
pub fn value_json(value: &Value) -> serde_json::Value {
    serde_json::to_value(JsonValue(value)).unwrap_or(serde_json::Value::Null)
}
