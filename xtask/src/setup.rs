//! Installing what a fresh machine lacks, so `cargo xtask test` passes on a
//! machine that has only the base toolchain.

use std::process::Command;

/// Debian packages the native tests build against: rust_socketio (the
/// third-party client in the server tests) links OpenSSL through pkg-config.
const SYSTEM_PACKAGES: &[&str] = &["pkg-config", "libssl-dev"];

/// Installs missing [`SYSTEM_PACKAGES`] with apt when running as root;
/// otherwise says exactly what to install.
pub fn system_packages() -> Result<(), String> {
    let missing: Vec<&str> = SYSTEM_PACKAGES
        .iter()
        .copied()
        .filter(|package| !deb_installed(package))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        return Err(format!(
            "missing system packages: {0}\ninstall them with: sudo apt-get install -y {0}",
            missing.join(" ")
        ));
    }
    println!("xtask: installing {}", missing.join(" "));
    crate::test::run_checked(Command::new("apt-get").arg("update").arg("-q"))?;
    crate::test::run_checked(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn deb_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}
