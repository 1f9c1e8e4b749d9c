//! Socket.IO handlers for `/iss`, socketioxide-example style: each is a named
//! `async fn` taking extractors, all registered in [`on_connect`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use shared::events::{
    ClientEventKind, Connected, ResumeAuth, ServerEvent, SessionId, UnknownEventReply,
};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, Extension, SocketRef, State, TryData};
use socketioxide::socket::DisconnectReason;
use socketioxide::{ProtocolVersion, SocketError, SocketIo};
use uuid::Uuid;

use crate::app::args::RawArgs;
use crate::app::AppState;
use crate::observe::metrics::{Close, EventKind, Refusal};
use crate::state::conn::{Conn, ConnEvent};
use crate::state::emit;
use crate::state::rate::Verdict;
use crate::state::resume::Resumed;

/// Connect middleware: spends the resume token the client's auth carries,
/// if any, and leaves what it brings back in the socket's extensions. It
/// runs before the socket is connected, so the lookup (a Redis call in
/// shared mode) may take its time: no event can arrive yet.
pub async fn resume_session<A: Adapter>(
    socket: SocketRef<A>,
    State(app): State<AppState>,
    TryData(auth): TryData<ResumeAuth>,
) -> Result<(), std::convert::Infallible> {
    // A missing, malformed, wrong or expired token all mean the same: a fresh
    // session, with the same reply shape (no oracle). Revision 4 has no
    // auth and is never given a token: a CONNECT that carries one anyway
    // must not spend a revision-5 session's token.
    let auth = auth
        .ok()
        .filter(|_| socket.protocol() == ProtocolVersion::V5);
    if let Some(token) = auth.and_then(|auth| auth.resume) {
        if let Some(back) = app.resume(&token).await {
            socket.extensions.insert(back);
        }
    }
    Ok(())
}

/// A socket joined `/iss`: give it a session (a resumed one if
/// [`resume_session`] found one), wire its handlers, say `connected` with
/// the session's next resume token, then send the presence snapshot. A
/// revision-4 client (the seed's page) gets neither token nor presence.
pub async fn on_connect<A: Adapter>(socket: SocketRef<A>, State(app): State<AppState>) {
    let resumed = socket.extensions.remove::<Resumed>();
    let (session, name) = match resumed {
        Some(back) => {
            app.stats.session_resumed();
            (back.session, back.name)
        }
        // uuid v7: time-ordered like the original's uuid1, without a MAC address.
        None => (SessionId(Uuid::now_v7().to_string()), None),
    };
    // Everything before the first await: events that arrive right after the
    // CONNECT ack must find their handlers and the session already in place.
    socket.extensions.insert(Conn::new(
        session.clone(),
        app.identify_limit,
        app.rename_limit,
        app.wave_limit,
        Instant::now(),
    ));
    // The session's room: `emit_to(session, …)` reaches it on any node.
    socket.join(emit::session_room(&session));
    register(&socket);
    app.connect(session.clone());
    if let Some(name) = name {
        app.restore(&session, name);
    }
    // A revision-4 client cannot send auth, so a token would never come back.
    let legacy = socket.protocol() == ProtocolVersion::V4;
    let token = (!legacy).then(|| app.issue_token(&session));
    if !socket.connected() {
        // It went away before its disconnect handler was in place.
        app.disconnect(&session);
        return;
    }
    // Never the engine sid: for a polling client it is a bearer credential.
    tracing::debug!(%session, "connected");
    let welcome = ServerEvent::Connected(Some(Connected {
        uuid: session.clone(),
        resume: token,
    }));
    if let Err(err) = emit::send(&socket, &welcome) {
        tracing::debug!(%session, %err, "could not send connected");
    }
    // The seed's page knows no presence: its clients appear in everyone
    // else's presence but are sent none (over polling it would only cost).
    if !legacy {
        app.fanout.welcome(&socket).await;
    }
}

/// The main namespace `/`, which Socket.IO revision 4 (Engine.IO v3) joins
/// every client to unasked. It serves nothing, and a session that has not
/// joined `/iss` within the handshake timeout is told to leave it: the
/// 2016 client then closes its engine session, freeing its slot, as it
/// would have been closed had `/` not counted as a join.
pub async fn on_main<A: Adapter>(
    socket: SocketRef<A>,
    io: SocketIo<A>,
    State(app): State<AppState>,
) {
    tokio::spawn(async move {
        tokio::time::sleep(app.handshake_timeout).await;
        let joined = io
            .of(shared::events::NAMESPACE)
            .is_some_and(|ns| ns.get_socket(socket.id).is_some());
        if !joined && socket.connected() {
            tracing::debug!("a revision-4 session never joined /iss: leaving /");
            let _ = socket.disconnect();
        }
    });
}

/// `/` exists for revision 4 only: a v5 client asking for it is refused as
/// for any namespace we do not serve.
pub async fn only_revision_4<A: Adapter>(socket: SocketRef<A>) -> Result<(), InvalidNamespace> {
    match socket.protocol() {
        ProtocolVersion::V4 => Ok(()),
        ProtocolVersion::V5 => Err(InvalidNamespace),
    }
}

/// The refusal of a namespace we do not serve (socketioxide's own words).
#[derive(Debug, thiserror::Error)]
#[error("Invalid namespace")]
pub struct InvalidNamespace;

/// Wires a handler for every kind of client event (an exhaustive match: a
/// new event does not compile until it has one), the fallback for unknown
/// events and the disconnect handler.
fn register<A: Adapter>(socket: &SocketRef<A>) {
    for kind in ClientEventKind::ALL {
        match kind {
            ClientEventKind::Identify => socket.on(kind.name(), on_identify::<A>),
            ClientEventKind::Wave => socket.on(kind.name(), on_wave::<A>),
        }
    }
    socket.on_fallback(on_unknown_event::<A>);
    socket.on_disconnect(on_disconnect::<A>);
}

/// `identify`: store the name; answer the outcome if an ack was asked for.
/// Over the socket's rate limit: a cheap `rate_limited` answer instead, and
/// a socket that keeps flooding is disconnected.
async fn on_identify<A: Adapter>(
    socket: SocketRef<A>,
    ConnEvent { conn, arrival }: ConnEvent,
    TryData(args): TryData<RawArgs>,
    ack: AckSender<A>,
    State(app): State<AppState>,
) {
    let session = &conn.session;
    app.metrics.event(EventKind::of(ClientEventKind::Identify));
    let verdict = conn.bucket.check(app.identify_limit, Instant::now());
    let reply = match admit(&app, &socket, session, verdict) {
        Admit::Go => match &args {
            Ok(RawArgs(args)) => app.identify(session, arrival, args, &conn.renames),
            // Valid frame, invalid JSON inside (a lone surrogate, 1e400,
            // nesting past serde_json's 128 levels): answer, do not go silent.
            Err(_) => app.unreadable(session),
        },
        Admit::RateLimited => app.rate_limited(session),
        Admit::Drop => return,
    };
    if let Err(err) = ack.send(&reply) {
        tracing::debug!(%session, %err, "could not send identify ack");
    }
}

/// `wave`: hand the target's sockets, on whichever node, a `waved`, and
/// answer whether that happened (if an ack was asked for). Rate-limited
/// per socket like `identify`; a socket that keeps flooding is disconnected.
async fn on_wave<A: Adapter>(
    socket: SocketRef<A>,
    io: SocketIo<A>,
    ConnEvent { conn, .. }: ConnEvent,
    TryData(args): TryData<RawArgs>,
    ack: AckSender<A>,
    State(app): State<AppState>,
) {
    let session = &conn.session;
    app.metrics.event(EventKind::of(ClientEventKind::Wave));
    let verdict = conn.waves.check(app.wave_limit, Instant::now());
    let reply = match admit(&app, &socket, session, verdict) {
        Admit::Go => match app.wave(session, args.as_ref().map(|a| a.0.as_slice())) {
            Ok((to, waved)) => app.deliver_wave(&io, to, waved).await,
            Err(refused) => refused,
        },
        Admit::RateLimited => app.waves_rate_limited(),
        Admit::Drop => return,
    };
    if let Err(err) = ack.send(&reply) {
        tracing::debug!(%session, %err, "could not send wave ack");
    }
}

/// What a socket's rate limit lets an event do.
enum Admit {
    /// Handle it.
    Go,
    /// Answer `rate_limited` (counted in the metrics).
    RateLimited,
    /// Neither handle nor answer: the socket is flooding and is being
    /// disconnected, or was already cut off.
    Drop,
}

/// Applies a bucket's verdict, the same for every rate-limited event: a
/// socket that keeps on past its limit is disconnected. The first such
/// disconnect is logged; the rest are counted and summed up by the periodic
/// report (a line each would let floods write the log).
fn admit<A: Adapter>(
    app: &AppState,
    socket: &SocketRef<A>,
    session: &SessionId,
    verdict: Verdict,
) -> Admit {
    match verdict {
        Verdict::Allow => Admit::Go,
        Verdict::Refuse => {
            app.metrics.refused(Refusal::RateLimited);
            Admit::RateLimited
        }
        Verdict::Disconnect => {
            if app.stats.flooder_disconnected() {
                tracing::warn!(
                    %session,
                    "event flood: disconnecting (further ones are counted in /api/stats \
                     and the periodic report, not logged one by one)"
                );
            } else {
                tracing::debug!(%session, "event flood: disconnecting");
            }
            disconnect_soon(socket.clone());
            Admit::Drop
        }
        Verdict::Ignore => Admit::Drop,
    }
}

/// Any event we do not know: log it, and answer an error if an ack was asked for.
async fn on_unknown_event<A: Adapter>(
    Event(event): Event,
    ack: AckSender<A>,
    Extension(conn): Extension<Arc<Conn>>,
    State(app): State<AppState>,
) {
    let session = &conn.session;
    app.metrics.event(EventKind::Unknown);
    tracing::debug!(%session, event = %event.escape_debug(), "unknown event");
    let reply = UnknownEventReply { event };
    if let Err(err) = ack.send(&reply) {
        tracing::debug!(%session, %err, "could not send unknown-event ack");
    }
}

/// The socket left (or its connection died): remove the user.
async fn on_disconnect<A: Adapter>(
    _socket: SocketRef<A>,
    reason: DisconnectReason,
    State(app): State<AppState>,
    Extension(conn): Extension<Arc<Conn>>,
) {
    tracing::debug!(session = %conn.session, ?reason, "disconnected");
    app.metrics.closed(Close::of(reason));
    app.disconnect(&conn.session);
}

/// Disconnects a socket, retrying while its outgoing buffer is full (a
/// flooder's buffer usually is: socketioxide refuses to queue the DISCONNECT
/// then, and would leave the socket connected).
fn disconnect_soon<A: Adapter>(socket: SocketRef<A>) {
    tokio::spawn(async move {
        for _ in 0..500 {
            match socket.clone().disconnect() {
                Err(SocketError::InternalChannelFull) => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                _ => return,
            }
        }
        tracing::warn!("could not disconnect a flooding socket within 5 s");
    });
}
