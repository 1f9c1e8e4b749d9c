//! CPU pinning: servers on CPU 0, load generators on CPU 1, so neither steals
//! the other's core and the server's CPU time is its own.

use std::os::unix::process::CommandExt;

use duct::Expression;

/// Whether pinning is possible here (at least 2 CPUs).
pub struct Pinning {
    pub enabled: bool,
}

impl Pinning {
    pub fn detect() -> Pinning {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        Pinning { enabled: cpus >= 2 }
    }

    /// `command`, which will run on CPU `cpu` only (`taskset -c CPU`).
    fn on(&self, cpu: usize, command: Expression) -> Expression {
        if !self.enabled {
            return command;
        }
        command.before_spawn(move |c| {
            // SAFETY: between fork and exec the hook makes one system call
            // (async-signal-safe) on memory of its own.
            unsafe {
                c.pre_exec(move || {
                    let mut set: libc::cpu_set_t = std::mem::zeroed();
                    libc::CPU_SET(cpu, &mut set);
                    if libc::sched_setaffinity(0, size_of::<libc::cpu_set_t>(), &set) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
            Ok(())
        })
    }

    /// A server process, on CPU 0.
    pub fn server(&self, command: Expression) -> Expression {
        self.on(0, command)
    }

    /// A load generator process, on CPU 1.
    pub fn generator(&self, command: Expression) -> Expression {
        self.on(1, command)
    }

    /// One line for the report.
    pub fn describe(&self) -> &'static str {
        if self.enabled {
            "servers pinned to CPU 0, load generators to CPU 1 (sched_setaffinity)"
        } else {
            "not pinned (fewer than 2 CPUs)"
        }
    }
}
