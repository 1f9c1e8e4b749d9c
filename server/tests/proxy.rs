//! Behind the documented nginx (`docs/nginx/iss-location.conf`, as
//! `docs/SECURITY.md` and `cargo xtask cluster` use it): every client has
//! its own per-source cap, and an `X-Forwarded-For` the client makes up
//! buys it nothing (bad input #75).
//!
//! Needs nginx at `/usr/sbin/nginx` (`ISS_NGINX` to use another);
//! `cargo xtask test` installs it.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The documented `location` settings, as deployed.
const LOCATION: &str = include_str!("../../docs/nginx/iss-location.conf");

/// An nginx in front of `upstream`, on a free loopback port, stopped (and
/// its files removed) on drop.
struct Nginx {
    child: Child,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Nginx {
    async fn start(upstream: SocketAddr) -> Nginx {
        let addr = free_port();
        let dir = std::env::temp_dir().join(format!("iss-proxy-test-{}", addr.port()));
        for temp in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            std::fs::create_dir_all(dir.join("temp").join(temp)).expect("nginx dirs");
        }
        let location: String = LOCATION
            .lines()
            .map(|line| format!("            {line}\n"))
            .collect();
        let prefix = dir.display();
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {prefix}/nginx.pid;\n\
             error_log {prefix}/error.log warn;\nevents {{ worker_connections 256; }}\n\
             http {{\n    access_log off;\n\
             client_body_temp_path {prefix}/temp/body;\nproxy_temp_path {prefix}/temp/proxy;\n\
             fastcgi_temp_path {prefix}/temp/fastcgi;\nuwsgi_temp_path {prefix}/temp/uwsgi;\n\
             scgi_temp_path {prefix}/temp/scgi;\n\
             map $http_upgrade $connection_upgrade {{ default upgrade; \"\" \"\"; }}\n\
             upstream iss {{ server {upstream}; }}\n\
             server {{\n        listen {addr};\n        location / {{\n{location}        }}\n    }}\n}}\n"
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf).expect("nginx.conf");
        let binary = std::env::var("ISS_NGINX").unwrap_or("/usr/sbin/nginx".into());
        let child = Command::new(&binary)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&path)
            .arg("-e")
            .arg(dir.join("error.log"))
            .spawn()
            .unwrap_or_else(|e| panic!("{binary}: {e} (cargo xtask test installs nginx)"));
        let nginx = Nginx { child, addr, dir };
        common::within("nginx to listen", async {
            while tokio::net::TcpStream::connect(addr).await.is_err() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        nginx
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address")
}

/// Opens a polling session through nginx from the loopback address `from`,
/// claiming `forwarded` in `X-Forwarded-For`; the HTTP status.
async fn open_session(nginx: SocketAddr, from: IpAddr, forwarded: Option<&str>) -> u16 {
    common::within("an answer through nginx", async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket
            .bind(SocketAddr::new(from, 0))
            .expect("bind a loopback source");
        let mut tcp = socket.connect(nginx).await.expect("connect to nginx");
        let forged = forwarded
            .map(|v| format!("X-Forwarded-For: {v}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: {nginx}\r\n{forged}\
             Connection: close\r\n\r\n"
        );
        tcp.write_all(head.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        tcp.read_to_end(&mut answer).await.unwrap();
        let answer = String::from_utf8_lossy(&answer);
        answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {answer:?}"))
    })
    .await
}

#[tokio::test]
async fn each_client_behind_the_documented_nginx_has_its_own_cap() {
    let server = common::start_with(|c| {
        c.max_per_source = 4;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        // The sessions stay open (unjoined) for the whole test.
        c.handshake_timeout_secs = 60;
    })
    .await;
    let nginx = Nginx::start(server.addr).await;
    let mallory: IpAddr = "127.0.0.2".parse().unwrap();
    let alice: IpAddr = "127.0.0.3".parse().unwrap();
    // 40 made-up addresses from one client: its own cap, no more.
    let mut statuses = Vec::new();
    for i in 0..40 {
        let forged = format!("198.51.100.{i}");
        statuses.push(open_session(nginx.addr, mallory, Some(&forged)).await);
    }
    let opened = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(opened, 4, "{statuses:?}");
    assert!(statuses[4..].iter().all(|s| *s == 503), "{statuses:?}");
    // Another client is not capped by the first: it gets its own four.
    for i in 0..4 {
        assert_eq!(
            open_session(nginx.addr, alice, None).await,
            200,
            "Alice #{i}"
        );
    }
    assert_eq!(open_session(nginx.addr, alice, None).await, 503);
    drop(nginx);
    server.shutdown().await.unwrap();
}

/// `docs/SECURITY.md` shows the deployed settings line for line.
#[test]
fn the_security_guide_shows_the_tested_location() {
    let guide = include_str!("../../docs/SECURITY.md");
    let shown: String = LOCATION
        .lines()
        .map(|line| {
            if line.is_empty() {
                "\n".to_owned()
            } else {
                format!("        {line}\n")
            }
        })
        .collect();
    assert!(
        guide.contains(&shown),
        "docs/SECURITY.md must show docs/nginx/iss-location.conf as deployed"
    );
}
