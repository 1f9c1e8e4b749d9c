//! The benchmark report: one Markdown table per scenario, the targets of
//! issue 5 with a verdict each, and the chart's data. Pure functions over the
//! generators' JSON summaries, so they are unit-tested without a run.

use std::process::Output;

use serde_json::{json, Value};

use crate::chart::Series;

/// One generator run (or two merged, for S3): what it printed and whether it
/// passed its own checks (no failed clients, something measured).
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub scenario: &'static str,
    pub label: String,
    pub clients: usize,
    pub summary: Value,
    pub ok: bool,
}

impl Run {
    /// Reads the JSON summary (the last JSON line with `clients`) from a
    /// generator's stdout; a generator that printed none is a failed run.
    pub fn from_output(
        scenario: &'static str,
        label: &str,
        clients: usize,
        output: &Output,
    ) -> Result<Run, String> {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let summary = stdout
            .lines()
            .rev()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|v| v.get("clients").is_some());
        let (summary, ok) = match summary {
            Some(summary) => (summary, output.status.success()),
            None => {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let tail: String = stderr.lines().rev().take(5).collect::<Vec<_>>().join(" / ");
                let error = format!("no summary ({}): {tail}", output.status);
                (json!({ "first_error": error }), false)
            }
        };
        Ok(Run {
            scenario,
            label: label.to_owned(),
            clients,
            summary,
            ok,
        })
    }

    /// Several S1 rounds of one contender at one load as one run: the round
    /// with the median rate, every round's rate kept in `round_rates`. Failed
    /// if any round failed.
    pub fn median_round(mut rounds: Vec<Run>) -> Run {
        let rates: Vec<f64> = rounds.iter().map(|r| r.f("acks_per_sec")).collect();
        let ok = rounds.iter().all(|r| r.ok);
        rounds.sort_by(|a, b| a.f("acks_per_sec").total_cmp(&b.f("acks_per_sec")));
        let middle = rounds.len() / 2;
        let Some(mut median) = rounds.into_iter().nth(middle) else {
            return Run {
                scenario: "S1",
                label: String::new(),
                clients: 0,
                summary: json!({"first_error": "no round ran"}),
                ok: false,
            };
        };
        median.ok = ok;
        median.summary["round_rates"] = json!(rates);
        median
    }

    /// Two S3 generators' halves as one run, with the server's memory per
    /// held connection over `baseline_kib` (its resident set before the ramp).
    pub fn merge_holds(label: &str, halves: Vec<Run>, baseline_kib: u64) -> Run {
        let sum = |key: &str| {
            halves
                .iter()
                .map(|h| h.summary[key].as_u64().unwrap_or(0))
                .sum::<u64>()
        };
        let min = |key: &str| halves.iter().filter_map(|h| h.summary[key].as_u64()).min();
        let max_u = |key: &str| halves.iter().filter_map(|h| h.summary[key].as_u64()).max();
        let max_f = |key: &str| {
            halves
                .iter()
                .filter_map(|h| h.summary[key].as_f64())
                .fold(0.0, f64::max)
        };
        let first = |key: &str| {
            halves
                .iter()
                .find_map(|h| h.summary[key].as_str().map(str::to_owned))
        };
        let kept = sum("kept");
        let held = max_u("server_rss_kib_held").unwrap_or(0);
        let per_connection =
            (kept > 0 && held > baseline_kib).then(|| (held - baseline_kib) as f64 / kept as f64);
        Run {
            scenario: "S3",
            label: label.to_owned(),
            clients: halves.iter().map(|h| h.clients).sum(),
            ok: halves.iter().all(|h| h.ok),
            summary: json!({
                "clients": sum("clients"),
                "connected": sum("connected"),
                "connect_failed": sum("connect_failed"),
                "kept": kept,
                "dropped": sum("dropped"),
                "first_error": first("first_error").or_else(|| first("first_drop")),
                "ramp_secs": max_f("ramp_secs"),
                "hold_secs": max_f("hold_secs"),
                "pings_min": min("pings_min"),
                "pings_median": min("pings_median"),
                "presence_total_min": min("presence_total_min"),
                "server_rss_kib_baseline": baseline_kib,
                "server_rss_kib_held": held,
                "server_kib_per_connection": per_connection,
                "generator_cpu_secs": halves.iter().filter_map(|h| h.summary["generator_cpu_secs"].as_f64()).sum::<f64>(),
            }),
        }
    }

    /// The run as one JSON object (for `latest.json`).
    pub fn to_json(&self) -> Value {
        json!({
            "scenario": self.scenario,
            "server": self.label,
            "clients": self.clients,
            "ok": self.ok,
            "summary": self.summary,
        })
    }

    fn f(&self, key: &str) -> f64 {
        self.summary[key].as_f64().unwrap_or(f64::NAN)
    }
}

// The contenders' labels, as the tables show them and the targets find them.
pub(crate) const OURS: &str = "our server";
pub(crate) const OURS_WARN: &str = "our server, --log warn";
pub(crate) const STOCK: &str = "stock socketioxide 0.18.9";
pub(crate) const STOCK_S3: &str = "stock socketioxide 0.18.9 (no presence)";
pub(crate) const NODE: &str = "node socket.io 4.8";
pub(crate) const NODE_S3: &str = "node socket.io 4.8 (no presence)";
pub(crate) const FLASK: &str = "Flask-SocketIO 5.7 (threading)";
pub(crate) const ECHO: &str = "raw websocket echo (ceiling)";

/// Our server's S1 rate at the largest load measured.
pub(crate) fn ours_peak(s1: &[Run]) -> Option<f64> {
    s1.iter()
        .filter(|r| r.label == OURS)
        .max_by_key(|r| r.clients)
        .map(|r| r.f("acks_per_sec"))
        .filter(|rate| rate.is_finite() && *rate > 0.0)
}

/// The whole report.
pub(crate) fn report(
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
        let rounds: Vec<String> = r.summary["round_rates"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_f64)
            .map(|rate| format!("{:.0}k", rate / 1000.0))
            .collect();
        out.push_str(&format!(
            "| {} | {} | {:.0} | {} | {:.2} | {:.2} | {:.2} | {:.2} | {} / {} | {:.2} | {:.1} | {:.1} | {:.1} |\n",
            r.label,
            r.clients,
            r.f("acks_per_sec"),
            rounds.join(", "),
            r.f("mean_ms"),
            r.f("p50_ms"),
            r.f("p99_ms"),
            r.f("p999_ms"),
            r.summary["min_client_acks"],
            r.summary["median_client_acks"],
            r.f("connect_secs"),
            r.f("server_cpu_secs") * 1e6 / r.f("acks"),
            r.f("server_peak_rss_kib") / 1024.0,
            r.f("generator_cpu_secs"),
        ));
    }
    out.push_str(&failures(runs));
    out
}

fn s2_table(runs: &[Run]) -> String {
    let mut out = String::from(
        "| server | clients | acks/s | p50 ms | p99 ms | p999 ms | max ms | server CPU s | generator CPU s |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in runs {
        out.push_str(&format!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.1} | {:.1} |\n",
            r.label,
            r.clients,
            r.f("acks_per_sec"),
            r.f("p50_ms"),
            r.f("p99_ms"),
            r.f("p999_ms"),
            r.f("max_ms"),
            r.f("server_cpu_secs"),
            r.f("generator_cpu_secs"),
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
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.1} | {} / {} | {:.1} / {:.1} | {:.1} | {:.1} |\n",
            r.label,
            r.clients,
            r.summary["kept"],
            r.summary["dropped"],
            r.f("ramp_secs"),
            r.summary["pings_min"],
            r.summary["pings_median"],
            r.f("server_rss_kib_baseline") / 1024.0,
            r.f("server_rss_kib_held") / 1024.0,
            r.f("server_kib_per_connection"),
            r.f("generator_cpu_secs"),
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
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.1} |\n",
            r.label,
            r.clients,
            r.summary["saw"],
            r.summary["missed"],
            r.f("p50_ms"),
            r.f("p100_ms"),
            r.f("ramp_secs"),
            r.f("generator_cpu_secs"),
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
            let error = ["first_error", "first_drop", "first_miss"]
                .iter()
                .find_map(|k| r.summary[*k].as_str())
                .unwrap_or("no error recorded");
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
    let rate = |label| find(s1, label, clients).map_or(f64::NAN, |r| r.f("acks_per_sec"));
    rate(a) / rate(b)
}

fn thousands(n: usize) -> String {
    if n >= 1000 {
        format!("{},{:03}", n / 1000, n % 1000)
    } else {
        n.to_string()
    }
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
                thousands(clients)
            ),
            vs_stock >= 0.95,
        );
    }
    for clients in [1000, 100] {
        let log_cost = 1.0 - ratio(s1, OURS, OURS_WARN, clients);
        check(
            format!(
                "S1 the default log level costs ≤ 5% against --log warn at {} clients: {:.1}%",
                thousands(clients),
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
    if let Some(r) = &ours_1000 {
        let (min, median) = (r.f("min_client_acks"), r.f("median_client_acks"));
        check(
            format!(
                "S1 no starvation (fewest ≥ ½ median): {min:.0} / {median:.0} = {:.2}",
                min / median
            ),
            min / median >= 0.5,
        );
        let connect = r.f("connect_secs");
        check(
            format!("S1 connecting 1,000 clients ≤ 0.2 s: {connect:.2} s"),
            connect <= 0.2,
        );
    }
    if let Some(r) = s2.first() {
        let (p99, p999) = (r.f("p99_ms"), r.f("p999_ms"));
        check(format!("S2 p99 ≤ 5 ms: {p99:.2} ms"), p99 <= 5.0);
        check(format!("S2 p999 ≤ 20 ms: {p999:.2} ms"), p999 <= 20.0);
    }
    if let Some(r) = s3.iter().find(|r| r.label == OURS) {
        let (kept, dropped) = (r.f("kept"), r.f("dropped"));
        check(
            format!(
                "S3 {} held with zero drops: {kept:.0} kept, {dropped:.0} dropped",
                r.clients
            ),
            kept as usize == r.clients && dropped == 0.0,
        );
        let per = r.f("server_kib_per_connection");
        check(
            format!("S3 ≤ 12 KiB server RSS per connection: {per:.1} KiB"),
            per <= 12.0,
        );
    }
    if let Some(r) = s4.first() {
        let p100 = r.f("p100_ms");
        check(
            format!(
                "S4 every client has the delta within 200 ms: p100 {p100:.0} ms ({} of {})",
                r.summary["saw"], r.clients
            ),
            p100 <= 200.0 && r.ok,
        );
    }
    lines.join("\n") + "\n"
}

/// The chart's lines, by percentile: every contender's S1 at 100 clients
/// (below saturation for all but Flask) and the S2 open loop. The saturated
/// S1 at 1,000 clients measures queueing, not latency, and stays in the table.
pub(crate) fn chart_series(s1: &[Run], s2: &[Run]) -> Vec<Series> {
    s1.iter()
        .filter(|r| r.clients <= 100)
        .chain(s2)
        .filter(|r| r.ok)
        .map(|r| Series {
            label: format!("{} {}, {} clients", r.scenario, r.label, r.clients),
            points: r.summary["percentiles"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| Some((p[0].as_f64()?, p[1].as_f64()?.max(0.001))))
                .collect(),
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

    fn run(scenario: &'static str, label: &str, clients: usize, summary: Value) -> Run {
        Run {
            scenario,
            label: label.into(),
            clients,
            summary,
            ok: true,
        }
    }

    #[test]
    fn s3_halves_merge_and_memory_per_connection() {
        let half = |kept: u64, held: u64| {
            run(
                "S3",
                "ours",
                100,
                json!({"clients": 100, "kept": kept, "dropped": 100 - kept,
                "pings_min": 2, "pings_median": 3, "server_rss_kib_held": held, "ramp_secs": 1.5}),
            )
        };
        let merged = Run::merge_holds("ours", vec![half(100, 9_000), half(98, 10_000)], 1_000);
        assert_eq!(merged.clients, 200);
        assert_eq!(merged.summary["kept"], 198);
        assert_eq!(merged.summary["dropped"], 2);
        let per = merged.summary["server_kib_per_connection"]
            .as_f64()
            .unwrap();
        assert!((per - 9_000.0 / 198.0).abs() < 1e-9, "{per}");
    }

    #[test]
    fn targets_compare_ratios_within_the_run() {
        let s1 = vec![
            run(
                "S1",
                "raw websocket echo (ceiling)",
                1000,
                json!({"acks_per_sec": 100.0}),
            ),
            run(
                "S1",
                "our server",
                1000,
                json!({"acks_per_sec": 90.0, "min_client_acks": 40, "median_client_acks": 100, "connect_secs": 0.1}),
            ),
            run(
                "S1",
                "node socket.io 4.8",
                1000,
                json!({"acks_per_sec": 30.0}),
            ),
            run("S1", STOCK, 1000, json!({"acks_per_sec": 100.0})),
            run("S1", OURS_WARN, 1000, json!({"acks_per_sec": 94.0})),
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
            ..run("S1", OURS, 100, json!({"acks_per_sec": rate}))
        };
        let median = Run::median_round(vec![
            round(90.0, true),
            round(50.0, true),
            round(70.0, true),
        ]);
        assert_eq!(median.f("acks_per_sec"), 70.0);
        assert_eq!(median.summary["round_rates"], json!([90.0, 50.0, 70.0]));
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
        assert!(r.summary["first_error"].as_str().unwrap().contains("boom"));
    }
}
