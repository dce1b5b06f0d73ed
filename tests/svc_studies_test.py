#!/usr/bin/python3
"""Black-box tests of studies (issue 14) over real HTTP on loopback.

Run by tests/test_svc_studies.sh (ctest); standard library only; reuses the server and
data helpers of tests/svc_api_test.py. Env: DC_BIN. Groups:

  validate  POST /v1/studies refusals, each a 4xx naming the field (seeds[2],
            n_clusters.max, job.pretrain.lr, ...); nothing queued after them
  flow      an ae_kmeans study (2 seeds x k 2..4) on generated blobs: 201, progress,
            one pretraining per seed (iterations rows: only the first k's job of a seed
            has 'pretrain' rows, the others start from its autoencoder), the summary per
            k equal to the jobs' own metrics (means, stds), stability equal to the mean
            ARI between the seeds' assignments, the chosen seed one of the k's jobs,
            consensus ACC, listing and paging; dec and n2d studies whose dependants run
            no pretraining either (n2d's criteria include BIC and log-likelihood)
  known_k   kmeans studies on blobs with 3, 4 and 6 clusters (unequal sizes for one):
            the suggested k is the true one, with its reason
  cancel    a study cancelled as a whole (queued and running jobs end, 409 after, DELETE
            then removes jobs and models); a pretraining job cancelled alone fails its
            dependants with the reason
and no 5xx in any access log.
"""
import itertools
import os
import random
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import svc_api_test as T  # noqa: E402

check, eq, problem = T.check, T.eq, T.problem


def blobs(sizes, d, seed, spread=0.5, box=8.0):
    """Gaussian blobs with the given sizes, shuffled; returns (rows, labels)."""
    rnd = random.Random(seed)
    centers = [[rnd.uniform(-box, box) for _ in range(d)] for _ in sizes]
    pts = [([c[j] + rnd.gauss(0, spread) for j in range(d)], i)
           for i, (c, n) in enumerate(zip(centers, sizes)) for _ in range(n)]
    rnd.shuffle(pts)
    return [p for p, _ in pts], [l for _, l in pts]


def dataset(s, rows, labels=None):
    st, ds, _, _ = T.upload(s, T.npy_f32(rows))
    eq(st, 201, "upload")
    if labels is not None:
        st, _, _, _ = s.req("PUT", f"/v1/datasets/{ds['id']}/labels", body=T.npy_i32(labels),
                            headers={"Content-Type": "application/octet-stream"})
        eq(st, 200, "PUT labels")
    return ds["id"]


def wait_study(s, sid, states=("succeeded", "failed", "cancelled"), timeout=120):
    t0, doc = time.time(), None
    while time.time() - t0 < timeout:
        st, doc, _, _ = s.req("GET", "/v1/studies/" + sid)
        if st == 200 and doc["status"] in states:
            return doc
        time.sleep(0.2)
    return doc


def ari(a, b):
    """Adjusted Rand index (scikit-learn's formula)."""
    n = len(a)
    comb = lambda x: x * (x - 1) / 2  # noqa: E731
    cont = {}
    for x, y in zip(a, b):
        cont[(x, y)] = cont.get((x, y), 0) + 1
    ra, rb = {}, {}
    for x in a:
        ra[x] = ra.get(x, 0) + 1
    for y in b:
        rb[y] = rb.get(y, 0) + 1
    s = sum(comb(v) for v in cont.values())
    sa, sb = sum(comb(v) for v in ra.values()), sum(comb(v) for v in rb.values())
    exp = sa * sb / comb(n)
    mx = (sa + sb) / 2
    return 1.0 if mx == exp else (s - exp) / (mx - exp)


def mean_std(v):
    m = sum(v) / len(v)
    return m, (sum((x - m) ** 2 for x in v) / len(v)) ** 0.5


def close(a, b, tol=1e-6):
    return a is not None and b is not None and abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def phases(s, jid):
    st, it, _, _ = s.req("GET", f"/v1/jobs/{jid}/iterations?limit=1000")
    return [r["phase"] for r in it["items"]] if st == 200 else None


def test_validate(tmp):
    s = T.Server(tmp, "validate", "--workers", "0")
    rows, labels = blobs([50, 50, 50], 4, seed=1)
    dsid = dataset(s, rows, labels)
    job = {"method": "kmeans"}
    ok = {"dataset": dsid, "job": job, "seeds": [1, 2], "n_clusters": [2, 3]}
    cases = [
        ([1, 2], 400, ""),
        ({**ok, "bogus": 1}, 400, "bogus"),
        ({k: v for k, v in ok.items() if k != "dataset"}, 400, "dataset"),
        ({**ok, "dataset": 7}, 400, "dataset"),
        ({**ok, "dataset": "ds_nope"}, 422, "dataset"),
        ({k: v for k, v in ok.items() if k != "job"}, 400, "job"),
        ({**ok, "job": "kmeans"}, 400, "job"),
        ({**ok, "job": {"method": "kmeans", "seed": 3}}, 400, "job.seed"),
        ({**ok, "job": {"method": "kmeans", "n_clusters": 3}}, 400, "job.n_clusters"),
        ({**ok, "job": {"method": "nope"}}, 422, "job.method"),
        ({**ok, "job": {"method": "dec", "pretrain": {"lr": -1}}}, 422, "job.pretrain.lr"),
        ({**ok, "job": {"method": "dec", "bogus": {}}}, 400, "job.bogus"),
        ({**ok, "job": {}}, 400, "job.method"),
        ({k: v for k, v in ok.items() if k != "n_clusters"}, 400, "n_clusters"),
        ({**ok, "seeds": 3}, 400, "seeds"),
        ({**ok, "seeds": []}, 422, "seeds"),
        ({**ok, "seeds": list(range(21))}, 422, "seeds"),
        ({**ok, "seeds": [1, 2, "x"]}, 400, "seeds[2]"),
        ({**ok, "seeds": [1, 2, 1]}, 422, "seeds[2]"),
        ({**ok, "seeds": [-1]}, 422, "seeds[0]"),
        ({**ok, "n_clusters": "5:15"}, 400, "n_clusters"),
        ({**ok, "n_clusters": []}, 422, "n_clusters"),
        ({**ok, "n_clusters": [2, 1]}, 422, "n_clusters[1]"),
        ({**ok, "n_clusters": [2, 101]}, 422, "n_clusters[1]"),
        ({**ok, "n_clusters": [3, 3]}, 422, "n_clusters[1]"),
        ({**ok, "n_clusters": [2, 2.5]}, 400, "n_clusters[1]"),
        ({**ok, "n_clusters": {"min": 2}}, 400, "n_clusters.max"),
        ({**ok, "n_clusters": {"max": 4}}, 400, "n_clusters.min"),
        ({**ok, "n_clusters": {"min": 1, "max": 4}}, 422, "n_clusters.min"),
        ({**ok, "n_clusters": {"min": 5, "max": 4}}, 422, "n_clusters.max"),
        ({**ok, "n_clusters": {"min": 2, "max": 40}}, 422, "n_clusters.max"),
        ({**ok, "n_clusters": {"min": 2, "max": 3, "step": 1}}, 400, "n_clusters.step"),
        # against the data: more clusters than samples
        ({**ok, "n_clusters": {"min": 90, "max": 100}, "dataset": None}, 422, "n_clusters"),
    ]
    small = dataset(s, rows[:60])
    for body, status, field in cases:
        if isinstance(body, dict) and body.get("dataset", "") is None:
            body = {**body, "dataset": small}
        st, doc, _, _ = s.req("POST", "/v1/studies", body)
        problem(st, doc, status, f"POST /v1/studies {str(body)[:80]}", field=field)
        if field and isinstance(doc, dict):
            check(field in doc.get("detail", "") or not field, f"detail names {field}", doc.get("detail"))
    st, doc, _, _ = s.req("POST", "/v1/studies", body=b"{", headers={"Content-Type": "application/json"})
    problem(st, doc, 400, "malformed JSON")
    st, doc, _, _ = s.req("POST", "/v1/studies", body=b"{}", headers={"Content-Type": "text/csv"})
    problem(st, doc, 415, "wrong content type")
    eq(s.req("GET", "/v1/jobs")[1]["total"], 0, "no job queued by refused studies")
    eq(s.req("GET", "/v1/studies")[1]["total"], 0, "no study kept")
    for path in ("/v1/studies/std_nope", "/v1/studies/std_nope/cancel"):
        st, doc, _, _ = s.req("POST" if path.endswith("cancel") else "GET", path)
        problem(st, doc, 404, path)
    st, doc, _, _ = s.req("DELETE", "/v1/studies/std_nope")
    problem(st, doc, 404, "DELETE unknown study")
    st, doc, _, _ = s.req("GET", "/v1/studies?limit=0")
    problem(st, doc, 400, "limit 0", field="limit")
    # a queue limit counts the whole study
    eq(s.stop(), 0, "exit code")
    s = T.Server(tmp, "validate2", "--workers", "0", "--max-queued-jobs", "5")
    dsid = dataset(s, rows, labels)
    st, doc, _, _ = s.req("POST", "/v1/studies", {**ok, "dataset": dsid, "seeds": [1, 2, 3]})
    problem(st, doc, 429, "6 jobs over a queue of 5")
    st, doc, _, _ = s.req("POST", "/v1/studies", {**ok, "dataset": dsid})
    eq(st, 201, "4 jobs fit")
    eq(s.stop(), 0, "exit code")


def check_summary(s, doc, what):
    """Per k: the summary equals the jobs' own figures (GET /v1/jobs/{id})."""
    jobs = {}
    for j in doc["jobs"]:
        st, full, _, _ = s.req("GET", "/v1/jobs/" + j["id"])
        jobs[j["id"]] = full
        eq(full["status"], j["status"], f"{what}: job {j['id']} status")
    for pk in doc["per_k"]:
        k = pk["n_clusters"]
        mine = [jobs[j["id"]] for j in doc["jobs"] if j["n_clusters"] == k and j["status"] == "succeeded"]
        eq(pk["runs"], len(mine), f"{what} k={k}: runs")
        for name in ("acc", "nmi", "ari"):
            m, sd = mean_std([x["metrics"][name] for x in mine])
            check(close(pk["metrics"][name]["mean"], m) and close(pk["metrics"][name]["std"], sd),
                  f"{what} k={k}: {name} mean/std equal the jobs'", pk["metrics"][name], (m, sd))
        for name in ("silhouette", "calinski_harabasz", "davies_bouldin"):
            vals = [x["metrics"]["criteria"][name] for x in mine]
            check(all(v is not None for v in vals), f"{what} k={k}: every job has {name}", vals)
            m, sd = mean_std(vals)
            check(close(pk["metrics"][name]["mean"], m) and close(pk["metrics"][name]["std"], sd),
                  f"{what} k={k}: {name} mean/std equal the jobs'", pk["metrics"][name], (m, sd))
        labs = []
        for x in mine:
            st, a, _, _ = s.req("GET", f"/v1/jobs/{x['id']}/assignments?limit=10000")
            labs.append(a["labels"])
        if len(labs) >= 2:
            pairs = [ari(a, b) for a, b in itertools.combinations(labs, 2)]
            check(close(pk["stability"], sum(pairs) / len(pairs), 1e-9),
                  f"{what} k={k}: stability = mean ARI between the seeds' assignments",
                  pk["stability"], sum(pairs) / len(pairs))
        ch = pk["chosen"]
        check(ch and ch["job"] in [x["id"] for x in mine] and ch["criterion"] == ("agreement" if len(mine) > 1 else "single"),
              f"{what} k={k}: chosen is one of its jobs, with its criterion", ch)
        if ch:
            cj = jobs[ch["job"]]
            eq((ch["seed"], ch["model"]), (cj["seed"], cj["model"]), f"{what} k={k}: chosen seed and model")
        check(pk["consensus_acc"] is not None and 0 < pk["consensus_acc"] <= 1,
              f"{what} k={k}: consensus ACC", pk["consensus_acc"])


def test_flow(tmp):
    s = T.Server(tmp, "flow", "--workers", "1")
    rows, labels = blobs([100, 100, 100], 8, seed=2)
    dsid = dataset(s, rows, labels)
    body = {"dataset": dsid, "seeds": [1, 2], "n_clusters": {"min": 2, "max": 4},
            "job": {"method": "ae_kmeans", "autoencoder": {"hidden": [16, 4]},
                    "pretrain": {"epochs": 8, "batch_size": 32}, "cluster": {"n_init": 5}}}
    st, doc, resp, _ = s.req("POST", "/v1/studies", body)
    eq(st, 201, "create study")
    sid = (doc or {}).get("id", "")
    check(sid.startswith("std_"), "study id", sid)
    eq(resp.getheader("Location"), "/v1/studies/" + sid, "Location")
    eq((doc["seeds"], doc["n_clusters"], doc["method"]), ([1, 2], [2, 3, 4], "ae_kmeans"), "lists")
    eq(doc["shares_autoencoder"], True, "ae_kmeans shares one autoencoder per seed")
    eq(doc["progress"]["total"], 6, "6 jobs")
    check("seed" not in doc["job"] and "n_clusters" not in doc["job"] and
          doc["job"]["pretrain"]["epochs"] == 8, "template without seed/k, defaults filled", doc["job"])
    # the time left: once a job has finished and others wait, an estimate from it
    t0, mid = time.time(), None
    while time.time() - t0 < 60:
        d = s.req("GET", f"/v1/studies/{sid}")[1]
        p = d["progress"]
        if p["succeeded"] >= 1 and p["queued"] >= 1:
            mid = d
            break
        if p["queued"] == 0:
            break
        time.sleep(0.02)
    check(mid is not None and isinstance(mid["progress"]["eta_s"], (int, float)) and
          mid["progress"]["eta_s"] > 0, "eta_s > 0 while jobs wait, after one finished",
          mid and mid["progress"])
    doc = wait_study(s, sid)
    eq(doc["status"], "succeeded", "study succeeded")
    eq((doc["progress"]["done"], doc["progress"]["succeeded"], doc["progress"]["percent"],
        doc["progress"]["eta_s"]), (6, 6, 100, 0), "progress, nothing left")
    # one pretraining per seed
    for seed in (1, 2):
        mine = [j for j in doc["jobs"] if j["seed"] == seed]
        pre = [j for j in mine if j["ae_job"] is None]
        eq([j["n_clusters"] for j in pre], [2], f"seed {seed}: the first k pretrains")
        for j in mine:
            ph = phases(s, j["id"])
            if j["ae_job"] is None:
                eq(ph.count("pretrain"), 8, f"seed {seed}: the pretraining job has its 8 epochs")
            else:
                eq(j["ae_job"], pre[0]["id"], f"seed {seed} k {j['n_clusters']}: starts from the seed's autoencoder")
                eq(ph.count("pretrain"), 0, f"seed {seed} k {j['n_clusters']}: no pretraining rows")
                check("kmeans" in ph, "its clustering stage ran", ph)
    check_summary(s, doc, "ae_kmeans")
    # the labels the summary reads were kept when the jobs succeeded; without them it
    # predicts them with the models, to the same figures
    db = T.store.connect(s.db)
    ids = [j["id"] for j in doc["jobs"]]
    kept = db.execute("SELECT count(*) FROM job_results WHERE job_id IN (%s)" % ",".join("?" * 6),
                      ids).fetchone()[0]
    eq(kept, 6, "labels kept for every job")
    db.execute("DELETE FROM job_results")
    db.commit()
    db.close()
    again = s.req("GET", "/v1/studies/" + sid)[1]
    eq([p["stability"] for p in again["per_k"]], [p["stability"] for p in doc["per_k"]],
       "same stability from the models' labels")
    eq([p["consensus_acc"] for p in again["per_k"]], [p["consensus_acc"] for p in doc["per_k"]],
       "same consensus ACC from the models' labels")
    k3 = [p for p in doc["per_k"] if p["n_clusters"] == 3][0]
    check(k3["metrics"]["acc"]["mean"] > 0.95 and k3["consensus_acc"] > 0.95,
          "3 blobs at k=3: ACC and consensus ACC", (k3["metrics"]["acc"], k3["consensus_acc"]))
    eq((doc["suggestion"] or {}).get("n_clusters"), 3, "suggested k on 3 blobs")
    check(len((doc["suggestion"] or {}).get("reason", "")) > 20, "suggestion has a reason", doc["suggestion"])
    # dec: the dependants' clustering stage from the seed's autoencoder
    body2 = {"dataset": dsid, "seeds": [5], "n_clusters": [3, 4],
             "job": {"method": "dec", "autoencoder": {"hidden": [16, 4]},
                     "pretrain": {"epochs": 6, "batch_size": 32},
                     "cluster": {"n_init": 5, "maxiter": 60, "update_interval": 20}}}
    st, d2, _, _ = s.req("POST", "/v1/studies", body2)
    eq(st, 201, "create dec study")
    d2 = wait_study(s, d2["id"])
    eq(d2["status"], "succeeded", "dec study succeeded")
    for j in d2["jobs"]:
        ph = phases(s, j["id"])
        eq(ph.count("pretrain"), 6 if j["ae_job"] is None else 0,
           f"dec k {j['n_clusters']}: pretraining rows")
        check("cluster" in ph, f"dec k {j['n_clusters']}: self-training rows", sorted(set(ph)))
    check_summary(s, d2, "dec")
    # n2d: shares its autoencoder too; its mixture gives BIC and mean log-likelihood
    body3 = {"dataset": dsid, "seeds": [4], "n_clusters": [2, 3],
             "job": {"method": "n2d", "autoencoder": {"hidden": [16, 4]},
                     "pretrain": {"epochs": 5, "batch_size": 32},
                     "manifold": {"components": 3, "epochs": 50}, "mixture": {"n_init": 2}}}
    st, d3, _, _ = s.req("POST", "/v1/studies", body3)
    eq(st, 201, "create n2d study")
    d3 = wait_study(s, d3["id"])
    eq(d3["status"], "succeeded", "n2d study succeeded")
    for j in d3["jobs"]:
        eq(phases(s, j["id"]).count("pretrain"), 5 if j["ae_job"] is None else 0,
           f"n2d k {j['n_clusters']}: pretraining rows")
        check(j["criteria"]["bic"] is not None and j["criteria"]["mean_loglik"] is not None,
              f"n2d k {j['n_clusters']}: BIC and log-likelihood", j["criteria"])
    for pk in d3["per_k"]:
        job = [j for j in d3["jobs"] if j["n_clusters"] == pk["n_clusters"]][0]
        check(close(pk["metrics"]["bic"]["mean"], job["criteria"]["bic"]),
              "n2d: BIC in the summary", (pk["metrics"]["bic"], job["criteria"]))
    # listing
    st, lst, _, _ = s.req("GET", "/v1/studies?limit=1")
    eq((st, lst["total"], len(lst["items"]), lst.get("next_offset")), (200, 3, 1, 1), "list page 1")
    eq(lst["items"][0]["id"], d3["id"], "newest first")
    check("jobs" not in lst["items"][0], "listing without jobs")
    st, lst, _, _ = s.req("GET", "/v1/studies?limit=1&offset=2")
    eq((lst["items"][0]["id"], lst.get("next_offset")), (sid, None), "list page 3")
    st, doc, _, _ = s.req("POST", f"/v1/studies/{sid}/cancel")
    problem(st, doc, 409, "cancel a finished study")
    eq(s.stop(), 0, "exit code")


def test_known_k(tmp):
    s = T.Server(tmp, "known", "--workers", "1")
    for sizes, d, seed in (([120, 120, 120], 5, 3), ([60, 120, 240, 120], 10, 4),
                           ([100] * 6, 4, 5)):
        rows, labels = blobs(sizes, d, seed, box=10.0)
        dsid = dataset(s, rows, labels)
        st, doc, _, _ = s.req("POST", "/v1/studies", {
            "dataset": dsid, "seeds": [1, 2], "n_clusters": {"min": 2, "max": 9},
            "job": {"method": "kmeans", "cluster": {"n_init": 5}}})
        eq(st, 201, "create kmeans study")
        doc = wait_study(s, doc["id"])
        eq(doc["status"], "succeeded", "kmeans study")
        eq((doc["shares_autoencoder"], sum(j["pretrains"] for j in doc["jobs"])), (False, 0),
           "kmeans: no autoencoder to share, no job pretrains")
        sug = doc["suggestion"] or {}
        eq(sug.get("n_clusters"), len(sizes), f"suggested k for {len(sizes)} blobs (reason: {sug.get('reason')})")
        kk = [p for p in doc["per_k"] if p["n_clusters"] == len(sizes)][0]
        check(kk["stability"] > 0.99, "the true k is stable", kk["stability"])
    eq(s.stop(), 0, "exit code")


def test_cancel(tmp):
    s = T.Server(tmp, "cancel", "--workers", "1")
    rows, labels = blobs([100, 100], 8, seed=6)
    dsid = dataset(s, rows, labels)
    long = {"method": "ae_kmeans", "autoencoder": {"hidden": [64, 4]},
            "pretrain": {"epochs": 100000, "batch_size": 8}}
    st, doc, _, _ = s.req("POST", "/v1/studies", {"dataset": dsid, "seeds": [1, 2],
                                                  "n_clusters": [2, 3], "job": long})
    eq(st, 201, "create long study")
    sid = doc["id"]
    t0 = time.time()
    while time.time() - t0 < 20 and s.req("GET", f"/v1/studies/{sid}")[1]["progress"]["running"] == 0:
        time.sleep(0.1)
    eq(s.req("GET", f"/v1/studies/{sid}")[1]["progress"]["eta_s"], None,
       "no time left estimated before any job finished")
    st, doc, _, _ = s.req("DELETE", f"/v1/studies/{sid}")
    problem(st, doc, 409, "delete a running study")
    st, doc, _, _ = s.req("POST", f"/v1/studies/{sid}/cancel")
    eq(st, 202, "cancel study")
    eq(doc["progress"]["queued"], 0, "queued jobs cancelled at once")
    doc = wait_study(s, sid, timeout=10)
    eq((doc["status"], doc["progress"]["cancelled"]), ("cancelled", 4), "every job cancelled")
    check(time.time() - t0 < 15, "the running job stopped quickly")
    st, doc, _, _ = s.req("POST", f"/v1/studies/{sid}/cancel")
    problem(st, doc, 409, "cancel twice")
    ids = [j["id"] for j in s.req("GET", f"/v1/studies/{sid}")[1]["jobs"]]
    st, _, _, _ = s.req("DELETE", f"/v1/studies/{sid}")
    eq(st, 204, "delete the study")
    eq(s.req("GET", f"/v1/studies/{sid}")[0], 404, "study gone")
    eq([s.req("GET", "/v1/jobs/" + j)[0] for j in ids], [404] * 4, "its jobs gone")

    # the pretraining job cancelled alone: its dependants fail, saying why
    st, doc, _, _ = s.req("POST", "/v1/studies", {"dataset": dsid, "seeds": [3],
                                                  "n_clusters": [2, 3, 4], "job": long})
    sid = doc["id"]
    doc = s.req("GET", f"/v1/studies/{sid}")[1]
    pre = [j["id"] for j in doc["jobs"] if j["ae_job"] is None]
    eq(len(pre), 1, "one pretraining job")
    T.wait_job(s, pre[0], states=("running",), timeout=20)
    eq(s.req("POST", f"/v1/jobs/{pre[0]}/cancel")[0], 202, "cancel the pretraining job")
    doc = wait_study(s, sid, timeout=15)
    eq(doc["status"], "cancelled", "study ends")
    for j in doc["jobs"]:
        if j["ae_job"]:
            full = s.req("GET", "/v1/jobs/" + j["id"])[1]
            eq(full["status"], "failed", "dependant failed")
            check(pre[0] in (full["error"] or "") and "cancelled" in (full["error"] or ""),
                  "its error names the pretraining job and why", full["error"])
    eq(s.stop(), 0, "exit code")


def main():
    if not os.access(T.BIN, os.X_OK):
        print(f"no binary at {T.BIN} (set DC_BIN)", file=sys.stderr)
        return 1
    only = sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix="dc_std.") as tmp:
        for g in (test_validate, test_flow, test_known_k, test_cancel):
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
        fivexx = [line.strip() for log in T.LOGS for line in open(log)
                  if len(line.split()) >= 6 and line.split()[0].endswith("Z")
                  and line.split()[3].isdigit() and line.split()[3].startswith("5")]
        eq(fivexx, [], "no 5xx in the access logs")
    print(f"{T.PASS} passed, {T.FAIL} failed")
    return 1 if T.FAIL else 0


if __name__ == "__main__":
    sys.exit(main())
