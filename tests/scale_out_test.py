#!/usr/bin/python3
"""The multi-process test of issue 15: 2 API nodes and 3 workers on one PostgreSQL.

Run by tests/test_scale_out.sh (ctest, label http); standard library only. Env: DC_BIN
(the deepclust binary), DC_TEST_PG_URL (a superuser URL of a running PostgreSQL; exit
77 without it). docs/scale-out-test.md says what it checks and gives figures.

One round, in a fresh database:
  - 2 `serve --workers 0` (API only) and 3 `worker --workers 1` processes on loopback,
    each set started at once (migrations under the advisory lock);
  - a blobs dataset uploaded to one node, its labels to the other; 12 jobs of a few
    seconds each submitted round-robin to the two nodes;
  - K times: a running job with progress and a checkpoint has its worker kill -9'd (a
    replacement worker is started); the job must be taken over after the lease and
    resume from its checkpoint (attempts >= 2, metrics.resumed, the first epoch after
    the kill is the checkpoint's + 1);
  - one running job is cancelled through the API node that did not receive it: it
    must end 'cancelled' within 2 s, its worker alive;
  - every other job ends 'succeeded' before the deadline (0 lost, 0 stuck);
  - from job_attempts: every attempt closed, no two attempts of a job overlap in time,
    one 'succeeded' attempt per succeeded job, every attempt on one of our workers;
  - predict through both API nodes answers bit for bit the same for every model;
  - SIGTERM ends every process with status 0; no 5xx in the access logs.

  scale_out_test.py [--rounds N] [--kills K] [--jobs J] [--keep]
"""
import argparse
import datetime
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from svc_api_test import blobs, npy_f32, npy_i32  # noqa: E402  (data generators)

BIN = os.environ.get("DC_BIN", "./build/deepclust")
HERE = os.path.dirname(os.path.abspath(__file__))
LEASE_S = 3
FINAL = ("succeeded", "failed", "cancelled")
PASS = 0
FAIL = 0


def check(cond, what, got=None, expected=None):
    global PASS, FAIL
    if cond:
        PASS += 1
        return True
    FAIL += 1
    msg = f"FAIL line {sys._getframe(1).f_lineno}: {what}"
    if got is not None or expected is not None:
        msg += f": expected {expected!r}, got {got!r}"
    print(msg, file=sys.stderr, flush=True)
    return False


def eq(got, expected, what):
    global PASS, FAIL
    if got == expected:
        PASS += 1
        return True
    FAIL += 1
    print(f"FAIL line {sys._getframe(1).f_lineno}: {what}: expected {expected!r}, got {got!r}",
          file=sys.stderr, flush=True)
    return False


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def ts(text):
    """A dc_now() timestamp ("2026-12-01T20:46:18.116Z") as seconds since the epoch."""
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


# ---- PostgreSQL through psql ------------------------------------------------------------

def psql(url, sql):
    """Rows of sql as lists of strings (NULL as None)."""
    r = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-P", "null=\\N",
                        "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
                       capture_output=True, text=True, timeout=30)
    if r.returncode:
        raise RuntimeError(f"psql failed ({sql!r}): {r.stderr.strip()}")
    return [[None if f == "\\N" else f for f in line.split("\t")]
            for line in r.stdout.splitlines() if line]


def q(s):
    """Any text as an SQL string literal."""
    return "'" + s.replace("'", "''") + "'"


def lit(s):
    """A job id as an SQL literal (ids are [a-z0-9_])."""
    assert re.fullmatch(r"[A-Za-z0-9_]+", s), s
    return "'" + s + "'"


# ---- processes --------------------------------------------------------------------------

def _die_with_parent():
    """In the child: SIGKILL when the test process dies (no stray servers after a timeout)."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001
        pass


class Proc:
    """A deepclust process with its output in DIR/NAME.log; waits for its ready line."""

    def __init__(self, tmp, name, args, ready):
        self.name = name
        self.log = os.path.join(tmp, name + ".log")
        self.logf = open(self.log, "w")
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPCLUST_")}
        self.proc = subprocess.Popen([BIN, *args], stdout=self.logf, stderr=subprocess.STDOUT,
                                     env=env, preexec_fn=_die_with_parent)
        self.pid = self.proc.pid
        self.ready = ready
        self.port = None

    def wait_ready(self, timeout=30):
        t0 = time.time()
        while time.time() - t0 < timeout:
            with open(self.log) as f:
                for line in f:
                    if line.startswith(self.ready):
                        if self.ready.startswith("deepclust listening"):
                            self.port = int(line.split()[3].rsplit(":", 1)[1])
                        return True
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start (exit {self.proc.poll()}): "
                           + open(self.log).read()[-2000:])

    def alive(self):
        return self.proc.poll() is None

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self, timeout=15):
        """SIGTERM; the exit status, or None when it had to be killed."""
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def tail(self, n=15):
        with open(self.log, errors="replace") as f:
            return "".join(f.readlines()[-n:])


def api_node(tmp, name, url):
    return Proc(tmp, name, ["serve", "--db", url, "--workers", "0", "--port", "0",
                            "--lease-s", str(LEASE_S)], "deepclust listening on http://")


def worker(tmp, name, url):
    return Proc(tmp, name, ["worker", "--db", url, "--workers", "1", "--lease-s", str(LEASE_S),
                            "--checkpoint-s", "1", "--blas-threads", "1"], "deepclust worker ready")


def req(node, method, path, body=None, headers=None, timeout=30):
    c = http.client.HTTPConnection("127.0.0.1", node.port, timeout=timeout)
    h = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    c.request(method, path, body=body, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    doc = None
    if "json" in r.getheader("Content-Type", ""):
        try:
            doc = json.loads(data)
        except ValueError:
            pass
    return r.status, doc


# ---- one round --------------------------------------------------------------------------

def job_spec(dsid, seed, epochs):
    """ae_kmeans of about 60 ms per pretraining epoch on one idle core (3000 x 24)."""
    return {"dataset": dsid, "method": "ae_kmeans", "n_clusters": 4, "seed": seed,
            "autoencoder": {"hidden": [256, 256, 8]},
            "pretrain": {"epochs": epochs, "batch_size": 64},
            "cluster": {"n_init": 2}}


def worker_pid(name):
    """The pid in a worker name "<host>:<pid>/<slot>"."""
    m = re.fullmatch(r".*:(\d+)/\d+", name or "")
    return int(m.group(1)) if m else None


def kill_candidate(url, workers, exclude):
    """A running job in pretraining with progress and a checkpoint, on a live worker of
    ours, not in exclude: (job, worker process, attempt name, checkpoint step) or None."""
    rows = psql(url, "SELECT j.id, a.worker, c.step FROM jobs j "
                     "JOIN job_attempts a ON a.job_id = j.id AND a.lease = j.lease_owner "
                     "JOIN checkpoints c ON c.job_id = j.id "
                     "WHERE j.status = 'running' AND a.ended_at IS NULL AND j.phase = 'pretrain' "
                     "AND c.phase = 'pretrain' AND j.progress > 0 AND j.progress < 0.7 "
                     "ORDER BY j.progress")
    by_pid = {w.pid: w for w in workers if w.alive()}
    for jid, wname, step in rows:
        if jid not in exclude and worker_pid(wname) in by_pid:
            return jid, by_pid[worker_pid(wname)], wname, int(step)
    return None


def running_on(url, workers, exclude):
    """A running job (progress > 0) on a live worker of ours: (job, worker process)."""
    rows = psql(url, "SELECT j.id, a.worker FROM jobs j "
                     "JOIN job_attempts a ON a.job_id = j.id AND a.lease = j.lease_owner "
                     "WHERE j.status = 'running' AND a.ended_at IS NULL AND j.progress > 0 "
                     "AND j.progress < 0.7 ORDER BY j.progress")
    by_pid = {w.pid: w for w in workers if w.alive()}
    for jid, wname in rows:
        if jid not in exclude and worker_pid(wname) in by_pid:
            return jid, by_pid[worker_pid(wname)]
    return None


def do_kill(url, tmp, workers, procs, killed, cancel_id, rnd):
    """Kills the worker of one job mid-job, starts a replacement. True when it landed."""
    t0 = time.time()
    while time.time() - t0 < 90:
        c = kill_candidate(url, workers, set(killed) | {cancel_id})
        if c:
            jid, w, wname, _ = c
            w.kill9()
            now, until = psql(url, f"SELECT dc_now(), lease_until FROM jobs WHERE id = {lit(jid)}")[0]
            # landed mid-job: the attempt it ran is still open (no worker closed it)
            row = psql(url, f"SELECT ended_at, outcome FROM job_attempts WHERE job_id = {lit(jid)} "
                            f"AND worker = {q(wname)} ORDER BY started_at DESC LIMIT 1")
            seq = psql(url, f"SELECT max(seq) FROM iterations WHERE job_id = {lit(jid)}")[0][0]
            ck = psql(url, f"SELECT phase, step FROM checkpoints WHERE job_id = {lit(jid)}")
            rep = worker(tmp, f"r{rnd}-w{len(workers)}", url)
            workers.append(rep)
            procs.append(rep)
            rep.wait_ready()
            if row and row[0][0] is None:
                killed[jid] = {"worker": wname, "at": ts(now), "until": until, "seq": int(seq),
                               "ck": (ck[0][0], int(ck[0][1])) if ck else None}
                log(f"  kill -9 {w.name} (pid {w.pid}) running {jid}, checkpoint {ck[0] if ck else None}")
                return True
            log(f"  kill -9 {w.name} missed: {jid} ended first ({row}); trying another")
        time.sleep(0.1)
    return False


def do_cancel(nodes, url, workers, jobs, via, exclude):
    """Cancels a running job through the node that did not receive it: (job, latency s,
    was running, its worker) or None."""
    t0 = time.time()
    while time.time() - t0 < 60:
        c = running_on(url, workers, exclude)
        if c:
            jid, w = c
            other = nodes[1 - via[jid]]
            t1 = time.time()
            st, doc = req(other, "POST", f"/v1/jobs/{jid}/cancel")
            eq(st, 202, f"cancel {jid} through the other API node")
            while time.time() - t1 < 10:
                st, j = req(other, "GET", "/v1/jobs/" + jid)
                if j and j["status"] in FINAL:
                    break
                time.sleep(0.02)
            dt = time.time() - t1
            eq(j and j["status"], "cancelled", "the running job cancelled through the other node")
            check(dt < 2.0, "cancel reached its worker within 2 s", round(dt, 2), "< 2")
            check(w.alive(), f"the cancelled job's worker ({w.name}) lives on")
            return jid, dt, True, w
        time.sleep(0.05)
    # no job was running long enough: cancel a queued one
    q = [j for j in jobs if j not in exclude]
    for jid in q:
        st, j = req(nodes[0], "GET", "/v1/jobs/" + jid)
        if j["status"] == "queued":
            t1 = time.time()
            st, doc = req(nodes[1 - via[jid]], "POST", f"/v1/jobs/{jid}/cancel")
            eq((st, (doc or {}).get("status")), (202, "cancelled"), "cancel a queued job through the other node")
            return jid, time.time() - t1, False, None
    check(False, "a job to cancel")
    return None


def run_round(rnd, args, pg, tmp_root):
    t_start = time.time()
    tmp = os.path.join(tmp_root, f"round{rnd}")
    os.mkdir(tmp)
    name = f"dc_scale_{os.getpid()}_{rnd}"
    r = subprocess.run(["bash", os.path.join(HERE, "tools", "pg_cluster.sh"), "createdb", pg, name],
                       capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"createdb {name}: {r.stderr.strip()}")
    url = r.stdout.strip()
    procs = []
    res = {"succeeded": 0, "lost": 0, "stuck": 0, "kills": 0, "overlaps": 0, "cancel_s": None,
           "takeover_s": [], "reap_s": [], "fail_before": FAIL}
    try:
        nodes = [api_node(tmp, f"api{i}", url) for i in range(2)]
        procs += nodes
        for n in nodes:
            n.wait_ready()
        workers = [worker(tmp, f"w{i}", url) for i in range(3)]
        procs += workers
        for w in workers:
            w.wait_ready()

        rows, labels = blobs(3000, 24, 4, seed=100 + rnd)
        st, ds = req(nodes[0], "POST", "/v1/datasets?name=blobs", body=npy_f32(rows),
                     headers={"Content-Type": "application/octet-stream"})
        eq(st, 201, "upload to node 0")
        st, d2 = req(nodes[1], "PUT", f"/v1/datasets/{ds['id']}/labels", body=npy_i32(labels),
                     headers={"Content-Type": "application/octet-stream"})
        eq((st, (d2 or {}).get("has_labels")), (200, True), "labels through node 1")

        jobs, via = [], {}
        for i in range(args.jobs):
            st, j = req(nodes[i % 2], "POST", "/v1/jobs", job_spec(ds["id"], i + 1, args.epochs))
            if eq(st, 202, f"job {i} submitted to node {i % 2}"):
                jobs.append(j["id"])
                via[j["id"]] = i % 2

        killed = {}
        cancel = None
        for k in range(args.kills):
            if not check(do_kill(url, tmp, workers, procs, killed, cancel and cancel[0], rnd),
                         f"kill {k + 1} of {args.kills} landed mid-job within 90 s"):
                break
            if cancel is None:
                cancel = do_cancel(nodes, url, workers, jobs, via, set(killed))
        if cancel is None:
            cancel = do_cancel(nodes, url, workers, jobs, via, set(killed))
        res["kills"] = len(killed)
        if cancel:
            res["cancel_s"] = cancel[1] if cancel[2] else None
            res["cancel_queued"] = not cancel[2]

        # every job to a final state before the deadline
        deadline = time.time() + args.deadline + 20 * args.kills
        final = {}
        while time.time() < deadline and len(final) < len(jobs):
            for jid in jobs:
                if jid not in final:
                    st, j = req(nodes[len(final) % 2], "GET", "/v1/jobs/" + jid)
                    if st == 200 and j["status"] in FINAL:
                        final[jid] = j
                    elif st == 404:
                        final[jid] = {"status": "vanished"}
            time.sleep(0.3)
        cancel_id = cancel[0] if cancel else None
        for jid in jobs:
            j = final.get(jid)
            if j is None:
                res["stuck"] += 1
                st, now = req(nodes[0], "GET", "/v1/jobs/" + jid)
                check(False, f"{jid} reached a final state before the deadline",
                      (now or {}).get("status"), "final")
            elif jid == cancel_id:
                eq(j["status"], "cancelled", f"{jid} (cancelled) ends cancelled")
            elif j["status"] == "succeeded":
                res["succeeded"] += 1
            else:
                res["lost"] += 1
                check(False, f"{jid} succeeded", (j.get("status"), j.get("error")), "succeeded")

        # the killed jobs: taken over, resumed from their checkpoint
        for jid, kinfo in killed.items():
            j = final.get(jid) or {}
            check(j.get("attempts", 0) >= 2, f"killed {jid}: attempts >= 2", j.get("attempts"))
            check((j.get("metrics") or {}).get("resumed") is True, f"killed {jid}: metrics.resumed",
                  (j.get("metrics") or {}).get("resumed"), True)
            st, it = req(nodes[1], "GET", f"/v1/jobs/{jid}/iterations?since={kinfo['seq']}&limit=1000")
            ep = [r["epoch"] for r in (it or {}).get("items", []) if r["phase"] == "pretrain"]
            if kinfo["ck"] and kinfo["ck"][0] == "pretrain":
                eq(ep[:1], [kinfo["ck"][1] + 1], f"killed {jid}: the epoch after the kill follows the checkpoint")
            st, it = req(nodes[0], "GET", f"/v1/jobs/{jid}/iterations?limit=1000")
            seqs = [r["seq"] for r in (it or {}).get("items", [])]
            eq(seqs, list(range(len(seqs))), f"killed {jid}: iteration seq dense")
            # kill -> reap (the killed attempt's ended_at) -> the next claim, on the
            # database's clock; the reap must wait for the lease the dead worker held
            rs = psql(url, f"SELECT worker, started_at, ended_at FROM job_attempts "
                           f"WHERE job_id = {lit(jid)} ORDER BY started_at")
            cut = [r for r in rs if r[0] == kinfo["worker"]]
            nxt = [r for r in rs if ts(r[1]) > kinfo["at"]]
            if check(cut and cut[-1][2] and nxt, f"killed {jid}: reaped and claimed again", rs):
                reap, claim = ts(cut[-1][2]) - kinfo["at"], ts(nxt[0][1]) - kinfo["at"]
                res["takeover_s"].append(claim)
                res["reap_s"].append(reap)
                log(f"  {jid}: lease left {ts(kinfo['until']) - kinfo['at']:.2f} s at the kill, "
                    f"reaped after {reap:.2f} s, claimed again after {claim:.2f} s")
                check(ts(cut[-1][2]) >= ts(kinfo["until"]), f"killed {jid}: not reaped before its lease ran out",
                      cut[-1][2], ">= " + kinfo["until"])

        # the rows: every attempt closed, none overlapping, one success per success
        att = psql(url, "SELECT job_id, attempt, lease, worker, started_at, ended_at, outcome "
                        "FROM job_attempts ORDER BY job_id, started_at")
        by_job = {}
        for r in att:
            by_job.setdefault(r[0], []).append(r)
        ours = {w.pid for w in workers}
        for jid in jobs:
            rs = by_job.get(jid, [])
            check(rs or jid == cancel_id, f"{jid} has job_attempts rows")
            open_ = [r for r in rs if r[5] is None or r[6] is None]
            eq(open_, [], f"{jid}: every attempt closed with an outcome")
            check(all(worker_pid(r[3]) in ours for r in rs), f"{jid}: attempts on our workers",
                  [r[3] for r in rs])
            for a, b in zip(rs, rs[1:]):  # sorted by started_at
                if a[5] is None or ts(b[4]) < ts(a[5]):
                    res["overlaps"] += 1
                    check(False, f"{jid}: attempts overlap", (a, b))
            if (final.get(jid) or {}).get("status") == "succeeded":
                eq(sum(r[6] == "succeeded" for r in rs), 1, f"{jid}: one succeeded attempt")
            if jid == cancel_id and cancel[2]:
                eq(rs[-1][6] if rs else None, "cancelled", f"{jid}: the cancelled attempt's outcome")
            if jid in killed:
                cut = [r for r in rs if r[3] == killed[jid]["worker"]]
                eq(cut[-1][6] if cut else None, "lost", f"{jid}: the killed attempt's outcome (set by the reaper)")
        res["outcomes"] = sorted({r[6] or "NULL" for r in att})

        # predict: both API nodes answer alike for every model
        sample = rows[:40]
        for jid in jobs:
            mid = (final.get(jid) or {}).get("model")
            if not mid:
                continue
            answers = []
            for n in nodes:
                st, p = req(n, "POST", f"/v1/models/{mid}/predict", {"samples": sample})
                eq(st, 200, f"predict {mid} on {n.name}")
                answers.append(((p or {}).get("labels"), (p or {}).get("q")))
            eq(answers[0], answers[1], f"predict {mid}: node 0 and node 1 agree")
            eq(len(answers[0][0] or []), len(sample), f"predict {mid}: one label per sample")
    finally:
        for p in procs:
            if p.alive():
                rc = p.stop()
                eq(rc, 0, f"{p.name} exits 0 on SIGTERM")
            p.logf.close()
        fivexx = []
        for p in procs:
            for line in open(p.log, errors="replace"):
                parts = line.split()
                if (len(parts) >= 6 and parts[0].endswith("Z") and parts[3].isdigit()
                        and parts[3].startswith("5")):
                    fivexx.append(f"{p.name}: {line.strip()}")
        eq(fivexx, [], "no 5xx in the access logs")
        san = [f"{p.name}: {line.strip()}" for p in procs for line in open(p.log, errors="replace")
               if "Sanitizer" in line or "runtime error:" in line]
        eq(san, [], "no sanitizer reports")
        if FAIL > res["fail_before"]:
            for p in procs:
                log(f"--- {p.name} (pid {p.pid}), last lines of {p.log}:\n{p.tail()}")
        if args.keep and FAIL > res["fail_before"]:
            log(f"kept database {url}")
        else:
            try:
                psql(pg, f'DROP DATABASE "{name}" WITH (FORCE)')
            except RuntimeError as ex:
                check(False, f"drop database {name}: {ex}")
    res["seconds"] = time.time() - t_start
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=1, help="repeat the scenario, each in a fresh database")
    ap.add_argument("--kills", type=int, default=1, help="workers kill -9'd per round, each mid-job")
    ap.add_argument("--jobs", type=int, default=12, help="jobs per round")
    ap.add_argument("--epochs", type=int, default=80, help="pretraining epochs of a job")
    ap.add_argument("--deadline", type=float, default=240,
                    help="seconds for all jobs to end after the kills (+20 per kill)")
    ap.add_argument("--keep", action="store_true", help="keep the database and logs of a failed round")
    args = ap.parse_args()
    pg = os.environ.get("DC_TEST_PG_URL")
    if not pg:
        print("scale_out_test: DC_TEST_PG_URL is not set (needs PostgreSQL: "
              "U=$(bash tests/tools/pg_cluster.sh start DIR)); skipped", file=sys.stderr)
        return 77
    if not shutil.which("psql"):
        print("scale_out_test: psql not found (apt-get install postgresql-client); skipped", file=sys.stderr)
        return 77
    if not os.access(BIN, os.X_OK):
        print(f"no binary at {BIN} (set DC_BIN)", file=sys.stderr)
        return 1
    if args.kills + 1 > args.jobs - 1:
        print("scale_out_test: --jobs must exceed --kills + 1", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="dc_scale.")
    totals = {"succeeded": 0, "lost": 0, "stuck": 0, "kills": 0, "overlaps": 0}
    cancels, takeovers, reaps, failed_rounds = [], [], [], 0
    t0 = time.time()
    for rnd in range(1, args.rounds + 1):
        before = FAIL
        try:
            r = run_round(rnd, args, pg, tmp)
        except Exception as ex:  # noqa: BLE001
            traceback.print_exc()
            check(False, f"round {rnd} raised {ex!r}")
            r = None
        if FAIL > before:
            failed_rounds += 1
        if r is None:
            continue
        for k in totals:
            totals[k] += r[k]
        if r["cancel_s"] is not None:
            cancels.append(r["cancel_s"])
        takeovers += r["takeover_s"]
        reaps += r["reap_s"]
        cancel = ("queued job" if r.get("cancel_queued") else
                  f"{r['cancel_s']:.2f} s" if r["cancel_s"] is not None else "none")
        print(f"round {rnd}: jobs {r['succeeded']} succeeded, {r['lost']} lost, {r['stuck']} stuck; "
              f"kills {r['kills']}, reaped after {', '.join('%.1f' % x for x in r['reap_s']) or '-'} s, "
              f"claimed again after {', '.join('%.1f' % x for x in r['takeover_s']) or '-'} s; "
              f"overlaps {r['overlaps']}; cancel {cancel}; attempt outcomes {r['outcomes']}; "
              f"{r['seconds']:.1f} s; {'FAILED' if FAIL > before else 'ok'}", flush=True)
    if not args.keep or not failed_rounds:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"total: {args.rounds} rounds ({failed_rounds} failed), jobs {totals['succeeded']} succeeded, "
          f"{totals['lost']} lost, {totals['stuck']} stuck; kills {totals['kills']}; "
          f"overlaps {totals['overlaps']}; cancel max "
          f"{max(cancels) if cancels else float('nan'):.2f} s; reaped after max "
          f"{max(reaps) if reaps else float('nan'):.1f} s; claimed again after max "
          f"{max(takeovers) if takeovers else float('nan'):.1f} s; {time.time() - t0:.0f} s")
    print(f"{PASS} passed, {FAIL} failed")
    return 1 if FAIL else 0


if __name__ == "__main__":
    sys.exit(main())
