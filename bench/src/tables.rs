//! The benchmark report (feature `report`, used by `cargo xtask bench`): one
//! Markdown table per scenario, the performance targets with a verdict each,
//! and the chart's data. Pure functions over the generators' summaries, read
//! typed next to where they are defined ([`crate::summary`]), so they are
//! unit-tested without a run and a renamed field does not compile.

use std::process::Output;

use crate::summary::{FanoutSummary, HoldSummary, LoadSummary};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};

use crate::chart::Series;

/// What one run measured, by the kind of scenario.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Measured {
    /// S1 and S2.
    Load(LoadSummary),
    /// S3, its generators' halves merged.
    Hold(Held),
    /// S4.
    Fanout(FanoutSummary),
    /// The generator printed no summary; why.
    Nothing { error: String },
}

/// S3 over every generator, with the server's memory per held connection.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Held {
    pub total: HoldSummary,
    /// The server's resident set before the ramp, KiB.
    pub server_rss_kib_baseline: u64,
    pub server_kib_per_connection: Option<f64>,
}

/// One generator run (or two merged, for S3): what it measured and whether
/// it passed its own checks (no failed clients, something measured).
#[derive(Debug, Clone)]
pub struct Run {
    pub scenario: &'static str,
    pub label: String,
    pub clients: usize,
    pub measured: Measured,
    /// S1: every round's rate, the median round's summary in `measured`.
    pub round_rates: Vec<f64>,
    pub ok: bool,
}

impl Run {
    /// Reads the summary (the last line of stdout that parses as the
    /// scenario's summary type) from a generator's output; a generator that
    /// printed none is a failed run.
    pub fn from_output(
        scenario: &'static str,
        label: &str,
        clients: usize,
        output: &Output,
    ) -> Result<Run, String> {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let measured = match scenario {
            "S1" | "S2" => last_line(&stdout).map(Measured::Load),
            "S3" => last_line(&stdout).map(|total| {
                Measured::Hold(Held {
                    total,
                    ..Held::default()
                })
            }),
            "S4" => last_line(&stdout).map(Measured::Fanout),
            other => return Err(format!("no summary type for scenario {other}")),
        };
        let (measured, ok) = match measured {
            Some(measured) => (measured, output.status.success()),
            None => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let tail: String = stderr.lines().rev().take(5).collect::<Vec<_>>().join(" / ");
                let error = format!("no summary ({}): {tail}", output.status);
                (Measured::Nothing { error }, false)
            }
        };
        Ok(Run {
            scenario,
            label: label.to_owned(),
            clients,
            measured,
            round_rates: Vec::new(),
            ok,
        })
    }

    /// Several S1 rounds of one contender at one load as one run: the round
    /// with the median rate, every round's rate kept in `round_rates`. Failed
    /// if any round failed.
    pub fn median_round(mut rounds: Vec<Run>) -> Run {
        let rates: Vec<f64> = rounds.iter().map(Run::rate).collect();
        let ok = rounds.iter().all(|r| r.ok);
        rounds.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
        let middle = rounds.len() / 2;
        let Some(mut median) = rounds.into_iter().nth(middle) else {
            return Run {
                scenario: "S1",
                label: String::new(),
                clients: 0,
                measured: Measured::Nothing {
                    error: "no round ran".to_owned(),
                },
                round_rates: Vec::new(),
                ok: false,
            };
        };
        median.ok = ok;
        median.round_rates = rates;
        median
    }

    /// Two S3 generators' halves as one run, with the server's memory per
    /// held connection over `baseline_kib` (its resident set before the ramp).
    pub fn merge_holds(label: &str, halves: Vec<Run>, baseline_kib: u64) -> Run {
        let parts: Vec<&HoldSummary> = halves
            .iter()
            .filter_map(|h| match &h.measured {
                Measured::Hold(held) => Some(&held.total),
                _ => None,
            })
            .collect();
        let total = merge(&parts);
        let first_error = halves.iter().find_map(|h| match &h.measured {
            Measured::Nothing { error } => Some(error.clone()),
            _ => None,
        });
        let held = total.server_rss_kib_held.unwrap_or(0);
        let server_kib_per_connection = (total.kept > 0 && held > baseline_kib)
            .then(|| (held - baseline_kib) as f64 / total.kept as f64);
        Run {
            scenario: "S3",
            label: label.to_owned(),
            clients: halves.iter().map(|h| h.clients).sum(),
            ok: halves.iter().all(|h| h.ok) && parts.len() == halves.len(),
            measured: Measured::Hold(Held {
                total: HoldSummary {
                    first_error: total.first_error.or(first_error),
                    ..total
                },
                server_rss_kib_baseline: baseline_kib,
                server_kib_per_connection,
            }),
            round_rates: Vec::new(),
        }
    }

    /// The run as one JSON object (for `latest.json`).
    pub fn to_json(&self) -> Value {
        json!({
            "scenario": self.scenario,
            "server": self.label,
            "clients": self.clients,
            "ok": self.ok,
            "round_rates": self.round_rates,
            "summary": self.measured,
        })
    }

    fn load(&self) -> Option<&LoadSummary> {
        match &self.measured {
            Measured::Load(load) => Some(load),
            _ => None,
        }
    }

    fn held(&self) -> Option<&Held> {
        match &self.measured {
            Measured::Hold(held) => Some(held),
            _ => None,
        }
    }

    fn fanout(&self) -> Option<&FanoutSummary> {
        match &self.measured {
            Measured::Fanout(fanout) => Some(fanout),
            _ => None,
        }
    }

    /// The S1/S2 rate; NaN when not measured.
    fn rate(&self) -> f64 {
        self.load().map_or(f64::NAN, |s| s.acks_per_sec)
    }

    /// The run's first recorded error, whatever its scenario.
    fn first_error(&self) -> Option<&str> {
        match &self.measured {
            Measured::Load(s) => s.first_error.as_deref(),
            Measured::Hold(h) => h
                .total
                .first_error
                .as_deref()
                .or(h.total.first_drop.as_deref()),
            Measured::Fanout(s) => s.first_error.as_deref().or(s.first_miss.as_deref()),
            Measured::Nothing { error } => Some(error),
        }
    }
}

/// The last line of `stdout` that is a `T`.
fn last_line<T: DeserializeOwned>(stdout: &str) -> Option<T> {
    stdout
        .lines()
        .rev()
        .find_map(|line| serde_json::from_str(line).ok())
}

/// Hold summaries of several generators as one: counts add up, times and
/// the server's memory take the largest, per-client minimums the smallest.
fn merge(parts: &[&HoldSummary]) -> HoldSummary {
    let sum = |f: fn(&HoldSummary) -> usize| parts.iter().map(|p| f(p)).sum::<usize>();
    let max = |f: fn(&HoldSummary) -> f64| parts.iter().map(|p| f(p)).fold(0.0, f64::max);
    let max_kib = |f: fn(&HoldSummary) -> Option<u64>| parts.iter().filter_map(|p| f(p)).max();
    HoldSummary {
        clients: sum(|p| p.clients),
        connected: sum(|p| p.connected),
        connect_failed: sum(|p| p.connect_failed),
        first_error: parts.iter().find_map(|p| p.first_error.clone()),
        ramp_secs: max(|p| p.ramp_secs),
        hold_secs: max(|p| p.hold_secs),
        kept: sum(|p| p.kept),
        dropped: sum(|p| p.dropped),
        first_drop: parts.iter().find_map(|p| p.first_drop.clone()),
        pings_min: parts.iter().map(|p| p.pings_min).min().unwrap_or(0),
        pings_median: parts.iter().map(|p| p.pings_median).min().unwrap_or(0),
        presence_total_min: parts
            .iter()
            .map(|p| p.presence_total_min)
            .min()
            .unwrap_or(0),
        server_rss_kib_held: max_kib(|p| p.server_rss_kib_held),
        server_peak_rss_kib: max_kib(|p| p.server_peak_rss_kib),
        generator_cpu_secs: parts.iter().map(|p| p.generator_cpu_secs).sum(),
        generator_peak_rss_kib: max_kib(|p| p.generator_peak_rss_kib),
    }
}

// The contenders' labels, as the tables show them and the targets find them.
pub const OURS: &str = "our server";
pub const OURS_WARN: &str = "our server, --log warn";
pub const STOCK: &str = "stock socketioxide 0.18.9";
pub const STOCK_S3: &str = "stock socketioxide 0.18.9 (no presence)";
pub const NODE: &str = "node socket.io 4.8";
pub const NODE_S3: &str = "node socket.io 4.8 (no presence)";
pub const FLASK: &str = "Flask-SocketIO 5.7 (threading)";
pub const ECHO: &str = "raw websocket echo (ceiling)";

/// Our server's S1 rate at the largest load measured.
pub fn ours_peak(s1: &[Run]) -> Option<f64> {
    s1.iter()
        .filter(|r| r.label == OURS)
        .max_by_key(|r| r.clients)
        .map(Run::rate)
        .filter(|rate| rate.is_finite() && *rate > 0.0)
}

/// The whole report.
pub fn report(
    s1: &[Run],
    s2: &[Run],
    s3: &[Run],
    s4: &[Run],
    s5: Option<Result<String, String>>,
    pinning: &str,
) -> String {
    let mut out = String::new();
    out.push_str(&format!("Machine: {}; {pinning}.\n\n", machine()));
    out.push_str("### S1 throughput: closed loop of identify-with-ack\n\n");
    out.push_str(&s1_table(s1));
    out.push_str("\nOur server's rate divided by each contender's, same run:\n\n");
    out.push_str(&ratios_table(s1));
    out.push_str("\n### S2 latency under load: open loop at 50% of our S1 peak\n\n");
    out.push_str(&s2_table(s2));
    out.push_str(
        "\n### S3 connections: identified, receiving presence, held through heartbeats\n\n",
    );
    out.push_str(&s3_table(s3));
    out.push_str("\n### S4 presence fan-out: one identify, seen by every client\n\n");
    out.push_str(&s4_table(s4));
    if let Some(s5) = s5 {
        out.push_str("\n### S5 payload: first load\n\n");
        out.push_str(&s5.unwrap_or_else(|e| format!("not measured: {e}\n")));
    }
    out.push_str("\n### Targets\n\n");
    out.push_str(&targets(s1, s2, s3, s4));
    out
}

fn s1_table(runs: &[Run]) -> String {
    let mut out = String::from(
        "| server | clients | acks/s (median round) | every round | mean ms | p50 ms | p99 ms | p999 ms | min / median acks per client | connect s | server CPU µs per ack | server peak RSS MiB | generator CPU s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in runs {
        let Some(m) = r.load() else {
            out.push_str(&format!("| {} | {} | not measured |\n", r.label, r.clients));
            continue;
        };
        let rounds: Vec<String> = r
            .round_rates
            .iter()
            .map(|rate| format!("{:.0}k", rate / 1000.0))
            .collect();
        out.push_str(&format!(
            "| {} | {} | {:.0} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} / {} | {:.2} | {:.1} | {:.1} | {:.1} |\n",
            r.label,
            r.clients,
            m.acks_per_sec,
            rounds.join(", "),
            m.mean_ms,
            m.p50_ms,
            m.p99_ms,
            m.p999_ms,
            m.min_client_acks,
            m.median_client_acks,
            m.connect_secs,
            m.server_cpu_secs.unwrap_or(f64::NAN) * 1e6 / m.acks as f64,
            kib_to_mib(m.server_peak_rss_kib),
            m.generator_cpu_secs,
        ));
    }
    out.push_str(&failures(runs));
    out
}

/// KiB as MiB; NaN when not measured.
fn kib_to_mib(kib: Option<u64>) -> f64 {
    kib.map_or(f64::NAN, |kib| kib as f64 / 1024.0)
}

fn s2_table(runs: &[Run]) -> String {
    let mut out = String::from(
        "| server | clients | acks/s | p50 ms | p99 ms | p999 ms | max ms | server CPU s | generator CPU s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in runs {
        let Some(m) = r.load() else {
            out.push_str(&format!("| {} | {} | not measured |\n", r.label, r.clients));
            continue;
        };
        out.push_str(&format!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} |\n",
            r.label,
            r.clients,
            m.acks_per_sec,
            m.p50_ms,
            m.p99_ms,
            m.p999_ms,
            m.max_ms,
            m.server_cpu_secs.unwrap_or(f64::NAN),
            m.generator_cpu_secs,
        ));
    }
    out.push_str(&failures(runs));
    out
}

fn s3_table(runs: &[Run]) -> String {
    let mut out = String::from(
        "| server | clients | kept | dropped | ramp s | pings per client (min / median) | server RSS before / held MiB | server KiB per connection | generator CPU s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in runs {
        let Some(Held {
            total: m,
            server_rss_kib_baseline,
            server_kib_per_connection,
        }) = r.held()
        else {
            out.push_str(&format!("| {} | {} | not measured |\n", r.label, r.clients));
            continue;
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.1} | {} / {} | {:.1} / {:.1} | {:.1} | {:.1} |\n",
            r.label,
            r.clients,
            m.kept,
            m.dropped,
            m.ramp_secs,
            m.pings_min,
            m.pings_median,
            *server_rss_kib_baseline as f64 / 1024.0,
            kib_to_mib(m.server_rss_kib_held),
            server_kib_per_connection.unwrap_or(f64::NAN),
            m.generator_cpu_secs,
        ));
    }
    out.push_str(&failures(runs));
    out
}

fn s4_table(runs: &[Run]) -> String {
    let mut out = String::from(
        "| server | clients | saw it | missed | p50 ms | p100 ms | ramp s | generator CPU s |\n|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in runs {
        let Some(m) = r.fanout() else {
            out.push_str(&format!("| {} | {} | not measured |\n", r.label, r.clients));
            continue;
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            r.label,
            r.clients,
            m.saw,
            m.missed,
            m.p50_ms,
            m.p100_ms,
            m.ramp_secs,
            m.generator_cpu_secs,
        ));
    }
    out.push_str(&failures(runs));
    out
}

/// A line per failed run, with its first error.
fn failures(runs: &[Run]) -> String {
    runs.iter()
        .filter(|r| !r.ok)
        .map(|r| {
            let error = r.first_error().unwrap_or("no error recorded");
            format!("\n**{} {} failed**: {error}\n", r.scenario, r.label)
        })
        .collect()
}

/// The run with this exact label and load.
fn find(runs: &[Run], label: &str, clients: usize) -> Option<Run> {
    runs.iter()
        .find(|r| r.label == label && r.clients == clients)
        .cloned()
}

/// `a`'s S1 rate over `b`'s at one load; NaN if either was not measured.
fn ratio(s1: &[Run], a: &str, b: &str, clients: usize) -> f64 {
    let rate = |label| find(s1, label, clients).map_or(f64::NAN, |r| r.rate());
    rate(a) / rate(b)
}

/// `98502` → `98,502` (the report's figures and `cargo xtask size`'s).
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// Our server's S1 rate against every other contender, per load, from this
/// run: the ratios the README quotes.
fn ratios_table(s1: &[Run]) -> String {
    let loads = [1000, 100];
    let mut out = String::from("| ours ÷ | 1,000 clients | 100 clients |\n|---|---:|---:|\n");
    for other in [STOCK, NODE, FLASK, ECHO, OURS_WARN] {
        let cells: Vec<String> = loads
            .iter()
            .map(|&clients| {
                let r = ratio(s1, OURS, other, clients);
                if r.is_finite() {
                    format!("{r:.2}")
                } else {
                    "–".to_owned()
                }
            })
            .collect();
        out.push_str(&format!("| {other} | {} |\n", cells.join(" | ")));
    }
    out
}

/// The targets, each with the measured figure and a verdict.
fn targets(s1: &[Run], s2: &[Run], s3: &[Run], s4: &[Run]) -> String {
    let ours_1000 = find(s1, OURS, 1000);
    let mut lines = Vec::new();
    // A figure that was not measured in this run (NaN) gets no verdict.
    let mut check = |what: String, met: bool| {
        if what.contains("NaN") {
            lines.push(format!(
                "- · {} (not measured in this run)",
                what.replace("NaN", "–")
            ));
        } else {
            lines.push(format!("- {} {what}", if met { "✓" } else { "✗" }));
        }
    };
    let vs_node = ratio(s1, OURS, NODE, 1000);
    check(
        format!("S1 ≥ 2.5× node at 1,000 clients: {vs_node:.2}×"),
        vs_node >= 2.5,
    );
    for clients in [1000, 100] {
        let vs_stock = ratio(s1, OURS, STOCK, clients);
        check(
            format!(
                "S1 ≥ 0.95× stock socketioxide at {} clients (as shipped, default log level): \
                 {vs_stock:.2}×",
                thousands(clients as u64)
            ),
            vs_stock >= 0.95,
        );
    }
    for clients in [1000, 100] {
        let log_cost = 1.0 - ratio(s1, OURS, OURS_WARN, clients);
        check(
            format!(
                "S1 the default log level costs ≤ 5% against --log warn at {} clients: {:.1}%",
                thousands(clients as u64),
                log_cost * 100.0
            ),
            log_cost <= 0.05,
        );
    }
    let vs_flask = ratio(s1, OURS, FLASK, 100);
    check(
        format!("S1 ≥ 50× Flask-SocketIO at 100 clients: {vs_flask:.0}×"),
        vs_flask >= 50.0,
    );
    let vs_echo = ratio(s1, OURS, ECHO, 1000);
    check(
        format!(
            "S1 ≥ 80% of the echo ceiling at 1,000 clients: {:.0}%",
            vs_echo * 100.0
        ),
        vs_echo >= 0.8,
    );
    if let Some(r) = ours_1000.as_ref().and_then(Run::load) {
        let (min, median) = (r.min_client_acks as f64, r.median_client_acks as f64);
        check(
            format!(
                "S1 no starvation (fewest ≥ ½ median): {min:.0} / {median:.0} = {:.2}",
                min / median
            ),
            min / median >= 0.5,
        );
        let connect = r.connect_secs;
        check(
            format!("S1 connecting 1,000 clients ≤ 0.2 s: {connect:.2} s"),
            connect <= 0.2,
        );
    }
    if let Some(r) = s2.first().and_then(Run::load) {
        let (p99, p999) = (r.p99_ms, r.p999_ms);
        check(format!("S2 p99 ≤ 5 ms: {p99:.2} ms"), p99 <= 5.0);
        check(format!("S2 p999 ≤ 20 ms: {p999:.2} ms"), p999 <= 20.0);
    }
    if let Some((r, held)) = s3
        .iter()
        .find(|r| r.label == OURS)
        .and_then(|r| Some((r, r.held()?)))
    {
        let (kept, dropped) = (held.total.kept, held.total.dropped);
        check(
            format!(
                "S3 {} held with zero drops: {kept} kept, {dropped} dropped",
                r.clients
            ),
            kept == r.clients && dropped == 0,
        );
        let per = held.server_kib_per_connection.unwrap_or(f64::NAN);
        check(
            format!("S3 ≤ 12 KiB server RSS per connection: {per:.1} KiB"),
            per <= 12.0,
        );
    }
    if let Some((r, fanout)) = s4.first().and_then(|r| Some((r, r.fanout()?))) {
        let p100 = fanout.p100_ms;
        check(
            format!(
                "S4 every client has the delta within 200 ms: p100 {p100:.0} ms ({} of {})",
                fanout.saw, r.clients
            ),
            p100 <= 200.0 && r.ok,
        );
    }
    lines.join("\n") + "\n"
}

/// The chart's lines, by percentile: every contender's S1 at 100 clients
/// (below saturation for all but Flask) and the S2 open loop. The saturated
/// S1 at 1,000 clients measures queueing, not latency, and stays in the table.
pub fn chart_series(s1: &[Run], s2: &[Run]) -> Vec<Series> {
    s1.iter()
        .filter(|r| r.clients <= 100)
        .chain(s2)
        .filter(|r| r.ok)
        .map(|r| Series {
            label: format!("{} {}, {} clients", r.scenario, r.label, r.clients),
            points: r
                .load()
                .map(|m| {
                    m.percentiles
                        .iter()
                        .map(|[q, ms]| (*q, ms.max(0.001)))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .filter(|s| !s.points.is_empty())
        .collect()
}

/// CPU model and count, from /proc/cpuinfo.
fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    format!("{cpus} × {model}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(scenario: &'static str, label: &str, clients: usize, measured: Measured) -> Run {
        Run {
            scenario,
            label: label.into(),
            clients,
            measured,
            round_rates: Vec::new(),
            ok: true,
        }
    }

    fn load(acks_per_sec: f64) -> Measured {
        Measured::Load(LoadSummary {
            acks_per_sec,
            ..LoadSummary::default()
        })
    }

    #[test]
    fn formats_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(98_502), "98,502");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn s3_halves_merge_and_memory_per_connection() {
        let half = |kept: usize, held: u64| {
            let total = HoldSummary {
                clients: 100,
                kept,
                dropped: 100 - kept,
                pings_min: 2,
                pings_median: 3,
                server_rss_kib_held: Some(held),
                ramp_secs: 1.5,
                ..HoldSummary::default()
            };
            let held = Held {
                total,
                ..Held::default()
            };
            run("S3", "ours", 100, Measured::Hold(held))
        };
        let merged = Run::merge_holds("ours", vec![half(100, 9_000), half(98, 10_000)], 1_000);
        assert_eq!(merged.clients, 200);
        let held = merged.held().expect("merged");
        assert_eq!(held.total.kept, 198);
        assert_eq!(held.total.dropped, 2);
        assert_eq!(held.total.pings_min, 2);
        let per = held.server_kib_per_connection.expect("measured");
        assert!((per - 9_000.0 / 198.0).abs() < 1e-9, "{per}");
    }

    #[test]
    fn targets_compare_ratios_within_the_run() {
        let ours = LoadSummary {
            acks_per_sec: 90.0,
            min_client_acks: 40,
            median_client_acks: 100,
            connect_secs: 0.1,
            ..LoadSummary::default()
        };
        let s1 = vec![
            run("S1", "raw websocket echo (ceiling)", 1000, load(100.0)),
            run("S1", "our server", 1000, Measured::Load(ours)),
            run("S1", "node socket.io 4.8", 1000, load(30.0)),
            run("S1", STOCK, 1000, load(100.0)),
            run("S1", OURS_WARN, 1000, load(94.0)),
        ];
        let text = targets(&s1, &[], &[], &[]);
        assert!(
            text.contains("✓ S1 ≥ 2.5× node at 1,000 clients: 3.00×"),
            "{text}"
        );
        assert!(
            text.contains("✓ S1 ≥ 80% of the echo ceiling at 1,000 clients: 90%"),
            "{text}"
        );
        assert!(text.contains("✗ S1 no starvation"), "{text}");
        assert!(
            text.contains("· S1 ≥ 50× Flask-SocketIO at 100 clients: –× (not measured"),
            "{text}"
        );
        assert!(
            text.contains("✗ S1 ≥ 0.95× stock socketioxide at 1,000 clients (as shipped, default log level): 0.90×"),
            "{text}"
        );
        assert!(
            text.contains(
                "✓ S1 the default log level costs ≤ 5% against --log warn at 1,000 clients: 4.3%"
            ),
            "{text}"
        );
        assert!(
            text.contains("· S1 ≥ 0.95× stock socketioxide at 100 clients"),
            "{text}"
        );
        let ratios = ratios_table(&s1);
        assert!(
            ratios.contains("| stock socketioxide 0.18.9 | 0.90 | – |"),
            "{ratios}"
        );
        assert_eq!(ours_peak(&s1), Some(90.0));
    }

    #[test]
    fn s1_reports_the_median_round() {
        let round = |rate: f64, ok: bool| Run {
            ok,
            ..run("S1", OURS, 100, load(rate))
        };
        let median = Run::median_round(vec![
            round(90.0, true),
            round(50.0, true),
            round(70.0, true),
        ]);
        assert_eq!(median.rate(), 70.0);
        assert_eq!(median.round_rates, [90.0, 50.0, 70.0]);
        assert!(median.ok);
        let failed = Run::median_round(vec![round(90.0, true), round(50.0, false)]);
        assert!(!failed.ok, "a failed round fails the run");
        assert!(!Run::median_round(Vec::new()).ok);
    }

    #[test]
    fn a_generator_without_summary_is_a_failed_run() {
        use std::os::unix::process::ExitStatusExt;
        let output = Output {
            status: std::process::ExitStatus::from_raw(256),
            stdout: br#"{"ready":10,"ramp_secs":1.0}"#.to_vec(),
            stderr: b"loadgen: boom".to_vec(),
        };
        let r = Run::from_output("S3", "ours", 10, &output).unwrap();
        assert!(!r.ok);
        assert!(r.first_error().unwrap().contains("boom"));
    }

    #[test]
    fn a_summary_is_read_typed_from_the_last_line_that_is_one() {
        use std::os::unix::process::ExitStatusExt;
        let summary = HoldSummary {
            clients: 10,
            kept: 10,
            ..HoldSummary::default()
        };
        let stdout = format!(
            "{{\"ready\":10}}\n{}\nnot json\n",
            serde_json::to_string(&summary).unwrap()
        );
        let output = Output {
            status: std::process::ExitStatus::from_raw(0),
            stdout: stdout.into_bytes(),
            stderr: Vec::new(),
        };
        let r = Run::from_output("S3", "ours", 10, &output).unwrap();
        assert!(r.ok);
        assert_eq!(r.held().map(|h| &h.total), Some(&summary));
    }
}
