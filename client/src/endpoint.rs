//! The server's address: `ws://host:port` or `wss://host:port`, with `/v1/sync` appended when
//! the URL has no path (`docs/protocol.md`, "Over WebSocket"). A path given is kept, so a
//! server behind a proxy at `wss://example.com/almanac/v1/sync` works too.

use tokio_tungstenite::tungstenite::http::Uri;

use crate::error::{Error, Result};

/// The path of the sync endpoint on an Almanac server.
pub const SYNC_PATH: &str = "/v1/sync";

/// A checked server URL.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Endpoint {
    url: String,
    tls: bool,
}

impl Endpoint {
    /// Checks `url` and completes its path.
    pub fn parse(url: &str) -> Result<Endpoint> {
        let invalid =
            |reason: &str| Error::InvalidUrl { url: url.to_owned(), reason: reason.into() };
        let trimmed = url.trim();
        let Some((scheme, rest)) = trimmed.split_once("://") else {
            return Err(invalid("expected ws://host:port or wss://host:port"));
        };
        let tls = match scheme.to_ascii_lowercase().as_str() {
            "ws" => false,
            "wss" => true,
            "http" | "https" => {
                return Err(invalid(
                    "the sync server speaks WebSocket: use ws:// (or wss:// for TLS) instead of \
                     http(s)://",
                ));
            }
            _ => return Err(invalid("the scheme must be ws:// or wss://")),
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(authority_end);
        if authority.is_empty() {
            return Err(invalid("no host"));
        }
        if authority.contains('@') {
            return Err(invalid("credentials do not belong in the URL; pass the token separately"));
        }
        if path.contains('#') {
            return Err(invalid("a URL fragment (#...) is not allowed"));
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid("spaces or control characters in the URL"));
        }
        let full = if path.is_empty() || path == "/" {
            format!("{}://{authority}{SYNC_PATH}", scheme.to_ascii_lowercase())
        } else if path.starts_with('?') {
            format!("{}://{authority}{SYNC_PATH}{path}", scheme.to_ascii_lowercase())
        } else {
            format!("{}://{authority}{path}", scheme.to_ascii_lowercase())
        };
        let uri: Uri = full.parse().map_err(|e| invalid(&format!("{e}")))?;
        match uri.host() {
            None | Some("") => return Err(invalid("no host")),
            Some(_) => {}
        }
        // `Uri` accepts a port it cannot represent as u16 only as text: check it here so the
        // error says what is wrong instead of failing at connect time.
        if let Some(port) = authority.rsplit_once(':').map(|(_, p)| p).filter(|p| !p.contains(']'))
        {
            match port.parse::<u16>() {
                Ok(0) => return Err(invalid("port 0 is not a server port")),
                Ok(_) => {}
                Err(_) => return Err(invalid(&format!("'{port}' is not a port number"))),
            }
        }
        Ok(Endpoint { url: full, tls })
    }

    /// The URL connected to, path included.
    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// Whether the connection uses TLS (`wss://`).
    pub fn is_tls(&self) -> bool {
        self.tls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> String {
        match Endpoint::parse(text) {
            Ok(endpoint) => endpoint.as_str().to_owned(),
            Err(error) => format!("error: {error}"),
        }
    }

    #[test]
    fn a_url_without_a_path_gets_the_sync_path() {
        assert_eq!(url("ws://127.0.0.1:8080"), "ws://127.0.0.1:8080/v1/sync");
        assert_eq!(url("ws://127.0.0.1:8080/"), "ws://127.0.0.1:8080/v1/sync");
        assert_eq!(url("WSS://sync.example.com"), "wss://sync.example.com/v1/sync");
        assert_eq!(url("ws://[::1]:9000"), "ws://[::1]:9000/v1/sync");
        assert_eq!(url(" ws://localhost:1 "), "ws://localhost:1/v1/sync");
    }

    #[test]
    fn a_path_given_is_kept() {
        assert_eq!(url("wss://example.com/almanac/v1/sync"), "wss://example.com/almanac/v1/sync");
        assert_eq!(url("ws://h:1/v1/sync"), "ws://h:1/v1/sync");
    }

    #[test]
    fn tls_follows_the_scheme() {
        assert!(Endpoint::parse("wss://h").is_ok_and(|e| e.is_tls()));
        assert!(Endpoint::parse("ws://h").is_ok_and(|e| !e.is_tls()));
    }

    #[test]
    fn wrong_urls_are_refused_with_a_reason() {
        for (text, reason) in [
            ("http://127.0.0.1:8080", "use ws://"),
            ("https://example.com", "use ws://"),
            ("ftp://example.com", "must be ws:// or wss://"),
            ("garbage", "expected ws://host:port"),
            ("", "expected ws://host:port"),
            ("ws://", "no host"),
            ("ws:///v1/sync", "no host"),
            ("ws://host:99999", "not a port number"),
            ("ws://host:abc", "not a port number"),
            ("ws://host:0", "port 0"),
            ("ws://user:secret@host:1", "credentials"),
            ("ws://host:1/a b", "spaces"),
            ("ws://host:1/#x", "fragment"),
        ] {
            let result = url(text);
            assert!(result.starts_with("error: invalid server URL"), "{text}: {result}");
            assert!(result.contains(reason), "{text}: {result}");
        }
    }
}
