//! `almanac sync` end to end: two stores exchange calendars through the sync protocol, a
//! second store starts following a calendar, and bad input changes nothing; then
//! `almanac sync --server` and `almanac watch` against the real sync server.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use almanac_client::{Client, ClientConfig, ConnectionState};
use almanac_core::Store;

use super::test_server::TestServer;
use super::{Fixture, almanac, arg, fails, lines, ok, stderr_of};

fn add(store: &Path, calendar: &str, title: &str, start: &str) -> String {
    let out = ok(&["add", arg(store), "--calendar", calendar, "--title", title, "--start", start]);
    out.trim_end().to_owned()
}

fn titles(store: &Path) -> Vec<String> {
    let out =
        ok(&["agenda", arg(store), "--from", "2026-03-01", "--to", "2026-03-31", "--zone", "UTC"]);
    let mut titles: Vec<String> = lines(&out)
        .into_iter()
        .map(|l| l.rsplit('\t').next().unwrap_or_default().to_owned())
        .collect();
    titles.sort();
    titles
}

#[test]
fn a_named_calendar_is_joined_by_the_other_store_and_synced_both_ways() {
    let fixture = Fixture::new();
    let (phone, laptop) = (fixture.path("phone.almanac"), fixture.path("laptop.almanac"));
    add(&phone, "work", "Review", "2026-03-10T09:00:00Z");
    add(&phone, "home", "Dentist", "2026-03-11T09:00:00Z");
    add(&laptop, "gym", "Run", "2026-03-12T07:00:00Z");
    let out = ok(&["sync", arg(&phone), arg(&laptop), "--calendar", "work"]);
    let report = lines(&out);
    assert_eq!(report[0], "calendars: work");
    let phone_to_laptop = format!("{} -> {}: ", phone.display(), laptop.display());
    assert!(report[1].starts_with(&phone_to_laptop), "{out}");
    assert!(report[1].ends_with(" records") && report[1].contains(" messages, "), "{out}");
    assert!(report[1].contains(", 2 records"), "{out}");
    assert_eq!(titles(&laptop), ["Review", "Run"]);
    // Home was not named: it stays on the phone; gym stays on the laptop.
    assert_eq!(titles(&phone), ["Dentist", "Review"]);

    // Later: both hold work, so a plain sync carries an edit made on the laptop.
    add(&laptop, "work", "Planning", "2026-03-13T09:00:00Z");
    let out = ok(&["sync", arg(&phone), arg(&laptop)]);
    assert_eq!(lines(&out)[0], "calendars: work");
    assert_eq!(titles(&phone), ["Dentist", "Planning", "Review"]);
}

/// A store copied with its device marker (`cp phone.almanac* tablet...`): the copy is a new
/// file, so the first command that opens it renews its replica id (said on stderr, once).
/// Both copies add an event, then meet: both end with both events.
#[test]
fn a_store_copied_with_its_marker_syncs_with_its_copy_and_loses_nothing() {
    let fixture = Fixture::new();
    let (phone, tablet) = (fixture.path("phone.almanac"), fixture.path("tablet.almanac"));
    add(&phone, "work", "Review", "2026-03-10T09:00:00Z");
    std::fs::copy(&phone, &tablet).expect("copy the store");
    let marker = |p: &Path| format!("{}.device", p.display());
    std::fs::copy(marker(&phone), marker(&tablet)).expect("copy the marker");
    add(&phone, "work", "On the phone", "2026-03-11T09:00:00Z");
    let output = almanac(&[
        "add",
        arg(&tablet),
        "--calendar",
        "work",
        "--title",
        "On the tablet",
        "--start",
        "2026-03-12T09:00:00Z",
    ]);
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("is a copy or a restored backup"), "{stderr}");
    let output = almanac(&["sync", arg(&phone), arg(&tablet)]);
    let stderr = stderr_of(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("copy"), "nothing left for sync to find: {stderr}");
    let all = ["On the phone", "On the tablet", "Review"];
    assert_eq!(titles(&phone), all);
    assert_eq!(titles(&tablet), all);
    // And from now on they are two devices.
    let out = ok(&["sync", arg(&phone), arg(&tablet)]);
    assert!(out.contains("calendars: work"), "{out}");
}

#[test]
fn a_store_that_does_not_exist_yet_can_start_following_a_calendar() {
    let fixture = Fixture::new();
    let (phone, tablet) = (fixture.path("phone.almanac"), fixture.path("tablet.almanac"));
    add(&phone, "work", "Review", "2026-03-10T09:00:00Z");
    ok(&["sync", arg(&phone), arg(&tablet), "--calendar", "work"]);
    assert_eq!(titles(&tablet), ["Review"]);
}

#[test]
fn bad_sync_input_is_an_error_and_changes_nothing() {
    let fixture = Fixture::new();
    let (phone, laptop) = (fixture.path("phone.almanac"), fixture.path("laptop.almanac"));
    add(&phone, "work", "Review", "2026-03-10T09:00:00Z");
    add(&laptop, "gym", "Run", "2026-03-12T07:00:00Z");
    let read = |p: &Path| std::fs::read(p).expect("read");
    let (phone_before, laptop_before) = (read(&phone), read(&laptop));

    let error = fails(&["sync", arg(&phone), arg(&laptop), "--calendar", "nowhere"]);
    assert!(error.contains("neither store holds calendar 'nowhere'"), "{error}");
    let error = fails(&["sync", arg(&phone), arg(&phone)]);
    assert!(error.contains("same store"), "{error}");
    let error = fails(&["sync", arg(&phone), arg(&laptop), "--calendar", "has space"]);
    assert!(error.contains("not a calendar id"), "{error}");
    let missing = fixture.path("missing.almanac");
    let error = fails(&["sync", arg(&phone), arg(&missing)]);
    assert!(error.contains("does not exist"), "{error}");
    let error = fails(&["sync", arg(&missing), arg(&laptop), "--calendar", "nowhere"]);
    assert!(error.contains("neither store holds"), "{error}");
    assert!(!missing.exists(), "a refused sync created a store");
    assert!(read(&phone) == phone_before && read(&laptop) == laptop_before, "a refused sync wrote");
}

/// Runs a command that must fail with a usage error (status 2); its stderr.
fn usage_error(args: &[&str]) -> String {
    let output = almanac(args);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    stderr
}

#[test]
fn sync_takes_two_stores_or_one_store_and_a_server() {
    let fixture = Fixture::new();
    let (phone, laptop) = (fixture.path("phone.almanac"), fixture.path("laptop.almanac"));
    add(&phone, "work", "Review", "2026-03-10T09:00:00Z");
    let error = usage_error(&["sync", arg(&phone)]);
    assert!(error.contains("--server <URL> --token <TOKEN>"), "{error}");
    let error =
        usage_error(&["sync", arg(&phone), arg(&laptop), "--server", "ws://h:1", "--token", "t"]);
    assert!(error.contains("cannot be used with"), "{error}");
    let error = usage_error(&["sync", arg(&phone), "--server", "ws://h:1"]);
    assert!(error.contains("--token"), "{error}");
    assert!(!laptop.exists());
}

#[test]
fn a_wrong_server_url_or_an_unreachable_server_is_an_error() {
    let fixture = Fixture::new();
    let phone = fixture.path("phone.almanac");
    add(&phone, "work", "Review", "2026-03-10T09:00:00Z");
    for (url, expected) in [
        ("http://127.0.0.1:7070", "use ws://"),
        ("garbage", "expected ws://host:port"),
        ("ws://127.0.0.1:99999", "not a port number"),
    ] {
        for command in ["sync", "watch"] {
            let error = fails(&[command, arg(&phone), "--server", url, "--token", "t"]);
            assert!(error.contains("invalid server URL") && error.contains(expected), "{error}");
        }
    }
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("ws://127.0.0.1:{port}");
    for command in ["sync", "watch"] {
        let error = fails(&[command, arg(&phone), "--server", &url, "--token", "t"]);
        assert!(error.contains("cannot reach the server"), "{error}");
        assert!(error.contains("connection refused"), "{error}");
    }
    // A wrong URL creates no store for a calendar to join.
    let new = fixture.path("new.almanac");
    fails(&["sync", arg(&new), "--server", "http://x", "--token", "t", "--calendar", "work"]);
    assert!(!new.exists());
}

#[test]
fn sync_with_the_server_sends_and_joins_calendars() {
    let server = TestServer::start();
    let token = server.user("ada");
    let fixture = Fixture::new();
    let (phone, laptop) = (fixture.path("phone.almanac"), fixture.path("laptop.almanac"));
    add(&phone, "work", "Review", "2026-03-10T09:00:00Z");
    let out = ok(&["sync", arg(&phone), "--server", &server.url, "--token", &token]);
    let out = lines(&out);
    assert_eq!(out[0], format!("server: {}/v1/sync", server.url));
    assert_eq!(out[1], "calendar work: read-write, 0 records received");
    assert!(out[2].starts_with("sent: ") && out.len() == 3, "{out:?}");

    // A store that does not exist yet follows the calendar by naming it.
    let out = ok(&[
        "sync",
        arg(&laptop),
        "--server",
        &server.url,
        "--token",
        &token,
        "--calendar",
        "work",
    ]);
    assert!(out.contains("calendar work: read-write, ") && out.contains(", joined"), "{out}");
    assert_eq!(titles(&laptop), ["Review"]);

    add(&laptop, "work", "Retro", "2026-03-11T09:00:00Z");
    ok(&["sync", arg(&laptop), "--server", &server.url, "--token", &token]);
    ok(&["sync", arg(&phone), "--server", &server.url, "--token", &token]);
    assert_eq!(titles(&phone), ["Retro", "Review"]);
}

#[test]
fn sync_with_a_refused_token_a_refused_calendar_or_a_stopped_server_fails() {
    let mut server = TestServer::start();
    let ada = server.user("ada");
    let bob = server.user("bob");
    let expiring = server.token_expiring("ada", "1s");
    let fixture = Fixture::new();
    let (phone, other) = (fixture.path("phone.almanac"), fixture.path("other.almanac"));
    add(&phone, "work", "Review", "2026-03-10T09:00:00Z");
    ok(&["sync", arg(&phone), "--server", &server.url, "--token", &ada]);

    let error = fails(&["sync", arg(&phone), "--server", &server.url, "--token", "forged"]);
    assert!(error.contains("refused the token (invalid or expired)"), "{error}");
    // Waiting for the token's expiry itself.
    std::thread::sleep(Duration::from_millis(2_100));
    let error = fails(&["sync", arg(&phone), "--server", &server.url, "--token", &expiring]);
    assert!(error.contains("invalid or expired"), "{error}");

    // Another user's calendar: refused, and not created in the store.
    add(&other, "gym", "Run", "2026-03-12T07:00:00Z");
    let output = almanac(&[
        "sync",
        arg(&other),
        "--server",
        &server.url,
        "--token",
        &bob,
        "--calendar",
        "work",
    ]);
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("the server refused calendar 'work'"), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("calendar work: refused"));

    server.kill();
    let error = fails(&["sync", arg(&phone), "--server", &server.url, "--token", &ada]);
    assert!(error.contains("cannot reach the server") && error.contains("refused"), "{error}");
    let error = fails(&["watch", arg(&phone), "--server", &server.url, "--token", &ada]);
    assert!(error.contains("cannot reach the server"), "{error}");
}

#[test]
fn the_owner_shares_changes_lists_and_unshares_a_calendar_from_the_command_line() {
    let server = TestServer::start();
    let (ada, bob) = (server.user("ada"), server.user("bob"));
    let fixture = Fixture::new();
    let (phone, other) = (fixture.path("phone.almanac"), fixture.path("other.almanac"));
    add(&phone, "work", "Review", "2026-03-10T09:00:00Z");
    ok(&["sync", arg(&phone), "--server", &server.url, "--token", &ada]);
    let sharing = |command: &str, token: &str, extra: &[&str]| {
        let mut args = vec![command, arg(&phone), "--server", &server.url, "--token", token];
        args.extend_from_slice(&["--calendar", "work"]);
        args.extend_from_slice(extra);
        almanac(&args)
    };
    let text = |output: std::process::Output| String::from_utf8_lossy(&output.stdout).into_owned();

    assert_eq!(text(sharing("shares", &ada, &[])), "work is not shared\n");
    let shared = sharing("share", &ada, &["--with", "bob", "--read-only"]);
    assert_eq!(text(shared), "shared work with bob (read-only)\n");
    assert_eq!(text(sharing("shares", &ada, &[])), "bob\tread-only\n");
    let out =
        ok(&["sync", arg(&other), "--server", &server.url, "--token", &bob, "--calendar", "work"]);
    assert!(out.contains("calendar work: read-only"), "{out}");
    assert_eq!(
        text(sharing("share", &ada, &["--with", "bob"])),
        "bob now has read-write access to work\n"
    );

    // Only the owner: bob may not reshare; an unknown user is named.
    let refused = sharing("share", &bob, &["--with", "ada"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr_of(&refused).contains("only the owner of \"work\""), "{}", stderr_of(&refused));
    let unknown = sharing("share", &ada, &["--with", "zoe"]);
    assert!(stderr_of(&unknown).contains("no user named \"zoe\""), "{}", stderr_of(&unknown));

    assert_eq!(
        text(sharing("unshare", &ada, &["--with", "bob"])),
        "stopped sharing work with bob\n"
    );
    let out = almanac(&["sync", arg(&other), "--server", &server.url, "--token", &bob]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("calendar work: refused"), "{out:?}");
}

#[test]
fn watch_prints_a_line_for_each_change_as_it_arrives() {
    let server = TestServer::start();
    let token = server.user("ada");
    let fixture = Fixture::new();
    let (phone, laptop) = (fixture.path("phone.almanac"), fixture.path("laptop.almanac"));
    add(&phone, "work", "Review", "2026-03-10T09:00:00Z");
    ok(&["sync", arg(&phone), "--server", &server.url, "--token", &token]);

    let mut watch = Command::new(env!("CARGO_BIN_EXE_almanac"))
        .args(["watch", arg(&laptop), "--server", &server.url, "--token", &token])
        .args(["--calendar", "work"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start almanac watch");
    let stdout = watch.stdout.take().expect("stdout");
    let (sender, printed) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = sender.send(line);
        }
    });
    let next = |what: &str| -> Vec<String> {
        let line = printed
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("almanac watch printed no {what} line"));
        line.split('\t').map(str::to_owned).collect()
    };
    let connected = next("connection");
    assert_eq!(connected[1], format!("connected to {}/v1/sync", server.url), "{connected:?}");
    assert!(connected[0].parse::<jiff::Timestamp>().is_ok(), "{connected:?}");
    let joined = next("first round");
    assert_eq!(joined[1], "work");
    assert!(joined[2].ends_with(" records") && joined[2] != "0 records", "{joined:?}");

    // Another device, live through the client library, writes twice: each change reaches the
    // watching store without anyone asking.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let store = Arc::new(Store::open(&phone).expect("open phone"));
    let client =
        Client::new(Arc::clone(&store), ClientConfig::new(&server.url, &token)).expect("client");
    let live = runtime.block_on(async {
        let live = client.start().expect("start");
        let mut status = live.status();
        tokio::time::timeout(Duration::from_secs(10), async {
            while status.borrow_and_update().state != ConnectionState::UpToDate {
                status.changed().await.expect("live sync ended");
            }
        })
        .await
        .expect("the phone's live sync did not come up");
        live
    });
    for (n, title) in ["Retro", "Planning"].into_iter().enumerate() {
        store
            .transaction("work")
            .set("notes", &format!("n{n}"), "title", title)
            .commit()
            .expect("commit");
        let change = next("change");
        assert!(change[0].parse::<jiff::Timestamp>().is_ok(), "{change:?}");
        assert_eq!(&change[1..], ["work", "1 records"], "{change:?}");
    }
    runtime.block_on(live.stop());

    let _ = watch.kill();
    let _ = watch.wait();
    let laptop = Store::open(&laptop).expect("open laptop");
    assert_eq!(laptop.records("work", "notes").expect("records").len(), 2);
    assert_eq!(titles(&fixture.path("laptop.almanac")), ["Review"]);
}
