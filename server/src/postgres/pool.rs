//! Connections to the database, for blocking threads. tokio-postgres' client futures only talk
//! to their connection task over channels, so they can be waited on from any thread (a
//! round's blocking thread, an admin command without a runtime) with a plain executor, while
//! the connection tasks run on a small runtime of the pool's own. That keeps the backend usable
//! outside the server's runtime and never blocks one of its async workers on the database.

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::runtime::Runtime;
use tokio_postgres::{Client, Config, NoTls};

use crate::error::{Error, Result};

/// How many connections one server instance opens at most. Rounds beyond that wait for one; a
/// database serving several instances must allow this many per instance (PostgreSQL's default
/// `max_connections` is 100).
pub const MAX_CONNECTIONS: usize = 16;

/// Waits for `future` on this thread.
pub(crate) fn wait<F: Future>(future: F) -> F::Output {
    futures_executor::block_on(future)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Only a list of idle clients and a count: nothing a panic could leave half-changed.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Slots {
    idle: Vec<Client>,
    open: usize,
}

/// A bounded pool of connections to one database.
pub struct Pool {
    config: Config,
    runtime: Option<Runtime>,
    slots: Mutex<Slots>,
    freed: Condvar,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never print it.
        f.write_str("Pool(..)")
    }
}

impl Pool {
    /// A pool for the database at `url` (`postgres://user[:password]@host[:port]/dbname`, or
    /// key=value pairs). Connects once, so a wrong URL or a database that is down is reported
    /// here.
    pub fn connect(url: &str) -> Result<Self> {
        let mut config: Config = url.parse().map_err(|_| Error::PostgresUrl)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("almanac-server");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("almanac-postgres")
            .enable_all()
            .build()
            .map_err(|e| Error::io("cannot start the PostgreSQL connection runtime", e))?;
        let pool = Self {
            config,
            runtime: Some(runtime),
            slots: Mutex::new(Slots { idle: Vec::new(), open: 0 }),
            freed: Condvar::new(),
        };
        drop(pool.get()?);
        Ok(pool)
    }

    /// The runtime the connection tasks run on (the change listener runs there too).
    pub(crate) fn runtime(&self) -> Result<&Runtime> {
        self.runtime.as_ref().ok_or(Error::PostgresClosed)
    }

    /// The connection settings (the listener opens its own connection with them).
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// A new client whose connection runs on the pool's runtime.
    pub(crate) fn open_client(&self) -> Result<Client> {
        let config = self.config.clone();
        let connecting = self.runtime()?.spawn(async move {
            let (client, connection) = config.connect(NoTls).await?;
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::warn!(%error, "PostgreSQL connection ended");
                }
            });
            Ok::<_, tokio_postgres::Error>(client)
        });
        match wait(connecting) {
            Ok(client) => Ok(client?),
            Err(_) => Err(Error::PostgresClosed),
        }
    }

    /// A connection: an idle one, a new one while fewer than [`MAX_CONNECTIONS`] are open, or
    /// the next one given back.
    pub fn get(&self) -> Result<Pooled<'_>> {
        let mut slots = lock(&self.slots);
        loop {
            while let Some(client) = slots.idle.pop() {
                if !client.is_closed() {
                    return Ok(Pooled { pool: self, client: Some(client) });
                }
                slots.open -= 1;
            }
            if slots.open < MAX_CONNECTIONS {
                slots.open += 1;
                drop(slots);
                return match self.open_client() {
                    Ok(client) => Ok(Pooled { pool: self, client: Some(client) }),
                    Err(error) => {
                        lock(&self.slots).open -= 1;
                        self.freed.notify_one();
                        Err(error)
                    }
                };
            }
            slots = self.freed.wait(slots).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        lock(&self.slots).idle.clear();
        if let Some(runtime) = self.runtime.take() {
            // Without waiting: the pool may be dropped on an async thread, where a blocking
            // shutdown is not allowed. The connection tasks (and the listener) just stop.
            runtime.shutdown_background();
        }
    }
}

/// A connection lent by the [`Pool`]; given back when dropped (closed ones are forgotten).
pub struct Pooled<'p> {
    pool: &'p Pool,
    client: Option<Client>,
}

impl Deref for Pooled<'_> {
    type Target = Client;

    fn deref(&self) -> &Client {
        // Only `drop` takes the client out.
        self.client
            .as_ref()
            .unwrap_or_else(|| unreachable!("a pooled client is taken only on drop"))
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .unwrap_or_else(|| unreachable!("a pooled client is taken only on drop"))
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        let mut slots = lock(&self.pool.slots);
        match self.client.take() {
            Some(client) if !client.is_closed() => slots.idle.push(client),
            _ => slots.open -= 1,
        }
        drop(slots);
        self.pool.freed.notify_one();
    }
}
