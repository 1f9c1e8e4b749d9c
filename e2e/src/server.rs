//! The server as a child process on a fixed loopback port, so a test can
//! SIGKILL it and start it again on the same port.

use std::net::{SocketAddr, TcpListener};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::wait::eventually;

/// A running (or killed) server. Killed when dropped.
pub struct ServerProcess {
    pub addr: SocketAddr,
    binary: String,
    dist: String,
    /// Arguments after the address and the page (e.g. heartbeat settings).
    extra: Vec<String>,
    child: Option<Child>,
}

impl ServerProcess {
    /// Starts the server on a free port, serving `dist`.
    pub async fn start(binary: &str, dist: &str) -> ServerProcess {
        Self::start_with(binary, dist, &[]).await
    }

    /// The same, with more command-line arguments.
    pub async fn start_with(binary: &str, dist: &str, extra: &[&str]) -> ServerProcess {
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port");
        let mut server = ServerProcess {
            addr,
            binary: binary.to_owned(),
            dist: dist.to_owned(),
            extra: extra.iter().map(|a| (*a).to_owned()).collect(),
            child: None,
        };
        server.restart().await;
        server
    }

    /// Starts it (again) on the same address and waits for `/healthz`.
    pub async fn restart(&mut self) {
        let child = Command::new(&self.binary)
            .args(["--bind", &self.addr.to_string(), "--dist", &self.dist])
            .args(["--log", "warn"])
            .args(&self.extra)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary));
        self.child = Some(child);
        let addr = self.addr;
        eventually("the server's /healthz", || async move {
            Ok(get(addr, "/healthz")
                .await
                .ok()
                .filter(|b| b.contains("ok")))
        })
        .await;
    }

    /// SIGKILL: no goodbye to anyone.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("SIGKILL the server");
        }
    }

    /// The page's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// `/api/stats`, typed.
    pub async fn stats(&self) -> shared::stats::StatsView {
        let body = get(self.addr, "/api/stats").await.expect("GET /api/stats");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("stats {body:?}: {e}"))
    }
}

/// A `GET` with a 5 s deadline; the body of a 200. ureq is blocking, so it
/// runs on tokio's blocking pool.
pub async fn get(addr: SocketAddr, path: &str) -> Result<String, String> {
    let url = format!("http://{addr}{path}");
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            // Loopback: never through a proxy from the environment.
            .proxy(None)
            .build()
            .into();
        let mut response = agent.get(&url).call().map_err(|e| e.to_string())?;
        response
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}
