//! `/metrics`: the refusal counters move when refusals happen, and a real
//! Prometheus scrapes the exposition (needs Debian's `prometheus` at
//! `/usr/bin/prometheus`, `ISS_PROMETHEUS` to use another; `cargo xtask
//! test` installs it).

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The value of one sample line (`name{labels}`) in an exposition.
fn sample(exposition: &str, series: &str) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.parse().ok()
    })
}

async fn scrape(addr: SocketAddr) -> String {
    let (status, body) = common::get(addr, "/metrics", "").await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Waits until `series` reads at least `at_least`.
async fn until_counted(addr: SocketAddr, series: &str, at_least: f64) {
    let mut last = None;
    let reached = tokio::time::timeout(common::DEADLINE, async {
        loop {
            last = sample(&scrape(addr).await, series);
            if last.is_some_and(|v| v >= at_least) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        reached.is_ok(),
        "{series} stayed at {last:?}, wanted ≥ {at_least}"
    );
}

/// Each kind of refusal the test provokes moves its counter, and the
/// gauges show the connected socket by transport and generation.
#[tokio::test]
async fn refusals_move_their_counters() {
    let server = common::start_with(|c| c.handshake_timeout_secs = 1).await;
    let addr = server.addr;
    let before = scrape(addr).await;
    for cause in [
        "origin",
        "host",
        "bad_v3_body",
        "head_timeout",
        "body_timeout",
    ] {
        let series = format!("iss_refused_total{{cause=\"{cause}\"}}");
        assert_eq!(
            sample(&before, &series),
            Some(0.0),
            "{series} in:\n{before}"
        );
    }
    let (status, _) = common::get(
        addr,
        "/socket.io/?EIO=4&transport=polling",
        "Origin: http://evil.example\r\n",
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = common::http(
        addr,
        "GET /healthz HTTP/1.1\r\nHost: evil.test\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 403);
    // The 7 bytes that froze the server, to a made-up v3 session.
    let post = format!(
        "POST /socket.io/?EIO=3&transport=polling&sid=x HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Length: 7\r\nConnection: close\r\n\r\n1:\u{1F980}x"
    );
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(post.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    common::within("the 400", tcp.read_to_end(&mut answer))
        .await
        .unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 400"), "{answer:?}");
    // A silent connection, and a body that never comes.
    let _silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /socket.io/?EIO=3&transport=polling&sid=x HTTP/1.1\r\nHost: {addr}\r\n\
         Content-Length: 100\r\n\r\n1"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    for (cause, n) in [
        ("origin", 1.0),
        ("host", 1.0),
        ("bad_v3_body", 1.0),
        ("head_timeout", 1.0),
        ("body_timeout", 1.0),
    ] {
        until_counted(addr, &format!("iss_refused_total{{cause=\"{cause}\"}}"), n).await;
    }
    // A socket and an event.
    let client = common::SioClient::connect(addr).await;
    client.identify_ack(vec![serde_json::json!("Ada")]).await;
    let shown = scrape(addr).await;
    let socket = "iss_sockets{namespace=\"/iss\",transport=\"websocket\",generation=\"eio4\"}";
    assert_eq!(sample(&shown, socket), Some(1.0), "{shown}");
    assert_eq!(
        sample(&shown, "iss_events_total{kind=\"identify\"}"),
        Some(1.0)
    );
    assert_eq!(sample(&shown, "iss_identified"), Some(1.0));
    client.disconnect().await;
    until_counted(addr, "iss_closed_total{cause=\"client_left\"}", 1.0).await;
    server.shutdown().await.unwrap();
}

/// A Prometheus on a free loopback port, stopped (and its files removed)
/// on drop.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    dir: std::path::PathBuf,
}

impl Prometheus {
    fn start(target: SocketAddr) -> Prometheus {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let dir = std::env::temp_dir().join(format!("iss-prometheus-{}", addr.port()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
             scrape_configs:\n  - job_name: iss\n    static_configs:\n      - targets: ['{target}']\n"
        );
        let path = dir.join("prometheus.yml");
        std::fs::write(&path, config).unwrap();
        let binary = std::env::var("ISS_PROMETHEUS").unwrap_or("/usr/bin/prometheus".into());
        let child = Command::new(&binary)
            .arg(format!("--config.file={}", path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{binary}: {e} (cargo xtask test installs prometheus)"));
        Prometheus { child, addr, dir }
    }

    /// The value of an instant query's first result, if any.
    async fn query(&self, expr: &str) -> Option<f64> {
        let encoded: String = expr
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        let tcp = tokio::net::TcpStream::connect(self.addr).await.ok()?;
        drop(tcp);
        let (status, body) =
            common::get(self.addr, &format!("/api/v1/query?query={encoded}"), "").await;
        if status != 200 {
            return None;
        }
        // The answer's JSON object (after the head; whatever the framing).
        let json = &body[body.find("\r\n\r\n")?..];
        let json = &json[json.find('{')?..=json.rfind('}')?];
        let reply: serde_json::Value = serde_json::from_str(json).ok()?;
        reply["data"]["result"][0]["value"][1]
            .as_str()?
            .parse()
            .ok()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A real Prometheus scrapes `/metrics` (it marks a target it cannot parse
/// as down) and reads a refusal counter from it.
#[tokio::test]
async fn prometheus_scrapes_the_exposition() {
    let server = common::start_server().await;
    let (status, _) = common::get(
        server.addr,
        "/socket.io/?EIO=4&transport=polling",
        "Origin: http://evil.example\r\n",
    )
    .await;
    assert_eq!(status, 403);
    let prometheus = Prometheus::start(server.addr);
    let mut seen = (None, None);
    let scraped = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            seen = (
                prometheus.query("up{job=\"iss\"}").await,
                prometheus
                    .query("iss_refused_total{cause=\"origin\"}")
                    .await,
            );
            if seen == (Some(1.0), Some(1.0)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await;
    assert!(
        scraped.is_ok(),
        "(up, origin refusals) as Prometheus read them: {seen:?}"
    );
    drop(prometheus);
    server.shutdown().await.unwrap();
}
