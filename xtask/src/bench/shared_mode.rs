//! S6 and the cost of sharing, measured next to the single process in the
//! same run: fan-out over three nodes on one Redis (target p100 ≤ 250 ms),
//! Redis memory per online user, and one node in memory against one on
//! Redis (S1 re-sending a name: no Redis write; renames and churn: Redis
//! scripts), with the CPU the node and Redis spent. Every server process
//! (Redis included) is on CPU 0 and the generator on CPU 1: two cores
//! cannot show N-node scaling, only what sharing costs per identify.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use bench::summary::{ChurnSummary, FanoutSummary, LoadSummary};
use duct::cmd;

use super::loadgen::{self, SOURCES};
use super::Bench;
use crate::process::Server;
use crate::setup;

/// S6's target: every client sees the change within this, ms.
const S6_TARGET_MS: f64 = 250.0;

struct SharedSizes {
    pub s6_clients: usize,
    pub s1_clients: usize,
    pub s1_seconds: &'static str,
    pub churn_cycles: usize,
}

const FULL: SharedSizes = SharedSizes {
    s6_clients: 10_000,
    s1_clients: 1000,
    s1_seconds: "8",
    churn_cycles: 20_000,
};

const QUICK: SharedSizes = SharedSizes {
    s6_clients: 200,
    s1_clients: 50,
    s1_seconds: "1",
    churn_cycles: 200,
};

/// What the shared-mode part of a run measured.
pub(super) struct SharedReport {
    pub markdown: String,
    /// Every generator finished without a failed client.
    pub ok: bool,
}

/// One contender of the cost comparison.
struct Cost {
    label: &'static str,
    s1: Option<LoadSummary>,
    /// S1 with every identify a rename.
    renames: Option<LoadSummary>,
    /// CPU seconds the node (and Redis, if any) spent during the renames.
    renames_cpu_secs: f64,
    churn: Option<ChurnSummary>,
    /// CPU seconds the node (and Redis, if any) spent during the churn.
    churn_cpu_secs: f64,
}

impl Bench {
    pub(super) fn shared_mode(&self) -> Result<SharedReport> {
        let sizes = if self.quick { &QUICK } else { &FULL };
        setup::cluster_tools()?;
        let mut ok = true;
        let mut md = String::from("## S6: shared mode (Redis)\n\n");
        md.push_str(
            "Redis 7.0 and every node pinned to CPU 0, generators to CPU 1: two cores \
             show what sharing costs per identify, not how N nodes scale.\n\n",
        );

        // The same fan-out on one node in memory (S4), for the ratio.
        let single = self.ours("s6-single", "")?;
        println!(
            "xtask: ── S6 reference: 1 node in memory × {} clients",
            sizes.s6_clients
        );
        let s4: Option<FanoutSummary> =
            self.fanout("s4", &single.addr().to_string(), sizes.s6_clients, &mut ok)?;
        drop(single);

        // S6: three nodes on one Redis.
        let redis = self.redis("s6")?;
        let url = format!("{}/", redis.url());
        let nodes = (1..=3)
            .map(|i| self.ours(&format!("s6-node{i}"), &format!("--redis-url {url}")))
            .collect::<Result<Vec<Server>>>()?;
        let before = redis_used_memory(redis.addr())?;
        let addrs: Vec<String> = nodes.iter().map(|n| n.addr().to_string()).collect();
        println!(
            "xtask: ── S6 × {} clients over {} nodes",
            sizes.s6_clients,
            nodes.len()
        );
        // Redis's memory, sampled every 200 ms during the run: its peak.
        let done = AtomicBool::new(false);
        let (s6, peak) = std::thread::scope(|scope| {
            let sampler = scope.spawn(|| {
                let mut peak = 0;
                while !done.load(Ordering::Relaxed) {
                    peak = redis_used_memory(redis.addr()).unwrap_or(0).max(peak);
                    std::thread::sleep(Duration::from_millis(200));
                }
                peak
            });
            let s6 = self.fanout("s6", &addrs.join(","), sizes.s6_clients, &mut ok);
            done.store(true, Ordering::Relaxed);
            (s6, sampler.join().unwrap_or(0))
        });
        let s6: Option<FanoutSummary> = s6?;
        drop(nodes);
        drop(redis);
        md.push_str(&s6_table(s6.as_ref(), s4.as_ref(), sizes.s6_clients));
        if let Some(s6) = &s6 {
            let users = s6.connected as u64 + 1;
            let grown = peak.saturating_sub(before);
            md.push_str(&format!(
                "\nRedis memory with {users} users online: {grown} B above the empty store \
                 ({} B per user; `used_memory`, the change stream, capped at ≈ 10,000 \
                 entries, included).\n",
                grown / users.max(1)
            ));
        }

        // The cost of sharing: one node, in memory and on Redis.
        let mut costs = Vec::new();
        for label in ["1 node, in memory", "1 node on Redis"] {
            costs.push(self.cost(label, sizes, &mut ok)?);
        }
        md.push_str(&cost_table(&costs, sizes));
        Ok(SharedReport { markdown: md, ok })
    }

    /// S4 or S6 against `addrs`; its summary, `ok` cleared if it failed.
    fn fanout(
        &self,
        scenario: &str,
        addrs: &str,
        clients: usize,
        ok: &mut bool,
    ) -> Result<Option<FanoutSummary>> {
        let flags = format!("--sources {SOURCES}");
        let command = loadgen::command(&self.bin("loadgen"), scenario, addrs, clients, &flags);
        let output = loadgen::output(&self.pin.generator(command))?;
        let summary = loadgen::summary(&output.stdout);
        *ok &= output.status.success() && summary.is_some();
        Ok(summary)
    }

    /// S1 and churn against one fresh node (on a fresh Redis when the label
    /// says so).
    fn cost(&self, label: &'static str, sizes: &SharedSizes, ok: &mut bool) -> Result<Cost> {
        let on_redis = label.contains("Redis");
        let tag = if on_redis { "redis" } else { "memory" };
        let run = |what: &str, scenario: &str, clients: usize, args: &str, ok: &mut bool| {
            let redis = on_redis
                .then(|| self.redis(&format!("cost-{what}")))
                .transpose()?;
            let redis_url = redis.iter().map(|r| format!("--redis-url {}/", r.url()));
            // Renames measure the path itself, not the per-socket limit.
            let flags = format!("{} --renames-per-minute 0", redis_url.collect::<String>());
            let node = self.ours(&format!("cost-{what}-{tag}"), &flags)?;
            let cpu = || cpu_secs(node.pid()) + redis.as_ref().map_or(0.0, |r| cpu_secs(r.pid()));
            let cpu_before = cpu();
            println!("xtask: ── {what} {label}");
            let flags = format!("--server-pid {} --sources {SOURCES} {args}", node.pid());
            let bin = self.bin("loadgen");
            let command = loadgen::command(&bin, scenario, node.addr(), clients, &flags);
            let output = loadgen::output(&self.pin.generator(command))?;
            let cpu = cpu() - cpu_before;
            *ok &= output.status.success();
            anyhow::Ok((output.stdout, cpu))
        };
        let s1_args = format!("--seconds {}", sizes.s1_seconds);
        let (s1_out, _) = run("s1", "s1", sizes.s1_clients, &s1_args, ok)?;
        let rename_args = format!("{s1_args} --target rename");
        let (renames_out, renames_cpu_secs) =
            run("s1-rename", "s1", sizes.s1_clients, &rename_args, ok)?;
        let cycles = format!("--cycles {}", sizes.churn_cycles);
        let (churn_out, churn_cpu_secs) = run("churn", "churn", 50, &cycles, ok)?;
        Ok(Cost {
            label,
            s1: loadgen::summary(&s1_out),
            renames: loadgen::summary(&renames_out),
            renames_cpu_secs,
            churn: loadgen::summary(&churn_out),
            churn_cpu_secs,
        })
    }

    /// A Redis on a free port, pinned with the servers, no persistence.
    fn redis(&self, tag: &str) -> Result<Server> {
        let log = self.logs.join(format!("redis-{tag}.log"));
        crate::cluster::redis(&self.logs, &log, |redis| self.pin.server(redis))
    }
}

fn s6_table(s6: Option<&FanoutSummary>, single: Option<&FanoutSummary>, clients: usize) -> String {
    let mut md = String::from(
        "| scenario | clients | connected | saw it | missed | p50 ms | p100 ms | target p100 |\n\
         |---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    if let Some(s) = single {
        md.push_str(&format!(
            "| S4 on 1 node in memory (same run, reference) | {} | {} | {} | {} | {:.0} | {:.0} | |\n",
            s.clients, s.connected, s.saw, s.missed, s.p50_ms, s.p100_ms
        ));
    }
    match s6 {
        Some(s) => {
            let verdict = if s.p100_ms <= S6_TARGET_MS && s.missed == 0 {
                "✓"
            } else {
                "✗ missed"
            };
            md.push_str(&format!(
                "| S6: 3 nodes + Redis | {} | {} | {} | {} | {:.0} | {:.0} | ≤ {S6_TARGET_MS:.0} {verdict} |\n",
                s.clients, s.connected, s.saw, s.missed, s.p50_ms, s.p100_ms
            ));
        }
        None => md.push_str(&format!(
            "| S6: 3 nodes + Redis | {clients} | – | – | – | – | – | no summary: failed |\n"
        )),
    }
    md
}

fn cost_table(costs: &[Cost], sizes: &SharedSizes) -> String {
    let mut md = format!(
        "\n### The cost of sharing\n\n\
         One node each, the same flags (`--renames-per-minute 0`) but `--redis-url`. \
         S1: {} clients, closed loop of identify-with-ack, {} s: re-sending their name \
         (no change: nothing for presence or Redis), then renaming at every identify \
         (two names in turn: every one a presence change, and in shared mode a Redis \
         write). Churn: {} sessions by 50 workers, each connects, identifies (a join) and \
         hangs up. CPU is the node's plus Redis's.\n\n\
         | node | S1 same name acks/s | S1 renames acks/s | renames p50 / p99 ms | CPU µs per rename | churn sessions/s | CPU ms per session |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
        sizes.s1_clients, sizes.s1_seconds, sizes.churn_cycles
    );
    for cost in costs {
        let same = cost.s1.as_ref().map_or(f64::NAN, |s| s.acks_per_sec);
        let (renames, p50, p99, cpu_us) =
            cost.renames
                .as_ref()
                .map_or((f64::NAN, f64::NAN, f64::NAN, f64::NAN), |s| {
                    let per = cost.renames_cpu_secs * 1e6 / (s.acks.max(1) as f64);
                    (s.acks_per_sec, s.p50_ms, s.p99_ms, per)
                });
        let (sessions, cpu_ms) = cost.churn.as_ref().map_or((f64::NAN, f64::NAN), |c| {
            let done = (c.cycles - c.failed).max(1) as f64;
            (done / c.secs, cost.churn_cpu_secs * 1000.0 / done)
        });
        md.push_str(&format!(
            "| {} | {same:.0} | {renames:.0} | {p50:.1} / {p99:.1} | {cpu_us:.1} | {sessions:.0} | {cpu_ms:.2} |\n",
            cost.label
        ));
    }
    md
}

/// `used_memory` from `INFO memory`, bytes.
fn redis_used_memory(addr: SocketAddr) -> Result<u64> {
    let port = addr.port().to_string();
    let info = cmd!("redis-cli", "-h", "127.0.0.1", "-p", port, "INFO", "memory")
        .unchecked()
        .read();
    info.context("cannot run redis-cli")?
        .lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .context("redis-cli INFO memory: no used_memory")
}

/// User + system CPU seconds of a process so far (/proc/<pid>/stat; 0 when
/// unreadable). Clock ticks are 100 a second on Linux.
pub(super) fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at `) `.
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 here.
    (ticks(11) + ticks(12)) / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Busy work shows up as CPU time (in clock ticks of 10 ms: spin
    /// until it does, for at most 5 s of wall time).
    #[test]
    fn cpu_of_this_process_is_read() {
        let spent = cpu_secs(std::process::id());
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while cpu_secs(std::process::id()) <= spent {
            for i in 0..1_000_000u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "5 s of busy work never showed as CPU"
            );
        }
    }

    #[test]
    fn a_missed_target_stays_in_the_table() {
        let slow = FanoutSummary {
            clients: 10,
            connected: 10,
            saw: 10,
            p50_ms: 100.0,
            p100_ms: 400.0,
            ..FanoutSummary::default()
        };
        assert!(s6_table(Some(&slow), None, 10).contains("✗ missed"));
        let fast = FanoutSummary {
            p100_ms: 120.0,
            ..slow
        };
        assert!(s6_table(Some(&fast), None, 10).contains("✓"));
    }
}
