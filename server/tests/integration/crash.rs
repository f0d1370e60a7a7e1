//! The real binary, killed with SIGKILL in the middle of a large first sync and started again
//! on the same data folder (or database): every chunk it acknowledged is still there (the device does not
//! send it again), the sync completes, and a second device gets everything. Then SIGTERM stops
//! it cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use almanac_core::sync::Message;
use almanac_server::Location;

use crate::admin::backend_args;
use crate::support::{Backend, Device, Link, connect, state};

const RECORDS: usize = 5_000;

fn server_command(data: &Location) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_almanac-server"));
    command.args(backend_args(data)).env("RUST_LOG", "warn");
    command
}

fn admin(data: &Location, args: &[&str]) -> String {
    let output = server_command(data).args(args).output().expect("run admin command");
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("utf-8").trim().to_owned()
}

/// Starts the server on a free port; returns it and its WebSocket URL.
fn start(data: &Location) -> (Child, String) {
    let mut child = server_command(data)
        .args(["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout).read_line(&mut line).expect("the listening line");
    let address = line
        .split_whitespace()
        .find_map(|word| word.strip_prefix("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    (child, format!("ws://{address}/v1/sync"))
}

async fn link(url: &str, token: &str) -> Link {
    let ws = connect(url, Some(&format!("Bearer {token}"))).await.expect("connect");
    Link { ws, pushes: Vec::new() }
}

async fn a_server_killed_mid_sync_loses_nothing_it_acknowledged(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let data = backend.location(dir.path());
    assert_eq!(admin(&data, &["user", "add", "alice"]), "added user alice");
    let token = admin(&data, &["token", "--user", "alice"]);

    let device = Device::new();
    for batch in 0..RECORDS / 100 {
        let mut transaction = device.store.transaction("big");
        for n in 0..100 {
            let id = format!("n{:05}", batch * 100 + n);
            transaction.set("notes", &id, "title", format!("note {id} with some text to carry"));
        }
        transaction.commit().expect("commit");
    }

    let (mut server, url) = start(&data);
    let mut first = link(&url, &token).await;
    let opened = first.open(&["big"]).await;
    let mut acks = 0;
    let interrupted = first
        .finish(
            &device.store,
            opened,
            |config| config.chunk_bytes = 16 << 10,
            |frame| {
                if matches!(frame, Message::Ack { .. }) {
                    acks += 1;
                    if acks == 3 {
                        server.kill().expect("SIGKILL");
                    }
                }
                true
            },
        )
        .await;
    assert!(interrupted.is_err(), "the round was cut off by the kill");
    let _ = server.wait();

    let (mut server, url) = start(&data);
    let resumed = link(&url, &token).await.round(&device.store, &["big"]).await;
    let sent_again = resumed.report.records_sent;
    assert!(sent_again > 0, "the kill came mid-transfer");
    assert!(sent_again < RECORDS, "the acknowledged chunks were kept: {sent_again} sent again");
    let other = Device::new();
    link(&url, &token).await.round(&other.store, &["big"]).await;
    assert_eq!(state(&other.store, "big").len(), RECORDS);
    assert_eq!(state(&other.store, "big"), state(&device.store, "big"));

    let stopped = Command::new("kill").arg("-TERM").arg(server.id().to_string()).status();
    assert!(stopped.expect("kill -TERM").success());
    let status = server.wait().expect("wait");
    assert!(status.success(), "a SIGTERM stops the server cleanly: {status:?}");
}

crate::on_both_backends!(a_server_killed_mid_sync_loses_nothing_it_acknowledged);
