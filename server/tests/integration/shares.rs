//! Sharing from a device (`/v1/spaces/{space}/shares`, decision 0023): the owner lists, shares,
//! changes and revokes with its own token; everyone else is refused with a clear error; the
//! answers are pinned by `tests/fixtures/shares/`.

use almanac_core::sync::Access;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Backend, Device, TestServer};

/// One HTTP/1.1 request; returns the status code and the body.
async fn request(
    server: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(server.server.local_addr()).await.expect("connect");
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: almanac\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status");
    (status, body.to_owned())
}

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/shares/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")).trim_end().to_owned()
}

async fn an_owner_shares_changes_and_revokes_from_a_device(backend: Backend) {
    let server = TestServer::start(backend).await;
    let (alice, bob) = (Device::new(), Device::new());
    alice.write("team", "n1", "title", "plan");
    let (mut link_a, mut link_b) = (server.connect("alice").await, server.connect("bob").await);
    link_a.round(&alice.store, &["team"]).await;
    assert_eq!(link_b.round(&bob.store, &["team"]).await.access("team"), Access::Denied);

    let token = server.token("alice");
    let path = "/v1/spaces/team/shares";
    let (status, body) = request(&server, "GET", path, Some(&token), "").await;
    assert_eq!((status, body), (200, fixture("list-empty.json")));
    let share = r#"{"user": "bob", "read_only": true}"#;
    let (status, body) = request(&server, "POST", path, Some(&token), share).await;
    assert_eq!((status, body), (200, fixture("share-added.json")));
    assert_eq!(link_b.round(&bob.store, &["team"]).await.access("team"), Access::ReadOnly);
    assert!(bob.store.get("team", "notes", "n1").expect("read").is_some(), "bob got the data");

    let (status, body) = request(&server, "GET", path, Some(&token), "").await;
    assert_eq!((status, body), (200, fixture("list-bob-read-only.json")));
    let write = r#"{"user": "bob", "read_only": false}"#;
    let (status, body) = request(&server, "POST", path, Some(&token), write).await;
    assert_eq!(status, 200);
    assert!(body.contains(r#""change":"changed""#), "{body}");
    assert_eq!(link_b.round(&bob.store, &["team"]).await.access("team"), Access::ReadWrite);

    let (status, body) =
        request(&server, "DELETE", "/v1/spaces/team/shares/bob", Some(&token), "").await;
    assert_eq!((status, body), (200, fixture("revoke-removed.json")));
    assert_eq!(link_b.round(&bob.store, &["team"]).await.access("team"), Access::Denied);
    let (status, body) =
        request(&server, "DELETE", "/v1/spaces/team/shares/bob", Some(&token), "").await;
    assert_eq!((status, body.as_str()), (200, r#"{"user":"bob","removed":false}"#));
}

async fn only_the_owner_shares_and_bad_requests_say_why(backend: Backend) {
    let server = TestServer::start(backend).await;
    let alice = Device::new();
    alice.write("team", "n1", "title", "plan");
    server.connect("alice").await.round(&alice.store, &["team"]).await;
    let (alice_token, bob_token) = (server.token("alice"), server.token("bob"));
    let path = "/v1/spaces/team/shares";
    let share_carol = r#"{"user": "carol"}"#;

    let (status, body) = request(&server, "POST", path, Some(&bob_token), share_carol).await;
    assert_eq!((status, body), (403, fixture("error-not-owner.json")));
    let (status, _) = request(&server, "GET", path, Some(&bob_token), "").await;
    assert_eq!(status, 403);
    let (status, _) =
        request(&server, "DELETE", "/v1/spaces/team/shares/carol", Some(&bob_token), "").await;
    assert_eq!(status, 403);
    let (status, body) = request(&server, "POST", path, None, share_carol).await;
    assert_eq!((status, body.as_str()), (401, almanac_server::UNAUTHORIZED_BODY));
    let (status, _) = request(&server, "POST", path, Some("forged.token.here"), share_carol).await;
    assert_eq!(status, 401);

    let (status, body) =
        request(&server, "POST", path, Some(&alice_token), r#"{"user": "dave"}"#).await;
    assert_eq!(status, 404);
    assert!(body.contains(r#"no user named \"dave\""#), "{body}");
    let (status, body) =
        request(&server, "POST", "/v1/spaces/nothing/shares", Some(&alice_token), share_carol)
            .await;
    assert_eq!(status, 404);
    assert!(body.contains("sync it once before sharing it"), "{body}");
    let (status, body) =
        request(&server, "POST", path, Some(&alice_token), r#"{"user": "alice"}"#).await;
    assert_eq!(status, 400);
    assert!(body.contains("owns space"), "{body}");
    let (status, body) = request(&server, "POST", path, Some(&alice_token), "{not json").await;
    assert_eq!(status, 400);
    assert!(body.contains(r#"expected {\"user\""#), "{body}");
    let (status, _) =
        request(&server, "POST", path, Some(&alice_token), r#"{"user": "carol", "admin": true}"#)
            .await;
    assert_eq!(status, 400, "unknown fields are refused, not ignored");
    let (status, body) =
        request(&server, "GET", "/v1/spaces/Bad%20Space/shares", Some(&alice_token), "").await;
    assert_eq!(status, 400);
    assert!(body.contains("not a valid calendar id"), "{body}");
    // Nothing above changed anything.
    let (status, body) = request(&server, "GET", path, Some(&alice_token), "").await;
    assert_eq!((status, body), (200, fixture("list-empty.json")));
}

crate::on_both_backends!(
    an_owner_shares_changes_and_revokes_from_a_device,
    only_the_owner_shares_and_bad_requests_say_why,
);
