//! `almanac sync <store-a> <store-b>`: the sync protocol between two stores of this machine,
//! in both directions, exactly as two devices would run it over a network (every frame goes
//! through its encoding). With `--server` instead of a second store, the store syncs with the
//! sync server (`network.rs`).

use std::io::Write;
use std::path::{Path, PathBuf};

use almanac_core::sync::SessionConfig;
use almanac_core::sync::transport::sync_in_process;
use almanac_core::{SpaceId, Store};

use crate::fail::Failure;
use crate::network;
use crate::store;
use crate::text;

/// Arguments of `almanac sync`.
#[derive(clap::Args, Debug)]
pub struct SyncArgs {
    /// The (first) store.
    store_a: PathBuf,

    /// The second store (syncs the two in this process); leave it out with --server.
    #[arg(required_unless_present = "server", conflicts_with = "server")]
    store_b: Option<PathBuf>,

    /// Sync the store with this server instead: ws://host:port or wss://host:port.
    #[arg(long, value_name = "URL", requires = "token")]
    server: Option<String>,

    /// The server's token for this user (with --server).
    #[arg(long, value_name = "TOKEN", requires = "server")]
    token: Option<String>,

    /// Sync only this calendar (repeat the option for several). A calendar only one store
    /// holds is joined by the other; a store that does not exist yet is created for it. With
    /// --server: a calendar to join besides those the store holds.
    #[arg(long = "calendar", value_name = "ID")]
    calendars: Vec<String>,
}

/// The calendar ids of `--calendar`, checked, without repeats.
pub fn calendar_ids(calendars: &[String]) -> Result<Vec<SpaceId>, Failure> {
    let mut named = Vec::new();
    for id in calendars {
        let space = SpaceId::new(id.as_str()).map_err(|e| {
            Failure::new(format!("--calendar '{}' is not a calendar id: {e}", text::one_line(id)))
        })?;
        if !named.contains(&space) {
            named.push(space);
        }
    }
    Ok(named)
}

/// Runs `almanac sync`.
pub fn run(args: &SyncArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let named = calendar_ids(&args.calendars)?;
    let store_b = match (&args.store_b, &args.server, &args.token) {
        (Some(store_b), None, _) => store_b,
        (None, Some(server), Some(token)) => {
            return network::sync_once(&args.store_a, server, token, named, out);
        }
        // clap enforces one or the other; this is a last line of defence.
        _ => {
            return Err(Failure::new(
                "give two stores, or one store with --server <URL> --token <TOKEN>",
            ));
        }
    };
    let args = InProcess { store_a: &args.store_a, store_b };
    if same_file(args.store_a, args.store_b) {
        return Err(Failure::new("both arguments name the same store; sync needs two stores"));
    }
    // Following a calendar from a new device may start from no store at all; syncing
    // everything both hold needs two stores that exist.
    let existing = |path: &Path| -> Result<Option<Store>, Failure> {
        if named.is_empty() || path.exists() {
            store::open_existing(path).map(Some)
        } else {
            Ok(None)
        }
    };
    let (a, b) = (existing(args.store_a)?, existing(args.store_b)?);
    let holds = |store: &Option<Store>, space: &SpaceId| -> Result<bool, Failure> {
        Ok(match store {
            Some(store) => store.holds_space(space.as_str())?,
            None => false,
        })
    };
    for space in &named {
        if !holds(&a, space)? && !holds(&b, space)? {
            return Err(Failure::new(format!(
                "neither store holds calendar '{}'; nothing was changed",
                text::one_line(space.as_str())
            )));
        }
    }
    // Only now that every name is known good may a store be created or join a calendar.
    let a = match a {
        Some(a) => a,
        None => store::open_or_create(args.store_a)?,
    };
    let b = match b {
        Some(b) => b,
        None => store::open_or_create(args.store_b)?,
    };
    let spaces = if named.is_empty() {
        let held_by_b = b.spaces()?;
        a.spaces()?.into_iter().filter(|s| held_by_b.contains(s)).collect()
    } else {
        for space in &named {
            a.join_space(space.as_str())?;
            b.join_space(space.as_str())?;
        }
        named
    };
    let session = || {
        let mut a_config = SessionConfig::new(spaces.clone());
        a_config.expected_peer = Some(b.replica_id());
        let mut b_config = SessionConfig::new(spaces.clone());
        b_config.expected_peer = Some(a.replica_id());
        sync_in_process(&a, a_config, &b, b_config)
    };
    let (from_a, from_b) = match session() {
        // One store was a copy of the other's (or of a third store's) identity; it moved its
        // writes to a fresh id, and the sync runs again under it.
        Err(almanac_core::Error::ReplicaRenewed { previous, current }) => {
            eprintln!(
                "note: a store was a copy sharing replica id {previous}; it now writes as \
                 {current}, keeping all its writes"
            );
            session()?
        }
        other => other?,
    };
    let names: Vec<&str> = spaces.iter().map(SpaceId::as_str).collect();
    writeln!(
        out,
        "calendars: {}",
        if names.is_empty() { "(none in common)".to_owned() } else { names.join(" ") }
    )?;
    for (from, to, report) in
        [(args.store_a, args.store_b, &from_a), (args.store_b, args.store_a, &from_b)]
    {
        writeln!(
            out,
            "{} -> {}: {} messages, {} bytes, {} records",
            from.display(),
            to.display(),
            report.frames_sent,
            report.bytes_sent,
            report.records_sent
        )?;
    }
    for report in [&from_a, &from_b] {
        if let Some(skew) = report.clock_skew {
            writeln!(
                out,
                "warning: the other store's clock is {} s ahead of this machine's",
                skew.ahead_by_millis / 1000
            )?;
        }
    }
    Ok(())
}

/// The two stores of an in-process sync.
struct InProcess<'a> {
    store_a: &'a Path,
    store_b: &'a Path,
}

/// Whether two paths name the same file (a store synced with itself would only confuse).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
