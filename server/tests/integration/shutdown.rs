//! A graceful stop: idle connections are closed at once (1001), a running round finishes first,
//! new connections are refused, and the engine store is closed whole.

use almanac_core::{Store, StoreOptions};
use almanac_server::backend::ENGINE_FILE;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::support::{Backend, Device, Link, PROMPTLY, TestServer, connect, state};

/// Reads to the end of the connection, as a client does (which also sends the answering
/// close), and returns the server's close code.
async fn expect_close(link: &mut Link, code: u16) {
    let close = tokio::time::timeout(PROMPTLY, async {
        let mut close = None;
        while let Some(Ok(message)) = link.ws.next().await {
            if let WsMessage::Close(frame) = message {
                close = frame.map(|f| u16::from(f.code));
            }
        }
        close
    });
    assert_eq!(close.await.expect("closed in time"), Some(code));
}

async fn a_stop_lets_the_running_round_finish_and_closes_the_store(backend: Backend) {
    let test = TestServer::start(backend.clone()).await;
    let (url, bearer) = (test.url(), format!("Bearer {}", test.token("alice")));
    let device = Device::new();
    device.write("team", "n1", "title", "synced during the stop");
    let mut idle = test.connect("alice").await;
    let mut busy = test.connect("alice").await;
    let opened = busy.open(&["team"]).await;
    let TestServer { dir, location, server } = test;
    let stopping = tokio::spawn(server.shutdown());

    expect_close(&mut idle, 1001).await;
    let round = busy.finish(&device.store, opened, |_| {}, |_| true).await;
    assert_eq!(round.expect("the running round finishes").report.records_sent, 1);
    expect_close(&mut busy, 1001).await;
    stopping.await.expect("join").expect("a clean stop");
    assert!(connect(&url, Some(&bearer)).await.is_err(), "nothing is accepted any more");

    match backend {
        Backend::Sqlite => {
            let engine = dir.path().join("data").join(ENGINE_FILE);
            assert!(!engine.with_extension("almanac-wal").exists(), "the store was closed");
            let reopened = Store::open_with(&engine, StoreOptions::engine_only()).expect("reopen");
            assert!(reopened.get("team", "notes", "n1").expect("read").is_some());
        }
        Backend::Postgres(_) => {
            let reopened = location.open().expect("reopen");
            let records = state(&*reopened.engine, "team");
            assert!(records.iter().any(|(key, _)| key.id == "n1"), "the round's data is there");
        }
    }
}

crate::on_both_backends!(a_stop_lets_the_running_round_finish_and_closes_the_store,);
