//! The reference peers: installing them at their pinned versions, and
//! what is installed.

use super::*;

/// The venv's python with `interop/requirements.txt` installed (Flask-SocketIO
/// 5.7 and python-socketio 5).
pub(crate) fn python_peers(root: &Path) -> Result<PathBuf, String> {
    python_venv(
        root,
        "requirements.txt",
        "venv",
        "the Flask-SocketIO and python-socketio peers",
    )
}

/// The seed backend's venv (`interop/requirements-seed.txt`: Flask-SocketIO
/// 4.3.2, eventlet), apart from the other: their pins conflict.
pub(super) fn seed_python(root: &Path) -> Result<PathBuf, String> {
    python_venv(
        root,
        "requirements-seed.txt",
        "venv-seed",
        "the seed backend",
    )
}

/// A venv in `target/interop/<venv>` with `interop/<requirements>` installed;
/// `pip install` runs only when the requirements changed since the last one.
fn python_venv(root: &Path, requirements: &str, venv: &str, what: &str) -> Result<PathBuf, String> {
    let requirements_path = root.join("interop").join(requirements);
    let requirements = read(&requirements_path)?;
    let venv = root.join("target/interop").join(venv);
    let python = venv.join("bin/python");
    let stamp = venv.join(".iss-requirements.txt");
    let python_runs = || {
        Command::new(&python)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if python_runs() && std::fs::read_to_string(&stamp).ok().as_ref() == Some(&requirements) {
        return Ok(python);
    }
    if !python_runs() {
        println!(
            "xtask: creating the Python venv {} ({what})",
            venv.display()
        );
        run_bounded(
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
            INSTALL_WITHIN,
            Echo::Plain,
        )
        .and_then(Finished::ok)
        .map_err(|e| {
            format!(
                "{e}\n(the interop peers need Python 3.9+ with venv: \
                 apt-get install python3 python3-venv)"
            )
        })?;
    }
    println!(
        "xtask: pip install -r {} (pinned peers, from PyPI)",
        requirements_path.display()
    );
    run_bounded(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg("-r")
            .arg(&requirements_path),
        INSTALL_WITHIN,
        Echo::Plain,
    )?
    .ok()?;
    std::fs::write(&stamp, &requirements)
        .map_err(|e| format!("cannot write {}: {e}", stamp.display()))?;
    Ok(python)
}

/// `npm ci` in `interop/` unless `node_modules` already holds exactly the
/// committed lockfile's packages (a stamp written after the last `npm ci`).
pub(crate) fn node_peers(root: &Path) -> Result<(), String> {
    let dir = root.join("interop");
    let lock = read(&dir.join("package-lock.json"))?;
    let stamp = dir.join("node_modules/.iss-package-lock.json");
    let installed = NODE_PACKAGES.iter().all(|p| {
        dir.join("node_modules")
            .join(p)
            .join("package.json")
            .exists()
    });
    if installed && std::fs::read_to_string(&stamp).ok().as_ref() == Some(&lock) {
        return Ok(());
    }
    println!(
        "xtask: npm ci in interop/ (socket.io, socket.io-client 4.8, 2.5 and 1.4.4, \
         AngularJS 1.4.8, from the lockfile)"
    );
    run_bounded(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir),
        INSTALL_WITHIN,
        Echo::Plain,
    )
    .and_then(Finished::ok)
    .map_err(|e| format!("{e}\n(the node peers need Node.js 18+ with npm)"))?;
    std::fs::write(&stamp, &lock).map_err(|e| format!("cannot write {}: {e}", stamp.display()))
}

/// One line per runtime with the peer packages actually installed.
pub(super) fn peer_versions(root: &Path, python: &Path, seed: &Path) -> Vec<String> {
    let py = python_versions(python, PYTHON_PACKAGES);
    let seed = format!("seed backend: {}", python_versions(seed, SEED_PACKAGES));
    let node_version = Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let packages: Vec<String> = NODE_PACKAGES
        .iter()
        .map(|p| {
            let file = root
                .join("interop/node_modules")
                .join(p)
                .join("package.json");
            let version = std::fs::read_to_string(file)
                .ok()
                .and_then(|json| json_string_field(&json, "version"))
                .unwrap_or_else(|| "?".to_owned());
            format!("{p} {version}")
        })
        .collect();
    vec![
        py,
        seed,
        format!("node {node_version}: {}", packages.join(", ")),
    ]
}

/// `Python 3.x: package version, …` as installed in a venv.
fn python_versions(python: &Path, packages: &[&str]) -> String {
    let script = format!(
        "import sys\nfrom importlib.metadata import version\n\
         print('Python', sys.version.split()[0] + ':', ', '.join(p + ' ' + version(p) for p in {packages:?}))"
    );
    Command::new(python)
        .args(["-c", &script])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "Python peers: versions unknown".to_owned())
}

/// A string field of a JSON text (a package.json), if it has one.
pub(super) fn json_string_field(json: &str, field: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    value.get(field)?.as_str().map(str::to_owned)
}

/// The original page (`interop/seed_page/index.html`, AngularJS 1.4.8 and
/// socket.io-client 1.4.4 from the npm packages) in `target/interop/seed-page`,
/// for the seed backend to serve.
pub(crate) fn install_seed_page(root: &Path) -> Result<PathBuf, String> {
    let dir = root.join("target/interop/seed-page");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
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
            .map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
    }
    Ok(dir)
}
