// The original app's behaviour on node socket.io 4.8: the reference peer for
// `cargo xtask interop`.
//
// Namespace /iss; on connect, emit `connected` with {"uuid": randomUUID()};
// `identify` stores users[uuid] = {"username": name} and, when the client
// asked for an ack, answers {"ok": true, "uuid": ..., "username": ...}.
//
//     node node_server.js --port 5001 --origin http://127.0.0.1:8000 [--print-identify yes]
//
// `--print-identify yes` prints the seed's `Identify: <name>` line per
// identify. Off by default: the benchmark compares servers doing the same
// work per event, and none of them writes a line per event.
//
// Only that origin is allowed: socket.io's `cors` covers the HTTP (polling)
// responses, and `allowRequest` refuses a websocket or polling request whose
// Origin header is another one (requests without Origin, i.e. non-browser
// clients, pass), as Flask-SocketIO does with cors_allowed_origins.
// GET /users returns what `identify` stored, as JSON, for the tests (readable
// from the allowed origin).

"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");
const { Server } = require("socket.io");

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (!key.startsWith("--") || value === undefined) {
      throw new Error(`bad argument ${key}`);
    }
    out[key.slice(2)] = value;
  }
  if (!out.port || !out.origin) {
    throw new Error(
      "usage: node node_server.js --port PORT --origin ORIGIN [--print-identify yes]",
    );
  }
  return out;
}

/** The installed version of a package (its `exports` hide package.json). */
function installed(pkg) {
  const file = path.join(__dirname, "node_modules", pkg, "package.json");
  return JSON.parse(fs.readFileSync(file, "utf8")).version;
}

const args = parseArgs(process.argv.slice(2));
const port = Number(args.port);
const printIdentify = args["print-identify"] === "yes";
const users = {};

const httpServer = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/users") {
    // The browser test reads it from the test page's origin.
    res.writeHead(200, {
      "content-type": "application/json",
      "access-control-allow-origin": args.origin,
    });
    res.end(JSON.stringify(users));
  } else {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found\n");
  }
});

const io = new Server(httpServer, {
  cors: { origin: [args.origin] },
  allowRequest: (req, callback) => {
    const origin = req.headers.origin;
    callback(null, origin === undefined || origin === args.origin);
  },
});

io.of("/iss").on("connection", (socket) => {
  const uuid = crypto.randomUUID();
  socket.emit("connected", { uuid });
  socket.on("identify", (user, ack) => {
    if (printIdentify) {
      console.log(`Identify: ${user}`);
    }
    users[uuid] = { username: user };
    if (typeof ack === "function") {
      ack({ ok: true, uuid, username: user });
    }
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log(
    `node peer ready on http://127.0.0.1:${port} (node ${process.versions.node}, ` +
      `socket.io ${installed("socket.io")}, engine.io ${installed("engine.io")}; ` +
      `allowed origin ${args.origin})`,
  );
});

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    io.close();
    httpServer.close();
    process.exit(0);
  });
}
