#!/usr/bin/env python3
"""Hoody starter app.

A tiny standard-library-only HTTP app meant to run as PID 1 inside a
per-tenant LXC application container:

    /usr/bin/python3 /opt/hoody-app/app.py

Environment:
    PORT          TCP port to listen on (default 8080), bound on 0.0.0.0
    TENANT_NAME   display name of the tenant (default "tenant")
    APP_DB        SQLite database path (default /data/app.sqlite)
    APP_SCRATCH   scratch file path (default /ramdisk/scratch.bin)

Routes:
    GET  /                   HTML hello page, increments the visit counter
    GET  /api/info           JSON {tenant, visits, env, hostname, pid}
    GET  /api/notes          JSON list of notes
    POST /api/notes          body = note text; JSON {id}
    POST /api/scratch?bytes=N  write N bytes (max 64 MiB) to the scratch file
    GET  /healthz            200 "ok"
    GET  /ws/echo            WebSocket echo (upgrade)

Runs as PID 1, so SIGTERM/SIGINT are handled explicitly (the kernel ignores
default-action signals for PID 1): the server stops accepting requests, the
database is closed and the process exits 0.  It spawns no children, so there
is nothing to reap.
"""

import os
import signal
import socket
import socketserver
import sqlite3
import sys
import threading
import time

PORT_DEFAULT = 8080
DB_PATH = os.environ.get("APP_DB", "/data/app.sqlite")
SCRATCH_PATH = os.environ.get("APP_SCRATCH", "/ramdisk/scratch.bin")
SCRATCH_MAX = 64 * 1024 * 1024
NOTE_MAX = 1024 * 1024
SECRET_PREFIX = "HOODY_SECRET"


def log(msg):
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sys.stdout.write("%s %s\n" % (ts, msg))
    sys.stdout.flush()


def tenant_name():
    return os.environ.get("TENANT_NAME") or "tenant"


class Store:
    """One shared SQLite connection guarded by a lock (requests are tiny)."""

    def __init__(self, path):
        d = os.path.dirname(path)
        if d:
            os.makedirs(d, exist_ok=True)
        self.lock = threading.Lock()
        # isolation_level=None: autocommit; explicit BEGIN where needed.
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)"
        )
        self.db.execute("INSERT OR IGNORE INTO counters (name, value) VALUES ('visits', 0)")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS notes ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " body TEXT NOT NULL,"
            " created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')))"
        )

    def visit(self):
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute("UPDATE counters SET value = value + 1 WHERE name = 'visits'")
                (n,) = self.db.execute("SELECT value FROM counters WHERE name = 'visits'").fetchone()
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            return n

    def visits(self):
        with self.lock:
            row = self.db.execute("SELECT value FROM counters WHERE name = 'visits'").fetchone()
            return row[0] if row else 0

    def add_note(self, body):
        with self.lock:
            cur = self.db.execute("INSERT INTO notes (body) VALUES (?)", (body,))
            return cur.lastrowid

    def notes(self):
        with self.lock:
            rows = self.db.execute("SELECT id, body, created_at FROM notes ORDER BY id").fetchall()
        return [{"id": r[0], "body": r[1], "created_at": r[2]} for r in rows]

    def close(self):
        with self.lock:
            try:
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error:
                pass
            self.db.close()


PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}}</style>
</head>
<body>
<h1>Hello from {tenant}</h1>
<p>This page has been visited <strong>{visits}</strong> time{plural}.</p>
<p><small>host {host} &middot; pid {pid}</small></p>
</body>
</html>
"""


def escape(text):
    """html.escape's: the html module imports re and a table of every entity, for five replaces."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").replace("'", "&#x27;")


REASONS = {
    100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created", 400: "Bad Request",
    404: "Not Found", 405: "Method Not Allowed", 413: "Content Too Large", 414: "URI Too Long",
    431: "Request Header Fields Too Large", 501: "Not Implemented", 507: "Insufficient Storage",
}
LINE_MAX = 65536
HEADERS_MAX = 100


class HTTPHandler(socketserver.StreamRequestHandler):
    """HTTP/1.1 with keep-alive, as much as this app's routes need.

    Not http.server's BaseHTTPRequestHandler: importing http.server imports http.client, email,
    re and html, which was half of this app's start (35-50 ms of ~95 in a tenant), and a tenant's
    first byte waits for the start. Requests: a request line, headers (names case-insensitive),
    a body by Content-Length only. Responses are written whole, in one send.
    """

    server_version = "hoody-starter/1"

    def handle(self):
        self.close_connection = False
        while not self.close_connection:
            if not self.handle_one_request():
                return

    def handle_one_request(self):
        self._out = []
        self.command = None
        self.body_read = False
        line = self.rfile.readline(LINE_MAX + 1)
        if not line:
            return False
        self.requestline = line[:200].decode("latin-1").rstrip("\r\n")
        if len(line) > LINE_MAX:
            return self._fail(414, "request line too long")
        parts = self.requestline.split()
        if not parts:
            # A blank line between requests (some clients end a body with one): not a request.
            return True
        if len(parts) != 3 or parts[2] not in ("HTTP/1.0", "HTTP/1.1"):
            return self._fail(400, "bad request line")
        self.command, self.path, self.request_version = parts
        # Absolute form (a proxy's) and a fragment: the routes match the path alone.
        if self.path.startswith(("http://", "https://")):
            self.path = "/" + self.path.split("/", 3)[3] if self.path.count("/") >= 3 else "/"
        self.path = self.path.partition("#")[0]
        self.headers = {}
        for count in range(HEADERS_MAX + 1):
            h = self.rfile.readline(LINE_MAX + 1)
            if len(h) > LINE_MAX or count == HEADERS_MAX:
                return self._fail(431, "header too long or too many headers")
            if h in (b"\r\n", b"\n", b""):
                break
            name, sep, value = h.decode("latin-1").partition(":")
            # Strict framing (RFC 9112): no folded lines, no space before the colon, one
            # Content-Length. A request read two ways is a request smuggled past a proxy.
            if not sep or not name or name != name.strip() or h[:1] in (b" ", b"\t"):
                return self._fail(400, "bad header line")
            name, value = name.lower(), value.strip()
            if name == "content-length" and (not (value.isascii() and value.isdigit()) or self.headers.get(name, value) != value):
                return self._fail(400, "bad Content-Length")
            self.headers[name] = value
        conn = self.headers.get("connection", "").lower()
        self.close_connection = "keep-alive" not in conn if self.request_version == "HTTP/1.0" else "close" in conn
        if self.request_version == "HTTP/1.1" and self.headers.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        handler = getattr(self, "do_" + self.command, None)
        if handler is None:
            self.close_connection = True
            self._json(501, {"error": "method %s not supported" % self.command})
            return False
        handler()
        return True

    def _fail(self, status, message):
        self.close_connection = True
        self.headers = {}
        self._json(status, {"error": message})
        return False

    def send_response(self, status, reason=None):
        self.log_request(status)
        self._out.append("HTTP/1.1 %d %s\r\nServer: %s\r\nDate: %s\r\n" % (
            status, reason or REASONS.get(status, ""), self.server_version,
            time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())))

    def send_header(self, name, value):
        self._out.append("%s: %s\r\n" % (name, value))
        if name.lower() == "connection" and value.lower() == "close":
            self.close_connection = True

    def end_headers(self, body=b""):
        # A body the route did not read would be parsed as the next request on this connection.
        if not self.body_read and (self.headers.get("transfer-encoding") or self.headers.get("content-length", "0") != "0"):
            self.close_connection = True
        if self.close_connection:
            self._out.append("Connection: close\r\n")
        self._out.append("\r\n")
        self.wfile.write("".join(self._out).encode("latin-1") + body)
        self._out = []

    def address_string(self):
        return self.client_address[0]

    def log_request(self, code):
        self.log_message('"%s" %s -', self.requestline, code)


class Handler(HTTPHandler):
    store = None  # set in main()

    # -- helpers ---------------------------------------------------------
    def _send(self, status, body, ctype):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers(body if self.command != "HEAD" else b"")

    def _json(self, status, obj):
        import json  # not at start: the page and /healthz need none

        self._send(status, json.dumps(obj) + "\n", "application/json")

    def _read_body(self, limit):
        length = self.headers.get("content-length")
        if self.headers.get("transfer-encoding"):
            return None, "chunked bodies not supported; send Content-Length"
        if length is None:
            return b"", None
        # Digits only: handle_one_request refused any other Content-Length.
        n = int(length)
        if n > limit:
            return None, "body too large (max %d bytes)" % limit
        self.body_read = True
        return self.rfile.read(n), None

    def _websocket_echo(self):
        """RFC 6455 echo: enough of the protocol (unfragmented text/binary, ping, close) to
        prove WebSocket upgrades pass through the tenant router."""
        # Imported here, not at start: hashlib loads libcrypto, for the one route that needs it.
        import base64
        import hashlib

        key = self.headers.get("sec-websocket-key", "")
        accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        self.send_response(101, "Switching Protocols")
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        self.end_headers()
        self.close_connection = True
        rf, wf = self.rfile, self.wfile
        while True:
            head = rf.read(2)
            if len(head) < 2:
                return
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = int.from_bytes(rf.read(2), "big")
            elif length == 127:
                length = int.from_bytes(rf.read(8), "big")
            if length > 1024 * 1024:
                return
            mask = rf.read(4) if head[1] & 0x80 else b"\0\0\0\0"
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(rf.read(length)))
            if opcode == 0x8:
                wf.write(b"\x88\x00")
                wf.flush()
                return
            reply_op = 0xA if opcode == 0x9 else opcode
            n = len(data)
            hdr = bytes([0x80 | reply_op]) + (bytes([n]) if n < 126 else bytes([126]) + n.to_bytes(2, "big") if n < 65536 else bytes([127]) + n.to_bytes(8, "big"))
            wf.write(hdr + data)
            wf.flush()

    def log_message(self, fmt, *args):
        # Called once per request by log_request() and by log_error().
        log("%s %s" % (self.address_string(), fmt % args))

    # -- routes ----------------------------------------------------------
    def do_GET(self):
        path = self.path.partition("?")[0]
        if path == "/":
            n = self.store.visit()
            page = PAGE.format(
                title=escape(tenant_name()),
                tenant=escape(tenant_name()),
                visits=n,
                plural="" if n == 1 else "s",
                host=escape(socket.gethostname()),
                pid=os.getpid(),
            )
            self._send(200, page, "text/html; charset=utf-8")
        elif path == "/healthz":
            self._send(200, "ok", "text/plain; charset=utf-8")
        elif path == "/ws/echo" and self.headers.get("upgrade", "").lower() == "websocket":
            self._websocket_echo()
        elif path == "/api/info":
            env = {k: v for k, v in os.environ.items() if not k.startswith(SECRET_PREFIX)}
            self._json(200, {
                "tenant": tenant_name(),
                "visits": self.store.visits(),
                "env": env,
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
                "forwarded": {k: v for k, v in self.headers.items() if k.startswith("x-forwarded-")},
            })
        elif path == "/api/notes":
            self._json(200, self.store.notes())
        else:
            self._json(404, {"error": "not found"})

    def do_HEAD(self):
        path = self.path.partition("?")[0]
        if path == "/healthz":
            self._send(200, "ok", "text/plain; charset=utf-8")
        else:
            self._json(405, {"error": "HEAD is only supported on /healthz"})

    def do_POST(self):
        path, _, query = self.path.partition("?")
        if path == "/api/notes":
            body, err = self._read_body(NOTE_MAX)
            if err:
                self.close_connection = True
                return self._json(413 if "large" in err else 400, {"error": err})
            note_id = self.store.add_note(body.decode("utf-8", errors="replace"))
            self._json(201, {"id": note_id})
        elif path == "/api/scratch":
            # Drain any request body so keep-alive stays in sync.
            _, err = self._read_body(NOTE_MAX)
            if err:
                self.close_connection = True
            import urllib.parse

            qs = urllib.parse.parse_qs(query)
            try:
                n = int(qs.get("bytes", [""])[0])
            except ValueError:
                return self._json(400, {"error": "bytes=N required (integer)"})
            if n < 0 or n > SCRATCH_MAX:
                return self._json(400, {"error": "bytes must be between 0 and %d" % SCRATCH_MAX})
            try:
                written = write_scratch(SCRATCH_PATH, n)
            except OSError as e:
                return self._json(507, {"error": "write failed: %s" % e.strerror})
            self._json(200, {"written": written})
        else:
            self._json(404, {"error": "not found"})


def write_scratch(path, n):
    chunk = b"\xa5" * (1024 * 1024)
    written = 0
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        while written < n:
            k = min(len(chunk), n - written)
            f.write(chunk[:k] if k < len(chunk) else chunk)
            written += k
    os.replace(tmp, path)
    return written


class Stop(BaseException):
    """Raised by the signal handler in the main thread to end serve_forever.

    A BaseException: socketserver catches Exception around process_request (it logs the error and
    serves on), and a signal that lands while the main thread starts a request's thread would be
    lost there, leaving the app to be killed at the stop's deadline.
    """


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True  # don't wait for idle keep-alive connections on shutdown
    allow_reuse_address = True


def main():
    raw_port = os.environ.get("PORT") or str(PORT_DEFAULT)
    try:
        port = int(raw_port)
        if not 0 < port < 65536:
            raise ValueError
    except ValueError:
        log("fatal: invalid PORT %r" % raw_port)
        return 2

    stopping = threading.Event()
    # Set while the main thread is in (or about to enter) serve_forever: a signal then raises Stop
    # there, which ends the loop at once. serve_forever waits on its socket with no timeout: its
    # default (poll every 0.5 s for a shutdown request) woke every idle tenant twice a second, which
    # on a box of 1,000 running ones was a tenth of a core and slowed every other start by a third.
    serving = [False]

    def on_signal(signum, _frame):
        if stopping.is_set():
            return
        stopping.set()
        log("received %s, shutting down" % signal.Signals(signum).name)
        if serving[0]:
            raise Stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)

    try:
        Handler.store = Store(DB_PATH)
    except (OSError, sqlite3.Error) as e:
        log("fatal: cannot open database %s: %s" % (DB_PATH, e))
        return 1

    try:
        httpd = Server(("0.0.0.0", port), Handler)
    except OSError as e:
        log("fatal: cannot listen on 0.0.0.0:%d: %s" % (port, e))
        Handler.store.close()
        return 1

    log("hoody starter app: tenant=%r listening on 0.0.0.0:%d db=%s pid=%d"
        % (tenant_name(), port, DB_PATH, os.getpid()))
    t0 = time.monotonic()
    try:
        serving[0] = True
        # (A signal that came before serving was set has set stopping, and is seen here.)
        if not stopping.is_set():
            httpd.serve_forever(poll_interval=None)
    except Stop:
        pass
    finally:
        serving[0] = False
    httpd.server_close()
    Handler.store.close()
    log("stopped after %.1fs" % (time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
