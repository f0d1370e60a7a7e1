//! The HTTP surface: `GET /v1/sync` (the WebSocket, after the bearer token is checked), the
//! sharing API under `/v1/spaces/{space}/shares` (`shares.rs`), `GET /healthz` and
//! `GET /metrics`.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};

use crate::connection;
use crate::metrics::Failure;
use crate::server::Shared;
use crate::shares;

/// The one body of every refused token, whatever the reason (`docs/protocol.md`).
pub const UNAUTHORIZED_BODY: &str = "invalid or expired token";

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/sync", get(sync))
        .route("/v1/spaces/{space}/shares", get(shares::list).post(shares::share))
        .route("/v1/spaces/{space}/shares/{user}", delete(shares::revoke))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(shared)
}

pub(crate) fn unauthorized(shared: &Shared) -> Response {
    shared.metrics.failed(Failure::Unauthorized);
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], UNAUTHORIZED_BODY)
        .into_response()
}

/// The user a request's bearer token names, if the token is valid and the user exists.
pub(crate) async fn authenticate(shared: &Arc<Shared>, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let claims = shared.key.verify(token.trim())?;
    // The accounts database is SQLite: ask it off the async threads.
    let lookup = Arc::clone(shared);
    let user = claims.sub;
    let exists =
        tokio::task::spawn_blocking(move || lookup.accounts.has_user(&user).map(|e| (e, user)))
            .await
            .ok()?;
    match exists {
        Ok((true, user)) => {
            tracing::debug!(user, token = claims.jti, "token accepted");
            Some(user)
        }
        Ok((false, _)) => None,
        Err(error) => {
            tracing::error!(%error, "accounts database unavailable while checking a token");
            None
        }
    }
}

async fn sync(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    // The token first: without one, nothing else (not even whether this is a WebSocket
    // request) is answered.
    let Some(user) = authenticate(&shared, &headers).await else {
        return unauthorized(&shared);
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    if *shared.stopping.borrow() {
        return (StatusCode::SERVICE_UNAVAILABLE, "the server is shutting down").into_response();
    }
    let Some(slot) = shared.connection_slot(&user) else {
        shared.metrics.failed(Failure::TooManyConnections);
        tracing::info!(user, "refused a connection: too many open");
        return (StatusCode::TOO_MANY_REQUESTS, "too many connections for this user")
            .into_response();
    };
    let limit = shared.limits.max_frame_bytes;
    upgrade
        .max_message_size(limit)
        // A frame up to twice the limit is read whole and then refused, so the refusal and
        // the close reach the device over a stream still in step; a larger one is cut off
        // at its header.
        .max_frame_size(limit.saturating_mul(2))
        .on_upgrade(move |socket| connection::serve(socket, shared, slot))
}

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    let probe = Arc::clone(&shared);
    let healthy = tokio::task::spawn_blocking(move || {
        // One small read of each database: answers quickly however many spaces there are.
        probe.engine.check().is_ok() && probe.accounts.check().is_ok()
    })
    .await
    .unwrap_or(false);
    if healthy {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable").into_response()
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], shared.metrics.render())
        .into_response()
}
