//! The reference peers: installing them at their pinned versions, and
//! what is installed.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use duct::{cmd, Expression};

use crate::process::{create_dir, read, read_text, run_bounded, script, write_file};

/// `pip install` or `npm ci`.
const INSTALL_WITHIN: Duration = Duration::from_secs(15 * 60);

/// Python packages whose installed versions the run prints.
const PYTHON_PACKAGES: &str =
    "Flask-SocketIO python-socketio python-engineio simple-websocket Flask Werkzeug websocket-client";
/// The seed backend's packages whose installed versions the run prints.
const SEED_PACKAGES: &str =
    "Flask-SocketIO python-socketio python-engineio eventlet Flask Werkzeug";
/// npm packages whose installed versions the run prints (the `-v1`/`-v2`
/// folders are npm aliases of older socket.io-client releases).
const NODE_PACKAGES: &str =
    "socket.io engine.io socket.io-client engine.io-client ws socket.io-client-v2 socket.io-client-v1 angular";

pub fn node_server(root: &Path, port: u16, origin: &str) -> Expression {
    let flags = format!("--port {port} --origin {origin}");
    script("node", &root.join("interop/node_server.js"), &flags)
}

/// The Flask-SocketIO peer on `port`, allowing `origin`; `polling_only`:
/// without a websocket transport.
pub fn flask_server(
    python: &Path,
    root: &Path,
    port: u16,
    origin: &str,
    polling_only: bool,
) -> Expression {
    let only = if polling_only { " --polling-only" } else { "" };
    let flags = format!("--port {port} --origin {origin}{only}");
    script(python, &root.join("interop/flask_server.py"), &flags).env("PYTHONUNBUFFERED", "1")
}

/// The venv's python with `interop/requirements.txt` installed (Flask-SocketIO
/// 5.7 and python-socketio 5).
pub fn python_peers(root: &Path) -> Result<PathBuf> {
    python_venv(
        root,
        "requirements.txt",
        "venv",
        "the Flask-SocketIO and python-socketio peers",
    )
}

/// The seed backend's venv (`interop/requirements-seed.txt`: Flask-SocketIO
/// 4.3.2, eventlet), apart from the other: their pins conflict.
pub(super) fn seed_python(root: &Path) -> Result<PathBuf> {
    python_venv(
        root,
        "requirements-seed.txt",
        "venv-seed",
        "the seed backend",
    )
}

/// A venv in `target/interop/<venv>` with `interop/<requirements>` installed;
/// `pip install` runs only when the requirements changed since the last one.
fn python_venv(root: &Path, requirements: &str, venv: &str, what: &str) -> Result<PathBuf> {
    let requirements_path = root.join("interop").join(requirements);
    let requirements = read_text(&requirements_path)?;
    let venv = root.join("target/interop").join(venv);
    let python = venv.join("bin/python");
    let stamp = venv.join(".iss-requirements.txt");
    let python_runs = || read(&cmd!(&python, "--version")).is_some();
    if python_runs() && std::fs::read_to_string(&stamp).ok().as_ref() == Some(&requirements) {
        return Ok(python);
    }
    if !python_runs() {
        let shown = venv.display();
        println!("xtask: creating the Python venv {shown} ({what})");
        run_bounded(&cmd!("python3", "-m", "venv", &venv), INSTALL_WITHIN, "")
            .and_then(|finished| finished.ok())
            .context("the interop peers need Python 3.9+ with venv: apt-get install python3 python3-venv")?;
    }
    let shown = requirements_path.display();
    println!("xtask: pip install -r {shown} (pinned peers, from PyPI)");
    let pip = "-m pip install --quiet --disable-pip-version-check -r".split(' ');
    let pip = pip.map(OsStr::new).chain([requirements_path.as_os_str()]);
    let pip = duct::cmd(&python, pip);
    run_bounded(&pip, INSTALL_WITHIN, "")?.ok()?;
    write_file(&stamp, &requirements)?;
    Ok(python)
}

/// `npm ci` in `interop/` unless `node_modules` already holds exactly the
/// committed lockfile's packages (a stamp written after the last `npm ci`).
pub fn node_peers(root: &Path) -> Result<()> {
    let dir = root.join("interop");
    let lock = read_text(&dir.join("package-lock.json"))?;
    let stamp = dir.join("node_modules/.iss-package-lock.json");
    let installed = NODE_PACKAGES
        .split(' ')
        .all(|p| dir.join(format!("node_modules/{p}/package.json")).exists());
    if installed && std::fs::read_to_string(&stamp).ok().as_ref() == Some(&lock) {
        return Ok(());
    }
    println!(
        "xtask: npm ci in interop/ (socket.io, socket.io-client 4.8, 2.5 and 1.4.4, \
         AngularJS 1.4.8, from the lockfile)"
    );
    let npm_ci = cmd!("npm", "ci", "--no-audit", "--no-fund").dir(&dir);
    run_bounded(&npm_ci, INSTALL_WITHIN, "")
        .and_then(|finished| finished.ok())
        .context("the node peers need Node.js 18+ with npm")?;
    write_file(&stamp, &lock)
}

/// One line per runtime with the peer packages actually installed.
pub(super) fn peer_versions(root: &Path, python: &Path, seed: &Path) -> Vec<String> {
    let py = python_versions(python, PYTHON_PACKAGES);
    let seed = format!("seed backend: {}", python_versions(seed, SEED_PACKAGES));
    let node_version = read(&cmd!("node", "--version")).unwrap_or_default();
    let packages: Vec<String> = NODE_PACKAGES
        .split(' ')
        .map(|p| {
            let file = root.join(format!("interop/node_modules/{p}/package.json"));
            let version = std::fs::read_to_string(file)
                .ok()
                .and_then(|json| json_string_field(&json, "version"))
                .unwrap_or_else(|| "?".to_owned());
            format!("{p} {version}")
        })
        .collect();
    let node = format!("node {node_version}: {}", packages.join(", "));
    vec![py, seed, node]
}

/// `Python 3.x: package version, …` as installed in a venv.
fn python_versions(python: &Path, packages: &str) -> String {
    let packages: Vec<&str> = packages.split(' ').collect();
    let script = format!(
        "import sys\nfrom importlib.metadata import version\n\
         print('Python', sys.version.split()[0] + ':', ', '.join(p + ' ' + version(p) for p in {packages:?}))"
    );
    read(&cmd!(python, "-c", script)).unwrap_or_else(|| "Python peers: versions unknown".to_owned())
}

pub(super) fn json_string_field(json: &str, field: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    value.get(field)?.as_str().map(str::to_owned)
}

/// The original page (`interop/seed_page/index.html`, AngularJS 1.4.8 and
/// socket.io-client 1.4.4 from the npm packages) in `target/interop/seed-page`,
/// for the seed backend to serve.
pub fn install_seed_page(root: &Path) -> Result<PathBuf> {
    let dir = root.join("target/interop/seed-page");
    create_dir(&dir)?;
    let modules = root.join("interop/node_modules");
    for (from, name) in [
        (root.join("interop/seed_page/index.html"), "index.html"),
        (modules.join("angular/angular.min.js"), "angular.min.js"),
        (
            modules.join("socket.io-client-v1/socket.io.js"),
            "socket.io.js",
        ),
    ] {
        std::fs::copy(&from, dir.join(name))
            .with_context(|| format!("cannot copy {}", from.display()))?;
    }
    Ok(dir)
}
