//! The admin commands: add users, issue tokens, share and revoke spaces. They change the
//! accounts database directly (safe while the server runs: it reads access afresh at every
//! `Open`). Each checks everything before changing anything.

use almanac_core::{ReplicaId, SpaceId};

use crate::accounts::{ShareChange, UserName};
use crate::backend::{ACCOUNTS_FILE, Location};
use crate::config::parse_duration;
use crate::error::{Error, Result};

/// What `share` does.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ShareMode {
    /// Read and write.
    ReadWrite,
    /// Read only: the member's own changes are not taken.
    ReadOnly,
    /// Take the share away.
    Revoke,
}

/// `user add <name>`: returns the line to print.
pub fn add_user(location: &Location, name: &str) -> Result<String> {
    let name = UserName::new(name)?;
    location.accounts()?.add_user(&name)?;
    Ok(format!("added user {}", name.as_str()))
}

/// Whether the embedded backend has an accounts database yet (so a command that only reads
/// users does not create an empty data folder).
fn has_accounts(location: &Location) -> Result<bool> {
    match location {
        Location::Folder(folder) => Ok(folder.join(ACCOUNTS_FILE).exists()),
        // The database's schema (with its accounts tables) is made when it is first opened.
        Location::Postgres(_) => Ok(true),
    }
}

/// `token --user <name> --expires <duration>`: returns the token.
pub fn issue_token(location: &Location, user: &str, expires: &str) -> Result<String> {
    let valid_for = parse_duration(expires)?;
    if valid_for.as_secs() == 0 {
        return Err(Error::InvalidDuration(expires.to_owned()));
    }
    if !has_accounts(location)? || !location.accounts()?.has_user(user)? {
        return Err(Error::UnknownUser(user.to_owned()));
    }
    location.token_key()?.issue(user, valid_for)
}

/// `device list --user <name>`: one line per device and space, `<replica id> <space> <last
/// round>` (RFC 3339, or `retired` after `device retire`), tab-separated; a note when none.
pub fn list_devices(location: &Location, user: &str) -> Result<String> {
    if !has_accounts(location)? {
        return Err(Error::UnknownUser(user.to_owned()));
    }
    let devices = location.accounts()?.devices(user)?;
    if devices.is_empty() {
        return Ok(format!("{user} has no device that ever synced"));
    }
    let lines: Vec<String> = devices
        .iter()
        .map(|d| {
            let when = match jiff::Timestamp::from_second(d.last_round) {
                Ok(_) if d.last_round == 0 => "retired".to_owned(),
                Ok(at) => at.to_string(),
                Err(_) => format!("{} (Unix seconds)", d.last_round),
            };
            format!("{}\t{}\t{when}", d.replica, d.space)
        })
        .collect();
    Ok(lines.join("\n"))
}

/// `device retire --user <name> <replica id>`: returns the line to print.
pub fn retire_device(location: &Location, user: &str, replica: &str) -> Result<String> {
    let id: ReplicaId = replica.parse().map_err(|_| Error::InvalidReplicaId(replica.to_owned()))?;
    if !has_accounts(location)? {
        return Err(Error::UnknownUser(user.to_owned()));
    }
    let spaces = location.accounts()?.retire_device(user, id)?;
    Ok(if spaces == 0 {
        format!("{user} has no device {id} that ever synced; nothing changed")
    } else {
        format!(
            "retired device {id} of {user} from {spaces} space(s): it no longer holds their \
             stable point back, and fetches them again if it comes back"
        )
    })
}

/// `share <space> --with <user> [--read-only | --revoke]`: returns the line to print.
pub fn share(location: &Location, space: &str, user: &str, mode: ShareMode) -> Result<String> {
    let id =
        SpaceId::new(space).map_err(|e| Error::InvalidSpace(space.to_owned(), e.to_string()))?;
    if !has_accounts(location)? {
        return Err(Error::UnknownUser(user.to_owned()));
    }
    let accounts = location.accounts()?;
    let line = match mode {
        ShareMode::Revoke => {
            if accounts.revoke(&id, user)? {
                format!("revoked {user}'s access to {space}")
            } else {
                format!("{space} was not shared with {user}; nothing changed")
            }
        }
        ShareMode::ReadOnly | ShareMode::ReadWrite => {
            let read_only = mode == ShareMode::ReadOnly;
            let access = if read_only { "read-only" } else { "read-write" };
            match accounts.share(&id, user, read_only)? {
                ShareChange::Added => format!("shared {space} with {user} ({access})"),
                ShareChange::Changed => format!("{user} now has {access} access to {space}"),
                ShareChange::Unchanged => {
                    format!("{user} already has {access} access to {space}; nothing changed")
                }
            }
        }
    };
    Ok(line)
}
