//! Server configuration: command-line flags, each with an environment twin.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::http::source::Network;
use crate::state::rate::RateLimit;

/// Everything an operator can set. Flags win over environment variables,
/// which win over the defaults shown in `server --help`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "server",
    version,
    about = "The /iss Socket.IO server and the page it serves"
)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "ISS_BIND", default_value = "127.0.0.1:3000")]
    pub bind: SocketAddr,

    /// Folder with the built frontend (trunk's output).
    #[arg(long, env = "ISS_DIST", default_value = "dist")]
    pub dist: PathBuf,

    /// A browser origin allowed to connect besides the server's own, such as
    /// `https://chat.example.com`. Repeat the flag (or comma-separate the
    /// variable) for several. No wildcard.
    #[arg(
        long = "allowed-origin",
        env = "ISS_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// A host name this server may be reached by, besides `localhost`, the
    /// loopback and bind addresses and the allowed origins' hosts (requests
    /// for any other `Host` get 403: DNS rebinding). Repeat the flag (or
    /// comma-separate the variable) for several; `*` allows any.
    #[arg(
        long = "allowed-host",
        env = "ISS_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,

    /// Log filter, in `RUST_LOG` syntax (e.g. `info`, `server=debug`).
    #[arg(long, env = "ISS_LOG", default_value = "info")]
    pub log: String,

    /// Largest Engine.IO payload a client may send, in bytes (announced to
    /// clients in the handshake). Larger frames close the connection.
    #[arg(long, env = "ISS_MAX_PAYLOAD", default_value_t = 16_384)]
    pub max_payload: u64,

    /// Heartbeat: how often the server pings, in milliseconds.
    #[arg(long, env = "ISS_PING_INTERVAL_MS", default_value_t = 25_000)]
    pub ping_interval_ms: u64,

    /// Heartbeat: how long a pong may take before the client is dropped, in milliseconds.
    #[arg(long, env = "ISS_PING_TIMEOUT_MS", default_value_t = 20_000)]
    pub ping_timeout_ms: u64,

    /// Presence coalescing window: at most one presence message per client per window.
    #[arg(long, env = "ISS_PRESENCE_WINDOW_MS", default_value_t = 100)]
    pub presence_window_ms: u64,

    /// Most presence bytes every listener is sent per second, sustained
    /// (bursts: one second's worth plus one message). Past it, changes wait
    /// and coalesce. 0 = no cap.
    #[arg(long, env = "ISS_PRESENCE_BYTES_PER_SEC", default_value_t = 16_384)]
    pub presence_bytes_per_sec: u32,

    /// Kernel send buffer per TCP connection, bytes (`SO_SNDBUF`); it bounds
    /// the kernel memory a client that stops reading can hold before its
    /// queue fills and the heartbeat drops it. 0 = the kernel's autotuning
    /// (up to `net.ipv4.tcp_wmem`'s maximum, often 4 MiB).
    #[arg(long, env = "ISS_SOCKET_SEND_BUFFER", default_value_t = 0)]
    pub socket_send_buffer: usize,

    /// On SIGINT/SIGTERM, how long to wait for connections to drain, in seconds.
    #[arg(long, env = "ISS_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,

    /// Most TCP connections open at once (sockets, polling and page requests
    /// alike), and separately most Engine.IO sessions (websocket or polling);
    /// one more gets `503`. Keep it below the process's open-file limit
    /// (`ulimit -n`) minus a few dozen for the server itself.
    #[arg(long, env = "ISS_MAX_CONNECTIONS", default_value_t = 10_000)]
    pub max_connections: usize,

    /// Most TCP connections, and separately most sessions, one source may
    /// hold (an IPv4 address or an IPv6 /64; behind a trusted proxy, the
    /// client it names). One more gets `503`. 0 = no per-source cap.
    #[arg(long, env = "ISS_MAX_PER_SOURCE", default_value_t = 256)]
    pub max_per_source: usize,

    /// A reverse proxy whose `X-Forwarded-For` names the client (an address
    /// or a network such as `10.0.0.0/8`). Repeat the flag (or
    /// comma-separate the variable) for several. Without it the header is
    /// ignored: anyone can send it.
    #[arg(
        long = "trusted-proxy",
        env = "ISS_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<Network>,

    /// Every request head must arrive within this many seconds, and an idle
    /// keep-alive connection must send its next request within it; else the
    /// connection is closed (slowloris). Upgraded websockets and long-polls
    /// whose request is in are not affected.
    #[arg(long, env = "ISS_HANDSHAKE_TIMEOUT_SECS", default_value_t = 10)]
    pub handshake_timeout_secs: u64,

    /// How long after a disconnect a client may resume its session (id and
    /// name) with its resume token, in seconds.
    #[arg(long, env = "ISS_RESUME_TTL_SECS", default_value_t = 600)]
    pub resume_ttl_secs: u64,

    /// Most departed sessions kept resumable at once; beyond it the oldest
    /// are forgotten first (≈ 700 B each). In shared mode, the bound on
    /// Redis's resume keys across all nodes.
    #[arg(long, env = "ISS_RESUME_CAPACITY", default_value_t = crate::state::resume::DEFAULT_RESUME_CAPACITY)]
    pub resume_capacity: usize,

    /// Most `identify` events one socket may send per second, sustained;
    /// more get a `rate_limited` error, and a socket that keeps flooding is
    /// disconnected. 0 turns the limit off.
    #[arg(long, env = "ISS_IDENTIFY_RATE", default_value_t = 10)]
    pub identify_rate: u32,

    /// How many `identify` events one socket may send at once before the
    /// rate applies.
    #[arg(long, env = "ISS_IDENTIFY_BURST", default_value_t = 50)]
    pub identify_burst: u32,

    /// Most name changes that show in presence (a first name or a rename)
    /// per socket per minute, sustained; more get `rate_limited` and change
    /// nothing. Re-sending the current name is not a change. 0 = off.
    #[arg(long, env = "ISS_RENAMES_PER_MINUTE", default_value_t = 6)]
    pub renames_per_minute: u32,

    /// How many name changes a socket may make at once before the
    /// per-minute rate applies.
    #[arg(long, env = "ISS_RENAME_BURST", default_value_t = 5)]
    pub rename_burst: u32,

    /// Most waves (👋) per socket per minute, sustained; more get
    /// `rate_limited`, and a socket that keeps on is disconnected. 0 = off.
    #[arg(long, env = "ISS_WAVES_PER_MINUTE", default_value_t = 20)]
    pub waves_per_minute: u32,

    /// How many waves a socket may send at once before the per-minute rate
    /// applies.
    #[arg(long, env = "ISS_WAVE_BURST", default_value_t = 5)]
    pub wave_burst: u32,

    /// Shared mode: a Redis (≥ 7) URL such as `redis://127.0.0.1:6379/`.
    /// Several processes given the same Redis show one presence and honour
    /// each other's resume tokens. Without it the process keeps everything
    /// in memory, alone.
    #[arg(long, env = "ISS_REDIS_URL")]
    pub redis_url: Option<String>,

    /// Every this many seconds, one `info` line with the totals of
    /// `/api/stats`, when they changed (per-event lines are `debug`). 0 = off.
    #[arg(long, env = "ISS_REPORT_INTERVAL_SECS", default_value_t = 60)]
    pub report_interval_secs: u64,
}

impl Config {
    /// The defaults, ignoring flags and environment (for tests and
    /// embedding): the `default_value`s above, so each is written once.
    pub fn defaults() -> Self {
        use clap::{CommandFactory, FromArgMatches};
        let command = Config::command().mut_args(|arg| arg.env(None::<&str>));
        let matches = command
            .try_get_matches_from(["server"])
            .expect("the defaults parse");
        Config::from_arg_matches(&matches).expect("the defaults parse")
    }

    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.ping_interval_ms)
    }

    pub fn ping_timeout(&self) -> Duration {
        Duration::from_millis(self.ping_timeout_ms)
    }

    pub fn presence_window(&self) -> Duration {
        Duration::from_millis(self.presence_window_ms.max(1))
    }

    pub fn identify_limit(&self) -> RateLimit {
        RateLimit {
            per_sec: f64::from(self.identify_rate),
            burst: self.identify_burst.max(1),
        }
    }

    pub fn rename_limit(&self) -> RateLimit {
        RateLimit {
            per_sec: f64::from(self.renames_per_minute) / 60.0,
            burst: self.rename_burst.max(1),
        }
    }

    pub fn wave_limit(&self) -> RateLimit {
        RateLimit {
            per_sec: f64::from(self.waves_per_minute) / 60.0,
            burst: self.wave_burst.max(1),
        }
    }

    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_secs(self.handshake_timeout_secs.max(1))
    }

    pub fn resume_ttl(&self) -> Duration {
        Duration::from_secs(self.resume_ttl_secs)
    }

    pub fn report_interval(&self) -> Duration {
        Duration::from_secs(self.report_interval_secs)
    }

    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The defaults are the documented ones, whatever `ISS_*` variables
    /// the developer's shell has set.
    #[test]
    fn defaults_are_the_documented_values() {
        let defaults = Config::defaults();
        assert_eq!(defaults.bind, SocketAddr::from(([127, 0, 0, 1], 3000)));
        assert_eq!(defaults.max_connections, 10_000);
        assert_eq!(defaults.max_per_source, 256);
        assert_eq!(defaults.identify_rate, 10);
        assert_eq!(defaults.log, "info");
        assert!(defaults.allowed_origins.is_empty());
    }

    #[test]
    fn repeatable_origins() {
        let parsed = Config::try_parse_from([
            "server",
            "--allowed-origin",
            "http://a.test",
            "--allowed-origin",
            "http://b.test",
        ])
        .unwrap();
        assert_eq!(parsed.allowed_origins, ["http://a.test", "http://b.test"]);
    }
}
