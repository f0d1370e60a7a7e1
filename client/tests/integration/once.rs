//! `Client::sync_once` against the server: convergence, catching up, joining, read-only
//! shares, refused and expired tokens.

use std::time::{Duration, Instant};

use almanac_client::{ClientConfig, Error, GarbageCollection, Share, ShareChange};
use almanac_core::SpaceId;
use almanac_core::sync::Access;

use crate::Device;
use crate::server::{Backend, TestServer};

async fn three_devices_with_offline_edits_converge(backend: Backend) {
    let server = TestServer::start_on(&backend, &[]);
    let token = server.user("ada");
    let (phone, laptop, tablet) = (Device::new(), Device::new(), Device::new());
    phone.write("work", "standup", "title", "Standup");
    let first = phone.client(&server.url, &token, &[]).sync_once().await.expect("phone sync");
    assert_eq!(first.spaces.len(), 1);
    assert_eq!(first.spaces[0].access, Access::ReadWrite, "a new space belongs to its creator");
    assert!(first.records_sent >= 1);
    for device in [&laptop, &tablet] {
        let summary =
            device.client(&server.url, &token, &["work"]).sync_once().await.expect("join");
        assert!(summary.spaces[0].joined && summary.records_received >= 1, "{summary:?}");
        assert_eq!(device.field("work", "standup", "title").as_deref(), Some("Standup"));
    }

    // Offline, each device edits: the same field twice, other fields, a new record.
    phone.write("work", "standup", "title", "Standup (phone)");
    laptop.write("work", "standup", "title", "Standup (laptop)");
    laptop.write("work", "standup", "location", "Room 4");
    tablet.write("work", "review", "title", "Review");
    let clients: Vec<_> =
        [&phone, &laptop, &tablet].iter().map(|d| d.client(&server.url, &token, &[])).collect();
    // Two passes: the second brings each device what the later ones sent in the first.
    for _ in 0..2 {
        for client in &clients {
            let summary = client.sync_once().await.expect("sync");
            assert!(!summary.spaces[0].pending_local_changes, "{summary:?}");
        }
    }
    let expected = phone.events("work");
    assert_eq!(expected.len(), 2, "{expected:?}");
    assert_eq!(laptop.events("work"), expected);
    assert_eq!(tablet.events("work"), expected);
    assert_eq!(laptop.field("work", "standup", "location").as_deref(), Some("Room 4"));
    assert_eq!(phone.field("work", "review", "title").as_deref(), Some("Review"));
    for client in &clients {
        assert!(client.pending_spaces().expect("pending").is_empty());
    }
}

async fn a_device_offline_for_weeks_catches_up(backend: Backend) {
    let server = TestServer::start_on(&backend, &[]);
    let token = server.user("ada");
    let (busy, away) = (Device::new(), Device::new());
    busy.write("work", "e0", "title", "first");
    busy.client(&server.url, &token, &[]).sync_once().await.expect("sync");
    away.client(&server.url, &token, &["work"]).sync_once().await.expect("join");

    // Weeks of changes on the other device, synced day by day: 3,000 records in 300
    // transactions, ~1.5 MB of text, so the catch-up takes several chunks.
    let busy_client = busy.client(&server.url, &token, &[]);
    // Text that does not compress to nothing, so the bytes on the wire are realistic.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut note = || -> String {
        (0..500)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                char::from(b'a' + (seed % 26) as u8)
            })
            .collect()
    };
    for day in 0..30 {
        for tx in 0..10 {
            let mut transaction = busy.store.transaction("work");
            for n in 0..10 {
                let id = format!("d{day}-t{tx}-{n}");
                transaction.set("events", &id, "title", id.as_str());
                transaction.set("events", &id, "notes", note().as_str());
            }
            transaction.commit().expect("commit");
        }
        busy.write("work", "e0", "title", &format!("day {day}"));
        busy_client.sync_once().await.expect("daily sync");
    }
    let started = Instant::now();
    let summary = away.client(&server.url, &token, &[]).sync_once().await.expect("catch-up sync");
    assert!(summary.records_received >= 3_001, "{summary:?}");
    // 1.5 MB of records before compression: several chunks of at most 1 MiB each.
    assert!(summary.bytes_received > 500_000, "{summary:?}");
    assert_eq!(away.events("work"), busy.events("work"));
    assert_eq!(away.field("work", "e0", "title").as_deref(), Some("day 29"));
    assert!(started.elapsed() < Duration::from_secs(30), "catch-up took {:?}", started.elapsed());
}

async fn a_read_only_members_writes_stay_local_and_are_reported_pending(backend: Backend) {
    let server = TestServer::start_on(&backend, &[]);
    let ada = server.user("ada");
    let bob = server.user("bob");
    let (owner, member) = (Device::new(), Device::new());
    owner.write("family", "dinner", "title", "Dinner");
    owner.write("private", "diary", "title", "Diary");
    owner.client(&server.url, &ada, &[]).sync_once().await.expect("owner sync");
    server.share("family", "bob", true);

    let member_client = member.client(&server.url, &bob, &["family", "private"]);
    let joined = member_client.sync_once().await.expect("member joins");
    let access: Vec<_> = joined.spaces.iter().map(|s| (s.space.as_str(), s.access)).collect();
    assert_eq!(access, [("family", Access::ReadOnly), ("private", Access::Denied)]);
    assert_eq!(member.field("family", "dinner", "title").as_deref(), Some("Dinner"));
    assert!(!member.store.holds_space("private").expect("holds"), "a denied space is not joined");
    assert!(joined.read_only_with_pending_changes().is_empty());

    member.write("family", "dinner", "title", "Dinner at Bob's");
    let summary = member_client.sync_once().await.expect("member sync");
    assert_eq!(summary.read_only_with_pending_changes().len(), 1, "{summary:?}");
    assert_eq!(summary.read_only_with_pending_changes()[0].as_str(), "family");
    assert_eq!(member_client.pending_spaces().expect("pending").len(), 1);
    assert_eq!(member.field("family", "dinner", "title").as_deref(), Some("Dinner at Bob's"));

    owner.client(&server.url, &ada, &[]).sync_once().await.expect("owner sync");
    assert_eq!(owner.field("family", "dinner", "title").as_deref(), Some("Dinner"));
    // The owner's later changes still reach the member.
    owner.write("family", "lunch", "title", "Lunch");
    owner.client(&server.url, &ada, &[]).sync_once().await.expect("owner sync");
    member_client.sync_once().await.expect("member sync");
    assert_eq!(member.field("family", "lunch", "title").as_deref(), Some("Lunch"));
}

async fn refused_and_expired_tokens_are_reported_as_unauthorized(backend: Backend) {
    let server = TestServer::start_on(&backend, &[]);
    server.user("ada");
    // Long enough for the first sync to finish inside it on either backend.
    let short = server.token_expiring("ada", "3s");
    let device = Device::new();
    device.write("work", "standup", "title", "Standup");
    device.client(&server.url, &short, &[]).sync_once().await.expect("fresh token works");
    // Waiting for the token's expiry itself (not for something to happen elsewhere).
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    for token in [short.as_str(), "not-a-token", ""] {
        let error = device.client(&server.url, token, &[]).sync_once().await.unwrap_err();
        assert!(matches!(error, Error::Unauthorized), "{token:?}: {error}");
        assert!(!error.is_retryable());
    }
}

async fn a_server_that_is_down_is_unreachable(backend: Backend) {
    let mut server = TestServer::start_on(&backend, &[]);
    let token = server.user("ada");
    server.kill();
    let device = Device::new();
    device.write("work", "standup", "title", "Standup");
    let error = device.client(&server.url, &token, &[]).sync_once().await.unwrap_err();
    assert!(matches!(error, Error::Unreachable { .. }), "{error}");
    assert!(error.is_retryable());
    assert!(error.to_string().contains("connection refused"), "{error}");
}

/// Client settings that collect garbage after every round, not hourly, with this trash
/// retention, so a test sees collection happen.
fn collecting_every_round(trash_retention: Duration) -> impl Fn(&mut ClientConfig) + Copy {
    move |config: &mut ClientConfig| {
        config.garbage_collection =
            GarbageCollection::ServerStable { every: Duration::ZERO, trash_retention };
    }
}

async fn the_servers_stable_point_collects_removed_members_on_the_device(backend: Backend) {
    let server = TestServer::start_on(&backend, &[]);
    let token = server.user("ada");
    let (phone, laptop) = (Device::new(), Device::new());
    phone
        .store
        .transaction("work")
        .set("events", "standup", "title", "Standup")
        .set_member("events", "standup", "alarms", "a1", "minutes", "10")
        .commit()
        .expect("commit");
    let every_round = collecting_every_round(almanac_core::DEFAULT_TRASH_RETENTION);
    let phone_client = phone.client_with(&server.url, &token, &[], every_round);
    let laptop_client = laptop.client_with(&server.url, &token, &["work"], every_round);
    phone_client.sync_once().await.expect("sync");
    laptop_client.sync_once().await.expect("join");
    phone
        .store
        .transaction("work")
        .remove_member("events", "standup", "alarms", "a1")
        .commit()
        .expect("commit");
    let kept = |device: &Device| -> usize {
        let record = device.store.get("work", "events", "standup").expect("get").expect("event");
        record.state.maps().get("alarms").map_or(0, |members| members.len())
    };
    phone_client.sync_once().await.expect("sync");
    assert_eq!(kept(&phone), 1, "the removal is kept until every replica has seen it");
    // Once both devices have told the server they saw the removal, the next round's stable
    // point covers it and each device drops the member's metadata. A few rounds at most.
    let mut rounds = 0;
    while kept(&phone) + kept(&laptop) > 0 {
        rounds += 1;
        assert!(rounds <= 4, "not collected after {rounds} rounds each");
        laptop_client.sync_once().await.expect("sync");
        phone_client.sync_once().await.expect("sync");
    }
    assert!(phone.store.get("work", "events", "standup").expect("get").is_some());
    assert_eq!(phone.events("work"), laptop.events("work"));
}

async fn a_certificate_the_platform_does_not_trust_is_refused(backend: Backend) {
    // The server's test certificate is signed by a test CA that no system trusts.
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/tests/fixtures");
    let (cert, key) = (format!("{fixtures}/server.crt"), format!("{fixtures}/server.key"));
    let server = TestServer::start_on(&backend, &["--tls-cert", &cert, "--tls-key", &key]);
    assert!(server.url.starts_with("wss://"), "{}", server.url);
    let token = server.user("ada");
    let device = Device::new();
    device.write("work", "standup", "title", "Standup");
    let error = device.client(&server.url, &token, &[]).sync_once().await.unwrap_err();
    assert!(matches!(error, Error::Tls(_)), "{error}");
    assert!(!error.is_retryable());
    assert!(error.to_string().contains("certificate"), "{error}");
}

/// A phone's disk cloned block by block, store and device marker included (a file-level copy
/// is caught when it opens, decision 0028): both write under one id.
/// The copy that syncs second finds the server holding writes of its id it never sent, moves
/// its own to a fresh id, and its `sync_once` runs the round again: nothing either wrote is
/// lost, and the two edits of one field end as a conflict.
async fn a_store_copied_with_its_marker_renews_its_id_and_loses_nothing(backend: Backend) {
    let server = TestServer::start_on(&backend, &[]);
    let token = server.user("ada");
    let phone = Device::new();
    phone.write("work", "standup", "title", "Standup");
    phone.client(&server.url, &token, &[]).sync_once().await.expect("phone sync");
    let clone = phone.copy_with_marker();
    phone.write("work", "standup", "title", "Standup (phone)");
    phone.write("work", "review", "title", "Review");
    clone.write("work", "standup", "title", "Standup (clone)");
    clone.write("work", "retro", "title", "Retro");
    let phone_client = phone.client(&server.url, &token, &[]);
    phone_client.sync_once().await.expect("phone sync");
    let summary = clone.client(&server.url, &token, &[]).sync_once().await.expect("clone sync");
    assert!(summary.records_sent >= 2, "{summary:?}");
    assert_ne!(clone.store.replica_id(), phone.store.replica_id());
    assert!(matches!(clone.store.incarnation(), almanac_core::Incarnation::Renewed { .. }));
    phone_client.sync_once().await.expect("phone sync");
    let events = phone.events("work");
    assert_eq!(events.len(), 3, "{events:?}");
    assert_eq!(clone.events("work"), events);
    let record = phone.store.get("work", "events", "standup").expect("read").expect("live");
    let mut titles: Vec<&str> =
        record.conflicts("title").iter().filter_map(|v| v.as_text()).collect();
    titles.extend(record.value("title").and_then(|v| v.as_text()));
    titles.sort_unstable();
    assert_eq!(titles, ["Standup (clone)", "Standup (phone)"]);
}

/// A laptop away for months is retired (here at once, with `device retire`, as for a lost
/// device; a silence longer than `--retire-after` does the same): the phone's removals become
/// stable without it and are purged. When the laptop comes back, the stable point claims what
/// it has not seen, so it fetches the space again and writes its own offline edits again on
/// top: nothing it wrote is lost, and the purged alarm does not come back on it.
async fn a_retired_device_fetches_the_space_again_and_keeps_its_writes(backend: Backend) {
    let server = TestServer::start_on(&backend, &[]);
    let token = server.user("ada");
    let (phone, laptop) = (Device::new(), Device::new());
    phone
        .store
        .transaction("work")
        .set("events", "standup", "title", "Standup")
        .set_member("events", "standup", "alarms", "a1", "minutes", "10")
        .set("events", "plan", "title", "Plan")
        .commit()
        .expect("commit");
    let every_round = collecting_every_round(Duration::ZERO);
    let phone_client = phone.client_with(&server.url, &token, &[], every_round);
    let laptop_client = laptop.client_with(&server.url, &token, &["work"], every_round);
    phone_client.sync_once().await.expect("sync");
    laptop_client.sync_once().await.expect("join");

    // Offline on the laptop, including an edit of the plan the phone is about to delete.
    laptop.write("work", "plan", "title", "Plan (edited on the plane)");
    laptop.write("work", "standup", "title", "Standup (moved)");
    laptop.write("work", "notes", "title", "Written on the plane");
    let retired = server.admin(&[
        "device",
        "retire",
        "--user",
        "ada",
        &laptop.store.replica_id().to_string(),
    ]);
    assert!(retired.starts_with("retired device"), "{retired}");
    // Meanwhile the phone removes the alarm and deletes the plan; without the laptop holding
    // the stable point back, the removal is purged within a round or two.
    phone
        .store
        .transaction("work")
        .remove_member("events", "standup", "alarms", "a1")
        .delete("events", "plan")
        .commit()
        .expect("commit");
    let kept = |device: &Device| -> usize {
        let record = device.store.get("work", "events", "standup").expect("get").expect("event");
        record.state.maps().get("alarms").map_or(0, |members| members.len())
    };
    for _ in 0..2 {
        phone_client.sync_once().await.expect("sync");
    }
    assert_eq!(kept(&phone), 0, "purged without waiting for the retired laptop");
    let plan = |device: &Device| device.store.get_any("work", "events", "plan").expect("get");
    assert!(plan(&phone).is_none(), "the deleted plan left the phone's trash (retention 0)");

    let summary = laptop_client.sync_once().await.expect("the laptop comes back");
    assert!(summary.spaces[0].rejoined, "{summary:?}");
    assert!(!laptop.store.rejoin_pending("work").expect("pending"));
    phone_client.sync_once().await.expect("sync");
    assert_eq!(laptop.events("work"), phone.events("work"));
    assert_eq!(phone.field("work", "standup", "title").as_deref(), Some("Standup (moved)"));
    assert_eq!(phone.field("work", "notes", "title").as_deref(), Some("Written on the plane"));
    // The laptop's edit of the deleted plan is not lost, nor does it undo the deletion: the
    // plan is back in the trash, with the edit. (Sent with its old dot, the phone would have
    // refused it: a record it no longer has, and no lifecycle.)
    for device in [&phone, &laptop] {
        let plan = plan(device).expect("in the trash");
        assert!(plan.state.is_deleted());
        assert_eq!(
            plan.value("title").and_then(|v| v.as_text()),
            Some("Plan (edited on the plane)")
        );
    }
    assert_eq!(kept(&laptop), 0, "the laptop's old copy of the alarm is gone");
    // And it counts again: a further round on each side changes nothing.
    let again = laptop_client.sync_once().await.expect("sync");
    assert!(!again.spaces[0].rejoined, "{again:?}");
}

async fn the_owner_shares_from_a_device_and_revoking_stops_the_members_sync(backend: Backend) {
    let server = TestServer::start_on(&backend, &[]);
    let (ada, bob) = (server.user("ada"), server.user("bob"));
    let (owner, member) = (Device::new(), Device::new());
    owner.write("family", "dinner", "title", "Dinner");
    let owner_client = owner.client(&server.url, &ada, &[]);
    owner_client.sync_once().await.expect("owner sync");
    let family = SpaceId::new("family").expect("space");

    assert_eq!(owner_client.shares(&family).await.expect("list"), []);
    assert_eq!(owner_client.share(&family, "bob", false).await.expect("share"), ShareChange::Added);
    assert_eq!(
        owner_client.shares(&family).await.expect("list"),
        [Share { user: "bob".into(), read_only: false }]
    );
    let member_client = member.client(&server.url, &bob, &["family"]);
    let joined = member_client.sync_once().await.expect("member joins");
    assert_eq!(joined.spaces[0].access, Access::ReadWrite);
    assert_eq!(member.field("family", "dinner", "title").as_deref(), Some("Dinner"));

    // The member cannot reshare or list: only the owner can.
    let refused = member_client.share(&family, "ada", true).await.unwrap_err();
    assert!(matches!(refused, Error::NotOwner(_)), "{refused}");
    assert!(refused.to_string().contains("only the owner"), "{refused}");
    assert!(!refused.is_retryable());
    let unknown = owner_client.share(&family, "zoe", true).await.unwrap_err();
    assert!(matches!(unknown, Error::NotFound(_)), "{unknown}");
    assert!(unknown.to_string().contains("no user named \"zoe\""), "{unknown}");

    assert_eq!(
        owner_client.share(&family, "bob", true).await.expect("read-only"),
        ShareChange::Changed
    );
    assert_eq!(member_client.sync_once().await.expect("sync").spaces[0].access, Access::ReadOnly);
    assert!(owner_client.unshare(&family, "bob").await.expect("revoke"));
    assert!(!owner_client.unshare(&family, "bob").await.expect("again"));
    let denied = member_client.sync_once().await.expect("sync");
    assert_eq!(denied.spaces[0].access, Access::Denied);
}

crate::on_both_backends!(
    a_store_copied_with_its_marker_renews_its_id_and_loses_nothing,
    a_retired_device_fetches_the_space_again_and_keeps_its_writes,
    three_devices_with_offline_edits_converge,
    a_device_offline_for_weeks_catches_up,
    a_read_only_members_writes_stay_local_and_are_reported_pending,
    refused_and_expired_tokens_are_reported_as_unauthorized,
    a_server_that_is_down_is_unreachable,
    the_servers_stable_point_collects_removed_members_on_the_device,
    a_certificate_the_platform_does_not_trust_is_refused,
    the_owner_shares_from_a_device_and_revoking_stops_the_members_sync,
);
