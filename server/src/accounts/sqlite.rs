//! The accounts database of the embedded backend: one SQLite file in the data folder
//! (`accounts.sqlite3`), in WAL mode so the admin commands can change it while the server runs.
//! The server reads access afresh at every `Open`, so a share or a revocation applies from the
//! next round on.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use almanac_core::codec::{self, Kind};
use almanac_core::sync::Access;
use almanac_core::{ReplicaId, SpaceId, VersionVector};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Accounts, DeviceRound, Member, ShareChange, UserName, device_round};
use crate::error::{Error, Result};

/// The schema version this code writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 1;

const SCHEMA_V1: &str = "
CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);
-- One row per space: created, owned by its first user, when a device first opens it.
CREATE TABLE spaces (
    name       TEXT PRIMARY KEY,
    owner      INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE shares (
    space     TEXT NOT NULL REFERENCES spaces (name),
    user      INTEGER NOT NULL REFERENCES users (id),
    read_only INTEGER NOT NULL,
    PRIMARY KEY (space, user)
) WITHOUT ROWID;
-- The version vector each device last sent for a space (the meet of these and the server's
-- own is the space's causal-stability point). Keyed by user too: a device cannot overwrite
-- another account's entry by claiming its replica id.
CREATE TABLE seen (
    space      TEXT NOT NULL REFERENCES spaces (name),
    user       INTEGER NOT NULL REFERENCES users (id),
    replica    BLOB NOT NULL,
    vector     BLOB NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (space, user, replica)
) WITHOUT ROWID;
";

/// [`Accounts`] in a SQLite file.
pub struct SqliteAccounts {
    conn: Mutex<Connection>,
}

impl SqliteAccounts {
    /// Opens (creating if needed) the accounts database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // Access decisions are few and small: make each one survive power loss.
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        match version {
            0 => {
                tx.execute_batch(SCHEMA_V1)?;
                tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            }
            SCHEMA_VERSION => {}
            newer => {
                return Err(Error::NewerAccounts {
                    path: path.to_owned(),
                    found: newer,
                    supported: SCHEMA_VERSION,
                });
            }
        }
        tx.commit()?;
        Ok(Self { conn: Mutex::new(conn) })
    }

    /// The connection; a thread that panicked holding it left no transaction open (SQLite
    /// rolls an unfinished one back), so a poisoned lock is safe to take over.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn user_id(conn: &Connection, name: &str) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT id FROM users WHERE name = ?1")?
        .query_row([name], |row| row.get(0))
        .optional()?)
}

fn space_owner(conn: &Connection, space: &SpaceId) -> Result<Option<i64>> {
    Ok(conn
        .prepare_cached("SELECT owner FROM spaces WHERE name = ?1")?
        .query_row([space.as_str()], |row| row.get(0))
        .optional()?)
}

fn share_of(conn: &Connection, space: &SpaceId, user: i64) -> Result<Option<bool>> {
    Ok(conn
        .prepare_cached("SELECT read_only FROM shares WHERE space = ?1 AND user = ?2")?
        .query_row(params![space.as_str(), user], |row| row.get(0))
        .optional()?)
}

fn record_seen_in(
    conn: &mut Connection,
    user: &str,
    replica: ReplicaId,
    seen: &[(SpaceId, VersionVector)],
) -> Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(uid) = user_id(&tx, user)? else { return Ok(()) };
    for (space, vector) in seen {
        let blob = codec::encode(Kind::VersionVector, vector)?;
        tx.prepare_cached(
            "INSERT INTO seen (space, user, replica, vector, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (space, user, replica)
             DO UPDATE SET vector = excluded.vector, updated_at = excluded.updated_at",
        )?
        .execute(params![
            space.as_str(),
            uid,
            replica.to_bytes().to_vec(),
            blob,
            now_secs()
        ])?;
    }
    tx.commit()?;
    Ok(())
}

impl Accounts for SqliteAccounts {
    fn add_user(&self, name: &UserName) -> Result<()> {
        let conn = self.conn();
        let added = conn
            .prepare_cached(
                "INSERT INTO users (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
            )?
            .execute(params![name.as_str(), now_secs()])?;
        if added == 1 { Ok(()) } else { Err(Error::UserExists(name.as_str().to_owned())) }
    }

    fn has_user(&self, name: &str) -> Result<bool> {
        Ok(user_id(&self.conn(), name)?.is_some())
    }

    fn open_spaces(&self, user: &str, spaces: &[SpaceId]) -> Result<Vec<Access>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(uid) = user_id(&tx, user)? else { return Ok(vec![Access::Denied; spaces.len()]) };
        let mut answers = Vec::with_capacity(spaces.len());
        for space in spaces {
            let owner = match space_owner(&tx, space)? {
                Some(owner) => owner,
                None => {
                    tx.prepare_cached(
                        "INSERT INTO spaces (name, owner, created_at) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![space.as_str(), uid, now_secs()])?;
                    uid
                }
            };
            answers.push(if owner == uid {
                Access::ReadWrite
            } else {
                match share_of(&tx, space, uid)? {
                    Some(true) => Access::ReadOnly,
                    Some(false) => Access::ReadWrite,
                    None => Access::Denied,
                }
            });
        }
        // Commits only what was created: an Open of known spaces writes nothing.
        tx.commit()?;
        Ok(answers)
    }

    fn share(&self, space: &SpaceId, user: &str, read_only: bool) -> Result<ShareChange> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let uid = user_id(&tx, user)?.ok_or_else(|| Error::UnknownUser(user.to_owned()))?;
        let owner =
            space_owner(&tx, space)?.ok_or_else(|| Error::UnknownSpace(space.to_string()))?;
        if owner == uid {
            return Err(Error::OwnerShare { user: user.to_owned(), space: space.to_string() });
        }
        let change = match share_of(&tx, space, uid)? {
            None => ShareChange::Added,
            Some(before) if before == read_only => ShareChange::Unchanged,
            Some(_) => ShareChange::Changed,
        };
        tx.prepare_cached(
            "INSERT INTO shares (space, user, read_only) VALUES (?1, ?2, ?3)
             ON CONFLICT (space, user) DO UPDATE SET read_only = excluded.read_only",
        )?
        .execute(params![space.as_str(), uid, read_only])?;
        tx.commit()?;
        Ok(change)
    }

    fn revoke(&self, space: &SpaceId, user: &str) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let uid = user_id(&tx, user)?.ok_or_else(|| Error::UnknownUser(user.to_owned()))?;
        let owner =
            space_owner(&tx, space)?.ok_or_else(|| Error::UnknownSpace(space.to_string()))?;
        if owner == uid {
            return Err(Error::OwnerShare { user: user.to_owned(), space: space.to_string() });
        }
        let removed = tx
            .prepare_cached("DELETE FROM shares WHERE space = ?1 AND user = ?2")?
            .execute(params![space.as_str(), uid])?;
        tx.commit()?;
        Ok(removed == 1)
    }

    fn owner(&self, space: &SpaceId) -> Result<Option<String>> {
        Ok(self
            .conn()
            .prepare_cached(
                "SELECT u.name FROM spaces s JOIN users u ON u.id = s.owner WHERE s.name = ?1",
            )?
            .query_row([space.as_str()], |row| row.get(0))
            .optional()?)
    }

    fn members(&self, space: &SpaceId) -> Result<Vec<Member>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT u.name, h.read_only FROM shares h JOIN users u ON u.id = h.user
             WHERE h.space = ?1 ORDER BY u.name",
        )?;
        let rows = statement.query_map([space.as_str()], |row| {
            Ok(Member { user: row.get(0)?, read_only: row.get(1)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn record_seen(
        &self,
        user: &str,
        replica: ReplicaId,
        seen: &[(SpaceId, VersionVector)],
    ) -> Result<()> {
        let mut conn = self.conn();
        // What a device has seen only holds the stability point back while it is stale, so it
        // needs no wait for the disk: a power cut may lose the last few, and the devices' next
        // rounds send them again. Access decisions keep `synchronous=FULL`.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let written = record_seen_in(&mut conn, user, replica, seen);
        conn.pragma_update(None, "synchronous", "FULL")?;
        written
    }

    fn last_seen(
        &self,
        space: &SpaceId,
        user: &str,
        replica: ReplicaId,
    ) -> Result<Option<VersionVector>> {
        let blob: Option<Vec<u8>> = self
            .conn()
            .prepare_cached(
                "SELECT s.vector FROM seen s JOIN users u ON u.id = s.user
                 WHERE s.space = ?1 AND u.name = ?2 AND s.replica = ?3",
            )?
            .query_row(params![space.as_str(), user, replica.to_bytes().to_vec()], |row| row.get(0))
            .optional()?;
        Ok(blob.map(|b| codec::decode(Kind::VersionVector, &b)).transpose()?)
    }

    fn seen_by_members(&self, space: &SpaceId, active_since: i64) -> Result<Vec<VersionVector>> {
        let conn = self.conn();
        let mut statement = conn.prepare_cached(
            "SELECT s.vector FROM seen s JOIN spaces p ON p.name = s.space
             WHERE s.space = ?1 AND s.updated_at >= ?2
               AND (s.user = p.owner
                    OR EXISTS (SELECT 1 FROM shares h WHERE h.space = s.space AND h.user = s.user))",
        )?;
        let rows = statement
            .query_map(params![space.as_str(), active_since], |row| row.get::<_, Vec<u8>>(0))?;
        let mut vectors = Vec::new();
        for row in rows {
            vectors.push(codec::decode(Kind::VersionVector, &row?)?);
        }
        Ok(vectors)
    }

    fn devices(&self, user: &str) -> Result<Vec<DeviceRound>> {
        let conn = self.conn();
        let Some(uid) = user_id(&conn, user)? else {
            return Err(Error::UnknownUser(user.to_owned()));
        };
        let mut statement = conn.prepare_cached(
            "SELECT replica, space, updated_at FROM seen WHERE user = ?1 ORDER BY replica, space",
        )?;
        let rows = statement.query_map([uid], |row| {
            Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, String>(1)?, row.get::<_, i64>(2)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (replica, space, last_round) = row?;
            out.push(device_round(replica, space, last_round)?);
        }
        Ok(out)
    }

    fn retire_device(&self, user: &str, replica: ReplicaId) -> Result<usize> {
        let conn = self.conn();
        let Some(uid) = user_id(&conn, user)? else {
            return Err(Error::UnknownUser(user.to_owned()));
        };
        // As if its last round were at the epoch: older than any retirement period.
        Ok(conn
            .prepare_cached("UPDATE seen SET updated_at = 0 WHERE user = ?1 AND replica = ?2")?
            .execute(params![uid, replica.to_bytes().to_vec()])?)
    }

    fn check(&self) -> Result<()> {
        self.conn().query_row("SELECT count(*) FROM users", [], |_| Ok(()))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space(id: &str) -> SpaceId {
        SpaceId::new(id).expect("space id")
    }

    fn user(name: &str) -> UserName {
        UserName::new(name).expect("user name")
    }

    #[test]
    fn the_first_user_to_open_a_space_owns_it_and_shares_decide_the_others() {
        let dir = tempfile::tempdir().expect("dir");
        let accounts = SqliteAccounts::open(&dir.path().join("a.sqlite3")).expect("open");
        for name in ["alice", "bob", "carol"] {
            accounts.add_user(&user(name)).expect("add");
        }
        assert!(matches!(accounts.add_user(&user("bob")), Err(Error::UserExists(_))));
        let work = space("work");
        let open =
            |user: &str| accounts.open_spaces(user, std::slice::from_ref(&work)).expect("open")[0];
        assert_eq!(open("alice"), Access::ReadWrite);
        assert_eq!(open("bob"), Access::Denied);
        assert_eq!(accounts.share(&work, "bob", true).expect("share"), ShareChange::Added);
        assert_eq!(open("bob"), Access::ReadOnly);
        assert_eq!(accounts.share(&work, "bob", false).expect("share"), ShareChange::Changed);
        assert_eq!(open("bob"), Access::ReadWrite);
        assert!(accounts.revoke(&work, "bob").expect("revoke"));
        assert!(!accounts.revoke(&work, "bob").expect("revoke"));
        assert_eq!(open("bob"), Access::Denied);
        assert_eq!(open("nobody"), Access::Denied);
        let both = [space("home"), work.clone(), space("home")];
        let answers = accounts.open_spaces("bob", &both).expect("open");
        assert_eq!(answers, [Access::ReadWrite, Access::Denied, Access::ReadWrite]);
        assert!(matches!(accounts.share(&work, "alice", true), Err(Error::OwnerShare { .. })));
        assert!(matches!(accounts.share(&work, "dave", true), Err(Error::UnknownUser(_))));
        assert!(matches!(
            accounts.share(&space("nothing"), "bob", true),
            Err(Error::UnknownSpace(_))
        ));
    }

    #[test]
    fn only_members_devices_count_for_stability() {
        let dir = tempfile::tempdir().expect("dir");
        let accounts = SqliteAccounts::open(&dir.path().join("a.sqlite3")).expect("open");
        accounts.add_user(&user("alice")).expect("add");
        accounts.add_user(&user("bob")).expect("add");
        let work = space("work");
        accounts.open_spaces("alice", std::slice::from_ref(&work)).expect("open");
        accounts.share(&work, "bob", true).expect("share");
        let (a, b) = (ReplicaId::from_bytes([1; 16]), ReplicaId::from_bytes([2; 16]));
        let vector: VersionVector = [(a, 3)].into_iter().collect();
        accounts.record_seen("alice", a, &[(work.clone(), vector.clone())]).expect("seen");
        accounts.record_seen("bob", b, &[(work.clone(), VersionVector::new())]).expect("seen");
        assert_eq!(accounts.last_seen(&work, "alice", a).expect("read"), Some(vector));
        assert_eq!(accounts.last_seen(&work, "bob", a).expect("read"), None);
        assert_eq!(accounts.seen_by_members(&work, 0).expect("seen").len(), 2);
        accounts.revoke(&work, "bob").expect("revoke");
        assert_eq!(accounts.seen_by_members(&work, 0).expect("seen").len(), 1);
    }
}
