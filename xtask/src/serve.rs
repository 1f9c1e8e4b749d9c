//! `cargo xtask serve` (the release build, as users get it) and
//! `cargo xtask dev` (trunk's live-reloading page in front of the server).

use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::proc::{cargo, describe, repo_root, run_checked, stop};

/// Where the server listens unless told otherwise (its own default).
const DEFAULT_BIND: &str = "127.0.0.1:3000";

/// Where `trunk serve` shows the page in `dev` (Trunk.toml `[serve]`).
const DEV_PAGE: &str = "http://127.0.0.1:8080";

/// `cargo xtask serve [--bind ADDR]`: installs the wasm tools if needed,
/// builds the page for release, then runs the release server on it in the
/// foreground until Ctrl-C.
pub fn serve(bind: Option<SocketAddr>) -> Result<(), String> {
    crate::setup::wasm_toolchain()?;
    let dist = crate::toolchain::build_frontend_release()?;
    let root = repo_root();
    println!("xtask: ── cargo build --release -p server");
    run_checked(
        cargo()
            .args(["build", "--release", "-p", "server"])
            .current_dir(&root),
    )?;
    let mut server = cargo();
    server
        .args([
            "run",
            "--quiet",
            "--release",
            "-p",
            "server",
            "--",
            "--dist",
        ])
        .arg(&dist)
        .current_dir(&root);
    if let Some(bind) = bind {
        server.arg("--bind").arg(bind.to_string());
    }
    let shown = bind.or_else(env_bind).unwrap_or_else(default_bind);
    println!(
        "xtask: serving {} — open {}  (Ctrl-C stops it)",
        dist.display(),
        url(shown)
    );
    hand_over(&mut server)
}

/// `cargo xtask dev`: the server (debug build, accepting the trunk page's
/// origin) in the background, `trunk serve` in the foreground; the server is
/// stopped when trunk exits. Ctrl-C reaches both.
pub fn dev() -> Result<(), String> {
    crate::setup::wasm_toolchain()?;
    let root = repo_root();
    // Built in the foreground first, so the server's and trunk's builds do not
    // wait on each other's cargo lock.
    run_checked(cargo().arg("fetch").current_dir(&root))?;
    println!("xtask: ── cargo build -p server");
    run_checked(cargo().args(["build", "-p", "server"]).current_dir(&root))?;
    let address = env_bind().unwrap_or_else(default_bind);
    if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
        return Err(format!(
            "something already listens on {address}: stop it first (another server?)"
        ));
    }
    let mut command = cargo();
    command
        .args(["run", "--quiet", "-p", "server", "--"])
        .args(["--allowed-origin", DEV_PAGE])
        .current_dir(&root);
    let mut server = command
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", describe(&command)))?;
    let ready = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = server.try_wait() {
            return Err(format!(
                "the server exited before serving ({status}); is {address} already in use?"
            ));
        }
        if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
            break;
        }
        if Instant::now() > ready {
            stop(&mut server, Duration::from_secs(5));
            return Err(format!(
                "the server did not listen on {address} within 60 s"
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!(
        "xtask: server on {}; the page with live reload: {DEV_PAGE}",
        url(address)
    );
    let trunk = run_checked(crate::toolchain::trunk_command(&root).arg("serve"));
    println!("xtask: stopping the server");
    stop(&mut server, Duration::from_secs(15));
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

/// Replaces xtask with the command (Unix), so Ctrl-C and signals go straight
/// to the server; elsewhere runs it to completion.
fn hand_over(command: &mut Command) -> Result<(), String> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let error = command.exec();
        Err(format!("cannot run {}: {error}", describe(command)))
    }
    #[cfg(not(unix))]
    {
        run_checked(command)
    }
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
