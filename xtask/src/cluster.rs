//! `cargo xtask cluster`: the shared mode on one machine, as it would be
//! deployed: Redis, N server processes (nodes) on it, and nginx in front.
//!
//! ```text
//!  browser ─▶ nginx 127.0.0.1:3000 ─┬─▶ node 1 ─┐
//!             (sticky by cookie,     ├─▶ node 2 ─┼─▶ redis (free port, no persistence)
//!              websocket upgrade)    └─▶ node 3 ─┘
//! ```
//!
//! Everything runs on free loopback ports except the front door, writes its
//! log and configuration under `target/cluster/`, and is stopped when the
//! [`Cluster`] is dropped (Ctrl-C in `run`). The end-to-end test and the
//! benchmark's S6 start the same [`Cluster`].

use std::ffi::OsStr;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{ensure, Result};
use duct::{cmd, Expression};

use crate::process::{
    self, cargo, create_dir, free_port, repo_root, until_interrupted, write_file, Server,
};
use crate::setup;

/// Where `cargo xtask cluster` answers unless told otherwise.
pub const DEFAULT_FRONT: &str = "127.0.0.1:3000";

/// The cookie nginx routes by (set on the first response, so a browser
/// keeps talking to one node: long-polling needs it).
const ROUTE_COOKIE: &str = "iss_route";

pub struct Options {
    /// nginx's address.
    pub front: SocketAddr,
    pub nodes: usize,
    /// The server binary (release for `cluster` and the bench, debug for tests).
    pub server: PathBuf,
    /// The built page every node serves.
    pub dist: PathBuf,
    /// Logs and configuration.
    pub dir: PathBuf,
    /// Extra flags for every node.
    pub node_args: Vec<String>,
}

/// A running cluster. Fields drop in order: the front door first, Redis last.
pub struct Cluster {
    pub nginx: Server,
    pub nodes: Vec<Server>,
    pub redis: Server,
}

impl Cluster {
    /// Starts Redis, the nodes, then nginx; each is ready before the next.
    pub fn start(options: &Options) -> Result<Cluster> {
        setup::cluster_tools()?;
        create_dir(&options.dir)?;
        ensure!(
            TcpStream::connect_timeout(&options.front, Duration::from_millis(200)).is_err(),
            "something already listens on {}: stop it first (`cargo xtask serve`?), \
                 or choose another port",
            options.front
        );
        let redis = redis(&options.dir, &options.dir.join("redis.log"), |redis| redis)?;
        let redis_url = format!("{}/", redis.url());
        let mut nodes = Vec::new();
        for i in 0..options.nodes {
            nodes.push(start_node(options, i, &redis_url)?);
        }
        let upstreams: Vec<SocketAddr> = nodes.iter().map(Server::addr).collect();
        let nginx = start_nginx(&options.dir, options.front, &upstreams)?;
        Ok(Cluster {
            nginx,
            nodes,
            redis,
        })
    }
}

/// Redis on a free port, without persistence (the nodes rebuild the shared
/// state), its files in `dir`; `place` may pin it to a CPU (the benchmark).
pub fn redis(
    dir: &Path,
    log: &Path,
    place: impl FnOnce(Expression) -> Expression,
) -> Result<Server> {
    let addr = free_port()?;
    // No persistence: no append-only file, and `--save ""` (no snapshots).
    let port = addr.port();
    let flags = format!("--port {port} --bind 127.0.0.1 --appendonly no --dir");
    let args = flags.split(' ').map(OsStr::new).chain([dir.as_os_str()]);
    let args = args.chain(["--save", ""].map(OsStr::new));
    let redis = duct::cmd(setup::REDIS_SERVER, args);
    Server::redis(addr, &place(redis), log)
}

fn start_node(options: &Options, i: usize, redis_url: &str) -> Result<Server> {
    let addr = free_port()?;
    // nginx names the client in X-Forwarded-For.
    let args = format!("--bind {addr} --redis-url {redis_url} --trusted-proxy 127.0.0.1 --dist");
    let args = args
        .split(' ')
        .map(OsStr::new)
        .chain([options.dist.as_os_str()]);
    let args = args.chain(options.node_args.iter().map(OsStr::new));
    let node = duct::cmd(&options.server, args);
    let log = options.dir.join(format!("node{}.log", i + 1));
    Server::start("node", addr, &node, &log)
}

fn start_nginx(dir: &Path, front: SocketAddr, upstreams: &[SocketAddr]) -> Result<Server> {
    let prefix = dir.join("nginx");
    for temp in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        let temp = prefix.join("temp").join(temp);
        create_dir(&temp)?;
    }
    let conf = prefix.join("nginx.conf");
    write_file(&conf, nginx_conf(front, upstreams, &prefix))?;
    let error_log = prefix.join("error.log");
    let nginx = cmd!(setup::NGINX, "-p", &prefix, "-c", &conf, "-e", error_log);
    Server::start("nginx", front, &nginx, &dir.join("nginx.log"))
}

/// The documented `location` settings (`docs/SECURITY.md`): the cluster is
/// deployed as the docs say, client addresses in `X-Forwarded-For` included.
pub const ISS_LOCATION: &str = include_str!("../../docs/nginx/iss-location.conf");

/// nginx in front of the nodes.
///
/// - The `location` is [`ISS_LOCATION`], the documented one.
/// - Websockets are upgraded and may stay open for an hour.
/// - Routing is sticky, which Socket.IO's long-polling needs (every poll of
///   a session must reach the node that holds it): by the `iss_route`
///   cookie, which the first response sets to a random value; without the
///   cookie (that first request, or a client that keeps no cookies), by the
///   client's address. Consistent hashing: when a node dies only its
///   clients move.
/// - Responses name the node that answered (`X-Iss-Node`), for tests and
///   for whoever debugs a deployment.
/// - Nothing is buffered to disk, nothing is logged per request.
pub fn nginx_conf(front: SocketAddr, upstreams: &[SocketAddr], prefix: &Path) -> String {
    let prefix = prefix.display();
    let location: String = ISS_LOCATION
        .lines()
        .map(|line| format!("            {line}\n"))
        .collect();
    let servers: String = upstreams
        .iter()
        .map(|addr| format!("        server {addr};\n"))
        .collect();
    format!(
        r#"# Written by `cargo xtask cluster`; see xtask/src/cluster.rs.
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{
    worker_connections 20000;
}}
worker_rlimit_nofile 50000;
http {{
    access_log off;
    client_body_temp_path {prefix}/temp/body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        "" "";
    }}
    map $cookie_{ROUTE_COOKIE} $iss_route {{
        "" $remote_addr;
        default $cookie_{ROUTE_COOKIE};
    }}
    map $cookie_{ROUTE_COOKIE} $iss_new_route {{
        "" "{ROUTE_COOKIE}=$request_id; Path=/; HttpOnly; SameSite=Lax";
        default "";
    }}
    upstream iss {{
        hash $iss_route consistent;
{servers}        keepalive 32;
    }}
    server {{
        listen {front};
        location / {{
{location}
            add_header Set-Cookie $iss_new_route;
            add_header X-Iss-Node $upstream_addr always;
        }}
    }}
}}
"#
    )
}

/// `cargo xtask cluster`: builds the page and the release server, starts
/// Redis, the nodes and nginx, prints where they are, and stops them all on
/// Ctrl-C.
pub fn run(front: SocketAddr, nodes: usize) -> Result<()> {
    setup::cluster_tools()?;
    setup::wasm_toolchain()?;
    let dist = crate::toolchain::build_frontend_release()?;
    let root = repo_root();
    println!("xtask: ── cargo build --release -p server");
    process::run(&cargo(["build", "--release", "-p", "server"]))?;
    let dir = root.join("target/cluster");
    let cluster = Cluster::start(&Options {
        front,
        nodes,
        server: root.join("target/release/server"),
        dist,
        dir: dir.clone(),
        node_args: Vec::new(),
    })?;
    println!("xtask: ──");
    let (url, front) = (cluster.nginx.url(), cluster.nginx.addr());
    println!("xtask: open {url}  (nginx on {front}; each browser sticks to one node)");
    for (i, node) in cluster.nodes.iter().enumerate() {
        println!("xtask: node {}: {}", i + 1, node.url());
    }
    println!("xtask: redis: {}/", cluster.redis.url());
    let dir = dir.display();
    println!("xtask: logs and nginx.conf in {dir}; Ctrl-C stops everything");
    until_interrupted();
    println!("xtask: stopping nginx, the nodes, then redis");
    drop(cluster);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_routes_to_every_node_and_sticks_by_cookie() {
        let front: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        let nodes: Vec<SocketAddr> = ["127.0.0.1:4001", "127.0.0.1:4002"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let conf = nginx_conf(front, &nodes, Path::new("/tmp/x"));
        assert!(conf.contains("listen 127.0.0.1:3000;"));
        assert!(conf.contains("server 127.0.0.1:4001;") && conf.contains("server 127.0.0.1:4002;"));
        assert!(conf.contains("hash $iss_route consistent;"));
        assert!(conf.contains("map $cookie_iss_route $iss_route"));
        assert!(conf.contains("proxy_set_header Upgrade $http_upgrade;"));
        assert!(conf.contains("            proxy_set_header X-Forwarded-For $remote_addr;\n"));
        assert_eq!(conf.matches('{').count(), conf.matches('}').count());
    }
}
