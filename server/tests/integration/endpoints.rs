//! `/healthz` and `/metrics` over plain HTTP, as a load balancer and Prometheus see them.

use almanac_server::admin::ShareMode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{Backend, Device, PROMPTLY, TestServer, space};

/// GETs `path`; returns the status line and the body.
async fn get(server: &TestServer, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(server.server.local_addr()).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: almanac\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("a head and a body");
    (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
}

fn value(metrics: &str, series: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in {metrics}"))
}

async fn health_and_metrics_answer_over_http(backend: Backend) {
    let server = TestServer::start(backend).await;
    assert_eq!(get(&server, "/healthz").await, ("HTTP/1.1 200 OK".into(), "ok".into()));

    let (a, b) = (Device::new(), Device::new());
    a.write("team", "n1", "title", "counted");
    let (mut link_a, mut link_b) = (server.connect("alice").await, server.connect("bob").await);
    link_a.round(&a.store, &["team"]).await;
    server.share("team", "bob", ShareMode::ReadOnly);
    link_b.round(&b.store, &["team"]).await;
    a.write("team", "n2", "title", "pushed");
    link_a.round(&a.store, &["team"]).await;
    assert_eq!(link_b.next_push(PROMPTLY).await, [space("team")]);

    let (status, metrics) = get(&server, "/metrics").await;
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(value(&metrics, "almanac_connections_open"), 2);
    assert_eq!(value(&metrics, "almanac_rounds_total"), 3);
    assert_eq!(value(&metrics, "almanac_records_applied_total"), 2);
    assert_eq!(value(&metrics, "almanac_records_sent_total"), 1);
    assert_eq!(value(&metrics, "almanac_live_pushes_total"), 1);
    assert_eq!(value(&metrics, "almanac_round_duration_seconds_count"), 3);
    // Each round brings at least Open, Hello and a Want from the device (protocol 2).
    assert!(value(&metrics, "almanac_frames_in_total") >= 9);
    assert!(value(&metrics, "almanac_bytes_out_total") > 0);
    assert_eq!(value(&metrics, "almanac_errors_total{kind=\"unauthorized\"}"), 0);
    assert_eq!(get(&server, "/nowhere").await.0, "HTTP/1.1 404 Not Found");
}

crate::on_both_backends!(health_and_metrics_answer_over_http,);
