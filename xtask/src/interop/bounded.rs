//! Running a command with a deadline, and stopping its whole process tree.

use super::*;

#[derive(Clone, Copy)]
pub(super) enum Echo {
    /// Output as it comes.
    Plain,
    /// Output indented under the step header.
    Indented,
}

/// A command that ran to its end.
pub(super) struct Finished {
    pub(super) command: String,
    pub(super) status: ExitStatus,
    /// Its standard output, line by line.
    pub(super) lines: Vec<String>,
}

impl Finished {
    pub(super) fn ok(self) -> Result<(), String> {
        if self.status.success() {
            Ok(())
        } else {
            Err(format!("`{}` failed ({})", self.command, self.status))
        }
    }
}

/// Runs `command`, echoing and keeping its stdout (stderr is inherited),
/// and stops it with all its descendants if it outlives `within`.
pub(super) fn run_bounded(
    command: &mut Command,
    within: Duration,
    echo: Echo,
) -> Result<Finished, String> {
    let name = describe(command);
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{name}`: {e}"))?;
    let (sender, receiver) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
    }
    let mut lines = Vec::new();
    let mut keep = |line: String| {
        match echo {
            Echo::Plain => println!("{line}"),
            Echo::Indented => println!("    {line}"),
        }
        lines.push(line);
    };
    let deadline = Instant::now() + within;
    let status = loop {
        while let Ok(line) = receiver.try_recv() {
            keep(line);
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(format!("cannot wait for `{name}`: {e}")),
        }
        if Instant::now() >= deadline {
            stop_tree(&mut child);
            while let Ok(line) = receiver.try_recv() {
                keep(line);
            }
            return Err(format!(
                "`{name}` did not finish within {} s and was stopped",
                within.as_secs()
            ));
        }
        if let Ok(line) = receiver.recv_timeout(Duration::from_millis(50)) {
            keep(line);
        }
    };
    // The rest of its output (bounded: a leftover grandchild may hold the pipe).
    let drain_until = Instant::now() + Duration::from_secs(5);
    while let Some(left) = drain_until.checked_duration_since(Instant::now()) {
        match receiver.recv_timeout(left) {
            Ok(line) => keep(line),
            Err(_) => break,
        }
    }
    Ok(Finished {
        command: name,
        status,
        lines,
    })
}

/// Stops a child and every process it started (found through /proc, by
/// process id): SIGTERM to all, then SIGKILL to what is left after 5 s.
pub(super) fn stop_tree(child: &mut Child) {
    let mut pids = descendants(child.id());
    pids.reverse();
    let signal = |sig: &str, pids: &[u32]| {
        if pids.is_empty() {
            return;
        }
        let _ = Command::new("kill")
            .arg(sig)
            .args(pids.iter().map(u32::to_string))
            .stderr(Stdio::null())
            .status();
    };
    signal("-TERM", &pids);
    stop(child, Duration::from_secs(5));
    let alive: Vec<u32> = pids
        .into_iter()
        .filter(|pid| Path::new(&format!("/proc/{pid}")).exists())
        .collect();
    signal("-KILL", &alive);
}

/// Every descendant of `pid`, parents first (Linux /proc).
pub(super) fn descendants(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut queue = vec![pid];
    while let Some(parent) = queue.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{parent}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                found.push(child);
                queue.push(child);
            }
        }
    }
    found
}
