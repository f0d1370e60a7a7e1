//! The add-wins keyed map (attendees, alarms, categories): members are small records of
//! registers, keyed by a string.
//!
//! Presence is itself a multi-value register of booleans: adding or updating a member writes
//! `true`, removing writes `false` and clears the member's fields. A concurrent add (or update)
//! and remove leave both a `true` and a `false` entry; the member is present if any entry is
//! `true`, which is exactly "add wins". The `false` entries are the member's tombstone, bounded
//! like any register by the number of concurrent writers.

use std::collections::BTreeMap;

use super::{Dot, FieldName, Hlc, MvRegister, Value, VersionVector};

/// One member of a keyed map.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Member {
    presence: MvRegister<bool>,
    fields: BTreeMap<FieldName, MvRegister<Value>>,
}

impl Member {
    /// A member with these parts (as decoded from storage).
    pub(crate) fn from_parts(
        presence: MvRegister<bool>,
        fields: BTreeMap<FieldName, MvRegister<Value>>,
    ) -> Self {
        Self { presence, fields }
    }

    /// The presence register: `true` entries are adds, `false` entries removes.
    pub fn presence(&self) -> &MvRegister<bool> {
        &self.presence
    }

    /// Whether the member is in the map (some add or update not seen by any remove).
    pub fn is_present(&self) -> bool {
        self.presence.entries().iter().any(|e| e.value)
    }

    /// Sets one field of the member, adding the member if absent.
    pub fn set(&mut self, field: &str, value: Value, dot: Dot, hlc: Hlc) {
        self.presence.write(true, dot, hlc);
        self.fields.entry(FieldName::new(field)).or_default().write(value, dot, hlc);
    }

    /// Removes the member and every field value the remover has seen.
    pub fn remove(&mut self, dot: Dot, hlc: Hlc) {
        self.presence.write(false, dot, hlc);
        self.fields.clear();
    }

    /// The member's field registers.
    pub fn fields(&self) -> &BTreeMap<FieldName, MvRegister<Value>> {
        &self.fields
    }

    /// Merges a whole remote member into this one (see [`MvRegister::join`]). Returns whether
    /// the member changed.
    pub fn join(
        &mut self,
        other: &Member,
        local_seen: &VersionVector,
        remote_seen: &VersionVector,
    ) -> bool {
        let mut changed = self.presence.join(&other.presence, local_seen, remote_seen);
        let names: Vec<FieldName> =
            self.fields.keys().chain(other.fields.keys()).cloned().collect();
        let empty = MvRegister::default();
        for name in names {
            let remote = other.fields.get(name.as_str()).unwrap_or(&empty);
            let local = self.fields.entry(name.clone()).or_default();
            // A register that was absent and stays empty is removed again: no change.
            changed |= local.join(remote, local_seen, remote_seen);
            if local.is_empty() {
                self.fields.remove(name.as_str());
            }
        }
        changed
    }

    /// Drops the `false` presence entries (removals) whose dots are in `stable`; returns
    /// whether any went. See `stability.rs` for why that is invisible.
    pub(crate) fn drop_stable_removals(&mut self, stable: &VersionVector) -> bool {
        let before = self.presence.entries().len();
        self.presence.retain(|e| e.value || !stable.contains(&e.dot));
        self.presence.entries().len() != before
    }

    /// The presence register and every field register, for rewriting entries in place (see
    /// `restamp.rs`).
    pub(crate) fn registers_mut(
        &mut self,
    ) -> (&mut MvRegister<bool>, impl Iterator<Item = &mut MvRegister<Value>>) {
        (&mut self.presence, self.fields.values_mut())
    }

    /// Whether the member holds no entry at all (nothing of it is left to merge or show).
    pub(crate) fn is_empty(&self) -> bool {
        self.presence.is_empty() && self.fields.is_empty()
    }

    /// Whether any entry of the member was written by a dot `seen` does not contain.
    pub fn has_unseen(&self, seen: &VersionVector) -> bool {
        self.presence.has_unseen(seen) || self.fields.values().any(|r| r.has_unseen(seen))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::testing::{dot, vv};

    #[test]
    fn conflict_case_12_concurrent_add_and_remove_keeps_the_member() {
        let hlc = Hlc::default();
        let mut base = Member::default();
        base.set("name", Value::from("X"), dot(1, 1), hlc);
        // A re-adds X (updates it), B removes the X it had seen.
        let mut a = base.clone();
        a.set("role", Value::from("chair"), dot(1, 2), hlc);
        let mut b = base.clone();
        b.remove(dot(2, 1), hlc);
        let mut ab = a.clone();
        ab.join(&b, &vv(&[(1, 2)]), &vv(&[(1, 1), (2, 1)]));
        let mut ba = b.clone();
        ba.join(&a, &vv(&[(1, 1), (2, 1)]), &vv(&[(1, 2)]));
        assert_eq!(ab, ba);
        assert!(ab.is_present());
        // B removed the name it had seen; A's concurrent role survives.
        assert!(!ab.fields().contains_key("name"));
        assert!(ab.fields().contains_key("role"));
    }

    #[test]
    fn a_remove_that_saw_the_add_removes_the_member() {
        let hlc = Hlc::default();
        let mut a = Member::default();
        a.set("name", Value::from("X"), dot(1, 1), hlc);
        let mut b = a.clone();
        b.remove(dot(2, 1), hlc);
        a.join(&b, &vv(&[(1, 1)]), &vv(&[(1, 1), (2, 1)]));
        assert!(!a.is_present());
        assert!(a.fields().is_empty());
    }
}
