//! The server's replica over PostgreSQL: the same engine rules as the core's SQLite store
//! (`almanac_core::replica::ReplicaState` over a `RecordStore`), with the records, each space's
//! version vector and clock, and the sync bookkeeping in tables shared by every instance.
//!
//! What must be atomic, and how:
//! - **Applying a delta** (whole, or a staged one) is one transaction that first locks the
//!   space's row (`FOR NO KEY UPDATE`), then joins the records and writes the new vector and
//!   clock. Two instances applying to one space therefore run one after the other, the second
//!   reading the records and vector the first committed (READ COMMITTED takes a fresh snapshot
//!   per statement, after the lock is granted). The `NOTIFY` for other instances is part of
//!   the same transaction, so it is sent exactly when the change commits.
//! - **Reading a delta** runs in one REPEATABLE READ, read-only transaction: the records and
//!   the context vector sent with them come from the same snapshot, so a concurrent apply can
//!   never make the server claim a vector whose records it did not send.
//! - **Staging a chunk** writes its records and advances the inbound header in one
//!   transaction, so a chunk is acknowledged (by the session) only once it is whole.
//!
//! The server never writes locally, so no dot of its own is ever stamped; its replica id (in
//! `almanac_meta`, made by the first instance) is shared by all instances, which are one
//! replica: a device syncing with another instance next time finds the peer it knows.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{SystemTime, UNIX_EPOCH};

use almanac_core::codec::{self, Kind};
use almanac_core::crdt::{Hlc, RecordDelta, RecordState};
use almanac_core::replica::{Changes, RecordStore, ReplicaState};
use almanac_core::sync::{Direction, Inbound, SyncStore};
use almanac_core::{Delta, Error, RecordKey, ReplicaId, Result, SpaceId, VersionVector};
use tokio_postgres::types::ToSql;
use tokio_postgres::{IsolationLevel, Row, Transaction};

use super::pool::{Pool, Pooled, wait};
use super::{CHANNEL, Database};
use crate::engine::Engine;

fn storage(error: tokio_postgres::Error) -> Error {
    Error::Storage(format!("PostgreSQL: {error}"))
}

fn server(error: crate::Error) -> Error {
    Error::Storage(error.to_string())
}

fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn from_i64(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn encode_vector(vector: &VersionVector) -> Result<Vec<u8>> {
    codec::encode(Kind::VersionVector, vector)
}

fn decode_vector(bytes: &[u8]) -> Result<VersionVector> {
    codec::decode(Kind::VersionVector, bytes)
}

/// The server's replica of every space, in PostgreSQL (see the module documentation).
pub struct PgEngine {
    pool: std::sync::Arc<Pool>,
    replica: ReplicaId,
    /// Names this instance in its notifications, so it can skip its own (its rounds already
    /// pushed those to its connections).
    instance: String,
}

impl std::fmt::Debug for PgEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgEngine").field("replica", &self.replica).finish_non_exhaustive()
    }
}

/// One space's row, read inside a transaction.
struct SpaceRow {
    sid: i64,
    seen: VersionVector,
    hlc: Hlc,
}

/// Runs `query` in `tx`, mapping errors.
fn rows(tx: &Transaction<'_>, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
    wait(tx.query(sql, params)).map_err(storage)
}

fn execute(tx: &Transaction<'_>, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
    wait(tx.execute(sql, params)).map_err(storage)
}

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, index: usize) -> Result<T> {
    row.try_get(index).map_err(storage)
}

/// The row of `space`; `lock` takes the lock every write to the space holds until it commits.
fn space_row(tx: &Transaction<'_>, space: &SpaceId, lock: bool) -> Result<Option<SpaceRow>> {
    let sql = if lock {
        "SELECT sid, seen, hlc_millis, hlc_logical FROM engine_spaces WHERE name = $1
         FOR NO KEY UPDATE"
    } else {
        "SELECT sid, seen, hlc_millis, hlc_logical FROM engine_spaces WHERE name = $1"
    };
    let found = rows(tx, sql, &[&space.as_str()])?;
    let Some(row) = found.first() else { return Ok(None) };
    Ok(Some(SpaceRow {
        sid: get(row, 0)?,
        seen: decode_vector(&get::<Vec<u8>>(row, 1)?)?,
        hlc: Hlc {
            millis: from_i64(get(row, 2)?),
            logical: u32::try_from(get::<i64>(row, 3)?).unwrap_or(0),
        },
    }))
}

fn held(tx: &Transaction<'_>, space: &SpaceId, lock: bool) -> Result<SpaceRow> {
    space_row(tx, space, lock)?.ok_or_else(|| Error::SpaceNotHeld(space.clone()))
}

fn sid_of(tx: &Transaction<'_>, space: &SpaceId) -> Result<Option<i64>> {
    let found = rows(tx, "SELECT sid FROM engine_spaces WHERE name = $1", &[&space.as_str()])?;
    found.first().map(|row| get(row, 0)).transpose()
}

/// The records of one space seen through one transaction. Reads can be fetched in bulk
/// ([`PgRecords::prefetch`], and `records_with_unseen` keeps what it read), and saves are written
/// in bulk by [`PgRecords::flush`]: a delta of thousands of records costs a handful of
/// statements, not thousands of round trips.
struct PgRecords<'t, 'c> {
    tx: &'t Transaction<'c>,
    sid: i64,
    /// Known states (`None`: known not to exist).
    read: HashMap<RecordKey, Option<RecordState>>,
    /// Saved in this transaction, not yet written.
    written: BTreeMap<RecordKey, RecordState>,
}

impl<'t, 'c> PgRecords<'t, 'c> {
    fn new(tx: &'t Transaction<'c>, sid: i64) -> Self {
        Self { tx, sid, read: HashMap::new(), written: BTreeMap::new() }
    }

    /// Reads the records at `keys` in one statement.
    fn prefetch<'k>(&mut self, keys: impl Iterator<Item = &'k RecordKey>) -> Result<()> {
        let (collections, ids): (Vec<&str>, Vec<&str>) =
            keys.map(|k| (k.collection.as_str(), k.id.as_str())).unzip();
        let found = rows(
            self.tx,
            "SELECT r.collection, r.id, r.state FROM engine_records r
             JOIN unnest($2::TEXT[], $3::TEXT[]) AS k (collection, id)
               ON r.collection = k.collection AND r.id = k.id
             WHERE r.sid = $1",
            &[&self.sid, &collections, &ids],
        )?;
        for (collection, id) in collections.iter().zip(&ids) {
            self.read.insert(RecordKey::new(*collection, *id), None);
        }
        for row in &found {
            let key = RecordKey::new(get::<String>(row, 0)?, get::<String>(row, 1)?);
            let state = codec::decode(Kind::Record, &get::<Vec<u8>>(row, 2)?)?;
            self.read.insert(key, Some(state));
        }
        Ok(())
    }

    /// Writes every saved record and its clock rows.
    fn flush(&mut self) -> Result<()> {
        if self.written.is_empty() {
            return Ok(());
        }
        let written = std::mem::take(&mut self.written);
        let mut collections = Vec::with_capacity(written.len());
        let mut ids = Vec::with_capacity(written.len());
        let mut states = Vec::with_capacity(written.len());
        let (mut clock_collections, mut clock_ids, mut replicas, mut counters) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (key, state) in &written {
            collections.push(key.collection.as_str());
            ids.push(key.id.as_str());
            states.push(codec::encode(Kind::Record, state)?);
            for (replica, counter) in state.max_counters() {
                clock_collections.push(key.collection.as_str());
                clock_ids.push(key.id.as_str());
                replicas.push(replica.to_bytes().to_vec());
                counters.push(to_i64(counter));
            }
        }
        execute(
            self.tx,
            "INSERT INTO engine_records (sid, collection, id, state)
             SELECT $1, * FROM unnest($2::TEXT[], $3::TEXT[], $4::BYTEA[])
             ON CONFLICT (sid, collection, id) DO UPDATE SET state = excluded.state",
            &[&self.sid, &collections, &ids, &states],
        )?;
        execute(
            self.tx,
            "DELETE FROM engine_record_clock c USING unnest($2::TEXT[], $3::TEXT[]) AS k (collection, id)
             WHERE c.sid = $1 AND c.collection = k.collection AND c.id = k.id",
            &[&self.sid, &collections, &ids],
        )?;
        execute(
            self.tx,
            "INSERT INTO engine_record_clock (sid, collection, id, replica, counter)
             SELECT $1, * FROM unnest($2::TEXT[], $3::TEXT[], $4::BYTEA[], $5::BIGINT[])",
            &[&self.sid, &clock_collections, &clock_ids, &replicas, &counters],
        )?;
        for (key, state) in written {
            self.read.insert(key, Some(state));
        }
        Ok(())
    }
}

impl RecordStore for PgRecords<'_, '_> {
    fn load(&mut self, key: &RecordKey) -> Result<Option<RecordState>> {
        if let Some(state) = self.written.get(key) {
            return Ok(Some(state.clone()));
        }
        if let Some(known) = self.read.get(key) {
            return Ok(known.clone());
        }
        let found = rows(
            self.tx,
            "SELECT state FROM engine_records WHERE sid = $1 AND collection = $2 AND id = $3",
            &[&self.sid, &key.collection, &key.id],
        )?;
        let state = found
            .first()
            .map(|row| codec::decode(Kind::Record, &get::<Vec<u8>>(row, 0)?))
            .transpose()?;
        self.read.insert(key.clone(), state.clone());
        Ok(state)
    }

    fn save(&mut self, key: &RecordKey, state: &RecordState) -> Result<()> {
        self.written.insert(key.clone(), state.clone());
        Ok(())
    }

    /// The records found are kept as read, and each is then loaded as `load` would (a record
    /// written in this transaction first).
    fn records_with_unseen(
        &mut self,
        since: &VersionVector,
        local: &VersionVector,
    ) -> Result<Vec<(RecordKey, RecordState)>> {
        let mut keys = BTreeSet::new();
        for (replica, counter) in local.iter() {
            let known = since.get(&replica);
            if counter <= known {
                continue;
            }
            let found = rows(
                self.tx,
                "SELECT r.collection, r.id, r.state FROM engine_records r
                 WHERE r.sid = $1 AND EXISTS (
                     SELECT 1 FROM engine_record_clock c
                     WHERE c.sid = r.sid AND c.collection = r.collection AND c.id = r.id
                       AND c.replica = $2 AND c.counter > $3)",
                &[&self.sid, &replica.to_bytes().to_vec(), &to_i64(known)],
            )?;
            for row in &found {
                let key = RecordKey::new(get::<String>(row, 0)?, get::<String>(row, 1)?);
                if !self.read.contains_key(&key) {
                    let state = codec::decode(Kind::Record, &get::<Vec<u8>>(row, 2)?)?;
                    self.read.insert(key.clone(), Some(state));
                }
                keys.insert(key);
            }
        }
        let mut records = Vec::new();
        for key in keys {
            if let Some(state) = self.load(&key)? {
                records.push((key, state));
            }
        }
        Ok(records)
    }
}

impl PgEngine {
    /// The engine of `database`, taking (or making) the server replica's id.
    pub fn open(database: &Database) -> crate::Result<Self> {
        let id = database.meta_or_insert("replica_id", || {
            Ok(ReplicaId::random().map_err(crate::Error::Engine)?.to_bytes().to_vec())
        })?;
        let id: [u8; 16] = id.try_into().map_err(|_| crate::Error::NotAlmanacDatabase)?;
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix)
            .map_err(|e| crate::Error::Engine(Error::Randomness(e.to_string())))?;
        let instance = suffix.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            pool: std::sync::Arc::clone(&database.pool),
            replica: ReplicaId::from_bytes(id),
            instance,
        })
    }

    /// This instance's name in notifications.
    pub(crate) fn instance(&self) -> &str {
        &self.instance
    }

    fn client(&self) -> Result<Pooled<'_>> {
        self.pool.get().map_err(server)
    }

    /// Runs `work` in a READ COMMITTED transaction and commits it.
    fn write<T>(&self, work: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut client = self.client()?;
        let tx = wait(client.transaction()).map_err(storage)?;
        let value = work(&tx)?;
        wait(tx.commit()).map_err(storage)?;
        Ok(value)
    }

    /// Runs `work` in a REPEATABLE READ, read-only transaction: one snapshot for all it reads.
    fn read<T>(&self, work: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut client = self.client()?;
        let tx = wait(
            client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start(),
        )
        .map_err(storage)?;
        let value = work(&tx)?;
        wait(tx.commit()).map_err(storage)?;
        Ok(value)
    }

    /// Joins `records` of a delta into `space` under the space's lock, records `context` and
    /// `hlc` as seen, drops what was staged from `staged_from`, and announces the change. The
    /// caller's transaction commits all of it at once.
    fn apply_locked(
        &self,
        tx: &Transaction<'_>,
        delta: &Delta,
        staged_from: Option<ReplicaId>,
    ) -> Result<Changes> {
        let row = held(tx, &delta.space, true)?;
        let before = ReplicaState { id: self.replica, hlc: row.hlc, seen: row.seen };
        let mut replica = before.clone();
        let mut records = PgRecords::new(tx, row.sid);
        records.prefetch(delta.records.iter().map(|(key, _)| key))?;
        let changes = replica.apply(&mut records, delta, now_millis())?;
        records.flush()?;
        if replica != before {
            execute(
                tx,
                "UPDATE engine_spaces SET seen = $2, hlc_millis = $3, hlc_logical = $4
                 WHERE sid = $1",
                &[
                    &row.sid,
                    &encode_vector(&replica.seen)?,
                    &to_i64(replica.hlc.millis),
                    &i64::from(replica.hlc.logical),
                ],
            )?;
        }
        if let Some(peer) = staged_from {
            execute(
                tx,
                "DELETE FROM engine_inbound WHERE sid = $1 AND peer = $2",
                &[&row.sid, &peer.to_bytes().to_vec()],
            )?;
        }
        if replica.seen != before.seen {
            // Delivered to the listening instances only if (and when) this transaction commits.
            let payload = format!("{}\n{}", self.instance, delta.space.as_str());
            execute(tx, "SELECT pg_notify($1, $2)", &[&CHANNEL, &payload])?;
        }
        Ok(changes)
    }
}

impl SyncStore for PgEngine {
    fn replica_id(&self) -> ReplicaId {
        self.replica
    }

    fn holds_space(&self, space: &SpaceId) -> Result<bool> {
        let client = self.client()?;
        let found = wait(
            client.query_opt("SELECT 1 FROM engine_spaces WHERE name = $1", &[&space.as_str()]),
        )
        .map_err(storage)?;
        Ok(found.is_some())
    }

    fn version_vector(&self, space: &SpaceId) -> Result<VersionVector> {
        self.read(|tx| Ok(held(tx, space, false)?.seen))
    }

    fn delta_since(&self, space: &SpaceId, since: &VersionVector) -> Result<Delta> {
        self.read(|tx| {
            let row = held(tx, space, false)?;
            let replica = ReplicaState { id: self.replica, hlc: row.hlc, seen: row.seen };
            let mut records = PgRecords::new(tx, row.sid);
            replica.delta_since(&mut records, space, since)
        })
    }

    fn apply_delta(&self, delta: Delta) -> Result<Changes> {
        // One transaction however large: nobody's local writes wait behind it on a server,
        // and a delta is then either wholly in or not at all.
        self.write(|tx| self.apply_locked(tx, &delta, None))
    }

    fn peer_vector(
        &self,
        space: &SpaceId,
        peer: ReplicaId,
        direction: Direction,
    ) -> Result<Option<VersionVector>> {
        let sql = match direction {
            Direction::Sent => {
                "SELECT p.sent FROM engine_peers p JOIN engine_spaces s ON s.sid = p.sid
                 WHERE s.name = $1 AND p.peer = $2"
            }
            Direction::Received => {
                "SELECT p.received FROM engine_peers p JOIN engine_spaces s ON s.sid = p.sid
                 WHERE s.name = $1 AND p.peer = $2"
            }
        };
        let client = self.client()?;
        let found = wait(client.query_opt(sql, &[&space.as_str(), &peer.to_bytes().to_vec()]))
            .map_err(storage)?;
        let bytes: Option<Vec<u8>> = match found {
            Some(row) => get(&row, 0)?,
            None => None,
        };
        bytes.map(|b| decode_vector(&b)).transpose()
    }

    fn set_peer_vector(
        &self,
        space: &SpaceId,
        peer: ReplicaId,
        direction: Direction,
        vector: &VersionVector,
    ) -> Result<()> {
        let sql = match direction {
            Direction::Sent => {
                "INSERT INTO engine_peers (sid, peer, sent)
                 SELECT sid, $2, $3 FROM engine_spaces WHERE name = $1
                 ON CONFLICT (sid, peer) DO UPDATE SET sent = excluded.sent"
            }
            Direction::Received => {
                "INSERT INTO engine_peers (sid, peer, received)
                 SELECT sid, $2, $3 FROM engine_spaces WHERE name = $1
                 ON CONFLICT (sid, peer) DO UPDATE SET received = excluded.received"
            }
        };
        let blob = encode_vector(vector)?;
        let client = self.client()?;
        wait(client.execute(sql, &[&space.as_str(), &peer.to_bytes().to_vec(), &blob]))
            .map_err(storage)?;
        Ok(())
    }

    fn inbound(&self, space: &SpaceId, peer: ReplicaId) -> Result<Option<Inbound>> {
        self.read(|tx| inbound(tx, space, peer))
    }

    fn begin_inbound(
        &self,
        space: &SpaceId,
        peer: ReplicaId,
        since: &VersionVector,
        context: &VersionVector,
        hlc: Hlc,
        resumed: bool,
    ) -> Result<()> {
        let peer = peer.to_bytes().to_vec();
        let (since, context) = (encode_vector(since)?, encode_vector(context)?);
        let (millis, logical) = (to_i64(hlc.millis), i64::from(hlc.logical));
        self.write(|tx| {
            let Some(sid) = sid_of(tx, space)? else {
                return Err(Error::SpaceNotHeld(space.clone()));
            };
            if resumed {
                let updated = execute(
                    tx,
                    "UPDATE engine_inbound SET since = $3, context = $4, hlc_millis = $5,
                     hlc_logical = $6 WHERE sid = $1 AND peer = $2",
                    &[&sid, &peer, &since, &context, &millis, &logical],
                )?;
                if updated == 1 {
                    return Ok(());
                }
            }
            execute(tx, "DELETE FROM engine_inbound WHERE sid = $1 AND peer = $2", &[&sid, &peer])?;
            execute(
                tx,
                "INSERT INTO engine_inbound (sid, peer, since, context, hlc_millis, hlc_logical,
                                             next_seq, complete)
                 VALUES ($1, $2, $3, $4, $5, $6, 0, FALSE)",
                &[&sid, &peer, &since, &context, &millis, &logical],
            )?;
            Ok(())
        })
    }

    fn stage_chunk(
        &self,
        space: &SpaceId,
        peer: ReplicaId,
        seq: u32,
        records: &[(RecordKey, RecordDelta)],
        last: bool,
    ) -> Result<()> {
        let peer = peer.to_bytes().to_vec();
        let greatest = records.iter().map(|(key, _)| key).max();
        self.write(|tx| {
            let Some(sid) = sid_of(tx, space)? else {
                return Err(Error::SpaceNotHeld(space.clone()));
            };
            let mut collections = Vec::with_capacity(records.len());
            let mut ids = Vec::with_capacity(records.len());
            let mut blobs = Vec::with_capacity(records.len());
            for (key, record) in records {
                collections.push(key.collection.as_str());
                ids.push(key.id.as_str());
                blobs.push(codec::encode(Kind::RecordDelta, record)?);
            }
            execute(
                tx,
                "INSERT INTO engine_staged (sid, peer, collection, id, record)
                 SELECT $1, $2, * FROM unnest($3::TEXT[], $4::TEXT[], $5::BYTEA[])
                 ON CONFLICT (sid, peer, collection, id) DO UPDATE SET record = excluded.record",
                &[&sid, &peer, &collections, &ids, &blobs],
            )?;
            let updated = execute(
                tx,
                "UPDATE engine_inbound SET next_seq = $3, complete = $4,
                     last_collection = COALESCE($5, last_collection),
                     last_id = CASE WHEN $5::TEXT IS NULL THEN last_id ELSE $6 END
                 WHERE sid = $1 AND peer = $2",
                &[
                    &sid,
                    &peer,
                    &(i64::from(seq) + 1),
                    &last,
                    &greatest.map(|k| k.collection.as_str()),
                    &greatest.map(|k| k.id.as_str()),
                ],
            )?;
            if updated != 1 {
                return Err(Error::Protocol("a chunk for a delta that was not started".into()));
            }
            Ok(())
        })
    }

    fn drop_inbound(&self, space: &SpaceId, peer: ReplicaId) -> Result<()> {
        self.write(|tx| {
            execute(
                tx,
                "DELETE FROM engine_inbound i USING engine_spaces s
                 WHERE s.sid = i.sid AND s.name = $1 AND i.peer = $2",
                &[&space.as_str(), &peer.to_bytes().to_vec()],
            )
            .map(drop)
        })
    }

    fn apply_staged(&self, space: &SpaceId, peer: ReplicaId) -> Result<Changes> {
        let applied = self.write(|tx| {
            let Some(header) = inbound(tx, space, peer)?.filter(|i| i.complete) else {
                return Err(Error::InvalidInput(format!(
                    "no complete delta from {peer} is staged for space {space}"
                )));
            };
            let Some(sid) = sid_of(tx, space)? else {
                return Err(Error::SpaceNotHeld(space.clone()));
            };
            let found = rows(
                tx,
                "SELECT collection, id, record FROM engine_staged WHERE sid = $1 AND peer = $2
                 ORDER BY collection, id",
                &[&sid, &peer.to_bytes().to_vec()],
            )?;
            let mut records = Vec::with_capacity(found.len());
            for row in &found {
                let key = RecordKey::new(get::<String>(row, 0)?, get::<String>(row, 1)?);
                records.push((key, codec::decode(Kind::RecordDelta, &get::<Vec<u8>>(row, 2)?)?));
            }
            let delta = Delta {
                space: space.clone(),
                since: header.since,
                context: header.context,
                hlc: header.hlc,
                records,
            };
            self.apply_locked(tx, &delta, Some(peer))
        });
        if let Err(error) = &applied {
            // Refused: nothing of it was applied, and asking again brings it anew. A storage
            // failure keeps it staged for the next try.
            if !matches!(error, Error::Storage(_)) {
                self.drop_inbound(space, peer)?;
            }
        }
        applied
    }
}

/// The inbound header of `peer` for `space`, read in `tx`.
fn inbound(tx: &Transaction<'_>, space: &SpaceId, peer: ReplicaId) -> Result<Option<Inbound>> {
    let found = rows(
        tx,
        "SELECT i.since, i.context, i.hlc_millis, i.hlc_logical, i.next_seq, i.last_collection,
                i.last_id, i.complete
         FROM engine_inbound i JOIN engine_spaces s ON s.sid = i.sid
         WHERE s.name = $1 AND i.peer = $2",
        &[&space.as_str(), &peer.to_bytes().to_vec()],
    )?;
    let Some(row) = found.first() else { return Ok(None) };
    let collection: Option<String> = get(row, 5)?;
    let id: Option<String> = get(row, 6)?;
    Ok(Some(Inbound {
        since: decode_vector(&get::<Vec<u8>>(row, 0)?)?,
        context: decode_vector(&get::<Vec<u8>>(row, 1)?)?,
        hlc: Hlc {
            millis: from_i64(get(row, 2)?),
            logical: u32::try_from(get::<i64>(row, 3)?).unwrap_or(0),
        },
        next_seq: u32::try_from(get::<i64>(row, 4)?).unwrap_or(0),
        last_key: collection.zip(id).map(|(c, i)| RecordKey::new(c, i)),
        complete: get(row, 7)?,
    }))
}

impl Engine for PgEngine {
    fn join_space(&self, space: &SpaceId) -> Result<()> {
        let seen = encode_vector(&VersionVector::new())?;
        let client = self.client()?;
        wait(client.execute(
            "INSERT INTO engine_spaces (name, seen, hlc_millis, hlc_logical) VALUES ($1, $2, 0, 0)
             ON CONFLICT (name) DO NOTHING",
            &[&space.as_str(), &seen],
        ))
        .map_err(storage)?;
        Ok(())
    }

    fn check(&self) -> Result<()> {
        let client = self.client()?;
        wait(client.query_one("SELECT 1", &[])).map_err(storage)?;
        Ok(())
    }

    fn close(&self) -> Result<()> {
        // Every commit is already durable in the database; connections close with the pool.
        Ok(())
    }
}
