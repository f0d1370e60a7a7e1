//! HTTPS and WSS with rustls: a device that trusts the server's CA syncs over `wss://`.
//! The certificates in `tests/fixtures` are a throwaway test CA (its key discarded) and a
//! P-256 server certificate for `localhost` and 127.0.0.1, valid for a hundred years.

use std::path::PathBuf;
use std::sync::Arc;

use almanac_server::{Location, ServerConfig, TlsFiles, admin};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_tungstenite::Connector;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::support::{Device, Link, connect, state};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_syncs_over_wss_and_plain_websocket_is_not_served() {
    let dir = tempfile::tempdir().expect("dir");
    let location = Location::Folder(dir.path().join("data"));
    admin::add_user(&location, "alice").expect("user");
    let token = admin::issue_token(&location, "alice", "1h").expect("token");
    let mut config = ServerConfig::new("127.0.0.1:0".parse().expect("addr"));
    config.tls = Some(TlsFiles { cert: fixture("server.crt"), key: fixture("server.key") });
    let server =
        almanac_server::start(location.open().expect("open"), config).await.expect("start");
    let port = server.local_addr().port();
    assert!(server.url().starts_with("https://"));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(fixture("ca.crt")).expect("ca")).expect("trust");
    let client =
        rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let mut request =
        format!("wss://localhost:{port}/v1/sync").into_client_request().expect("request");
    let bearer = HeaderValue::from_str(&format!("Bearer {token}")).expect("header");
    request.headers_mut().insert("Authorization", bearer);
    let connector = Connector::Rustls(Arc::new(client));
    let (ws, _) =
        tokio_tungstenite::connect_async_tls_with_config(request, None, true, Some(connector))
            .await
            .expect("wss");
    let device = Device::new();
    device.write("team", "n1", "title", "over TLS");
    Link { ws, pushes: Vec::new() }.round(&device.store, &["team"]).await;
    let records = state(&**server.engine(), "team");
    assert!(records.iter().any(|(key, _)| key.id == "n1"));

    let (url, bearer) = (format!("ws://127.0.0.1:{port}/v1/sync"), format!("Bearer {token}"));
    let plain = connect(&url, Some(&bearer)).await;
    assert!(plain.is_err(), "no plain WebSocket on a TLS port");
    server.shutdown().await.expect("shutdown");
}
