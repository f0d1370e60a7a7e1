//! Starting and stopping the server: bind, serve HTTP (or HTTPS with rustls) until told to
//! stop, then stop accepting, let running rounds finish within a grace period, and close the
//! engine store.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum_server::Handle;
use axum_server::accept::NoDelayAcceptor;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::accounts::Accounts;
use crate::backend::Backend;
use crate::config::{Limits, ServerConfig};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::http;
use crate::metrics::Metrics;
use crate::postgres::listen::{self, Heard};
use crate::push::{NOBODY, Pushes};
use crate::token::TokenKey;

/// What every connection shares.
pub(crate) struct Shared {
    pub engine: Arc<dyn Engine>,
    pub accounts: Arc<dyn Accounts>,
    pub key: TokenKey,
    pub limits: Limits,
    pub metrics: Metrics,
    pub pushes: Arc<Pushes>,
    /// Open connections per user.
    per_user: Mutex<HashMap<String, usize>>,
    /// Open connections in all (a shutdown waits for it to reach 0).
    open: watch::Sender<usize>,
    /// Set once when the server starts shutting down.
    pub stopping: watch::Sender<bool>,
}

impl Shared {
    fn per_user(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        // Counting only: a panic elsewhere cannot leave the map half-updated.
        self.per_user.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A connection slot for `user`, or `None` if the user has the most connections allowed.
    pub fn connection_slot(self: &Arc<Self>, user: &str) -> Option<ConnectionSlot> {
        let mut per_user = self.per_user();
        let count = per_user.entry(user.to_owned()).or_insert(0);
        if *count >= self.limits.max_connections_per_user {
            return None;
        }
        *count += 1;
        self.open.send_modify(|n| *n += 1);
        Some(ConnectionSlot { shared: Arc::clone(self), user: user.to_owned() })
    }
}

/// One of a user's allowed connections, given back when dropped.
pub(crate) struct ConnectionSlot {
    shared: Arc<Shared>,
    user: String,
}

impl ConnectionSlot {
    /// The user this connection authenticated as.
    pub fn user(&self) -> &str {
        &self.user
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut per_user = self.shared.per_user();
        if let Some(count) = per_user.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                per_user.remove(&self.user);
            }
        }
        drop(per_user);
        self.shared.open.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// A server accepting connections (see [`start`]).
pub struct RunningServer {
    addr: SocketAddr,
    tls: bool,
    shared: Arc<Shared>,
    handle: Handle<SocketAddr>,
    serving: JoinHandle<std::io::Result<()>>,
    grace: Duration,
}

/// Binds `config.listen` and starts serving `backend` in the background.
pub async fn start(backend: Backend, config: ServerConfig) -> Result<RunningServer> {
    config.limits.check()?;
    let listener = std::net::TcpListener::bind(config.listen)
        .map_err(|e| Error::io(format!("cannot listen on {}", config.listen), e))?;
    let addr = listener.local_addr().map_err(|e| Error::io("cannot read the bound address", e))?;
    let (stopping, _) = watch::channel(false);
    let pushes = Arc::new(Pushes::default());
    if let Some(peers) = &backend.peers {
        // Before accepting connections, so no change another instance commits from now on
        // is missed.
        let pushes = Arc::clone(&pushes);
        listen::start(&peers.pool, peers.instance.clone(), move |heard| match heard {
            Heard::Changed(space) => pushes.publish(NOBODY, &[space]),
            Heard::MaybeMissed => pushes.publish_everything(),
        })?;
    }
    let shared = Arc::new(Shared {
        engine: backend.engine,
        accounts: backend.accounts,
        key: backend.key,
        limits: config.limits,
        metrics: Metrics::default(),
        pushes,
        per_user: Mutex::default(),
        open: watch::channel(0).0,
        stopping,
    });
    let app = http::router(Arc::clone(&shared)).into_make_service();
    // Small frames (Opened, Hello, Want, Ack) go out at once: with Nagle's algorithm a
    // round trip could wait for the peer's delayed acknowledgement.
    let handle = Handle::new();
    let listen_error = |e| Error::io(format!("cannot listen on {addr}"), e);
    let serving = match &config.tls {
        Some(files) => {
            let tls = RustlsConfig::from_pem_file(&files.cert, &files.key).await.map_err(|e| {
                Error::io(
                    format!(
                        "cannot load the TLS certificate {} and key {}",
                        files.cert.display(),
                        files.key.display()
                    ),
                    e,
                )
            })?;
            let acceptor = RustlsAcceptor::new(tls).acceptor(NoDelayAcceptor::new());
            let server = axum_server::from_tcp(listener).map_err(listen_error)?.acceptor(acceptor);
            tokio::spawn(server.handle(handle.clone()).serve(app))
        }
        None => {
            let server = axum_server::from_tcp(listener)
                .map_err(listen_error)?
                .acceptor(NoDelayAcceptor::new());
            tokio::spawn(server.handle(handle.clone()).serve(app))
        }
    };
    tracing::info!(%addr, tls = config.tls.is_some(), "listening");
    Ok(RunningServer {
        addr,
        tls: config.tls.is_some(),
        shared,
        handle,
        serving,
        grace: config.shutdown_grace,
    })
}

impl RunningServer {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL devices connect to (`http://…` or `https://…`; the WebSocket endpoint is
    /// `/v1/sync` under it, with `ws://` or `wss://`).
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The engine (for tests and inspection; the server writes it during rounds).
    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.shared.engine
    }

    /// The metrics in Prometheus' text format (what `/metrics` serves).
    pub fn metrics(&self) -> String {
        self.shared.metrics.render()
    }

    /// Stops gracefully: no new connections; idle connections are closed (code 1001), running
    /// rounds finish (for at most the grace period); then the engine store is closed.
    pub async fn shutdown(self) -> Result<()> {
        tracing::info!("shutting down");
        self.shared.stopping.send_replace(true);
        self.handle.graceful_shutdown(Some(self.grace));
        let mut open = self.shared.open.subscribe();
        let drained = tokio::time::timeout(self.grace, open.wait_for(|n| *n == 0)).await.is_ok();
        if !drained {
            tracing::warn!(
                grace = ?self.grace,
                "connections still open after the grace period; their rounds are abandoned \
                 (staged chunks stay, the devices resume)"
            );
        }
        drop(open);
        // Plain HTTP requests (a metrics scrape, say) had the same grace: end the rest now.
        self.handle.shutdown();
        let _ = self.serving.await;
        let engine = Arc::clone(&self.shared.engine);
        drop(self.shared);
        if Arc::strong_count(&engine) == 1 {
            engine.close()?;
        } else {
            tracing::warn!("the engine store closes when the last round ends");
        }
        tracing::info!("stopped");
        Ok(())
    }
}
