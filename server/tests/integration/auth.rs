//! Who may connect and what each connection may read and write: bad tokens get one identical
//! 401, other users' spaces are denied, read-only members' writes are not taken, revocation
//! applies at the next round, and the per-user connection limit answers 429.

use std::time::{Duration, Instant};

use almanac_core::sync::Access;
use almanac_server::admin::{self, ShareMode};
use almanac_server::token::TokenKey;
use almanac_server::{Limits, UNAUTHORIZED_BODY};
use futures_util::StreamExt;

use crate::support::{Backend, Device, TestServer, connect, refused, state};

async fn every_bad_token_gets_the_same_401_before_any_websocket(backend: Backend) {
    let server = TestServer::start(backend).await;
    let url = server.url();
    let good = server.token("alice");
    let expected = (401, UNAUTHORIZED_BODY.to_owned());
    let bearer = |token: &str| format!("Bearer {token}");

    assert_eq!(refused(&url, None).await, expected, "no token");
    assert_eq!(refused(&url, Some(&format!("Basic {good}"))).await, expected, "not bearer");
    assert_eq!(refused(&url, Some("Bearer")).await, expected, "empty");
    assert_eq!(refused(&url, Some(&bearer("not.a.token"))).await, expected, "garbage");

    let forged = TokenKey::from_secret(&[9; 32])
        .expect("key")
        .issue("alice", Duration::from_secs(3600))
        .expect("forge");
    assert_eq!(refused(&url, Some(&bearer(&forged))).await, expected, "another key");

    let mut altered: Vec<char> = good.chars().collect();
    let middle_of_signature = altered.len() - 10;
    altered[middle_of_signature] = if altered[middle_of_signature] == 'A' { 'B' } else { 'A' };
    let altered: String = altered.into_iter().collect();
    assert_eq!(refused(&url, Some(&bearer(&altered))).await, expected, "altered signature");

    // Bob's claims under alice's signature.
    let bobs = server.token("bob");
    let parts = |t: &str| t.split('.').map(str::to_owned).collect::<Vec<_>>();
    let (alice_parts, bob_parts) = (parts(&good), parts(&bobs));
    let swapped = format!("{}.{}.{}", alice_parts[0], bob_parts[1], alice_parts[2]);
    assert_eq!(refused(&url, Some(&bearer(&swapped))).await, expected, "claims swapped");

    let key = server.location().token_key().expect("key");
    let stranger = key.issue("mallory", Duration::from_secs(3600)).expect("issue");
    assert_eq!(refused(&url, Some(&bearer(&stranger))).await, expected, "unknown user");

    let short = admin::issue_token(&server.location(), "alice", "1s").expect("token");
    // Waiting for the clock, not for the server: the token is refused from its expiry second.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(refused(&url, Some(&bearer(&short))).await, expected, "expired");

    assert!(connect(&url, Some(&bearer(&good))).await.is_ok(), "the good token still works");
}

async fn another_users_space_is_denied_and_nothing_crosses_either_way(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (Device::new(), Device::new());
    alice.write("private", "p1", "title", "alice's");
    server.connect("alice").await.round(&alice.store, &["private"]).await;
    // Bob's device holds a space of the same name with a write of its own.
    bob.write("private", "p2", "title", "bob's attempt");
    bob.write("bobs", "b1", "title", "bob's own");
    let round = server.connect("bob").await.round(&bob.store, &["private", "bobs"]).await;
    assert_eq!(round.access("private"), Access::Denied);
    assert_eq!(round.opened[0].stable, None, "a denied space says nothing");
    assert_eq!(round.access("bobs"), Access::ReadWrite, "the other space still syncs");
    assert!(bob.store.get("private", "notes", "p1").expect("read").is_none());
    assert!(!server.has("private", "p2"));
    assert_eq!(server.state("private"), state(&alice.store, "private"));
    assert!(server.has("bobs", "b1"));
}

async fn a_read_only_member_reads_and_its_own_writes_are_not_taken(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (Device::new(), Device::new());
    alice.write("shared", "n1", "title", "from the owner");
    server.connect("alice").await.round(&alice.store, &["shared"]).await;
    server.share("shared", "bob", ShareMode::ReadOnly);
    bob.store.join_space("shared").expect("join");
    bob.write("shared", "n9", "title", "from a read-only member");
    bob.write("bobs", "b1", "title", "bob's own");
    let before = server.vector("shared");
    let mut link = server.connect("bob").await;
    for _ in 0..2 {
        let round = link.round(&bob.store, &["shared", "bobs"]).await;
        assert_eq!(round.access("shared"), Access::ReadOnly);
        assert_eq!(round.access("bobs"), Access::ReadWrite);
    }
    assert!(bob.store.get("shared", "notes", "n1").expect("read").is_some(), "bob reads");
    assert!(!server.has("shared", "n9"));
    assert_eq!(server.vector("shared"), before);
    assert!(bob.store.get("shared", "notes", "n9").expect("read").is_some(), "kept, pending");
    assert!(server.has("bobs", "b1"));
    // Made a read-write member, the same device's pending write goes up.
    server.share("shared", "bob", ShareMode::ReadWrite);
    link.round(&bob.store, &["shared"]).await;
    assert!(server.has("shared", "n9"));
}

async fn a_revoked_member_is_denied_from_its_next_round(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (Device::new(), Device::new());
    alice.write("shared", "n1", "title", "before");
    let mut link_alice = server.connect("alice").await;
    link_alice.round(&alice.store, &["shared"]).await;
    server.share("shared", "bob", ShareMode::ReadWrite);
    let mut link_bob = server.connect("bob").await;
    assert_eq!(link_bob.round(&bob.store, &["shared"]).await.access("shared"), Access::ReadWrite);
    server.share("shared", "bob", ShareMode::Revoke);
    alice.write("shared", "n2", "title", "after the revocation");
    link_alice.round(&alice.store, &["shared"]).await;
    bob.write("shared", "n3", "title", "bob after the revocation");
    // Same connection, next round.
    assert_eq!(link_bob.round(&bob.store, &["shared"]).await.access("shared"), Access::Denied);
    assert!(bob.store.get("shared", "notes", "n2").expect("read").is_none());
    assert!(!server.has("shared", "n3"));
}

async fn past_the_connection_limit_a_user_gets_429_and_a_closed_connection_frees_its_slot(
    backend: Backend,
) {
    let limits = Limits { max_connections_per_user: 2, ..Limits::default() };
    let server = TestServer::with_limits(backend, limits).await;
    let url = server.url();
    let bearer = format!("Bearer {}", server.token("alice"));
    let mut first = connect(&url, Some(&bearer)).await.expect("first");
    let _second = connect(&url, Some(&bearer)).await.expect("second");
    assert_eq!(refused(&url, Some(&bearer)).await.0, 429);
    let _bob = server.connect("bob").await;
    first.close(None).await.expect("close");
    while first.next().await.is_some() {}
    // The server frees the slot when it has seen the close; poll briefly for it.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match connect(&url, Some(&bearer)).await {
            Ok(_) => break,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(error) => panic!("the slot was never freed: {error}"),
        }
    }
}

crate::on_both_backends!(
    every_bad_token_gets_the_same_401_before_any_websocket,
    another_users_space_is_denied_and_nothing_crosses_either_way,
    a_read_only_member_reads_and_its_own_writes_are_not_taken,
    a_revoked_member_is_denied_from_its_next_round,
    past_the_connection_limit_a_user_gets_429_and_a_closed_connection_frees_its_slot,
);
