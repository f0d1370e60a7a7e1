//! The values that cross the FFI, and their conversion to and from core values.

use almanac_core::{Record, Value};

/// A field value as Swift and Kotlin see it.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum FieldValue {
    /// No value.
    Null,
    /// A boolean.
    Bool {
        /// The value.
        value: bool,
    },
    /// A 64-bit integer.
    Int {
        /// The value.
        value: i64,
    },
    /// A 64-bit float.
    Float {
        /// The value.
        value: f64,
    },
    /// A string.
    Text {
        /// The value.
        value: String,
    },
    /// Raw bytes (structured core values also arrive as their encoded bytes).
    Bytes {
        /// The value.
        value: Vec<u8>,
    },
}

/// One register field of a record: the value shown and the concurrent values not shown.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct Field {
    /// The field's name.
    pub name: String,
    /// The value shown (greatest stamp).
    pub value: FieldValue,
    /// Values written concurrently and not shown, greatest stamp first.
    pub conflicts: Vec<FieldValue>,
}

/// A record as read at one moment.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct RecordSnapshot {
    /// The record's collection.
    pub collection: String,
    /// The record's id.
    pub id: String,
    /// Its register fields, sorted by name.
    pub fields: Vec<Field>,
}

impl From<FieldValue> for Value {
    fn from(value: FieldValue) -> Self {
        match value {
            FieldValue::Null => Value::Null,
            FieldValue::Bool { value } => Value::Bool(value),
            FieldValue::Int { value } => Value::Int(value),
            FieldValue::Float { value } => Value::Float(value),
            FieldValue::Text { value } => Value::Text(value),
            FieldValue::Bytes { value } => Value::Bytes(value),
        }
    }
}

impl From<&Value> for FieldValue {
    fn from(value: &Value) -> Self {
        match value {
            Value::Null => FieldValue::Null,
            Value::Bool(value) => FieldValue::Bool { value: *value },
            Value::Int(value) => FieldValue::Int { value: *value },
            Value::Float(value) => FieldValue::Float { value: *value },
            Value::Text(value) => FieldValue::Text { value: value.clone() },
            Value::Bytes(value) | Value::Structured(value) => {
                FieldValue::Bytes { value: value.clone() }
            }
        }
    }
}

impl From<&Record> for RecordSnapshot {
    fn from(record: &Record) -> Self {
        let fields = record
            .state
            .registers()
            .iter()
            .filter_map(|(name, register)| {
                let shown = register.winner()?;
                let conflicts = register.conflicts().map(|e| FieldValue::from(&e.value)).collect();
                Some(Field {
                    name: name.to_string(),
                    value: FieldValue::from(&shown.value),
                    conflicts,
                })
            })
            .collect();
        RecordSnapshot {
            collection: record.key.collection.clone(),
            id: record.key.id.clone(),
            fields,
        }
    }
}
