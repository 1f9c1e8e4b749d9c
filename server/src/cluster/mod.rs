//! Shared mode: several server processes (nodes) on one Redis, with one
//! presence, resume tokens any node can honour, and no lost users.
//!
//! Each node keeps its own [`Registry`] as the
//! truth about *its* sockets (it answers `identify` from it, Redis or not).
//! Redis holds the union, written by one task per node:
//!
//! - **Writes** are idempotent: a handler only marks a session *touched*;
//!   the task then sends Redis the session's *current* local state (one
//!   atomic script, [`scripts`]). Retries and reorderings cannot undo a
//!   newer change, and an identify that races its disconnect leaves no
//!   ghost (the task sees the session gone).
//! - **Presence** is read back from the change stream in seq order and fed
//!   to this node's [`Fanout`], which coalesces and emits to this node's own
//!   sockets exactly as in the single process.
//! - **Liveness**: the node renews a 3 s lease every second; every node
//!   reaps expired nodes' sessions in bounded batches. A node that finds it
//!   was reaped, or that Redis lost its data (the epoch key), or that comes
//!   back after Redis was unreachable, *resyncs*: it sends every session it
//!   holds again, lets go of those Redis thinks it holds but it does not,
//!   and reloads the whole presence (clients get the difference as a delta).
//! - **Redis down**: the node keeps serving; changes show in its own
//!   presence only; `/healthz` says `degraded`; one log line on the way
//!   down and one on the way back.

pub mod bus;
pub mod changes;
pub mod scripts;
pub mod tokens;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use indexmap::IndexSet;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use shared::events::{ResumeToken, SessionId, NAMESPACE};
use socketioxide::adapter::Adapter;
use socketioxide::SocketIo;
use tokio::task::JoinHandle;

use crate::observe::metrics::Metrics;
use crate::state::conn::Conn;
use crate::state::fanout::Fanout;
use crate::state::registry::Registry;
use crate::state::resume::Resumed;
use changes::{BadReply, ChangeKind};
use scripts::{call, Scripts};
use tokens::Tokens;

/// How often a node renews its lease.
pub const RENEW_EVERY: Duration = Duration::from_secs(1);
/// How long a lease lasts: a node silent this long is reaped.
pub const LEASE: Duration = Duration::from_secs(3);
/// How often a node looks for expired nodes to reap.
const REAP_EVERY: Duration = Duration::from_millis(500);
/// How often the change stream is read when nothing wakes the task.
const POLL_EVERY: Duration = Duration::from_millis(5);
/// After a failed round, wait this long before trying Redis again.
const RETRY_AFTER: Duration = Duration::from_millis(250);
/// Sessions written to Redis per call (pipelined on one connection).
const WRITE_BATCH: usize = 512;
/// Write calls per round: a node under a storm of changes still renews its
/// lease and reads the stream between them.
const WRITES_PER_ROUND: usize = 8;
/// Sessions let go of per reap call (one script run; short, so Redis is
/// never blocked long).
const REAP_BATCH: usize = 500;
/// Stream entries read per call.
const READ_BATCH: usize = 1000;
/// Most sessions waiting to be written. Past it (a long Redis outage under
/// churn), touches are dropped and the next round resyncs everything
/// instead, so the queue never outgrows the node's own sessions.
const PENDING_CAP: usize = 100_000;

/// Why a round with Redis failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(transparent)]
    Redis(#[from] redis::RedisError),
    #[error(transparent)]
    Reply(#[from] BadReply),
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
}

/// A bad `--redis-url`.
#[derive(Debug, thiserror::Error)]
#[error("invalid --redis-url: {0}")]
pub struct BadRedisUrl(redis::RedisError);

/// This node's part of the shared state, and its link to Redis.
pub struct Cluster {
    /// This process's id (a fresh uuid per start).
    node: String,
    redis: ConnectionManager,
    scripts: Scripts,
    /// Resume tokens live this long after their session leaves.
    resume_ttl_secs: u64,
    /// At most this many departed sessions' tokens in Redis, across nodes
    /// (`--resume-capacity`, as in the single process).
    resume_capacity: usize,
    /// Where each call's latency and failure is counted.
    metrics: Arc<Metrics>,
    /// Sessions whose state Redis must be sent.
    pending: Mutex<IndexSet<SessionId>>,
    wake: tokio::sync::Notify,
    /// The resume tokens this node issued, until Redis holds them.
    tokens: Mutex<Tokens>,
    /// Redis answered the last round and the presence is loaded.
    healthy: AtomicBool,
    /// Resync at the next round: touches were dropped ([`PENDING_CAP`]),
    /// or a write found the node without a lease.
    resync_soon: AtomicBool,
    /// The node is leaving: write nothing more.
    departed: AtomicBool,
    /// "Redis unavailable" was logged and not yet followed by "in sync".
    down_logged: AtomicBool,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("node", &self.node)
            .field("healthy", &self.healthy())
            .finish_non_exhaustive()
    }
}

/// What the task needs of the rest of the server.
#[derive(Clone)]
pub struct Ctx<A: Adapter> {
    pub registry: Arc<Registry>,
    pub fanout: Arc<Fanout>,
    pub io: SocketIo<A>,
}

/// What the task knows of Redis between rounds.
#[derive(Debug, Default)]
struct View {
    /// The epoch this node last synced with.
    epoch: String,
    /// The last change applied to the local presence.
    seq: u64,
    /// The presence is loaded and this node's sessions are all in Redis.
    loaded: bool,
    last_renew: Option<Instant>,
    last_reap: Option<Instant>,
}

impl Cluster {
    /// A node for `url` (no connection yet: a node starts even while Redis
    /// is down, and connects when it can).
    pub fn new(
        url: &str,
        resume_ttl: Duration,
        resume_capacity: usize,
        metrics: Arc<Metrics>,
    ) -> Result<Self, BadRedisUrl> {
        let client = redis::Client::open(url).map_err(BadRedisUrl)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let redis = ConnectionManager::new_lazy_with_config(client, config).map_err(BadRedisUrl)?;
        Ok(Cluster {
            node: uuid::Uuid::new_v4().simple().to_string(),
            redis,
            scripts: Scripts::new(),
            resume_ttl_secs: resume_ttl.as_secs().max(1),
            resume_capacity,
            metrics,
            pending: Mutex::default(),
            wake: tokio::sync::Notify::new(),
            tokens: Mutex::new(Tokens::new(resume_ttl, PENDING_CAP)),
            healthy: AtomicBool::new(false),
            resync_soon: AtomicBool::new(false),
            departed: AtomicBool::new(false),
            down_logged: AtomicBool::new(false),
        })
    }

    /// Whether Redis is reachable and this node is in sync with it.
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// The session's local state changed (connected, named, renamed, left):
    /// Redis will be told.
    pub fn touch(&self, session: &SessionId) {
        let mut pending = self.pending();
        if pending.len() >= PENDING_CAP {
            self.resync_soon.store(true, Ordering::Relaxed);
            return;
        }
        pending.insert(session.clone());
        drop(pending);
        self.wake.notify_one();
    }

    /// Gives a connected session a fresh resume token (written to Redis
    /// with the session).
    pub fn issue(&self, session: &SessionId) -> ResumeToken {
        let token = crate::state::resume::fresh_token();
        self.tokens().issue(session.clone(), token.clone());
        self.touch(session);
        token
    }

    /// A session left with `name`: Redis will be told, and its token stays
    /// resumable for the TTL even if Redis never saw the session.
    pub fn left(&self, session: &SessionId, name: Option<String>) {
        self.tokens().left(session, name, Instant::now());
        self.touch(session);
    }

    /// Spends `token`, on any node. `None` when it is unknown, spent,
    /// expired, held by a socket of this node, or Redis cannot be asked.
    pub async fn resume(&self, token: &ResumeToken) -> Option<Resumed> {
        let mut redis = self.redis.clone();
        let mut invocation = call(&self.scripts.resume, self.resume_capacity);
        invocation.arg(&self.node).arg(&token.0);
        let reply: Result<Option<(String, String)>, ClusterError> =
            bounded(&self.metrics, invocation.invoke_async(&mut redis)).await;
        match reply {
            Ok(found) => found.map(|(session, name)| Resumed {
                session: SessionId(session),
                name: (!name.is_empty()).then_some(name),
            }),
            Err(err) => {
                tracing::debug!(%err, "resume: redis unavailable; a fresh session");
                None
            }
        }
    }

    /// Lets go of every session this node holds at once (a graceful stop):
    /// they leave everyone's presence now, not when the lease runs out.
    pub async fn depart(&self) {
        self.departed.store(true, Ordering::Relaxed);
        for _ in 0..1_000 {
            match self.reap_once(&self.node).await {
                Ok(0) => return,
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!(%err, "could not leave the cluster; the lease will expire");
                    return;
                }
            }
        }
    }

    /// Runs the node's Redis task until aborted.
    pub fn spawn<A: Adapter>(self: Arc<Self>, ctx: Ctx<A>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut view = View::default();
            let mut poll = tokio::time::interval(POLL_EVERY);
            poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = poll.tick() => {}
                    () = self.wake.notified() => {}
                }
                if self.departed.load(Ordering::Relaxed) {
                    return;
                }
                if let Err(err) = self.round(&ctx, &mut view).await {
                    self.lost(&err);
                    view.loaded = false;
                    tokio::time::sleep(RETRY_AFTER).await;
                }
            }
        })
    }

    /// One round: lease, resync if needed, writes, reads, reaping.
    async fn round<A: Adapter>(&self, ctx: &Ctx<A>, view: &mut View) -> Result<(), ClusterError> {
        let now = Instant::now();
        if self.resync_soon.swap(false, Ordering::Relaxed) {
            view.loaded = false;
        }
        if !view.loaded || due(view.last_renew, RENEW_EVERY, now) {
            self.renew(view).await?;
            view.last_renew = Some(now);
        }
        if !view.loaded {
            self.resync(ctx, view).await?;
        }
        for _ in 0..WRITES_PER_ROUND {
            if !self.write_some(ctx).await? {
                break;
            }
        }
        self.read_changes(ctx, view).await?;
        if due(view.last_reap, REAP_EVERY, now) {
            for _ in 0..20 {
                if self.reap_once("").await? == 0 {
                    break;
                }
            }
            view.last_reap = Some(now);
        }
        Ok(())
    }

    /// Renews the lease; notes when the node must resync.
    async fn renew(&self, view: &mut View) -> Result<(), ClusterError> {
        let mut redis = self.redis.clone();
        let candidate = uuid::Uuid::new_v4().simple().to_string();
        let mut invocation = call(&self.scripts.renew, self.resume_capacity);
        invocation
            .arg(&self.node)
            .arg(&view.epoch)
            .arg(LEASE.as_millis() as u64)
            .arg(candidate);
        let (verdict, epoch): (String, String) =
            bounded(&self.metrics, invocation.invoke_async(&mut redis)).await?;
        match verdict.as_str() {
            "ok" => {}
            "reset" => {
                self.tokens().redis_lost_everything();
                if !view.epoch.is_empty() {
                    tracing::warn!(
                        "redis lost its data (new epoch): re-registering this node's sessions"
                    );
                }
                view.loaded = false;
            }
            "reaped" => {
                if view.loaded {
                    tracing::warn!(
                        "this node's lease had expired (a stall?): re-registering its sessions"
                    );
                }
                view.loaded = false;
            }
            other => return Err(BadReply(format!("renew: {other:?}")).into()),
        }
        view.epoch = epoch;
        Ok(())
    }

    /// Sends Redis everything this node holds, lets go of what it no longer
    /// holds, and reloads the presence.
    async fn resync<A: Adapter>(&self, ctx: &Ctx<A>, view: &mut View) -> Result<(), ClusterError> {
        let mut redis = self.redis.clone();
        let ours: Vec<String> = bounded(
            &self.metrics,
            redis::cmd("SMEMBERS")
                .arg(format!("{}node:{}", scripts::PREFIX, self.node))
                .query_async(&mut redis),
        )
        .await?;
        {
            // Leaves Redis must still learn of (their tokens, above all).
            let unsettled = self.tokens().unsettled();
            let mut pending = self.pending();
            pending.clear();
            pending.extend(ours.into_iter().map(SessionId));
            pending.extend(unsettled);
            // Session ids are uuid v7, time-ordered: re-joins go in the
            // order the sessions began, as close to the first join order
            // as this node can tell.
            let mut sessions = ctx.registry.sessions();
            sessions.sort();
            pending.extend(sessions);
        }
        // Whatever does not fit here goes in the next rounds, and comes
        // back through the stream like any change.
        for _ in 0..8 * WRITES_PER_ROUND {
            if !self.write_some(ctx).await? {
                break;
            }
        }
        let reply: Vec<String> = bounded(
            &self.metrics,
            call(&self.scripts.state, self.resume_capacity).invoke_async(&mut redis),
        )
        .await?;
        let state = changes::parse_state(reply)?;
        ctx.fanout.replace(state.members, state.seq);
        view.seq = state.seq;
        view.loaded = true;
        // Tokens of sessions this node no longer holds are Redis's now.
        self.tokens().prune(
            |session| ctx.registry.lookup(session).is_some(),
            Instant::now(),
        );
        if !self.healthy.swap(true, Ordering::Relaxed) {
            self.down_logged.store(false, Ordering::Relaxed);
            tracing::info!(node = %self.node, "redis: in sync (shared presence)");
        }
        Ok(())
    }

    /// Writes up to [`WRITE_BATCH`] touched sessions; `true` if more wait.
    async fn write_some<A: Adapter>(&self, ctx: &Ctx<A>) -> Result<bool, ClusterError> {
        let batch: Vec<SessionId> = {
            let mut pending = self.pending();
            let n = pending.len().min(WRITE_BATCH);
            pending.drain(..n).collect()
        };
        if batch.is_empty() {
            return Ok(false);
        }
        let calls = batch.iter().map(|session| self.sync(ctx, session));
        let results = futures_util::future::join_all(calls).await;
        let mut failure = None;
        for (session, result) in batch.iter().zip(results) {
            match result {
                Ok(verdict) if verdict == "taken" => kick(&ctx.io, session),
                Ok(verdict) if verdict == "nolease" => {
                    // Renew first (the next round), then everything again.
                    self.resync_soon.store(true, Ordering::Relaxed);
                    return Ok(false);
                }
                Ok(_) => {}
                Err(err) => {
                    // Written again once Redis answers.
                    self.pending().insert(session.clone());
                    failure = Some(err);
                }
            }
        }
        match failure {
            Some(err) => Err(err),
            None => Ok(!self.pending().is_empty()),
        }
    }

    /// Sends one session's current local state.
    async fn sync<A: Adapter>(
        &self,
        ctx: &Ctx<A>,
        session: &SessionId,
    ) -> Result<String, ClusterError> {
        let state = ctx.registry.lookup(session);
        let present = state.is_some();
        let (token, park) = match state {
            Some(_) => (self.tokens().current(session), None),
            None => (None, self.tokens().to_park(session, Instant::now())),
        };
        let mut invocation = call(&self.scripts.sync, self.resume_capacity);
        invocation
            .arg(&self.node)
            .arg(&session.0)
            .arg(if present { "1" } else { "0" })
            .arg(state.flatten().unwrap_or_default())
            .arg(token.as_ref().map(|t| t.0.as_str()).unwrap_or_default())
            .arg(park.as_ref().map_or(self.resume_ttl_secs, |p| p.ttl_secs))
            .arg(
                park.as_ref()
                    .map(|p| p.token.0.as_str())
                    .unwrap_or_default(),
            )
            .arg(park.as_ref().map(|p| p.name.as_str()).unwrap_or_default());
        let mut redis = self.redis.clone();
        let verdict: String = bounded(&self.metrics, invocation.invoke_async(&mut redis)).await?;
        match (present, verdict.as_str(), token) {
            (true, "ok", Some(token)) => self.tokens().stored(session, &token),
            (false, "ok" | "gone", _) => self.tokens().settled(session),
            _ => {}
        }
        Ok(verdict)
    }

    /// Applies the changes after `view.seq` to the local presence.
    async fn read_changes<A: Adapter>(
        &self,
        ctx: &Ctx<A>,
        view: &mut View,
    ) -> Result<(), ClusterError> {
        loop {
            let mut redis = self.redis.clone();
            let entries: Vec<changes::RawEntry> = bounded(
                &self.metrics,
                redis::cmd("XRANGE")
                    .arg(scripts::KEYS[8])
                    .arg(format!("({}-0", view.seq))
                    .arg("+")
                    .arg("COUNT")
                    .arg(READ_BATCH)
                    .query_async(&mut redis),
            )
            .await?;
            let read = entries.len();
            for change in changes::parse_entries(entries)? {
                if change.seq != view.seq + 1 {
                    // Trimmed past us, or Redis restarted: start over.
                    view.loaded = false;
                    return Ok(());
                }
                view.seq = change.seq;
                match change.kind {
                    ChangeKind::Named(name) => {
                        ctx.fanout.record_at(change.session, Some(name), change.seq)
                    }
                    ChangeKind::Left => ctx.fanout.record_at(change.session, None, change.seq),
                    ChangeKind::TakenFrom { node } => {
                        ctx.fanout.advance(change.seq);
                        if node == self.node {
                            kick(&ctx.io, &change.session);
                        }
                    }
                }
            }
            if read < READ_BATCH {
                return Ok(());
            }
        }
    }

    /// One reap call (of `node`, or of any expired node when empty).
    async fn reap_once(&self, node: &str) -> Result<u64, ClusterError> {
        let mut invocation = call(&self.scripts.reap, self.resume_capacity);
        invocation
            .arg(REAP_BATCH)
            .arg(self.resume_ttl_secs)
            .arg(node);
        let mut redis = self.redis.clone();
        bounded(&self.metrics, invocation.invoke_async(&mut redis)).await
    }

    /// Redis failed: say so once, and serve locally until it is back.
    fn lost(&self, err: &ClusterError) {
        self.healthy.store(false, Ordering::Relaxed);
        if !self.down_logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                %err,
                "redis unavailable: serving this node's clients alone (presence shows local \
                 changes) until it is back"
            );
        }
    }

    fn pending(&self) -> MutexGuard<'_, IndexSet<SessionId>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tokens(&self) -> MutexGuard<'_, Tokens> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Whether `every` has passed since `last` (or it never happened).
fn due(last: Option<Instant>, every: Duration, now: Instant) -> bool {
    last.is_none_or(|last| now.saturating_duration_since(last) >= every)
}

/// Every Redis call has a deadline: a node never waits on Redis for long.
async fn bounded<T>(
    metrics: &Metrics,
    call: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, ClusterError> {
    const DEADLINE: Duration = Duration::from_secs(2);
    let started = std::time::Instant::now();
    let result = match tokio::time::timeout(DEADLINE, call).await {
        Ok(result) => result.map_err(ClusterError::from),
        Err(_) => Err(ClusterError::Timeout(DEADLINE)),
    };
    metrics.redis_call(started.elapsed(), result.is_ok());
    result
}

/// Closes this node's sockets of `session` (resumed elsewhere: they are stale).
fn kick<A: Adapter>(io: &SocketIo<A>, session: &SessionId) {
    let Some(ns) = io.of(NAMESPACE) else {
        return;
    };
    for socket in ns.sockets() {
        let ours = socket
            .extensions
            .get::<Arc<Conn>>()
            .is_some_and(|conn| conn.session == *session);
        if ours {
            tracing::debug!(%session, "resumed on another node: closing the stale socket");
            let _ = socket.disconnect();
        }
    }
}
