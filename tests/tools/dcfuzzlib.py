"""dcfuzzlib: shared by tests/tools/http_fuzz.py and tests/tools/chaos.py (not a test
itself; Python 3 standard library only).

Holds: generators of small data files in every upload format (NPY, IDX, CSV, DCF32,
gzip), a Server that starts `deepclust serve` on a free loopback port with its own
database, a raw-socket HTTP client that can send any bytes (and read one response),
and the scan of a server log for sanitizer reports.
"""
import gzip
import io
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import time

import store_target as store  # SQLite file or PostgreSQL database (DC_TEST_PG_URL)

LOOPBACK = "127.0.0.1"


# ---- data generators --------------------------------------------------------------------

def blobs(n, d, k, seed, spread=0.5):
    """n samples of k Gaussian blobs in d dimensions; returns (rows, labels)."""
    rnd = random.Random(seed)
    centers = [[rnd.uniform(-5, 5) for _ in range(d)] for _ in range(k)]
    rows, labels = [], []
    for i in range(n):
        c = i % k
        rows.append([centers[c][j] + rnd.gauss(0, spread) for j in range(d)])
        labels.append(c)
    return rows, labels


def f32(rows):
    """float32 little-endian bytes of rows (row-major)."""
    return struct.pack("<%df" % (len(rows) * len(rows[0])), *[v for r in rows for v in r])


def npy_header(descr, shape):
    sh = "(%s)" % ", ".join(str(s) for s in shape) if len(shape) != 1 else "(%d,)" % shape[0]
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, sh)
    header += " " * (63 - (len(header) + 10) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()


def npy_f32(rows):
    return npy_header("<f4", (len(rows), len(rows[0]))) + f32(rows)


def npy_i32(vals):
    return npy_header("<i4", (len(vals),)) + struct.pack("<%di" % len(vals), *vals)


def csv_rows(rows, labels=None):
    out = io.StringIO()
    cols = ["f%d" % j for j in range(len(rows[0]))] + (["label"] if labels is not None else [])
    out.write(",".join(cols) + "\n")
    for i, r in enumerate(rows):
        out.write(",".join("%.5f" % v for v in r))
        out.write(",%d\n" % labels[i] if labels is not None else "\n")
    return out.getvalue().encode()


def idx_images(n, h, w, seed):
    rnd = random.Random(seed)
    data = bytes(rnd.randrange(256) for _ in range(n * h * w))
    return struct.pack(">BBBBIII", 0, 0, 8, 3, n, h, w) + data


def idx_labels(labels):
    return struct.pack(">BBBBI", 0, 0, 8, 1, len(labels)) + bytes(labels)


def dcf32(rows, h=0, w=0, c=0):
    hdr = b"DCF32\0" + struct.pack("<HQIIII", 1, len(rows), len(rows[0]), h, w, c)
    return hdr + f32(rows)


def gz(data):
    return gzip.compress(data, mtime=0)


# ---- the server -------------------------------------------------------------------------

def exit_on_sigterm():
    """SIGTERM (ctest's timeout) ends the script through its finally: blocks, so that the
    server it started does not outlive it."""
    def on_term(sig, frame):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, on_term)


def is_sanitized(binary):
    """True when the binary was built with ASan (it then holds __asan_init)."""
    try:
        with open(binary, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


SAN_RE = re.compile(r"(==\d+==ERROR: \w+Sanitizer|^\S+:\d+:\d+: runtime error: |"
                    r"^SUMMARY: \w+Sanitizer|AddressSanitizer:DEADLYSIGNAL)", re.M)


def sanitizer_reports(text):
    """The lines of text that belong to sanitizer reports (empty when there are none).
    Access-log lines never match: they start with a timestamp and hold no '==N=='."""
    return [m.group(0) for m in SAN_RE.finditer(text)]


def report_summary(text, src_hint="/"):
    """(signature, summary lines) of the first sanitizer report in text: the SUMMARY or
    runtime-error line and the first stack frames in the project's sources."""
    lines = text.splitlines()
    start = None
    for i, line in enumerate(lines):
        if SAN_RE.search(line) or "Segmentation fault" in line:
            start = i
            break
    if start is None:
        return None, []
    block = lines[start:start + 80]
    summary = [l for l in block if l.startswith("SUMMARY:")][:1]
    rterr = [l for l in block if ": runtime error: " in l][:1]
    frames = [l.strip() for l in block if re.match(r"\s+#\d+ ", l) and src_hint in l][:6]
    head = [block[0].strip()]
    sig = (rterr or summary or head)[0]
    if ": runtime error: " in sig:  # one class whatever the values: keep file:line and words
        where, msg = sig.split(": runtime error: ", 1)
        sig = where + ": runtime error: " + re.sub(r"-?\d+", "N", msg)
    sig = re.sub(r"0x[0-9a-f]+", "0x?", sig)
    sig = re.sub(r"==\d+==", "==N==", sig)
    sig = re.sub(r"\d+(-| )byte", "N\\1byte", sig)
    out = []
    for l in head + rterr + summary + frames:
        if l.strip() not in out:
            out.append(l.strip())
    return sig, out


class Server:
    """`deepclust serve` on a free loopback port; stdout and stderr go to log."""

    def __init__(self, binary, db, log, args=(), env_extra=None):
        self.binary, self.db, self.log, self.args = binary, db, log, list(args)
        self.env_extra = env_extra or {}
        self.proc = None
        self.port = None
        self.log_start = 0

    def start(self, timeout=20):
        env = store.env(self.db, {k: v for k, v in os.environ.items() if not k.startswith("DEEPCLUST_")})
        env.update(self.env_extra)
        logf = open(self.log, "ab")
        self.log_start = logf.tell()
        self.proc = subprocess.Popen([self.binary, "serve", "--host", LOOPBACK, "--port", "0",
                                      "--db", store.target(self.db), *self.args],
                                     stdout=logf, stderr=logf, stdin=subprocess.DEVNULL, env=env)
        logf.close()
        self.port = None
        t0 = time.time()
        while time.time() - t0 < timeout:
            text = self.log_text(self.log_start)
            m = re.search(r"^deepclust listening on http://[^ ]*:(\d+) ", text, re.M)
            if m:
                self.port = int(m.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError("server did not start; its output:\n" + self.log_text(self.log_start))

    def log_text(self, start=0):
        with open(self.log, "rb") as f:
            f.seek(start)
            return f.read().decode("utf-8", "replace")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        if self.proc:
            self.proc.wait()

    def stop(self, timeout=30):
        """SIGTERM, wait; returns the exit code (None if it had to be killed)."""
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


# ---- raw HTTP -----------------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body, raw):
        self.status, self.headers, self.body, self.raw = status, headers, body, raw

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def parse_head(raw):
    """(status, headers dict lowercased, header length) of a response head, or None."""
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        return None
    lines = raw[:end].decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/\d\.\d (\d{3})", lines[0])
    if not m:
        return (-1, {}, end + 4)
    headers = {}
    for l in lines[1:]:
        if ":" in l:
            k, v = l.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return int(m.group(1)), headers, end + 4


def send_raw(port, raw, timeout=10.0, cut=False, half_close=False, head_only=False):
    """Sends raw bytes on a fresh connection and reads one response.

    cut: close the connection right after sending (a client that goes away mid-body);
    returns None then. half_close: shut the write side after sending (a client whose
    body ends before its Content-Length says), then read. Returns a Response, the string "noresp" when the server closed
    without answering, or "timeout"."""
    sk = socket.create_connection((LOOPBACK, port), timeout=timeout)
    try:
        try:
            sk.sendall(raw)
        except OSError:
            pass  # the server may answer and close before it has read everything
        if cut:
            return None
        if half_close:
            try:
                sk.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        buf = b""
        deadline = time.time() + timeout
        while True:
            if time.time() > deadline:
                return "timeout"
            try:
                chunk = sk.recv(65536)
            except socket.timeout:
                return "timeout"
            except OSError:
                chunk = b""
            if chunk:
                buf += chunk
            h = parse_head(buf)
            while h and 100 <= h[0] < 200 and h[0] != 101:
                buf = buf[h[2]:]  # an interim answer (100 Continue): the real one follows
                h = parse_head(buf)
            if h:
                status, headers, hl = h
                if status < 0:
                    return Response(-1, headers, b"", buf)
                if head_only or status in (204, 304) or 100 <= status < 200:
                    return Response(status, headers, b"", buf)
                cl = headers.get("content-length")
                if cl is not None and cl.isdigit() and len(buf) - hl >= int(cl):
                    return Response(status, headers, buf[hl:hl + int(cl)], buf)
                if "chunked" in headers.get("transfer-encoding", "") and buf.endswith(b"0\r\n\r\n"):
                    return Response(status, headers, buf[hl:], buf)
                if not chunk:
                    return Response(status, headers, buf[hl:], buf)
            elif not chunk:
                return "noresp" if not buf else Response(-1, {}, b"", buf)
    finally:
        sk.close()


def build(method, target, headers=(), body=b"", version="HTTP/1.1"):
    """Raw request bytes; headers is a list of (name, value) (str or bytes)."""
    def b(x):
        return x if isinstance(x, bytes) else str(x).encode("latin-1", "replace")
    out = b(method) + b" " + b(target) + (b" " + b(version) if version else b"") + b"\r\n"
    for k, v in headers:
        out += b(k) + b": " + b(v) + b"\r\n"
    return out + b"\r\n" + b(body)


class Client:
    """Well-formed requests (for setting things up and checking them)."""

    def __init__(self, port, token=None, timeout=30.0):
        self.port, self.token, self.timeout = port, token, timeout

    def req(self, method, path, body=b"", ctype=None, headers=()):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            ctype = ctype or "application/json"
        h = [("Host", "%s:%d" % (LOOPBACK, self.port)), ("Connection", "close")]
        if self.token:
            h.append(("Authorization", "Bearer " + self.token))
        if ctype:
            h.append(("Content-Type", ctype))
        if body or method in ("POST", "PUT"):
            h.append(("Content-Length", str(len(body))))
        h.extend(headers)
        r = send_raw(self.port, build(method, path, h, body), timeout=self.timeout,
                     head_only=(method == "HEAD"))
        if not isinstance(r, Response):
            raise OSError("%s %s: %s" % (method, path, r))
        return r.status, r.json()

    def wait_job(self, jid, timeout=60, states=("succeeded", "failed", "cancelled")):
        t0 = time.time()
        job = None
        while time.time() - t0 < timeout:
            st, job = self.req("GET", "/v1/jobs/" + jid)
            if st == 200 and job["status"] in states:
                return job
            time.sleep(0.05)
        return job
