//! What each generator run prints as its last line: one JSON object, typed
//! here for both the generator (which writes it) and `cargo xtask` (which
//! reads it into the report). A renamed field is a compile error on both
//! sides, never a silently empty table cell.
//!
//! This module needs only serde: `xtask` depends on the crate without its
//! `run` feature (no tokio, no socket code).

use serde::{Deserialize, Deserializer, Serialize};

/// Reads a figure that may not have been measured: the generator writes NaN,
/// which JSON can only say as `null`, so `null` reads back as NaN.
fn nan_if_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(deserializer)?.unwrap_or(f64::NAN))
}

/// What an S1 (closed loop) or S2 (open loop) run measured.
/// `percentiles` are `[quantile, ms]` pairs for the latency chart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadSummary {
    pub clients: usize,
    pub failed_clients: usize,
    pub first_error: Option<String>,
    pub acks: u64,
    pub acks_per_sec: f64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// Fewest and median acks per client: fairness (no starvation).
    pub min_client_acks: u64,
    pub median_client_acks: u64,
    pub connect_secs: f64,
    /// This process's CPU time over the run, in seconds (user + system).
    pub generator_cpu_secs: f64,
    /// The server's CPU time during the measured loop (with `--server-pid`).
    pub server_cpu_secs: Option<f64>,
    /// The server's peak resident set so far, KiB (with `--server-pid`).
    pub server_peak_rss_kib: Option<u64>,
    /// `[quantile, ms]` pairs (the generator's chart quantiles).
    pub percentiles: Vec<[f64; 2]>,
}

/// What a hold run measured, printed as one JSON line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HoldSummary {
    pub clients: usize,
    /// Connected and identified by the end of the ramp.
    pub connected: usize,
    pub connect_failed: usize,
    pub first_error: Option<String>,
    pub ramp_secs: f64,
    pub hold_secs: f64,
    /// Still connected when the hold ended.
    pub kept: usize,
    /// Lost during the hold (closed, heartbeat lost, error).
    pub dropped: usize,
    pub first_drop: Option<String>,
    /// Engine.IO pings each kept client received over its life: fewest and median.
    pub pings_min: u64,
    pub pings_median: u64,
    /// The smallest online count any kept client's presence showed at the end.
    pub presence_total_min: usize,
    /// The server's resident set halfway through the hold, KiB.
    pub server_rss_kib_held: Option<u64>,
    pub server_peak_rss_kib: Option<u64>,
    pub generator_cpu_secs: f64,
    pub generator_peak_rss_kib: Option<u64>,
}

/// What a fan-out run measured, printed as one JSON line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FanoutSummary {
    pub clients: usize,
    pub connected: usize,
    pub connect_failed: usize,
    pub first_error: Option<String>,
    pub ramp_secs: f64,
    /// From the end of the ramp until every client's presence counted everyone.
    pub settle_secs: f64,
    /// Clients that saw the newcomer, and those that did not within the limit.
    pub saw: usize,
    pub missed: usize,
    pub first_miss: Option<String>,
    #[serde(deserialize_with = "nan_if_null")]
    pub p50_ms: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub p100_ms: f64,
    pub generator_cpu_secs: f64,
    pub server_peak_rss_kib: Option<u64>,
}

/// What a fault run measured, printed as one JSON line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FaultSummary {
    pub clients: usize,
    /// Identified before the fault.
    pub ready: usize,
    /// Lost their connection, and of those, identified again in time.
    pub lost: usize,
    pub back: usize,
    pub first_loss_unix_ms: Option<u64>,
    pub last_back_unix_ms: Option<u64>,
    /// Per client, from the first loss anywhere to its identify ack.
    #[serde(deserialize_with = "nan_if_null")]
    pub back_p50_ms: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub back_p100_ms: f64,
    /// How spread the reconnects were: the largest number of clients that
    /// reconnected within any 100 ms (a herd would be all of them).
    pub most_back_in_100ms: usize,
    /// What the (new) server says once everyone is back: sessions with a
    /// name, which must equal `back` (nobody lost, nobody twice).
    pub server_identified: Option<u64>,
    pub first_error: Option<String>,
    /// Where the first few clients that did not come back were stuck.
    pub stuck: Vec<String>,
    pub generator_cpu_secs: f64,
}

/// What a churn run did, printed as one JSON line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChurnSummary {
    pub clients: usize,
    pub cycles: usize,
    pub failed: usize,
    pub first_error: Option<String>,
    pub secs: f64,
    pub generator_cpu_secs: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmeasured_figures_survive_the_trip_through_json() {
        let summary = FaultSummary {
            back_p50_ms: f64::NAN,
            back_p100_ms: f64::NAN,
            ..FaultSummary::default()
        };
        let line = serde_json::to_string(&summary).expect("serialises");
        assert!(line.contains(r#""back_p50_ms":null"#), "{line}");
        let read: FaultSummary = serde_json::from_str(&line).expect("reads back");
        assert!(read.back_p50_ms.is_nan() && read.back_p100_ms.is_nan());
        let fanout = FanoutSummary {
            p50_ms: f64::NAN,
            ..FanoutSummary::default()
        };
        let line = serde_json::to_string(&fanout).expect("serialises");
        let read: FanoutSummary = serde_json::from_str(&line).expect("reads back");
        assert!(read.p50_ms.is_nan());
    }
}
