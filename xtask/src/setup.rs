//! Installing what a fresh machine lacks, so `cargo xtask test` passes on a
//! machine that has only the base toolchain (Rust, Node/npm, apt). Every
//! check is cheap when the tool is there; an install says what and why.
//! Nothing comes from GitHub: Rust tools from crates.io, wasm-opt from npm,
//! Chromium from apt. The pins and their traps are on the items below.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use duct::{cmd, IntoExecutablePath};

use crate::process::{cargo, read, read_text, repo_root, run, took};

/// Debian packages the native tests build against: rust_socketio (the
/// third-party client in the server tests) links OpenSSL through pkg-config.
const SYSTEM_PACKAGES: &[&str] = &["pkg-config", "libssl-dev"];

/// The trunk release that builds with rustc 1.95 (0.22 needs 1.96.1).
pub const TRUNK_VERSION: &str = "0.21.14";

/// The binaryen major version trunk is pinned to (`wasm_opt = "version_132"`
/// in Trunk.toml), installed from npm by `tools/package.json`.
pub const BINARYEN_VERSION: &str = "132";

/// Chromium and its driver, for the browser tests (Debian paths).
const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// `cargo xtask setup`: everything the tests and `serve` need.
pub fn all() -> Result<()> {
    system_packages()?;
    wasm_toolchain()?;
    chromium()?;
    cluster_tools()
}

pub fn system_packages() -> Result<()> {
    let missing: Vec<&str> = SYSTEM_PACKAGES
        .iter()
        .copied()
        .filter(|package| !deb_installed(package))
        .collect();
    let need = format!("missing system packages: {}", missing.join(" "));
    apt(&missing, &need, "")
}

/// Everything a wasm build needs, in order: the Rust target, wasm-bindgen-cli
/// (matching Cargo.lock), trunk and binaryen's wasm-opt.
pub fn wasm_toolchain() -> Result<()> {
    wasm_target()?;
    wasm_bindgen_cli()?;
    trunk()?;
    binaryen()
}

/// Adds the `wasm32-unknown-unknown` target with rustup if it is missing.
pub fn wasm_target() -> Result<()> {
    const TARGET: &str = "wasm32-unknown-unknown";
    let installed = read(&cmd!("rustup", "target", "list", "--installed"))
        .context("cannot run `rustup target list --installed`: is rustup installed?")?;
    if installed.lines().any(|line| line.trim() == TARGET) {
        return Ok(());
    }
    println!("xtask: installing the Rust target {TARGET} (the page is compiled to WebAssembly)");
    let started = Instant::now();
    run(&cmd!("rustup", "target", "add", TARGET))?;
    took("rustup target add", started);
    Ok(())
}

/// Makes `wasm-bindgen` and `wasm-bindgen-test-runner` on [`tool_path`] the
/// exact version of the `wasm-bindgen` crate in Cargo.lock (trunk and the
/// test runner refuse any other), installing `wasm-bindgen-cli` from
/// crates.io if needed. Installed *without* `--locked`: its own lockfile names
/// a crate version the registry does not have.
pub fn wasm_bindgen_cli() -> Result<()> {
    let lock_path = repo_root().join("Cargo.lock");
    let lock = read_text(&lock_path)?;
    let wanted = locked_version(&lock, "wasm-bindgen").with_context(|| {
        format!(
            "no wasm-bindgen package in {}: is the frontend in the workspace?",
            lock_path.display()
        )
    })?;
    let tools = ["wasm-bindgen", "wasm-bindgen-test-runner"];
    let found = tools.map(|tool| (tool, tool_version(tool, 1)));
    let current = found.iter().all(|(_, v)| v.as_deref() == Some(&*wanted));
    if current {
        return Ok(());
    }
    println!(
        "xtask: installing wasm-bindgen-cli {wanted} from crates.io (found {}; it must equal \
         wasm-bindgen in Cargo.lock) — about 2 min",
        found_list(&found)
    );
    let started = Instant::now();
    let install = format!("install wasm-bindgen-cli --version {wanted}");
    run(&cargo(install.split(' ')))?;
    took("cargo install wasm-bindgen-cli", started);
    for tool in tools {
        expect_version(tool, tool_version(tool, 1), &wanted)?;
    }
    Ok(())
}

/// Makes `trunk` on [`tool_path`] version [`TRUNK_VERSION`], installing it
/// from crates.io (`--locked`) if needed.
///
/// Without its default features (TLS and the update check): trunk never
/// downloads anything here (every tool it calls is installed by this file),
/// and leaving out rustls/ring and the crates.io client takes the build from
/// 12 m 16 s to 10 m 49 s on the 2-core CI machine (measured 2026-11-30,
/// `cargo install` from a warm registry cache).
pub fn trunk() -> Result<()> {
    let found = tool_version("trunk", 1);
    if found.as_deref() == Some(TRUNK_VERSION) {
        return Ok(());
    }
    println!(
        "xtask: installing trunk {TRUNK_VERSION} from crates.io (found {}; it builds the page, \
         and newer releases need a newer rustc) — about 11 min",
        found.as_deref().unwrap_or("none")
    );
    let started = Instant::now();
    let install = format!("install --locked --no-default-features trunk --version {TRUNK_VERSION}");
    run(&cargo(install.split(' ')))?;
    took("cargo install trunk", started);
    expect_version("trunk", tool_version("trunk", 1), TRUNK_VERSION)
}

/// Makes `tools/node_modules/.bin/wasm-opt` binaryen [`BINARYEN_VERSION`],
/// running `npm ci` in `tools/` if needed. Debian's binaryen is never used:
/// its wasm-opt 108 silently produces a page that fails at run time.
pub fn binaryen() -> Result<()> {
    let wasm_opt = tools_bin().join("wasm-opt");
    let found = tool_version(&wasm_opt, 2);
    if found.as_deref() == Some(BINARYEN_VERSION) {
        return Ok(());
    }
    println!(
        "xtask: installing binaryen {BINARYEN_VERSION} (wasm-opt) from npm with `npm ci` in \
         tools/ (found {}; trunk shrinks the release wasm with it)",
        found.as_deref().unwrap_or("none")
    );
    let started = Instant::now();
    run(&cmd!("npm", "ci", "--no-audit", "--no-fund").dir(repo_root().join("tools")))
        .context("wasm-opt comes from npm: is Node.js with npm installed?")?;
    took("npm ci", started);
    expect_version(
        &wasm_opt.display().to_string(),
        tool_version(&wasm_opt, 2),
        BINARYEN_VERSION,
    )
}

pub fn chromium() -> Result<()> {
    let there = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    let missing: &[&str] = if there {
        &[]
    } else {
        &["chromium", "chromium-driver"]
    };
    let need = format!("the browser tests need {CHROMIUM} and {CHROMEDRIVER}");
    apt(missing, &need, " with apt (the browser tests drive it)")
}

/// Redis and nginx, for shared mode (`cargo xtask cluster` and the cluster
/// tests). Debian's own builds: redis-server 7.0 (the shared mode needs
/// ≥ 7: `GETDEL`, `SPOP` with a count, `XADD … MAXLEN ~`).
pub const REDIS_SERVER: &str = "/usr/bin/redis-server";
pub const NGINX: &str = "/usr/sbin/nginx";
/// A real Prometheus scrapes `/metrics` in `server/tests/metrics.rs`.
pub const PROMETHEUS: &str = "/usr/bin/prometheus";

/// Installs redis-server, nginx and prometheus if any is missing. None is
/// started as a service: the xtask runs its own, on free ports, and stops them.
pub fn cluster_tools() -> Result<()> {
    let missing: Vec<&str> = [
        ("redis-server", REDIS_SERVER),
        ("nginx", NGINX),
        ("prometheus", PROMETHEUS),
    ]
    .into_iter()
    .filter(|(_, path)| !Path::new(path).exists())
    .map(|(package, _)| package)
    .collect();
    let need = format!("the server tests need {REDIS_SERVER}, {NGINX} and {PROMETHEUS}");
    let why = " with apt (the cluster, proxy and metrics tests)";
    apt(&missing, &need, why)
}

/// `PATH` with `tools/node_modules/.bin` (wasm-opt) and cargo's bin folder
/// (trunk, wasm-bindgen) in front, so the pinned tools win over anything
/// else installed. trunk finds its tools only on PATH, so every trunk and
/// wasm test run should use this.
pub fn tool_path() -> OsString {
    let mut dirs = vec![tools_bin(), cargo_bin()];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).unwrap_or_else(|_| std::env::var_os("PATH").unwrap_or_default())
}

fn tools_bin() -> PathBuf {
    repo_root().join("tools/node_modules/.bin")
}

/// Where `cargo install` puts binaries: `$CARGO_INSTALL_ROOT/bin`, else
/// `$CARGO_HOME/bin`, else `~/.cargo/bin`.
fn cargo_bin() -> PathBuf {
    if let Some(root) = std::env::var_os("CARGO_INSTALL_ROOT") {
        return PathBuf::from(root).join("bin");
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo")
        });
    home.join("bin")
}

/// The version a tool on [`tool_path`] reports: word `word` of the first line
/// of `tool --version` (`trunk 0.21.14` → word 1, `wasm-opt version 132
/// (version_132)` → word 2).
fn tool_version(tool: impl IntoExecutablePath, word: usize) -> Option<String> {
    let out = read(&cmd!(tool, "--version").env("PATH", tool_path()))?;
    nth_word(&out, word)
}

fn nth_word(text: &str, n: usize) -> Option<String> {
    text.lines()
        .next()?
        .split_whitespace()
        .nth(n)
        .map(|word| word.trim_start_matches('v').to_owned())
}

fn expect_version(tool: &str, found: Option<String>, wanted: &str) -> Result<()> {
    match found {
        Some(version) if version == wanted => Ok(()),
        found => bail!(
            "{tool} is still not version {wanted} after installing it (found {}); \
             is another copy earlier on PATH, or CARGO_INSTALL_ROOT set elsewhere?",
            found.as_deref().unwrap_or("none")
        ),
    }
}

fn found_list(found: &[(&str, Option<String>)]) -> String {
    found
        .iter()
        .map(|(tool, version)| format!("{tool} {}", version.as_deref().unwrap_or("none")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The version of package `name` in a Cargo.lock's text (the first entry if
/// there are several).
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let wanted_name = format!("name = \"{name}\"");
    let mut in_package = false;
    for line in lock.lines().map(str::trim) {
        if line == "[[package]]" {
            in_package = false;
        } else if line == wanted_name {
            in_package = true;
        } else if in_package {
            if let Some(version) = line.strip_prefix("version = ") {
                return Some(version.trim_matches('"').to_owned());
            }
        }
    }
    None
}

/// Installs the `missing` Debian packages with apt when running as root,
/// saying `why`; otherwise fails with `need` and the command to run.
fn apt(missing: &[&str], need: &str, why: &str) -> Result<()> {
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.join(" ");
    ensure!(
        is_root(),
        "{need}\ninstall them with: sudo apt-get update && sudo apt-get install -y {list}"
    );
    println!("xtask: installing {list}{why}");
    let started = Instant::now();
    run(&cmd!("apt-get", "update", "-q"))?;
    let install = "install -y -q --no-install-recommends".split(' ');
    let install = duct::cmd("apt-get", install.chain(missing.iter().copied()));
    run(&install.env("DEBIAN_FRONTEND", "noninteractive"))?;
    took(&format!("apt-get install {list}"), started);
    Ok(())
}

fn deb_installed(package: &str) -> bool {
    let status = cmd!("dpkg-query", "-W", "-f=${Status}", package).unchecked();
    read(&status).is_some_and(|out| out.contains("install ok installed"))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"
[[package]]
name = "wasm-bindgen-macro"
version = "0.2.99"

[[package]]
name = "wasm-bindgen"
version = "0.2.130"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "web-sys"
version = "0.3.107"
"#;

    #[test]
    fn reads_the_locked_version() {
        assert_eq!(
            locked_version(LOCK, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(locked_version(LOCK, "web-sys").as_deref(), Some("0.3.107"));
        assert_eq!(locked_version(LOCK, "trunk"), None);
    }

    #[test]
    fn the_workspace_lock_pins_wasm_bindgen() {
        let lock = std::fs::read_to_string(repo_root().join("Cargo.lock")).unwrap();
        assert!(locked_version(&lock, "wasm-bindgen").is_some());
    }

    #[test]
    fn reads_tool_versions() {
        assert_eq!(nth_word("trunk 0.21.14\n", 1).as_deref(), Some("0.21.14"));
        assert_eq!(
            nth_word("wasm-bindgen-test-runner 0.2.130", 1).as_deref(),
            Some("0.2.130")
        );
        assert_eq!(
            nth_word("wasm-opt version 132 (version_132)", 2).as_deref(),
            Some("132")
        );
        assert_eq!(nth_word("", 1), None);
    }

    #[test]
    fn tool_path_puts_the_pinned_tools_first() {
        let path = tool_path();
        let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
        assert_eq!(dirs[0], repo_root().join("tools/node_modules/.bin"));
        assert!(dirs[1].ends_with("bin"));
    }
}
