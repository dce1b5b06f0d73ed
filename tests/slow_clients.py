#!/usr/bin/env python3
"""slow_clients.py: a slow, greedy client against a running `deepclust serve`, and the
latency another client sees meanwhile. Used by tests/test_server_slow.sh (short) and for
the figures in docs/reliability.md (long). Loopback only; bounded in time and count.

The attacker (a separate process, bound to --attacker-ip, 127.0.0.2 by default, so that
"per client" limits can tell it apart) tries to hold --conns connections open, each
sending a request line and then one header byte every --trickle-s seconds, never
finishing its headers; a connection the server closes is reopened (at most
--reopen-per-s a second), so the pressure stays. The victim (this process, from
127.0.0.1) sends GET /healthz on a new connection every --every-s seconds and records
each latency. After --duration-s both stop and one JSON line is printed:

  {"victim": {"n", "errors", "p50_ms", "p99_ms", "max_ms"},
   "attacker": {"target", "opened", "closed_by_server", "got_408", "held_max", "held_end"}}
(held_* count connections still open after a round's check, i.e. held for a round.)

Exit status: 0, or 1 when --max-p99-ms is given and the victim's p99 exceeds it or any
victim request failed.
"""
import argparse
import http.client
import json
import multiprocessing as mp
import resource
import socket
import time


def attacker(port, ip, target, trickle_s, reopen_per_s, duration_s, out):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < target + 100:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, target + 100), hard))
    socks = []
    st = {"target": target, "opened": 0, "closed_by_server": 0, "got_408": 0,
          "held_max": 0, "held_end": 0, "connect_errors": 0}
    t_end = time.monotonic() + duration_s

    def open_one():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((ip, 0))
            s.settimeout(1.0)
            s.connect(("127.0.0.1", port))
            s.setblocking(False)
            s.send(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        except OSError:
            st["connect_errors"] += 1
            s.close()
            return None
        st["opened"] += 1
        return s

    # Open the first `target` connections as fast as the server takes them.
    while len(socks) < target and time.monotonic() < t_end:
        s = open_one()
        if s: socks.append(s)
    while time.monotonic() < t_end:
        t_round = time.monotonic()
        alive = []
        for s in socks:
            dead = False
            try:
                data = s.recv(4096, socket.MSG_PEEK)
                dead = True  # EOF (b"") or an answer: the server gave up on it
                if data.startswith(b"HTTP/1.1 408"): st["got_408"] += 1
            except BlockingIOError:
                try:
                    s.send(b"x")  # one more header byte
                except BlockingIOError:
                    pass
                except OSError:
                    dead = True
            except OSError:
                dead = True
            if dead:
                st["closed_by_server"] += 1
                s.close()
            else:
                alive.append(s)
        socks = alive
        st["held_max"] = max(st["held_max"], len(socks))
        st["held_end"] = len(socks)  # open after this round's check
        budget = int(reopen_per_s * trickle_s)
        while len(socks) < target and budget > 0 and time.monotonic() < t_end:
            s = open_one()
            budget -= 1
            if s: socks.append(s)
        time.sleep(max(0.0, trickle_s - (time.monotonic() - t_round)))
    for s in socks: s.close()
    out.put(st)


def victim(port, every_s, duration_s):
    lat, errors = [], 0
    t_end = time.monotonic() + duration_s
    if every_s <= 0:  # attacker only
        time.sleep(duration_s)
        return lat, errors
    while time.monotonic() < t_end:
        t0 = time.monotonic()
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            c.request("GET", "/healthz")
            r = c.getresponse()
            r.read()
            c.close()
            if r.status != 200: errors += 1
            else: lat.append((time.monotonic() - t0) * 1e3)
        except OSError:
            errors += 1
        time.sleep(max(0.0, every_s - (time.monotonic() - t0)))
    return lat, errors


def pct(xs, p):
    if not xs: return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(p / 100 * len(xs)))], 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--conns", type=int, default=2000)
    ap.add_argument("--attacker-ip", default="127.0.0.2")
    ap.add_argument("--trickle-s", type=float, default=1.0)
    ap.add_argument("--reopen-per-s", type=float, default=500)
    ap.add_argument("--duration-s", type=float, default=20)
    ap.add_argument("--warmup-s", type=float, default=2, help="attack alone before measuring")
    ap.add_argument("--every-s", type=float, default=0.02, help="0: no victim")
    ap.add_argument("--max-p99-ms", type=float)
    a = ap.parse_args()

    q = mp.Queue()
    p = mp.Process(target=attacker, args=(a.port, a.attacker_ip, a.conns, a.trickle_s,
                                          a.reopen_per_s, a.warmup_s + a.duration_s, q))
    p.start()
    time.sleep(a.warmup_s)
    lat, errors = victim(a.port, a.every_s, a.duration_s)
    st = q.get(timeout=a.duration_s + a.warmup_s + 60)
    p.join(timeout=30)
    res = {"victim": {"n": len(lat), "errors": errors, "p50_ms": pct(lat, 50),
                      "p90_ms": pct(lat, 90),
                      "p99_ms": pct(lat, 99), "max_ms": round(max(lat), 2) if lat else None},
           "attacker": st}
    print(json.dumps(res))
    if a.max_p99_ms is not None:
        if errors or not lat or res["victim"]["p99_ms"] > a.max_p99_ms:
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
