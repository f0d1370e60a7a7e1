//! [`Accounts`] in PostgreSQL: the same tables and rules as the embedded backend's
//! (`accounts/sqlite.rs`), shared by every instance. A space created by two instances at once
//! gets one owner: the insert that loses the race does nothing, and both read the winner.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use almanac_core::codec::{self, Kind};
use almanac_core::sync::Access;
use almanac_core::{ReplicaId, SpaceId, VersionVector};
use tokio_postgres::Transaction;
use tokio_postgres::types::ToSql;

use super::pool::{Pool, wait};
use crate::accounts::{Accounts, DeviceRound, Member, ShareChange, UserName, device_round};
use crate::error::{Error, Result};

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// [`Accounts`] in the PostgreSQL database.
#[derive(Debug)]
pub struct PgAccounts {
    pool: Arc<Pool>,
}

fn one<T>(tx: &Transaction<'_>, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<T>>
where
    T: for<'a> tokio_postgres::types::FromSql<'a>,
{
    match wait(tx.query_opt(sql, params))? {
        Some(row) => Ok(Some(row.try_get(0)?)),
        None => Ok(None),
    }
}

fn user_id(tx: &Transaction<'_>, name: &str) -> Result<Option<i64>> {
    one(tx, "SELECT id FROM users WHERE name = $1", &[&name])
}

fn space_owner(tx: &Transaction<'_>, space: &SpaceId) -> Result<Option<i64>> {
    one(tx, "SELECT owner FROM spaces WHERE name = $1", &[&space.as_str()])
}

fn share_of(tx: &Transaction<'_>, space: &SpaceId, user: i64) -> Result<Option<bool>> {
    one(
        tx,
        "SELECT read_only FROM shares WHERE space = $1 AND user_id = $2",
        &[&space.as_str(), &user],
    )
}

impl PgAccounts {
    /// The accounts in the database behind `pool` (its schema made by `Database::open`).
    pub fn new(pool: Arc<Pool>) -> Self {
        Self { pool }
    }

    /// Runs `work` in one transaction and commits it.
    fn transaction<T>(&self, work: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut client = self.pool.get()?;
        let tx = wait(client.transaction())?;
        let value = work(&tx)?;
        wait(tx.commit())?;
        Ok(value)
    }

    /// The owner of `space` and `user`'s id, refusing an unknown user or space and the owner.
    fn member(tx: &Transaction<'_>, space: &SpaceId, user: &str) -> Result<i64> {
        let uid = user_id(tx, user)?.ok_or_else(|| Error::UnknownUser(user.to_owned()))?;
        let owner =
            space_owner(tx, space)?.ok_or_else(|| Error::UnknownSpace(space.to_string()))?;
        if owner == uid {
            return Err(Error::OwnerShare { user: user.to_owned(), space: space.to_string() });
        }
        Ok(uid)
    }
}

impl Accounts for PgAccounts {
    fn add_user(&self, name: &UserName) -> Result<()> {
        let added = self.transaction(|tx| {
            Ok(wait(tx.execute(
                "INSERT INTO users (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                &[&name.as_str(), &now_secs()],
            ))?)
        })?;
        if added == 1 { Ok(()) } else { Err(Error::UserExists(name.as_str().to_owned())) }
    }

    fn has_user(&self, name: &str) -> Result<bool> {
        self.transaction(|tx| Ok(user_id(tx, name)?.is_some()))
    }

    fn open_spaces(&self, user: &str, spaces: &[SpaceId]) -> Result<Vec<Access>> {
        self.transaction(|tx| {
            let Some(uid) = user_id(tx, user)? else {
                return Ok(vec![Access::Denied; spaces.len()]);
            };
            let mut answers = Vec::with_capacity(spaces.len());
            for space in spaces {
                let owner = match space_owner(tx, space)? {
                    Some(owner) => owner,
                    None => {
                        // Another instance may create it at the same moment: whoever inserted
                        // first owns it, and the owner is read back either way.
                        wait(tx.execute(
                            "INSERT INTO spaces (name, owner, created_at) VALUES ($1, $2, $3)
                             ON CONFLICT (name) DO NOTHING",
                            &[&space.as_str(), &uid, &now_secs()],
                        ))?;
                        space_owner(tx, space)?.unwrap_or(uid)
                    }
                };
                answers.push(if owner == uid {
                    Access::ReadWrite
                } else {
                    match share_of(tx, space, uid)? {
                        Some(true) => Access::ReadOnly,
                        Some(false) => Access::ReadWrite,
                        None => Access::Denied,
                    }
                });
            }
            Ok(answers)
        })
    }

    fn share(&self, space: &SpaceId, user: &str, read_only: bool) -> Result<ShareChange> {
        self.transaction(|tx| {
            let uid = Self::member(tx, space, user)?;
            let change = match share_of(tx, space, uid)? {
                None => ShareChange::Added,
                Some(before) if before == read_only => ShareChange::Unchanged,
                Some(_) => ShareChange::Changed,
            };
            wait(tx.execute(
                "INSERT INTO shares (space, user_id, read_only) VALUES ($1, $2, $3)
                 ON CONFLICT (space, user_id) DO UPDATE SET read_only = excluded.read_only",
                &[&space.as_str(), &uid, &read_only],
            ))?;
            Ok(change)
        })
    }

    fn revoke(&self, space: &SpaceId, user: &str) -> Result<bool> {
        self.transaction(|tx| {
            let uid = Self::member(tx, space, user)?;
            let removed = wait(tx.execute(
                "DELETE FROM shares WHERE space = $1 AND user_id = $2",
                &[&space.as_str(), &uid],
            ))?;
            Ok(removed == 1)
        })
    }

    fn owner(&self, space: &SpaceId) -> Result<Option<String>> {
        self.transaction(|tx| {
            one(
                tx,
                "SELECT u.name FROM spaces s JOIN users u ON u.id = s.owner WHERE s.name = $1",
                &[&space.as_str()],
            )
        })
    }

    fn members(&self, space: &SpaceId) -> Result<Vec<Member>> {
        let rows = self.transaction(|tx| {
            Ok(wait(tx.query(
                "SELECT u.name, h.read_only FROM shares h JOIN users u ON u.id = h.user_id
                 WHERE h.space = $1 ORDER BY u.name COLLATE \"C\"",
                &[&space.as_str()],
            ))?)
        })?;
        let mut members = Vec::with_capacity(rows.len());
        for row in rows {
            members.push(Member { user: row.try_get(0)?, read_only: row.try_get(1)? });
        }
        Ok(members)
    }

    fn record_seen(
        &self,
        user: &str,
        replica: ReplicaId,
        seen: &[(SpaceId, VersionVector)],
    ) -> Result<()> {
        self.transaction(|tx| {
            // A stale entry only holds the stability point back until the device's next
            // round: no need to wait for the disk.
            wait(tx.batch_execute("SET LOCAL synchronous_commit = off"))?;
            let Some(uid) = user_id(tx, user)? else { return Ok(()) };
            for (space, vector) in seen {
                let blob = codec::encode(Kind::VersionVector, vector)?;
                wait(tx.execute(
                    "INSERT INTO seen (space, user_id, replica, vector, updated_at)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (space, user_id, replica)
                     DO UPDATE SET vector = excluded.vector, updated_at = excluded.updated_at",
                    &[&space.as_str(), &uid, &replica.to_bytes().to_vec(), &blob, &now_secs()],
                ))?;
            }
            Ok(())
        })
    }

    fn last_seen(
        &self,
        space: &SpaceId,
        user: &str,
        replica: ReplicaId,
    ) -> Result<Option<VersionVector>> {
        let blob: Option<Vec<u8>> = self.transaction(|tx| {
            one(
                tx,
                "SELECT s.vector FROM seen s JOIN users u ON u.id = s.user_id
                 WHERE s.space = $1 AND u.name = $2 AND s.replica = $3",
                &[&space.as_str(), &user, &replica.to_bytes().to_vec()],
            )
        })?;
        Ok(blob.map(|b| codec::decode(Kind::VersionVector, &b)).transpose()?)
    }

    fn seen_by_members(&self, space: &SpaceId, active_since: i64) -> Result<Vec<VersionVector>> {
        let rows = self.transaction(|tx| {
            Ok(wait(tx.query(
                "SELECT s.vector FROM seen s JOIN spaces p ON p.name = s.space
                 WHERE s.space = $1 AND s.updated_at >= $2
                   AND (s.user_id = p.owner
                        OR EXISTS (SELECT 1 FROM shares h
                                   WHERE h.space = s.space AND h.user_id = s.user_id))",
                &[&space.as_str(), &active_since],
            ))?)
        })?;
        let mut vectors = Vec::with_capacity(rows.len());
        for row in rows {
            vectors.push(codec::decode(Kind::VersionVector, &row.try_get::<_, Vec<u8>>(0)?)?);
        }
        Ok(vectors)
    }

    fn devices(&self, user: &str) -> Result<Vec<DeviceRound>> {
        let rows = self.transaction(|tx| {
            let Some(uid) = user_id(tx, user)? else {
                return Err(Error::UnknownUser(user.to_owned()));
            };
            Ok(wait(tx.query(
                "SELECT replica, space, updated_at FROM seen WHERE user_id = $1
                 ORDER BY replica, space",
                &[&uid],
            ))?)
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(device_round(row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)?);
        }
        Ok(out)
    }

    fn retire_device(&self, user: &str, replica: ReplicaId) -> Result<usize> {
        self.transaction(|tx| {
            let Some(uid) = user_id(tx, user)? else {
                return Err(Error::UnknownUser(user.to_owned()));
            };
            // As if its last round were at the epoch: older than any retirement period.
            let changed = wait(tx.execute(
                "UPDATE seen SET updated_at = 0 WHERE user_id = $1 AND replica = $2",
                &[&uid, &replica.to_bytes().to_vec()],
            ))?;
            Ok(usize::try_from(changed).unwrap_or(usize::MAX))
        })
    }

    fn check(&self) -> Result<()> {
        self.transaction(|tx| one::<i64>(tx, "SELECT count(*) FROM users", &[]).map(drop))
    }
}
