//! Opening and closing the WebSocket: the upgrade request with the bearer token, TLS through
//! the platform's verifier for `wss://`, and HTTP refusals turned into [`Error`]s.

use std::io::ErrorKind;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Error as WsError};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::endpoint::Endpoint;
use crate::error::{Error, Result};

/// An open connection to the server.
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Connects and authenticates; fails with [`Error::Unauthorized`] for a refused token.
pub(crate) async fn connect(
    endpoint: &Endpoint,
    token: &str,
    max_frame_bytes: usize,
    timeout: Duration,
) -> Result<Ws> {
    let url = endpoint.as_str();
    let mut request = url
        .into_client_request()
        .map_err(|e| Error::InvalidUrl { url: url.to_owned(), reason: e.to_string() })?;
    let bearer = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        // A token with a line break or control character could smuggle headers: refused as is.
        Error::Unauthorized
    })?;
    request.headers_mut().insert(AUTHORIZATION, bearer);
    let connector =
        if endpoint.is_tls() { Connector::Rustls(tls_config()?) } else { Connector::Plain };
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(max_frame_bytes);
    config.max_frame_size = Some(max_frame_bytes);
    let attempt = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(config),
        true,
        Some(connector),
    );
    match tokio::time::timeout(timeout, attempt).await {
        Err(_) => Err(Error::Unreachable {
            url: url.to_owned(),
            detail: format!("no answer within {} s", timeout.as_secs_f32()),
        }),
        Ok(Err(error)) => Err(connect_error(url, error)),
        Ok(Ok((ws, _response))) => Ok(ws),
    }
}

/// Closes the connection politely, waiting briefly for the server's close frame.
pub(crate) async fn close(ws: &mut Ws) {
    let polite = async {
        // Best effort: the connection may already be gone, which is what closing wants.
        let _ = ws.close(None).await;
        while let Some(Ok(_)) = ws.next().await {}
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), polite).await;
}

/// A TLS configuration that trusts what the operating system trusts. Built per connection
/// (cheap next to a handshake), so a certificate store updated by the system is used.
pub(crate) fn tls_config() -> Result<Arc<rustls::ClientConfig>> {
    use rustls_platform_verifier::BuilderVerifierExt;
    // The provider is named rather than taken from the process default, so an app that links
    // another rustls provider cannot make this fail.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_platform_verifier())
        .map_err(|e| Error::Tls(format!("cannot set up TLS: {e}")))?
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn connect_error(url: &str, error: WsError) -> Error {
    match error {
        WsError::Http(response) => match response.status().as_u16() {
            401 => Error::Unauthorized,
            429 => Error::TooManyConnections,
            status => Error::UnexpectedStatus { status },
        },
        WsError::Io(io) => {
            // The TLS layer reports handshake failures (an untrusted certificate) as I/O
            // errors wrapping rustls' own.
            if let Some(tls) = io.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()) {
                return Error::Tls(tls.to_string());
            }
            let detail = match io.kind() {
                ErrorKind::ConnectionRefused => {
                    "connection refused (is the server running on that port?)".to_owned()
                }
                ErrorKind::TimedOut => "the connection timed out".to_owned(),
                _ => io.to_string(),
            };
            Error::Unreachable { url: url.to_owned(), detail }
        }
        WsError::Tls(tls) => Error::Tls(tls.to_string()),
        WsError::Url(reason) => {
            Error::InvalidUrl { url: url.to_owned(), reason: reason.to_string() }
        }
        WsError::ConnectionClosed | WsError::AlreadyClosed => {
            Error::ConnectionLost("the server closed the connection during the upgrade".into())
        }
        other => Error::Protocol(format!("the WebSocket upgrade failed: {other}")),
    }
}

/// A WebSocket error on an open connection.
pub(crate) fn lost(error: tungstenite::Error) -> Error {
    match error {
        WsError::Capacity(detail) => {
            Error::Protocol(format!("the server sent a frame over the limit: {detail}"))
        }
        WsError::Protocol(detail) => Error::Protocol(format!("WebSocket: {detail}")),
        other => Error::ConnectionLost(other.to_string()),
    }
}
