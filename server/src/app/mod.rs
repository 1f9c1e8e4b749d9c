//! The application: the state every `/iss` handler shares ([`AppState`]),
//! the identify use case, the handlers themselves and the periodic report.
//!
//! Handlers stay thin: they extract, call into [`AppState`], and send what it
//! returns. The rules (payload shape, name rules, registry, presence) meet
//! here, in one function that is easy to test without a socket.

pub mod args;
pub mod handlers;
pub mod report;

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use shared::events::ProtocolCode;
use shared::events::{
    ClientEvent, ClientEventKind, ErrorCode, EventError, IdentifyAck, IdentifyOk, PayloadError,
    Refusal, ServerEvent, SessionId, WaveAck, WaveOk, Waved,
};
use shared::names::validate_name;
use socketioxide::adapter::Adapter;
use socketioxide::SocketIo;

use crate::cluster::Cluster;
use crate::observe::metrics::Metrics;
use crate::observe::stats::Stats;
use crate::state::arrival::Arrival;
use crate::state::fanout::Fanout;
use crate::state::rate::{Bucket, RateLimit};
use crate::state::registry::{NameChange, Registry, RegistryError};
use crate::state::resume::ResumeBook;

/// State every handler can reach (socketioxide's `State<AppState>`).
#[derive(Debug, Clone)]
pub struct AppState {
    pub registry: Arc<Registry>,
    pub fanout: Arc<Fanout>,
    pub stats: Arc<Stats>,
    /// What `/metrics` shows (see [`crate::observe::metrics`]).
    pub metrics: Arc<Metrics>,
    pub resume: Arc<ResumeBook>,
    /// Shared mode (`--redis-url`): this node's link to the others. `None`:
    /// the single process, everything in memory.
    pub cluster: Option<Arc<Cluster>>,
    /// The per-socket `identify` limit.
    pub identify_limit: RateLimit,
    /// How long a session may take to join `/iss` (`--handshake-timeout-secs`).
    pub handshake_timeout: std::time::Duration,
    /// The per-socket limit on name changes that show in presence: what one
    /// socket can make the server send to every listener.
    pub rename_limit: RateLimit,
    /// The per-socket `wave` limit.
    pub wave_limit: RateLimit,
}

impl Default for AppState {
    /// The state of a server with the default configuration.
    fn default() -> Self {
        AppState::new(&crate::config::Config::defaults()).expect("the defaults are valid")
    }
}

impl AppState {
    /// Empty state with the configuration's limits: departed sessions stay
    /// resumable for `--resume-ttl-secs`, at most `--resume-capacity` of them.
    pub fn new(config: &crate::config::Config) -> Result<Self, crate::cluster::BadRedisUrl> {
        let metrics = Arc::new(Metrics::default());
        let cluster = match &config.redis_url {
            Some(url) => Some(Arc::new(Cluster::new(
                url,
                config.resume_ttl(),
                config.resume_capacity,
                metrics.clone(),
            )?)),
            None => None,
        };
        Ok(AppState {
            registry: Arc::default(),
            fanout: Arc::default(),
            stats: Arc::default(),
            metrics,
            resume: Arc::new(ResumeBook::with_capacity(
                config.resume_ttl(),
                config.resume_capacity,
            )),
            identify_limit: config.identify_limit(),
            handshake_timeout: config.handshake_timeout(),
            rename_limit: config.rename_limit(),
            wave_limit: config.wave_limit(),
            cluster,
        })
    }

    /// Shows `session` as `name` (or not at all): at the next flush in the
    /// single process; in shared mode through Redis, which brings it back to
    /// every node's presence (and straight to this node's while Redis is
    /// unavailable).
    fn show(&self, session: &SessionId, name: Option<String>) {
        match &self.cluster {
            None => self.fanout.record(session.clone(), name),
            Some(cluster) => {
                cluster.touch(session);
                if !cluster.healthy() {
                    self.fanout.record(session.clone(), name);
                }
            }
        }
    }

    /// A fresh resume token for a connected session.
    pub fn issue_token(&self, session: &SessionId) -> shared::events::ResumeToken {
        match &self.cluster {
            None => self.resume.issue(session, Instant::now()),
            Some(cluster) => cluster.issue(session),
        }
    }

    /// The session a resume token brings back, if any (consumes the token).
    pub async fn resume(
        &self,
        token: &shared::events::ResumeToken,
    ) -> Option<crate::state::resume::Resumed> {
        match &self.cluster {
            None => self.resume.resume(token, Instant::now()),
            Some(cluster) => cluster.resume(token).await,
        }
    }

    /// A resumed session is back: restore its name (already valid when it
    /// was first given) as if it had never left.
    pub fn restore(&self, session: &SessionId, name: String) {
        // Arrival 0: any identify the client sends on this socket is newer.
        if let Ok(NameChange::First) = self.registry.identify(session, &name, Arrival(0)) {
            self.show(session, Some(name));
        }
    }

    /// A session joined `/iss`.
    pub fn connect(&self, session: SessionId) {
        self.registry.connect(session.clone());
        // After the registry: the write sends the session's state as it is then.
        if let Some(cluster) = &self.cluster {
            cluster.touch(&session);
        }
    }

    /// Handles `identify` with its raw arguments and returns the ack to send
    /// (sent only if the client asked for one). A change that would show in
    /// presence takes a token from `renames`, the socket's bucket.
    pub fn identify(
        &self,
        session: &SessionId,
        arrival: Arrival,
        args: &[Value],
        renames: &Bucket,
    ) -> IdentifyAck {
        self.stats.identify_received();
        match self.try_identify(session, arrival, args, renames) {
            Ok(username) => IdentifyAck::Ok(IdentifyOk {
                uuid: session.clone(),
                username,
            }),
            Err(err) => {
                self.stats.identify_was_refused();
                tracing::debug!(%session, code = ?err.code, "identify refused: {}", err.message);
                IdentifyAck::Err(err)
            }
        }
    }

    /// The answer to an identify whose arguments are not valid JSON (counted
    /// as received and refused). The message names no byte of the input.
    pub fn unreadable(&self, session: &SessionId) -> IdentifyAck {
        self.stats.identify_received();
        self.stats.identify_was_refused();
        tracing::debug!(%session, "identify with unreadable JSON");
        IdentifyAck::Err(Refusal::from(&EventError::BadPayload {
            event: ClientEventKind::Identify.name(),
            reason: PayloadError::Invalid(
                "not valid JSON (a lone surrogate, a number out of range, or nesting deeper \
                 than 128 levels)"
                    .to_owned(),
            ),
        }))
    }

    /// The answer to an identify over the socket's rate limit (counted as
    /// received and refused; no name rules, no registry).
    pub fn rate_limited(&self, session: &SessionId) -> IdentifyAck {
        self.stats.identify_received();
        self.stats.identify_was_refused();
        tracing::debug!(%session, "identify rate-limited");
        IdentifyAck::Err(Refusal {
            code: ErrorCode::Protocol(ProtocolCode::RateLimited),
            message: format!(
                "Too many names too fast: at most {} a second. Please wait a moment.",
                self.identify_limit.per_sec
            ),
        })
    }

    /// A session left: forget it, tell presence if it was shown, and keep
    /// it resumable (with its name) for the TTL.
    pub fn disconnect(&self, session: &SessionId) {
        let name = self.registry.disconnect(session);
        if let Some(cluster) = &self.cluster {
            // Redis starts the token's TTL when it lets go of the session.
            cluster.left(session, name);
            if !cluster.healthy() {
                self.fanout.record(session.clone(), None);
            }
            return;
        }
        if name.is_some() {
            self.fanout.record(session.clone(), None);
        }
        self.resume.left(session, name, Instant::now());
    }

    fn try_identify(
        &self,
        session: &SessionId,
        arrival: Arrival,
        args: &[Value],
        renames: &Bucket,
    ) -> Result<String, Refusal> {
        let decoded = ClientEvent::decode(ClientEventKind::Identify, args)
            .map_err(|err| Refusal::from(&err))?;
        // `decode` of the `Identify` kind yields an `Identify`.
        let ClientEvent::Identify { name } = decoded else {
            return Err(refusal(ProtocolCode::BadPayload, "not an identify"));
        };
        let name = validate_name(&name).map_err(|err| Refusal::from(&err))?;
        let may_change = || renames.take(self.rename_limit, Instant::now());
        match self
            .registry
            .identify_gated(session, &name, arrival, may_change)
        {
            Ok(NameChange::Unchanged | NameChange::Superseded) => {}
            Ok(NameChange::First | NameChange::Renamed { .. }) => {
                self.show(session, Some(name.clone()));
            }
            Err(err @ RegistryError::NotConnected) => {
                return Err(Refusal {
                    code: ErrorCode::Protocol(ProtocolCode::NotConnected),
                    message: err.to_string(),
                });
            }
            Err(RegistryError::ChangeRefused) => {
                return Err(Refusal {
                    code: ErrorCode::Protocol(ProtocolCode::RateLimited),
                    message: format!(
                        "Too many name changes: at most {:.0} a minute. Please wait a moment.",
                        self.rename_limit.per_sec * 60.0
                    ),
                });
            }
        }
        tracing::debug!(%session, username = %name, "identify");
        Ok(name)
    }
}

/// The wave use case: the checks that need no network ([`AppState::wave`]),
/// then the delivery to the target's sockets on any node
/// ([`AppState::deliver_wave`]).
impl AppState {
    /// Checks a `wave` from `session`: its payload, that the sender has a
    /// name, and that it is not waving at itself. Returns the target and
    /// what to send it, or the refusal to answer.
    pub fn wave(
        &self,
        session: &SessionId,
        args: Result<&[Value], &impl std::fmt::Debug>,
    ) -> Result<(SessionId, Waved), WaveAck> {
        let Ok(args) = args else {
            return Err(WaveAck::Err(refusal(
                ProtocolCode::BadPayload,
                "The wave was not valid JSON.",
            )));
        };
        let to = match ClientEvent::decode(ClientEventKind::Wave, args) {
            Ok(ClientEvent::Wave { to }) => to,
            Ok(_) => {
                return Err(WaveAck::Err(refusal(
                    ProtocolCode::BadPayload,
                    "not a wave",
                )))
            }
            Err(err) => return Err(WaveAck::Err(Refusal::from(&err))),
        };
        let Some(name) = self.registry.username(session) else {
            return Err(WaveAck::Err(refusal(
                ProtocolCode::NotNamed,
                "Choose a name before waving.",
            )));
        };
        if to == *session {
            return Err(WaveAck::Err(refusal(
                ProtocolCode::WaveSelf,
                "You cannot wave at yourself.",
            )));
        }
        let waved = Waved {
            from: session.clone(),
            name,
        };
        Ok((to, waved))
    }

    /// Hands `waved` to every socket of `to`, on whichever node it is, and
    /// says how that went: `ok`, `target_offline` (no socket anywhere), or
    /// `target_unreachable` (another node did not answer in time: it may or
    /// may not have arrived, and the sender is told so rather than nothing).
    pub async fn deliver_wave<A: Adapter>(
        &self,
        io: &SocketIo<A>,
        to: SessionId,
        waved: Waved,
    ) -> WaveAck {
        match crate::state::emit::emit_to(io, &to, &ServerEvent::Waved(waved)).await {
            Ok(0) => WaveAck::Err(refusal(
                ProtocolCode::TargetOffline,
                "They are no longer online.",
            )),
            Ok(_) => WaveAck::Ok(WaveOk { to }),
            Err(err) => {
                tracing::debug!(%err, "wave not delivered");
                WaveAck::Err(refusal(
                    ProtocolCode::TargetUnreachable,
                    "The wave may not have arrived: another server did not answer in time.",
                ))
            }
        }
    }

    /// The answer to a wave over the socket's rate limit.
    pub fn waves_rate_limited(&self) -> WaveAck {
        WaveAck::Err(refusal(
            ProtocolCode::RateLimited,
            &format!(
                "Too many waves: at most {:.0} a minute. Please wait a moment.",
                self.wave_limit.per_sec * 60.0
            ),
        ))
    }
}

/// A refusal with one of the protocol codes.
fn refusal(code: ProtocolCode, message: &str) -> Refusal {
    Refusal {
        code: ErrorCode::Protocol(code),
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn renames() -> Bucket {
        Bucket::new(
            crate::config::Config::defaults().rename_limit(),
            Instant::now(),
        )
    }
    use shared::events::Presence;

    fn state_with(session: &SessionId) -> AppState {
        let app = AppState::default();
        app.connect(session.clone());
        app
    }

    fn published(app: &AppState) -> usize {
        app.fanout.flush_book_for_tests();
        match app.fanout.snapshot() {
            Presence::Snapshot { total, .. } => total as usize,
            Presence::Delta { .. } => unreachable!(),
        }
    }

    #[test]
    fn identify_stores_and_acks() {
        let s = SessionId("s1".into());
        let app = state_with(&s);
        let ack = app.identify(&s, Arrival(1), &[json!("  Ada ")], &renames());
        assert_eq!(
            ack,
            IdentifyAck::Ok(IdentifyOk {
                uuid: s.clone(),
                username: "Ada".into()
            })
        );
        assert_eq!(app.registry.username(&s).as_deref(), Some("Ada"));
        assert_eq!(published(&app), 1);
        app.disconnect(&s);
        assert_eq!(published(&app), 0);
    }

    #[test]
    fn bad_payloads_and_names_store_nothing() {
        let s = SessionId("s1".into());
        let app = state_with(&s);
        let bad: Vec<Vec<Value>> = vec![
            vec![json!(1)],
            vec![json!({"name": "Ada"})],
            vec![json!(["Ada"])],
            vec![Value::Null],
            vec![],
            vec![json!("Ada"), json!("Grace")],
            vec![json!("")],
            vec![json!("   ")],
            vec![json!("x".repeat(33))],
            vec![json!("A\u{0}da")],
            vec![json!("\u{202E}Ada")],
        ];
        for args in bad {
            let ack = app.identify(&s, Arrival(1), &args, &renames());
            assert!(matches!(ack, IdentifyAck::Err(_)), "{args:?} -> {ack:?}");
        }
        assert_eq!(app.registry.username(&s), None);
        assert_eq!(published(&app), 0);
        let stats = app.stats.view(1, 0);
        assert_eq!((stats.identify_events, stats.identify_refused), (11, 11));
    }
}
