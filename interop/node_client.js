// socket.io-client 4.8 (or 2.5 with `--client 2`: Engine.IO v3, Socket.IO
// revision 4) against a server that speaks the app's protocol (our Rust
// server in `cargo xtask interop`). Runs the interop cell and exits 0 only if
// every step passed; prints one line per step.
//
//     node node_client.js --url http://127.0.0.1:3000 [--name "Node Interop"]
//         [--client 4|2] [--transports websocket|polling|polling,websocket]
//         [--peer ours|app|seed] [--expect-transport polling|websocket]
//
// `--peer` says how the stored name is checked: `ours` (the default) with a
// second client's presence (always a 4.8 client: revision-4 clients are sent
// no presence); `app` (the Flask and node peers in this folder) and `seed`
// (seed_server.py) with GET /users. The seed's `connected` carries no uuid
// and its identify answers an ack with nothing, so `seed` checks the name
// among all users and only that the ack arrives. `--stored users` is the old
// spelling of `--peer app`. The last step prints the transport the client
// ended on and, with `--expect-transport`, fails if it is another.
//
// Steps: connect to /iss; receive `connected` with a uuid; identify without
// an ack; see the stored name from a second client's `presence`; identify
// with an ack and check the reply; disconnect cleanly (and the second client
// sees us leave). Every wait has a 10 s deadline; the whole run 60 s.

"use strict";

const fs = require("node:fs");
const path = require("node:path");
const clients = {
  4: { pkg: "socket.io-client", io: () => require("socket.io-client").io },
  2: { pkg: "socket.io-client-v2", io: () => require("socket.io-client-v2") },
};

const STEP_TIMEOUT_MS = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parseArgs(argv) {
  const out = { name: "Node Interop", client: "4", transports: "websocket", peer: "ours" };
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith("--") || argv[i + 1] === undefined) {
      throw new Error(`bad argument ${argv[i]}`);
    }
    out[argv[i].slice(2)] = argv[i + 1];
  }
  if (out.stored === "users") out.peer = "app";
  if (!out.url || !clients[out.client] || !["ours", "app", "seed"].includes(out.peer)) {
    throw new Error(
      "usage: node node_client.js --url http://127.0.0.1:PORT [--name NAME] [--client 4|2] " +
        "[--transports websocket|polling|polling,websocket] [--peer ours|app|seed]",
    );
  }
  return out;
}

function installed(pkg) {
  const file = path.join(__dirname, "node_modules", pkg, "package.json");
  return JSON.parse(fs.readFileSync(file, "utf8")).version;
}

/** Resolves with the first `event` (its first argument); rejects after `ms`. */
function next(socket, event, ms = STEP_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, onEvent);
      reject(new Error(`no \`${event}\` within ${ms} ms`));
    }, ms);
    function onEvent(value) {
      clearTimeout(timer);
      resolve(value);
    }
    socket.once(event, onEvent);
  });
}

/** Resolves once the socket joined the namespace; rejects on connect_error or after `ms`. */
function joined(socket, ms = STEP_TIMEOUT_MS) {
  return Promise.race([
    next(socket, "connect", ms),
    next(socket, "connect_error", ms).then((err) => {
      throw new Error(`connect_error: ${err && err.message}`);
    }),
  ]);
}

/** Who is online, as a second client sees it: a snapshot, then deltas. */
class PresenceWatcher {
  constructor(socket) {
    this.users = new Map();
    this.waiters = [];
    socket.on("presence", (p) => {
      if (p.kind === "snapshot") {
        this.users = new Map(p.users.map((u) => [u.id, u.name]));
      } else if (p.kind === "delta") {
        for (const change of p.changes) {
          if (change.op === "left") this.users.delete(change.id);
          else this.users.set(change.id, change.name);
        }
      }
      this.waiters = this.waiters.filter((w) => !w());
    });
  }

  /** Resolves when `check(users)` holds; rejects after `ms`. */
  until(what, check, ms = STEP_TIMEOUT_MS) {
    return new Promise((resolve, reject) => {
      if (check(this.users)) return resolve();
      const timer = setTimeout(
        () => reject(new Error(`${what}: not seen within ${ms} ms (presence: ${JSON.stringify([...this.users])})`)),
        ms,
      );
      this.waiters.push(() => {
        if (!check(this.users)) return false;
        clearTimeout(timer);
        resolve();
        return true;
      });
    });
  }
}

let failures = 0;
async function step(name, body) {
  try {
    const detail = await body();
    console.log(`  ✓ ${name}${detail ? `: ${detail}` : ""}`);
    return true;
  } catch (err) {
    failures += 1;
    console.log(`  ✗ ${name}: ${err && err.message ? err.message : err}`);
    return false;
  }
}

function open(url, client = "4", transports = "websocket") {
  return clients[client].io()(`${url}/iss`, {
    forceNew: true,
    transports: transports.split(","),
    reconnection: false,
    timeout: STEP_TIMEOUT_MS,
  });
}

/** An emit with an ack, in the API both client versions have. */
function emitWithAck(socket, event, arg, ms = STEP_TIMEOUT_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack within ${ms} ms`)), ms);
    socket.emit(event, arg, (reply) => {
      clearTimeout(timer);
      resolve(reply);
    });
  });
}

/** The stored users (GET /users of the peer servers). */
async function users(url) {
  const response = await fetch(`${url}/users`, { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) });
  return response.json();
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const pkg = clients[args.client].pkg;
  console.log(
    `socket.io-client ${installed(pkg)} (node ${process.versions.node}, transports ${args.transports}) → ${args.url}/iss`,
  );
  const socket = open(args.url, args.client, args.transports);
  const connected = next(socket, "connected");
  connected.catch(() => {});
  let session = null;
  let watcher = null;
  let presence = null;
  try {
    if (!(await step("connect to /iss", () => joined(socket)))) return;
    if (
      !(await step("`connected` with a session id", async () => {
        const payload = await connected;
        if (args.peer === "seed") return "the seed's `connected` has no payload";
        if (!payload || typeof payload.uuid !== "string" || !UUID.test(payload.uuid)) {
          throw new Error(`expected {"uuid": <uuid>}, got ${JSON.stringify(payload)}`);
        }
        session = payload.uuid;
        return session;
      }))
    ) {
      return;
    }
    await step("identify without ack", async () => {
      socket.emit("identify", args.name);
    });
    if (args.peer !== "ours") {
      // The peer servers have no presence; they serve GET /users instead.
      await step("server stored it (GET /users shows the name)", async () => {
        const deadline = Date.now() + STEP_TIMEOUT_MS;
        for (;;) {
          const stored = await users(args.url);
          const mine =
            args.peer === "seed"
              ? Object.values(stored).find((u) => u.username === args.name)
              : stored[session];
          if (mine && mine.username === args.name) return JSON.stringify(mine);
          if (Date.now() > deadline) throw new Error(`not in /users: ${JSON.stringify(stored)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      });
    } else {
      await step("server stored it (a second client's presence shows the name)", async () => {
        watcher = open(args.url);
        presence = new PresenceWatcher(watcher);
        await joined(watcher);
        await presence.until(`${session} as ${JSON.stringify(args.name)}`, (u) => u.get(session) === args.name);
      });
    }
    const acked = `${args.name} 2`;
    await step("identify with ack", async () => {
      const reply = await emitWithAck(socket, "identify", acked);
      if (args.peer === "seed") return `acked with ${JSON.stringify(reply)} (the seed's handler returns nothing)`;
      const problems = [];
      if (!reply || reply.ok !== true) problems.push("ok is not true");
      if (reply && reply.username !== acked) problems.push(`username ${JSON.stringify(reply.username)} ≠ ${JSON.stringify(acked)}`);
      if (reply && reply.uuid !== session) problems.push(`uuid ${JSON.stringify(reply.uuid)} ≠ session ${session}`);
      if (problems.length) throw new Error(`${problems.join("; ")} in ${JSON.stringify(reply)}`);
      return JSON.stringify(reply);
    });
    await step("disconnect cleanly", async () => {
      // The upgrade runs beside the other steps: a slow peer may still be
      // on polling here, so wait (bounded) for the expected transport.
      const expected = args["expect-transport"];
      const deadline = Date.now() + STEP_TIMEOUT_MS;
      while (expected && socket.io.engine.transport.name !== expected && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
      }
      const transport = socket.io.engine.transport.name;
      if (expected && transport !== expected) throw new Error(`ended on ${transport}, expected ${expected}`);
      const gone = next(socket, "disconnect");
      socket.disconnect();
      const reason = await gone;
      if (reason !== "io client disconnect") throw new Error(`disconnect reason ${reason}`);
      if (presence) {
        await presence.until(`${session} leaving`, (u) => !u.has(session));
        return `${reason}; the second client saw us leave; transport ${transport}`;
      }
      return `${reason}; transport ${transport}`;
    });
  } finally {
    socket.close();
    if (watcher) watcher.close();
  }
}

const overall = setTimeout(() => {
  console.log("  ✗ the whole run took over 60 s");
  process.exit(1);
}, 60_000);
overall.unref();

main().then(
  () => {
    console.log(failures === 0 ? "node client: all steps passed" : `node client: ${failures} step(s) failed`);
    process.exit(failures === 0 ? 0 : 1);
  },
  (err) => {
    console.log(`  ✗ ${err && err.stack ? err.stack : err}`);
    process.exit(1);
  },
);
