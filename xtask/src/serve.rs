//! `cargo xtask serve` (the release build, as users get it) and
//! `cargo xtask dev` (trunk's live-reloading page in front of the server).

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Result};

use crate::process::{cargo, repo_root, run, Process};

/// Where the server listens unless told otherwise (its own default).
const DEFAULT_BIND: &str = "127.0.0.1:3000";

/// Where `trunk serve` shows the page in `dev` (Trunk.toml `[serve]`).
const DEV_PAGE: &str = "http://127.0.0.1:8080";

/// `cargo xtask serve [--bind ADDR]`: installs the wasm tools if needed,
/// builds the page for release, then runs the release server on it in the
/// foreground until Ctrl-C.
pub fn serve(bind: Option<SocketAddr>) -> Result<()> {
    crate::setup::wasm_toolchain()?;
    let dist = crate::toolchain::build_frontend_release()?;
    let root = repo_root();
    println!("xtask: ── cargo build --release -p server");
    run(&cargo(["build", "--release", "-p", "server"]).dir(&root))?;
    let mut server = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    server
        .args("run --quiet --release -p server -- --dist".split(' '))
        .arg(&dist)
        .current_dir(&root);
    if let Some(bind) = bind {
        server.arg("--bind").arg(bind.to_string());
    }
    let shown = bind.or_else(env_bind).unwrap_or_else(default_bind);
    let (dist, url) = (dist.display(), url(shown));
    println!("xtask: serving {dist} — open {url}  (Ctrl-C stops it)");
    hand_over(&mut server)
}

/// `cargo xtask dev`: the server (debug build, accepting the trunk page's
/// origin) in the background, `trunk serve` in the foreground; the server is
/// stopped when trunk exits. Ctrl-C reaches both.
pub fn dev() -> Result<()> {
    crate::setup::wasm_toolchain()?;
    let root = repo_root();
    // Built in the foreground first, so the server's and trunk's builds do not
    // wait on each other's cargo lock.
    run(&cargo(["fetch"]).dir(&root))?;
    println!("xtask: ── cargo build -p server");
    run(&cargo(["build", "-p", "server"]).dir(&root))?;
    let address = env_bind().unwrap_or_else(default_bind);
    if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
        bail!("something already listens on {address}: stop it first (another server?)");
    }
    let command = cargo(format!("run --quiet -p server -- --allowed-origin {DEV_PAGE}").split(' '));
    let server = Process::start("the server", &command.dir(&root))?;
    server.wait_listening(address, Duration::from_secs(60), None)?;
    let url = url(address);
    println!("xtask: server on {url}; the page with live reload: {DEV_PAGE}");
    let trunk = run(&crate::toolchain::trunk(&root, ["serve"]));
    println!("xtask: stopping the server");
    server.terminate(Duration::from_secs(15));
    trunk
}

/// The server's `ISS_BIND`, which applies when `--bind` is not given.
fn env_bind() -> Option<SocketAddr> {
    std::env::var("ISS_BIND").ok()?.parse().ok()
}

fn default_bind() -> SocketAddr {
    DEFAULT_BIND.parse().expect("a valid default address")
}

/// The URL to open for a listening address; all-interfaces becomes loopback.
fn url(addr: SocketAddr) -> String {
    let mut shown = addr;
    if addr.ip().is_unspecified() {
        shown.set_ip(if addr.is_ipv4() {
            [127, 0, 0, 1].into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    format!("http://{shown}")
}

/// Replaces xtask with the command, so Ctrl-C and signals go straight to
/// the server.
fn hand_over(command: &mut Command) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let error = command.exec();
    bail!("cannot run {command:?}: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_a_url_to_open() {
        assert_eq!(url(default_bind()), "http://127.0.0.1:3000");
        assert_eq!(
            url("0.0.0.0:8000".parse().unwrap()),
            "http://127.0.0.1:8000"
        );
        assert_eq!(url("[::]:8000".parse().unwrap()), "http://[::1]:8000");
    }
}
