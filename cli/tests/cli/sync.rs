//! `almanac sync` end to end: two stores exchange calendars through the sync protocol, a
//! second store starts following a calendar, and bad input changes nothing.

use std::path::Path;

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
