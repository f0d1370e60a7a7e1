//! Golden fixtures pin the encoding of every persisted and transmitted blob: the current code
//! must decode each file to the expected value and encode that value to the same bytes.
//! Changing a fixture is a format change: it needs a new format version and a decision note.
//! `make fixtures` (ALMANAC_WRITE_FIXTURES=1) writes missing fixtures; it never overwrites one.
//!
//! The `-v1` files are format 1 (no checksum): records and structured values of format 1 must
//! still decode, deltas and version vectors of format 1 must be refused (peers must update). The
//! `-v2` files pin the checksummed format (`docs/decisions/0012-checksummed-encoding.md`), still
//! written for every kind but records. `record-v3.bin` pins the records stores wrote with coded
//! field names (`docs/decisions/0026-compact-records.md`), still read; `record-v4.bin` the
//! records stores write now, with compact stamps as well (`docs/decisions/0031-…`).

use std::path::PathBuf;

use almanac_core::codec::{self, Kind};
use almanac_core::compression::RecordDictionary;
use almanac_core::crdt::{Hlc, RecordState, Write};
use almanac_core::storage::memory::MemoryStore;
use almanac_core::{Delta, Operation, RecordKey, ReplicaId, SpaceId, Value, VersionVector};

fn golden_space() -> SpaceId {
    SpaceId::new("golden").expect("space")
}

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn check_fixture(name: &str, encoded: &[u8]) {
    let path = fixture_path(name);
    if !path.exists() && std::env::var_os("ALMANAC_WRITE_FIXTURES").is_some() {
        std::fs::write(&path, encoded).expect("write fixture");
    }
    let golden = std::fs::read(&path).unwrap_or_else(|e| {
        panic!("missing fixture {} ({e}); run `make fixtures`", path.display())
    });
    assert_eq!(golden, encoded, "the encoding of {name} changed: that is a format change");
}

fn timing() -> Value {
    Value::structured(&("2026-11-26T09:00", "Europe/Paris", 3_600u32)).expect("structured")
}

/// A deterministic scenario touching every kind of entry: two replicas, a conflict, a keyed
/// map with a removed member, min and max registers, a deletion with a shadowed edit.
fn scenario() -> (MemoryStore, MemoryStore) {
    let timing = timing();
    let mut a = MemoryStore::new(ReplicaId::from_bytes([0xAA; 16]));
    let mut b = MemoryStore::new(ReplicaId::from_bytes([0xBB; 16]));
    let space = golden_space();
    b.join_space(&space);
    let key = RecordKey::new("events", "golden");
    let op = |write| Operation { key: key.clone(), write };
    a.commit(
        &space,
        &[
            op(Write::Set { field: "title".into(), value: Value::from("Planning") }),
            op(Write::Set { field: "timing".into(), value: timing }),
            op(Write::Set { field: "priority".into(), value: Value::Int(-3) }),
            op(Write::Set { field: "weight".into(), value: Value::Float(0.5) }),
            op(Write::Set { field: "private".into(), value: Value::Bool(true) }),
            op(Write::Set { field: "blob".into(), value: Value::Bytes(vec![0, 1, 255]) }),
            op(Write::Set { field: "cleared".into(), value: Value::Null }),
            op(Write::SetMember {
                field: "attendees".into(),
                key: "mailto:x@example.com".into(),
                member_field: "status".into(),
                value: Value::from("accepted"),
            }),
            op(Write::SetMember {
                field: "attendees".into(),
                key: "mailto:y@example.com".into(),
                member_field: "status".into(),
                value: Value::from("declined"),
            }),
            op(Write::Min { field: "truncate_at".into(), value: Value::Int(1_000) }),
            op(Write::Max { field: "acknowledged".into(), value: Value::Int(7) }),
        ],
        1_764_000_000_000,
    )
    .expect("a");
    let to_b = a.delta_since(&space, &b.version_vector(&space)).expect("delta");
    b.apply(&to_b, 1_764_000_000_500).expect("apply");
    a.commit(
        &space,
        &[op(Write::Set { field: "title".into(), value: Value::from("Planning (A)") })],
        1_764_000_001_000,
    )
    .expect("a2");
    b.commit(
        &space,
        &[
            op(Write::Set { field: "title".into(), value: Value::from("Planning (B)") }),
            op(Write::RemoveMember {
                field: "attendees".into(),
                key: "mailto:y@example.com".into(),
            }),
        ],
        1_764_000_002_000,
    )
    .expect("b2");
    b.commit(&space, &[op(Write::Delete)], 1_764_000_003_000).expect("b3");
    let to_a = b.delta_since(&space, &a.version_vector(&space)).expect("delta");
    a.apply(&to_a, 1_764_000_003_500).expect("apply");
    (a, b)
}

fn golden_record() -> RecordState {
    let (a, _) = scenario();
    a.record(&golden_space(), &RecordKey::new("events", "golden")).expect("record").clone()
}

fn read_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).expect("read fixture")
}

#[test]
fn golden_record_encoding() {
    let state = golden_record();
    assert!(state.is_deleted() && state.has_conflicts());
    let encoded = codec::encode(Kind::Record, &state).expect("encode");
    check_fixture("record-v2.bin", &encoded);
    let decoded: RecordState =
        codec::decode(Kind::Record, &read_fixture("record-v2.bin")).expect("decode");
    assert_eq!(decoded, state);
}

/// Stores hold format-1 records: they must keep opening after the format changed.
#[test]
fn a_format_1_record_still_decodes() {
    let decoded: RecordState =
        codec::decode(Kind::Record, &read_fixture("record-v1.bin")).expect("decode");
    // Structured values inside records kept format 1, so the whole record reads back equal.
    assert_eq!(decoded, golden_record());
}

/// What stores write since decision 0031: format 4, field names of the built-in table as one
/// byte, others (`priority`, `weight`, …) written out (decision 0026), and the stamps compact:
/// the golden record's two replicas written once, its clocks as differences.
#[test]
fn golden_record_encoding_format_4() {
    let state = golden_record();
    let encoded = codec::encode_record(&state).expect("encode");
    assert_eq!(encoded[..2], [4, Kind::Record as u8]);
    check_fixture("record-v4.bin", &encoded);
    assert_eq!(codec::decode_record(&read_fixture("record-v4.bin")).expect("decode"), state);
    let format_3 = read_fixture("record-v3.bin");
    assert!(
        encoded.len() < format_3.len(),
        "{} bytes, format 3: {}",
        encoded.len(),
        format_3.len()
    );
}

/// Records of every earlier format are read by the one function stores read records with.
#[test]
fn stores_read_records_of_formats_1_to_5() {
    golden_dictionary();
    for name in
        ["record-v1.bin", "record-v2.bin", "record-v3.bin", "record-v4.bin", "record-v5.bin"]
    {
        let decoded = codec::decode_record(&read_fixture(name)).expect(name);
        assert_eq!(decoded, golden_record(), "{name}");
    }
}

/// A month view reads an event's scalar fields out of its record as it decodes it (decision
/// 0046): every format gives the record read whole with those registers taken out.
#[test]
fn records_of_every_format_hand_over_the_registers_a_reader_takes() {
    golden_dictionary();
    // A built-in name and a written-out one taken, the rest kept.
    let take = |name: &str| matches!(name, "title" | "priority");
    let mut expected = golden_record();
    let expected_taken = expected.take_registers(&take);
    assert!(!expected_taken.is_empty() && !expected.registers().is_empty(), "both sides hold some");
    for name in
        ["record-v1.bin", "record-v2.bin", "record-v3.bin", "record-v4.bin", "record-v5.bin"]
    {
        let (state, taken) = codec::decode_record_taking(&read_fixture(name), &take).expect(name);
        assert_eq!(state, expected, "{name}");
        assert_eq!(taken, expected_taken, "{name}");
    }
}

/// A sender writes what a peer lacks of a stored record from the stored bytes: formats 4 and 5
/// without decoding the record (decision 0041), older formats by decoding it. Every fixture
/// holds the golden record, so each must give the same bytes for any vector the peer has
/// seen, and they must read back as the decoded record's delta.
#[test]
fn every_stored_format_gives_the_same_delta_bytes() {
    golden_dictionary();
    let conn = rusqlite::Connection::open_in_memory().expect("connection");
    let key = RecordKey::new("events", "golden");
    let golden = golden_record();
    let writers: Vec<ReplicaId> = golden.max_counters().into_keys().collect();
    let mut sinces: Vec<VersionVector> =
        vec![VersionVector::new(), golden.max_counters().into_iter().collect()];
    for writer in &writers {
        let mut one = golden.max_counters();
        one.remove(writer);
        sinces.push(one.into_iter().collect());
    }
    for since in &sinces {
        let expected = golden.clone().into_delta(since);
        let mut outputs = Vec::new();
        for name in
            ["record-v1.bin", "record-v2.bin", "record-v3.bin", "record-v4.bin", "record-v5.bin"]
        {
            let mut bytes = Vec::new();
            let found = almanac_core::storage::sqlite::encoded_delta(
                &conn,
                &key,
                &read_fixture(name),
                since,
                &mut bytes,
            )
            .expect(name);
            assert_eq!(found, expected.is_some(), "{name}");
            if found {
                for version in [2, almanac_core::sync::message::MAX_VERSION] {
                    let records =
                        almanac_core::sync::message::Records::pack_encoded(1, &bytes, version)
                            .and_then(|records| records.unpack(1 << 20))
                            .expect("reads back");
                    let expected = vec![(key.clone(), expected.clone().expect("some"))];
                    assert_eq!(records, expected, "{name}, protocol {version}");
                }
            }
            outputs.push(bytes);
        }
        assert!(outputs.windows(2).all(|pair| pair[0] == pair[1]), "one encoding for all formats");
    }
}

/// The dictionary of the format-5 fixture: the first half of the golden record's own format-4
/// payload (a store's dictionary is made of its records' payloads), so the fixture holds both
/// matches in the dictionary and literals.
fn golden_dictionary() -> std::sync::Arc<RecordDictionary> {
    let mut payload = codec::record_payload_for_dictionary(&golden_record()).expect("payload");
    payload.truncate(payload.len() / 2);
    let dictionary = std::sync::Arc::new(RecordDictionary::new(payload));
    almanac_core::compression::register(&dictionary);
    dictionary
}

/// What stores write once they have a dictionary (decision 0032): format 4's payload
/// compressed against it, named by the dictionary's CRC-32C.
#[test]
fn golden_record_encoding_format_5() {
    let state = golden_record();
    let dictionary = golden_dictionary();
    let encoded = codec::encode_record_against(&state, Some(&dictionary)).expect("encode");
    assert_eq!(encoded[..2], [5, Kind::Record as u8]);
    assert_eq!(codec::record_dictionary(&encoded), Some(dictionary.id()));
    // The fixture pins the format: its bytes, written by `lz4_flex`'s encoder, must go on
    // reading as the golden record. Which matches an encoder picks is not part of the format
    // (decision 0038): today's blocks differ, so they are checked by reading them back, and
    // the envelope around them byte for byte.
    let golden = read_fixture("record-v5.bin");
    assert_eq!(codec::decode_record(&golden).expect("decode"), state);
    assert_eq!(codec::decode_record(&encoded).expect("decode"), state);
    // The payload's length, LEB128 after the dictionary name.
    let payload_length = |bytes: &[u8]| -> Vec<u8> {
        let end = bytes[6..].iter().position(|b| b & 0x80 == 0).expect("a length") + 7;
        bytes[6..end].to_vec()
    };
    assert_eq!(encoded[..6], golden[..6], "format, kind and dictionary name");
    assert_eq!(payload_length(&encoded), payload_length(&golden));
    assert!(
        encoded.len() <= golden.len() + 2,
        "{} bytes, the fixture {}",
        encoded.len(),
        golden.len()
    );
    let format_4 = read_fixture("record-v4.bin");
    assert!(
        encoded.len() < format_4.len(),
        "{} bytes, format 4: {}",
        encoded.len(),
        format_4.len()
    );
}

#[test]
fn every_single_byte_change_of_a_format_5_record_is_refused() {
    let dictionary = golden_dictionary();
    let bytes = codec::encode_record_against(&golden_record(), Some(&dictionary)).expect("encode");
    assert_all_damage_is_refused(&bytes, |b| codec::decode_record(b).is_ok());
}

/// A record compressed against a dictionary this process has not loaded (its store not
/// opened, or the dictionary lost) is an error that names the dictionary, never a guess.
#[test]
fn a_record_against_an_unknown_dictionary_is_refused_by_name() {
    let unknown = RecordDictionary::new(b"a dictionary no store has registered".to_vec());
    let bytes = codec::encode_record_against(&golden_record(), Some(&unknown)).expect("encode");
    match codec::decode_record(&bytes) {
        Err(almanac_core::Error::Decode { detail, .. }) => {
            assert!(detail.contains(&format!("{:08x}", unknown.id())), "{detail}");
        }
        other => panic!("an unknown dictionary must be refused, got {other:?}"),
    }
}

#[test]
fn every_single_byte_change_of_a_format_4_record_is_refused() {
    let bytes = codec::encode_record(&golden_record()).expect("encode");
    assert_all_damage_is_refused(&bytes, |b| codec::decode_record(b).is_ok());
}

/// A name code beyond the table (a newer format's name, or damage that kept the checksum
/// right) is an error that says so, not an empty or wrong field name.
#[test]
fn an_unknown_field_name_code_is_refused() {
    let mut state = RecordState::default();
    let hlc = Hlc { millis: 1_764_000_000_000, logical: 0 };
    let dot = almanac_core::crdt::Dot { replica: ReplicaId::from_bytes([0xAA; 16]), counter: 1 };
    let mut seen = VersionVector::new();
    seen.advance(dot.replica, dot.counter);
    let write = Write::Set { field: "title".into(), value: Value::Int(1) };
    state.apply_local(&write, dot, hlc, &seen).expect("write");
    let bytes = codec::encode_record(&state).expect("encode");
    // The one register's name is the only byte equal to the code of "title" after the stamp.
    let title =
        1 + almanac_core::crdt::FIELD_NAMES.iter().position(|n| *n == "title").expect("known");
    let body = &bytes[..bytes.len() - 4];
    let at = body.iter().rposition(|b| usize::from(*b) == title).expect("code in the blob");
    let mut renamed = body.to_vec();
    renamed[at] = u8::try_from(almanac_core::crdt::FIELD_NAMES.len() + 1).expect("small");
    renamed.extend_from_slice(&crc32c::crc32c(&renamed).to_le_bytes());
    match codec::decode_record(&renamed) {
        Err(almanac_core::Error::Decode { detail, .. }) => {
            assert!(detail.contains("field name code"), "{detail}");
        }
        other => panic!("an unknown code must be refused, got {other:?}"),
    }
}

#[test]
fn golden_delta_encoding() {
    let (mut a, _) = scenario();
    let delta = a.delta_since(&golden_space(), &VersionVector::new()).expect("delta");
    let encoded = delta.encode().expect("encode");
    check_fixture("delta-v2.bin", &encoded);
    let decoded = Delta::decode(&read_fixture("delta-v2.bin")).expect("decode");
    assert_eq!(decoded, delta);
    assert_eq!(decoded.hlc, Hlc { millis: 1_764_000_003_000, logical: 0 });
}

#[test]
fn golden_version_vector_encoding() {
    let vv: VersionVector =
        [(ReplicaId::from_bytes([0xAA; 16]), 2), (ReplicaId::from_bytes([0xBB; 16]), 300)]
            .into_iter()
            .collect();
    let encoded = codec::encode(Kind::VersionVector, &vv).expect("encode");
    check_fixture("version-vector-v2.bin", &encoded);
    let decoded =
        codec::decode::<VersionVector>(Kind::VersionVector, &read_fixture("version-vector-v2.bin"));
    assert_eq!(decoded.expect("decode"), vv);
}

/// Format-1 deltas and version vectors come only from peers running an older Almanac: they are
/// refused with a message telling the user to update that device, not misread or half-applied.
#[test]
fn format_1_deltas_and_version_vectors_are_refused_with_an_update_message() {
    let delta = Delta::decode(&read_fixture("delta-v1.bin")).map(drop);
    let vv =
        codec::decode::<VersionVector>(Kind::VersionVector, &read_fixture("version-vector-v1.bin"))
            .map(drop);
    for refused in [delta, vv] {
        match refused {
            Err(almanac_core::Error::Decode { detail, .. }) => {
                assert!(
                    detail.contains("format version 1") && detail.contains("must update"),
                    "{detail}"
                );
            }
            other => panic!("a format-1 wire blob must be refused, got {other:?}"),
        }
    }
}

/// Every change of one byte to any other value, and every truncation, is refused.
fn assert_all_damage_is_refused(bytes: &[u8], decodes: impl Fn(&[u8]) -> bool) {
    assert!(decodes(bytes), "the intact blob must decode");
    for position in 0..bytes.len() {
        for value in (0..=u8::MAX).filter(|v| *v != bytes[position]) {
            let mut damaged = bytes.to_vec();
            damaged[position] = value;
            assert!(!decodes(&damaged), "byte {position} changed to {value:#04x} was accepted");
        }
    }
    for cut in 0..bytes.len() {
        assert!(!decodes(&bytes[..cut]), "a blob cut at {cut} bytes was accepted");
    }
}

#[test]
fn every_single_byte_change_of_a_delta_is_refused() {
    let (mut a, _) = scenario();
    for id in ["second", "third"] {
        let op = |write| Operation { key: RecordKey::new("events", id), write };
        a.commit(
            &golden_space(),
            &[
                op(Write::Set { field: "title".into(), value: Value::from(id) }),
                op(Write::Set { field: "timing".into(), value: timing() }),
            ],
            1_764_000_004_000,
        )
        .expect("commit");
    }
    let delta = a.delta_since(&golden_space(), &VersionVector::new()).expect("delta");
    assert_eq!(delta.records.len(), 3);
    let bytes = delta.encode().expect("encode");
    assert_all_damage_is_refused(&bytes, |b| Delta::decode(b).is_ok());
}

#[test]
fn every_single_byte_change_of_a_record_is_refused() {
    let bytes = codec::encode(Kind::Record, &golden_record()).expect("encode");
    assert_all_damage_is_refused(&bytes, |b| codec::decode::<RecordState>(Kind::Record, b).is_ok());
}

/// The calendar values stored as structured registers (timing, rules, dates, roles, unknown
/// properties) are part of the stored format too.
#[test]
fn golden_calendar_values_encoding() {
    use almanac_core::calendar::event::{End, Participation, RawProperty, Role, Timing};
    use almanac_core::calendar::recurrence::RecurrenceRule;
    use almanac_core::calendar::time::{Duration, TimeValue};
    use jiff::civil::date;

    let zoned = |h| TimeValue::Zoned {
        local: date(2026, 3, 8).at(h, 30, 0, 0),
        zone: "America/New_York".into(),
    };
    let timings = vec![
        Timing { start: zoned(9), end: End::At(zoned(10)) },
        Timing::all_day(date(2026, 2, 28), 2),
        Timing {
            start: TimeValue::Floating(date(2026, 1, 1).at(7, 0, 0, 0)),
            end: End::After(Duration { weeks: 1, days: 2, seconds: 5400 }),
        },
        Timing {
            start: TimeValue::Utc("2026-06-01T12:00:00Z".parse().expect("utc")),
            end: End::After(Duration { seconds: -1, ..Duration::default() }),
        },
    ];
    let rules: Vec<RecurrenceRule> = [
        "FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYHOUR=9;BYMINUTE=30;BYSECOND=0;BYDAY=1MO,-1FR;BYMONTHDAY=1,-1;BYMONTH=1,6;BYSETPOS=1,-1;WKST=SU",
        "FREQ=YEARLY;UNTIL=20301231T235959Z;BYWEEKNO=20,-1;BYDAY=TH;X-NAME=value",
        "FREQ=YEARLY;BYYEARDAY=1,-1,100",
        "FREQ=DAILY;UNTIL=20261231",
    ]
    .iter()
    .map(|r| RecurrenceRule::parse(r).expect("rule"))
    .collect();
    let raw = RawProperty {
        name: "X-APPLE-STRUCTURED-LOCATION".into(),
        params: vec![("X-TITLE".into(), vec!["Café; \"Bleu\"".into()])],
        value: "geo:48.85,2.35".into(),
    };
    let roles =
        (Participation::Tentative, Role::Chair, Participation::Delegated, Role::NonParticipant);
    let value = Value::structured(&(timings.clone(), rules.clone(), vec![raw.clone()], roles))
        .expect("encode");
    let Value::Structured(bytes) = &value else { panic!("structured") };
    // Structured values are nested in checksummed records and deltas and keep format 1.
    check_fixture("calendar-values-v1.bin", bytes);
    type Golden = (
        Vec<Timing>,
        Vec<RecurrenceRule>,
        Vec<RawProperty>,
        (Participation, Role, Participation, Role),
    );
    let expected = (timings, rules, vec![raw], roles);
    let golden = Value::Structured(read_fixture("calendar-values-v1.bin"));
    let decoded: Golden = golden.decode().expect("decode");
    assert_eq!(decoded, expected);
}

/// Decision 0021's stored values: a zone kept as its POSIX rule (an imported VTIMEZONE that
/// matches no IANA zone) inside a timing, as `timing` and the `detached_timing` stand-in of an
/// occurrence imported without its series hold it. The rule is data every device evaluates
/// the same way, so the instants are pinned too.
#[test]
fn golden_imported_zone_rule_encoding() {
    use almanac_core::calendar::event::{End, Timing};
    use almanac_core::calendar::time::{Duration, TimeValue, time_zone};
    use jiff::civil::date;

    let zone = "<+12>-12<+10>-10,M4.1.0/3,M9.5.0/2";
    let timing = Timing {
        start: TimeValue::Zoned { local: date(2026, 1, 15).at(9, 0, 0, 0), zone: zone.into() },
        end: End::After(Duration { seconds: 3600, ..Duration::default() }),
    };
    let value = Value::structured(&timing).expect("encode");
    let Value::Structured(bytes) = &value else { panic!("structured") };
    check_fixture("calendar-zone-rule-v1.bin", bytes);
    let golden = Value::Structured(read_fixture("calendar-zone-rule-v1.bin"));
    let decoded: Timing = golden.decode().expect("decode");
    assert_eq!(decoded, timing);
    let tz = time_zone(zone).expect("a POSIX rule is a zone");
    for (local, utc) in [
        (date(2026, 1, 15).at(9, 0, 0, 0), "2026-01-14T21:00:00Z"),
        (date(2026, 4, 5).at(2, 30, 0, 0), "2026-04-04T14:30:00Z"),
        (date(2026, 7, 15).at(9, 0, 0, 0), "2026-07-14T23:00:00Z"),
        (date(2026, 9, 27).at(2, 30, 0, 0), "2026-09-26T16:30:00Z"),
    ] {
        let at = tz.to_ambiguous_timestamp(local).compatible().expect("instant");
        assert_eq!(at.to_string(), utc, "{local}");
    }
}

/// One of each sync message of protocol 2, as frames with a 4-byte length in front (the
/// stream framing of `sync::transport`), pins the protocol's bytes (`docs/protocol.md`).
#[test]
fn golden_sync_messages_encoding() {
    use almanac_core::sync::message::{Chunk, ChunkStart, Party, Records, Resume, Vector, Want};
    use almanac_core::sync::{ErrorCode, Message};

    let space = golden_space();
    let (mut a, _) = scenario();
    let delta = a.delta_since(&space, &VersionVector::new()).expect("delta");
    let replica = ReplicaId::from_bytes([0xAA; 16]);
    let big: Vec<_> = (0..40)
        .map(|i| (RecordKey::new("events", format!("e{i:02}")), delta.records[0].1.clone()))
        .collect();
    let full =
        Want { space: space.clone(), vector: Vector::Full(delta.context.clone()), resume: None };
    let messages = vec![
        Message::Hello {
            min_version: 2,
            max_version: 2,
            replica,
            wants: 1,
            confirm: false,
            with: vec![],
        },
        Message::Hello {
            min_version: 2,
            max_version: 2,
            replica,
            wants: 1,
            confirm: true,
            with: vec![Want {
                space: space.clone(),
                vector: Vector::Changed {
                    base: 0x0123_4567_89AB_CDEF,
                    changes: vec![(Party::Sender, 7), (Party::Receiver, 0)],
                },
                resume: None,
            }],
        },
        Message::Want(full),
        Message::Want(Want {
            space: space.clone(),
            vector: Vector::Changed {
                base: 0x0123_4567_89AB_CDEF,
                changes: vec![(Party::Other(replica), 3)],
            },
            resume: Some(Resume {
                context: delta.context.clone(),
                after: RecordKey::new("events", "e07"),
                next_seq: 4,
            }),
        }),
        Message::NeedFullVector { space: space.clone() },
        Message::NotHeld { space: space.clone() },
        Message::Chunk(Chunk {
            space: space.clone(),
            seq: 0,
            start: Some(ChunkStart {
                context: vec![(Party::Sender, 2), (Party::Other(replica), 2)],
                hlc: delta.hlc,
                resumed: false,
            }),
            records: Records::Plain(delta.records.clone()),
            last: false,
        }),
        Message::Chunk(Chunk {
            space: space.clone(),
            seq: 1,
            start: None,
            records: Records::pack(big.clone(), 2).expect("pack"),
            last: true,
        }),
        Message::Ack { space: space.clone(), seq: 1 },
        Message::Error { code: ErrorCode::NoCommonVersion, message: "update the app".into() },
    ];
    assert!(matches!(
        &messages[7],
        Message::Chunk(Chunk { records: Records::Deflated { .. }, .. })
    ));
    let encoded = length_prefixed(&messages);
    check_fixture("sync-messages-v2.bin", &encoded);
    let decoded = read_frames(&read_fixture("sync-messages-v2.bin"));
    assert_eq!(decoded, messages);
    let Message::Chunk(chunk) = decoded[7].clone() else { panic!("chunk") };
    assert_eq!(chunk.records.unpack(1 << 20).expect("unpack"), big);
}

/// Protocol 3 (decision 0047): a `Hello` naming versions 2 to 3, and a chunk in columns, the
/// form chunks take between two sides that both speak protocol 3.
#[test]
fn golden_sync_messages_v3_encoding() {
    use almanac_core::sync::Message;
    use almanac_core::sync::message::{Chunk, ChunkStart, Party, Records};

    let space = golden_space();
    let (mut a, _) = scenario();
    let delta = a.delta_since(&space, &VersionVector::new()).expect("delta");
    // Forty copies of the golden record under keys that follow each other, and the golden
    // record itself: every kind of entry, in columns.
    let mut records: Vec<_> = (0..40)
        .map(|i| (RecordKey::new("events", format!("e{i:02}")), delta.records[0].1.clone()))
        .collect();
    records.push(delta.records[0].clone());
    let messages = vec![
        Message::Hello {
            min_version: 2,
            max_version: 3,
            replica: ReplicaId::from_bytes([0xAA; 16]),
            wants: 1,
            confirm: false,
            with: vec![],
        },
        Message::Chunk(Chunk {
            space: space.clone(),
            seq: 0,
            start: Some(ChunkStart {
                context: vec![(Party::Sender, 2)],
                hlc: delta.hlc,
                resumed: false,
            }),
            records: Records::pack(records.clone(), 3).expect("pack"),
            last: true,
        }),
    ];
    assert!(matches!(&messages[1], Message::Chunk(Chunk { records: Records::Columns { .. }, .. })));
    let encoded = length_prefixed(&messages);
    check_fixture("sync-messages-v3.bin", &encoded);
    let decoded = read_frames(&read_fixture("sync-messages-v3.bin"));
    assert_eq!(decoded, messages);
    let Message::Chunk(chunk) = decoded[1].clone() else { panic!("chunk") };
    assert_eq!(chunk.records.unpack(1 << 20).expect("unpack"), records);
}

/// The connection-level messages of the WebSocket binding (`Open`, `Opened`, `Changed`), as
/// length-prefixed frames of protocol 2.
#[test]
fn golden_connection_messages_encoding() {
    use almanac_core::sync::{Access, Message, SpaceAccess};

    let space = golden_space();
    let other = SpaceId::new("team-2").expect("space");
    let (mut a, _) = scenario();
    let delta = a.delta_since(&space, &VersionVector::new()).expect("delta");
    let messages = vec![
        Message::Open { spaces: vec![space.clone(), other.clone()] },
        Message::Opened {
            spaces: vec![
                SpaceAccess {
                    space: space.clone(),
                    access: Access::ReadWrite,
                    stable: Some(delta.context.clone()),
                },
                SpaceAccess { space: other.clone(), access: Access::ReadOnly, stable: None },
                SpaceAccess {
                    space: SpaceId::new("secret").expect("space"),
                    access: Access::Denied,
                    stable: None,
                },
            ],
        },
        Message::Changed { spaces: vec![other] },
    ];
    let encoded = length_prefixed(&messages);
    check_fixture("sync-connection-v2.bin", &encoded);
    let decoded = read_frames(&read_fixture("sync-connection-v2.bin"));
    assert_eq!(decoded, messages);
}

/// Protocol 1's frames (the goldens `sync-messages-v1.bin`, `sync-connection-v1.bin`) are
/// refused with a message saying the other device must update, and a session that hears a
/// protocol-1 `Hello` ends with `NoCommonVersion` (decision 0027).
#[test]
fn protocol_1_frames_are_refused_with_an_update_message() {
    use almanac_core::sync::message::version_1_hello;
    use almanac_core::sync::{Message, Session, SessionConfig};

    let mut frames = Vec::new();
    for name in ["sync-messages-v1.bin", "sync-connection-v1.bin"] {
        let bytes = read_fixture(name);
        let mut rest = &bytes[..];
        while let Some(frame) =
            almanac_core::sync::transport::read_frame(&mut rest, 1 << 20).expect("frame")
        {
            frames.push(frame);
        }
    }
    assert_eq!(frames.len(), 13);
    for frame in &frames {
        let error = Message::decode(frame).expect_err("a protocol 1 frame");
        assert!(error.to_string().contains("must update"), "{error}");
    }
    assert_eq!(version_1_hello(&frames[0]), Some((1, 1)));
    assert!(frames[1..].iter().all(|frame| version_1_hello(frame).is_none()));

    let dir = tempfile::tempdir().expect("dir");
    let store = almanac_core::Store::open(dir.path().join("s.almanac")).expect("open");
    let mut session = Session::new(&store, SessionConfig::new(vec![])).expect("session");
    let error = session.receive(&frames[0]).expect_err("no common version");
    assert!(error.to_string().contains("no common protocol version"), "{error}");
    let _hello = session.poll_transmit().expect("hello");
    let reply = Message::decode(&session.poll_transmit().expect("error frame")).expect("decode");
    assert!(
        matches!(
            reply,
            Message::Error { code: almanac_core::sync::ErrorCode::NoCommonVersion, .. }
        ),
        "{reply:?}"
    );
}

/// Messages as frames with their length in front (the stream framing of `sync::transport`).
fn length_prefixed(messages: &[almanac_core::sync::Message]) -> Vec<u8> {
    let mut encoded = Vec::new();
    for message in messages {
        let frame = message.encode().expect("encode");
        encoded.extend_from_slice(&u32::try_from(frame.len()).expect("len").to_be_bytes());
        encoded.extend_from_slice(&frame);
    }
    encoded
}

fn read_frames(mut bytes: &[u8]) -> Vec<almanac_core::sync::Message> {
    let mut decoded = Vec::new();
    while let Some(frame) =
        almanac_core::sync::transport::read_frame(&mut bytes, 1 << 20).expect("frame")
    {
        decoded.push(almanac_core::sync::Message::decode(&frame).expect("decode"));
    }
    decoded
}
