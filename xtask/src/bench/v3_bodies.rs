//! S7: what an Engine.IO v3 polling POST costs the server, a benign body
//! beside a hostile one of the same size (the repair and socketioxide's
//! decoder were quadratic on many small packets: 2.2 s of CPU for one
//! 256 KiB body). Bodies: **benign**, one message packet of the whole size;
//! **hostile**, `2:3🦀` frames (pongs whose length reading needs the
//! code-point fallback; the session survives them); **pongs**, `1:3` frames,
//! the most packets per byte. The server's CPU (from `/proc`) over the POSTs
//! to one live v3 session is divided by their number. Target: hostile and
//! pongs ≤ 2× benign at 256 KiB.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::shared_mode::cpu_secs;
use crate::process::Server;

const SIZES: [usize; 2] = [16 * 1024, 256 * 1024];

pub struct Row {
    pub size: usize,
    pub kind: &'static str,
    pub cpu_ms_per_post: f64,
    /// The server's answer (every POST of a kind gets the same).
    pub status: String,
}

/// Measures every kind at every size against `server`, `posts` each.
pub fn measure(server: &Server, posts: usize) -> Result<Vec<Row>> {
    let addr = server.addr();
    let pid = server.pid();
    let mut rows = Vec::new();
    for size in SIZES {
        for (kind, body) in bodies(size) {
            // A refused body closes nothing, but a fresh session per kind
            // keeps the kinds apart.
            let sid = open_session(addr)?;
            let before = cpu_secs(pid);
            let mut status = String::new();
            for i in 0..posts {
                status =
                    post(addr, &sid, &body).with_context(|| format!("S7 {kind} {size} #{i}"))?;
            }
            let cpu = cpu_secs(pid) - before;
            rows.push(Row {
                size,
                kind,
                cpu_ms_per_post: cpu * 1000.0 / posts as f64,
                status,
            });
        }
    }
    Ok(rows)
}

/// The markdown table, with the hostile/benign ratio and the verdict.
pub fn table(rows: &[Row], posts: usize) -> String {
    let mut out = format!(
        "## S7: Engine.IO v3 POST bodies, server CPU per POST ({posts} POSTs each)\n\n\
         | size | kind | answer | CPU ms / POST | × benign | target ≤ 2× |\n\
         |---:|---|---|---:|---:|---|\n"
    );
    for row in rows {
        let benign = rows
            .iter()
            .find(|r| r.size == row.size && r.kind == "benign")
            .map_or(f64::NAN, |r| r.cpu_ms_per_post);
        let ratio = row.cpu_ms_per_post / benign;
        let verdict = match (row.kind, row.size == SIZES[1]) {
            ("benign", _) | (_, false) => "",
            _ if ratio <= 2.0 => "met",
            _ => "**missed**",
        };
        let Row { kind, status, .. } = row;
        let (kib, cpu) = (row.size / 1024, row.cpu_ms_per_post);
        out.push_str(&format!(
            "| {kib} KiB | {kind} | {status} | {cpu:.3} | {ratio:.2} | {verdict} |\n"
        ));
    }
    out
}

/// `(kind, body)` of `size` bytes (a whole number of frames, just under).
fn bodies(size: usize) -> [(&'static str, Vec<u8>); 3] {
    // An event on `/`, which every v3 session joins unasked and where no
    // handler listens: read, then dropped.
    let header = r#"42["s7","#;
    let fill = size - header.len() - 12;
    let packet = format!("{header}\"{}\"]", "a".repeat(fill));
    let benign = format!("{}:{packet}", packet.len()).into_bytes();
    let repeat = |frame: &str| frame.repeat(size / frame.len()).into_bytes();
    [
        ("benign", benign),
        ("hostile", repeat("2:3\u{1F980}")),
        ("pongs", repeat("1:3")),
    ]
}

/// A v3 polling session's sid, joined to nothing (its POSTs are read all
/// the same).
fn open_session(addr: SocketAddr) -> Result<String> {
    let path = "/socket.io/?EIO=3&transport=polling&b64=1";
    let answer = exchange(addr, "GET", path, b"")?;
    let text = String::from_utf8_lossy(&answer);
    text.split("\"sid\":\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .map(str::to_owned)
        .with_context(|| format!("S7: no sid in {text:?}"))
}

/// POSTs `body`; the status, if it is 200 or our layer's 400 (anything
/// else is an error: the measurement would not be of this code).
fn post(addr: SocketAddr, sid: &str, body: &[u8]) -> Result<String> {
    let path = format!("/socket.io/?EIO=3&transport=polling&sid={sid}");
    let answer = exchange(addr, "POST", &path, body)?;
    let text = String::from_utf8_lossy(&answer);
    let ours = text.contains("bad Engine.IO v3 polling body");
    match text.split(' ').nth(1) {
        Some("200") => Ok("200".into()),
        Some("400") if ours => Ok("400".into()),
        _ => bail!("{}", text.chars().take(200).collect::<String>()),
    }
}

/// One request on its own connection; the whole answer.
fn exchange(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> Result<Vec<u8>> {
    let mut tcp = TcpStream::connect(addr).with_context(|| format!("cannot connect to {addr}"))?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: text/plain;charset=UTF-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes())?;
    tcp.write_all(body)?;
    let mut answer = Vec::new();
    tcp.read_to_end(&mut answer)?;
    Ok(answer)
}
