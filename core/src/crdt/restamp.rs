//! Moving writes to a fresh replica id, when another copy of the store wrote under the same id.
//!
//! A dot names one write only while one store writes under its replica id. A store copied
//! together with its device marker (a phone cloned to a new one, a folder copied between
//! laptops) breaks that: both copies go on from the same counter and make different writes
//! with equal dots. Sync detects it (a peer holds more of this id's writes than this store ever
//! sent, see `docs/decisions/0025-copied-stores-and-retired-devices.md`); the store then moves
//! the writes nobody else can have — every dot of the old id above the highest counter it ever
//! sent — to a fresh id, keeping their counters. The moved writes become another replica's
//! writes that peers have not seen, so they travel on the next sync, while the other copy's
//! writes under the old id arrive as any other replica's.

use super::{Dot, Lifecycle, RecordState, ReplicaId, VersionVector};

/// Which writes move: those of `from` with a counter above `above` go to `to`, counters kept.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Restamp {
    /// The id another copy also wrote under.
    pub from: ReplicaId,
    /// The highest counter of `from` this store ever sent: writes up to it are known to peers
    /// as they are here, so they keep their dots.
    pub above: u64,
    /// The fresh id (never written under before).
    pub to: ReplicaId,
}

impl Restamp {
    fn moves(&self, dot: &Dot) -> bool {
        dot.replica == self.from && dot.counter > self.above
    }

    fn dot(&self, dot: &mut Dot) -> bool {
        let moves = self.moves(dot);
        if moves {
            dot.replica = self.to;
        }
        moves
    }

    /// A vector of what a writer had seen: its own moved writes are now `to`'s, and it no
    /// longer claims to have seen `from`'s writes above `above` (those are the other copy's).
    pub fn vector(&self, vector: &mut VersionVector) -> bool {
        let counter = vector.get(&self.from);
        if counter <= self.above {
            return false;
        }
        vector.set(self.from, self.above);
        vector.advance(self.to, counter);
        true
    }
}

impl RecordState {
    /// Moves the writes `rule` names to its new id; returns whether anything moved.
    ///
    /// Values the calendar keeps about what a writer had seen (a cancelled occurrence's
    /// `cancel_seen`) are opaque here and keep the old id: at worst an edit the canceller had
    /// seen is listed in the conflict log again, never lost.
    pub fn restamp(&mut self, rule: &Restamp) -> bool {
        let mut moved = self.lifecycle.update_entries(|entry| {
            let mut changed = rule.dot(&mut entry.dot);
            if let Lifecycle::Deleted { seen } = &mut entry.value {
                changed |= rule.vector(seen);
            }
            changed
        });
        for register in self.registers.values_mut() {
            moved |= register.update_entries(|entry| rule.dot(&mut entry.dot));
        }
        for member in self.maps.values_mut().flat_map(|members| members.values_mut()) {
            let (presence, fields) = member.registers_mut();
            moved |= presence.update_entries(|entry| rule.dot(&mut entry.dot));
            for field in fields {
                moved |= field.update_entries(|entry| rule.dot(&mut entry.dot));
            }
        }
        for extremum in self.minimums.values_mut().chain(self.maximums.values_mut()) {
            moved |= extremum.update_entry(|entry| rule.dot(&mut entry.dot));
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::testing::{dot, vv};
    use crate::crdt::{Hlc, Value, Write};

    fn id(n: u8) -> ReplicaId {
        ReplicaId::from_bytes([n; 16])
    }

    fn write(state: &mut RecordState, write: Write, at: Dot, seen: &VersionVector) {
        state.apply_local(&write, at, Hlc { millis: at.counter, logical: 0 }, seen).unwrap();
    }

    #[test]
    fn only_writes_above_the_sent_counter_move_and_keep_their_counters() {
        let mut state = RecordState::default();
        let set = |field: &str, v: &str| Write::Set { field: field.into(), value: Value::from(v) };
        write(&mut state, set("title", "sent"), dot(1, 2), &vv(&[(1, 2)]));
        write(&mut state, set("place", "unsent"), dot(1, 5), &vv(&[(1, 5)]));
        let member = Write::SetMember {
            field: "alarms".into(),
            key: "a".into(),
            member_field: "at".into(),
            value: Value::from(-15),
        };
        write(&mut state, member, dot(1, 6), &vv(&[(1, 6)]));
        write(
            &mut state,
            Write::Max { field: "ack".into(), value: Value::from(3) },
            dot(1, 7),
            &vv(&[(1, 7)]),
        );
        let rule = Restamp { from: id(1), above: 4, to: id(9) };
        assert!(state.restamp(&rule));
        assert_eq!(state.registers()["title"].winner().unwrap().dot, dot(1, 2));
        assert_eq!(state.registers()["place"].winner().unwrap().dot, dot(9, 5));
        let alarm = &state.maps()["alarms"]["a"];
        assert_eq!(alarm.presence().winner().unwrap().dot, dot(9, 6));
        assert_eq!(alarm.fields()["at"].winner().unwrap().dot, dot(9, 6));
        assert_eq!(state.maximums()["ack"].entry().unwrap().dot, dot(9, 7));
        // The record was created by the sent write: its lifecycle stays.
        assert_eq!(state.lifecycle.winner().unwrap().dot, dot(1, 2));
        assert!(!state.restamp(&rule), "a second pass has nothing left to move");
    }

    #[test]
    fn a_delete_moves_with_what_its_writer_had_seen() {
        let mut state = RecordState::default();
        let set = Write::Set { field: "title".into(), value: Value::from("x") };
        write(&mut state, set, dot(1, 1), &vv(&[(1, 1)]));
        write(&mut state, Write::Delete, dot(1, 3), &vv(&[(1, 3), (2, 4)]));
        let rule = Restamp { from: id(1), above: 1, to: id(9) };
        assert!(state.restamp(&rule));
        let entry = state.lifecycle.winner().unwrap();
        assert_eq!(entry.dot, dot(9, 3));
        // The deleter saw its own writes (now id 9's) and id 1 only up to what was sent.
        assert_eq!(entry.value, Lifecycle::Deleted { seen: vv(&[(1, 1), (9, 3)]) });
    }
}
