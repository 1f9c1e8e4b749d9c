"""python-socketio's client against a server that speaks the app's protocol
(our Rust server in `cargo xtask interop`). Runs the interop cell and exits 0
only if every step passed; prints one line per step.

    python py_client.py --url http://127.0.0.1:3000 [--name "Py Interop"]

`--stored users` checks the stored name with GET /users instead of a second
client's presence: for running it by hand against the peer servers in this
folder, which have no presence.

Steps: connect to /iss; receive `connected` with a uuid; identify without an
ack; see the stored name from a second client's `presence`; identify with an
ack and check the reply; disconnect cleanly (and the second client sees us
leave). Every wait has a 10 s deadline.
"""

import argparse
import json
import re
import sys
import threading
import time
from importlib.metadata import version

import requests
import socketio

NAMESPACE = "/iss"
STEP_TIMEOUT_S = 10.0
UUID = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I
)


class StepFailed(Exception):
    pass


class Presence:
    """Who is online, as a client sees it: a snapshot, then deltas."""

    def __init__(self, client):
        self.users = {}
        self.changed = threading.Condition()
        client.on("presence", self.on_presence, namespace=NAMESPACE)

    def on_presence(self, p):
        with self.changed:
            if p.get("kind") == "snapshot":
                self.users = {u["id"]: u["name"] for u in p["users"]}
            elif p.get("kind") == "delta":
                for change in p["changes"]:
                    if change["op"] == "left":
                        self.users.pop(change["id"], None)
                    else:
                        self.users[change["id"]] = change["name"]
            self.changed.notify_all()

    def until(self, what, check, timeout=STEP_TIMEOUT_S):
        with self.changed:
            if not self.changed.wait_for(lambda: check(self.users), timeout):
                raise StepFailed(
                    f"{what}: not seen within {timeout} s (presence: {self.users})"
                )


def new_client():
    return socketio.Client(reconnection=False, request_timeout=STEP_TIMEOUT_S)


def connect(client, url):
    try:
        client.connect(
            url,
            namespaces=[NAMESPACE],
            transports=["websocket"],
            wait_timeout=STEP_TIMEOUT_S,
        )
    except socketio.exceptions.ConnectionError as err:
        raise StepFailed(f"cannot connect: {err}") from err


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--name", default="Py Interop")
    parser.add_argument("--stored", choices=["presence", "users"], default="presence")
    args = parser.parse_args()
    print(
        f"python-socketio {version('python-socketio')} "
        f"(python-engineio {version('python-engineio')}, "
        f"websocket-client {version('websocket-client')}) → {args.url}{NAMESPACE}",
        flush=True,
    )

    failures = 0
    state = {}

    def step(name, body):
        nonlocal failures
        try:
            detail = body()
            print(f"  ✓ {name}" + (f": {detail}" if detail else ""), flush=True)
            return True
        except Exception as err:  # noqa: BLE001 - every failure is a failed step
            failures += 1
            print(f"  ✗ {name}: {type(err).__name__}: {err}", flush=True)
            return False

    client = new_client()
    got_connected = threading.Event()
    disconnected = threading.Event()

    @client.on("connected", namespace=NAMESPACE)
    def on_connected(payload=None):
        state["connected"] = payload
        got_connected.set()

    @client.on("disconnect", namespace=NAMESPACE)
    def on_disconnect(*_reason):
        disconnected.set()

    watcher = None
    presence = None
    try:

        def connect_step():
            connect(client, args.url)
            if NAMESPACE not in client.connection_namespaces:
                raise StepFailed(f"not in {NAMESPACE}: {client.connection_namespaces}")

        if not step("connect to /iss", connect_step):
            return 1

        def connected_step():
            if not got_connected.wait(STEP_TIMEOUT_S):
                raise StepFailed(f"no `connected` within {STEP_TIMEOUT_S} s")
            payload = state["connected"]
            uuid = payload.get("uuid") if isinstance(payload, dict) else None
            if not isinstance(uuid, str) or not UUID.match(uuid):
                raise StepFailed(f'expected {{"uuid": <uuid>}}, got {payload!r}')
            state["session"] = uuid
            return uuid

        if not step("`connected` with a session id", connected_step):
            return 1
        session = state["session"]

        step(
            "identify without ack",
            lambda: client.emit("identify", args.name, namespace=NAMESPACE),
        )

        def stored_step():
            nonlocal watcher, presence
            watcher = new_client()
            presence = Presence(watcher)
            connect(watcher, args.url)
            presence.until(
                f"{session} as {args.name!r}",
                lambda users: users.get(session) == args.name,
            )

        def users_step():
            deadline = time.monotonic() + STEP_TIMEOUT_S
            while True:
                users = requests.get(f"{args.url}/users", timeout=STEP_TIMEOUT_S).json()
                if users.get(session, {}).get("username") == args.name:
                    return json.dumps(users[session])
                if time.monotonic() > deadline:
                    raise StepFailed(f"not in /users: {users}")
                time.sleep(0.05)

        if args.stored == "users":
            step("server stored it (GET /users shows the name)", users_step)
        else:
            step(
                "server stored it (a second client's presence shows the name)",
                stored_step,
            )

        acked = f"{args.name} 2"

        def ack_step():
            reply = client.call(
                "identify", acked, namespace=NAMESPACE, timeout=STEP_TIMEOUT_S
            )
            problems = []
            if not isinstance(reply, dict) or reply.get("ok") is not True:
                problems.append("ok is not true")
            elif reply.get("username") != acked:
                problems.append(f"username {reply.get('username')!r} != {acked!r}")
            elif reply.get("uuid") != session:
                problems.append(f"uuid {reply.get('uuid')!r} != session {session}")
            if problems:
                raise StepFailed(f"{'; '.join(problems)} in {json.dumps(reply)}")
            return json.dumps(reply)

        step("identify with ack", ack_step)

        def disconnect_step():
            client.disconnect()
            if not disconnected.wait(STEP_TIMEOUT_S):
                raise StepFailed("no disconnect event")
            if presence is not None:
                presence.until(f"{session} leaving", lambda users: session not in users)
                return "the second client saw us leave"
            return None

        step("disconnect cleanly", disconnect_step)
    finally:
        for c in (client, watcher):
            if c is not None and c.connected:
                c.disconnect()

    print(
        "python client: all steps passed"
        if failures == 0
        else f"python client: {failures} step(s) failed",
        flush=True,
    )
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
