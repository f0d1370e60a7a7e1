//! `almanac-server`: runs the sync server, or one admin command (see `server/README.md`).

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use almanac_server::admin::{self, ShareMode};
use almanac_server::config::parse_duration;
use almanac_server::{Error, Limits, Location, Result, ServerConfig, TlsFiles};
use clap::{ArgGroup, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// The Almanac sync server. Without a command it serves; with one it changes the accounts.
#[derive(Parser, Debug)]
#[command(name = "almanac-server", version)]
#[command(group(ArgGroup::new("backend").required(true).args(["data", "postgres"])))]
struct Cli {
    /// The data folder (engine store, accounts database, token key); created if missing.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// A PostgreSQL database instead of a data folder (postgres://user:password@host/db);
    /// several instances may share one.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// Where to listen (port 0 picks a free one).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7700")]
    listen: SocketAddr,
    /// TLS certificate chain (PEM); with --tls-key, serves HTTPS/WSS.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Largest frame a device may send, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_frame_bytes)]
    max_frame_bytes: usize,
    /// Open connections per user (one more gets HTTP 429).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections_per_user)]
    max_connections_per_user: usize,
    /// Messages per second a connection may send, sustained.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_frames_per_second)]
    max_frames_per_second: u32,
    /// Spaces one Open may name.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_spaces_per_open)]
    max_spaces_per_open: usize,
    /// Close a connection silent for this long (30s, 5m, ...).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = duration)]
    idle_timeout: Duration,
    /// How often to ping each connection.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration)]
    ping_interval: Duration,
    /// Retire a device from a space after this long without a round there: it no longer holds
    /// the space's stable point back (so the others can purge), and fetches the space again if
    /// it comes back (90d, 26w, ...).
    #[arg(long, value_name = "DURATION", default_value = "90d", value_parser = duration)]
    retire_after: Duration,
    /// How long a shutdown waits for running rounds.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
    shutdown_grace: Duration,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Manage users.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Print a bearer token for a user (the token alone, on stdout).
    Token {
        /// The user.
        #[arg(long)]
        user: String,
        /// How long the token is valid: 30s, 12h, 90d, 2w ...
        #[arg(long, value_name = "DURATION", default_value = "30d")]
        expires: String,
    },
    /// Manage devices.
    Device {
        #[command(subcommand)]
        action: DeviceAction,
    },
    /// Share a space with a user (read-write unless --read-only), or take it back (--revoke).
    Share {
        /// The space.
        space: String,
        /// The user.
        #[arg(long = "with", value_name = "USER")]
        with: String,
        /// The user reads the space; their changes are not taken.
        #[arg(long, conflicts_with = "revoke")]
        read_only: bool,
        /// Take the user's access away (from their devices' next round on).
        #[arg(long)]
        revoke: bool,
    },
}

#[derive(Subcommand, Debug)]
enum DeviceAction {
    /// List a user's devices: replica id, space and last round (or "retired"), per line.
    List {
        /// The user.
        #[arg(long)]
        user: String,
    },
    /// Retire a device now (lost or replaced): it stops holding back the stable point of its
    /// spaces; if it ever syncs again it fetches them again, keeping its own unsent writes.
    Retire {
        /// The user the device belongs to.
        #[arg(long)]
        user: String,
        /// The device's replica id (32 hexadecimal digits; `almanac inspect` prints it).
        replica: String,
    },
}

#[derive(Subcommand, Debug)]
enum UserAction {
    /// Add a user.
    Add {
        /// The name (letters, digits, '.', '_', '-', '@').
        name: String,
    },
}

fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let default_filter = if cli.command.is_some() { "warn" } else { "info" };
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("almanac-server: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    // clap's group makes exactly one of the two given.
    let location = match (cli.data, cli.postgres) {
        (_, Some(url)) => Location::Postgres(url),
        (Some(folder), None) => Location::Folder(folder),
        (None, None) => return Err(Error::NoBackend),
    };
    let line = match cli.command {
        Some(Command::User { action: UserAction::Add { name } }) => {
            admin::add_user(&location, &name)?
        }
        Some(Command::Token { user, expires }) => admin::issue_token(&location, &user, &expires)?,
        Some(Command::Device { action: DeviceAction::List { user } }) => {
            admin::list_devices(&location, &user)?
        }
        Some(Command::Device { action: DeviceAction::Retire { user, replica } }) => {
            admin::retire_device(&location, &user, &replica)?
        }
        Some(Command::Share { space, with, read_only, revoke }) => {
            let mode = match (read_only, revoke) {
                (_, true) => ShareMode::Revoke,
                (true, false) => ShareMode::ReadOnly,
                (false, false) => ShareMode::ReadWrite,
            };
            admin::share(&location, &space, &with, mode)?
        }
        None => {
            let config = ServerConfig {
                listen: cli.listen,
                tls: cli.tls_cert.zip(cli.tls_key).map(|(cert, key)| TlsFiles { cert, key }),
                limits: Limits {
                    max_frame_bytes: cli.max_frame_bytes,
                    max_connections_per_user: cli.max_connections_per_user,
                    max_frames_per_second: cli.max_frames_per_second,
                    idle_timeout: cli.idle_timeout,
                    ping_interval: cli.ping_interval,
                    max_spaces_per_open: cli.max_spaces_per_open,
                    retire_after: cli.retire_after,
                },
                shutdown_grace: cli.shutdown_grace,
            };
            return serve(&location, config);
        }
    };
    println!("{line}");
    Ok(())
}

fn serve(location: &Location, config: ServerConfig) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the async runtime", e))?;
    let backend = location.open()?;
    let result = runtime.block_on(async {
        let server = almanac_server::start(backend, config).await?;
        let url = server.url();
        let ws = url.replacen("http", "ws", 1);
        println!("almanac-server listening on {url} (devices connect to {ws}/v1/sync)");
        let _ = std::io::stdout().flush();
        stop_requested().await;
        server.shutdown().await
    });
    // Rounds still running past the grace period are abandoned (their staged chunks stay).
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

/// Waits for Ctrl-C or SIGTERM.
async fn stop_requested() {
    let mut terminate =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => Some(signal),
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; stop with Ctrl-C");
                None
            }
        };
    let term = async {
        match terminate.as_mut() {
            Some(signal) => {
                signal.recv().await;
            }
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}
