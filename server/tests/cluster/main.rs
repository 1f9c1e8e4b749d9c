//! Shared mode on a real Redis: three server processes, one presence.
//!
//! Each test starts its own Redis (no persistence) and nodes on free
//! loopback ports and kills them when it ends. Redis is Debian's
//! `redis-server` (`ISS_REDIS_SERVER` to use another); `cargo xtask test`
//! installs it. The time limits are the issue's: a killed node's users leave
//! within 5 s, a stopped one's within 1 s, presence is exact again within
//! 10 s of Redis coming back empty.

mod harness;
mod waves;

use std::time::{Duration, Instant};

use harness::{Client, Node, Redis, SERIAL};
use shared::events::{IdentifyAck, SessionId};

/// A small deterministic generator (xorshift), so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

async fn three_nodes(redis: &Redis) -> [Node; 3] {
    [
        Node::start(redis).await,
        Node::start(redis).await,
        Node::start(redis).await,
    ]
}

fn ok(ack: IdentifyAck) {
    assert!(matches!(ack, IdentifyAck::Ok(_)), "{ack:?}");
}

/// The store's last change: `{iss}:seq`.
async fn store_seq(redis: &Redis) -> Option<u64> {
    match redis.query(&["GET", "{iss}:seq"]).await.ok()? {
        redis::Value::BulkString(bytes) => String::from_utf8(bytes).ok()?.parse().ok(),
        _ => None,
    }
}

/// Waits until every client holds exactly what a fresh client on each node
/// is sent, all on the store's last change, and returns that presence.
///
/// Agreeing among themselves is not enough: an acked identify reaches Redis
/// a moment after its ack, so nodes and clients can agree on the state
/// before it. Callers that know what the presence must be wait for it first
/// (`until_presence_is`); this then holds every client to the store's seq.
async fn agree(
    redis: &Redis,
    nodes: &[Node],
    clients: &[&Client],
) -> (Vec<(SessionId, String)>, u64) {
    let started = Instant::now();
    loop {
        let mut fresh = Vec::new();
        for node in nodes {
            let probe = Client::join(node).await;
            probe.until("a snapshot", |s| s.snapshots > 0).await;
            fresh.push(probe.presence());
        }
        let last = store_seq(redis).await;
        let all_same = fresh.windows(2).all(|w| w[0] == w[1])
            && clients.iter().all(|c| c.presence() == fresh[0])
            && clients
                .iter()
                .all(|c| Some(c.seen.lock().unwrap().seq) == last);
        if all_same {
            return fresh.remove(0);
        }
        if started.elapsed() > Duration::from_secs(20) {
            let differ = clients.iter().filter(|c| c.presence() != fresh[0]).count();
            let mut seqs: Vec<u64> = clients.iter().map(|c| c.seen.lock().unwrap().seq).collect();
            seqs.sort_unstable();
            seqs.dedup();
            panic!(
                "clients never agreed: {differ} of {} differ from node 0's snapshot; \
                 snapshots agree: {}; the clients' seqs: {seqs:?}; the store's: {last:?}; \
                 node 0's: {:?}",
                clients.len(),
                fresh.windows(2).all(|w| w[0] == w[1]),
                fresh[0]
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `client` shows exactly `expected` (ids and names, in any
/// order): what the test itself did, so every acked change reached the store.
async fn until_presence_is(client: &Client, mut expected: Vec<(SessionId, String)>) {
    expected.sort();
    let started = Instant::now();
    loop {
        let (mut window, total) = client.presence();
        window.sort();
        if window == expected && total == expected.len() as u64 {
            return;
        }
        assert!(
            started.elapsed() < harness::DEADLINE,
            "the presence never became what the run did: {} expected, {total} shown",
            expected.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Identify on node 1 shows on 2 and 3; then 300 joins, renames and leaves
/// spread over the nodes leave every client with the same presence as a
/// fresh snapshot, with no gap in any client's seq, all on the same seq:
/// the store's last change.
#[tokio::test]
async fn one_presence_across_three_nodes() {
    let _serial = SERIAL.lock().await;
    let redis = Redis::start().await;
    let nodes = three_nodes(&redis).await;
    let watchers: Vec<Client> =
        futures_util::future::join_all(nodes.iter().chain(nodes.iter()).map(Client::join)).await;

    let mut ada = Client::join(&nodes[0]).await;
    ok(ada.identify("Ada").await);
    let id = ada.session();
    for watcher in &watchers {
        watcher
            .until("Ada on every node", |s| s.view.name_of(&id) == Some("Ada"))
            .await;
    }

    let seed = 0x9e37_79b9_7f4a_7c15;
    let mut rng = Rng(seed);
    // Each person with the name they last had acked (none until identified).
    let mut people: Vec<(Client, Option<String>)> = Vec::new();
    for _ in 0..30 {
        people.push((Client::join(&nodes[rng.below(3)]).await, None));
    }
    for op in 0..300 {
        match rng.below(10) {
            0..=5 => {
                let who = rng.below(people.len());
                let name = format!("n{}", rng.below(40));
                ok(people[who].0.identify(&name).await);
                people[who].1 = Some(name);
            }
            6..=7 => {
                let who = rng.below(people.len());
                people.swap_remove(who).0.leave();
            }
            _ => people.push((Client::join(&nodes[rng.below(3)]).await, None)),
        }
        if people.is_empty() || op % 50 == 0 {
            people.push((Client::join(&nodes[rng.below(3)]).await, None));
        }
    }
    let mut expected: Vec<(SessionId, String)> = people
        .iter()
        .filter_map(|(client, name)| Some((client.session(), name.clone()?)))
        .collect();
    expected.push((id, "Ada".to_owned()));
    until_presence_is(&watchers[0], expected.clone()).await;
    let mut everyone: Vec<&Client> = watchers.iter().collect();
    everyone.extend(people.iter().map(|(client, _)| client));
    everyone.push(&ada);
    let (window, total) = agree(&redis, &nodes, &everyone).await;
    assert!(total >= 2, "seed {seed}: the run named people ({total})");
    assert_eq!(window.len() as u64, total, "everyone fits in the window");
    for client in &everyone {
        let seen = client.seen.lock().unwrap();
        assert_eq!(seen.gaps, 0, "seed {seed}: a client saw a gap");
        assert!(!seen.closed, "no client was disconnected");
    }
    let mut shown = window.clone();
    shown.sort();
    expected.sort();
    assert_eq!(shown, expected, "seed {seed}: presence is what the run did");
    // Every client of every node ends on the store's last change, and
    // nothing moved it since they agreed.
    let last = store_seq(&redis).await.expect("the store's seq");
    for client in &everyone {
        assert_eq!(client.seen.lock().unwrap().seq, last, "seed {seed}");
    }
}

/// `kill -9` a node holding 300 users: they leave everyone's presence
/// within 5 s. SIGTERM a node holding 300: within 1 s.
#[tokio::test]
async fn a_dead_node_s_users_leave_everywhere() {
    let _serial = SERIAL.lock().await;
    let redis = Redis::start().await;
    let mut nodes = three_nodes(&redis).await;
    let watcher = Client::join(&nodes[0]).await;
    for (victim, limit) in [(1, Duration::from_secs(5)), (2, Duration::from_secs(1))] {
        let mut users = Vec::new();
        for i in 0..300 {
            let mut user = Client::join(&nodes[victim]).await;
            ok(user.identify(&format!("u{victim}-{i}")).await);
            users.push(user);
        }
        watcher
            .until("300 users online", |s| s.view.len() == 300)
            .await;
        let started = Instant::now();
        if victim == 1 {
            nodes[1].kill9();
        } else {
            nodes[2].terminate();
        }
        watcher
            .until("the node's users gone", |s| s.view.is_empty())
            .await;
        let took = started.elapsed();
        println!("node {victim}: its 300 users left presence after {took:?}");
        assert!(took <= limit, "{took:?} > {limit:?}");
        drop(users);
    }
}

/// A node stopped past its lease is reaped; once it runs again it
/// re-registers its sessions: no ghosts while it was away, no duplicates
/// after.
#[tokio::test]
async fn a_stalled_node_is_reaped_then_comes_back() {
    let _serial = SERIAL.lock().await;
    let redis = Redis::start().await;
    let nodes = three_nodes(&redis).await;
    let watcher = Client::join(&nodes[0]).await;
    let mut users = Vec::new();
    for i in 0..20 {
        let mut user = Client::join(&nodes[1]).await;
        ok(user.identify(&format!("s{i}")).await);
        users.push(user);
    }
    watcher.until("20 online", |s| s.view.len() == 20).await;
    nodes[1].pause();
    watcher
        .until("the stalled node's users reaped", |s| s.view.is_empty())
        .await;
    nodes[1].resume();
    watcher.until("they are back", |s| s.view.len() == 20).await;
    let mut all: Vec<&Client> = users.iter().collect();
    all.push(&watcher);
    let (window, total) = agree(&redis, &nodes, &all).await;
    assert_eq!(total, 20, "no duplicates");
    let mut ids: Vec<&SessionId> = window.iter().map(|(id, _)| id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 20);
}

/// Redis `SHUTDOWN NOSAVE`, then back empty: nodes keep serving (identify
/// answered, `/healthz` degraded, no client disconnected) and within 10 s
/// of the restart presence is exact everywhere, including what was acked
/// during the outage.
#[tokio::test]
async fn redis_restarting_empty_loses_nothing() {
    let _serial = SERIAL.lock().await;
    let mut redis = Redis::start().await;
    let nodes = three_nodes(&redis).await;
    let mut users = Vec::new();
    for (i, node) in nodes.iter().cycle().take(15).enumerate() {
        let mut user = Client::join(node).await;
        ok(user.identify(&format!("r{i}")).await);
        users.push(user);
    }
    users[0].until("15 online", |s| s.view.len() == 15).await;
    redis.shutdown_nosave().await;
    // Acked during the outage: must not be lost.
    ok(users[1].identify("renamed-in-outage").await);
    let mut late = Client::join(&nodes[2]).await;
    ok(late.identify("joined-in-outage").await);
    // Came and went during the outage: Redis never saw the session, yet
    // its token must still bring it back, name and all.
    let mut brief = Client::join(&nodes[1]).await;
    ok(brief.identify("left-in-outage").await);
    let (brief_session, brief_token) = (brief.session(), brief.token());
    // Shown on its node (users[1]'s) first, so the join and the leave are
    // two local changes there, numbered past what Redis will number when it
    // is back: the snapshot then must set clients' seq back.
    users[1]
        .until("the brief session shown on its node", |s| {
            s.view.name_of(&brief_session) == Some("left-in-outage")
        })
        .await;
    brief.leave();
    let started = Instant::now();
    while nodes[0].health().await.as_deref() == Some("ok") {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never degraded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        nodes[0].health().await.as_deref(),
        Some("degraded: redis unavailable")
    );
    redis.spawn().await;
    let back = Instant::now();
    let renamed = users[1].session();
    let joined = late.session();
    for user in users.iter().chain([&late]) {
        user.until("presence exact again", |s| {
            s.view.len() == 16
                && s.view.name_of(&renamed) == Some("renamed-in-outage")
                && s.view.name_of(&joined) == Some("joined-in-outage")
        })
        .await;
    }
    let took = back.elapsed();
    println!("presence exact on every client {took:?} after Redis came back");
    assert!(took <= Duration::from_secs(10), "{took:?}");
    let mut all: Vec<&Client> = users.iter().collect();
    all.push(&late);
    let (_, total) = agree(&redis, &nodes, &all).await;
    assert_eq!(total, 16);
    for user in &all {
        assert!(
            !user.seen.lock().unwrap().closed,
            "a client was disconnected"
        );
    }
    for node in &nodes {
        assert_eq!(node.health().await.as_deref(), Some("ok"));
    }
    let back = Client::resume(&nodes[0], &brief_token).await;
    assert_eq!(back.session(), brief_session, "resumed on another node");
    users[0]
        .until("the brief session back with its name", |s| {
            s.view.name_of(&brief_session) == Some("left-in-outage")
        })
        .await;
}

/// A token works on another node (same session, same name), once; a live
/// session's token is refused on another node (a fresh session there) and
/// the owner keeps its socket (bad input #76: it was taken over and the
/// owner kicked); a token raced on two nodes at once, once its session has
/// left, is won by exactly one.
#[tokio::test]
async fn resume_anywhere_once() {
    let _serial = SERIAL.lock().await;
    let redis = Redis::start().await;
    let nodes = three_nodes(&redis).await;
    let watcher = Client::join(&nodes[2]).await;

    let mut ada = Client::join(&nodes[0]).await;
    ok(ada.identify("Ada").await);
    let (session, token) = (ada.session(), ada.token());
    // Shown everywhere first: the node writes to Redis a moment after the
    // ack, and only then can another node find the token.
    watcher
        .until("Ada shown", |s| s.view.name_of(&session) == Some("Ada"))
        .await;
    ada.leave();
    watcher
        .until("Ada left", |s| s.view.name_of(&session).is_none())
        .await;
    let mut back = Client::resume(&nodes[1], &token).await;
    assert_eq!(back.session(), session, "same session on another node");
    watcher
        .until("Ada back", |s| s.view.name_of(&session) == Some("Ada"))
        .await;
    let spent = Client::resume(&nodes[2], &token).await;
    assert_ne!(spent.session(), session, "a token is good once");

    // `back` is connected on node 1: its token is refused elsewhere, and it
    // keeps its socket and its name.
    let token = back.token();
    let thief = Client::resume(&nodes[2], &token).await;
    assert_ne!(thief.session(), session, "a live session is never taken");
    // The resume script ran before the thief was answered; a takeover
    // would have spent (deleted) the token.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let kept: bool = redis::cmd("EXISTS")
        .arg(format!("{{iss}}:resume:{}", token.0))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(kept, "the live session's token is still its own");
    ok(back.identify("Ada").await);
    assert!(
        !back.seen.lock().unwrap().closed,
        "the owner keeps its socket"
    );

    // Once it has left (the leave reached Redis: presence shows it), two
    // nodes race on its token.
    back.leave();
    watcher
        .until("Ada left again", |s| s.view.name_of(&session).is_none())
        .await;
    let (a, b) = tokio::join!(
        Client::resume(&nodes[0], &token),
        Client::resume(&nodes[2], &token)
    );
    let winners = [&a, &b].iter().filter(|c| c.session() == session).count();
    assert_eq!(winners, 1, "exactly one wins");
    let winner = if a.session() == session { &a } else { &b };
    let all = [&watcher, winner];
    let (window, _) = agree(&redis, &nodes, &all).await;
    let named: Vec<&(SessionId, String)> = window.iter().filter(|(id, _)| *id == session).collect();
    assert_eq!(named.len(), 1, "still one Ada: {window:?}");
    assert_eq!(named[0].1, "Ada");
}

/// The scripts alone: tokens of sessions that left are kept up to the
/// resume capacity across all nodes, newest first (bad input #78: each
/// departure cost ≈ 260 B of Redis for the TTL, with no count cap), both
/// for tokens stored at the leave and for tokens parked by a node whose
/// session left before Redis stored them.
#[tokio::test]
async fn redis_keeps_at_most_the_resume_capacity_of_departures() {
    use server::cluster::scripts::{call, Scripts};
    let _serial = SERIAL.lock().await;
    let redis = Redis::start().await;
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let scripts = Scripts::new();
    const CAP: usize = 3;
    let mut renew = call(&scripts.renew, CAP);
    renew.arg("n1").arg("").arg(60_000).arg("e1");
    let _: (String, String) = renew.invoke_async(&mut conn).await.unwrap();
    // sync(node, id, present, name, token, ttl, park, park_name)
    let sync = |id: String, present: bool, token: &str, park: &str| {
        let mut sync = call(&scripts.sync, CAP);
        sync.arg("n1")
            .arg(id)
            .arg(if present { "1" } else { "0" })
            .arg("")
            .arg(token)
            .arg(600)
            .arg(park)
            .arg("");
        sync
    };
    for i in 0..10 {
        let (id, token) = (format!("s{i}"), format!("t{i}"));
        let verdict: String = sync(id.clone(), true, &token, "")
            .invoke_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(verdict, "ok");
        let _: String = sync(id, false, "", "")
            .invoke_async(&mut conn)
            .await
            .unwrap();
    }
    // Five sessions that left before Redis stored their tokens.
    for i in 10..15 {
        let park = format!("t{i}");
        let _: String = sync(format!("s{i}"), false, "", &park)
            .invoke_async(&mut conn)
            .await
            .unwrap();
    }
    let mut kept: Vec<String> = redis::cmd("KEYS")
        .arg("{iss}:resume:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    kept.sort();
    assert_eq!(
        kept,
        ["{iss}:resume:t12", "{iss}:resume:t13", "{iss}:resume:t14"],
        "the newest {CAP} only"
    );
    let parked: usize = redis::cmd("ZCARD")
        .arg("{iss}:parked")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(parked, CAP);
    // A spent token leaves the count.
    let mut resume = call(&scripts.resume, CAP);
    resume.arg("n1").arg("t14");
    let back: Option<(String, String)> = resume.invoke_async(&mut conn).await.unwrap();
    assert_eq!(back, Some(("s14".into(), String::new())));
    let parked: usize = redis::cmd("ZCARD")
        .arg("{iss}:parked")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(parked, CAP - 1);
}

/// The scripts alone: a node whose lease expired loses it to the first
/// reap call, so a node that was only slow, and renews after one batch of
/// its sessions was let go, learns it was reaped (and re-registers) instead
/// of carrying on without them; what was not reaped yet stays its own.
#[tokio::test]
async fn a_partly_reaped_node_learns_it_on_renewal() {
    use server::cluster::scripts::{call, Scripts};
    let _serial = SERIAL.lock().await;
    let redis = Redis::start().await;
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let scripts = Scripts::new();
    let renew = |conn: &mut redis::aio::MultiplexedConnection, epoch: &str| {
        let mut invocation = call(&scripts.renew, 2000);
        invocation.arg("slow").arg(epoch).arg(3000).arg("e1");
        let mut conn = conn.clone();
        async move {
            let reply: (String, String) = invocation.invoke_async(&mut conn).await.unwrap();
            reply
        }
    };
    assert_eq!(renew(&mut conn, "").await, ("reset".into(), "e1".into()));
    assert_eq!(renew(&mut conn, "e1").await.0, "ok");
    for session in ["s1", "s2", "s3"] {
        let mut sync = call(&scripts.sync, 2000);
        sync.arg("slow")
            .arg(session)
            .arg("1")
            .arg(session)
            .arg("")
            .arg(60);
        let verdict: String = sync.invoke_async(&mut conn).await.unwrap();
        assert_eq!(verdict, "ok");
    }
    // The lease runs out; another node reaps one session, then the slow
    // node renews.
    let _: () = redis::cmd("ZADD")
        .arg("{iss}:nodes")
        .arg(0)
        .arg("slow")
        .query_async(&mut conn)
        .await
        .unwrap();
    let mut reap = call(&scripts.reap, 2000);
    reap.arg(1).arg(60).arg("");
    let reaped: u64 = reap.invoke_async(&mut conn).await.unwrap();
    assert_eq!(reaped, 2, "one session, plus the dead node found");
    assert_eq!(renew(&mut conn, "e1").await.0, "reaped");
    // Back from the dead: nothing more is taken from it.
    let reaped: u64 = reap.invoke_async(&mut conn).await.unwrap();
    assert_eq!(reaped, 0);
    let named: u64 = redis::cmd("ZCARD")
        .arg("{iss}:order")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(named, 2, "the two sessions not reaped are still shown");
}
