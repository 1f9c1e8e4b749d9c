//! What a run measured: an HDR latency histogram, per-client counts (to see
//! starvation), and the generator's own CPU, so readers can judge whether the
//! generator was the bottleneck.

use std::time::Duration;

use crate::summary::LoadSummary;
use hdrhistogram::Histogram;

/// One client's share of a run.
#[derive(Debug)]
pub struct ClientResult {
    pub acks: u64,
    pub latency_us: Histogram<u64>,
    pub error: Option<String>,
}

impl ClientResult {
    pub fn new() -> Self {
        ClientResult {
            acks: 0,
            // 1 µs .. 60 s, 3 significant digits.
            latency_us: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid bounds"),
            error: None,
        }
    }

    pub fn failed(error: String) -> Self {
        ClientResult {
            error: Some(error),
            ..Self::new()
        }
    }

    pub fn record(&mut self, latency: Duration) {
        self.acks += 1;
        let us = (latency.as_micros() as u64).clamp(1, 60_000_000);
        let _ = self.latency_us.record(us);
    }
}

impl Default for ClientResult {
    fn default() -> Self {
        Self::new()
    }
}

/// Where the latency chart samples each run's distribution.
pub const CHART_QUANTILES: [f64; 8] = [0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 0.99999, 1.0];

impl LoadSummary {
    pub fn new(results: &[ClientResult], duration: Duration, connect: Duration) -> LoadSummary {
        let mut merged = ClientResult::new().latency_us;
        let mut per_client: Vec<u64> = Vec::with_capacity(results.len());
        for r in results.iter().filter(|r| r.error.is_none()) {
            let _ = merged.add(&r.latency_us);
            per_client.push(r.acks);
        }
        per_client.sort_unstable();
        let acks: u64 = per_client.iter().sum();
        let ms = |us: u64| us as f64 / 1000.0;
        LoadSummary {
            clients: results.len(),
            failed_clients: results.iter().filter(|r| r.error.is_some()).count(),
            first_error: results.iter().find_map(|r| r.error.clone()),
            acks,
            acks_per_sec: acks as f64 / duration.as_secs_f64(),
            mean_ms: merged.mean() / 1000.0,
            p50_ms: ms(merged.value_at_quantile(0.50)),
            p99_ms: ms(merged.value_at_quantile(0.99)),
            p999_ms: ms(merged.value_at_quantile(0.999)),
            max_ms: ms(merged.max()),
            min_client_acks: per_client.first().copied().unwrap_or(0),
            median_client_acks: per_client.get(per_client.len() / 2).copied().unwrap_or(0),
            connect_secs: connect.as_secs_f64(),
            generator_cpu_secs: own_cpu_secs(),
            server_cpu_secs: None,
            server_peak_rss_kib: None,
            percentiles: CHART_QUANTILES
                .iter()
                .map(|&q| [q, ms(merged.value_at_quantile(q))])
                .collect(),
        }
    }
}

/// utime + stime of this process from /proc/self/stat (0 where unavailable).
pub fn own_cpu_secs() -> f64 {
    proc_cpu_secs("self")
}

/// utime + stime of a process, in seconds, from /proc/<pid>/stat.
pub fn proc_cpu_secs(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may contain spaces) start at ") ".
    let Some((_, rest)) = stat.rsplit_once(") ") else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 (1-based), i.e. 11 and 12 after ") ".
    (ticks(11) + ticks(12)) / 100.0
}

/// VmHWM (peak resident set) of a process in KiB, from /proc/<pid>/status.
pub fn peak_rss_kib(pid: &str) -> Option<u64> {
    status_kib(pid, "VmHWM:")
}

/// VmRSS (current resident set) of a process in KiB, from /proc/<pid>/status.
pub fn rss_kib(pid: &str) -> Option<u64> {
    status_kib(pid, "VmRSS:")
}

fn status_kib(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        line.strip_prefix(field)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_and_percentiles() {
        let mut a = ClientResult::new();
        let mut b = ClientResult::new();
        for _ in 0..90 {
            a.record(Duration::from_millis(1));
        }
        for _ in 0..10 {
            b.record(Duration::from_millis(10));
        }
        let s = LoadSummary::new(
            &[a, b, ClientResult::failed("x".into())],
            Duration::from_secs(1),
            Duration::ZERO,
        );
        assert_eq!(s.acks, 100);
        assert_eq!(s.failed_clients, 1);
        assert_eq!(s.min_client_acks, 10);
        assert!((s.p50_ms - 1.0).abs() < 0.01, "{}", s.p50_ms);
        assert!((s.p99_ms - 10.0).abs() < 0.05, "{}", s.p99_ms);
        assert!(s.generator_cpu_secs >= 0.0);
    }

    #[test]
    fn reads_own_cpu() {
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        assert!(x > 0);
        assert!(own_cpu_secs() > 0.0);
        assert!(peak_rss_kib("self").is_some_and(|kib| kib > 0));
        assert!(rss_kib("self").is_some_and(|kib| kib > 0));
    }
}
