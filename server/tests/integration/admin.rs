//! The admin commands of the binary, exactly as an operator types them.

use std::path::Path;
use std::process::{Command, Output};

use almanac_core::sync::Access;
use almanac_server::Location;
use almanac_server::token::{KEY_FILE, TokenKey};

use crate::support::space;

fn run(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_almanac-server"))
        .arg("--data")
        .arg(data)
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
fn users_tokens_and_shares_from_the_command_line() {
    let dir = tempfile::tempdir().expect("dir");
    let data = dir.path().join("data");
    let location = Location::Folder(data.clone());

    fails(&run(&data, &["token", "--user", "alice"]), "no user named \"alice\"");
    assert!(!data.exists(), "a failed command creates nothing");
    let added = run(&data, &["user", "add", "alice"]);
    assert!(added.status.success());
    assert_eq!(stdout(&added), "added user alice\n");
    fails(&run(&data, &["user", "add", "alice"]), "already a user named");
    fails(&run(&data, &["user", "add", "no spaces"]), "not a valid user name");

    let issued = run(&data, &["token", "--user", "alice"]);
    assert!(issued.status.success());
    let token = stdout(&issued);
    assert!(token.ends_with('\n') && token.lines().count() == 1, "the token alone: {token:?}");
    let key = TokenKey::load_or_create(&data.join(KEY_FILE)).expect("key");
    let claims = key.verify(token.trim()).expect("a valid token");
    assert_eq!((claims.sub.as_str(), claims.exp - claims.iat), ("alice", 30 * 86_400));
    let short = run(&data, &["token", "--user", "alice", "--expires", "12h"]);
    let claims = key.verify(stdout(&short).trim()).expect("valid");
    assert_eq!(claims.exp - claims.iat, 12 * 3600);
    for bad in ["5y", "12", "0s", "-3d", "1h30m"] {
        let expires = format!("--expires={bad}");
        fails(&run(&data, &["token", "--user", "alice", &expires]), "not a duration");
    }
    fails(&run(&data, &["token", "--user", "mallory"]), "no user named \"mallory\"");

    // A space exists once its owner's device opened it.
    let accounts = location.accounts().expect("accounts");
    let team = space("team");
    let access =
        |user: &str| accounts.open_spaces(user, std::slice::from_ref(&team)).expect("open")[0];
    assert_eq!(access("alice"), Access::ReadWrite);
    fails(&run(&data, &["share", "team", "--with", "bob"]), "no user named \"bob\"");
    assert!(run(&data, &["user", "add", "bob"]).status.success());
    fails(&run(&data, &["share", "nowhere", "--with", "bob"]), "no space named \"nowhere\"");
    fails(&run(&data, &["share", "team", "--with", "alice"]), "owns space");
    assert_eq!(access("bob"), Access::Denied, "unchanged");

    let shared = run(&data, &["share", "team", "--with", "bob"]);
    assert_eq!(stdout(&shared), "shared team with bob (read-write)\n");
    assert_eq!(access("bob"), Access::ReadWrite);
    let read_only = run(&data, &["share", "team", "--with", "bob", "--read-only"]);
    assert_eq!(stdout(&read_only), "bob now has read-only access to team\n");
    assert_eq!(access("bob"), Access::ReadOnly);
    assert!(
        !run(&data, &["share", "team", "--with", "bob", "--read-only", "--revoke"])
            .status
            .success()
    );
    let revoked = run(&data, &["share", "team", "--with", "bob", "--revoke"]);
    assert_eq!(stdout(&revoked), "revoked bob's access to team\n");
    assert_eq!(access("bob"), Access::Denied);
    let again = run(&data, &["share", "team", "--with", "bob", "--revoke"]);
    assert!(again.status.success());
    assert_eq!(stdout(&again), "team was not shared with bob; nothing changed\n");
}

#[test]
fn postgres_is_refused_clearly_and_a_backend_is_required() {
    let output = Command::new(env!("CARGO_BIN_EXE_almanac-server"))
        .args(["--postgres", "postgres://localhost/almanac", "user", "add", "carol"])
        .output()
        .expect("run");
    fails(&output, "PostgreSQL support is not built yet");
    let serve = Command::new(env!("CARGO_BIN_EXE_almanac-server"))
        .args(["--postgres", "postgres://localhost/almanac"])
        .output()
        .expect("run");
    fails(&serve, "PostgreSQL support is not built yet");
    let neither = Command::new(env!("CARGO_BIN_EXE_almanac-server"))
        .args(["user", "add", "carol"])
        .output()
        .expect("run");
    assert!(!neither.status.success());
    assert!(String::from_utf8_lossy(&neither.stderr).contains("--data"));
}
