//! Hostile and broken input: every case gets an `Error` frame and a close with the contract's
//! code, nothing of it is applied, and the server goes on serving everyone else.

use std::time::Duration;

use almanac_core::sync::message::{Chunk, Party, Records, Vector, Want};
use almanac_core::sync::{ErrorCode, MAX_VERSION, MIN_VERSION, Message};
use almanac_core::{ReplicaId, SpaceId, VersionVector};
use almanac_server::Limits;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{Bytes, Message as WsMessage};

use crate::support::{Backend, Device, Link, PROMPTLY, TestServer, space, state};

/// Small deterministic noise (xorshift), so a failure can be replayed.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn hello() -> Message {
    Message::Hello {
        min_version: MIN_VERSION,
        max_version: MAX_VERSION,
        replica: ReplicaId::random().expect("replica"),
        wants: 1,
        confirm: true,
        with: Vec::new(),
    }
}

async fn refused_bytes(server: &TestServer, bytes: Vec<u8>) -> (ErrorCode, Option<u16>) {
    let mut link = server.connect("alice").await;
    link.send_bytes(bytes).await.expect("send");
    link.expect_error_and_close().await
}

/// Opens `mine` and says Hello, so the server's session is running; then sends `frame`.
async fn refused_in_round(server: &TestServer, frame: Message) -> (ErrorCode, Option<u16>) {
    let mut link = server.connect("alice").await;
    link.open(&["mine"]).await;
    link.send(&hello()).await;
    link.send(&frame).await;
    link.expect_error_and_close().await
}

async fn hostile_frames_get_an_error_and_a_close_and_change_nothing(backend: Backend) {
    let server = TestServer::start(backend).await;
    let device = Device::new();
    device.write("team", "n1", "title", "kept");
    let mut bystander = server.connect("alice").await;
    bystander.round(&device.store, &["team"]).await;
    let before = (server.state("team"), server.vector("team"));
    let malformed = (ErrorCode::Malformed, Some(1002));
    let unexpected = (ErrorCode::Unexpected, Some(1002));

    for seed in 1..=5 {
        assert_eq!(refused_bytes(&server, noise(seed, 1000)).await, malformed, "noise {seed}");
    }
    let open = Message::Open { spaces: vec![space("team")] }.encode().expect("encode");
    assert_eq!(refused_bytes(&server, open[..open.len() / 2].to_vec()).await, malformed);
    assert_eq!(refused_bytes(&server, Vec::new()).await, malformed, "empty frame");
    for position in 0..open.len() {
        let mut mutated = open.clone();
        mutated[position] ^= 0x10;
        assert_eq!(refused_bytes(&server, mutated).await, malformed, "byte {position} changed");
    }

    let mut text = server.connect("alice").await;
    text.ws.send(WsMessage::text("{\"open\": [\"team\"]}")).await.expect("send");
    assert_eq!(text.expect_error_and_close().await, malformed, "a text message");

    // Session and server frames outside a round.
    for frame in [
        hello(),
        Message::NotHeld { space: space("team") },
        Message::Opened { spaces: vec![] },
        Message::Changed { spaces: vec![space("team")] },
    ] {
        let bytes = frame.encode().expect("encode");
        assert_eq!(refused_bytes(&server, bytes).await, unexpected, "{frame:?} before Open");
    }

    // Inside a round: a space not opened, absurd vectors, frames out of order.
    let want = |space: SpaceId, vector: VersionVector| {
        Message::Want(Want { space, vector: Vector::Full(vector), resume: None })
    };
    assert_eq!(
        refused_in_round(&server, want(space("team"), VersionVector::new())).await,
        unexpected,
        "a Want for a space not opened (and not alice's device's to name)"
    );
    let absurd: VersionVector =
        [(ReplicaId::random().expect("replica"), u64::MAX)].into_iter().collect();
    assert_eq!(
        refused_in_round(&server, want(space("mine"), absurd)).await,
        (ErrorCode::Refused, Some(1008)),
        "an absurd version vector"
    );
    let changes = Vector::Changed {
        base: 1,
        changes: vec![(Party::Other(ReplicaId::random().expect("r")), 1 << 60)],
    };
    assert_eq!(
        refused_in_round(
            &server,
            Message::Want(Want { space: space("mine"), vector: changes, resume: None })
        )
        .await,
        (ErrorCode::Refused, Some(1008)),
        "absurd vector changes"
    );
    let stray_chunk = Chunk {
        space: space("mine"),
        seq: 5,
        start: None,
        records: Records::Plain(Vec::new()),
        last: true,
    };
    assert_eq!(refused_in_round(&server, Message::Chunk(stray_chunk)).await, unexpected);
    assert_eq!(
        refused_in_round(&server, Message::Ack { space: space("mine"), seq: 3 }).await,
        unexpected,
        "an Ack for a chunk never sent"
    );
    assert_eq!(
        refused_in_round(&server, Message::Open { spaces: vec![space("mine")] }).await,
        unexpected,
        "an Open inside a round"
    );
    let too_many: Vec<SpaceId> = (0..=1000).map(|n| space(&format!("s{n}"))).collect();
    let open_all = Message::Open { spaces: too_many }.encode().expect("encode");
    assert_eq!(refused_bytes(&server, open_all).await, (ErrorCode::Refused, Some(1008)));

    // One byte over the 8 MiB limit.
    assert_eq!(
        refused_bytes(&server, vec![0; (8 << 20) + 1]).await,
        (ErrorCode::Malformed, Some(1009))
    );

    // Nothing changed, and the connection that behaved still syncs.
    assert_eq!((server.state("team"), server.vector("team")), before);
    assert!(server.vector("mine").is_empty());
    device.write("team", "n2", "title", "still serving");
    bystander.round(&device.store, &["team"]).await;
    assert!(server.has("team", "n2"));
    let metrics = server.server.metrics();
    assert!(!metrics.contains("almanac_errors_total{kind=\"malformed\"} 0\n"), "{metrics}");
    assert!(metrics.contains("almanac_errors_total{kind=\"storage\"} 0\n"), "{metrics}");
}

async fn every_frame_of_a_real_round_damaged_in_flight_is_refused_as_malformed(backend: Backend) {
    let server = TestServer::start(backend).await;
    let device = Device::new();
    device.write("team", "n1", "title", "synced");
    let mut link = server.connect("alice").await;
    link.round(&device.store, &["team"]).await;
    device.write("team", "n2", "title", "pending");
    // The device's frames of a round (protocol 2): Hello, Want, Chunk (and a full Want first
    // when the server asks for one, after a refused round); each damaged at its start, middle
    // and end.
    let mut frames = 0;
    for target in 0..3 {
        for place in 0..3 {
            let mut link = server.connect("alice").await;
            let opened = link.open(&["team"]).await;
            let mut refused = None;
            let result = link
                .finish_mutating(
                    &device.store,
                    opened,
                    |_| {},
                    |frame| {
                        if let Message::Error { code, .. } = frame {
                            refused = Some(*code);
                        }
                        true
                    },
                    |n, frame| {
                        frames = frames.max(n + 1);
                        if n == target {
                            let at = [0, frame.len() / 2, frame.len() - 1][place];
                            frame[at] ^= 0x40;
                        }
                    },
                )
                .await;
            // Even the last frame: the device waits for the server's Ack of its delta.
            assert!(result.is_err(), "frame {target}, place {place}: {result:?}");
            let mut close = None;
            while let Some(Ok(message)) = link.ws.next().await {
                match message {
                    WsMessage::Binary(bytes) => {
                        if let Ok(Message::Error { code, .. }) = Message::decode(&bytes) {
                            refused = Some(code);
                        }
                    }
                    WsMessage::Close(frame) => close = frame.map(|f| u16::from(f.code)),
                    _ => {}
                }
            }
            assert_eq!(refused, Some(ErrorCode::Malformed), "frame {target}, place {place}");
            assert_eq!(close, Some(1002), "frame {target}, place {place}");
        }
    }
    assert!(frames >= 3, "the device sent {frames} frames, not even Hello, Want, Chunk");
    // Nothing is broken: an undamaged round converges.
    link.round(&device.store, &["team"]).await;
    assert_eq!(server.state("team"), state(&device.store, "team"));
}

async fn a_frame_far_over_the_limit_ends_the_connection_without_reading_it(backend: Backend) {
    let limits = Limits { max_frame_bytes: 64 << 10, ..Limits::default() };
    let server = TestServer::with_limits(backend, limits).await;
    assert_eq!(
        refused_bytes(&server, vec![1; (64 << 10) + 1]).await,
        (ErrorCode::Malformed, Some(1009))
    );
    let mut link = server.connect("alice").await;
    // Past twice the limit the server stops at the frame's header; the connection ends.
    let _ = link.send_bytes(vec![2; 1 << 20]).await;
    let ended = tokio::time::timeout(PROMPTLY * 3, async {
        while let Some(Ok(_)) = link.ws.next().await {}
    })
    .await;
    assert!(ended.is_ok(), "the connection ended");
    let device = Device::new();
    device.write("team", "n1", "title", "fine");
    server.connect("alice").await.round(&device.store, &["team"]).await;
}

async fn a_connection_over_the_message_rate_is_closed(backend: Backend) {
    let limits = Limits { max_frames_per_second: 5, ..Limits::default() };
    let server = TestServer::with_limits(backend, limits).await;
    let mut link: Link = server.connect("alice").await;
    for _ in 0..20 {
        if link.ws.send(WsMessage::Pong(Bytes::new())).await.is_err() {
            break;
        }
    }
    assert_eq!(link.expect_error_and_close().await, (ErrorCode::Refused, Some(1008)));
}

async fn a_silent_connection_is_closed_after_the_idle_limit(backend: Backend) {
    let limits = Limits {
        idle_timeout: Duration::from_millis(300),
        ping_interval: Duration::from_secs(3600),
        ..Limits::default()
    };
    let server = TestServer::with_limits(backend, limits).await;
    let mut link = server.connect("alice").await;
    let close = tokio::time::timeout(PROMPTLY, link.ws.next()).await.expect("closed in time");
    match close {
        Some(Ok(WsMessage::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1001),
        other => panic!("expected a close, got {other:?}"),
    }
}

crate::on_both_backends!(
    hostile_frames_get_an_error_and_a_close_and_change_nothing,
    every_frame_of_a_real_round_damaged_in_flight_is_refused_as_malformed,
    a_frame_far_over_the_limit_ends_the_connection_without_reading_it,
    a_connection_over_the_message_rate_is_closed,
    a_silent_connection_is_closed_after_the_idle_limit,
);
