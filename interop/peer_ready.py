"""The ready line of the Python peers (flask_server.py, seed_server.py):
printed once the port accepts connections, which `cargo xtask interop` reads
from the log. Bounded: gives up with a line of its own after `within_s`."""

import socket
import threading
import time


def announce_when_listening(port, describe, within_s=20.0):
    """In a daemon thread: prints `<describe()> ready on http://127.0.0.1:<port>`
    once the port listens, or a failure line after `within_s` seconds."""

    def wait():
        deadline = time.monotonic() + within_s
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    name, details = describe()
                    print(f"{name} ready on http://127.0.0.1:{port} ({details})", flush=True)
                    return
            except OSError:
                time.sleep(0.05)
        print(f"peer: not listening on port {port} after {within_s} s", flush=True)

    threading.Thread(target=wait, daemon=True).start()
