"""The seed backend, as the 2016 write-up installs it: the reference peer of
the seed's protocol generation (Engine.IO v3, Socket.IO revision 4) for
`cargo xtask interop`. Flask-SocketIO 4.3.2 (requirements-seed.txt).

The handlers are the seed's, verbatim, except that the per-identify print is
behind `--print-identify` (no contender in this project prints per event):

    @socketio.on('connect', namespace='/iss')
    def Connection():
        session['uuid'] = uuid.uuid1()
        emit('connected')

    @socketio.on('identify', namespace='/iss')
    def on_identify(user):
        print('Identify: ' + user)
        users[session['uuid']] = {'username' : user}

    python seed_server.py --port 5000 --origin http://127.0.0.1:8000 [--mode threading|eventlet]
        [--page DIR] [--print-identify]

`--mode threading` (the default, what `easy_install flask-socketio` gave with
nothing else installed) offers no websocket: the whole session is
long-polling. `--mode eventlet` adds the websocket upgrade.

With `--page DIR` it serves that folder at / (the seed page, same-origin,
as the original app served it).

GET /users returns what `identify` stored, as JSON (readable from the
allowed origin).
"""

import argparse
import sys


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--origin", required=True, help="the one browser origin allowed")
    parser.add_argument("--mode", choices=["threading", "eventlet"], default="threading")
    parser.add_argument("--print-identify", action="store_true")
    parser.add_argument(
        "--page",
        help="a folder to serve at / (the seed page: index.html and its scripts), "
        "as the original Flask app served its page",
    )
    return parser.parse_args()


args = parse_args()
if args.mode == "eventlet":
    import eventlet

    eventlet.monkey_patch()

import logging  # noqa: E402  (after eventlet's monkey patching)
import uuid  # noqa: E402
from importlib.metadata import version  # noqa: E402

from flask import Flask, jsonify, session  # noqa: E402
from flask_socketio import SocketIO, emit  # noqa: E402

from peer_ready import announce_when_listening  # noqa: E402

# No access log line per request (Werkzeug's, in threading mode).
logging.getLogger("werkzeug").setLevel(logging.ERROR)
app = Flask(__name__, static_folder=args.page, static_url_path="")
app.config["SECRET_KEY"] = "interop-only"
# The allowed test origin, and the server's own (it serves the seed page):
# python-engineio 3.14 accepts only the listed origins.
socketio = SocketIO(
    app,
    async_mode=args.mode,
    cors_allowed_origins=[args.origin, f"http://127.0.0.1:{args.port}"],
)
users = {}


@socketio.on("connect", namespace="/iss")
def Connection():
    session["uuid"] = uuid.uuid1()
    emit("connected")


@socketio.on("identify", namespace="/iss")
def on_identify(user):
    if args.print_identify:
        print("Identify: " + user, flush=True)
    users[session["uuid"]] = {"username": user}


@app.route("/")
def index():
    if not args.page:
        return "no --page given\n", 404
    return app.send_static_file("index.html")


@app.route("/users")
def get_users():
    response = jsonify({str(key): value for key, value in list(users.items())})
    response.headers["Access-Control-Allow-Origin"] = args.origin
    return response


def describe():
    """The peer and its versions, for the ready line."""
    return "seed peer", (
        f"{args.mode}; "
        f"Flask-SocketIO {version('Flask-SocketIO')}, "
        f"python-socketio {version('python-socketio')}, "
        f"python-engineio {version('python-engineio')}; "
        f"allowed origin {args.origin}"
    )


if __name__ == "__main__":
    announce_when_listening(args.port, describe)
    socketio.run(app, host="127.0.0.1", port=args.port, log_output=False)
    sys.exit(0)
