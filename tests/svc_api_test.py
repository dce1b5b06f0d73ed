#!/usr/bin/python3
"""Black-box tests of the clustering service (issue 6) over real HTTP on loopback.

Run by tests/test_svc_api.sh (ctest); standard library only. Env: DC_BIN = the
deepclust binary; DC_TEST_PG_URL = run every server on a fresh PostgreSQL database
(tools/store_target.py; the other *_test.py use this Server too). Each group starts its
own server on a free port with its own database in a temporary folder:

  flow      upload (NPY + labels, CSV with a label column, IDX.gz) -> kmeans and dec jobs
            -> poll -> iterations -> model -> predict (JSON and binary) -> assignments
  errors    every documented error: malformed JSON, unknown field, wrong type, bad value,
            unknown ids, wrong content type, oversize body, truncated upload, NaN in the
            data, predict with the wrong dimension or NaN, 409s; nothing left behind
  cancel    a running job stops within 2 s
  crash     kill -9 in the middle of a job, restart: integrity_check ok, the job is
            requeued and finishes (or fails with a reason), nothing acknowledged lost
  token     with --token, the new routes need the bearer token too
  sigterm   SIGTERM puts the running job back in the queue; exit code 0
  vae_resume  a vae job resumes at the epoch after its checkpoint
  n2d_resume  an n2d job stopped (SIGTERM) during its UMAP layout resumes from the layout
            checkpoint: no second pretraining or init, the layout continues at the next
            epoch, and the model is byte for byte an uninterrupted job's
  load      several clients at once
and, over all of them, no 5xx in any access log.
"""
import gzip
import http.client
import io
import json
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools"))
import store_target as store  # noqa: E402  (SQLite file or PostgreSQL database: DC_TEST_PG_URL)

BIN = os.environ.get("DC_BIN", "./build/deepclust")
PASS = 0
FAIL = 0
LOGS = []


def check(cond, what, got=None, expected=None):
    global PASS, FAIL
    if cond:
        PASS += 1
        return True
    FAIL += 1
    line = sys._getframe(1).f_lineno
    msg = f"FAIL line {line}: {what}"
    if expected is not None or got is not None:
        msg += f": expected {expected!r}, got {got!r}"
    print(msg, file=sys.stderr)
    return False


def eq(got, expected, what):
    global PASS, FAIL
    if got == expected:
        PASS += 1
        return True
    FAIL += 1
    print(f"FAIL line {sys._getframe(1).f_lineno}: {what}: expected {expected!r}, got {got!r}",
          file=sys.stderr)
    return False


# ---- data generators (no numpy at test time) ------------------------------------------

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


def npy_f32(rows):
    n, d = len(rows), len(rows[0])
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (n, d)
    header += " " * (63 - (len(header) + 10) % 64) + "\n"
    body = struct.pack("<%df" % (n * d), *[v for r in rows for v in r])
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + body


def npy_i32(vals):
    header = "{'descr': '<i4', 'fortran_order': False, 'shape': (%d,), }" % len(vals)
    header += " " * (63 - (len(header) + 10) % 64) + "\n"
    return (b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() +
            struct.pack("<%di" % len(vals), *vals))


def csv_rows(rows, labels):
    out = io.StringIO()
    out.write(",".join("f%d" % j for j in range(len(rows[0]))) + ",label\n")
    for r, l in zip(rows, labels):
        out.write(",".join("%.5f" % v for v in r) + ",%d\n" % l)
    return out.getvalue().encode()


def idx_images(n, h, w, seed):
    rnd = random.Random(seed)
    data = bytes(rnd.randrange(256) for _ in range(n * h * w))
    return struct.pack(">BBBBIII", 0, 0, 8, 3, n, h, w) + data


def f32(rows):
    return struct.pack("<%df" % (len(rows) * len(rows[0])), *[v for r in rows for v in r])


# ---- server and HTTP -------------------------------------------------------------------

class Server:
    """`deepclust serve` on a free port. db is the store's path: the SQLite file, or on
    PostgreSQL (DC_TEST_PG_URL) the name of a fresh database (store_target.py); a
    restart (start() again, or a new Server with the same db) finds the same store."""
    def __init__(self, tmp, name, *args, db=None):
        self.db = db or os.path.join(tmp, name + ".db")
        self.log = os.path.join(tmp, name + ".log")
        LOGS.append(self.log)
        self.args = args
        self.start()

    def start(self):
        self.logf = open(self.log, "a")
        start_at = self.logf.tell()
        self.proc = subprocess.Popen([BIN, "serve", "--port", "0", "--db", store.target(self.db),
                                      "--blas-threads", "1", *self.args],
                                     stdout=self.logf, stderr=self.logf,
                                     env=store.env(self.db, {k: v for k, v in os.environ.items()
                                                             if not k.startswith("DEEPCLUST_")}))
        self.port = None
        for _ in range(200):
            with open(self.log) as f:
                f.seek(start_at)
                for line in f:
                    if line.startswith("deepclust listening on http://"):
                        self.port = int(line.split()[3].rsplit(":", 1)[1])
            if self.port or self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if not self.port:
            raise RuntimeError("server did not start: " + open(self.log).read())

    def req(self, method, path, body=None, headers=None, timeout=30):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        ctype = r.getheader("Content-Type", "")
        doc = None
        if "json" in ctype:
            try:
                doc = json.loads(data)
            except ValueError:
                doc = None
        return r.status, doc, r, data

    def stop(self, sig=signal.SIGTERM, timeout=10):
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = None
        self.logf.close()
        return rc


def integrity_ok(c, what):
    """PRAGMA integrity_check on SQLite; PostgreSQL has no such check (a crash there is
    the server's WAL recovery, not ours): said, not counted."""
    if store.is_pg():
        store.skipped(what, "PRAGMA integrity_check is SQLite's")
    else:
        eq(c.execute("PRAGMA integrity_check").fetchone()[0], "ok", what)


def wait_job(s, jid, states=("succeeded", "failed", "cancelled"), timeout=60):
    t0 = time.time()
    job = None
    while time.time() - t0 < timeout:
        st, job, _, _ = s.req("GET", "/v1/jobs/" + jid)
        if st == 200 and job["status"] in states:
            return job
        time.sleep(0.1)
    return job


def upload(s, body, ctype="application/octet-stream", query=""):
    return s.req("POST", "/v1/datasets" + query, body=body, headers={"Content-Type": ctype})


def problem(st, doc, status, what, field=None, contains=None):
    ok = eq(st, status, what + " status")
    ok &= check(isinstance(doc, dict) and doc.get("status") == status and "detail" in doc
                and "title" in doc and "type" in doc, what + ": problem+json body", doc)
    if field is not None:
        ok &= eq((doc or {}).get("field"), field, what + " field")
    if contains is not None:
        ok &= check(contains in (doc or {}).get("detail", ""), what + f": detail mentions {contains!r}",
                    (doc or {}).get("detail"))
    return ok


# ---- groups ---------------------------------------------------------------------------

def test_flow(tmp):
    s = Server(tmp, "flow", "--workers", "1", "--model-cache", "1")
    rows, labels = blobs(300, 8, 3, seed=1)
    st, ds, resp, _ = upload(s, npy_f32(rows), query="?name=blobs")
    eq(st, 201, "upload NPY")
    check(resp.getheader("Location", "").startswith("/v1/datasets/ds_"), "upload Location")
    eq((ds["n"], ds["d"], ds["shape"], ds["format"], ds["dtype"], ds["has_labels"]),
       (300, 8, [8], "npy", "float32", False), "dataset shape/format")
    import hashlib
    eq(ds["sha256"], hashlib.sha256(npy_f32(rows)).hexdigest(), "sha256 of the body")
    dsid = ds["id"]
    st, d2, _, _ = s.req("PUT", f"/v1/datasets/{dsid}/labels", body=npy_i32(labels),
                         headers={"Content-Type": "application/octet-stream"})
    eq(st, 200, "PUT labels")
    eq((d2 or {}).get("has_labels"), True, "labels attached")
    eq((d2 or {}).get("n_classes"), 3, "n_classes")

    # CSV with a label column; IDX.gz images
    rows2, labels2 = blobs(90, 4, 3, seed=2)
    st, dcsv, _, _ = upload(s, csv_rows(rows2, labels2), "text/csv", "?name=csv&label_column=-1")
    eq(st, 201, "upload CSV")
    eq((dcsv or {}).get("n"), 90, "CSV rows (counting pass)")
    eq((dcsv or {}).get("d"), 4, "CSV features (label column excluded)")
    eq((dcsv or {}).get("has_labels"), True, "CSV labels")
    st, didx, _, _ = upload(s, gzip.compress(idx_images(50, 8, 8, 3)), "application/gzip")
    eq(st, 201, "upload IDX.gz")
    eq(((didx or {}).get("format"), (didx or {}).get("shape"), (didx or {}).get("dtype")),
       ("idx.gz", [8, 8], "uint8"), "IDX.gz format/shape")

    st, lst, _, _ = s.req("GET", "/v1/datasets")
    eq(st, 200, "list datasets")
    eq(lst["total"], 3, "3 datasets")
    st, one, _, _ = s.req("GET", "/v1/datasets/" + dsid)
    eq((st, one["id"]), (200, dsid), "get dataset")

    # kmeans
    st, job, resp, _ = s.req("POST", "/v1/jobs", {"dataset": dsid, "method": "kmeans",
                                                  "n_clusters": 3, "seed": 1,
                                                  "cluster": {"n_init": 5}})
    eq(st, 202, "create kmeans job")
    check(resp.getheader("Location") == "/v1/jobs/" + job["id"], "job Location",
          resp.getheader("Location"))
    eq(job["status"], "queued", "new job queued")
    eq(job["spec"]["cluster"]["n_init"], 5, "spec keeps the given value")
    eq(job["spec"]["pretrain"]["batch_size"], 256, "spec filled with defaults")
    job = wait_job(s, job["id"])
    eq(job["status"], "succeeded", "kmeans job succeeded")
    check(job["metrics"]["acc"] > 0.95, "kmeans ACC on separated blobs", job["metrics"]["acc"], "> 0.95")
    eq(job["progress"], 100, "progress 100%")
    check(job["timings"]["running_s"] is not None, "timings")
    mid = job["model"]
    check(mid and mid.startswith("mdl_"), "job names its model", mid)
    st, it, _, _ = s.req("GET", f"/v1/jobs/{job['id']}/iterations")
    eq(st, 200, "iterations")
    check(len(it["items"]) >= 1, "kmeans has iteration rows", len(it["items"]))

    # model and predict
    st, m, _, _ = s.req("GET", "/v1/models/" + mid)
    eq((st, m["d"], m["n_clusters"], m["method"]), (200, 8, 3, "kmeans"), "get model")
    st, p, _, _ = s.req("POST", f"/v1/models/{mid}/predict",
                        {"samples": rows[:6], "embeddings": True})
    eq(st, 200, "predict JSON")
    eq((p["n"], p["k"], len(p["labels"]), len(p["q"]), len(p["q"][0])), (6, 3, 6, 6, 3),
       "predict shapes")
    check(all(abs(sum(q) - 1) < 1e-4 for q in p["q"]), "q rows sum to 1", p["q"])
    eq(len(p["embeddings"][0]), 8, "kmeans embedding is the input")
    # the same samples as float32 binary give the same labels
    st, pb, _, _ = s.req("POST", f"/v1/models/{mid}/predict", body=f32(rows[:6]),
                         headers={"Content-Type": "application/octet-stream", "X-Shape": "6,8"})
    eq(st, 200, "predict binary")
    eq(pb["labels"], p["labels"], "binary and JSON agree")
    check("embeddings" not in pb, "no embeddings unless asked")
    st, pq, _, _ = s.req("POST", f"/v1/models/{mid}/predict?n=6&d=8", body=f32(rows[:6]),
                         headers={"Content-Type": "application/octet-stream"})
    eq((st, pq["labels"]), (200, p["labels"]), "predict binary with ?n=&d=")
    # samples of one blob share a label; of different blobs, not
    p6_kmeans = p["labels"]
    eq(len({p["labels"][i] for i in (0, 3)}), 1, "same blob, same label")
    eq(len({p["labels"][i] for i in (0, 1, 2)}), 3, "three blobs, three labels")

    st, a, _, _ = s.req("GET", f"/v1/jobs/{job['id']}/assignments?offset=290&limit=50")
    eq(st, 200, "assignments")
    eq((a["n"], a["offset"], len(a["labels"]), len(a["q"])), (300, 290, 10, 10), "assignment paging")
    check("next_offset" not in a, "last page has no next_offset")
    st, a0, _, _ = s.req("GET", f"/v1/jobs/{job['id']}/assignments?limit=6")
    eq(a0["labels"], p["labels"], "assignments = predict on the training rows")
    eq(a0["next_offset"], 6, "next_offset")

    # dec with a tiny autoencoder
    spec = {"dataset": dsid, "method": "dec", "n_clusters": 3, "seed": 3,
            "autoencoder": {"hidden": [32, 8]},
            "pretrain": {"epochs": 8, "batch_size": 32, "lr": 0.003},
            "cluster": {"n_init": 3, "update_interval": 10, "maxiter": 200, "tol": 0.0}}
    st, job, _, _ = s.req("POST", "/v1/jobs", spec)
    eq(st, 202, "create dec job")
    job = wait_job(s, job["id"], timeout=90)
    eq(job["status"], "succeeded", "dec job succeeded (error: %s)" % job.get("error"))
    check((job["metrics"] or {}).get("acc") is not None, "dec reports ACC (labels attached)")
    st, it, _, _ = s.req("GET", f"/v1/jobs/{job['id']}/iterations?limit=1000")
    phases = [r["phase"] for r in it["items"]]
    eq(phases.count("pretrain"), 8, "one pretrain row per epoch")
    check("kmeans" in phases and "cluster" in phases, "kmeans and cluster rows", sorted(set(phases)))
    eq([r["seq"] for r in it["items"]], list(range(len(phases))), "seq 0..n-1")
    check(any(r["acc"] is not None for r in it["items"]), "iteration rows carry ACC")
    check(any(r["label_change"] is not None for r in it["items"] if r["phase"] == "cluster"),
          "cluster rows carry label_change")
    since = it["items"][2]["seq"]
    st, it2, _, _ = s.req("GET", f"/v1/jobs/{job['id']}/iterations?since={since}&limit=2")
    eq([r["seq"] for r in it2["items"]], [since + 1, since + 2], "iterations paged by since")
    eq(it2["next_since"], since + 2, "next_since")
    st, p, _, _ = s.req("POST", f"/v1/models/{job['model']}/predict",
                        {"samples": rows[:3], "embeddings": True})
    eq(st, 200, "dec predict")
    eq(len(p["embeddings"][0]), 8, "dec embedding size = last hidden width")

    # vae started from its own pretrained autoencoder, on the images (values in [0, 1])
    spec = {"dataset": didx["id"], "method": "vae", "n_clusters": 3, "seed": 2,
            "autoencoder": {"hidden": [16]}, "pretrain": {"epochs": 3, "batch_size": 10},
            "cluster": {"n_init": 2}, "vae": {"latent": 4, "epochs": 3}}
    st, job_v, _, _ = s.req("POST", "/v1/jobs", spec)
    eq(st, 202, "create vae job")
    job_v = wait_job(s, job_v["id"], timeout=90)
    eq(job_v["status"], "succeeded", "vae job succeeded (error: %s)" % job_v.get("error"))
    st, it, _, _ = s.req("GET", f"/v1/jobs/{job_v['id']}/iterations?limit=1000")
    eq([r["phase"] for r in it["items"]], ["pretrain"] * 3 + ["kmeans"] + ["vae"] * 3,
       "vae rows: pretraining epochs, k-means, vae epochs")
    st, pv, _, _ = s.req("POST", f"/v1/models/{job_v['model']}/predict",
                         {"samples": [[0.5] * 64, [0.0] * 64], "embeddings": True})
    eq((st, pv["k"], len(pv["q"][0]), len(pv["embeddings"][0])), (200, 3, 3, 4),
       "vae predict: q over 3 clusters, latent embeddings")

    # list, filter, paging
    st, jl, _, _ = s.req("GET", "/v1/jobs?status=succeeded&limit=1")
    eq((st, jl["total"], len(jl["items"]), jl.get("next_offset")), (200, 3, 1, 1), "job list paging")
    st, jl, _, _ = s.req("GET", "/v1/jobs?status=failed")
    eq(jl["total"], 0, "status filter")
    # a finished job cannot be cancelled
    st, doc, _, _ = s.req("POST", f"/v1/jobs/{job['id']}/cancel")
    problem(st, doc, 409, "cancel a finished job")
    # deleting a dataset that only finished jobs used: fine, jobs keep their rows
    st, _, _, _ = s.req("DELETE", "/v1/datasets/" + dsid)
    eq(st, 204, "delete dataset")
    st, doc, _, _ = s.req("GET", "/v1/datasets/" + dsid)
    problem(st, doc, 404, "deleted dataset is gone")
    st, j2, _, _ = s.req("GET", "/v1/jobs/" + job["id"])
    eq((st, j2["dataset"], j2["status"]), (200, None, "succeeded"), "job survives its dataset")
    st, p, _, _ = s.req("POST", f"/v1/models/{job['model']}/predict", {"samples": rows[:1]})
    eq(st, 200, "model still predicts")
    # --model-cache 1: the two models take turns in the cache and still answer the same
    for _ in range(2):
        st, pk, _, _ = s.req("POST", f"/v1/models/{mid}/predict", {"samples": rows[:6]})
        eq((st, pk["labels"]), (200, p6_kmeans), "kmeans model after eviction")
        st, pd, _, _ = s.req("POST", f"/v1/models/{job['model']}/predict", {"samples": rows[:1]})
        eq((st, pd["labels"]), (200, p["labels"]), "dec model after eviction")

    st, _, _, text = s.req("GET", "/metrics")
    text = text.decode()
    check('deepclust_jobs{status="succeeded"} 3' in text, "metrics: jobs by status")
    check("deepclust_queue_depth 0" in text, "metrics: queue depth")
    check('deepclust_http_request_duration_seconds_bucket{method="POST",route="/v1/models/{id}/predict",le="+Inf"}'
          in text, "metrics: latency histogram per route")
    check("deepclust_training_samples_total " in text, "metrics: training samples")
    check("deepclust_models_cached 1\n" in text, "metrics: the cache holds at most 1 model")
    st, _, r, html = s.req("GET", "/")
    check(st == 200 and b"deepclust" in html and r.getheader("Content-Type").startswith("text/html"),
          "dashboard page")
    eq(s.stop(), 0, "exit code after SIGTERM")


def test_n2d(tmp):
    """n2d end to end: submit, its phases as iteration rows, the model, predict; a raw
    n2d (autoencoder "none"); manifold options checked against the data at submit."""
    s = Server(tmp, "n2d", "--workers", "1")
    rows, labels = blobs(300, 8, 3, seed=5)
    st, ds, _, _ = upload(s, npy_f32(rows))
    eq(st, 201, "upload")
    dsid = ds["id"]
    st, _, _, _ = s.req("PUT", f"/v1/datasets/{dsid}/labels", body=npy_i32(labels),
                        headers={"Content-Type": "application/octet-stream"})
    eq(st, 200, "PUT labels")
    spec = {"dataset": dsid, "method": "n2d", "n_clusters": 3, "seed": 2,
            "autoencoder": {"hidden": [32, 8]}, "pretrain": {"epochs": 10, "batch_size": 32},
            "manifold": {"components": 4, "neighbors": 15, "epochs": 100},
            "mixture": {"n_init": 2}}
    st, job, _, _ = s.req("POST", "/v1/jobs", spec)
    eq(st, 202, "create n2d job")
    eq((job or {}).get("spec", {}).get("manifold"),
       {"components": 4, "neighbors": 15, "min_dist": 0, "epochs": 100, "init": "spectral"},
       "spec keeps the manifold options and fills the rest")
    eq((job or {}).get("spec", {}).get("mixture"), {"n_init": 2}, "spec mixture")
    job = wait_job(s, job["id"], timeout=90)
    eq(job["status"], "succeeded", "n2d job succeeded (error: %s)" % job.get("error"))
    check((job["metrics"] or {}).get("acc", 0) >= 0.99, "n2d ACC on separated blobs",
          (job["metrics"] or {}).get("acc"), ">= 0.99")
    eq(job["progress"], 100, "progress 100%")
    st, it, _, _ = s.req("GET", f"/v1/jobs/{job['id']}/iterations?limit=1000")
    phases = [r["phase"] for r in it["items"]]
    eq(phases.count("pretrain"), 10, "one pretrain row per epoch")
    for ph in ("knn", "graph", "manifold", "mixture"):
        check(ph in phases, f"an iteration row of phase {ph}", sorted(set(phases)))
    man = [r for r in it["items"] if r["phase"] == "manifold"]
    check(man and man[-1]["epoch"] == 100, "manifold rows count layout epochs", man[-1:] if man else None)
    check(any(r["acc"] is not None for r in it["items"] if r["phase"] == "mixture"),
          "the last mixture row carries ACC")
    st, m, _, _ = s.req("GET", "/v1/models/" + job["model"])
    eq((st, (m or {}).get("method")), (200, "n2d"), "get n2d model")
    st, p, _, _ = s.req("POST", f"/v1/models/{job['model']}/predict",
                        {"samples": rows[:6], "embeddings": True})
    eq(st, 200, "n2d predict")
    eq((p["n"], p["k"], len(p["q"][0]), len(p["embeddings"][0])), (6, 3, 3, 4),
       "n2d predict: q over 3 clusters, manifold coordinates as embeddings")
    check(all(abs(sum(q) - 1) < 1e-4 for q in p["q"]), "q rows sum to 1", p["q"])
    eq(len({p["labels"][i] for i in (0, 3)}), 1, "same blob, same label")
    eq(len({p["labels"][i] for i in (0, 1, 2)}), 3, "three blobs, three labels")
    st, a0, _, _ = s.req("GET", f"/v1/jobs/{job['id']}/assignments?limit=300")
    same = sum(x == y for x, y in zip(a0["labels"][:6], p["labels"]))
    check(same >= 5, "predict agrees with the job's assignments", same, ">= 5 of 6")

    # raw: the manifold on the 8 features
    spec = {"dataset": dsid, "method": "n2d", "n_clusters": 3, "seed": 2, "autoencoder": "none",
            "manifold": {"components": 3, "epochs": 100}}
    st, job, _, _ = s.req("POST", "/v1/jobs", spec)
    eq(st, 202, "create raw n2d job")
    eq((job or {}).get("spec", {}).get("autoencoder"), "none", "raw n2d spec")
    job = wait_job(s, job["id"], timeout=60)
    eq(job["status"], "succeeded", "raw n2d job succeeded (error: %s)" % job.get("error"))
    check((job["metrics"] or {}).get("acc", 0) >= 0.99, "raw n2d ACC", (job["metrics"] or {}).get("acc"))

    # options against the data, with the JSON path
    st, doc, _, _ = s.req("POST", "/v1/jobs", {**spec, "manifold": {"neighbors": 1000}})
    problem(st, doc, 422, "neighbors > samples", field="manifold.neighbors")
    st, doc, _, _ = s.req("POST", "/v1/jobs", {**spec, "manifold": {"components": 9, "init": "pca"}})
    problem(st, doc, 422, "components > features with pca", field="manifold.components")
    st, doc, _, _ = s.req("POST", "/v1/jobs", {**spec, "mixture": {"n_init": 1, "tol": 1}})
    problem(st, doc, 400, "unknown mixture key", field="mixture.tol")
    eq(s.stop(), 0, "exit code after SIGTERM")


def test_errors(tmp):
    s = Server(tmp, "errors", "--workers", "0", "--max-upload-mb", "1")
    rows, labels = blobs(60, 5, 3, seed=4)
    st, ds, _, _ = upload(s, npy_f32(rows))
    eq(st, 201, "upload")
    dsid = ds["id"]

    # jobs: malformed JSON, unknown field, wrong type, bad value, missing field
    st, doc, _, _ = s.req("POST", "/v1/jobs", body=b'{"dataset": ', headers={"Content-Type": "application/json"})
    problem(st, doc, 400, "malformed JSON", contains="malformed JSON")
    base = {"dataset": dsid, "method": "dec", "n_clusters": 3}
    cases = [
        ({**base, "colour": 1}, 400, "colour"),
        ({**base, "pretrain": {"epochs": 2, "learning_rate": 0.1}}, 400, "pretrain.learning_rate"),
        ({**base, "pretrain": {"lr": "fast"}}, 400, "pretrain.lr"),
        ({**base, "pretrain": {"epochs": 2.5}}, 400, "pretrain.epochs"),
        ({**base, "pretrain": {"epochs": -1}}, 422, "pretrain.epochs"),
        ({**base, "pretrain": {"optimizer": "rmsprop"}}, 422, "pretrain.optimizer"),
        ({**base, "cluster": {"tol": 2}}, 422, "cluster.tol"),
        ({**base, "cluster": []}, 400, "cluster"),
        ({**base, "autoencoder": {"hidden": [32, 0]}}, 422, "autoencoder.hidden[1]"),
        ({**base, "autoencoder": {"hidden": []}}, 422, "autoencoder.hidden"),
        ({**base, "vae": {"conv": 1}}, 400, "vae.conv"),
        ({**base, "n_clusters": 0}, 422, "n_clusters"),
        ({**base, "n_clusters": 61}, 422, "n_clusters"),  # more clusters than samples
        ({**base, "method": "dbscan"}, 422, "method"),
        ({**base, "method": "dcec"}, 422, "method"),      # needs image data
        ({**base, "seed": "x"}, 400, "seed"),
        ({"method": "dec", "n_clusters": 3}, 400, "dataset"),
        ({**base, "dataset": "ds_nope"}, 422, "dataset"),
    ]
    for spec, status, field in cases:
        st, doc, _, _ = s.req("POST", "/v1/jobs", spec)
        problem(st, doc, status, f"job spec error {field}", field=field)
        check(field.split("[")[0] in (doc or {}).get("detail", ""), f"detail names {field}",
              (doc or {}).get("detail"))
    st, doc, _, _ = s.req("POST", "/v1/jobs", body=b"[1]", headers={"Content-Type": "application/json"})
    problem(st, doc, 400, "spec not an object")
    st, doc, _, _ = s.req("POST", "/v1/jobs", body=json.dumps(base).encode(),
                          headers={"Content-Type": "text/plain"})
    problem(st, doc, 415, "job with the wrong content type")
    # a vae decodes into [0, 1]: on these blobs (values around -5..5) it is refused at
    # submit time (issue 13), naming the range; tests/svc_export_test.py has the rest
    st, doc, _, _ = s.req("POST", "/v1/jobs", {**base, "method": "vae", "vae": {"latent": 4}})
    problem(st, doc, 422, "vae on data outside [0, 1]", field="method", contains="[0, 1]")
    st, job, _, _ = s.req("POST", "/v1/jobs", base)
    eq(st, 202, "a job that stays queued (no workers)")

    # unknown ids
    for path in ("/v1/jobs/job_nope", "/v1/jobs/job_nope/iterations", "/v1/datasets/ds_nope",
                 "/v1/models/mdl_nope", "/v1/jobs/job_nope/assignments"):
        st, doc, _, _ = s.req("GET", path)
        problem(st, doc, 404, "unknown id " + path)
    st, doc, _, _ = s.req("POST", "/v1/jobs/job_nope/cancel")
    problem(st, doc, 404, "cancel unknown job")
    st, doc, _, _ = s.req("POST", "/v1/models/mdl_nope/predict", {"samples": [[1, 2, 3, 4, 5]]})
    problem(st, doc, 404, "predict unknown model")
    st, doc, _, _ = s.req("DELETE", "/v1/datasets/ds_nope")
    problem(st, doc, 404, "delete unknown dataset")
    st, doc, _, _ = s.req("GET", "/v1/jobs?limit=0")
    problem(st, doc, 400, "bad limit", field="limit")
    st, doc, _, _ = s.req("GET", "/v1/jobs?status=done")
    problem(st, doc, 400, "bad status filter", field="status")
    st, doc, _, _ = s.req("GET", f"/v1/jobs/{job['id']}/assignments")
    problem(st, doc, 409, "assignments before the job has a model")

    # the dataset is used by a queued job (no workers here): 409
    st, doc, _, _ = s.req("DELETE", "/v1/datasets/" + dsid)
    problem(st, doc, 409, "delete a dataset a queued job uses")
    # cancel a queued job: cancelled at once; then the dataset may go
    st, j, _, _ = s.req("POST", f"/v1/jobs/{job['id']}/cancel")
    eq((st, j["status"]), (202, "cancelled"), "cancel a queued job")

    # uploads: wrong content type, oversize (413 before the body), empty, truncated,
    # malformed, NaN, a label vector as data, labels of the wrong length
    n_before = s.req("GET", "/v1/datasets")[1]["total"]
    st, doc, _, _ = upload(s, npy_f32(rows), "application/json")
    problem(st, doc, 415, "upload with the wrong content type")
    # 413 must come before the body: a raw request that announces 2 MiB and sends none
    import socket
    sk = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    sk.sendall(b"POST /v1/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
               b"Content-Length: 2097152\r\n\r\n")
    head = sk.recv(4096).decode(errors="replace")
    sk.close()
    check(head.startswith("HTTP/1.1 413"), "413 answered before any body byte", head[:40])
    check('"status":413' in head and "application/problem+json" in head, "413 is problem+json",
          head)
    # without a Content-Length (chunked), the limit is enforced while reading
    sk = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    sk.sendall(b"POST /v1/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
    try:
        for _ in range(9):
            sk.sendall(b"40000\r\n" + b"\0" * 0x40000 + b"\r\n")
        sk.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server may close once it has answered
    head = sk.recv(4096).decode(errors="replace")
    sk.close()
    check(head.startswith("HTTP/1.1 413"), "chunked upload over the limit gets 413", head[:60])
    st, doc, _, _ = upload(s, b"")
    problem(st, doc, 400, "empty upload")
    trunc = idx_images(20, 8, 8, 5)[:-100]
    st, doc, _, _ = upload(s, trunc)
    problem(st, doc, 400, "truncated IDX", contains="byte")
    st, doc, _, _ = upload(s, gzip.compress(idx_images(20, 8, 8, 5))[:-30], "application/gzip")
    problem(st, doc, 400, "truncated gzip")
    st, doc, _, _ = upload(s, b"1,2,3\n4,5\n", "text/csv")
    problem(st, doc, 400, "ragged CSV", contains="line 2")
    st, doc, _, _ = upload(s, b"1,2,3\n4,nan,6\n", "text/csv")
    problem(st, doc, 400, "NaN in CSV data", contains="line 2")
    nanrows = [r[:] for r in rows[:4]]
    nanrows[2][1] = float("nan")
    st, doc, _, _ = upload(s, npy_f32(nanrows))
    problem(st, doc, 400, "NaN in NPY data")
    st, doc, _, _ = upload(s, npy_i32([1, 2, 3]))
    problem(st, doc, 422, "a label vector uploaded as data")
    st, doc, _, _ = upload(s, b"x", query="?format=zip")
    problem(st, doc, 400, "unknown format parameter", field="format")
    st, doc, _, _ = s.req("PUT", f"/v1/datasets/{dsid}/labels", body=npy_i32([0, 1]),
                          headers={"Content-Type": "application/octet-stream"})
    problem(st, doc, 422, "labels of the wrong length", contains="2 labels")
    st, doc, _, _ = s.req("PUT", "/v1/datasets/ds_nope/labels", body=npy_i32([0, 1]),
                          headers={"Content-Type": "application/octet-stream"})
    problem(st, doc, 404, "labels for an unknown dataset")
    # a transfer cut off half-way (the client goes away): the request is aborted
    sk = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    sk.sendall(b"POST /v1/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
               b"Content-Length: 100000\r\n\r\n" + npy_f32(rows)[:3000])
    time.sleep(0.2)
    sk.close()
    time.sleep(0.3)
    eq(s.req("GET", "/v1/datasets")[1]["total"], n_before, "failed uploads leave no dataset")
    with store.connect(s.db) as c:
        eq(c.execute("SELECT count(DISTINCT dataset_id || part) FROM dataset_chunks").fetchone()[0], 1,
           "no stray dataset_chunks rows")
    leftovers = [f for f in os.listdir(tmp) if ".upload-" in f]
    eq(leftovers, [], "no temporary upload files left")

    # predict errors need a model: train one quickly in a second server with a worker
    s.stop()
    # an upload interrupted by a crash leaves its temporary file: the next start removes it
    stale = store.spool_prefix(s.db, s.proc.pid) + ".upload-Zq3x9a"
    open(stale, "wb").write(b"partial")
    s2 = Server(tmp, "errors2", "--workers", "1", db=s.db)
    check(not os.path.exists(stale), "a stale upload file is removed at start-up")
    st, job, _, _ = s2.req("POST", "/v1/jobs", {"dataset": dsid, "method": "kmeans", "n_clusters": 3})
    job = wait_job(s2, job["id"])
    eq(job["status"], "succeeded", "kmeans for predict errors")
    mid = job["model"]
    pr = f"/v1/models/{mid}/predict"
    st, doc, _, _ = s2.req("POST", pr, {"samples": [[1, 2, 3]]})
    problem(st, doc, 422, "predict with the wrong dimension", contains="5 features")
    st, doc, _, _ = s2.req("POST", pr, {"samples": [[1, 2, 3, 4, 5], [1, 2]]})
    problem(st, doc, 422, "ragged predict rows", field="samples[1]")
    st, doc, _, _ = s2.req("POST", pr, {"samples": [[1, 2, "x", 4, 5]]})
    problem(st, doc, 400, "string in samples", field="samples[0][2]")
    st, doc, _, _ = s2.req("POST", pr, {"samples": [[1, 2, 3, 4, 1e39]]})
    problem(st, doc, 422, "value beyond float32", field="samples[0][4]")
    st, doc, _, _ = s2.req("POST", pr, body=b'{"samples": [[1, 2, NaN, 4, 5]]}',
                           headers={"Content-Type": "application/json"})
    problem(st, doc, 400, "NaN literal in JSON")
    st, doc, _, _ = s2.req("POST", pr, {"samples": [[1, 2, 3, 4, 5]], "embed": True})
    problem(st, doc, 400, "unknown predict field", field="embed")
    st, doc, _, _ = s2.req("POST", pr, body=f32([[1, 2, float("nan"), 4, 5]]),
                           headers={"Content-Type": "application/octet-stream", "X-Shape": "1,5"})
    problem(st, doc, 422, "NaN in a binary predict body", contains="sample 0")
    st, doc, _, _ = s2.req("POST", pr, body=f32([[1, 2, 3, 4, 5]]),
                           headers={"Content-Type": "application/octet-stream", "X-Shape": "1,4"})
    problem(st, doc, 400, "binary body size does not match X-Shape")
    # found by fuzz/fuzz_predict: (2^62 + 1) * 5 * 4 wraps to the body's 20 bytes
    st, doc, _, _ = s2.req("POST", pr, body=f32([[1, 2, 3, 4, 5]]),
                           headers={"Content-Type": "application/octet-stream",
                                    "X-Shape": "4611686018427387905,5"})
    problem(st, doc, 413, "X-Shape whose byte count wraps around", field="X-Shape")
    st, doc, _, _ = s2.req("POST", pr, body=f32([[1, 2, 3, 4]]),
                           headers={"Content-Type": "application/octet-stream", "X-Shape": "1,4"})
    problem(st, doc, 422, "binary predict with the wrong dimension")
    st, doc, _, _ = s2.req("POST", pr, body=f32([[1, 2, 3, 4, 5]]),
                           headers={"Content-Type": "application/octet-stream"})
    problem(st, doc, 400, "binary predict without a shape", field="X-Shape")
    st, doc, _, _ = s2.req("POST", pr, body=b"a,b", headers={"Content-Type": "text/csv"})
    problem(st, doc, 415, "predict with the wrong content type")
    eq(s2.stop(), 0, "exit code")


def long_spec(dsid, epochs=5000):
    """A DEC job on long_data() of about 10-40 ms per pretraining epoch on 2 cores."""
    return {"dataset": dsid, "method": "dec", "n_clusters": 3, "seed": 1,
            "autoencoder": {"hidden": [256, 64, 8]},
            "pretrain": {"epochs": epochs, "batch_size": 32},
            "cluster": {"n_init": 2, "maxiter": 100, "update_interval": 20}}


def long_data(seed):
    return blobs(2000, 64, 3, seed=seed)


def wait_checkpoint(s, jid, timeout=15):
    """Waits for the job's first checkpoint (--checkpoint-s 1), reading the database
    read-only from the side."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        with store.connect(s.db, ro=True) as c:
            if c.execute("SELECT count(*) FROM checkpoints WHERE job_id = ?", (jid,)).fetchone()[0]:
                return True
        time.sleep(0.1)
    return False


def wait_running(s, jid, min_rows=2, timeout=30):
    t0 = time.time()
    while time.time() - t0 < timeout:
        st, it, _, _ = s.req("GET", f"/v1/jobs/{jid}/iterations")
        if st == 200 and len(it["items"]) >= min_rows:
            return True
        time.sleep(0.05)
    return False


def test_cancel(tmp):
    s = Server(tmp, "cancel", "--workers", "1")
    rows, labels = long_data(6)
    dsid = upload(s, npy_f32(rows))[1]["id"]
    st, job, _, _ = s.req("POST", "/v1/jobs", long_spec(dsid))
    # a second job queued behind it, cancelled while queued
    st2, job2, _, _ = s.req("POST", "/v1/jobs", long_spec(dsid))
    check(wait_running(s, job["id"]), "long job started")
    eq(s.req("GET", "/v1/jobs/" + job["id"])[1]["status"], "running", "running")
    st, doc, _, _ = s.req("DELETE", "/v1/datasets/" + dsid)
    problem(st, doc, 409, "delete a dataset a running job uses")
    t0 = time.time()
    st, j, _, _ = s.req("POST", f"/v1/jobs/{job['id']}/cancel")
    eq((st, j["cancel_requested"]), (202, True), "cancel accepted")
    j = wait_job(s, job["id"], timeout=10)
    dt = time.time() - t0
    eq(j["status"], "cancelled", "running job cancelled")
    check(dt < 2.0, "cancel took under 2 s", round(dt, 2), "< 2")
    check(j["finished_at"] is not None and j["model"] is None, "cancelled: finished, no model")
    st, j2, _, _ = s.req("POST", f"/v1/jobs/{job2['id']}/cancel")
    # job2 may have started in the meantime: either way it must end cancelled
    j2 = wait_job(s, job2["id"], timeout=10)
    eq(j2["status"], "cancelled", "second job cancelled")
    eq(s.stop(), 0, "exit code")


def epochs_after(s, jid, seq, phase):
    """Epochs of the given phase in the rows with seq > seq."""
    st, it, _, _ = s.req("GET", f"/v1/jobs/{jid}/iterations?since={seq}&limit=1000")
    return [r["epoch"] for r in it["items"] if r["phase"] == phase]


def pretrain_epochs_after(s, jid, seq):
    return epochs_after(s, jid, seq, "pretrain")


def wait_new_rows(s, jid, seq, timeout=30, phase="pretrain"):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if epochs_after(s, jid, seq, phase):
            return True
        time.sleep(0.05)
    return False


def last_checkpoint(db, jid):
    with store.connect(db, ro=True) as c:
        return c.execute("SELECT phase, step FROM checkpoints WHERE job_id = ?", (jid,)).fetchone()


def test_crash(tmp):
    """kill -9 mid-job, restart: integrity ok, the job resumes from its checkpoint (the
    first epoch after the restart is the one after the checkpoint), nothing acknowledged
    is lost, the job queued behind it runs. The long job is cancelled at the end, so the
    test does not depend on how fast the machine trains."""
    s = Server(tmp, "crash", "--workers", "1", "--checkpoint-s", "1")
    rows, labels = long_data(7)
    dsid = upload(s, npy_f32(rows))[1]["id"]
    s.req("PUT", f"/v1/datasets/{dsid}/labels", body=npy_i32(labels),
          headers={"Content-Type": "application/octet-stream"})
    st, job, _, _ = s.req("POST", "/v1/jobs", long_spec(dsid))
    eq(st, 202, "job accepted")
    st, queued, _, _ = s.req("POST", "/v1/jobs", {"dataset": dsid, "method": "kmeans", "n_clusters": 3})
    check(wait_running(s, job["id"], min_rows=3), "job running before the kill")
    check(wait_checkpoint(s, job["id"]), "a checkpoint was written while it trained")
    s.proc.kill()  # SIGKILL, mid-job
    s.proc.wait()
    s.logf.close()
    with store.connect(s.db) as c:
        integrity_ok(c, "integrity_check after kill -9")
        eq(c.execute("SELECT status FROM jobs WHERE id = ?", (job["id"],)).fetchone()[0], "running",
           "the killed job was running")
        last_seq = c.execute("SELECT max(seq) FROM iterations WHERE job_id = ?", (job["id"],)).fetchone()[0]
    ck = last_checkpoint(s.db, job["id"])
    eq(ck[0] if ck else None, "pretrain", "checkpoint taken in pretraining")
    # as if the kill had hit an upload half-way: a dataset still 'uploading'. SQLite: one
    # process owns the file, so start-up removes it. PostgreSQL: an 'uploading' row may be
    # another API process's upload in progress; start-up removes those a day old only.
    half = [("ds_half", None)] + ([("ds_half_old", "2000-01-01T00:00:00.000Z")] if store.is_pg() else [])
    with store.connect(s.db) as c:
        for hid, at in half:
            c.execute("INSERT INTO datasets (id, name, format, n, d, shape, status) "
                      "VALUES (?, 'half', 'npy', 10, 2, '[2]', 'uploading')", (hid,))
            if at:
                c.execute("UPDATE datasets SET created_at = ? WHERE id = ?", (at, hid))
            c.execute("INSERT INTO dataset_chunks (dataset_id, part, off, data) "
                      "VALUES (?, 'x', 0, ?)", (hid, bytes(80)))
    s.start()
    with store.connect(s.db, ro=True) as c:
        gone = "ds_half_old" if store.is_pg() else "ds_half"
        eq(c.execute("SELECT count(*) FROM datasets WHERE id = ?", (gone,)).fetchone()[0], 0,
           "a half-written dataset is removed at start-up" + (" (a day old)" if store.is_pg() else ""))
        eq(c.execute("SELECT count(*) FROM dataset_chunks WHERE dataset_id = ?", (gone,)).fetchone()[0], 0,
           "with its data")
        if store.is_pg():
            eq(c.execute("SELECT count(*) FROM datasets WHERE id = 'ds_half'").fetchone()[0], 1,
               "a fresh 'uploading' dataset is left to its (maybe living) uploader")
    if store.is_pg():
        eq(s.req("GET", "/v1/datasets/ds_half")[0], 404, "an 'uploading' dataset is not served")
    check(wait_new_rows(s, job["id"], last_seq), "the job runs again after the restart")
    j = s.req("GET", "/v1/jobs/" + job["id"])[1]
    eq((j["status"], j["attempts"]), ("running", 2), "requeued and started again")
    epochs = pretrain_epochs_after(s, job["id"], last_seq)
    eq(epochs[0], ck[1] + 1, "resumed at the epoch after the checkpoint")
    st, it, _, _ = s.req("GET", f"/v1/jobs/{job['id']}/iterations?limit=1000")
    eq([r["seq"] for r in it["items"]], list(range(len(it["items"]))),
       "rows before the kill kept, new ones appended, seq dense")
    st, j, _, _ = s.req("POST", f"/v1/jobs/{job['id']}/cancel")
    j = wait_job(s, job["id"], timeout=10)
    eq(j["status"], "cancelled", "the resumed job can be cancelled")
    q = wait_job(s, queued["id"])
    eq(q["status"], "succeeded", "the job queued behind it ran")
    eq(s.req("GET", "/v1/datasets/" + dsid)[1]["has_labels"], True, "acknowledged dataset and labels kept")
    eq(s.stop(), 0, "exit code")
    with store.connect(s.db) as c:
        integrity_ok(c, "integrity_check at the end")
        eq(c.execute("SELECT count(*) FROM jobs WHERE status = 'running'").fetchone()[0], 0,
           "no job left running")


def test_sigterm(tmp):
    """SIGTERM: running jobs go back to the queue with their checkpoints (not counted as
    an attempt), the process exits 0, and the next start resumes them; a checkpoint
    that cannot be resumed fails its job with the reason instead."""
    s = Server(tmp, "term", "--workers", "2", "--checkpoint-s", "1")
    rows, _ = long_data(8)
    dsid = upload(s, npy_f32(rows))[1]["id"]
    jobs = [s.req("POST", "/v1/jobs", long_spec(dsid))[1] for _ in range(2)]
    for j in jobs:
        check(wait_running(s, j["id"]), "job running before SIGTERM")
        check(wait_checkpoint(s, j["id"]), "a checkpoint before SIGTERM")
    t0 = time.time()
    eq(s.stop(), 0, "SIGTERM exit code 0")
    check(time.time() - t0 < 5, "SIGTERM honoured within 5 s", time.time() - t0)
    last_seq = {}
    with store.connect(s.db) as c:
        for j in jobs:
            st_, att, resume = c.execute("SELECT status, attempts, resume FROM jobs WHERE id = ?",
                                         (j["id"],)).fetchone()
            eq(st_, "queued", "SIGTERM puts the running job back in the queue")
            eq(att, 0, "a clean stop is not counted as an attempt")
            eq(resume, 1, "requeued to resume from its checkpoint")
            last_seq[j["id"]] = c.execute("SELECT max(seq) FROM iterations WHERE job_id = ?",
                                          (j["id"],)).fetchone()[0]
        # spoil the second job's checkpoint: it must fail with a reason, not hang or crash
        c.execute("UPDATE checkpoints SET state = ? WHERE job_id = ?", (b"\x00\x11\x22\x33", jobs[1]["id"]))
    ck = last_checkpoint(s.db, jobs[0]["id"])
    s.start()
    check(wait_new_rows(s, jobs[0]["id"], last_seq[jobs[0]["id"]]), "the requeued job runs after the restart")
    epochs = pretrain_epochs_after(s, jobs[0]["id"], last_seq[jobs[0]["id"]])
    eq(epochs[0], ck[1] + 1, "resumed at the epoch after the checkpoint")
    bad = wait_job(s, jobs[1]["id"], timeout=20)
    eq(bad["status"], "failed", "a job whose checkpoint cannot be resumed fails")
    check("cannot resume from the checkpoint" in (bad["error"] or ""), "and says why", bad["error"])
    s.req("POST", f"/v1/jobs/{jobs[0]['id']}/cancel")
    eq(wait_job(s, jobs[0]["id"], timeout=10)["status"], "cancelled", "then cancelled")
    eq(s.stop(), 0, "exit code")


def test_vae_resume(tmp):
    """A vae job is checkpointed between its epochs: after SIGTERM and a restart it
    continues at the epoch after its checkpoint (before, a vae from scratch had none)."""
    s = Server(tmp, "vaeres", "--workers", "1", "--checkpoint-s", "1")
    rows, _ = long_data(9)
    rows = [[min(1.0, max(0.0, (v + 8) / 16)) for v in r] for r in rows]
    dsid = upload(s, npy_f32(rows))[1]["id"]
    spec = {"dataset": dsid, "method": "vae", "n_clusters": 3, "seed": 3,
            "autoencoder": {"hidden": [256, 64]}, "pretrain": {"epochs": 0},
            "vae": {"latent": 4, "epochs": 5000, "lr": 1e-3}}
    st, job, _, _ = s.req("POST", "/v1/jobs", spec)
    eq(st, 202, "vae job accepted")
    check(wait_running(s, job["id"], min_rows=3), "vae job running")
    check(wait_checkpoint(s, job["id"]), "a vae checkpoint while it trained")
    eq(s.stop(), 0, "SIGTERM exit code 0")
    ck = last_checkpoint(s.db, job["id"])
    eq(ck[0] if ck else None, "vae", "the checkpoint is from the vae epochs")
    with store.connect(s.db) as c:
        eq(c.execute("SELECT status, resume FROM jobs WHERE id = ?", (job["id"],)).fetchone(),
           ("queued", 1), "requeued to resume")
        last_seq = c.execute("SELECT max(seq) FROM iterations WHERE job_id = ?", (job["id"],)).fetchone()[0]
    s.start()
    check(wait_new_rows(s, job["id"], last_seq, phase="vae"), "the vae job runs after the restart")
    epochs = epochs_after(s, job["id"], last_seq, "vae")
    eq(epochs[0] if epochs else None, ck[1] + 1 if ck else None, "resumed at the vae epoch after the checkpoint")
    s.req("POST", f"/v1/jobs/{job['id']}/cancel")
    eq(wait_job(s, job["id"], timeout=10)["status"], "cancelled", "then cancelled")
    eq(s.stop(), 0, "exit code")


def test_n2d_resume(tmp):
    """An n2d job stopped by SIGTERM during its UMAP layout goes back to the queue with a
    layout checkpoint; after the restart it recomputes the kNN and graph, runs neither the
    pretraining nor the init again, continues the layout at the epoch after the
    checkpoint, and ends with the same model file as the same job run without a stop."""
    s = Server(tmp, "n2dres", "--workers", "1", "--checkpoint-s", "1")
    rows, labels = blobs(300, 8, 3, seed=5)
    dsid = upload(s, npy_f32(rows))[1]["id"]
    s.req("PUT", f"/v1/datasets/{dsid}/labels", body=npy_i32(labels),
          headers={"Content-Type": "application/octet-stream"})
    epochs = 1500  # about 0.7 s of layout on an idle core
    spec = {"dataset": dsid, "method": "n2d", "n_clusters": 3, "seed": 4,
            "autoencoder": {"hidden": [32, 8]}, "pretrain": {"epochs": 5, "batch_size": 32},
            "manifold": {"components": 4, "neighbors": 15, "epochs": epochs},
            "mixture": {"n_init": 2}}
    st, job, _, _ = s.req("POST", "/v1/jobs", spec)
    eq(st, 202, "n2d job accepted")
    st, ref, _, _ = s.req("POST", "/v1/jobs", spec)  # the same job, queued behind: no stop
    eq(st, 202, "reference n2d job accepted")
    # the stop is heard after the next layout epoch, which hands over a checkpoint
    check(wait_new_rows(s, job["id"], -1, timeout=120, phase="manifold"), "the layout started")
    eq(s.stop(), 0, "SIGTERM exit code 0")
    ck = last_checkpoint(s.db, job["id"])
    check(ck and ck[0] == "manifold" and 0 < ck[1] < epochs,
          "the stop left a mid-layout checkpoint", ck, ("manifold", f"1..{epochs - 1}"))
    with store.connect(s.db) as c:
        eq(c.execute("SELECT status, resume FROM jobs WHERE id = ?", (job["id"],)).fetchone(),
           ("queued", 1), "requeued to resume")
        last_seq = c.execute("SELECT max(seq) FROM iterations WHERE job_id = ?", (job["id"],)).fetchone()[0]
        before = [r[0] for r in c.execute("SELECT epoch FROM iterations WHERE job_id = ? AND "
                                          "phase = 'manifold' ORDER BY seq", (job["id"],))]
    eq(before[-1:], [ck[1] if ck else None], "the last layout row before the stop is the checkpoint's epoch")
    s.start()
    j = wait_job(s, job["id"], timeout=180)
    eq(j["status"], "succeeded", "the resumed n2d job succeeded (error: %s)" % j.get("error"))
    check((j["metrics"] or {}).get("acc", 0) >= 0.99, "resumed n2d ACC", (j["metrics"] or {}).get("acc"), ">= 0.99")
    st, it, _, _ = s.req("GET", f"/v1/jobs/{job['id']}/iterations?since={last_seq}&limit=1000")
    phases = [r["phase"] for r in it["items"]]
    eq([p for p in ("pretrain", "manifold_init") if p in phases], [], "no pretraining or init after the restart")
    check("knn" in phases and "graph" in phases and "mixture" in phases,
          "kNN and graph recomputed, then the mixture", sorted(set(phases)))
    man = [r["epoch"] for r in it["items"] if r["phase"] == "manifold"]
    eq(man[:1], [ck[1] + 1 if ck else None], "the layout continues at the epoch after the checkpoint")
    eq(man[-1:], [epochs], "and runs to its last epoch")
    st, p, _, _ = s.req("POST", f"/v1/models/{j['model']}/predict", {"samples": rows[:6]})
    eq(st, 200, "the resumed model predicts")
    eq(len({p["labels"][i] for i in (0, 1, 2)}), 3, "three blobs, three labels")
    r = wait_job(s, ref["id"], timeout=180)
    eq(r["status"], "succeeded", "the reference n2d job succeeded")
    with store.connect(s.db, ro=True) as c:
        w = [c.execute("SELECT weights FROM models WHERE id = ?", (m,)).fetchone()
             for m in (j["model"], r["model"])]
    check(w[0] is not None and w[0] == w[1], "the resumed model file equals the uninterrupted job's",
          [len(x[0]) if x else None for x in w])
    eq(s.stop(), 0, "exit code")


def test_load(tmp):
    s = Server(tmp, "load", "--workers", "1", "--http-threads", "4")
    rows, labels = blobs(300, 8, 3, seed=9)
    dsid = upload(s, npy_f32(rows))[1]["id"]
    st, job, _, _ = s.req("POST", "/v1/jobs", {"dataset": dsid, "method": "kmeans", "n_clusters": 3})
    mid = wait_job(s, job["id"])["model"]
    # a job trains meanwhile
    s.req("POST", "/v1/jobs", long_spec(dsid, epochs=30))
    statuses, lock = [], threading.Lock()

    def client(i):
        for r in range(15):
            try:
                if r % 3 == 0:
                    st = s.req("POST", f"/v1/models/{mid}/predict", {"samples": rows[i:i + 5]})[0]
                elif r % 3 == 1:
                    st = s.req("GET", "/v1/jobs")[0]
                else:
                    st = upload(s, npy_f32(rows[:20]))[0]
            except Exception as ex:  # noqa: BLE001
                st = repr(ex)
            with lock:
                statuses.append(st)

    ts = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    bad = [x for x in statuses if x not in (200, 201)]
    eq(bad, [], "120 concurrent requests all succeed")
    eq(len(statuses), 120, "all requests answered")
    eq(s.req("GET", "/v1/datasets?limit=1000")[1]["total"], 1 + 8 * 5, "every concurrent upload stored")
    eq(s.stop(), 0, "exit code")


def test_token(tmp):
    s = Server(tmp, "token", "--workers", "0", "--token", "s3cret")
    auth = {"Authorization": "Bearer s3cret"}
    st, doc, _, _ = s.req("GET", "/v1/jobs")
    problem(st, doc, 401, "job list without the token")
    eq(s.req("GET", "/v1/jobs", headers=auth)[0], 200, "job list with the token")
    st, doc, _, _ = upload(s, npy_f32([[1.0, 2.0]]))
    problem(st, doc, 401, "upload without the token")
    st, doc, _, _ = s.req("POST", "/v1/datasets", body=npy_f32([[1.0, 2.0]]),
                          headers={**auth, "Content-Type": "application/octet-stream"})
    eq(st, 201, "upload with the token")
    eq(s.req("GET", "/healthz")[0], 200, "healthz needs no token")
    eq(s.stop(), 0, "exit code")


def main():
    if not os.access(BIN, os.X_OK):
        print(f"no binary at {BIN} (set DC_BIN)", file=sys.stderr)
        return 1
    only = sys.argv[1:]
    groups = [test_flow, test_n2d, test_errors, test_token, test_cancel, test_crash, test_sigterm,
              test_vae_resume, test_n2d_resume, test_load]
    with tempfile.TemporaryDirectory(prefix="dc_svc.") as tmp:
        for g in groups:
            if only and g.__name__[5:] not in only:
                continue
            t0 = time.time()
            sub = os.path.join(tmp, g.__name__)
            os.mkdir(sub)
            try:
                g(sub)
            except Exception as ex:  # noqa: BLE001
                traceback.print_exc()
                check(False, f"{g.__name__} raised {ex!r}")
            print(f"{g.__name__}: {time.time() - t0:.1f}s", file=sys.stderr)
        # no 5xx anywhere: the access-log lines are "... METHOD PATH STATUS BYTES MSms"
        fivexx = []
        for log in LOGS:
            for line in open(log):
                parts = line.split()
                if (len(parts) >= 6 and parts[0].endswith("Z") and parts[3].isdigit()
                        and parts[3].startswith("5")):
                    fivexx.append(line.strip())
        eq(fivexx, [], "no 5xx in the access logs")
        san = [line.strip() for log in LOGS for line in open(log)
               if "Sanitizer" in line or "runtime error:" in line]
        eq(san, [], "no sanitizer reports in the server logs")
    print(f"{PASS} passed, {FAIL} failed")
    return 1 if FAIL else 0


if __name__ == "__main__":
    sys.exit(main())
