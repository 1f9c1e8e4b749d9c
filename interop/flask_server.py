"""The original app's server, as Flask-SocketIO runs it: the reference peer for
`cargo xtask interop`.

Same behaviour as the 2016 Flask app, plus the reply the Rust server gives:
namespace /iss; on connect, emit `connected` with {"uuid": uuid1}; `identify`
stores users[uuid] = {"username": name} and, when the client asked for an ack,
answers {"ok": true, "uuid": ..., "username": ...} (python-socketio sends a
handler's return value only when the event carried an ack id).

Flask-SocketIO runs in its DEFAULT mode (always_connect=False): it emits
`connected` from the connect handler BEFORE the namespace CONNECT ack, the
order a client must cope with. Threading async mode on Werkzeug's dev server.

    python flask_server.py --port 5000 --origin http://127.0.0.1:8000 [--polling-only] [--print-identify]

`--polling-only` offers no websocket, as Flask-SocketIO's threading mode does
when simple-websocket is not installed.

`--print-identify` prints the seed's `Identify: <name>` line per identify.
Off by default: the benchmark compares servers doing the same work per event,
and none of them writes a line per event.

GET /users returns what `identify` stored, as JSON, for the tests (readable
from the allowed origin).
"""

import argparse
import sys
import threading
import uuid
from importlib.metadata import version

from flask import Flask, jsonify, session
from flask_socketio import SocketIO, emit

from peer_ready import announce_when_listening

NAMESPACE = "/iss"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--origin",
        required=True,
        help="the one browser origin allowed (e.g. http://127.0.0.1:8000)",
    )
    parser.add_argument(
        "--polling-only",
        action="store_true",
        help="offer no websocket (as Flask-SocketIO without simple-websocket)",
    )
    parser.add_argument(
        "--print-identify",
        action="store_true",
        help="print the seed's 'Identify: <name>' line per identify",
    )
    return parser.parse_args()


args = parse_args()
app = Flask(__name__)
app.config["SECRET_KEY"] = "interop-only"
socketio = SocketIO(
    app,
    async_mode="threading",
    cors_allowed_origins=[args.origin],
    # What threading mode gives without simple-websocket installed: no
    # websocket, and none offered as an upgrade.
    transports=["polling"] if args.polling_only else None,
    allow_upgrades=not args.polling_only,
)
users = {}
users_lock = threading.Lock()


@socketio.on("connect", namespace=NAMESPACE)
def on_connect(auth=None):
    session["uuid"] = str(uuid.uuid1())
    emit("connected", {"uuid": session["uuid"]})


@socketio.on("identify", namespace=NAMESPACE)
def on_identify(user):
    if args.print_identify:
        print("Identify: " + str(user), flush=True)
    with users_lock:
        users[session["uuid"]] = {"username": user}
    return {"ok": True, "uuid": session["uuid"], "username": user}


@app.get("/users")
def get_users():
    with users_lock:
        response = jsonify(dict(users))
    # The browser test reads it from the test page's origin.
    response.headers["Access-Control-Allow-Origin"] = args.origin
    return response


def describe():
    """The peer and its versions, for the ready line."""
    return "flask peer", (
        f"Flask-SocketIO {version('Flask-SocketIO')}, "
        f"python-socketio {version('python-socketio')}, "
        f"python-engineio {version('python-engineio')}, "
        f"simple-websocket {version('simple-websocket')}; "
        f"allowed origin {args.origin}"
    )


if __name__ == "__main__":
    announce_when_listening(args.port, describe)
    socketio.run(
        app,
        host="127.0.0.1",
        port=args.port,
        allow_unsafe_werkzeug=True,
        log_output=False,
    )
    sys.exit(0)
