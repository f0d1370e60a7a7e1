//! Read views of records: what apps see (winners), and what the conflict log shows.

use std::collections::BTreeMap;

use crate::crdt::{
    FieldPath, Member, MvRegister, RecordKey, RecordState, ShadowedEdit, SpaceId, Value,
};

/// A record as read from a store: its key and replicated state, with accessors for the shown
/// values and their conflicts.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Record {
    /// The space the record belongs to.
    pub space: SpaceId,
    /// Where the record lives within its space.
    pub key: RecordKey,
    /// The full replicated state (every candidate, every keyed-map member).
    pub state: RecordState,
}

/// One register whose value is contested.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FieldConflict {
    /// Which register.
    pub path: FieldPath,
    /// The value shown (the greatest stamp).
    pub shown: Value,
    /// The concurrent values not shown, greatest stamp first.
    pub candidates: Vec<Value>,
}

/// What the conflict log holds for one record.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Conflicts {
    /// The record's space.
    pub space: SpaceId,
    /// The record.
    pub key: RecordKey,
    /// Whether the record is deleted (its shadowed edits are then listed too).
    pub deleted: bool,
    /// Registers with concurrent values.
    pub fields: Vec<FieldConflict>,
    /// Edits made concurrently with the record's deletion, kept for restore.
    pub shadowed: Vec<ShadowedEdit>,
}

impl Record {
    /// The shown value of register `field`.
    pub fn value(&self, field: &str) -> Option<&Value> {
        self.state.registers().get(field).and_then(MvRegister::winner).map(|e| &e.value)
    }

    /// The concurrent values of register `field` that are not shown, greatest stamp first.
    pub fn conflicts(&self, field: &str) -> Vec<&Value> {
        self.state
            .registers()
            .get(field)
            .map(|r| r.conflicts().map(|e| &e.value).collect())
            .unwrap_or_default()
    }

    /// The shown values of every register field, by name.
    pub fn values(&self) -> BTreeMap<&str, &Value> {
        let registers = self.state.registers().iter();
        registers.filter_map(|(name, r)| Some((name.as_str(), &r.winner()?.value))).collect()
    }

    /// The present members of keyed map `field`, by key.
    pub fn members(&self, field: &str) -> BTreeMap<&str, &Member> {
        let members = self.state.maps().get(field).into_iter().flatten();
        members.filter(|(_, m)| m.is_present()).map(|(key, m)| (key.as_str(), m)).collect()
    }

    /// The value of min register `field`.
    pub fn min(&self, field: &str) -> Option<&Value> {
        self.state.minimums().get(field).and_then(|r| r.entry()).map(|e| &e.value)
    }

    /// The value of max register `field`.
    pub fn max(&self, field: &str) -> Option<&Value> {
        self.state.maximums().get(field).and_then(|r| r.entry()).map(|e| &e.value)
    }

    /// Whether the record is deleted.
    pub fn is_deleted(&self) -> bool {
        self.state.is_deleted()
    }

    /// The record's entry in the conflict log, if it has one.
    pub fn conflict_report(&self) -> Option<Conflicts> {
        let mut fields = Vec::new();
        let mut note = |path: FieldPath, register: &MvRegister<Value>| {
            let candidates: Vec<Value> =
                register.conflicting_values().into_iter().cloned().collect();
            if let Some(shown) = register.winner().filter(|_| !candidates.is_empty()) {
                fields.push(FieldConflict { path, shown: shown.value.clone(), candidates });
            }
        };
        for (name, register) in self.state.registers() {
            note(FieldPath::Register(name.to_string()), register);
        }
        for (name, members) in self.state.maps() {
            for (key, member) in members {
                for (field, register) in member.fields() {
                    note(
                        FieldPath::Member(name.to_string(), key.clone(), field.to_string()),
                        register,
                    );
                }
            }
        }
        let shadowed = self.state.shadowed_edits();
        if fields.is_empty() && shadowed.is_empty() {
            return None;
        }
        Some(Conflicts {
            space: self.space.clone(),
            key: self.key.clone(),
            deleted: self.is_deleted(),
            fields,
            shadowed,
        })
    }
}
