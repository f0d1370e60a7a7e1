//! `almanac sync <store> --server <url> --token <token>` and `almanac watch`: the store syncs
//! with the sync server through `almanac-client`, once or live. `almanac share`, `unshare`
//! and `shares`: the owner of a calendar changes and lists who it is shared with. What is printed is what the
//! client reports, so the commands double as a check of a server deployment.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use almanac_client::{Client, ClientConfig, Endpoint, LiveEvent, ShareChange, SyncSummary};
use almanac_core::SpaceId;
use almanac_core::sync::Access;
use tokio::sync::broadcast::error::RecvError;

use crate::fail::Failure;
use crate::store;
use crate::sync::calendar_ids;
use crate::text;

/// Arguments of `almanac watch`.
#[derive(clap::Args, Debug)]
pub struct WatchArgs {
    /// The store (created when --calendar names a calendar to join and the file is missing).
    store: PathBuf,

    /// The server: ws://host:port or wss://host:port.
    #[arg(long, value_name = "URL")]
    server: String,

    /// The server's token for this user.
    #[arg(long, value_name = "TOKEN")]
    token: String,

    /// A calendar to join besides those the store holds (repeatable).
    #[arg(long = "calendar", value_name = "ID")]
    calendars: Vec<String>,
}

/// The server, token and calendar every sharing command takes.
#[derive(clap::Args, Debug)]
pub struct SharingArgs {
    /// The store (it must exist; its calendar must have been synced with the server once).
    store: PathBuf,

    /// The server: ws://host:port or wss://host:port.
    #[arg(long, value_name = "URL")]
    server: String,

    /// The server's token for this user (the calendar's owner).
    #[arg(long, value_name = "TOKEN")]
    token: String,

    /// The calendar.
    #[arg(long, value_name = "ID")]
    calendar: String,
}

/// Arguments of `almanac share`.
#[derive(clap::Args, Debug)]
pub struct ShareArgs {
    #[command(flatten)]
    sharing: SharingArgs,

    /// The user to share it with.
    #[arg(long = "with", value_name = "USER")]
    user: String,

    /// Read only: the user's changes stay on their devices.
    #[arg(long)]
    read_only: bool,
}

/// Arguments of `almanac unshare`.
#[derive(clap::Args, Debug)]
pub struct UnshareArgs {
    #[command(flatten)]
    sharing: SharingArgs,

    /// The user to stop sharing it with.
    #[arg(long = "with", value_name = "USER")]
    user: String,
}

fn sharing_client(args: &SharingArgs) -> Result<(Client, SpaceId), Failure> {
    let calendar = calendar_ids(std::slice::from_ref(&args.calendar))?
        .pop()
        .ok_or_else(|| Failure::new("name the calendar with --calendar"))?;
    let (client, _) = client(&args.store, &args.server, &args.token, &[])?;
    Ok((client, calendar))
}

/// `almanac share`: shares a calendar the token's user owns.
pub fn share(args: &ShareArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let (client, calendar) = sharing_client(&args.sharing)?;
    let change = runtime()?
        .block_on(client.share(&calendar, &args.user, args.read_only))
        .map_err(client_failure)?;
    let (id, user) = (text::one_line(calendar.as_str()), text::one_line(&args.user));
    let access = if args.read_only { "read-only" } else { "read-write" };
    match change {
        ShareChange::Added => writeln!(out, "shared {id} with {user} ({access})")?,
        ShareChange::Changed => writeln!(out, "{user} now has {access} access to {id}")?,
        ShareChange::Unchanged => {
            writeln!(out, "{user} already has {access} access to {id}; nothing changed")?
        }
    }
    Ok(())
}

/// `almanac unshare`: stops sharing a calendar the token's user owns.
pub fn unshare(args: &UnshareArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let (client, calendar) = sharing_client(&args.sharing)?;
    let removed =
        runtime()?.block_on(client.unshare(&calendar, &args.user)).map_err(client_failure)?;
    let (id, user) = (text::one_line(calendar.as_str()), text::one_line(&args.user));
    if removed {
        writeln!(out, "stopped sharing {id} with {user}")?;
    } else {
        writeln!(out, "{id} was not shared with {user}; nothing changed")?;
    }
    Ok(())
}

/// `almanac shares`: who a calendar the token's user owns is shared with.
pub fn shares(args: &SharingArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let (client, calendar) = sharing_client(args)?;
    let shares = runtime()?.block_on(client.shares(&calendar)).map_err(client_failure)?;
    if shares.is_empty() {
        writeln!(out, "{} is not shared", text::one_line(calendar.as_str()))?;
    }
    for share in shares {
        let access = if share.read_only { "read-only" } else { "read-write" };
        writeln!(out, "{}\t{access}", text::one_line(&share.user))?;
    }
    Ok(())
}

/// Syncs `path` with the server once and prints what happened.
pub fn sync_once(
    path: &Path,
    server: &str,
    token: &str,
    named: Vec<SpaceId>,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let (client, url) = client(path, server, token, &named)?;
    let summary = runtime()?.block_on(client.sync_once()).map_err(client_failure)?;
    writeln!(out, "server: {url}")?;
    print_summary(&summary, out)?;
    let refused: Vec<&str> = summary
        .spaces
        .iter()
        .filter(|s| s.access == Access::Denied && named.contains(&s.space))
        .map(|s| s.space.as_str())
        .collect();
    if !refused.is_empty() {
        out.flush()?;
        return Err(Failure::new(format!(
            "the server refused calendar {}: it belongs to another user who has not shared it \
             with you, or the id is not allowed",
            refused
                .iter()
                .map(|s| format!("'{}'", text::one_line(s)))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(())
}

/// Runs `almanac watch` until Ctrl-C.
pub fn watch(args: &WatchArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let named = calendar_ids(&args.calendars)?;
    let (client, url) = client(&args.store, &args.server, &args.token, &named)?;
    runtime()?.block_on(async {
        let live = client.start().map_err(client_failure)?;
        let mut events = live.events();
        let mut connected = false;
        let result = loop {
            let event = tokio::select! {
                event = events.recv() => event,
                _ = tokio::signal::ctrl_c() => break Ok(()),
            };
            match event {
                Ok(LiveEvent::Connected { reconnected }) => {
                    connected = true;
                    let what = if reconnected { "reconnected to" } else { "connected to" };
                    writeln!(out, "{}\t{what} {url}", now())?;
                }
                Ok(LiveEvent::Synced(summary)) => {
                    for space in summary.spaces.iter().filter(|s| s.records_received > 0) {
                        writeln!(
                            out,
                            "{}\t{}\t{} records",
                            now(),
                            text::one_line(space.space.as_str()),
                            space.records_received
                        )?;
                    }
                }
                Ok(LiveEvent::Disconnected { error, retrying }) => {
                    // A server that cannot be reached at the start is more likely a wrong
                    // address than an outage: say so at once rather than retry in silence.
                    if !retrying || !connected {
                        break Err(Failure::new(error.to_string()));
                    }
                    eprintln!("{}\tdisconnected: {error}; reconnecting", now());
                }
                Err(RecvError::Lagged(missed)) => {
                    eprintln!("{}\t{missed} events not shown (output too slow)", now());
                }
                Err(RecvError::Closed) => {
                    break Err(Failure::new("the live sync ended unexpectedly"));
                }
            }
            out.flush()?;
        };
        live.stop().await;
        result
    })
}

/// A client for the store at `path`, and the URL it connects to. The URL is checked before the
/// store is opened, so a typo creates nothing.
fn client(
    path: &Path,
    server: &str,
    token: &str,
    named: &[SpaceId],
) -> Result<(Client, String), Failure> {
    let endpoint = Endpoint::parse(server).map_err(client_failure)?;
    let store = if named.is_empty() || path.exists() {
        store::open_existing(path)?
    } else {
        store::open_or_create(path)?
    };
    let mut config = ClientConfig::new(server, token);
    for space in named {
        if !store.holds_space(space.as_str())? {
            config.spaces_to_join.push(space.clone());
        }
    }
    let client = Client::new(Arc::new(store), config).map_err(client_failure)?;
    Ok((client, endpoint.as_str().to_owned()))
}

fn print_summary(summary: &SyncSummary, out: &mut dyn Write) -> Result<(), Failure> {
    for space in &summary.spaces {
        let id = text::one_line(space.space.as_str());
        let access = match space.access {
            Access::ReadWrite => "read-write",
            Access::ReadOnly => "read-only",
            Access::Denied => "refused by the server",
        };
        let mut line = format!("calendar {id}: {access}");
        if space.access != Access::Denied {
            line.push_str(&format!(", {} records received", space.records_received));
        }
        if space.joined {
            line.push_str(", joined");
        }
        if space.pending_local_changes {
            line.push_str(match space.access {
                Access::ReadWrite => ", local changes not yet acknowledged",
                _ => ", local changes stay on this device (not shared for writing)",
            });
        }
        writeln!(out, "{line}")?;
    }
    writeln!(
        out,
        "sent: {} records, {} bytes; received: {} records, {} bytes",
        summary.records_sent, summary.bytes_sent, summary.records_received, summary.bytes_received
    )?;
    if let Some(skew) = summary.clock_skew {
        writeln!(
            out,
            "warning: the server's clock is {} s ahead of this machine's",
            skew.ahead_by_millis / 1000
        )?;
    }
    Ok(())
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("cannot start the network runtime: {e}")))
}

fn client_failure(error: almanac_client::Error) -> Failure {
    Failure::new(error.to_string())
}

/// Now, as RFC 3339 in UTC to the second.
fn now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
