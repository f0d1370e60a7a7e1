//! The admin commands of the binary, exactly as an operator types them, with `--data` and with
//! `--postgres`.

use std::process::{Command, Output};

use almanac_core::sync::Access;
use almanac_server::Location;
use almanac_server::token::{KEY_FILE, TokenKey};

use crate::support::{Backend, space};

/// The global option naming `location` (`--data <dir>` or `--postgres <url>`).
pub fn backend_args(location: &Location) -> Vec<String> {
    match location {
        Location::Folder(data) => vec!["--data".into(), data.display().to_string()],
        Location::Postgres(url) => vec!["--postgres".into(), url.clone()],
    }
}

fn run(location: &Location, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_almanac-server"))
        .args(backend_args(location))
        .args(args)
        .output()
        .expect("run almanac-server")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("utf-8")
}

/// The command failed with a message containing `text`, printing nothing on stdout.
fn fails(output: &Output, text: &str) {
    assert!(!output.status.success(), "should fail: {}", stdout(output));
    assert_eq!(stdout(output), "");
    assert!(stderr(output).contains(text), "{text:?} not in {:?}", stderr(output));
}

#[test]
fn users_tokens_and_shares_from_the_command_line_with_data() {
    users_tokens_and_shares_from_the_command_line(Backend::Sqlite);
}

#[test]
fn users_tokens_and_shares_from_the_command_line_with_postgres() {
    if let Some(backend) = Backend::postgres() {
        users_tokens_and_shares_from_the_command_line(backend);
    }
}

fn users_tokens_and_shares_from_the_command_line(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let location = backend.location(dir.path());
    let data = &location;

    fails(&run(data, &["token", "--user", "alice"]), "no user named \"alice\"");
    if let Location::Folder(folder) = &location {
        assert!(!folder.exists(), "a failed command creates nothing");
    }
    let added = run(data, &["user", "add", "alice"]);
    assert!(added.status.success());
    assert_eq!(stdout(&added), "added user alice\n");
    fails(&run(data, &["user", "add", "alice"]), "already a user named");
    fails(&run(data, &["user", "add", "no spaces"]), "not a valid user name");

    let issued = run(data, &["token", "--user", "alice"]);
    assert!(issued.status.success());
    let token = stdout(&issued);
    assert!(token.ends_with('\n') && token.lines().count() == 1, "the token alone: {token:?}");
    let key = match &location {
        Location::Folder(folder) => TokenKey::load_or_create(&folder.join(KEY_FILE)).expect("key"),
        Location::Postgres(_) => location.token_key().expect("the key kept in the database"),
    };
    let claims = key.verify(token.trim()).expect("a valid token");
    assert_eq!((claims.sub.as_str(), claims.exp - claims.iat), ("alice", 30 * 86_400));
    let short = run(data, &["token", "--user", "alice", "--expires", "12h"]);
    let claims = key.verify(stdout(&short).trim()).expect("valid");
    assert_eq!(claims.exp - claims.iat, 12 * 3600);
    for bad in ["5y", "12", "0s", "-3d", "1h30m"] {
        let expires = format!("--expires={bad}");
        fails(&run(data, &["token", "--user", "alice", &expires]), "not a duration");
    }
    fails(&run(data, &["token", "--user", "mallory"]), "no user named \"mallory\"");

    // A space exists once its owner's device opened it.
    let accounts = location.accounts().expect("accounts");
    let team = space("team");
    let access =
        |user: &str| accounts.open_spaces(user, std::slice::from_ref(&team)).expect("open")[0];
    assert_eq!(access("alice"), Access::ReadWrite);
    fails(&run(data, &["share", "team", "--with", "bob"]), "no user named \"bob\"");
    assert!(run(data, &["user", "add", "bob"]).status.success());
    fails(&run(data, &["share", "nowhere", "--with", "bob"]), "no space named \"nowhere\"");
    fails(&run(data, &["share", "team", "--with", "alice"]), "owns space");
    assert_eq!(access("bob"), Access::Denied, "unchanged");

    let shared = run(data, &["share", "team", "--with", "bob"]);
    assert_eq!(stdout(&shared), "shared team with bob (read-write)\n");
    assert_eq!(access("bob"), Access::ReadWrite);
    let read_only = run(data, &["share", "team", "--with", "bob", "--read-only"]);
    assert_eq!(stdout(&read_only), "bob now has read-only access to team\n");
    assert_eq!(access("bob"), Access::ReadOnly);
    assert!(
        !run(data, &["share", "team", "--with", "bob", "--read-only", "--revoke"]).status.success()
    );
    let revoked = run(data, &["share", "team", "--with", "bob", "--revoke"]);
    assert_eq!(stdout(&revoked), "revoked bob's access to team\n");
    assert_eq!(access("bob"), Access::Denied);
    let again = run(data, &["share", "team", "--with", "bob", "--revoke"]);
    assert!(again.status.success());
    assert_eq!(stdout(&again), "team was not shared with bob; nothing changed\n");
}

#[test]
fn devices_are_listed_and_retired_from_the_command_line_with_data() {
    devices_are_listed_and_retired_from_the_command_line(Backend::Sqlite);
}

#[test]
fn devices_are_listed_and_retired_from_the_command_line_with_postgres() {
    if let Some(backend) = Backend::postgres() {
        devices_are_listed_and_retired_from_the_command_line(backend);
    }
}

/// `device list` shows which devices of a user synced which spaces and when; `device retire`
/// takes one out of every stable point at once (decision 0025).
fn devices_are_listed_and_retired_from_the_command_line(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let location = backend.location(dir.path());
    let data = &location;
    assert!(run(data, &["user", "add", "alice"]).status.success());
    let none = run(data, &["device", "list", "--user", "alice"]);
    assert_eq!(stdout(&none), "alice has no device that ever synced\n");
    let accounts = location.accounts().expect("accounts");
    let (work, home) = (space("work"), space("home"));
    accounts.open_spaces("alice", &[work.clone(), home.clone()]).expect("open");
    let phone = almanac_core::ReplicaId::from_bytes([0xab; 16]);
    let seen = [(work.clone(), Default::default()), (home.clone(), Default::default())];
    accounts.record_seen("alice", phone, &seen).expect("seen");

    let listed = stdout(&run(data, &["device", "list", "--user", "alice"]));
    let lines: Vec<Vec<&str>> = listed.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert_eq!((lines[0][0], lines[0][1]), (phone.to_string().as_str(), "home"));
    assert_eq!(lines[1][1], "work");
    assert!(lines[0][2].parse::<jiff::Timestamp>().is_ok(), "{listed}");

    let retired = run(data, &["device", "retire", "--user", "alice", &phone.to_string()]);
    assert!(retired.status.success(), "{}", stderr(&retired));
    assert!(stdout(&retired).starts_with(&format!("retired device {phone} of alice from 2 space")));
    let listed = stdout(&run(data, &["device", "list", "--user", "alice"]));
    assert!(listed.lines().all(|l| l.ends_with("\tretired")), "{listed}");
    assert!(accounts.seen_by_members(&work, 1).expect("seen").is_empty());

    fails(&run(data, &["device", "retire", "--user", "alice", "not-an-id"]), "not a device");
    fails(&run(data, &["device", "list", "--user", "mallory"]), "no user named \"mallory\"");
    let unknown = run(data, &["device", "retire", "--user", "alice", &"cd".repeat(16)]);
    assert_eq!(
        stdout(&unknown),
        format!("alice has no device {} that ever synced; nothing changed\n", "cd".repeat(16))
    );
}

#[test]
fn a_backend_is_required_and_an_unreachable_database_is_reported() {
    let neither = Command::new(env!("CARGO_BIN_EXE_almanac-server"))
        .args(["user", "add", "carol"])
        .output()
        .expect("run");
    assert!(!neither.status.success());
    assert!(String::from_utf8_lossy(&neither.stderr).contains("--data"));
    // Port 1 on loopback: nothing listens there.
    let down = Location::Postgres("postgres://almanac:secret@127.0.0.1:1/almanac".into());
    let output = run(&down, &["user", "add", "carol"]);
    fails(&output, "PostgreSQL");
    assert!(!stderr(&output).contains("secret"), "the password is never printed");
    fails(&run(&Location::Postgres("not a url".into()), &["user", "add", "carol"]), "URL");
}
