//! Who may sync what: users, the spaces they own, the spaces shared with them, and what each
//! device has last said it has seen of a space (for the causal-stability point).
//!
//! [`Accounts`] is the one seam between the server and the database that holds this: the
//! embedded backend is [`SqliteAccounts`] (a file in the data folder), the PostgreSQL backend
//! `crate::postgres::PgAccounts`. The records themselves live in the engine
//! (`crate::engine::Engine`), not behind this trait (decision 0019).

mod sqlite;

use almanac_core::sync::Access;
use almanac_core::{ReplicaId, SpaceId, VersionVector};

pub use sqlite::SqliteAccounts;

use crate::error::{Error, Result};

/// A user name: 1 to 64 of letters, digits, `.`, `_`, `-`, `@` (it appears in tokens, logs and
/// on command lines, so nothing that needs quoting).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct UserName(String);

impl UserName {
    /// Checks `name`.
    pub fn new(name: &str) -> Result<Self> {
        let valid = (1..=64).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
        if valid { Ok(Self(name.to_owned())) } else { Err(Error::InvalidUserName(name.to_owned())) }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What `share` did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ShareChange {
    /// The user had no access before.
    Added,
    /// The user's access changed (read-only to read-write or back).
    Changed,
    /// The user already had exactly this access.
    Unchanged,
}

/// A user a space is shared with, as its owner sees it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Member {
    /// The user's name.
    pub user: String,
    /// Whether the user only reads the space.
    pub read_only: bool,
}
/// A device's last round in one space ([`Accounts::devices`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DeviceRound {
    /// The device's replica id.
    pub replica: ReplicaId,
    /// The space.
    pub space: SpaceId,
    /// When its last round there was, in Unix seconds (0 once retired by an admin).
    pub last_round: i64,
}

/// The accounts database (see the module documentation). Every method is one transaction;
/// implementations are called from blocking threads, never from the async runtime.
pub trait Accounts: Send + Sync {
    /// Adds a user; [`Error::UserExists`] if the name is taken.
    fn add_user(&self, name: &UserName) -> Result<()>;

    /// Whether a user of that name exists.
    fn has_user(&self, name: &str) -> Result<bool>;

    /// What `user` may do with each of `spaces` (a device's `Open`), in their order: a space
    /// nobody has yet is created, owned by `user` ([`Access::ReadWrite`]); the owner and
    /// read-write members get read-write, read-only members read-only, everyone else
    /// [`Access::Denied`] (also every space of a user that no longer exists). One transaction:
    /// two users opening a new space at once cannot both own it.
    fn open_spaces(&self, user: &str, spaces: &[SpaceId]) -> Result<Vec<Access>>;

    /// Gives `user` access to `space` (read-only or read-write). The space must exist and
    /// `user` must not own it.
    fn share(&self, space: &SpaceId, user: &str, read_only: bool) -> Result<ShareChange>;

    /// Takes `user`'s share of `space` away; `false` if there was none. The next `Open` of any
    /// of the user's devices is denied the space.
    fn revoke(&self, space: &SpaceId, user: &str) -> Result<bool>;

    /// The name of `space`'s owner (the user whose device opened it first), or `None` if no
    /// device has opened it yet.
    fn owner(&self, space: &SpaceId) -> Result<Option<String>>;

    /// The users `space` is shared with (not its owner), sorted by name.
    fn members(&self, space: &SpaceId) -> Result<Vec<Member>>;

    /// Remembers, per space, the version vector device `replica` of `user` sent in its `Want`
    /// (one transaction; it need not survive a power cut: a stale entry only holds the
    /// stability point back until the device's next round).
    fn record_seen(
        &self,
        user: &str,
        replica: ReplicaId,
        seen: &[(SpaceId, VersionVector)],
    ) -> Result<()>;

    /// The vector last remembered by [`Accounts::record_seen`] for that device.
    fn last_seen(
        &self,
        space: &SpaceId,
        user: &str,
        replica: ReplicaId,
    ) -> Result<Option<VersionVector>>;

    /// The vectors last remembered for every device of `space` whose user still has access
    /// (a revoked member's devices can no longer sync, so they no longer hold stability back)
    /// and whose last round is at or after `active_since` (Unix seconds): older ones are
    /// retired (decision 0025).
    fn seen_by_members(&self, space: &SpaceId, active_since: i64) -> Result<Vec<VersionVector>>;

    /// Every device of `user` that ever synced, per space: its replica id and when its last
    /// round there was (Unix seconds; 0 once retired with [`Accounts::retire_device`]), by
    /// replica then space.
    fn devices(&self, user: &str) -> Result<Vec<DeviceRound>>;

    /// Retires device `replica` of `user` from every space now (a lost or replaced phone): it
    /// no longer holds any stable point back, and fetches its spaces again if it ever comes
    /// back. Returns how many spaces it had synced.
    fn retire_device(&self, user: &str, replica: ReplicaId) -> Result<usize>;

    /// Answers if the database is reachable (for `/healthz`).
    fn check(&self) -> Result<()>;
}

/// A `seen` row read back as a [`DeviceRound`] (a row that is not one means damage).
pub(crate) fn device_round(
    replica: Vec<u8>,
    space: String,
    last_round: i64,
) -> Result<DeviceRound> {
    let replica: [u8; 16] = replica.try_into().map_err(|_| {
        Error::Engine(almanac_core::Error::Corrupt(
            "a stored device replica id is not 16 bytes".into(),
        ))
    })?;
    let space = SpaceId::new(space).map_err(Error::Engine)?;
    Ok(DeviceRound { replica: ReplicaId::from_bytes(replica), space, last_round })
}
