#!/usr/bin/python3
"""Black-box tests of the picture and outlier routes (issue 13, items 1, 2 and 7) over real
HTTP on loopback: /v1/jobs/{id}/confusion, samples, reconstructions, embedding, outliers,
/v1/models/{id}/generate and predict ?outliers=1.

Run by tests/test_svc_pictures.sh (ctest); standard library only. Env: DC_BIN.

  images    8x8 images in [0, 1] of three prototypes with labels: kmeans, ae_kmeans, vae
            and n2d jobs; every route as JSON (shapes, consistency with /assignments and the
            dataset's labels, the confusion matrix against the job's ACC and a brute-force
            best matching) and as PNG (signature, IHDR width and height from the request);
            generate as PNG and NPY (header parsed, values in [0, 1]); results computed on
            request for a job that has no stored row (as before migration 0002) are the
            stored ones; a deleted model leaves the stored pictures but not reconstructions
  outliers  10 Gaussian blobs in 16-D without labels plus 1% far points: the isolation
            forest ranks the planted points at the top (recall >= 0.9 in the top 1%), and
            predict ?outliers=1 scores new far points above new blob points
  errors    404 unknown job or model, 409 a job not succeeded, 422 no labels, flat samples
            without ?shape=, a shape that does not make d, a non-vae generate, cluster out
            of range, n out of range, reconstructions of kmeans; 400 bad syntax
  timing    (only when DC_MNIST names a folder with the MNIST training set) a kmeans
            job on its 60,000 images: the end-of-job computation time from the log, and
            each picture route's response time, printed (asserted only to be under 5 s)
and no 5xx in any access log, nor a sanitizer report (under make test-asan).
"""
import gzip
import itertools
import json
import math
import os
import random
import re
import struct
import sys
import tempfile
import time
import traceback
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from svc_api_test import (Server, check, eq, npy_f32, npy_i32, problem, upload,  # noqa: E402
                          wait_job, LOGS)
import svc_api_test as base  # noqa: E402

PAD = 1


# ---- helpers --------------------------------------------------------------------------

def png_size(data):
    """(width, height, colour type) from a PNG's IHDR, or None when it is not a PNG."""
    if len(data) < 33 or data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    w, h, depth, ctype = struct.unpack(">IIBB", data[16:26])
    crc = struct.unpack(">I", data[29:33])[0]
    if zlib.crc32(data[12:29]) & 0xffffffff != crc:
        return None
    return w, h, ctype


def grid_size(rows, cols, h, w):
    return cols * w + (cols + 1) * PAD, rows * h + (rows + 1) * PAD


def heatmap_size(rows, cols):
    """plot_heatmap's canvas for the cell routes_pictures.c picks."""
    cell = max(4, min(32, 512 // max(rows, cols)))
    s = 2 if cell >= 16 else 1
    left = len(str(rows - 1)) * 4 * s + 4 * s
    top = 5 * s + 4 * s
    return left + cols * cell + 1, top + rows * cell + 1


def get(s, path, accept=None):
    h = {"Accept": accept} if accept else {}
    st, doc, resp, data = s.req("GET", path, headers=h)
    return st, doc, resp, data


def expect_png(s, path, size, what, accept=None):
    st, _, resp, data = get(s, path, accept)
    ok = eq(st, 200, what + " status")
    ok &= eq(resp.getheader("Content-Type"), "image/png", what + " content type")
    got = png_size(data)
    ok &= check(got is not None, what + ": a PNG with a valid IHDR", data[:40])
    if got:
        ok &= eq(got[:2], size, what + " width x height")
    return ok


def parse_npy(data):
    """(descr, shape, values) of a version-1 NPY file of little-endian float32."""
    assert data[:8] == b"\x93NUMPY\x01\x00", data[:8]
    hl = struct.unpack("<H", data[8:10])[0]
    header = data[10:10 + hl].decode()
    assert (10 + hl) % 64 == 0, "header padded to 64 bytes"
    descr = re.search(r"'descr': '([^']*)'", header).group(1)
    shape = tuple(int(v) for v in re.search(r"'shape': \(([^)]*)\)", header).group(1).split(",")
                  if v.strip())
    body = data[10 + hl:]
    n = len(body) // 4
    return descr, shape, struct.unpack("<%df" % n, body), len(body)


def prototypes_8x8(n, seed):
    """n 8x8 images in [0, 1]: three prototypes (a bar, a cross, a frame) plus noise."""
    rnd = random.Random(seed)
    protos = []
    for p in range(3):
        img = []
        for y in range(8):
            for x in range(8):
                on = (p == 0 and 3 <= x <= 4) or (p == 1 and (x == y or x == 7 - y)) or \
                     (p == 2 and (x in (0, 7) or y in (0, 7)))
                img.append(0.9 if on else 0.1)
        protos.append(img)
    rows, labels = [], []
    for i in range(n):
        c = i % 3
        rows.append([min(1.0, max(0.0, v + rnd.gauss(0, 0.08))) for v in protos[c]])
        labels.append(c)
    return rows, labels


def npy_f32_3d(rows, h, w):
    n = len(rows)
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d, %d), }" % (n, h, w)
    header += " " * (63 - (len(header) + 10) % 64) + "\n"
    body = struct.pack("<%df" % (n * h * w), *[v for r in rows for v in r])
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + body


def job(s, spec, timeout=120):
    st, j, _, _ = s.req("POST", "/v1/jobs", spec)
    eq(st, 202, "create %s job" % spec["method"])
    j = wait_job(s, j["id"], timeout=timeout)
    eq(j["status"], "succeeded", "%s job succeeded (error: %s)" % (spec["method"], j.get("error")))
    return j


def assignments(s, jid, n):
    labels = []
    while len(labels) < n:
        st, a, _, _ = s.req("GET", f"/v1/jobs/{jid}/assignments?offset={len(labels)}&limit=10000")
        eq(st, 200, "assignments page")
        labels += a["labels"]
    return labels


# ---- groups ---------------------------------------------------------------------------

def test_images(tmp):
    s = Server(tmp, "images", "--workers", "1")
    N = 600
    rows, labels = prototypes_8x8(N, seed=5)
    st, ds, _, _ = upload(s, npy_f32_3d(rows, 8, 8), query="?name=protos")
    eq((st, ds["shape"]), (201, [8, 8]), "upload 8x8 images")
    st, _, _, _ = s.req("PUT", f"/v1/datasets/{ds['id']}/labels", body=npy_i32(labels),
                        headers={"Content-Type": "application/octet-stream"})
    eq(st, 200, "labels")
    km = job(s, {"dataset": ds["id"], "method": "kmeans", "n_clusters": 3, "seed": 1,
                 "cluster": {"n_init": 3}})
    ae = job(s, {"dataset": ds["id"], "method": "ae_kmeans", "n_clusters": 3, "seed": 2,
                 "autoencoder": {"hidden": [32, 4]},
                 "pretrain": {"epochs": 2, "batch_size": 32},
                 "cluster": {"n_init": 2}})
    va = job(s, {"dataset": ds["id"], "method": "vae", "n_clusters": 3, "seed": 3,
                 "autoencoder": {"hidden": [32]}, "pretrain": {"epochs": 1, "batch_size": 32},
                 "cluster": {"n_init": 2}, "vae": {"latent": 4, "epochs": 2}})
    n2 = job(s, {"dataset": ds["id"], "method": "n2d", "n_clusters": 3, "seed": 4,
                 "autoencoder": {"hidden": [32, 4]}, "pretrain": {"epochs": 2, "batch_size": 32},
                 "manifold": {"components": 3, "neighbors": 10, "epochs": 30}})
    log = open(s.log).read()
    check(re.search(r"job %s: results of 600 samples in [0-9.]+ s" % km["id"], log),
          "the worker computed the results at the end of the job")

    for j in (km, ae, va, n2):
        jid, tag = j["id"], j["method"]
        truth_assign = assignments(s, jid, N)

        # confusion: counts sum to n, rows are the clusters, ACC = the job's, and the
        # mapping is a best one-to-one matching
        st, c, _, _ = get(s, f"/v1/jobs/{jid}/confusion")
        eq(st, 200, tag + " confusion")
        eq((c["job"], c["k"], c["n_classes"], c["classes"], len(c["matrix"]), len(c["mapping"])),
           (jid, 3, 3, [0, 1, 2], 3, 3), tag + " confusion shape")
        eq(sum(map(sum, c["matrix"])), N, tag + " confusion counts sum to n")
        eq([sum(r) for r in c["matrix"]], [truth_assign.count(i) for i in range(3)],
           tag + " confusion rows = cluster sizes of /assignments")
        eq([sum(c["matrix"][i][j] for i in range(3)) for j in range(3)],
           [labels.count(j) for j in range(3)], tag + " confusion columns = class sizes")
        matched = sum(c["matrix"][i][c["mapping"][i]] for i in range(3) if c["mapping"][i] >= 0)
        check(abs(c["acc"] - matched / N) < 1e-9, tag + " acc = matched / n", c["acc"], matched / N)
        check(abs(c["acc"] - j["metrics"]["acc"]) < 1e-6, tag + " confusion acc = the job's ACC",
              c["acc"], j["metrics"]["acc"])
        best = max(sum(c["matrix"][i][p[i]] for i in range(3)) for p in itertools.permutations(range(3)))
        eq(matched, best, tag + " the mapping is a best matching")
        eq(sorted(c["mapping"]), [0, 1, 2], tag + " mapping is one-to-one")
        expect_png(s, f"/v1/jobs/{jid}/confusion?format=png", heatmap_size(3, 3),
                   tag + " confusion PNG (?format=png)")
        expect_png(s, f"/v1/jobs/{jid}/confusion", heatmap_size(3, 3),
                   tag + " confusion PNG (Accept)", accept="image/png")
        st, c2, _, _ = get(s, f"/v1/jobs/{jid}/confusion?format=json", accept="image/png")
        eq((st, c2 and c2.get("k")), (200, 3), tag + " ?format=json wins over Accept")

        # samples: the most confident members of each cluster, q descending
        st, p, _, _ = get(s, f"/v1/jobs/{jid}/samples?n=5")
        eq(st, 200, tag + " samples")
        eq((p["k"], p["order"], len(p["clusters"])), (3, "confident", 3), tag + " samples shape")
        eq(sum(cl["size"] for cl in p["clusters"]), N, tag + " cluster sizes sum to n")
        for cl in p["clusters"]:
            qs = [x["q"] for x in cl["samples"]]
            eq(len(qs), min(5, cl["size"]), tag + " n samples per cluster")
            check(qs == sorted(qs, reverse=True), tag + " confident: q descending", qs)
            check(all(truth_assign[x["index"]] == cl["cluster"] for x in cl["samples"]),
                  tag + " samples belong to their cluster")
            check(all(0 < q <= 1.0 + 1e-6 for q in qs), tag + " q in (0, 1]", qs)
        st, p1, _, _ = get(s, f"/v1/jobs/{jid}/samples?cluster=1&n=7&order=random&seed=9")
        eq((st, len(p1["clusters"]), p1["clusters"][0]["cluster"], p1["order"]),
           (200, 1, 1, "random"), tag + " one cluster, random")
        idx = [x["index"] for x in p1["clusters"][0]["samples"]]
        eq(len(set(idx)), len(idx), tag + " random samples are distinct")
        st, p2, _, _ = get(s, f"/v1/jobs/{jid}/samples?cluster=all&n=7&order=random&seed=9")
        eq([x["index"] for x in p2["clusters"][1]["samples"]], idx,
           tag + " a cluster's random draw is the same alone or with all")
        st, p3, _, _ = get(s, f"/v1/jobs/{jid}/samples?cluster=1&n=7&order=random&seed=10")
        check([x["index"] for x in p3["clusters"][0]["samples"]] != idx,
              tag + " another seed, another draw")
        expect_png(s, f"/v1/jobs/{jid}/samples?n=5&format=png", grid_size(3, 5, 8, 8),
                   tag + " samples PNG: one row per cluster")
        expect_png(s, f"/v1/jobs/{jid}/samples?cluster=2&n=7&format=png", grid_size(3, 3, 8, 8),
                   tag + " samples PNG of one cluster: a square grid")
        expect_png(s, f"/v1/jobs/{jid}/samples?cluster=0&n=4&shape=4,16&format=png",
                   grid_size(2, 2, 4, 16), tag + " samples PNG with ?shape=")

        # embedding: points evenly across clusters, their clusters and labels
        st, m, _, _ = get(s, f"/v1/jobs/{jid}/embedding?n=60")
        eq(st, 200, tag + " embedding")
        eq((m["source"], m["k"], len(m["points"]), len(m["centroids"])),
           ("manifold" if tag == "n2d" else "pca", 3, 60, 3), tag + " embedding shape")
        per = [sum(1 for q in m["points"] if q["cluster"] == c) for c in range(3)]
        sizes = [truth_assign.count(c) for c in range(3)]
        check(all(per[c] == min(sizes[c], per[c]) for c in range(3)) and
              max(per[c] for c in range(3) if sizes[c] > 20) -
              min(per[c] for c in range(3) if sizes[c] > 20) <= 1,
              tag + " points spread evenly over the clusters", per)
        check(all(q["cluster"] == truth_assign[q["index"]] and q["label"] == labels[q["index"]]
                  for q in m["points"]), tag + " points carry their cluster and label")
        eq(len({q["index"] for q in m["points"]}), 60, tag + " points are distinct samples")
        check(all(isinstance(q["x"], float) and isinstance(q["y"], float) for q in m["points"]),
              tag + " coordinates are numbers")
        st, mall, _, _ = get(s, f"/v1/jobs/{jid}/embedding?n=5000")
        eq(len(mall["points"]), N, tag + " at most n points")
        eq([q["index"] for q in mall["points"][:60]], [q["index"] for q in m["points"]],
           tag + " a smaller map is a prefix of a larger")
        expect_png(s, f"/v1/jobs/{jid}/embedding?format=png", (480, 480), tag + " embedding PNG")

        # outliers
        st, o, _, _ = get(s, f"/v1/jobs/{jid}/outliers?n=12")
        eq(st, 200, tag + " outliers")
        eq((o["by"], len(o["samples"])), ("iforest", 12), tag + " outliers shape")
        sc = [x["iforest"] for x in o["samples"]]
        check(sc == sorted(sc, reverse=True) and all(0 < v <= 1 for v in sc),
              tag + " iforest scores in (0, 1], most atypical first", sc)
        check(all(x["cluster"] == truth_assign[x["index"]] and x["label"] == labels[x["index"]]
                  for x in o["samples"]), tag + " outliers carry cluster and label")
        st, oc, _, _ = get(s, f"/v1/jobs/{jid}/outliers?n=12&by=confidence")
        cs = [x["confidence"] for x in oc["samples"]]
        check(cs == sorted(cs, reverse=True) and all(0 <= v < 1 for v in cs),
              tag + " by confidence: 1 - max q descending", cs)
        if tag == "kmeans":
            check(all(x["reconstruction"] is None for x in o["samples"]),
                  "kmeans: reconstruction null")
        else:
            st, orr, _, _ = get(s, f"/v1/jobs/{jid}/outliers?n=12&by=reconstruction")
            rs = [x["reconstruction"] for x in orr["samples"]]
            check(st == 200 and rs == sorted(rs, reverse=True) and all(v >= 0 for v in rs),
                  tag + " by reconstruction: MSE descending", rs)
        expect_png(s, f"/v1/jobs/{jid}/outliers?n=10&format=png", grid_size(3, 4, 8, 8),
                   tag + " outliers PNG")

        # reconstructions
        if tag == "kmeans":
            st, doc, _, _ = get(s, f"/v1/jobs/{jid}/reconstructions")
            problem(st, doc, 422, "kmeans reconstructions", contains="decoder")
            st, doc, _, _ = get(s, f"/v1/jobs/{jid}/outliers?by=reconstruction")
            problem(st, doc, 422, "kmeans outliers by reconstruction", contains="decoder")
        else:
            st, rc, _, _ = get(s, f"/v1/jobs/{jid}/reconstructions?n=6&seed=4")
            eq((st, len(rc["samples"])), (200, 6), tag + " reconstructions")
            errs = [x["error"] for x in rc["samples"]]
            check(all(0 <= v < 1 for v in errs), tag + " reconstruction MSE in [0, 1)", errs)
            eq(len({x["index"] for x in rc["samples"]}), 6, tag + " distinct samples")
            st, orr, _, _ = get(s, f"/v1/jobs/{jid}/outliers?n={N}&by=reconstruction")
            stored = {x["index"]: x["reconstruction"] for x in orr["samples"]}
            check(all(abs(stored[x["index"]] - x["error"]) <= 1e-5 + 1e-3 * x["error"]
                      for x in rc["samples"]),
                  tag + " the error shown = the stored reconstruction error",
                  [(stored[x["index"]], x["error"]) for x in rc["samples"]])
            expect_png(s, f"/v1/jobs/{jid}/reconstructions?n=6&format=png", grid_size(2, 6, 8, 8),
                       tag + " reconstructions PNG: originals above reconstructions")

    # generate: vae only
    st, g, _, _ = get(s, f"/v1/models/{va['model']}/generate?cluster=1&n=3&seed=2")
    eq(st, 200, "vae generate JSON")
    eq((g["model"], g["k"], g["n"], g["d"], len(g["clusters"]), g["clusters"][0]["cluster"],
        len(g["clusters"][0]["samples"]), len(g["clusters"][0]["samples"][0])),
       (va["model"], 3, 3, 64, 1, 1, 3, 64), "generate JSON shape")
    check(all(0 <= v <= 1 for smp in g["clusters"][0]["samples"] for v in smp),
          "generated values in [0, 1]")
    st, g2, _, _ = get(s, f"/v1/models/{va['model']}/generate?cluster=1&n=3&seed=2")
    eq(g2, g, "generation is seeded")
    st, _, resp, data = get(s, f"/v1/models/{va['model']}/generate?n=4&format=npy")
    eq((st, resp.getheader("Content-Type")), (200, "application/x-npy"), "generate NPY")
    descr, shape, vals, blen = parse_npy(data)
    eq((descr, shape, blen), ("<f4", (12, 64), 12 * 64 * 4), "NPY header: float32 (k*n, d)")
    check(all(0 <= v <= 1 for v in vals), "NPY values in [0, 1]")
    st, _, resp, data2 = get(s, f"/v1/models/{va['model']}/generate?n=4", accept="application/x-npy")
    eq((st, data2), (200, data), "NPY by Accept, same seed, same bytes")
    st, gall, _, _ = get(s, f"/v1/models/{va['model']}/generate?n=4")
    eq([c["cluster"] for c in gall["clusters"]], [0, 1, 2], "cluster=all: every cluster")
    check(all(abs(a - b) < 1e-6 for a, b in zip(vals[:4 * 64], sum(gall["clusters"][0]["samples"], []))),
          "NPY rows = the JSON samples")
    expect_png(s, f"/v1/models/{va['model']}/generate?n=4&format=png", grid_size(3, 4, 8, 8),
               "generate PNG: one row per cluster")
    expect_png(s, f"/v1/models/{va['model']}/generate?cluster=0&n=9&format=png",
               grid_size(3, 3, 8, 8), "generate PNG of one cluster")
    st, doc, _, _ = get(s, f"/v1/models/{km['model']}/generate")
    problem(st, doc, 422, "generate with a kmeans model", contains="vae")
    st, doc, _, _ = get(s, f"/v1/models/{ae['model']}/generate?format=png")
    problem(st, doc, 422, "generate with an ae_kmeans model", contains="vae")
    st, doc, _, _ = get(s, f"/v1/models/{va['model']}/generate?cluster=3")
    problem(st, doc, 422, "generate: cluster out of range", contains="out of range")
    st, doc, _, _ = get(s, "/v1/models/mdl_nope/generate")
    problem(st, doc, 404, "generate: unknown model")

    # predict ?outliers=1 gives the stored scores for training samples (same forest)
    st, pr, _, _ = s.req("POST", f"/v1/models/{ae['model']}/predict?outliers=1",
                         {"samples": rows[:5]})
    eq((st, len(pr.get("outliers", []))), (200, 5), "predict ?outliers=1")
    st, oall, _, _ = get(s, f"/v1/jobs/{ae['id']}/outliers?n={N}")
    stored = {x["index"]: x for x in oall["samples"]}
    for i in range(5):
        got, want = pr["outliers"][i], stored[i]
        check(abs(got["iforest"] - want["iforest"]) < 1e-3 and
              abs(got["confidence"] - want["confidence"]) < 1e-3 and
              abs(got["reconstruction"] - want["reconstruction"]) < 1e-4,
              "predict's outlier scores of a training sample = the stored ones", got, want)
    st, pr, _, _ = s.req("POST", f"/v1/models/{ae['model']}/predict", {"samples": rows[:2]})
    check(st == 200 and "outliers" not in pr, "no outliers unless asked")

    # results computed on request for a job without a stored row (as before migration 0002)
    st, before, _, _ = get(s, f"/v1/jobs/{ae['id']}/outliers?n=30")
    st, mbefore, _, _ = get(s, f"/v1/jobs/{ae['id']}/embedding?n=100")
    db = base.store.connect(s.db)
    db.execute("DELETE FROM job_results WHERE job_id = ?", (ae["id"],))
    db.commit()
    eq(db.execute("SELECT COUNT(*) FROM job_results WHERE job_id = ?", (ae["id"],)).fetchone()[0],
       0, "results row removed")
    st, after, _, _ = get(s, f"/v1/jobs/{ae['id']}/outliers?n=30")
    eq(st, 200, "outliers of a job without stored results")
    eq([x["index"] for x in after["samples"]], [x["index"] for x in before["samples"]],
       "results computed on request = the stored ones (outliers)")
    check(all(abs(a["iforest"] - b["iforest"]) < 1e-6 for a, b in zip(after["samples"], before["samples"])),
          "same iforest scores")
    st, mafter, _, _ = get(s, f"/v1/jobs/{ae['id']}/embedding?n=100")
    eq([q["index"] for q in mafter["points"]], [q["index"] for q in mbefore["points"]],
       "same map samples")
    eq(db.execute("SELECT COUNT(*) FROM job_results WHERE job_id = ?", (ae["id"],)).fetchone()[0],
       1, "the computed results were stored")
    db.close()
    check("results computed on request" in open(s.log).read(), "the log says so")

    # a deleted model: the stored pictures stay, reconstructions need the model
    st, _, _, _ = s.req("DELETE", f"/v1/models/{ae['model']}")
    eq(st, 204, "delete the ae_kmeans model")
    st, o, _, _ = get(s, f"/v1/jobs/{ae['id']}/outliers?n=3")
    eq(st, 200, "outliers after the model was deleted")
    st, doc, _, _ = get(s, f"/v1/jobs/{ae['id']}/reconstructions")
    problem(st, doc, 409, "reconstructions without the model", contains="model")
    # deleting the job deletes its results (ON DELETE CASCADE)
    st, _, _, _ = s.req("DELETE", f"/v1/jobs/{ae['id']}")
    eq(st, 204, "delete the ae_kmeans job")
    db = base.store.connect(s.db)
    eq(db.execute("SELECT COUNT(*) FROM job_results WHERE job_id = ?", (ae["id"],)).fetchone()[0],
       0, "the job's results went with it")
    db.close()
    st, doc, _, _ = get(s, f"/v1/jobs/{ae['id']}/outliers")
    problem(st, doc, 404, "outliers of a deleted job")
    return s, ds, km


def test_outliers(tmp):
    """10 Gaussian blobs in 16-D, 2,000 samples, plus 20 (1%) points far out."""
    s = Server(tmp, "outliers", "--workers", "1")
    rnd = random.Random(11)
    d, k = 16, 10
    centers = [[rnd.uniform(-5, 5) for _ in range(d)] for _ in range(k)]
    rows = [[centers[i % k][j] + rnd.gauss(0, 0.5) for j in range(d)] for i in range(2000)]

    def far():
        v = [rnd.gauss(0, 1) for _ in range(d)]
        r = math.sqrt(sum(x * x for x in v))
        return [x / r * rnd.uniform(25, 40) for x in v]
    planted = set()
    for _ in range(20):
        at = rnd.randrange(len(rows) + 1)
        rows.insert(at, far())
    planted = {i for i, r in enumerate(rows) if math.sqrt(sum(x * x for x in r)) > 24}
    eq(len(planted), 20, "20 planted outliers")
    n = len(rows)
    st, ds, _, _ = upload(s, npy_f32(rows), query="?name=blobs")
    eq((st, ds["shape"], ds["has_labels"]), (201, [d], False), "upload flat blobs without labels")
    km = job(s, {"dataset": ds["id"], "method": "kmeans", "n_clusters": k, "seed": 4,
                 "cluster": {"n_init": 3}})
    top = n // 100
    st, o, _, _ = get(s, f"/v1/jobs/{km['id']}/outliers?n={top}")
    eq((st, len(o["samples"])), (200, top), "top 1% by iforest")
    found = {x["index"] for x in o["samples"]} & planted
    check(len(found) / len(planted) >= 0.9, "planted outliers: recall >= 0.9 in the top 1%",
          len(found) / len(planted), ">= 0.9")
    print(f"outliers: {len(found)} of {len(planted)} planted points in the top {top} by iforest")
    check(all(x["label"] is None for x in o["samples"]), "no labels: label null")
    # new samples: far points score above blob points
    new_far = [far() for _ in range(5)]
    new_in = [[centers[i][j] + rnd.gauss(0, 0.5) for j in range(d)] for i in range(5)]
    st, pr, _, _ = s.req("POST", f"/v1/models/{km['model']}/predict?outliers=true",
                         {"samples": new_far + new_in})
    eq(st, 200, "predict ?outliers=true")
    sc = [x["iforest"] for x in pr["outliers"]]
    check(min(sc[:5]) > max(sc[5:]), "new far points score above new blob points", sc)
    check(all(x["reconstruction"] is None for x in pr["outliers"]), "kmeans: reconstruction null")

    # errors that need this job: flat samples, no labels
    jid = km["id"]
    st, doc, _, _ = get(s, f"/v1/jobs/{jid}/confusion")
    problem(st, doc, 422, "confusion without labels", contains="labels")
    st, doc, _, _ = get(s, f"/v1/jobs/{jid}/samples?format=png")
    problem(st, doc, 422, "samples PNG of flat data without a shape", contains="shape")
    st, doc, _, _ = get(s, f"/v1/jobs/{jid}/outliers", accept="image/png")
    problem(st, doc, 422, "outliers PNG of flat data without a shape", contains="shape")
    expect_png(s, f"/v1/jobs/{jid}/samples?cluster=0&n=4&shape=4,4&format=png",
               grid_size(2, 2, 4, 4), "flat data with ?shape=4,4")
    st, doc, _, _ = get(s, f"/v1/jobs/{jid}/samples?shape=5,5&format=png")
    problem(st, doc, 422, "a shape that does not make d", contains="16")
    st, doc, _, _ = get(s, f"/v1/jobs/{jid}/samples?n=3")
    eq(st, 200, "samples JSON of flat data needs no shape")
    st, m, _, _ = get(s, f"/v1/jobs/{jid}/embedding?n=100")
    eq((st, len(m["points"]), m["source"]), (200, 100, "pca"), "embedding of flat data")
    per = [sum(1 for q in m["points"] if q["cluster"] == c) for c in range(k)]
    eq(per, [10] * k, "100 points: 10 from each of 10 clusters")
    return s, km


def test_errors(tmp, s, km_images):
    jid = km_images["id"]
    for path in ("confusion", "samples", "reconstructions", "embedding", "outliers"):
        st, doc, _, _ = get(s, f"/v1/jobs/job_nope/{path}")
        problem(st, doc, 404, f"{path}: unknown job")
    cases = [
        ("samples?n=0", 422, "n"), ("samples?n=65", 422, "n"), ("samples?n=abc", 400, "n"),
        ("samples?cluster=3", 422, None), ("samples?cluster=-1", 422, "cluster"),
        ("samples?cluster=x", 400, "cluster"), ("samples?order=best", 400, "order"),
        ("samples?seed=-4", 400, "seed"), ("samples?shape=8x8", 400, "shape"),
        ("samples?shape=8,8,2", 400, "shape"), ("samples?format=gif", 400, "format"),
        ("samples?colour=red", 400, "colour"), ("embedding?n=9", 422, "n"),
        ("embedding?n=5001", 422, "n"), ("outliers?n=1001", 422, "n"),
        ("outliers?by=distance", 400, "by"), ("reconstructions?n=0", 422, "n"),
        ("confusion?format=npy", 400, "format"),
        ("samples?shape=4,4&format=png", 422, None),
    ]
    for q, status, field in cases:
        st, doc, _, _ = get(s, f"/v1/jobs/{jid}/{q}")
        problem(st, doc, status, q, field=field)
    # a job that has not succeeded: 409 while running, and once cancelled
    st, ds, _, _ = s.req("GET", f"/v1/datasets/{km_images['dataset']}")
    spec = {"dataset": ds["id"], "method": "dec", "n_clusters": 3, "seed": 1,
            "autoencoder": {"hidden": [64, 64, 8]}, "pretrain": {"epochs": 2000, "batch_size": 8}}
    st, j, _, _ = s.req("POST", "/v1/jobs", spec)
    eq(st, 202, "a long job")
    wait_job(s, j["id"], states=("running",), timeout=30)
    for path in ("confusion", "samples", "embedding", "outliers", "reconstructions"):
        st, doc, _, _ = get(s, f"/v1/jobs/{j['id']}/{path}")
        problem(st, doc, 409, f"{path} of a running job", contains="running")
    s.req("POST", f"/v1/jobs/{j['id']}/cancel", body=b"")
    wait_job(s, j["id"], timeout=30)
    st, doc, _, _ = get(s, f"/v1/jobs/{j['id']}/outliers")
    problem(st, doc, 409, "outliers of a cancelled job", contains="cancelled")


def test_timing(tmp):
    # a measurement on demand, not part of the test: DC_MNIST=<folder with MNIST's gz IDX>
    src = os.environ.get("DC_MNIST", "")
    images = os.path.join(src, "train-images-idx3-ubyte.gz")
    if not src or not os.path.exists(images):
        print("timing: not measured (set DC_MNIST to a folder with MNIST's training set)")
        return
    s = Server(tmp, "timing", "--workers", "1")
    st, ds, _, _ = upload(s, open(images, "rb").read(), "application/gzip", "?name=mnist")
    eq((st, ds["n"], ds["shape"]), (201, 60000, [28, 28]), "upload MNIST")
    st, _, _, _ = s.req("PUT", f"/v1/datasets/{ds['id']}/labels",
                        body=open(os.path.join(src, "train-labels-idx1-ubyte.gz"), "rb").read(),
                        headers={"Content-Type": "application/gzip"})
    eq(st, 200, "MNIST labels")
    t0 = time.time()
    j = job(s, {"dataset": ds["id"], "method": "kmeans", "n_clusters": 10, "seed": 1,
                "cluster": {"n_init": 1, "kmeans_max_iter": 20}}, timeout=300)
    m = re.search(r"job %s: results of 60000 samples in ([0-9.]+) s" % j["id"], open(s.log).read())
    print("timing: kmeans job on 60,000 x 784 in %.1f s; its results computed in %s s" %
          (time.time() - t0, m.group(1) if m else "?"))
    check(m is not None, "the log gives the results' computation time")
    jid = j["id"]
    for q in ("confusion", "confusion?format=png", "samples?n=10", "samples?n=10&format=png",
              "samples?n=64&order=random&format=png", "embedding", "embedding?format=png",
              "outliers?n=100", "outliers?n=100&format=png", "outliers?n=20&by=confidence"):
        t = time.time()
        st, _, _, data = get(s, f"/v1/jobs/{jid}/{q}")
        dt = time.time() - t
        print("timing: GET /v1/jobs/{id}/%-40s %3d %8d bytes %6.3f s" % (q, st, len(data), dt))
        eq(st, 200, "timing " + q)
        check(dt < 5, "timing %s answers within 5 s" % q, dt)
    s.stop()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        servers = []
        try:
            s, ds, km = test_images(tmp)
            servers.append(s)
            s2, _ = test_outliers(tmp)
            servers.append(s2)
            test_errors(tmp, s, km)
            test_timing(tmp)
        except Exception:
            traceback.print_exc()
            base.FAIL += 1
        finally:
            for srv in servers:
                srv.stop()
        # the access-log lines are "... METHOD PATH STATUS BYTES MSms"
        fivexx = [line.strip() for log in LOGS for line in open(log)
                  if len(line.split()) >= 6 and line.split()[0].endswith("Z") and
                  line.split()[3].isdigit() and line.split()[3].startswith("5")]
        eq(fivexx, [], "no 5xx in the access logs")
        san = [line.strip() for log in LOGS for line in open(log)
               if "Sanitizer" in line or "runtime error:" in line]
        eq(san, [], "no sanitizer reports in the server logs")
        if base.FAIL:
            for log in LOGS:
                print("---- %s (tail)" % log, file=sys.stderr)
                print("".join(open(log).readlines()[-30:]), file=sys.stderr)
    print("svc_pictures_test: %d passed, %d failed" % (base.PASS, base.FAIL))
    return 1 if base.FAIL else 0


if __name__ == "__main__":
    sys.exit(main())
