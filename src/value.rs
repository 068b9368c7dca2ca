//! Values that flow between tasks: static arguments, results and traced variables.
//!
//! A [`Value`] is cheap to clone: scalars are stored inline and everything larger sits behind
//! an [`Arc`], so a result injected into many dependents is shared, never deep-copied.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// An object owned by a host language (a Go value, a JS object, a C struct) that travels
/// through the graph untouched.
///
/// The core never looks inside it: it only keeps it alive while any task or report holds it,
/// drops it exactly once when the last holder lets go, and shows [`ForeignObject::display`]
/// in logs, reports and JSON.
pub trait ForeignObject: Send + Sync {
    /// Text shown for the object in logs, reports and JSON.
    fn display(&self) -> String;

    /// The object as [`Any`], so the front end that created it can get its own type back.
    fn as_any(&self) -> &dyn Any;
}

/// An argument, a result, or a traced variable.
#[derive(Clone, Default)]
pub enum Value {
    /// No value.
    #[default]
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed 64-bit integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// UTF-8 text.
    Text(Arc<str>),
    /// Raw bytes.
    Bytes(Arc<[u8]>),
    /// A JSON document.
    Json(Arc<serde_json::Value>),
    /// An object owned by a host language.
    Foreign(Arc<dyn ForeignObject>),
}

impl Value {
    /// The name of the variant as it appears in the JSON report (`"int"`, `"text"`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            Value::Json(_) => "json",
            Value::Foreign(_) => "foreign",
        }
    }

    /// A JSON value built from text; fails when the text is not valid JSON.
    pub fn json_from_str(text: &str) -> Result<Value, serde_json::Error> {
        Ok(Value::Json(Arc::new(serde_json::from_str(text)?)))
    }

    /// The integer, if this is [`Value::Int`].
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The float, if this is [`Value::Float`] (an [`Value::Int`] is widened).
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Value::Float(v) => Some(*v),
            Value::Int(v) => Some(*v as f64),
            _ => None,
        }
    }

    /// The boolean, if this is [`Value::Bool`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(v) => Some(*v),
            _ => None,
        }
    }

    /// The text, if this is [`Value::Text`].
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(v) => Some(v),
            _ => None,
        }
    }

    /// The bytes, if this is [`Value::Bytes`].
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(v) => Some(v),
            _ => None,
        }
    }

    /// The JSON document, if this is [`Value::Json`].
    pub fn as_json(&self) -> Option<&serde_json::Value> {
        match self {
            Value::Json(v) => Some(v),
            _ => None,
        }
    }

    /// The host object, if this is [`Value::Foreign`].
    pub fn as_foreign(&self) -> Option<&Arc<dyn ForeignObject>> {
        match self {
            Value::Foreign(v) => Some(v),
            _ => None,
        }
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether two values are the same object (for shared variants) or equal (for scalars).
    ///
    /// Used to prove that an injected result is shared rather than copied.
    pub fn same_as(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Text(a), Value::Text(b)) => Arc::ptr_eq(a, b),
            (Value::Bytes(a), Value::Bytes(b)) => Arc::ptr_eq(a, b),
            (Value::Json(a), Value::Json(b)) => Arc::ptr_eq(a, b),
            (Value::Foreign(a), Value::Foreign(b)) => Arc::ptr_eq(a, b),
            _ => self == other,
        }
    }
}

/// The display form used in logs, reports and the `display` field of the JSON report: text as
/// is, bytes as `b"..."` with escapes, JSON compact, floats in shortest round-trip form.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v:?}"),
            Value::Text(v) => f.write_str(v),
            Value::Bytes(v) => write!(f, "b\"{}\"", v.escape_ascii()),
            Value::Json(v) => write!(f, "{v}"),
            Value::Foreign(v) => f.write_str(&v.display()),
        }
    }
}

/// Like [`fmt::Display`], but text is quoted so that argument lists read unambiguously.
impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Text(v) => write!(f, "{:?}", &**v),
            Value::Foreign(v) => write!(f, "<{}>", v.display()),
            other => fmt::Display::fmt(other, f),
        }
    }
}

/// Scalars compare by value (floats bitwise, so NaN equals itself), shared variants by content;
/// foreign objects only by identity.
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Text(a), Value::Text(b)) => a == b,
            (Value::Bytes(a), Value::Bytes(b)) => a == b,
            (Value::Json(a), Value::Json(b)) => a == b,
            (Value::Foreign(a), Value::Foreign(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl From<()> for Value {
    fn from(_: ()) -> Value {
        Value::Null
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::Int(v.into())
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Value {
        Value::Int(v.into())
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.into())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v.into())
    }
}

impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Value {
        Value::Bytes(v.into())
    }
}

impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Value {
        Value::Bytes(v.into())
    }
}

impl From<serde_json::Value> for Value {
    fn from(v: serde_json::Value) -> Value {
        Value::Json(Arc::new(v))
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Handle(u32);

    impl ForeignObject for Handle {
        fn display(&self) -> String {
            format!("handle #{}", self.0)
        }

        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    #[test]
    fn display_forms() {
        assert_eq!(Value::Null.to_string(), "null");
        assert_eq!(Value::from(1.5).to_string(), "1.5");
        assert_eq!(Value::from(2.0).to_string(), "2.0");
        assert_eq!(Value::from("hi").to_string(), "hi");
        assert_eq!(format!("{:?}", Value::from("hi")), "\"hi\"");
        assert_eq!(Value::from(vec![0u8, b'a']).to_string(), "b\"\\x00a\"");
        assert_eq!(
            Value::from(serde_json::json!({"a": 1})).to_string(),
            "{\"a\":1}"
        );
        let foreign = Value::Foreign(Arc::new(Handle(7)));
        assert_eq!(foreign.to_string(), "handle #7");
        let back = foreign
            .as_foreign()
            .unwrap()
            .as_any()
            .downcast_ref::<Handle>()
            .unwrap();
        assert_eq!(back.0, 7);
    }

    #[test]
    fn clones_share_storage() {
        let text = Value::from("shared");
        assert!(text.same_as(&text.clone()));
        assert!(!text.same_as(&Value::from("shared")));
        assert_eq!(text, Value::from("shared"));
    }
}
