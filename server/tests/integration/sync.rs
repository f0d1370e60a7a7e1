//! Devices converging through the server, live push, and the causal-stability point.

use almanac_core::ReplicaId;
use almanac_core::sync::{Access, MAX_VERSION, MIN_VERSION, Message};
use almanac_server::admin::ShareMode;

use crate::support::{Backend, Device, PROMPTLY, TestServer, space, state};

async fn three_devices_with_offline_edits_converge_through_the_server(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (a, b, c) = (Device::new(), Device::new(), Device::new());
    // Offline: alice's phone (A) and laptop (B) edit the same note; bob's device (C) adds one.
    a.write("team", "n1", "title", "from A");
    a.write("team", "n2", "title", "only A");
    b.write("team", "n1", "title", "from B");
    b.write("team", "n4", "title", "only B");
    c.write("team", "n3", "title", "from C");
    let mut link_a = server.connect("alice").await;
    let first = link_a.round(&a.store, &["team"]).await;
    assert_eq!(first.access("team"), Access::ReadWrite, "a new space belongs to its opener");
    server.share("team", "bob", ShareMode::ReadWrite);
    let mut link_b = server.connect("alice").await;
    let mut link_c = server.connect("bob").await;
    link_b.round(&b.store, &["team"]).await;
    link_c.round(&c.store, &["team"]).await;
    link_a.round(&a.store, &["team"]).await;
    link_b.round(&b.store, &["team"]).await;
    let expected = server.state("team");
    assert_eq!(expected.len(), 4);
    for device in [&a, &b, &c] {
        assert_eq!(state(&device.store, "team"), expected);
        assert_eq!(device.store.version_vector("team").expect("vv"), server.vector("team"));
    }
    let n1 = c.store.get("team", "notes", "n1").expect("read").expect("n1");
    assert_eq!(n1.conflicts("title").len(), 1, "the concurrent title is kept as a conflict");
}

async fn a_change_is_pushed_at_once_to_every_other_follower_and_not_to_its_writer(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let (a, b, c) = (Device::new(), Device::new(), Device::new());
    a.write("team", "n1", "title", "first");
    let (mut link_a, mut link_b) = (server.connect("alice").await, server.connect("alice").await);
    let mut link_c = server.connect("bob").await;
    link_a.round(&a.store, &["team"]).await;
    server.share("team", "bob", ShareMode::ReadOnly);
    link_b.round(&b.store, &["team"]).await;
    link_c.round(&c.store, &["team"]).await;

    a.write("team", "n2", "title", "second");
    link_a.round(&a.store, &["team"]).await;
    // B and C hear of it without asking: awaiting the frame, bounded.
    assert_eq!(link_b.next_push(PROMPTLY).await, [space("team")]);
    assert_eq!(link_c.next_push(PROMPTLY).await, [space("team")]);
    link_b.round(&b.store, &["team"]).await;
    link_c.round(&c.store, &["team"]).await;
    assert_eq!(state(&b.store, "team"), state(&a.store, "team"));
    assert_eq!(state(&c.store, "team"), state(&a.store, "team"));
    // The writer was not told of its own change: the next frame it gets answers its Open.
    link_a.open(&["team"]).await;
    assert!(link_a.pushes.is_empty());
}

async fn a_busy_connection_hears_of_a_change_right_after_its_round(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (a, b) = (Device::new(), Device::new());
    a.write("team", "n1", "title", "first");
    let (mut link_a, mut link_b) = (server.connect("alice").await, server.connect("alice").await);
    link_a.round(&a.store, &["team"]).await;
    link_b.round(&b.store, &["team"]).await;
    // B is inside a round (Open answered, its session not started) while A changes the space.
    let opened = link_b.open(&["team"]).await;
    a.write("team", "n2", "title", "while B was busy");
    link_a.round(&a.store, &["team"]).await;
    let round = link_b
        .finish(&b.store, opened, |_| {}, |frame| !matches!(frame, Message::Changed { .. }))
        .await
        .expect("B's round is not interrupted by the push");
    assert_eq!(round.report.records_changed, 1);
    assert_eq!(link_b.next_push(PROMPTLY).await, [space("team")]);
}

async fn an_open_right_behind_the_last_frame_of_a_round_starts_the_next_round(backend: Backend) {
    // A device's last frame and its next Open can reach the server while the round's thread is
    // still busy with earlier frames, so both are queued for the round: the Open must start the
    // next round, not vanish with the round. Scripted frame by frame (the device's last frame
    // and the Open sent without waiting) to make that the case.
    let server = TestServer::start(backend).await;
    let mut link = server.connect("alice").await;
    link.open(&["team"]).await;
    for _ in 0..20 {
        assert!(matches!(link.recv().await, Ok(Message::Hello { .. })));
        link.send(&Message::Hello {
            min_version: MIN_VERSION,
            max_version: MAX_VERSION,
            replica: ReplicaId::random().expect("replica"),
            wants: 0,
            confirm: true,
            with: Vec::new(),
        })
        .await;
        assert!(matches!(link.recv().await, Ok(Message::Want(_))));
        // The server's session ends with this frame: it asked for one space and heard of it,
        // and was asked for nothing.
        link.send(&Message::NotHeld { space: space("team") }).await;
        link.open(&["team"]).await;
    }
}

async fn opened_tells_the_stability_point_once_every_device_has_said_what_it_has_seen(
    backend: Backend,
) {
    let server = TestServer::start(backend).await;
    let (a, b) = (Device::new(), Device::new());
    a.write("team", "n1", "title", "x");
    let (mut link_a, mut link_b) = (server.connect("alice").await, server.connect("alice").await);
    let first = link_a.round(&a.store, &["team"]).await;
    assert_eq!(first.opened[0].stable, None, "no device has said what it has seen yet");
    link_b.round(&b.store, &["team"]).await;
    let partial = link_a.round(&a.store, &["team"]).await;
    // B asked before it had anything: nothing is stable yet.
    assert_eq!(partial.opened[0].stable.as_ref().map(|s| s.is_empty()), Some(true));
    link_b.round(&b.store, &["team"]).await;
    let settled = link_a.round(&a.store, &["team"]).await;
    let everything = server.vector("team");
    assert!(!everything.is_empty());
    assert_eq!(settled.opened[0].stable, Some(everything), "every device has seen everything");
}

crate::on_both_backends!(
    three_devices_with_offline_edits_converge_through_the_server,
    a_change_is_pushed_at_once_to_every_other_follower_and_not_to_its_writer,
    a_busy_connection_hears_of_a_change_right_after_its_round,
    an_open_right_behind_the_last_frame_of_a_round_starts_the_next_round,
    opened_tells_the_stability_point_once_every_device_has_said_what_it_has_seen,
);
