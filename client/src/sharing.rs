//! Sharing from a device (decision 0023): the owner of a calendar (a space) lists, shares and
//! stops sharing it with the server's sharing API (`GET`/`POST /v1/spaces/{space}/shares`,
//! `DELETE /v1/spaces/{space}/shares/{user}`, `docs/protocol.md`), with the same URL, token and
//! TLS verifier as the sync connection.
//!
//! Plain HTTP/1.1, one request per connection (`Connection: close`): these are rare user
//! actions, so a connection pool or an HTTP client crate would be weight for nothing.

use std::time::Duration;

use almanac_core::SpaceId;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::connection::tls_config;
use crate::endpoint::{Endpoint, SYNC_PATH};
use crate::error::{Error, Result};

/// The largest answer read: a share list of a few thousand users.
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Someone a space is shared with.
#[derive(Clone, PartialEq, Eq, Debug, Deserialize)]
pub struct Share {
    /// The user's name on the server.
    pub user: String,
    /// Whether the user only reads the space.
    pub read_only: bool,
}

/// What [`crate::Client::share`] changed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ShareChange {
    /// The user had no access before.
    Added,
    /// The user's access changed (read-only to read-write or back).
    Changed,
    /// The user already had exactly this access.
    Unchanged,
}

#[derive(Serialize)]
struct ShareRequest<'a> {
    user: &'a str,
    read_only: bool,
}

#[derive(Deserialize)]
struct SharesBody {
    shares: Vec<Share>,
}

#[derive(Deserialize)]
struct ShareBody {
    change: String,
}

#[derive(Deserialize)]
struct RevokeBody {
    removed: bool,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

/// Where the sharing API of the server behind `endpoint` is.
struct Api {
    tls: bool,
    host: String,
    port: u16,
    /// The prefix before `/v1/...` (empty, or a proxy's path such as `/almanac`).
    prefix: String,
}

impl Api {
    fn of(endpoint: &Endpoint) -> Result<Api> {
        let url = endpoint.as_str();
        let invalid =
            |reason: &str| Error::InvalidUrl { url: url.to_owned(), reason: reason.into() };
        let uri: tokio_tungstenite::tungstenite::http::Uri =
            url.parse().map_err(|e| invalid(&format!("{e}")))?;
        let host = uri.host().ok_or_else(|| invalid("no host"))?;
        // `Uri` keeps an IPv6 host's brackets, which the TCP connect does not want.
        let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
        let tls = endpoint.is_tls();
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let prefix = uri.path().strip_suffix(SYNC_PATH).ok_or_else(|| {
            invalid("sharing needs the server's sync URL to end with /v1/sync (or have no path)")
        })?;
        Ok(Api { tls, host, port, prefix: prefix.to_owned() })
    }

    fn path(&self, space: &SpaceId, user: Option<&str>) -> String {
        let mut path = format!("{}/v1/spaces/{}/shares", self.prefix, encode(space.as_str()));
        if let Some(user) = user {
            path.push('/');
            path.push_str(&encode(user));
        }
        path
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters and `@`.
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// One request; the answer's status and body, or the error the status means.
async fn call(
    endpoint: &Endpoint,
    token: &str,
    timeout: Duration,
    method: &str,
    path: impl FnOnce(&Api) -> String,
    body: Option<Vec<u8>>,
) -> Result<Vec<u8>> {
    let api = Api::of(endpoint)?;
    if token.chars().any(|c| c.is_control()) {
        // A line break in the token would smuggle headers: refused as the sync connection does.
        return Err(Error::Unauthorized);
    }
    let path = path(&api);
    let body = body.unwrap_or_default();
    let authority = if api.host.contains(':') {
        format!("[{}]:{}", api.host, api.port)
    } else {
        format!("{}:{}", api.host, api.port)
    };
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {token}\r\n\
         Connection: close\r\nAccept: application/json\r\nContent-Length: {}\r\n",
        body.len()
    )
    .into_bytes();
    if !body.is_empty() {
        request.extend_from_slice(b"Content-Type: application/json\r\n");
    }
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(&body);

    let url = endpoint.as_str();
    let exchange = async {
        let tcp = TcpStream::connect((api.host.as_str(), api.port))
            .await
            .map_err(|e| unreachable(url, &e))?;
        // Small request, one answer: no need to wait for more bytes before sending.
        tcp.set_nodelay(true).map_err(|e| unreachable(url, &e))?;
        if api.tls {
            let name = ServerName::try_from(api.host.clone())
                .map_err(|e| Error::InvalidUrl { url: url.to_owned(), reason: e.to_string() })?;
            let tls =
                TlsConnector::from(tls_config()?).connect(name, tcp).await.map_err(|e| match e
                    .get_ref()
                    .and_then(|e| e.downcast_ref::<rustls::Error>())
                {
                    Some(tls) => Error::Tls(tls.to_string()),
                    None => unreachable(url, &e),
                })?;
            exchange(tls, &request).await
        } else {
            exchange(tcp, &request).await
        }
    };
    let response =
        tokio::time::timeout(timeout, exchange).await.map_err(|_| Error::Unreachable {
            url: url.to_owned(),
            detail: format!("no answer within {} s", timeout.as_secs_f32()),
        })??;
    let (status, body) = parse(&response)?;
    let message = || {
        serde_json::from_slice::<ErrorBody>(&body)
            .map(|e| e.error)
            .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned())
    };
    match status {
        200 => Ok(body),
        401 => Err(Error::Unauthorized),
        403 => Err(Error::NotOwner(message())),
        404 => Err(Error::NotFound(message())),
        400 | 413 => Err(Error::Rejected(message())),
        status => Err(Error::UnexpectedStatus { status }),
    }
}

fn unreachable(url: &str, error: &std::io::Error) -> Error {
    let detail = match error.kind() {
        std::io::ErrorKind::ConnectionRefused => {
            "connection refused (is the server running on that port?)".to_owned()
        }
        _ => error.to_string(),
    };
    Error::Unreachable { url: url.to_owned(), detail }
}

async fn exchange(
    mut stream: impl AsyncRead + AsyncWrite + Unpin,
    request: &[u8],
) -> Result<Vec<u8>> {
    let lost = |e: std::io::Error| Error::ConnectionLost(e.to_string());
    stream.write_all(request).await.map_err(lost)?;
    stream.flush().await.map_err(lost)?;
    let mut response = Vec::new();
    let mut limited = (&mut stream).take(MAX_RESPONSE_BYTES as u64 + 1);
    match limited.read_to_end(&mut response).await {
        Ok(_) => {}
        // Servers often close a TLS connection without close_notify after `Connection: close`;
        // the length check in `parse` tells a whole answer from a cut one.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !response.is_empty() => {}
        Err(e) => return Err(lost(e)),
    }
    if response.len() > MAX_RESPONSE_BYTES {
        return Err(Error::Protocol("the server's answer is too large".into()));
    }
    Ok(response)
}

/// The status code and the body of an HTTP/1.1 answer (`Content-Length` or chunked).
fn parse(response: &[u8]) -> Result<(u16, Vec<u8>)> {
    let bad = |what: &str| Error::Protocol(format!("the server's HTTP answer {what}"));
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("has no end of headers"))?;
    let head = std::str::from_utf8(&response[..end]).map_err(|_| bad("is not text"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.strip_prefix("HTTP/1.1 ").or_else(|| line.strip_prefix("HTTP/1.0 ")))
        .and_then(|rest| rest.get(..3)?.parse::<u16>().ok())
        .ok_or_else(|| bad("has no status line"))?;
    let (mut length, mut chunked) = (None, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().map_err(|_| bad("has a bad Content-Length"))?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        }
    }
    let rest = &response[end + 4..];
    let body = if chunked {
        dechunk(rest).ok_or_else(|| bad("has a broken chunked body"))?
    } else if let Some(length) = length {
        rest.get(..length).ok_or_else(|| bad("was cut short"))?.to_vec()
    } else {
        rest.to_vec()
    };
    Ok((status, body))
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

fn decode<T: for<'a> Deserialize<'a>>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body)
        .map_err(|e| Error::Protocol(format!("the server's sharing answer does not decode: {e}")))
}

pub(crate) async fn shares(
    endpoint: &Endpoint,
    token: &str,
    timeout: Duration,
    space: &SpaceId,
) -> Result<Vec<Share>> {
    let body = call(endpoint, token, timeout, "GET", |api| api.path(space, None), None).await?;
    Ok(decode::<SharesBody>(&body)?.shares)
}

pub(crate) async fn share(
    endpoint: &Endpoint,
    token: &str,
    timeout: Duration,
    space: &SpaceId,
    user: &str,
    read_only: bool,
) -> Result<ShareChange> {
    let request = serde_json::to_vec(&ShareRequest { user, read_only })
        .map_err(|e| Error::Protocol(e.to_string()))?;
    let body =
        call(endpoint, token, timeout, "POST", |api| api.path(space, None), Some(request)).await?;
    match decode::<ShareBody>(&body)?.change.as_str() {
        "added" => Ok(ShareChange::Added),
        "changed" => Ok(ShareChange::Changed),
        "unchanged" => Ok(ShareChange::Unchanged),
        other => Err(Error::Protocol(format!("unknown share change {other:?} from the server"))),
    }
}

pub(crate) async fn unshare(
    endpoint: &Endpoint,
    token: &str,
    timeout: Duration,
    space: &SpaceId,
    user: &str,
) -> Result<bool> {
    let body =
        call(endpoint, token, timeout, "DELETE", |api| api.path(space, Some(user)), None).await?;
    Ok(decode::<RevokeBody>(&body)?.removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(url: &str) -> Api {
        Api::of(&Endpoint::parse(url).expect("url")).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_sharing_api_sits_beside_the_sync_path() {
        let team = SpaceId::new("team").expect("space");
        let plain = api("ws://127.0.0.1:7700");
        assert_eq!((plain.tls, plain.port), (false, 7700));
        assert_eq!(plain.path(&team, None), "/v1/spaces/team/shares");
        let proxied = api("wss://example.com/almanac/v1/sync");
        assert_eq!((proxied.tls, proxied.port, proxied.host.as_str()), (true, 443, "example.com"));
        assert_eq!(
            proxied.path(&team, Some("bob@home")),
            "/almanac/v1/spaces/team/shares/bob@home"
        );
        let odd = SpaceId::new("a/b?c%").expect("space");
        assert_eq!(plain.path(&odd, None), "/v1/spaces/a%2Fb%3Fc%25/shares");
        assert!(Api::of(&Endpoint::parse("ws://h/elsewhere").expect("url")).is_err());
        assert_eq!(api("ws://[::1]:9").host, "::1");
    }

    #[test]
    fn answers_parse_with_a_length_or_in_chunks() {
        let sized = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(parse(sized).expect("parse"), (200, b"{}".to_vec()));
        let chunked = b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse(chunked).expect("parse"), (403, b"abcde".to_vec()));
        assert!(parse(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\n{}").is_err());
        assert!(parse(b"garbage").is_err());
    }
}
