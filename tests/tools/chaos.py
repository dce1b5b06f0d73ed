#!/usr/bin/python3
"""chaos: kill -9 `deepclust serve` at random moments and check what survives (Python 3
standard library only).

One database across the run; each trial starts the server (--workers 1, --checkpoint-s 1),
does one thing and kills the process with SIGKILL while it happens:

  upload      a dataset upload (NPY, about 1.5 MB) is in flight, maybe labels too
  training    a small dec/idec/vae/ae_kmeans job trains
  checkpoint  just after a new checkpoint row appears (the next write is near)
  model       a short job is about to finish (progress past a random threshold), so
              that the kill falls near the model write
  delete      a dataset deletion is in flight
  startup     right after the server says it listens (recovery may still run)

Acknowledged means the client got the answer: 201 for an upload, 200 for labels, 202
for a job, 204 for a deletion. After every kill, with the server down, it checks
PRAGMA integrity_check and foreign_key_check (python3's sqlite3) on a copy of the
database and its WAL (the server recovers the original; not on PostgreSQL, env
DC_TEST_PG_URL, see store_target.py); after the restart,
that every acknowledged dataset is there with its n, d, labels and, for the NPY ones,
exactly the floats uploaded; every acknowledged job is there; every deleted dataset is
gone; no dataset is left 'uploading' (PostgreSQL: none is listed) and no upload temporary
file is left; at most --workers jobs are running (PostgreSQL: claimed by the new process); every succeeded job's model loads and predicts. At the end
the server runs without kills until every job is in a terminal state (succeeded,
failed, cancelled) within --drain-s seconds: a job left queued or running then is
"stuck" and fails the run. Exit 0 only if nothing was lost, corrupt or stuck.

  tests/tools/chaos.py --bin build/deepclust --kills 100 --seed 5

The PRNG seed is printed (kill moments still depend on timing). Loopback only.
"""
import argparse
import os
import random
import shutil
import sqlite3
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dcfuzzlib as L  # noqa: E402
import store_target as store  # noqa: E402

TERMINAL = ("succeeded", "failed", "cancelled")


class Chaos:
    def __init__(self, a):
        self.a = a
        self.rnd = random.Random(a.seed)
        self.tmp = tempfile.mkdtemp(prefix="dc_chaos.")
        self.db = os.path.join(self.tmp, "chaos.db")
        self.logp = os.path.join(self.tmp, "server.log")
        self.server = L.Server(a.bin, self.db, self.logp,
                               ["--workers", str(a.workers), "--blas-threads", "1",
                                "--checkpoint-s", "1", "--no-access-log"],
                               {"OPENBLAS_NUM_THREADS": "1",
                                "ASAN_OPTIONS": os.environ.get("ASAN_OPTIONS", "") or "detect_leaks=0"})
        self.ds = {}         # acknowledged datasets: id -> {"n", "d", "labels", "x" (bytes or None)}
        self.deleted = set()
        self.in_flight = set()  # deletes killed before their answer: either outcome is right
        self.jobs = {}       # acknowledged jobs: id -> method
        self.problems = []
        self.kills = 0
        self.by_scenario = {}
        self.lock = threading.Lock()
        self.bodies = {}
        self.sanitized = L.is_sanitized(a.bin)

    def log(self, msg):
        print("chaos: " + msg, flush=True)

    def bad(self, msg):
        self.problems.append(msg)
        self.log("PROBLEM: " + msg)

    # -- the server -----------------------------------------------------------------------
    def start(self):
        self.server.start()
        self.c = L.Client(self.server.port, timeout=30)

    def kill(self):
        self.server.kill9()
        self.kills += 1

    # -- actions (each safe to run in a thread; records what was acknowledged) --------------
    def body(self, n, d, seed):
        """(NPY body, float32 samples, NPY labels), generated once per (n, d, seed)."""
        key = (n, d, seed)
        if key not in self.bodies:
            rows, lab = L.blobs(n, d, 3, seed)
            self.bodies[key] = (L.npy_f32(rows), L.f32(rows), L.npy_i32(lab))
        return self.bodies[key]

    def upload(self, n, d, seed, labels=False):
        npy, x, lab = self.body(n, d, seed)
        try:
            st, doc = L.Client(self.server.port, timeout=30).req(
                "POST", "/v1/datasets?name=chaos", npy, "application/octet-stream")
        except OSError:
            return None
        if st != 201:
            if st >= 500 or st < 0:
                self.bad("upload answered %d %s" % (st, doc))
            return None
        with self.lock:
            self.ds[doc["id"]] = {"n": n, "d": d, "labels": False, "x": x}
        if labels:
            try:
                st, _ = L.Client(self.server.port, timeout=30).req(
                    "PUT", "/v1/datasets/%s/labels" % doc["id"], lab,
                    "application/octet-stream")
            except OSError:
                return doc["id"]
            if st == 200:
                with self.lock:
                    self.ds[doc["id"]]["labels"] = True
        return doc["id"]

    def submit(self, dsid, size):
        """A job; "long" ones train for seconds and checkpoint (no plain kmeans)."""
        rnd = self.rnd
        method = rnd.choice(["dec", "idec", "ae_kmeans", "vae"] + (["kmeans"] if size == "short" else []))
        spec = {"dataset": dsid, "method": method, "n_clusters": 3, "seed": rnd.randrange(100)}
        if method != "kmeans":
            # long: a few seconds of training (the ASan build is about 5x slower)
            ep = {"short": 2, "long": 300 if self.sanitized else 1500}[size]
            spec["autoencoder"] = {"hidden": [64, 8]}
            spec["pretrain"] = {"epochs": ep, "batch_size": 32}
            spec["cluster"] = {"n_init": 2, "maxiter": 60 if size == "long" else 20,
                               "update_interval": 10}
        if method == "vae":
            spec["vae"] = {"latent": 4, "epochs": ep}
            spec["dataset"] = self.unit_ds
        try:
            st, job = self.c.req("POST", "/v1/jobs", spec)
        except OSError:
            return None
        if st == 202:
            with self.lock:
                self.jobs[job["id"]] = method
            return job["id"]
        self.bad("job submit answered %d %s" % (st, job))
        return None

    def open_jobs(self):
        with store.connect(self.db, ro=True) as c:
            return c.execute("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')").fetchone()[0]

    # -- scenarios --------------------------------------------------------------------------
    def sc_upload(self):
        n0 = len(self.ds)
        seed = self.rnd.randrange(3)
        self.body(12000, 32, seed)  # generated before the clock starts
        t = threading.Thread(target=self.upload, args=(12000, 32, seed, self.rnd.random() < 0.5))
        t.start()
        time.sleep(self.rnd.uniform(0.0, 0.6))
        self.kill()
        t.join()
        return "acknowledged" if len(self.ds) > n0 else "not acknowledged"

    def sc_training(self):
        if self.open_jobs() < 3:
            self.submit(self.train_ds, "long")
        time.sleep(self.rnd.uniform(0.1, 2.5))
        self.kill()
        with store.connect(self.db, ro=True) as c:
            return "%d running" % c.execute("SELECT count(*) FROM jobs WHERE status = 'running'").fetchone()[0]

    def sc_checkpoint(self):
        if self.open_jobs() < 3:
            self.submit(self.train_ds, "long")
        t0 = time.time()
        last = None
        with store.connect(self.db, ro=True) as c:
            first = c.execute("SELECT max(created_at) FROM checkpoints").fetchone()[0]
            while time.time() - t0 < 4:
                last = c.execute("SELECT max(created_at) FROM checkpoints").fetchone()[0]
                if last != first:
                    break
                time.sleep(0.005)
        time.sleep(self.rnd.uniform(0.0, 0.02))
        self.kill()
        return "after a new checkpoint" if last != first else "no new checkpoint within 4 s"

    def sc_model(self):
        jid = self.submit(self.train_ds, "short") if self.open_jobs() < 2 else None
        thresh = self.rnd.uniform(0.5, 0.99)
        t0 = time.time()
        what = "timeout"
        while jid and time.time() - t0 < 5:
            try:
                st, job = self.c.req("GET", "/v1/jobs/" + jid)
            except OSError:
                break
            if st == 200 and (job["status"] in TERMINAL or (job["progress"] or 0) >= thresh * 100):
                what = "at %s %.0f%%" % (job["status"], job["progress"] or 0)
                break
            time.sleep(0.005)
        self.kill()
        return what

    def sc_startup(self):
        """Killed while it starts: recovery (requeueing, clean-up) may be half-way."""
        time.sleep(self.rnd.uniform(0.0, 0.03))
        self.kill()

    def sc_delete(self):
        cands = [d for d in self.ds if d not in (self.train_ds, self.unit_ds)]
        if not cands:
            return self.sc_upload()
        dsid = self.rnd.choice(cands)

        def go():
            try:
                st, _ = L.Client(self.server.port, timeout=30).req("DELETE", "/v1/datasets/" + dsid)
            except OSError:
                return
            if st == 204:
                with self.lock:
                    self.deleted.add(dsid)
                    self.ds.pop(dsid, None)
        t = threading.Thread(target=go)
        t.start()
        time.sleep(self.rnd.uniform(0.0, 0.05))
        self.kill()
        t.join()
        if dsid not in self.deleted:
            self.in_flight.add(dsid)
        return "acknowledged" if dsid in self.deleted else "not acknowledged"

    # -- checks -------------------------------------------------------------------------------
    def check_down(self):
        """With the server killed: the file's integrity. Checked on a copy of the database
        and its WAL, so that the server itself recovers the hot WAL at the restart (a
        connection here would checkpoint it away). PostgreSQL: not ours to check (its own
        WAL recovery; foreign keys are always enforced), said once."""
        if store.is_pg():
            if self.kills == 1:
                store.skipped("integrity_check and foreign_key_check after each kill",
                              "PRAGMAs of SQLite; PostgreSQL recovers itself and enforces foreign keys")
            return
        chk = os.path.join(self.tmp, "check")
        shutil.rmtree(chk, ignore_errors=True)
        os.mkdir(chk)
        for suffix in ("", "-wal"):
            if os.path.exists(self.db + suffix):
                shutil.copyfile(self.db + suffix, os.path.join(chk, "c.db" + suffix))
        with sqlite3.connect(os.path.join(chk, "c.db"), timeout=10) as c:
            ic = c.execute("PRAGMA integrity_check").fetchall()
            if ic != [("ok",)]:
                self.bad("integrity_check after kill %d: %s" % (self.kills, ic[:5]))
            fk = c.execute("PRAGMA foreign_key_check").fetchall()
            if fk:
                self.bad("foreign_key_check after kill %d: %s" % (self.kills, fk[:5]))

    def check_up(self):
        """After the restart: everything acknowledged is there, nothing half-done is."""
        st, lst = self.c.req("GET", "/v1/datasets?limit=1000")
        have = {d["id"]: d for d in lst["items"]} if st == 200 else {}
        for dsid, want in list(self.ds.items()):
            got = have.get(dsid)
            if not got and dsid in self.in_flight:  # its delete had committed: fine
                self.ds.pop(dsid)
                self.deleted.add(dsid)
                continue
            if not got:
                self.bad("acknowledged dataset %s lost (kill %d)" % (dsid, self.kills))
                self.ds.pop(dsid)
                continue
            if (got["n"], got["d"]) != (want["n"], want["d"]):
                self.bad("dataset %s is %dx%d, uploaded %dx%d" % (dsid, got["n"], got["d"], want["n"], want["d"]))
            if want["labels"] and not got["has_labels"]:
                self.bad("acknowledged labels of %s lost (kill %d)" % (dsid, self.kills))
        for dsid in self.deleted:
            if dsid in have:
                self.bad("deleted dataset %s is back (kill %d)" % (dsid, self.kills))
        with store.connect(self.db, ro=True) as c:
            for dsid, want in list(self.ds.items()):
                rows = c.execute("SELECT data FROM dataset_chunks WHERE dataset_id = ? AND "
                                 "part = 'x' ORDER BY off", (dsid,)).fetchall()
                got = b"".join(bytes(r[0]) for r in rows)
                if not rows or got != want["x"]:
                    self.bad("dataset %s: stored samples differ from the upload (%d bytes, want %d)" %
                             (dsid, len(got), len(want["x"])))
                if want["labels"]:
                    y = c.execute("SELECT sum(length(data)) FROM dataset_chunks WHERE dataset_id = ? "
                                  "AND part = 'y'", (dsid,)).fetchone()
                    if not y or y[0] != 4 * want["n"]:
                        self.bad("dataset %s: labels are %s bytes, want %d" % (dsid, y, 4 * want["n"]))
            if store.is_pg():
                # a killed upload stays 'uploading' there (start-up removes those a day old
                # only: another API process may be uploading), but it is never served
                up = [r[0] for r in c.execute("SELECT id FROM datasets WHERE status = 'uploading'")]
                if [i for i in up if i in have]:
                    self.bad("'uploading' datasets listed after the restart: %s" % [i for i in up if i in have])
            else:
                up = c.execute("SELECT count(*) FROM datasets WHERE status = 'uploading'").fetchone()[0]
                # an upload may have started since the restart; none do here, so none may be left
                if up:
                    self.bad("%d datasets left 'uploading' after the restart" % up)
            strays = c.execute("SELECT count(*) FROM dataset_chunks WHERE dataset_id NOT IN "
                               "(SELECT id FROM datasets)").fetchone()[0]
            if strays:
                self.bad("%d dataset_chunks rows without their dataset" % strays)
        left = [f for f in os.listdir(self.tmp) if ".upload-" in f]
        if left:
            self.bad("upload temporary files left after the restart: %s" % left)
        st, jl = self.c.req("GET", "/v1/jobs?limit=1000")
        jobs = {j["id"]: j for j in jl["items"]} if st == 200 else {}
        for jid in self.jobs:
            if jid not in jobs:
                self.bad("acknowledged job %s lost (kill %d)" % (jid, self.kills))
        running = [j for j in jobs.values() if j["status"] == "running"]
        if store.is_pg():
            # a killed process's jobs stay 'running' there until their lease runs out (then
            # they are requeued): count the living server's claims (lease "host:pid/slot#...")
            with store.connect(self.db, ro=True) as c:
                running = c.execute("SELECT id FROM jobs WHERE status = 'running' AND lease_owner LIKE ?",
                                    ("%%:%d/%%" % self.server.proc.pid,)).fetchall()
        if len(running) > self.a.workers:
            self.bad("%d jobs running with %d workers after the restart" % (len(running), self.a.workers))
        self.check_models(jobs)

    def check_models(self, jobs, all_of_them=False):
        done = [j for j in jobs.values() if j["status"] == "succeeded" and j["id"] in self.jobs]
        if not all_of_them:
            done = done[-3:]
        for j in done:
            st, m = self.c.req("GET", "/v1/models/%s" % j["model"])
            if st != 200:
                self.bad("succeeded job %s: model %s answers %d" % (j["id"], j["model"], st))
                continue
            st, p = self.c.req("POST", "/v1/models/%s/predict" % j["model"],
                               {"samples": [[0.5] * m["d"]]})
            if st != 200:
                self.bad("model %s does not predict: %d %s" % (j["model"], st, p))

    # -- the run ------------------------------------------------------------------------------
    def run(self):
        a = self.a
        self.log("seed %d; %d kills; server %s; tmp %s" % (a.seed, a.kills, a.bin, self.tmp))
        t0 = time.time()
        self.start()
        self.train_ds = self.upload(2000, 32, 1)
        rows, _ = L.blobs(600, 16, 3, 2)
        rows = [[min(1.0, max(0.0, (v + 8) / 16)) for v in r] for r in rows]
        st, doc = self.c.req("POST", "/v1/datasets?name=unit", L.npy_f32(rows), "application/octet-stream")
        self.unit_ds = doc["id"]
        self.ds[self.unit_ds] = {"n": 600, "d": 16, "labels": False, "x": L.f32(rows)}
        scenarios = [("upload", self.sc_upload), ("training", self.sc_training),
                     ("checkpoint", self.sc_checkpoint), ("model", self.sc_model),
                     ("delete", self.sc_delete), ("startup", self.sc_startup)]
        weights = [3, 3, 2, 3, 1, 1]
        while self.kills < a.kills:
            if not self.server.alive():
                self.start()
                self.check_up()
            name, fn = self.rnd.choices(scenarios, weights)[0]
            what = fn()
            self.by_scenario[name] = self.by_scenario.get(name, 0) + 1
            if a.verbose:
                self.log("kill %d: %s %s" % (self.kills, name, what or ""))
            self.check_down()
            if self.kills % 10 == 0:
                self.log("%d kills, %.0f s, %d datasets, %d jobs, %d problems" %
                         (self.kills, time.time() - t0, len(self.ds), len(self.jobs), len(self.problems)))
        # the end: no more kills; every job must reach a terminal state
        self.start()
        self.check_up()
        t1 = time.time()
        jobs = {}
        while time.time() - t1 < a.drain_s:
            st, jl = self.c.req("GET", "/v1/jobs?limit=1000")
            jobs = {j["id"]: j for j in jl["items"]}
            if all(jobs.get(j, {}).get("status") in TERMINAL for j in self.jobs):
                break
            time.sleep(0.2)
        drain = time.time() - t1
        stuck = [(j, jobs.get(j, {}).get("status")) for j in self.jobs
                 if jobs.get(j, {}).get("status") not in TERMINAL]
        for j, s in stuck:
            self.bad("job %s still %s %.0f s after the last restart" % (j, s, drain))
        self.check_models(jobs, all_of_them=True)
        by_status = {}
        for j in self.jobs:
            s = jobs.get(j, {}).get("status")
            by_status[s] = by_status.get(s, 0) + 1
        attempts = [jobs[j]["attempts"] for j in self.jobs if j in jobs]
        reasons = {}
        for j in self.jobs:
            if jobs.get(j, {}).get("status") == "failed":
                r = (jobs[j].get("error") or "")[:90]
                reasons[r] = reasons.get(r, 0) + 1
        rc = self.server.stop()
        if rc != 0:
            self.bad("exit code %s after SIGTERM" % rc)
        self.check_down()
        san = L.sanitizer_reports(self.server.log_text())
        if san:
            self.bad("sanitizer reports in the server log: %s" % san[:3])
        self.log("seed %d: %d kills in %.0f s (%s); acknowledged: %d datasets kept, %d deleted, %d jobs" %
                 (a.seed, self.kills, time.time() - t0,
                  ", ".join("%s %d" % kv for kv in sorted(self.by_scenario.items())),
                  len(self.ds), len(self.deleted), len(self.jobs)))
        self.log("jobs at the end: %s (drained in %.1f s; attempts max %s); integrity_check ok "
                 "after every kill: %s" % (", ".join("%s %d" % kv for kv in sorted(by_status.items(), key=str)),
                                           drain, max(attempts) if attempts else "-",
                                           "skipped (PostgreSQL)" if store.is_pg() else
                                           not any("integrity" in p for p in self.problems)))
        for r, k in sorted(reasons.items()):
            self.log("  failed %dx: %s" % (k, r))
        self.log("problems: %d%s" % (len(self.problems), "".join("\n  " + p for p in self.problems[:20])))
        if self.problems or a.keep:
            self.log("kept %s" % self.tmp)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return 1 if self.problems else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.environ.get("DC_BIN", "./build/deepclust"))
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--drain-s", type=float, default=180,
                    help="after the last kill, seconds every job has to reach a terminal state")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1, 2**31)
    L.exit_on_sigterm()
    if not os.access(a.bin, os.X_OK):
        print("chaos: no binary at %s (--bin or DC_BIN)" % a.bin, file=sys.stderr)
        return 2
    ch = Chaos(a)
    try:
        return ch.run()
    finally:
        if ch.server.alive():
            ch.server.kill9()


if __name__ == "__main__":
    sys.exit(main())
