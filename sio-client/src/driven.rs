//! [`Driven`]: what a runtime shell needs from a session, so one shell per
//! runtime drives the generic [`Session`] and any typed layer built on it.
//!
//! A shell carries out transport I/O ([`Io`]) itself and hands every other
//! output to the application.

use crate::session::{Output, Session};

/// The transport work a session asks its shell for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Io {
    /// Open a new transport (websocket); drop any previous one.
    Open,
    /// Send this text frame on the current transport.
    Send(String),
    /// Close and forget the current transport.
    Close,
}

/// A sans-IO session a shell can drive: frames and a clock in, outputs out.
/// Implemented by [`Session`]; a typed layer over it implements it too by
/// forwarding, so the shells need not know it.
pub trait Driven {
    /// What the session hands out.
    type Output;
    /// The next output, if any.
    fn poll_output(&mut self) -> Option<Self::Output>;
    /// When [`Driven::handle_timeout`] should next be called (ms).
    fn next_timeout(&self) -> Option<u64>;
    /// A text frame arrived on the current transport.
    fn handle_text(&mut self, now_ms: u64, frame: &str);
    /// A binary frame arrived.
    fn handle_binary(&mut self);
    /// The transport failed or closed.
    fn handle_transport_closed(&mut self, now_ms: u64);
    /// The clock reached [`Driven::next_timeout`].
    fn handle_timeout(&mut self, now_ms: u64);
    /// Splits the shell's work ([`Io`]) from what goes to the application.
    ///
    /// # Errors
    /// The output itself when it is not transport work.
    fn io(output: Self::Output) -> Result<Io, Self::Output>;
}

impl Driven for Session {
    type Output = Output;

    fn poll_output(&mut self) -> Option<Output> {
        Session::poll_output(self)
    }

    fn next_timeout(&self) -> Option<u64> {
        Session::next_timeout(self)
    }

    fn handle_text(&mut self, now_ms: u64, frame: &str) {
        Session::handle_text(self, now_ms, frame);
    }

    fn handle_binary(&mut self) {
        Session::handle_binary(self);
    }

    fn handle_transport_closed(&mut self, now_ms: u64) {
        Session::handle_transport_closed(self, now_ms);
    }

    fn handle_timeout(&mut self, now_ms: u64) {
        Session::handle_timeout(self, now_ms);
    }

    fn io(output: Output) -> Result<Io, Output> {
        output.into_io()
    }
}
