//! Counters for `/metrics`, in Prometheus' text exposition format. Plain atomics: updating one
//! never waits, and the few series the server has need no metrics framework.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Why a connection, upgrade or round failed (the `kind` label of `almanac_errors_total`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Failure {
    /// A missing, malformed, forged or expired token, or an unknown user (HTTP 401).
    Unauthorized,
    /// Too many connections of one user (HTTP 429).
    TooManyConnections,
    /// A frame that does not decode, or a text message.
    Malformed,
    /// A frame over the size limit.
    Oversized,
    /// A frame the protocol does not allow at that point.
    Unexpected,
    /// A session frame naming a space not opened in the round.
    SpaceNotOpened,
    /// A version vector no real replica can have.
    ImplausibleVector,
    /// An `Open` naming more spaces than allowed.
    TooManySpaces,
    /// More messages per second than allowed.
    RateLimited,
    /// A delta refused by the engine.
    Refused,
    /// The server's storage failed.
    Storage,
    /// No protocol version in common.
    NoCommonVersion,
    /// The device ended its session with an `Error` frame.
    DeviceError,
    /// No frame, pong or round progress for the idle limit.
    IdleTimeout,
}

impl Failure {
    const ALL: [Failure; 14] = [
        Failure::Unauthorized,
        Failure::TooManyConnections,
        Failure::Malformed,
        Failure::Oversized,
        Failure::Unexpected,
        Failure::SpaceNotOpened,
        Failure::ImplausibleVector,
        Failure::TooManySpaces,
        Failure::RateLimited,
        Failure::Refused,
        Failure::Storage,
        Failure::NoCommonVersion,
        Failure::DeviceError,
        Failure::IdleTimeout,
    ];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Failure::Unauthorized => "unauthorized",
            Failure::TooManyConnections => "too_many_connections",
            Failure::Malformed => "malformed",
            Failure::Oversized => "oversized",
            Failure::Unexpected => "unexpected",
            Failure::SpaceNotOpened => "space_not_opened",
            Failure::ImplausibleVector => "implausible_vector",
            Failure::TooManySpaces => "too_many_spaces",
            Failure::RateLimited => "rate_limited",
            Failure::Refused => "refused",
            Failure::Storage => "storage",
            Failure::NoCommonVersion => "no_common_version",
            Failure::DeviceError => "device_error",
            Failure::IdleTimeout => "idle_timeout",
        }
    }

    fn index(self) -> usize {
        Failure::ALL.iter().position(|f| *f == self).unwrap_or(0)
    }
}

/// Upper bounds of the round-latency histogram buckets, in seconds.
const LATENCY_BUCKETS: [f64; 12] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

/// Every series the server exports.
#[derive(Default)]
pub struct Metrics {
    connections_open: AtomicU64,
    connections_total: AtomicU64,
    rounds_total: AtomicU64,
    frames_in: AtomicU64,
    frames_out: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    records_applied: AtomicU64,
    records_sent: AtomicU64,
    pushes_sent: AtomicU64,
    latency_buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    latency_count: AtomicU64,
    latency_micros: AtomicU64,
    failures: [AtomicU64; Failure::ALL.len()],
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

fn get(counter: &AtomicU64) -> u64 {
    counter.load(Ordering::Relaxed)
}

impl Metrics {
    /// A WebSocket connection opened.
    pub fn connection_opened(&self) {
        add(&self.connections_open, 1);
        add(&self.connections_total, 1);
    }

    /// A WebSocket connection closed.
    pub fn connection_closed(&self) {
        // Saturating: never wraps even if called once too often.
        let _ = self
            .connections_open
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| Some(n.saturating_sub(1)));
    }

    /// A frame of `bytes` arrived.
    pub fn frame_in(&self, bytes: usize) {
        add(&self.frames_in, 1);
        add(&self.bytes_in, u64::try_from(bytes).unwrap_or(u64::MAX));
    }

    /// A frame of `bytes` was sent.
    pub fn frame_out(&self, bytes: usize) {
        add(&self.frames_out, 1);
        add(&self.bytes_out, u64::try_from(bytes).unwrap_or(u64::MAX));
    }

    /// A round finished (successfully) after `took`, having applied and sent these records.
    pub fn round_finished(&self, took: Duration, records_applied: usize, records_sent: usize) {
        add(&self.rounds_total, 1);
        add(&self.records_applied, u64::try_from(records_applied).unwrap_or(u64::MAX));
        add(&self.records_sent, u64::try_from(records_sent).unwrap_or(u64::MAX));
        let seconds = took.as_secs_f64();
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            if seconds <= *bound {
                add(bucket, 1);
            }
        }
        add(&self.latency_count, 1);
        add(&self.latency_micros, u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
    }

    /// A `Changed` frame was sent.
    pub fn push_sent(&self) {
        add(&self.pushes_sent, 1);
    }

    /// Something failed.
    pub fn failed(&self, failure: Failure) {
        if let Some(counter) = self.failures.get(failure.index()) {
            add(counter, 1);
        }
    }

    /// How many failures of this kind so far.
    pub fn failures(&self, failure: Failure) -> u64 {
        self.failures.get(failure.index()).map_or(0, get)
    }

    /// Everything, in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut series = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
        };
        series(
            "almanac_connections_open",
            "gauge",
            "WebSocket connections open now.",
            get(&self.connections_open),
        );
        series(
            "almanac_connections_total",
            "counter",
            "WebSocket connections accepted.",
            get(&self.connections_total),
        );
        series("almanac_rounds_total", "counter", "Sync rounds finished.", get(&self.rounds_total));
        series("almanac_frames_in_total", "counter", "Frames received.", get(&self.frames_in));
        series("almanac_frames_out_total", "counter", "Frames sent.", get(&self.frames_out));
        series(
            "almanac_bytes_in_total",
            "counter",
            "Bytes of frames received.",
            get(&self.bytes_in),
        );
        series("almanac_bytes_out_total", "counter", "Bytes of frames sent.", get(&self.bytes_out));
        series(
            "almanac_records_applied_total",
            "counter",
            "Records whose state changed on the server by a sync.",
            get(&self.records_applied),
        );
        series(
            "almanac_records_sent_total",
            "counter",
            "Records sent to devices.",
            get(&self.records_sent),
        );
        series(
            "almanac_live_pushes_total",
            "counter",
            "Changed frames sent (live push).",
            get(&self.pushes_sent),
        );
        let name = "almanac_round_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from Open to the end of a successful round.\n# TYPE {name} histogram"
        );
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.latency_buckets) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", get(bucket));
        }
        let count = get(&self.latency_count);
        let sum = get(&self.latency_micros) as f64 / 1e6;
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"+Inf\"}} {count}\n{name}_sum {sum}\n{name}_count {count}"
        );
        let name = "almanac_errors_total";
        let _ = writeln!(
            out,
            "# HELP {name} Failed upgrades, rounds and connections, by kind.\n# TYPE {name} counter"
        );
        for failure in Failure::ALL {
            let _ =
                writeln!(out, "{name}{{kind=\"{}\"}} {}", failure.label(), self.failures(failure));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_is_cumulative_and_every_error_kind_is_listed() {
        let metrics = Metrics::default();
        metrics.round_finished(Duration::from_millis(20), 3, 4);
        metrics.round_finished(Duration::from_secs(3), 0, 0);
        metrics.failed(Failure::RateLimited);
        let text = metrics.render();
        assert!(text.contains("almanac_round_duration_seconds_bucket{le=\"0.025\"} 1\n"));
        assert!(text.contains("almanac_round_duration_seconds_bucket{le=\"5\"} 2\n"));
        assert!(text.contains("almanac_round_duration_seconds_bucket{le=\"+Inf\"} 2\n"));
        assert!(text.contains("almanac_round_duration_seconds_count 2\n"));
        assert!(text.contains("almanac_records_applied_total 3\n"));
        assert!(text.contains("almanac_errors_total{kind=\"rate_limited\"} 1\n"));
        assert_eq!(text.matches("almanac_errors_total{kind=").count(), Failure::ALL.len());
    }
}
