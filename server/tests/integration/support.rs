//! The test peer: a real server on a free port, devices as core `Store`s in temporary folders,
//! and a driver that runs a core `Session` over a real WebSocket with the contract's
//! `Open`/`Opened` round (`docs/protocol.md`, "Over WebSocket").

use std::path::Path;
use std::time::Duration;

use almanac_core::crdt::RecordDelta;
use almanac_core::sync::{
    Access, ErrorCode, Message, Session, SessionConfig, SpaceAccess, SyncReport, SyncStore,
};
use almanac_core::{RecordKey, SpaceId, Store, VersionVector};
use almanac_server::{Engine, Limits, Location, RunningServer, ServerConfig, admin};
use futures_util::{SinkExt, StreamExt};
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Bytes, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for something the server should do at once.
pub const PROMPTLY: Duration = Duration::from_secs(2);

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub fn space(id: &str) -> SpaceId {
    SpaceId::new(id).expect("space id")
}

/// Where a test server keeps its state: every scenario runs on both (`on_both_backends!`).
#[derive(Clone, Debug)]
pub enum Backend {
    /// A data folder in the test's temporary folder.
    Sqlite,
    /// A fresh database on the PostgreSQL server at this URL.
    Postgres(String),
}

/// The variable naming the PostgreSQL server tests create their databases on.
pub const POSTGRES_VAR: &str = "ALMANAC_TEST_POSTGRES";

impl Backend {
    /// PostgreSQL if `ALMANAC_TEST_POSTGRES` names a server (`scripts/postgres.sh start`
    /// makes one). Unset, the test is skipped with a message, except under CI, where the
    /// PostgreSQL half of the suite must run: there it fails.
    pub fn postgres() -> Option<Backend> {
        match std::env::var(POSTGRES_VAR) {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ if std::env::var_os("CI").is_some() => {
                panic!("{POSTGRES_VAR} is not set: CI must run the PostgreSQL tests (.ci/run)")
            }
            _ => {
                eprintln!(
                    "SKIPPED: {POSTGRES_VAR} is not set, so this PostgreSQL test did not run \
                     (export \"$(scripts/postgres.sh start)\" to run it)"
                );
                None
            }
        }
    }

    /// A place of its own for one test: a folder under `dir`, or a new, empty database.
    pub fn location(&self, dir: &Path) -> Location {
        match self {
            Backend::Sqlite => Location::Folder(dir.join("data")),
            Backend::Postgres(url) => Location::Postgres(fresh_database(url)),
        }
    }
}

/// Creates a database with a random name on the server at `url`; returns its URL. Runs on a
/// thread of its own, so it works from sync and async tests alike.
pub fn fresh_database(url: &str) -> String {
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).expect("random");
    let name: String = "almanac_test_"
        .chars()
        .chain(suffix.iter().map(|b| format!("{b:02x}")).collect::<String>().chars())
        .collect();
    let admin = url.to_owned();
    let create = format!("CREATE DATABASE {name}");
    std::thread::spawn(move || {
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&admin, tokio_postgres::NoTls)
                .await
                .expect("connect to the test PostgreSQL");
            tokio::spawn(connection);
            client.batch_execute(&create).await.expect("create the test database");
        });
    })
    .join()
    .expect("create database thread");
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let server = match base.rsplit_once('/') {
        Some((server, _)) if server.contains("//") && !server.ends_with('/') => server,
        _ => base.trim_end_matches('/'),
    };
    format!("{server}/{name}{query}")
}

/// Runs each named scenario (`async fn name(backend: Backend)`) as two tests, `name::sqlite`
/// and `name::postgres` (the latter skipped, loudly, without `ALMANAC_TEST_POSTGRES`).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                if let Some(backend) = $crate::support::Backend::postgres() {
                    super::$name(backend).await;
                }
            }
        }
    )*};
}

/// A server in this process with users alice, bob and carol.
pub struct TestServer {
    pub dir: TempDir,
    pub location: Location,
    pub server: RunningServer,
}

impl TestServer {
    pub async fn start(backend: Backend) -> Self {
        Self::with_limits(backend, Limits::default()).await
    }

    pub async fn with_limits(backend: Backend, limits: Limits) -> Self {
        if std::env::var_os("RUST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
                .with_test_writer()
                .try_init();
        }
        let dir = tempfile::tempdir().expect("dir");
        let location = backend.location(dir.path());
        for user in ["alice", "bob", "carol"] {
            admin::add_user(&location, user).expect("add user");
        }
        Self::on(dir, location, limits).await
    }

    async fn on(dir: TempDir, location: Location, limits: Limits) -> Self {
        let backend = location.open().expect("open backend");
        let mut config = ServerConfig::new("127.0.0.1:0".parse().expect("addr"));
        config.limits = limits;
        config.shutdown_grace = Duration::from_secs(2);
        let server = almanac_server::start(backend, config).await.expect("start");
        Self { dir, location, server }
    }

    /// Another server instance on the same database (PostgreSQL), as a second machine runs.
    pub async fn another_instance(&self) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        Self::on(dir, self.location.clone(), Limits::default()).await
    }

    pub fn location(&self) -> Location {
        self.location.clone()
    }

    pub fn token(&self, user: &str) -> String {
        admin::issue_token(&self.location(), user, "1h").expect("token")
    }

    pub fn url(&self) -> String {
        format!("ws://{}/v1/sync", self.server.local_addr())
    }

    pub fn engine(&self) -> &dyn Engine {
        &**self.server.engine()
    }

    /// Everything of `space` the server holds, comparable with [`state`] of a device.
    pub fn state(&self, id: &str) -> Vec<(RecordKey, RecordDelta)> {
        state(self.engine(), id)
    }

    /// The server's version vector of `space`.
    pub fn vector(&self, id: &str) -> VersionVector {
        self.engine().version_vector(&space(id)).expect("version vector")
    }

    /// Whether the server holds note `id` of `space` (it never held it if not).
    pub fn has(&self, space: &str, id: &str) -> bool {
        let key = RecordKey::new("notes", id);
        self.state(space).iter().any(|(k, _)| *k == key)
    }

    /// A connection authenticated as `user`.
    pub async fn connect(&self, user: &str) -> Link {
        let ws = connect(&self.url(), Some(&format!("Bearer {}", self.token(user))))
            .await
            .expect("connect");
        Link { ws, pushes: Vec::new() }
    }

    pub fn share(&self, space: &str, user: &str, mode: admin::ShareMode) {
        admin::share(&self.location(), space, user, mode).expect("share");
    }
}

/// Opens a WebSocket to `url` with this `Authorization` header (if any).
pub async fn connect(url: &str, authorization: Option<&str>) -> Result<Ws, tungstenite::Error> {
    let mut request = url.into_client_request()?;
    if let Some(value) = authorization {
        request
            .headers_mut()
            .insert("Authorization", HeaderValue::from_str(value).expect("header value"));
    }
    // Without Nagle's algorithm, as a device client should: small frames leave at once.
    Ok(tokio_tungstenite::connect_async_with_config(request, None, true).await?.0)
}

/// The HTTP status and body of a refused upgrade.
pub async fn refused(url: &str, authorization: Option<&str>) -> (u16, String) {
    match connect(url, authorization).await {
        Err(tungstenite::Error::Http(response)) => {
            let body = response.body().clone().unwrap_or_default();
            (response.status().as_u16(), String::from_utf8(body).expect("utf-8 body"))
        }
        Err(other) => panic!("expected an HTTP refusal, got {other}"),
        Ok(_) => panic!("expected an HTTP refusal, the upgrade succeeded"),
    }
}

/// A device: a core store in a temporary folder, opened as an app opens it.
pub struct Device {
    _dir: TempDir,
    pub store: Store,
}

impl Device {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path().join("device.almanac")).expect("open device store");
        Self { _dir: dir, store }
    }

    pub fn write(&self, space: &str, id: &str, field: &str, value: &str) {
        self.store.transaction(space).set("notes", id, field, value).commit().expect("write");
    }
}

/// Everything of `id` in `store` (a device's or the server's), comparable.
pub fn state(store: &(impl SyncStore + ?Sized), id: &str) -> Vec<(RecordKey, RecordDelta)> {
    store.delta_since(&space(id), &VersionVector::new()).expect("full delta").records
}

/// What a round did.
#[derive(Debug)]
pub struct Round {
    pub opened: Vec<SpaceAccess>,
    pub report: SyncReport,
}

impl Round {
    pub fn access(&self, id: &str) -> Access {
        self.opened.iter().find(|a| a.space.as_str() == id).expect("space in Opened").access
    }
}

/// One device's connection.
pub struct Link {
    pub ws: Ws,
    /// `Changed` frames that arrived while waiting for something else.
    pub pushes: Vec<Vec<SpaceId>>,
}

impl Link {
    pub async fn send_bytes(&mut self, bytes: Vec<u8>) -> Result<(), tungstenite::Error> {
        self.ws.send(WsMessage::Binary(Bytes::from(bytes))).await
    }

    pub async fn send(&mut self, message: &Message) {
        self.send_bytes(message.encode().expect("encode")).await.expect("send");
    }

    /// The next binary frame (pings and pongs skipped). A server that sends no frame for 30
    /// seconds fails the test instead of hanging it (its pings do not count).
    pub async fn recv_bytes(&mut self) -> Result<Vec<u8>, String> {
        let next_frame = async {
            loop {
                match self.ws.next().await {
                    Some(Ok(WsMessage::Binary(bytes))) => return Ok(bytes.to_vec()),
                    Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                    Some(Ok(other)) => return Err(format!("not a frame: {other:?}")),
                    Some(Err(error)) => return Err(error.to_string()),
                    None => return Err("the connection ended".into()),
                }
            }
        };
        match tokio::time::timeout(Duration::from_secs(30), next_frame).await {
            Ok(frame) => frame,
            Err(_) => Err("no frame from the server for 30 s".into()),
        }
    }

    pub async fn recv(&mut self) -> Result<Message, String> {
        let bytes = self.recv_bytes().await?;
        Message::decode(&bytes).map_err(|e| e.to_string())
    }

    /// Sends `Open` and returns the server's `Opened` (keeping any `Changed` that came first).
    pub async fn open(&mut self, spaces: &[&str]) -> Vec<SpaceAccess> {
        let spaces: Vec<SpaceId> = spaces.iter().map(|s| space(s)).collect();
        self.send(&Message::Open { spaces: spaces.clone() }).await;
        loop {
            match self.recv().await.expect("Opened") {
                Message::Opened { spaces: opened } => {
                    let named: Vec<SpaceId> = opened.iter().map(|a| a.space.clone()).collect();
                    assert_eq!(named, spaces, "one answer per space of Open, in order");
                    return opened;
                }
                Message::Changed { spaces } => self.pushes.push(spaces),
                other => panic!("expected Opened, got {other:?}"),
            }
        }
    }

    /// Runs the device's session for an `Opened` already received. `watch` sees each frame
    /// from the server before the session does; returning `false` stops the round there.
    pub async fn finish(
        &mut self,
        store: &Store,
        opened: Vec<SpaceAccess>,
        tune: impl FnOnce(&mut SessionConfig),
        watch: impl FnMut(&Message) -> bool,
    ) -> Result<Round, String> {
        self.finish_mutating(store, opened, tune, watch, |_, _| {}).await
    }

    /// [`Link::finish`], with `mutate` given each outgoing frame (numbered from 0) before it
    /// is sent.
    pub async fn finish_mutating(
        &mut self,
        store: &Store,
        opened: Vec<SpaceAccess>,
        tune: impl FnOnce(&mut SessionConfig),
        mut watch: impl FnMut(&Message) -> bool,
        mut mutate: impl FnMut(usize, &mut Vec<u8>),
    ) -> Result<Round, String> {
        let mut sent = 0;
        let allowed: Vec<SpaceId> =
            opened.iter().filter(|a| a.access != Access::Denied).map(|a| a.space.clone()).collect();
        // Like an app: a space given for the first time is joined, so the session syncs it.
        for id in &allowed {
            if !store.holds_space(id.as_str()).map_err(|e| e.to_string())? {
                store.join_space(id.as_str()).map_err(|e| e.to_string())?;
            }
        }
        let mut config = SessionConfig::new(allowed);
        // As the client does: the round ends only once the server has said it took what this
        // device sent, so the test can look at the server right after.
        config.confirm_delivery = true;
        tune(&mut config);
        let mut session = Session::new(store, config).map_err(|e| e.to_string())?;
        loop {
            while let Some(mut frame) = session.poll_transmit() {
                mutate(sent, &mut frame);
                sent += 1;
                self.send_bytes(frame).await.map_err(|e| e.to_string())?;
            }
            if session.is_finished() {
                return Ok(Round { opened, report: session.report().clone() });
            }
            let frame = self.recv_bytes().await?;
            if let Ok(message) = Message::decode(&frame) {
                if !watch(&message) {
                    return Err("stopped by the test".into());
                }
            }
            if let Err(error) = session.receive(&frame) {
                while let Some(frame) = session.poll_transmit() {
                    let _ = self.send_bytes(frame).await;
                }
                return Err(error.to_string());
            }
        }
    }

    /// A whole round with default settings, which must succeed.
    pub async fn round(&mut self, store: &Store, spaces: &[&str]) -> Round {
        let opened = self.open(spaces).await;
        self.finish(store, opened, |_| {}, |_| true).await.expect("round")
    }

    /// Waits for the next `Changed` (or returns one that came earlier).
    pub async fn next_push(&mut self, within: Duration) -> Vec<SpaceId> {
        if !self.pushes.is_empty() {
            return self.pushes.remove(0);
        }
        let wait = async {
            match self.recv().await.expect("a frame") {
                Message::Changed { spaces } => spaces,
                other => panic!("expected Changed, got {other:?}"),
            }
        };
        tokio::time::timeout(within, wait).await.expect("Changed in time")
    }

    /// Reads until the server's `Error` frame and its close; returns the error code and the
    /// close code.
    pub async fn expect_error_and_close(&mut self) -> (ErrorCode, Option<u16>) {
        let read = async {
            let mut code = None;
            loop {
                match self.ws.next().await {
                    Some(Ok(WsMessage::Binary(bytes))) => {
                        if let Ok(Message::Error { code: c, .. }) = Message::decode(&bytes) {
                            code = Some(c);
                        }
                    }
                    Some(Ok(WsMessage::Close(frame))) => {
                        return (code, frame.map(|f| u16::from(f.code)));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => return (code, None),
                }
            }
        };
        let (code, close) = tokio::time::timeout(PROMPTLY * 5, read).await.expect("closed in time");
        (code.expect("an Error frame before the close"), close)
    }
}
