//! The Lua scripts that change shared state in Redis, one per kind of
//! change, each atomic: a script either happens entirely or not at all, and
//! no other node sees half of one.
//!
//! The data (every key carries the hash tag `{iss}`, so on Redis Cluster all
//! of it lives on one slot and the scripts stay valid):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `{iss}:epoch` | string | a random value; gone = Redis lost its data |
//! | `{iss}:seq` | integer | the last change's number |
//! | `{iss}:joins` | integer | the join counter, for the join order |
//! | `{iss}:order` | sorted set | named sessions, scored by join order |
//! | `{iss}:names` | hash | session → name |
//! | `{iss}:owner` | hash | session → the node that holds its socket |
//! | `{iss}:tokens` | hash | session → its current resume token |
//! | `{iss}:nodes` | sorted set | node → lease expiry (ms, Redis clock) |
//! | `{iss}:dead` | set | nodes whose lease expired, still being reaped |
//! | `{iss}:node:<node>` | set | the sessions a node holds |
//! | `{iss}:resume:<token>` | string | `session` while connected; `session\nname` with a TTL after |
//! | `{iss}:parked` | sorted set | the tokens of sessions that left, scored by expiry (µs): at most `--resume-capacity` |
//! | `{iss}:changes` | stream | every change, id `<seq>-0`, capped |
//!
//! Redis 7.0 has no per-field hash TTL, so leases are scores in a sorted set
//! and only resume tokens (whole keys) expire by themselves.
//!
//! Time is Redis's (`TIME`), never a node's clock: nodes may disagree.

/// The key prefix, with the hash tag.
pub const PREFIX: &str = "{iss}:";

/// The stream's cap (approximate, `MAXLEN ~`): a node further behind than
/// this reloads the whole state instead.
pub const STREAM_CAP: u32 = 10_000;

/// Fixed keys, passed as `KEYS` in this order to every script.
pub const KEYS: [&str; 11] = [
    "{iss}:epoch",
    "{iss}:seq",
    "{iss}:joins",
    "{iss}:order",
    "{iss}:names",
    "{iss}:owner",
    "{iss}:tokens",
    "{iss}:nodes",
    "{iss}:changes",
    "{iss}:dead",
    "{iss}:parked",
];

/// Helpers every script starts with.
const COMMON: &str = r#"
local K_EPOCH, K_SEQ, K_JOINS, K_ORDER, K_NAMES, K_OWNER, K_TOKENS, K_NODES, K_CHANGES, K_DEAD =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local K_PARKED = KEYS[11]
local PREFIX = '{iss}:'
local CAP, RESUME_CAP = ARGV[1], tonumber(ARGV[2])

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function node_key(node) return PREFIX .. 'node:' .. node end
local function token_key(token) return PREFIX .. 'resume:' .. token end

-- Appends one change to the stream under the next seq.
local function publish(op, id, extra)
  local seq = redis.call('INCR', K_SEQ)
  redis.call('XADD', K_CHANGES, 'MAXLEN', '~', CAP, seq .. '-0', 'o', op, 'i', id, 'n', extra)
  return seq
end

-- Shows `id` as `name`: a join (at the end of the line) or a rename.
local function set_name(id, name)
  local old = redis.call('HGET', K_NAMES, id)
  if old == name then return end
  if not old then
    redis.call('ZADD', K_ORDER, redis.call('INCR', K_JOINS), id)
    publish('j', id, name)
  else
    publish('r', id, name)
  end
  redis.call('HSET', K_NAMES, id, name)
end

-- Keeps `token` resumable for `ttl` seconds as `value` (`nx`: unless Redis
-- already holds it). At most RESUME_CAP tokens are kept across all nodes:
-- past it the oldest are forgotten (they expire first anyway), so churn
-- cannot fill Redis's memory within a TTL.
local function park_token(token, value, ttl, nx)
  local set
  if nx then
    set = redis.call('SET', token_key(token), value, 'EX', ttl, 'NX')
  else
    set = redis.call('SET', token_key(token), value, 'EX', ttl)
  end
  if not set then return end
  -- Scored in microseconds: two departures in the same millisecond must
  -- not tie, or ZPOPMIN would pick between them by name, not by age.
  -- (An expiry in µs, ≈ 2^51, is still exact in a Lua number.)
  local now = now_us()
  redis.call('ZADD', K_PARKED, now + tonumber(ttl) * 1000000, token)
  redis.call('ZREMRANGEBYSCORE', K_PARKED, '-inf', now)
  local over = redis.call('ZCARD', K_PARKED) - RESUME_CAP
  if over > 0 then
    local oldest = redis.call('ZPOPMIN', K_PARKED, over)
    for i = 1, #oldest, 2 do redis.call('DEL', token_key(oldest[i])) end
  end
end

-- `id` left (its node let go of it, or died): it leaves presence, and its
-- resume token starts its TTL, remembering the name.
local function drop(id, node, ttl)
  redis.call('HDEL', K_OWNER, id)
  redis.call('SREM', node_key(node), id)
  local name = redis.call('HGET', K_NAMES, id)
  if name then
    redis.call('ZREM', K_ORDER, id)
    redis.call('HDEL', K_NAMES, id)
    publish('l', id, '')
  end
  local token = redis.call('HGET', K_TOKENS, id)
  if token then
    redis.call('HDEL', K_TOKENS, id)
    park_token(token, id .. '\n' .. (name or ''), ttl, false)
  end
end
"#;

/// `sync(cap, resume_cap, node, id, present, name, token, ttl, park, park_name)`: makes
/// Redis agree with what this node knows of session `id`. Idempotent: the
/// node sends the session's *current* state, so retries and reorderings
/// cannot undo a newer change. Returns `ok`, `taken` (another node holds the
/// session now: this node's socket is stale), `gone` (already not ours) or
/// `nolease` (the node has no lease: it was reaped, or it is leaving; a
/// session registered now would have no one to reap it).
///
/// `park` (with a session that left) is a token Redis never stored: the
/// session left before its first write reached Redis. Unless another node
/// holds the session now, the token is stored for `ttl` with `park_name`,
/// as a leave does with a stored token (`NX`: it never overwrites a token
/// Redis holds).
const SYNC: &str = r#"
local node, id, present, name, token, ttl = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local park, park_name = ARGV[9], ARGV[10]
local owner = redis.call('HGET', K_OWNER, id)
if present == '1' then
  if not redis.call('ZSCORE', K_NODES, node) then return 'nolease' end
  if owner and owner ~= node then return 'taken' end
  if not owner then
    redis.call('HSET', K_OWNER, id, node)
    redis.call('SADD', node_key(node), id)
  end
  if token ~= '' then
    local old = redis.call('HGET', K_TOKENS, id)
    if old ~= token then
      if old then redis.call('DEL', token_key(old)) end
      redis.call('HSET', K_TOKENS, id, token)
      redis.call('SET', token_key(token), id)
    end
  end
  if name ~= '' then set_name(id, name) end
  return 'ok'
end
if owner and owner ~= node then return 'gone' end
if owner then drop(id, node, ttl) end
if park ~= '' then
  park_token(park, id .. '\n' .. park_name, ttl, true)
end
if owner then return 'ok' end
return 'gone'
"#;

/// `resume(cap, resume_cap, node, token)`: spends a token (single use across nodes: the
/// key is read and deleted in one step). A session still held by a live
/// node (this one or another, its lease unexpired) is refused and the token
/// kept, as the single process does: a token resumes a *disconnected*
/// session, it never takes a live one from its owner. A session still
/// listed under a node whose lease expired (dead, not yet reaped) is taken
/// over; that node is told, through the stream, to close its stale socket
/// should it come back. Returns `{session, name}` (name `''` for
/// none) or nil.
const RESUME: &str = r#"
local node, token = ARGV[3], ARGV[4]
local value = redis.call('GET', token_key(token))
if not value then return false end
local nl = string.find(value, '\n', 1, true)
local id, name = value, ''
if nl then id, name = string.sub(value, 1, nl - 1), string.sub(value, nl + 1) end
local owner = redis.call('HGET', K_OWNER, id)
if owner then
  local lease = redis.call('ZSCORE', K_NODES, owner)
  if owner == node or (lease and tonumber(lease) > now_ms()) then return false end
end
redis.call('DEL', token_key(token))
redis.call('ZREM', K_PARKED, token)
if owner then
  redis.call('SREM', node_key(owner), id)
  redis.call('HSET', K_OWNER, id, node)
  redis.call('SADD', node_key(node), id)
  redis.call('HDEL', K_TOKENS, id)
  name = redis.call('HGET', K_NAMES, id) or ''
  publish('k', id, owner)
end
return {id, name}
"#;

/// `renew(cap, resume_cap, node, epoch, lease_ms, candidate)`: extends this node's lease.
/// Returns `{verdict, epoch}`: `reset` when Redis's epoch is not the one the
/// node knows (Redis lost its data: the key was gone and `candidate` is the
/// new epoch, or another node already set one), `reaped` when the node had
/// no lease (a reaper took it away, even if it let go of only some of the
/// node's sessions yet, or the node is new), else `ok`. A node back from
/// the dead is no longer reaped: what is left of its sessions stays its.
const RENEW: &str = r#"
local node, known, lease, candidate = ARGV[3], ARGV[4], tonumber(ARGV[5]), ARGV[6]
local epoch = redis.call('GET', K_EPOCH)
if not epoch then
  epoch = candidate
  redis.call('SET', K_EPOCH, epoch)
end
local fresh = redis.call('ZADD', K_NODES, now_ms() + lease, node)
local revived = redis.call('SREM', K_DEAD, node)
if epoch ~= known then return {'reset', epoch} end
if fresh == 1 or revived == 1 then return {'reaped', epoch} end
return {'ok', epoch}
"#;

/// `reap(cap, resume_cap, batch, ttl, node)`: lets go of at most `batch` sessions of one
/// dead node (or of `node`, if given: a node leaving on purpose). A node
/// whose lease expired loses the lease at once, in the first call, and is
/// then reaped over as many calls as it takes: if it is only slow, its next
/// renewal finds the lease gone and it re-registers what it still holds.
/// Returns how many sessions it dropped, plus one if it found a dead node:
/// 0 means nothing (more) to do.
const REAP: &str = r#"
local batch, ttl, node = tonumber(ARGV[3]), ARGV[4], ARGV[5]
local found = 0
if node == '' then
  local expired = redis.call('ZRANGEBYSCORE', K_NODES, '-inf', now_ms(), 'LIMIT', 0, 1)
  if #expired > 0 then
    redis.call('ZREM', K_NODES, expired[1])
    redis.call('SADD', K_DEAD, expired[1])
  end
  node = redis.call('SRANDMEMBER', K_DEAD)
  if not node then return 0 end
  found = 1
else
  redis.call('ZREM', K_NODES, node)
end
local ids = redis.call('SPOP', node_key(node), batch)
for _, id in ipairs(ids) do
  if redis.call('HGET', K_OWNER, id) == node then drop(id, node, ttl) end
end
if redis.call('SCARD', node_key(node)) == 0 then redis.call('SREM', K_DEAD, node) end
return #ids + found
"#;

/// `state(cap, resume_cap)`: the whole presence in one atomic read: `{epoch, seq, id1,
/// name1, id2, name2, …}` in join order.
const STATE: &str = r#"
local out = {redis.call('GET', K_EPOCH) or '', redis.call('GET', K_SEQ) or '0'}
for _, id in ipairs(redis.call('ZRANGE', K_ORDER, 0, -1)) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', K_NAMES, id) or ''
end
return out
"#;

/// The scripts, compiled once per process (redis-rs sends each by hash and
/// uploads it again after a Redis restart).
pub struct Scripts {
    pub sync: redis::Script,
    pub resume: redis::Script,
    pub renew: redis::Script,
    pub reap: redis::Script,
    pub state: redis::Script,
}

impl Scripts {
    pub fn new() -> Self {
        let script = |body: &str| redis::Script::new(&format!("{COMMON}\n{body}"));
        Scripts {
            sync: script(SYNC),
            resume: script(RESUME),
            renew: script(RENEW),
            reap: script(REAP),
            state: script(STATE),
        }
    }
}

impl Default for Scripts {
    fn default() -> Self {
        Scripts::new()
    }
}

/// A prepared call of `script` with the fixed keys, the stream cap and the
/// resume capacity as the first two arguments (every script reads them as
/// `ARGV[1]` and `ARGV[2]`).
pub fn call(script: &redis::Script, resume_cap: usize) -> redis::ScriptInvocation<'_> {
    let mut invocation = script.prepare_invoke();
    for key in KEYS {
        invocation.key(key);
    }
    invocation.arg(STREAM_CAP).arg(resume_cap);
    invocation
}
