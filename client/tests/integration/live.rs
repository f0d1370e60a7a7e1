//! The live sync against the server: pushes both ways without polling, a server killed and
//! restarted, suspend and resume, a refused token in live mode.

use std::time::{Duration, Instant};

use almanac_client::{ConnectionState, Error, LiveEvent};

use crate::server::{Backend, TestServer};
use crate::{BOUND, Device, drain, event_until, received_in, status_until, up_to_date};

/// A live push is a round of its own after the change is on the server; a second here is
/// generous on a loaded machine and far below any polling interval worth the name.
const PUSH_BOUND: Duration = Duration::from_secs(3);

async fn live_changes_arrive_without_polling_both_ways(backend: Backend) {
    let server = TestServer::start_on(&backend, &[]);
    let token = server.user("ada");
    let (phone, laptop) = (Device::new(), Device::new());
    phone.write("work", "standup", "title", "Standup");
    phone.client(&server.url, &token, &[]).sync_once().await.expect("sync");

    let phone_live = phone.client(&server.url, &token, &[]).start().expect("start");
    let laptop_live = laptop.client(&server.url, &token, &["work"]).start().expect("start");
    let mut phone_events = phone_live.events();
    let mut laptop_events = laptop_live.events();
    up_to_date(&phone_live).await;
    up_to_date(&laptop_live).await;
    assert_eq!(laptop.field("work", "standup", "title").as_deref(), Some("Standup"));

    for round in 0..3 {
        // A local commit on one device: its live sync sends it (debounced), the server pushes
        // `Changed` to the other, which fetches it.
        let title = format!("Standup v{round}");
        drain(&mut laptop_events);
        let started = Instant::now();
        phone.write("work", "standup", "title", &title);
        event_until(&mut laptop_events, PUSH_BOUND, "with the phone's change", |e| {
            received_in(e, "work")
        })
        .await;
        let delay = started.elapsed();
        assert!(delay < PUSH_BOUND, "{delay:?}");
        assert_eq!(laptop.field("work", "standup", "title").as_deref(), Some(title.as_str()));

        drain(&mut phone_events);
        let started = Instant::now();
        laptop.write("work", "standup", "location", &format!("Room {round}"));
        event_until(&mut phone_events, PUSH_BOUND, "with the laptop's change", |e| {
            received_in(e, "work")
        })
        .await;
        assert!(started.elapsed() < PUSH_BOUND);
    }
    let status = up_to_date(&phone_live).await;
    assert!(status.last_synced_at.is_some() && status.last_error.is_none());
    // Pending settles to nothing once the round that carried the last commit finished.
    status_until(&laptop_live, BOUND, "without pending changes", |s| {
        s.state == ConnectionState::UpToDate && !s.has_pending_changes()
    })
    .await;
    assert_eq!(phone.events("work"), laptop.events("work"));
    phone_live.stop().await;
    laptop_live.stop().await;
}

async fn a_killed_server_is_survived_and_nothing_is_lost(backend: Backend) {
    let mut server = TestServer::start_on(&backend, &[]);
    let token = server.user("ada");
    let (phone, laptop) = (Device::new(), Device::new());
    phone.write("work", "standup", "title", "Standup");
    let live = phone.client(&server.url, &token, &[]).start().expect("start");
    let mut events = live.events();
    up_to_date(&live).await;

    server.kill();
    let offline =
        status_until(&live, BOUND, "offline", |s| s.state == ConnectionState::Offline).await;
    assert!(offline.last_error.is_some(), "{offline:?}");
    // Written while the server is gone: waits in the store, shown as pending.
    phone.write("work", "standup", "title", "Written during the outage");
    phone.write("work", "review", "title", "Review");
    status_until(&live, BOUND, "pending", |s| {
        s.pending_spaces.iter().any(|space| space.as_str() == "work")
    })
    .await;

    server.restart();
    event_until(&mut events, BOUND, "reconnected", |e| {
        matches!(e, LiveEvent::Connected { reconnected: true })
    })
    .await;
    status_until(&live, BOUND, "up to date with nothing pending", |s| {
        s.state == ConnectionState::UpToDate && !s.has_pending_changes()
    })
    .await;

    laptop.client(&server.url, &token, &["work"]).sync_once().await.expect("laptop sync");
    assert_eq!(
        laptop.field("work", "standup", "title").as_deref(),
        Some("Written during the outage")
    );
    assert_eq!(laptop.events("work"), phone.events("work"));

    // And the reconnected live sync still hears pushes.
    let laptop_live = laptop.client(&server.url, &token, &[]).start().expect("start");
    up_to_date(&laptop_live).await;
    drain(&mut events);
    laptop.write("work", "review", "location", "Room 4");
    event_until(&mut events, PUSH_BOUND, "push after the restart", |e| received_in(e, "work"))
        .await;
    assert_eq!(phone.field("work", "review", "location").as_deref(), Some("Room 4"));
    laptop_live.stop().await;
    live.stop().await;
}

async fn suspend_releases_the_connection_and_resume_catches_up(backend: Backend) {
    let server = TestServer::start_on(&backend, &[]);
    let token = server.user("ada");
    let (phone, laptop) = (Device::new(), Device::new());
    phone.write("work", "standup", "title", "Standup");
    phone.client(&server.url, &token, &[]).sync_once().await.expect("sync");
    let live = laptop.client(&server.url, &token, &["work"]).start().expect("start");
    let mut events = live.events();
    up_to_date(&live).await;

    live.suspend().await;
    assert_eq!(live.status().borrow().state, ConnectionState::Offline);
    // Suspended: the laptop writes offline, the phone changes the server meanwhile.
    laptop.write("work", "standup", "location", "Room 9");
    phone.write("work", "standup", "title", "Moved");
    phone.client(&server.url, &token, &[]).sync_once().await.expect("sync");

    drain(&mut events);
    live.resume();
    event_until(&mut events, BOUND, "the phone's change after resume", |e| received_in(e, "work"))
        .await;
    status_until(&live, BOUND, "up to date with nothing pending", |s| {
        s.state == ConnectionState::UpToDate && !s.has_pending_changes()
    })
    .await;
    assert_eq!(laptop.field("work", "standup", "title").as_deref(), Some("Moved"));
    phone.client(&server.url, &token, &[]).sync_once().await.expect("sync");
    assert_eq!(phone.field("work", "standup", "location").as_deref(), Some("Room 9"));
    live.stop().await;
}

async fn a_refused_token_stops_retrying_until_a_new_token_is_set(backend: Backend) {
    let server = TestServer::start_on(&backend, &[]);
    let token = server.user("ada");
    let device = Device::new();
    device.write("work", "standup", "title", "Standup");
    let live = device.client(&server.url, "forged", &[]).start().expect("start");
    let mut events = live.events();
    let refused = event_until(&mut events, BOUND, "disconnected", |e| {
        matches!(e, LiveEvent::Disconnected { .. })
    })
    .await;
    match refused {
        LiveEvent::Disconnected { error, retrying } => {
            assert!(matches!(*error, Error::Unauthorized), "{error}");
            assert!(!retrying);
        }
        other => panic!("{other:?}"),
    }
    let status = live.status().borrow().clone();
    assert_eq!(status.state, ConnectionState::Offline);
    assert!(matches!(status.last_error.as_deref(), Some(Error::Unauthorized)));
    assert!(status.has_pending_changes());

    live.set_token(token);
    let status = up_to_date(&live).await;
    assert!(status.last_error.is_none() && !status.has_pending_changes(), "{status:?}");
    live.stop().await;
}

async fn a_change_synced_once_is_pushed_to_live_devices(backend: Backend) {
    let server = TestServer::start_on(&backend, &[]);
    let token = server.user("ada");
    let (phone, laptop) = (Device::new(), Device::new());
    phone.write("work", "standup", "title", "Standup");
    let live = phone.client(&server.url, &token, &[]).start().expect("start");
    let mut events = live.events();
    up_to_date(&live).await;
    let laptop_client = laptop.client(&server.url, &token, &["work"]);
    laptop_client.sync_once().await.expect("laptop joins");
    for round in 0..5 {
        drain(&mut events);
        laptop.write("work", "review", "location", &format!("Room {round}"));
        // Connect, one round, close at once: the server must still push what it applied.
        laptop_client.sync_once().await.expect("laptop sync");
        event_until(&mut events, PUSH_BOUND, "push of a sync-once change", |e| {
            received_in(e, "work")
        })
        .await;
    }
    live.stop().await;
}

async fn too_many_connections_is_reported_and_retried(backend: Backend) {
    let server = TestServer::start_on(&backend, &["--max-connections-per-user", "1"]);
    let token = server.user("ada");
    let (phone, laptop) = (Device::new(), Device::new());
    phone.write("work", "standup", "title", "Standup");
    let live = phone.client(&server.url, &token, &[]).start().expect("start");
    up_to_date(&live).await;
    let error = laptop.client(&server.url, &token, &[]).sync_once().await.unwrap_err();
    assert!(matches!(error, Error::TooManyConnections), "{error}");
    assert!(error.is_retryable());
    // Once the live sync lets go of its connection, the other device gets in.
    live.suspend().await;
    laptop.client(&server.url, &token, &["work"]).sync_once().await.expect("sync");
    assert_eq!(laptop.field("work", "standup", "title").as_deref(), Some("Standup"));
    live.stop().await;
}

/// A block-level copy of a store made with its marker (a cloned disk) goes live after the
/// original synced its own writes under the shared id: the copy renews its id and reconnects
/// at once, without reporting a failure (nothing failed), and its writes reach the server.
async fn a_live_copy_renews_its_id_and_carries_on(backend: Backend) {
    let server = TestServer::start_on(&backend, &[]);
    let token = server.user("ada");
    let phone = Device::new();
    phone.write("work", "standup", "title", "Standup");
    let phone_client = phone.client(&server.url, &token, &[]);
    phone_client.sync_once().await.expect("sync");
    let clone = phone.copy_with_marker();
    phone.write("work", "review", "title", "Review");
    clone.write("work", "retro", "title", "Retro");
    phone_client.sync_once().await.expect("sync");
    let live = clone.client(&server.url, &token, &[]).start().expect("start");
    let mut events = live.events();
    let status = up_to_date(&live).await;
    assert!(status.last_error.is_none(), "{status:?}");
    assert!(!status.has_pending_changes(), "{status:?}");
    assert_ne!(clone.store.replica_id(), phone.store.replica_id());
    while let Ok(event) = events.try_recv() {
        assert!(!matches!(event, LiveEvent::Disconnected { .. }), "{event:?}");
    }
    live.stop().await;
    phone_client.sync_once().await.expect("sync");
    assert_eq!(phone.events("work"), clone.events("work"));
    assert_eq!(phone.events("work").len(), 3);
}

crate::on_both_backends!(
    a_live_copy_renews_its_id_and_carries_on,
    live_changes_arrive_without_polling_both_ways,
    a_killed_server_is_survived_and_nothing_is_lost,
    suspend_releases_the_connection_and_resume_catches_up,
    a_refused_token_stops_retrying_until_a_new_token_is_set,
    a_change_synced_once_is_pushed_to_live_devices,
    too_many_connections_is_reported_and_retried,
);
