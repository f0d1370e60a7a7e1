//! The client's one error type: what went wrong, in words an app can show or act on, and
//! whether trying again later can help ([`Error::is_retryable`]).

use std::time::Duration;

/// The result type of the client.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while syncing with the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server URL cannot be used (wrong scheme, no host, bad port, ...).
    #[error("invalid server URL '{url}': {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The server could not be reached: refused connection (server down), unknown host,
    /// network unreachable, or no answer in time.
    #[error("cannot reach the server at {url}: {detail}")]
    Unreachable {
        /// The server's address.
        url: String,
        /// What the network said.
        detail: String,
    },

    /// The TLS handshake failed (an untrusted or expired certificate, a host name that does
    /// not match, a proxy intercepting the connection).
    #[error("secure connection to the server failed: {0}")]
    Tls(String),

    /// The server refused the token (HTTP 401): it is wrong, revoked or expired. Get a new one;
    /// retrying with the same token cannot help.
    #[error("the server refused the token (invalid or expired); sign in again to get a new one")]
    Unauthorized,

    /// The server refused the connection because this user has too many open (HTTP 429).
    #[error("the server refused the connection: too many connections for this user; retry later")]
    TooManyConnections,

    /// The server answered the WebSocket upgrade with another HTTP status (a proxy, a server
    /// that is not Almanac's, maintenance).
    #[error("the server answered HTTP {status} instead of accepting the sync connection")]
    UnexpectedStatus {
        /// The HTTP status code.
        status: u16,
    },

    /// The connection broke or was closed during a round; nothing partial was applied and the
    /// next round resumes.
    #[error("the connection to the server was lost: {0}")]
    ConnectionLost(String),

    /// The server sent nothing for too long during a round.
    #[error("the server did not answer for {0:?}; the round was abandoned and will resume")]
    Timeout(Duration),

    /// The server broke the protocol or ended the session with an error.
    #[error("sync protocol error: {0}")]
    Protocol(String),

    /// This device's store failed (disk full, damaged file, ...), or refused what the server
    /// sent.
    #[error("local storage error: {0}")]
    Storage(#[source] almanac_core::Error),

    /// A sharing request about a calendar this user does not own (HTTP 403): only its owner
    /// can see or change who it is shared with.
    #[error("{0}")]
    NotOwner(String),

    /// A sharing request named a user the server does not know, or a calendar no device has
    /// synced yet (HTTP 404).
    #[error("{0}")]
    NotFound(String),

    /// The server refused a sharing request as malformed (HTTP 400), e.g. sharing a calendar
    /// with its own owner.
    #[error("the server refused the request: {0}")]
    Rejected(String),

    /// The live sync was stopped (its handle dropped or `stop` called).
    #[error("the live sync is stopped")]
    Stopped,

    /// `Client::start` was called outside a tokio runtime.
    #[error("the live sync needs a tokio runtime: call start() from inside one")]
    NoRuntime,
}

impl Error {
    /// Whether trying again later (with the same URL and token) can succeed: true for
    /// network trouble, busy or misbehaving servers, false for a bad URL, a refused token or a
    /// certificate problem, which need someone to act.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Unreachable { .. }
            | Error::TooManyConnections
            | Error::ConnectionLost(_)
            | Error::Timeout(_)
            | Error::Protocol(_)
            | Error::Storage(_) => true,
            Error::UnexpectedStatus { status } => *status >= 500 || *status == 408,
            Error::InvalidUrl { .. }
            | Error::Tls(_)
            | Error::Unauthorized
            | Error::NotOwner(_)
            | Error::NotFound(_)
            | Error::Rejected(_)
            | Error::Stopped
            | Error::NoRuntime => false,
        }
    }
}

impl From<almanac_core::Error> for Error {
    fn from(error: almanac_core::Error) -> Error {
        match error {
            // The session reports the server's own errors and broken frames as protocol
            // errors; everything else comes from this device's store.
            almanac_core::Error::Protocol(message) => Error::Protocol(message),
            almanac_core::Error::Decode { what, detail } => {
                Error::Protocol(format!("cannot decode {what}: {detail}"))
            }
            other => Error::Storage(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_network_and_server_trouble_is_retried() {
        assert!(
            Error::Unreachable { url: "ws://x".into(), detail: "refused".into() }.is_retryable()
        );
        assert!(Error::TooManyConnections.is_retryable());
        assert!(Error::UnexpectedStatus { status: 503 }.is_retryable());
        assert!(!Error::UnexpectedStatus { status: 404 }.is_retryable());
        assert!(!Error::Unauthorized.is_retryable());
        assert!(!Error::InvalidUrl { url: "x".into(), reason: "y".into() }.is_retryable());
        assert!(!Error::Tls("bad certificate".into()).is_retryable());
    }

    #[test]
    fn a_refused_token_says_what_to_do() {
        let text = Error::Unauthorized.to_string();
        assert!(text.contains("invalid or expired"), "{text}");
    }
}
