//! Live changes from the other instances: one connection per instance `LISTEN`s on the
//! changes channel; each notification (sent by another instance's commit, see `engine.rs`)
//! names a space, which is pushed to this instance's connections following it. One channel for
//! the whole database rather than one per space: an instance would otherwise have to `LISTEN`
//! and `UNLISTEN` as connections come and go, and a notification is a few bytes.
//!
//! A notification sent while the listening connection is down is lost, so after every
//! reconnection every followed space is pushed once: at worst one empty round per device.

use std::sync::Arc;
use std::time::Duration;

use almanac_core::SpaceId;
use futures_util::future::poll_fn;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, NoTls};

use super::CHANNEL;
use super::pool::Pool;
use crate::error::{Error, Result};

/// What a notification means for this instance.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Heard {
    /// Another instance changed this space.
    Changed(SpaceId),
    /// Notifications may have been missed (the listener just reconnected).
    MaybeMissed,
}

/// How long to wait before listening again after the connection failed.
const RETRY: Duration = Duration::from_secs(1);

/// Starts listening on `pool`'s runtime for notifications of instances other than `instance`,
/// calling `heard` for each. Returns once the first `LISTEN` is in place (so nothing committed
/// after the server started is missed), or its error. It stops with the pool.
pub fn start(
    pool: &Pool,
    instance: String,
    heard: impl Fn(Heard) + Send + Sync + 'static,
) -> Result<()> {
    let config = pool.config().clone();
    let (ready, listening) = std::sync::mpsc::channel();
    let heard = Arc::new(heard);
    pool.runtime()?.spawn(async move {
        let mut ready = Some(ready);
        loop {
            let result = listen(&config, &instance, &*heard, &mut ready).await;
            match (result, ready.take()) {
                // Never listened: tell the caller why, and stop.
                (Err(error), Some(ready)) => {
                    let _ = ready.send(Err(error));
                    return;
                }
                (Err(error), None) => {
                    tracing::warn!(%error, "lost the PostgreSQL change listener; reconnecting");
                }
                (Ok(()), _) => tracing::warn!("the PostgreSQL change listener ended; reconnecting"),
            }
            tokio::time::sleep(RETRY).await;
        }
    });
    match listening.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(Error::Postgres(error)),
        Err(_) => Err(Error::PostgresClosed),
    }
}

/// One listening connection, until it ends.
async fn listen(
    config: &tokio_postgres::Config,
    instance: &str,
    heard: &(dyn Fn(Heard) + Send + Sync),
    ready: &mut Option<std::sync::mpsc::Sender<std::result::Result<(), tokio_postgres::Error>>>,
) -> std::result::Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let (notifications, mut incoming) = mpsc::unbounded_channel();
    // The connection delivers notifications only while polled, alongside the client's queries.
    let driver = tokio::spawn(async move {
        while let Some(message) = poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notification(notification)) => {
                    if notifications.send(notification).is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    });
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    match ready.take() {
        // The first connection: the server is not serving yet, so nothing can be missed.
        Some(ready) => {
            let _ = ready.send(Ok(()));
        }
        None => heard(Heard::MaybeMissed),
    }
    while let Some(notification) = incoming.recv().await {
        if let Some(event) = parse(notification.payload(), instance) {
            heard(event);
        }
    }
    drop(client);
    match driver.await {
        Ok(result) => result,
        Err(_) => Ok(()),
    }
}

/// `"<instance>\n<space>"`, ignored when it is this instance's own or not well-formed.
fn parse(payload: &str, instance: &str) -> Option<Heard> {
    let (from, space) = payload.split_once('\n')?;
    if from == instance {
        return None;
    }
    SpaceId::new(space).ok().map(Heard::Changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_other_instances_well_formed_notifications_count() {
        let work = SpaceId::new("work").expect("space");
        assert_eq!(parse("b\nwork", "a"), Some(Heard::Changed(work)));
        assert_eq!(parse("a\nwork", "a"), None);
        assert_eq!(parse("work", "a"), None);
        assert_eq!(parse("b\n", "a"), None);
    }
}
