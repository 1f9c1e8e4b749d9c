//! CPU pinning: servers on CPU 0, load generators on CPU 1, so neither steals
//! the other's core and the server's CPU time is its own.

use std::path::Path;
use std::process::Command;

/// Whether pinning is possible here (taskset exists and there are ≥ 2 CPUs).
pub struct Pinning {
    pub enabled: bool,
}

impl Pinning {
    pub fn detect() -> Pinning {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let taskset = Command::new("taskset").arg("-V").output().is_ok();
        Pinning {
            enabled: cpus >= 2 && taskset,
        }
    }

    fn command(&self, cpu: &str, program: &Path) -> Command {
        if self.enabled {
            let mut command = Command::new("taskset");
            command.args(["-c", cpu]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    /// A server process, on CPU 0.
    pub fn server(&self, program: &Path) -> Command {
        self.command("0", program)
    }

    /// A load generator process, on CPU 1.
    pub fn generator(&self, program: &Path) -> Command {
        self.command("1", program)
    }

    /// One line for the report.
    pub fn describe(&self) -> &'static str {
        if self.enabled {
            "servers pinned to CPU 0, load generators to CPU 1 (taskset)"
        } else {
            "not pinned (no taskset or fewer than 2 CPUs)"
        }
    }
}
