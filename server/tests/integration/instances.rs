//! Several server instances on one PostgreSQL database, as a deployment that outgrew one
//! machine runs them: each serves its own devices, tokens and shares made through one work on
//! all, live changes cross between them, and instances writing the same space at once lose
//! nothing (decision 0019).

use std::time::Instant;

use almanac_server::Location;
use almanac_server::admin::ShareMode;
use tokio_postgres::NoTls;

use crate::support::{Backend, Device, PROMPTLY, TestServer, space, state};

#[tokio::test(flavor = "multi_thread")]
async fn live_changes_cross_between_two_instances_on_one_database() {
    let Some(backend) = Backend::postgres() else { return };
    let first = TestServer::start(backend).await;
    let second = first.another_instance().await;
    let (a, b, c) = (Device::new(), Device::new(), Device::new());
    a.write("team", "n1", "title", "written on a");
    // Tokens issued through one instance are good on the other: the key is the database's.
    let mut link_a = first.connect("alice").await;
    let mut link_b = second.connect("alice").await;
    let mut link_c = second.connect("bob").await;
    link_a.round(&a.store, &["team"]).await;
    second.share("team", "bob", ShareMode::ReadWrite);
    link_b.round(&b.store, &["team"]).await;
    link_c.round(&c.store, &["team"]).await;
    assert_eq!(state(&b.store, "team"), state(&a.store, "team"), "one set of spaces");
    assert_eq!(state(&c.store, "team"), state(&a.store, "team"));

    // From the first instance to the devices of the second: pushed, not polled.
    a.write("team", "n2", "title", "also on a");
    link_a.round(&a.store, &["team"]).await;
    let committed = Instant::now();
    assert_eq!(link_b.next_push(PROMPTLY).await, [space("team")]);
    assert_eq!(link_c.next_push(PROMPTLY).await, [space("team")]);
    let delay = committed.elapsed();
    eprintln!("Changed crossed instances in {delay:?}");
    assert!(delay < PROMPTLY, "Changed crossed instances in {delay:?}");
    link_b.round(&b.store, &["team"]).await;
    assert_eq!(state(&b.store, "team"), state(&a.store, "team"));

    // And back, from the second instance to the first; the second's other device hears of
    // it from its own instance.
    b.write("team", "n3", "title", "written on b");
    link_b.round(&b.store, &["team"]).await;
    let committed = Instant::now();
    assert_eq!(link_a.next_push(PROMPTLY).await, [space("team")]);
    assert_eq!(link_c.next_push(PROMPTLY).await, [space("team")]);
    let delay = committed.elapsed();
    eprintln!("Changed crossed instances in {delay:?}");
    assert!(delay < PROMPTLY, "Changed crossed instances in {delay:?}");
    link_a.round(&a.store, &["team"]).await;
    link_c.round(&c.store, &["team"]).await;
    assert_eq!(state(&a.store, "team"), state(&b.store, "team"));
    assert_eq!(state(&c.store, "team"), state(&b.store, "team"));
    assert_eq!(first.state("team"), second.state("team"));

    // The writer is not told of its own change by either instance: the next frame it gets
    // answers its Open.
    link_b.open(&["team"]).await;
    assert!(link_b.pushes.is_empty(), "no echo: {:?}", link_b.pushes);
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_writing_one_space_at_once_keep_every_write_and_a_true_vector() {
    const DEVICES: usize = 6;
    const WRITES: usize = 8;
    let Some(backend) = Backend::postgres() else { return };
    let first = TestServer::start(backend).await;
    let second = first.another_instance().await;
    let starter = Device::new();
    starter.write("team", "start", "title", "made by the owner");
    first.connect("alice").await.round(&starter.store, &["team"]).await;

    // Half the devices on each instance, every one writing and syncing as fast as it can.
    let mut tasks = Vec::new();
    for n in 0..DEVICES {
        let server = if n % 2 == 0 { &first } else { &second };
        let mut link = server.connect("alice").await;
        tasks.push(tokio::spawn(async move {
            let device = Device::new();
            for w in 0..WRITES {
                device.write("team", &format!("d{n}-w{w}"), "title", "concurrent");
                link.round(&device.store, &["team"]).await;
            }
            device
        }));
    }
    let mut devices = Vec::new();
    for task in tasks {
        devices.push(task.await.expect("device task"));
    }

    // Right after the last rounds, before any further sync could repair anything: every
    // device's every write is in the server's vector (a lost update of the space's vector
    // would drop one) and its records are there.
    let vector = first.vector("team");
    for device in &devices {
        let id = device.store.replica_id();
        assert_eq!(vector.get(&id), WRITES as u64, "the server's vector lost writes of {id}");
    }
    let records = first.state("team");
    assert_eq!(records.len(), 1 + DEVICES * WRITES);
    assert_eq!(second.state("team"), records);
    let late = Device::new();
    second.connect("alice").await.round(&late.store, &["team"]).await;
    assert_eq!(state(&late.store, "team"), records);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_sync_cut_off_on_one_instance_resumes_on_the_other() {
    const RECORDS: usize = 600;
    let Some(backend) = Backend::postgres() else { return };
    let first = TestServer::start(backend).await;
    let second = first.another_instance().await;
    let device = Device::new();
    let mut transaction = device.store.transaction("big");
    for n in 0..RECORDS {
        let id = format!("n{n:04}");
        transaction.set("notes", &id, "title", format!("note {id} with some text to carry"));
    }
    transaction.commit().expect("commit");

    // Cut off mid-transfer: the eighth frame the device sends (a chunk) is damaged, so the
    // server stages the chunks before it and ends the round there.
    let mut link = first.connect("alice").await;
    let opened = link.open(&["big"]).await;
    let cut = link
        .finish_mutating(
            &device.store,
            opened,
            |config| config.chunk_bytes = 2 << 10,
            |_| true,
            |n, frame| {
                if n == 8 {
                    if let Some(byte) = frame.last_mut() {
                        *byte ^= 0xff;
                    }
                }
            },
        )
        .await;
    assert!(cut.is_err(), "the round was cut off");
    drop(link);

    // The other instance is the same replica with the same staged chunks: only the rest is
    // sent again.
    let round = second.connect("alice").await.round(&device.store, &["big"]).await;
    let sent_again = round.report.records_sent;
    assert!(sent_again > 0 && sent_again < RECORDS, "{sent_again} of {RECORDS} sent again");
    assert_eq!(first.state("big"), state(&device.store, "big"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_made_while_the_listener_was_down_still_reaches_the_other_instance() {
    let Some(backend) = Backend::postgres() else { return };
    let first = TestServer::start(backend).await;
    let second = first.another_instance().await;
    let (a, b) = (Device::new(), Device::new());
    a.write("team", "n1", "title", "first");
    let mut link_a = first.connect("alice").await;
    let mut link_b = second.connect("alice").await;
    link_a.round(&a.store, &["team"]).await;
    link_b.round(&b.store, &["team"]).await;

    // The database drops every listening connection (a restart, a network cut): the change
    // right after is committed while no instance listens, so its NOTIFY reaches nobody.
    let Location::Postgres(url) = first.location() else { panic!("a PostgreSQL test") };
    let (client, connection) = tokio_postgres::connect(&url, NoTls).await.expect("connect");
    tokio::spawn(connection);
    let dropped = client
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
            &[],
        )
        .await
        .expect("terminate the listeners");
    assert_eq!(dropped.len(), 2, "one listener per instance");
    a.write("team", "n2", "title", "while nobody listened");
    link_a.round(&a.store, &["team"]).await;

    // The listener reconnects (after a second) and has every followed space looked at again.
    assert_eq!(link_b.next_push(PROMPTLY * 3).await, [space("team")]);
    link_b.round(&b.store, &["team"]).await;
    assert_eq!(state(&b.store, "team"), state(&a.store, "team"));
}
