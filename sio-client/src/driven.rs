//! [`Driven`]: what a runtime shell needs from a session, so one shell per
//! runtime drives the generic [`Session`] and any typed layer built on it.
//!
//! A shell carries out transport I/O ([`Io`], from [`Output::into_io`])
//! itself and hands every other output to the application.

pub use crate::session::Io;
use crate::session::{AckError, Event, Output, Session};
use sio_proto::engineio::Protocol;
use sio_proto::raw::RawJson;

/// A sans-IO session a shell can drive: frames and a clock in, outputs out.
/// Implemented by [`Session`]; a typed layer over it implements it too by
/// forwarding, with its own event and reply types, so the shells need not
/// know it.
pub trait Driven {
    /// What [`Output::Event`] carries.
    type Event;
    /// What [`Output::Ack`] carries as its result.
    type Reply;
    /// The next output, if any.
    fn poll_output(&mut self) -> Option<Output<Self::Event, Self::Reply>>;
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
    /// The network is back (a browser's `online` event): if waiting between
    /// attempts, try again now.
    fn retry_now(&mut self, now_ms: u64);
    /// The Engine.IO generation spoken now.
    fn protocol(&self) -> Protocol;
    /// A transport layer found the server speaks `protocol` only.
    fn server_speaks(&mut self, protocol: Protocol);
}

impl Driven for Session {
    type Event = Event;
    type Reply = Result<Vec<RawJson>, AckError>;

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

    fn retry_now(&mut self, now_ms: u64) {
        Session::retry_now(self, now_ms);
    }

    fn protocol(&self) -> Protocol {
        Session::protocol(self)
    }

    fn server_speaks(&mut self, protocol: Protocol) {
        Session::server_speaks(self, protocol);
    }
}
