//! The transport layer (`sio_client::link::Link`) over a generic session,
//! fed arbitrary transport events line by line. A line's first character
//! says what happened:
//!
//! - `S<text>`: a websocket text frame; `C`: the websocket closed;
//! - `R<status digit><body>`: the newest request the link made is answered
//!   (`2` = 200, `4` = 400, anything else 500) with `<body>` (`|` stands for
//!   a `0x00` byte and `~` for `0xFF`, so binary framing can be written);
//! - `O<body>`: the oldest unanswered request is answered 200 with `<body>`;
//! - `F`: the newest request failed; `T<ms>`: the clock moves on and the
//!   timers run; `E`: the application emits.
//!
//! Invariants: nothing panics; every path the link asks for is under
//! `/socket.io/?EIO=`; every POST body reads in the framing of the
//! generation its path names (v4: `\x1e`-joined frames, v3: binary framing)
//! and every frame in it decodes; the transport it reports is one of the two.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sio_client::engineio::EnginePacket;
use sio_client::link::{Link, LinkIo, Method, RequestId, Transports};
use sio_client::{ClientConfig, RawJson, Session};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let transports = match text.bytes().next() {
        Some(b'w') => Transports::WebSocketOnly,
        Some(b'p') => Transports::PollingOnly,
        _ => Transports::Any,
    };
    let mut link = Link::new(Session::new(ClientConfig::new("/iss"), 0), transports);
    let mut open: Vec<RequestId> = Vec::new();
    let mut now = 0u64;
    check(&mut link, &mut open);
    for line in text.split('\n').skip(1) {
        let mut chars = line.chars();
        match chars.next() {
            Some('S') => link.handle_socket_text(now, chars.as_str()),
            Some('C') => link.handle_socket_closed(now),
            Some('R') => {
                let status = match chars.next() {
                    Some('2') => 200,
                    Some('4') => 400,
                    _ => 500,
                };
                if let Some(id) = open.pop() {
                    link.handle_response(now, id, status, &bytes(chars.as_str()));
                }
            }
            Some('O') => {
                if !open.is_empty() {
                    let id = open.remove(0);
                    link.handle_response(now, id, 200, &bytes(chars.as_str()));
                }
            }
            Some('F') => {
                if let Some(id) = open.pop() {
                    link.handle_request_failed(now, id);
                }
            }
            Some('T') => {
                now += chars.as_str().parse::<u64>().unwrap_or(1).min(1 << 40);
                link.handle_timeout(now);
            }
            Some('E') => {
                let _ = link
                    .session_mut()
                    .emit("note", vec![RawJson::string("Zoë 🦀")]);
                link.after_session();
            }
            _ => {}
        }
        check(&mut link, &mut open);
    }
});

/// A body line as bytes: `|` → 0x00, `~` → 0xFF.
fn bytes(line: &str) -> Vec<u8> {
    line.bytes()
        .map(|b| match b {
            b'|' => 0x00,
            b'~' => 0xFF,
            other => other,
        })
        .collect()
}

fn check(link: &mut Link<Session>, open: &mut Vec<RequestId>) {
    while let Some(io) = link.poll_io() {
        match io {
            LinkIo::OpenSocket { path } => assert!(path.starts_with("/socket.io/?EIO="), "{path}"),
            LinkIo::Request {
                id,
                method,
                path,
                body,
                ..
            } => {
                assert!(path.starts_with("/socket.io/?EIO="), "{path}");
                if method == Method::Post {
                    check_post(&path, &body);
                }
                open.push(id);
            }
            LinkIo::SendSocket(_) | LinkIo::CloseSocket => {}
        }
    }
    while link.poll_output().is_some() {}
    assert!(matches!(
        link.transport(),
        None | Some("websocket" | "polling")
    ));
}

fn check_post(path: &str, body: &[u8]) {
    if path.starts_with("/socket.io/?EIO=3") {
        let frames = sio_client::eio3::decode_payload(body).expect("a v3 POST reads");
        assert!(!frames.is_empty());
    } else {
        let text = std::str::from_utf8(body).expect("a v4 POST is text");
        for frame in text.split('\u{1e}') {
            EnginePacket::decode(frame).expect("every frame decodes");
        }
    }
}
