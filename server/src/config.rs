//! The server's settings: where it listens, TLS, and the limits that keep one device from
//! starving the others (the defaults and why: decision 0017).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};

/// Limits applied to every connection.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The largest frame (one binary WebSocket message) a device may send, in bytes. A larger
    /// one ends the connection (close code 1009). Default 8 MiB, the protocol's default.
    pub max_frame_bytes: usize,
    /// Open connections per user; one more gets HTTP 429. Default 16.
    pub max_connections_per_user: usize,
    /// Messages a connection may send per second, sustained (bursts of one second's worth are
    /// allowed); more ends the connection. Default 200.
    pub max_frames_per_second: u32,
    /// A connection with no frame, pong or round progress for this long is closed. Default 5
    /// minutes.
    pub idle_timeout: Duration,
    /// How often the server pings each connection. Default 30 seconds.
    pub ping_interval: Duration,
    /// The most spaces one `Open` may name; more ends the connection. Default 1,000.
    pub max_spaces_per_open: usize,
    /// A device whose last round in a space is older than this is retired from it: left out
    /// of the space's stable point, so the others can purge what it has not seen (decision
    /// 0025; when it comes back it fetches the space again, keeping its own writes). Default
    /// 90 days.
    pub retire_after: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_frame_bytes: 8 << 20,
            max_connections_per_user: 16,
            max_frames_per_second: 200,
            idle_timeout: Duration::from_secs(5 * 60),
            ping_interval: Duration::from_secs(30),
            max_spaces_per_open: 1_000,
            retire_after: Duration::from_secs(90 * 24 * 60 * 60),
        }
    }
}

impl Limits {
    /// Refuses limits that would stop the server working: zero sizes, counts or durations,
    /// and durations over a year (which no timer needs and which overflow clock arithmetic).
    pub fn check(&self) -> Result<()> {
        const YEAR: Duration = Duration::from_secs(365 * 86_400);
        let counts = [
            ("--max-frame-bytes", self.max_frame_bytes),
            ("--max-connections-per-user", self.max_connections_per_user),
            ("--max-spaces-per-open", self.max_spaces_per_open),
            ("--max-frames-per-second", usize::try_from(self.max_frames_per_second).unwrap_or(1)),
        ];
        for (name, value) in counts {
            if value == 0 {
                return Err(Error::InvalidLimit(format!("{name} must be at least 1")));
            }
        }
        for (name, value) in
            [("--idle-timeout", self.idle_timeout), ("--ping-interval", self.ping_interval)]
        {
            if value.is_zero() || value > YEAR {
                return Err(Error::InvalidLimit(format!(
                    "{name} must be more than nothing and at most a year"
                )));
            }
        }
        if self.retire_after.is_zero() || self.retire_after > 10 * YEAR {
            return Err(Error::InvalidLimit(
                "--retire-after must be more than nothing and at most ten years".into(),
            ));
        }
        Ok(())
    }
}

/// A certificate chain and its private key, both PEM files.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The certificate chain.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
}

/// How the server runs.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// TLS; `None` serves plain HTTP (behind a reverse proxy that terminates TLS).
    pub tls: Option<TlsFiles>,
    /// Per-connection limits.
    pub limits: Limits,
    /// How long a shutdown waits for running rounds before closing the store anyway.
    pub shutdown_grace: Duration,
}

impl ServerConfig {
    /// Default settings listening on `listen`.
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            tls: None,
            limits: Limits::default(),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Reads a duration such as `30s`, `15m`, `12h`, `90d`, `2w` (or `500ms`): a whole number and
/// a unit, nothing else.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let invalid = || Error::InvalidDuration(text.to_owned());
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(invalid)?;
    let (number, unit) = text.split_at(split);
    if number.is_empty() || number.len() > 12 {
        return Err(invalid());
    }
    let number: u64 = number.parse().map_err(|_| invalid())?;
    let seconds_per_unit = match unit {
        "ms" => return Ok(Duration::from_millis(number)),
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(invalid()),
    };
    Ok(Duration::from_secs(number.checked_mul(seconds_per_unit).ok_or_else(invalid)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_with_their_unit_and_nothing_else() {
        assert_eq!(parse_duration("30s").expect("30s"), Duration::from_secs(30));
        assert_eq!(parse_duration("12h").expect("12h"), Duration::from_secs(12 * 3600));
        assert_eq!(parse_duration("90d").expect("90d"), Duration::from_secs(90 * 86_400));
        assert_eq!(parse_duration("250ms").expect("ms"), Duration::from_millis(250));
        for bad in ["", "30", "s", "-1s", "1.5h", "30 s", "30S", "12y", "99999999999999d", "1h30m"]
        {
            assert!(parse_duration(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn limits_that_would_stop_the_server_are_refused() {
        assert!(Limits::default().check().is_ok());
        for broken in [
            Limits { ping_interval: Duration::ZERO, ..Limits::default() },
            Limits { idle_timeout: Duration::from_secs(400 * 86_400), ..Limits::default() },
            Limits { max_frame_bytes: 0, ..Limits::default() },
            Limits { max_frames_per_second: 0, ..Limits::default() },
        ] {
            assert!(matches!(broken.check(), Err(Error::InvalidLimit(_))), "{broken:?}");
        }
    }
}
