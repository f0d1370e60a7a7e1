//! Field values: what one register holds.

use std::cmp::Ordering;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::codec;
use crate::error::Result;

/// A value stored in a register.
///
/// `Structured` holds a small serde value (the calendar layer keeps an event's whole `timing` or
/// `rule` in one register this way) in Almanac's versioned encoding; build it with
/// [`Value::structured`] and read it back with [`Value::decode`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Value {
    /// No value (a cleared field).
    Null,
    /// A boolean.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float. Compared bit for bit, so `NaN` equals itself and replicas agree.
    Float(f64),
    /// A UTF-8 string.
    Text(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
    /// A serde value in Almanac's versioned encoding.
    Structured(Vec<u8>),
}

impl Value {
    /// Encodes a serde value as a `Structured` value.
    pub fn structured<T: Serialize>(value: &T) -> Result<Value> {
        Ok(Value::Structured(codec::encode(codec::Kind::Structured, value)?))
    }

    /// Decodes a `Structured` value written by [`Value::structured`].
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        match self {
            Value::Structured(bytes) => codec::decode(codec::Kind::Structured, bytes),
            other => Err(crate::Error::InvalidInput(format!(
                "expected a structured value, found {}",
                other.kind_name()
            ))),
        }
    }

    /// A short name of the value's kind, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            Value::Structured(_) => "structured",
        }
    }

    /// The text, if this is a `Text` value.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The integer, if this is an `Int` value.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Int(_) => 2,
            Value::Float(_) => 3,
            Value::Text(_) => 4,
            Value::Bytes(_) => 5,
            Value::Structured(_) => 6,
        }
    }
}

/// A total order, so min/max registers agree on every replica: first by kind, then by content
/// (floats by IEEE total order, structured values by their encoding).
impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            (Value::Float(a), Value::Float(b)) => a.total_cmp(b),
            (Value::Text(a), Value::Text(b)) => a.cmp(b),
            (Value::Bytes(a), Value::Bytes(b)) | (Value::Structured(a), Value::Structured(b)) => {
                a.cmp(b)
            }
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Value {}

impl From<&str> for Value {
    fn from(text: &str) -> Self {
        Value::Text(text.to_owned())
    }
}

impl From<String> for Value {
    fn from(text: String) -> Self {
        Value::Text(text)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}

impl From<Vec<u8>> for Value {
    fn from(bytes: Vec<u8>) -> Self {
        Value::Bytes(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_equals_itself_so_replicas_agree() {
        assert_eq!(Value::Float(f64::NAN), Value::Float(f64::NAN));
    }

    #[test]
    fn order_is_by_kind_then_content() {
        assert!(Value::Null < Value::Bool(false));
        assert!(Value::Int(5) < Value::Int(7));
        assert!(Value::Int(i64::MAX) < Value::Text(String::new()));
    }

    #[test]
    fn structured_values_round_trip() -> Result<()> {
        let value = Value::structured(&("2026-11-26", 42u32))?;
        assert_eq!(value.decode::<(String, u32)>()?, ("2026-11-26".to_owned(), 42));
        assert!(Value::Int(1).decode::<u32>().is_err());
        Ok(())
    }
}
