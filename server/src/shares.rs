//! Sharing from a device (decision 0023): the owner of a space, signed in with its bearer
//! token, lists who the space is shared with, shares it (read-write or read-only) and stops
//! sharing it, over plain HTTP on the sync listener:
//!
//! - `GET /v1/spaces/{space}/shares` → `200 {"space", "owner", "shares": [{"user", "read_only"}]}`
//! - `POST /v1/spaces/{space}/shares` with `{"user", "read_only"}` → `200 {"user", "read_only",
//!   "change": "added" | "changed" | "unchanged"}`
//! - `DELETE /v1/spaces/{space}/shares/{user}` → `200 {"user", "removed": true | false}`
//!
//! Refusals are `{"error": "<what went wrong and what to do>"}`: 401 for a bad token (the
//! sync endpoint's body), 403 when the caller does not own the space, 404 for a space no
//! device has opened or an unknown user, 400 for a bad space id, body or owner share. The
//! rules are the admin command's (`Accounts::share` / `revoke`); this only adds "the caller
//! must be the owner". The formats are pinned by `tests/fixtures/shares/`.

use std::sync::Arc;

use almanac_core::SpaceId;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::accounts::{Member, ShareChange};
use crate::error::Error;
use crate::http::{authenticate, unauthorized};
use crate::server::Shared;

/// The largest request body read (a user name and a flag need far less).
const MAX_BODY_BYTES: usize = 4096;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShareRequest {
    user: String,
    #[serde(default)]
    read_only: bool,
}

#[derive(Serialize)]
struct SharesBody<'a> {
    space: &'a str,
    owner: &'a str,
    shares: Vec<MemberBody>,
}

#[derive(Serialize)]
struct MemberBody {
    user: String,
    read_only: bool,
}

#[derive(Serialize)]
struct ShareBody<'a> {
    user: &'a str,
    read_only: bool,
    change: &'static str,
}

#[derive(Serialize)]
struct RevokeBody<'a> {
    user: &'a str,
    removed: bool,
}

#[derive(Serialize)]
struct ErrorBody {
    error: String,
}

fn json(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot encode a sharing answer");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    json(status, &ErrorBody { error: message.into() })
}

/// An accounts error as the device sees it: the admin command's message, with its status.
fn accounts_error(error: Error) -> Response {
    match error {
        Error::UnknownUser(user) => {
            refuse(StatusCode::NOT_FOUND, format!("there is no user named {user:?}"))
        }
        Error::UnknownSpace(space) => refuse(StatusCode::NOT_FOUND, unknown_space(&space)),
        Error::OwnerShare { .. } | Error::InvalidUserName(_) => {
            refuse(StatusCode::BAD_REQUEST, error.to_string())
        }
        other => {
            tracing::error!(error = %other, "accounts database failed during a sharing request");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "the server cannot reach its accounts; retry later",
            )
        }
    }
}

fn unknown_space(space: &str) -> String {
    format!("no device has synced a calendar {space:?} yet: sync it once before sharing it")
}

/// Who is asking, and that they own `space`; or the refusal to send.
async fn owner_check(
    shared: &Arc<Shared>,
    headers: &HeaderMap,
    space: &str,
) -> Result<(String, SpaceId), Response> {
    let Some(user) = authenticate(shared, headers).await else {
        return Err(unauthorized(shared));
    };
    let id = SpaceId::new(space).map_err(|e| {
        refuse(StatusCode::BAD_REQUEST, format!("{space:?} is not a valid calendar id: {e}"))
    })?;
    let owner = accounts(shared, {
        let id = id.clone();
        move |accounts| accounts.owner(&id)
    })
    .await?;
    match owner {
        None => Err(refuse(StatusCode::NOT_FOUND, unknown_space(space))),
        // Owners never change, so the check cannot go stale before the change below.
        Some(owner) if owner == user => Ok((user, id)),
        Some(_) => Err(refuse(
            StatusCode::FORBIDDEN,
            format!("only the owner of {space:?} can see or change who it is shared with"),
        )),
    }
}

/// Runs an accounts call on a blocking thread (the databases are synchronous).
async fn accounts<T: Send + 'static>(
    shared: &Arc<Shared>,
    call: impl FnOnce(&dyn crate::accounts::Accounts) -> crate::error::Result<T> + Send + 'static,
) -> Result<T, Response> {
    let accounts = Arc::clone(&shared.accounts);
    match tokio::task::spawn_blocking(move || call(accounts.as_ref())).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(accounts_error(error)),
        Err(error) => {
            tracing::error!(%error, "a sharing request's accounts call panicked");
            Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, "internal error"))
        }
    }
}

pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(space): Path<String>,
) -> Response {
    let (owner, id) = match owner_check(&shared, &headers, &space).await {
        Ok(checked) => checked,
        Err(refusal) => return refusal,
    };
    match accounts(&shared, move |accounts| accounts.members(&id)).await {
        Ok(members) => json(
            StatusCode::OK,
            &SharesBody {
                space: &space,
                owner: &owner,
                shares: members
                    .into_iter()
                    .map(|Member { user, read_only }| MemberBody { user, read_only })
                    .collect(),
            },
        ),
        Err(refusal) => refusal,
    }
}

pub(crate) async fn share(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(space): Path<String>,
    body: Bytes,
) -> Response {
    let (_, id) = match owner_check(&shared, &headers, &space).await {
        Ok(checked) => checked,
        Err(refusal) => return refusal,
    };
    if body.len() > MAX_BODY_BYTES {
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "the request body is too large");
    }
    let request: ShareRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"user\": \"<name>\", \"read_only\": true|false}}: {error}"),
            );
        }
    };
    let (user, read_only) = (request.user.clone(), request.read_only);
    match accounts(&shared, move |accounts| accounts.share(&id, &user, read_only)).await {
        Ok(change) => json(
            StatusCode::OK,
            &ShareBody {
                user: &request.user,
                read_only,
                change: match change {
                    ShareChange::Added => "added",
                    ShareChange::Changed => "changed",
                    ShareChange::Unchanged => "unchanged",
                },
            },
        ),
        Err(refusal) => refusal,
    }
}

pub(crate) async fn revoke(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path((space, user)): Path<(String, String)>,
) -> Response {
    let (_, id) = match owner_check(&shared, &headers, &space).await {
        Ok(checked) => checked,
        Err(refusal) => return refusal,
    };
    let name = user.clone();
    match accounts(&shared, move |accounts| accounts.revoke(&id, &name)).await {
        Ok(removed) => json(StatusCode::OK, &RevokeBody { user: &user, removed }),
        Err(refusal) => refusal,
    }
}
