//! The real sync server (`almanac-server`, crate `server/`) as a child process in a temporary
//! data folder, on a free loopback port, with the admin commands tests need. Shared by the
//! client's and the CLI's tests (`#[path]`).
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

/// A running (or killed) server.
pub struct TestServer {
    bin: PathBuf,
    dir: tempfile::TempDir,
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
        let mut server = TestServer {
            bin: server_bin(),
            dir: tempfile::tempdir().expect("temp dir"),
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
            .arg("--data")
            .arg(self.dir.path().join("data"))
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
            .arg("--data")
            .arg(self.dir.path().join("data"))
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
