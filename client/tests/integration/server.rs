//! The real sync server (`almanac-server`, crate `server/`) as a child process in a temporary
//! data folder (or a fresh PostgreSQL database: [`Backend`]), on a free loopback port, with the
//! admin commands tests need. Shared by the client's and the CLI's tests (`#[path]`).
//!
//! The binary is `ALMANAC_SERVER_BIN` when set, else `almanac-server` next to the test's own
//! target folder (`cargo test --workspace` builds it; with `-p`, run
//! `cargo build -p almanac-server` first).

#![allow(dead_code, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Where the server keeps its state.
#[derive(Clone, Debug)]
pub enum Backend {
    /// `--data` in the test's temporary folder.
    Sqlite,
    /// `--postgres` on a fresh database of the PostgreSQL server at this URL.
    Postgres(String),
}

/// The variable naming the PostgreSQL server tests create their databases on
/// (`scripts/postgres.sh start` prints it).
pub const POSTGRES_VAR: &str = "ALMANAC_TEST_POSTGRES";

impl Backend {
    /// PostgreSQL if `ALMANAC_TEST_POSTGRES` is set. Unset, the test is skipped with a message,
    /// except under CI, where it fails: CI must run the PostgreSQL half.
    pub fn postgres() -> Option<Backend> {
        match std::env::var(POSTGRES_VAR) {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ if std::env::var_os("CI").is_some() => {
                panic!("{POSTGRES_VAR} is not set: CI must run the PostgreSQL tests (.ci/run)")
            }
            _ => {
                eprintln!(
                    "SKIPPED: {POSTGRES_VAR} is not set, so this PostgreSQL test did not run \
                     (export \"$(scripts/postgres.sh start)\" to run it)"
                );
                None
            }
        }
    }

    /// The global option of the server's command line for a test of its own.
    fn args(&self, dir: &std::path::Path) -> Vec<String> {
        match self {
            Backend::Sqlite => vec!["--data".into(), dir.join("data").display().to_string()],
            Backend::Postgres(url) => vec!["--postgres".into(), fresh_database(url)],
        }
    }
}

/// Creates a database with a random name with `psql` (installed with the server); its URL.
fn fresh_database(url: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!("almanac_client_{}_{nanos}", std::process::id());
    let output = Command::new("psql")
        .args([url, "-q", "-v", "ON_ERROR_STOP=1", "-c", &format!("CREATE DATABASE {name}")])
        .output()
        .expect("run psql (the PostgreSQL client) to create a test database");
    assert!(output.status.success(), "psql: {}", String::from_utf8_lossy(&output.stderr));
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let server = match base.rsplit_once('/') {
        Some((server, _)) if server.contains("//") && !server.ends_with('/') => server,
        _ => base.trim_end_matches('/'),
    };
    format!("{server}/{name}{query}")
}

/// Runs each named scenario (`async fn name(backend: Backend)`) as two tests, `name::sqlite`
/// and `name::postgres` (the latter skipped, loudly, without `ALMANAC_TEST_POSTGRES`).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::server::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(backend) = $crate::server::Backend::postgres() {
                    super::$name(backend).await;
                }
            }
        }
    )*};
}

/// A running (or killed) server.
pub struct TestServer {
    bin: PathBuf,
    dir: tempfile::TempDir,
    /// `--data <dir>` or `--postgres <url>`.
    backend: Vec<String>,
    child: Option<Child>,
    /// `ws://127.0.0.1:<port>` (no path: the client appends `/v1/sync`).
    pub url: String,
    port: u16,
    /// Further arguments of the serving command.
    extra: Vec<String>,
}

fn server_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("ALMANAC_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/almanac-server
    let profile = exe.parent().and_then(|deps| deps.parent()).expect("target folder");
    let bin = profile.join(format!("almanac-server{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "the sync server binary is missing at {}: run `cargo build -p almanac-server` (or set \
         ALMANAC_SERVER_BIN) before these tests",
        bin.display()
    );
    bin
}

impl TestServer {
    /// Starts a server with an empty data folder on a free port.
    pub fn start() -> TestServer {
        TestServer::start_with(&[])
    }

    /// [`TestServer::start`] with more arguments (`--tls-cert`, ...).
    pub fn start_with(extra: &[&str]) -> TestServer {
        TestServer::start_on(&Backend::Sqlite, extra)
    }

    /// A server on `backend` (an empty folder or database), with more arguments.
    pub fn start_on(backend: &Backend, extra: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = TestServer {
            bin: server_bin(),
            backend: backend.args(dir.path()),
            dir,
            child: None,
            url: String::new(),
            port: 0,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        };
        server.spawn("127.0.0.1:0");
        server
    }

    fn spawn(&mut self, listen: &str) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("server.log"))
            .expect("server log");
        let mut child = Command::new(&self.bin)
            .args(&self.backend)
            .args(["--listen", listen])
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start almanac-server");
        let stdout = child.stdout.take().expect("server stdout");
        let (lines, first) = mpsc::channel();
        std::thread::spawn(move || {
            // Keeps reading so the server never blocks on a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let line = first
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("the server printed no address; log:\n{}", self.log()));
        // "almanac-server listening on ... (devices connect to ws://127.0.0.1:PORT/v1/sync)"
        let ws = line
            .split("devices connect to ")
            .nth(1)
            .map(|rest| rest.split('/').take(3).collect::<Vec<_>>().join("/"))
            .filter(|url: &String| url.starts_with("ws://") || url.starts_with("wss://"))
            .unwrap_or_else(|| panic!("unexpected first line from the server: {line}"));
        self.port = ws.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
        self.url = ws;
        self.child = Some(child);
    }

    /// Runs an admin command on the data folder; its stdout, trimmed.
    pub fn admin(&self, args: &[&str]) -> String {
        let output = Command::new(&self.bin)
            .args(&self.backend)
            .args(args)
            .output()
            .expect("run almanac-server admin command");
        assert!(
            output.status.success(),
            "almanac-server {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8").trim().to_owned()
    }

    /// Adds a user and returns a token for it (valid 30 days).
    pub fn user(&self, name: &str) -> String {
        self.admin(&["user", "add", name]);
        self.token(name)
    }

    /// A new token for `user`.
    pub fn token(&self, user: &str) -> String {
        self.admin(&["token", "--user", user])
    }

    /// A token for `user` that expires after `expires` (`1s`, `30s`).
    pub fn token_expiring(&self, user: &str, expires: &str) -> String {
        self.admin(&["token", "--user", user, "--expires", expires])
    }

    /// Shares `space` with `user`.
    pub fn share(&self, space: &str, user: &str, read_only: bool) {
        let mut args = vec!["share", space, "--with", user];
        if read_only {
            args.push("--read-only");
        }
        self.admin(&args);
    }

    /// The server's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server with SIGKILL: no goodbye to anyone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and data folder.
    pub fn restart(&mut self) {
        self.kill();
        let listen = format!("127.0.0.1:{}", self.port);
        self.spawn(&listen);
    }

    /// The server's log so far (stderr), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
    }
}
