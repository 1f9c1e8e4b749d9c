//! The client `Session`, joined to `/iss` with two identify acks pending, fed
//! arbitrary input line by line.
//!
//! A line is a text frame from the server, except for three commands:
//! `~close` (the transport closed), `~emit` (the page emits an identify with
//! ack) and `~<ms>` (the clock moves on by `<ms>`, default 1, and the timers
//! run). Presence events go into a `PresenceView`, as in the page.
//!
//! Invariants: nothing panics; every frame we send decodes (Engine.IO and
//! Socket.IO, in our namespace); each emitted ack completes exactly once;
//! the `State` outputs track `state()`; a stopped session has no timer and no
//! pending ack, a live one always has a timer, and after the timers ran
//! nothing is due any more; applying a presence message twice changes nothing.
#![no_main]

use std::collections::BTreeSet;

use app_client::Identify;
use app_client::{AckId, ConnectionState, Driven, Output, PresenceView, Session};
use libfuzzer_sys::fuzz_target;
use shared::events::{ClientEventKind, ServerEvent, NAMESPACE};
use sio_client::engineio::EnginePacket;
use sio_client::socketio::Packet;

const OPEN: &str = r#"0{"sid":"aR0dWJ2fKx1bVmAq","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":100000}"#;
const CONNECT_ACK: &str = r#"40/iss,{"sid":"aR0dWJ2fKx1bVmAq"}"#;
const ACK_TIMEOUT_MS: u64 = 5_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut harness = Harness::joined();
    for line in text.split('\n') {
        harness.step(line);
    }
});

struct Harness {
    session: Session,
    now: u64,
    state: ConnectionState,
    pending: BTreeSet<AckId>,
    presence: PresenceView,
}

impl Harness {
    fn joined() -> Self {
        let mut harness = Harness {
            session: Session::new(app_client::config(), 0),
            now: 0,
            state: ConnectionState::Offline {
                reason: "not started".to_owned(),
            },
            pending: BTreeSet::new(),
            presence: PresenceView::default(),
        };
        harness.step(OPEN);
        harness.step(CONNECT_ACK);
        assert_eq!(harness.state, ConnectionState::Connected);
        harness.step("~emit");
        harness.step("~emit");
        assert_eq!(harness.pending.len(), 2);
        harness
    }

    fn step(&mut self, line: &str) {
        let timers_ran = match line.strip_prefix('~') {
            Some("close") => {
                self.session.handle_transport_closed(self.now);
                false
            }
            Some("emit") => {
                let request = Identify {
                    name: "Ada".to_owned(),
                };
                if let Ok(pending) = self.session.request(self.now, request, ACK_TIMEOUT_MS) {
                    let id = pending.id();
                    assert!(self.pending.insert(id), "ack id {id:?} handed out twice");
                }
                false
            }
            Some(ms) => {
                self.now = self.now.saturating_add(ms.parse().unwrap_or(1));
                self.session.handle_timeout(self.now);
                true
            }
            None => {
                self.session.handle_text(self.now, line);
                false
            }
        };
        self.drain();
        let next = self.session.next_timeout();
        let stopped = matches!(self.state, ConnectionState::Offline { .. });
        assert_eq!(
            stopped,
            next.is_none(),
            "{:?} with timer {next:?}",
            self.state
        );
        if stopped {
            assert!(self.pending.is_empty(), "acks left when stopped");
        }
        if timers_ran && self.now < u64::MAX / 2 {
            assert!(
                next.is_none_or(|at| at > self.now),
                "due at {next:?} <= {}",
                self.now
            );
        }
    }

    fn drain(&mut self) {
        while let Some(output) = self.session.poll_output() {
            match output {
                Output::Send(frame) => check_sent(&frame),
                Output::Ack { id, .. } => {
                    assert!(
                        self.pending.remove(&id),
                        "ack {id:?} completed twice or never asked"
                    );
                }
                Output::State(state) => self.state = state,
                Output::Event(ServerEvent::Presence(presence)) => {
                    self.presence.apply(&presence);
                    let once = self.presence.clone();
                    self.presence.apply(&presence);
                    assert_eq!(self.presence, once, "presence applied twice differs");
                }
                Output::Event(ServerEvent::Connected(_) | ServerEvent::Waved(_))
                | Output::OpenTransport
                | Output::CloseTransport
                | Output::Warning(_) => {}
            }
        }
        assert_eq!(&self.state, self.session.state());
    }
}

/// What we put on the wire must be something we (and so a peer) can read.
fn check_sent(frame: &str) {
    let packet = EnginePacket::decode(frame)
        .unwrap_or_else(|e| panic!("we sent {frame:?}, which does not decode: {e}"));
    let EnginePacket::Message(inner) = packet else {
        return;
    };
    let packet =
        Packet::decode(&inner).unwrap_or_else(|e| panic!("we sent {frame:?}, unreadable: {e}"));
    assert_eq!(packet.nsp(), NAMESPACE, "we sent {frame:?}");
    if let Packet::Event { name, .. } = &packet {
        assert_eq!(name, ClientEventKind::Identify.name(), "we sent {frame:?}");
    }
}
