#!/usr/bin/python3
"""Black-box tests of issue 13's scale, export and round-trip items over real HTTP.

Run by tests/test_svc_export.sh (ctest); standard library only; the server, data
generators and checks are tests/svc_api_test.py's. Env: DC_BIN. Groups:

  scale     ?scale=auto|none|div255|255|unit and ?shape= at upload: the recorded scale and
            range; refusals (unknown scale 400, shape whose product is not d 422 naming
            shape); a vae refused at submit on data outside [0, 1] (422 naming the range);
            a job spec naming its dataset by name (unique: its id is stored; ambiguous: 422
            listing the ids); uploads without a Content-Type (curl --data-binary) sniffed
  predict   a model keeps its preprocessing (GET /v1/models/{id}); 0..255 input to a
            model trained on [0, 1] gets a warning, 422 with strict=1; uint8 NPY bodies
            get the upload's /255; a unit model scales raw input by the recorded min-max;
            NPY and JSON bodies without a Content-Type
  export    CSV and NPY of every row (across several chunks) parse back to what the JSON
            pages say (labels, q), with the true labels, the embedding on request, the
            outlier column = the stored isolation-forest scores; Accept vs ?format=; 4xx cases
  bounded   a 14 MB CSV export grows the server's peak RSS by under 12 MB (streamed)
  download  the model file: `deepclust predict` on it gives the service's labels, and
            `deepclust generate` draws from a vae trained in the service
  paths     error replies never show the database's or an upload's path
"""
import http.client
import json
import math
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import svc_api_test as t  # noqa: E402
from svc_api_test import (Server, blobs, check, eq, npy_f32, npy_i32, problem,  # noqa: E402
                          upload, wait_job)

BIN = t.BIN


def idx_clusters(n, h, w, k, seed):
    """n uint8 images of k noisy patterns (IDX3 bytes) and their labels."""
    rnd = random.Random(seed)
    pats = [[rnd.randrange(256) for _ in range(h * w)] for _ in range(k)]
    px, labels = bytearray(), []
    for i in range(n):
        c = i % k
        px += bytes(min(255, max(0, v + rnd.randint(-12, 12))) for v in pats[c])
        labels.append(c)
    return struct.pack(">BBBBIII", 0, 0, 8, 3, n, h, w) + bytes(px), labels, px


def npy_u8(rows):
    n, d = len(rows), len(rows[0])
    header = "{'descr': '|u1', 'fortran_order': False, 'shape': (%d, %d), }" % (n, d)
    header += " " * (63 - (len(header) + 10) % 64) + "\n"
    return (b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() +
            bytes(v for r in rows for v in r))


def parse_npy(b):
    """(shape, flat float list) of a little-endian f4/i4 NPY."""
    check(b[:6] == b"\x93NUMPY", "NPY magic", b[:6])
    hl = struct.unpack("<H", b[8:10])[0]
    hdr = b[10:10 + hl].decode()
    check((10 + hl) % 64 == 0, "NPY data aligned to 64 bytes", 10 + hl)
    shape = tuple(int(v) for v in hdr.split("(")[1].split(")")[0].split(",") if v.strip())
    code = "f" if "<f4" in hdr else "i"
    cnt = 1
    for v in shape:
        cnt *= v
    return shape, list(struct.unpack("<%d%s" % (cnt, code), b[10 + hl:10 + hl + 4 * cnt])), hdr


def raw_req(s, method, path, body, headers):
    """A request exactly as given: no Content-Type unless in headers."""
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)
    c.putrequest(method, path, skip_accept_encoding=True)
    for k, v in headers.items():
        c.putheader(k, v)
    c.putheader("Content-Length", str(len(body)))
    c.endheaders()
    c.send(body)
    r = c.getresponse()
    data = r.read()
    c.close()
    doc = json.loads(data) if "json" in r.getheader("Content-Type", "") else None
    return r.status, doc, r, data


def all_pages(s, jid):
    labels, q, off = [], [], 0
    while True:
        st, pg, _, _ = s.req("GET", f"/v1/jobs/{jid}/assignments?offset={off}&limit=10000")
        if st != 200:
            check(False, "JSON page", st)
            return labels, q
        labels += pg["labels"]
        q += pg["q"]
        if "next_offset" not in pg:
            return labels, q
        off = pg["next_offset"]


def run_job(s, spec, what, timeout=120):
    st, job, _, _ = s.req("POST", "/v1/jobs", spec)
    if not eq(st, 202, what + " accepted"):
        print(job, file=sys.stderr)
        return None
    job = wait_job(s, job["id"], timeout=timeout)
    eq(job["status"], "succeeded", what + " succeeded (%s)" % job.get("error"))
    return job


# ---- groups -------------------------------------------------------------------------------

def test_scale(tmp):
    s = Server(tmp, "scale", "--workers", "0")
    idx, labels, px = idx_clusters(60, 4, 4, 3, seed=1)
    st, auto, _, _ = upload(s, idx)
    eq(st, 201, "IDX upload")
    eq((auto["scale"], auto["preprocess"]["mode"]), ("div255", "auto"), "auto on uint8 is div255")
    eq(auto["range"], {"min": min(px) / 255, "max": max(px) / 255}, "range of the stored values")
    st, none, _, _ = upload(s, idx, query="?scale=none")
    eq((st, none["scale"]), (201, "none"), "scale=none")
    eq(none["range"], {"min": min(px), "max": max(px)}, "range without scaling")
    for q in ("?scale=div255", "?scale=255"):
        st, d, _, _ = upload(s, npy_f32([[0, 51], [255, 102]]), query=q)
        eq((st, d["scale"], d["range"]), (201, "div255", {"min": 0, "max": 1}), q + ": /255 of floats")
    rows, _ = blobs(50, 3, 2, seed=2)
    lo, hi = min(min(r) for r in rows), max(max(r) for r in rows)
    st, unit, _, _ = upload(s, npy_f32(rows), query="?scale=unit")
    eq((st, unit["scale"], unit["range"]), (201, "unit", {"min": 0, "max": 1}), "scale=unit")
    f32 = lambda v: struct.unpack("<f", struct.pack("<f", v))[0]  # noqa: E731
    check(abs(unit["preprocess"]["shift"] - f32(lo)) < 1e-6 and
          abs(unit["preprocess"]["factor"] * (f32(hi) - f32(lo)) - 1) < 1e-6,
          "unit records the min and max used", unit["preprocess"], (lo, hi))
    st, doc, _, _ = upload(s, idx, query="?scale=bogus")
    problem(st, doc, 400, "unknown scale", field="scale", contains="unit")

    # ?shape= reshapes flat samples; a product other than d is 422 naming shape
    st, d, _, _ = upload(s, npy_f32([[float(i) for i in range(6)]] * 4), query="?shape=2,3")
    eq((st, d["shape"]), (201, [2, 3]), "shape=2,3 on d=6")
    st, d, _, _ = upload(s, npy_f32([[float(i) for i in range(12)]] * 4), query="?shape=2,2,3")
    eq((st, d["shape"]), (201, [2, 2, 3]), "shape=2,2,3 on d=12")
    st, doc, _, _ = upload(s, npy_f32([[1.0] * 6] * 4), query="?shape=4,4")
    problem(st, doc, 422, "shape product != d", field="shape", contains="16 values")
    for bad in ("abc", "0,3", "4", "1,2,3,4", "2,-3"):
        st, doc, _, _ = upload(s, npy_f32([[1.0] * 6] * 4), query="?shape=" + bad)
        problem(st, doc, 400, "shape=" + bad, field="shape")

    # a vae cannot model data outside [0, 1]: refused when it is submitted
    base = {"method": "vae", "n_clusters": 3, "vae": {"latent": 2, "epochs": 1}}
    st, doc, _, _ = s.req("POST", "/v1/jobs", {**base, "dataset": none["id"]})
    problem(st, doc, 422, "vae on 0..255 data", field="method", contains="[%g, %g]" % (min(px), max(px)))
    st, job, _, _ = s.req("POST", "/v1/jobs", {**base, "dataset": auto["id"]})
    eq(st, 202, "vae on the same images scaled to [0, 1]")
    st, job, _, _ = s.req("POST", "/v1/jobs", {**base, "dataset": unit["id"]})
    eq(st, 202, "vae on unit-scaled blobs")

    # datasets by name
    st, named, _, _ = upload(s, npy_f32(rows), query="?name=only-one")
    st, job, _, _ = s.req("POST", "/v1/jobs", {"dataset": "only-one", "method": "kmeans", "n_clusters": 2})
    eq(st, 202, "job naming its dataset by name")
    eq((job["dataset"], job["spec"]["dataset"]), (named["id"], named["id"]), "the id is stored")
    st, twin1, _, _ = upload(s, npy_f32(rows), query="?name=twin")
    st, twin2, _, _ = upload(s, npy_f32(rows), query="?name=twin")
    st, doc, _, _ = s.req("POST", "/v1/jobs", {"dataset": "twin", "method": "kmeans", "n_clusters": 2})
    problem(st, doc, 422, "ambiguous name", field="dataset", contains=twin1["id"])
    check(twin2["id"] in doc.get("detail", ""), "both ids listed", doc.get("detail"))
    st, doc, _, _ = s.req("POST", "/v1/jobs", {"dataset": "nobody", "method": "kmeans", "n_clusters": 2})
    problem(st, doc, 422, "unknown dataset name", field="dataset", contains="nobody")

    # curl --data-binary @file sends application/x-www-form-urlencoded (or nothing)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for what, body, fmt in (("IDX", idx, "idx"), ("gzip IDX", __import__("gzip").compress(idx), "idx.gz"),
                            ("NPY", npy_f32(rows), "npy"), ("CSV", b"1,2\n3,4\n", "csv")):
        for h in (form, {}):
            st, d, _, _ = raw_req(s, "POST", "/v1/datasets", body, h)
            eq((st, (d or {}).get("format")), (201, fmt), f"{what} upload with {h or 'no Content-Type'}")
    st, doc, _, _ = raw_req(s, "POST", "/v1/datasets", b"\x01\x02\x03binary", form)
    problem(st, doc, 415, "unrecognisable bytes", contains="not IDX")
    st, doc, _, _ = raw_req(s, "POST", "/v1/datasets", b'{"a": 1}', form)
    problem(st, doc, 415, "JSON is no dataset")
    st, job, _, _ = raw_req(s, "POST", "/v1/jobs", json.dumps(
        {"dataset": named["id"], "method": "kmeans", "n_clusters": 2}).encode(), form)
    eq(st, 202, "job spec sent by curl -d without -H")
    eq(s.stop(), 0, "exit code")


def test_predict(tmp):
    s = Server(tmp, "predict", "--workers", "1")
    idx, labels, px = idx_clusters(150, 4, 4, 3, seed=3)
    ds = upload(s, idx)[1]
    job = run_job(s, {"dataset": ds["id"], "method": "kmeans", "n_clusters": 3, "seed": 1,
                      "cluster": {"n_init": 3}}, "kmeans on images")
    mid = job["model"]
    st, m, _, _ = s.req("GET", "/v1/models/" + mid)
    eq(st, 200, "get model")
    eq((m["preprocess"]["scale"], m["preprocess"]["mode"], m["preprocess"]["range"]),
       ("div255", "auto", ds["range"]), "the model keeps its training data's preprocessing")
    raw = [list(px[i * 16:(i + 1) * 16]) for i in range(12)]
    unit_rows = [[v / 255 for v in r] for r in raw]
    st, p01, _, _ = s.req("POST", f"/v1/models/{mid}/predict", {"samples": unit_rows})
    eq((st, p01["warnings"]), (200, []), "[0, 1] input: no warnings")
    labels_json, _ = all_pages(s, job["id"])
    eq(p01["labels"], labels_json[:12], "predict = assignments")
    st, p255, _, _ = s.req("POST", f"/v1/models/{mid}/predict", {"samples": raw})
    eq(st, 200, "0..255 input answered")
    check(len(p255["warnings"]) == 1 and "far outside" in p255["warnings"][0]
          and "divide by 255" in p255["warnings"][0], "0..255 input to a [0, 1] model warns",
          p255["warnings"])
    st, doc, _, _ = s.req("POST", f"/v1/models/{mid}/predict?strict=1", {"samples": raw})
    problem(st, doc, 422, "strict=1 refuses it", field="samples", contains="far outside")
    st, doc, _, _ = s.req("POST", f"/v1/models/{mid}/predict?strict=1", {"samples": unit_rows})
    eq((st, doc["warnings"]), (200, []), "strict=1 with good input")
    st, doc, _, _ = s.req("POST", f"/v1/models/{mid}/predict?strict=maybe", {"samples": unit_rows})
    problem(st, doc, 400, "strict=maybe", field="strict")
    # a binary float32 body with the same values
    st, pb, _, _ = s.req("POST", f"/v1/models/{mid}/predict", body=t.f32(raw),
                         headers={"Content-Type": "application/octet-stream", "X-Shape": "12,16"})
    eq((st, len(pb["warnings"])), (200, 1), "float32 body 0..255: a warning too")

    # NPY bodies: uint8 gets the upload's / 255 (auto), float32 is taken as scaled
    st, pu8, _, _ = s.req("POST", f"/v1/models/{mid}/predict", body=npy_u8(raw),
                          headers={"Content-Type": "application/x-npy"})
    eq((st, pu8["warnings"], pu8["labels"]), (200, [], p01["labels"]), "uint8 NPY body")
    for h in ({}, {"Content-Type": "application/x-www-form-urlencoded"}):
        st, pn, _, _ = raw_req(s, "POST", f"/v1/models/{mid}/predict", npy_f32(unit_rows), h)
        eq((st, (pn or {}).get("labels")), (200, p01["labels"]), f"float32 NPY sniffed ({h})")
        st, pj, _, _ = raw_req(s, "POST", f"/v1/models/{mid}/predict",
                               json.dumps({"samples": unit_rows}).encode(), h)
        eq((st, (pj or {}).get("labels")), (200, p01["labels"]), f"JSON sniffed ({h})")
    st, doc, _, _ = s.req("POST", f"/v1/models/{mid}/predict", body=npy_f32(unit_rows)[:-4],
                          headers={"Content-Type": "application/x-npy"})
    problem(st, doc, 400, "truncated NPY body", field="body", contains="NPY")
    st, doc, _, _ = s.req("POST", f"/v1/models/{mid}/predict", body=npy_f32([[0.5] * 5]),
                          headers={"Content-Type": "application/x-npy"})
    problem(st, doc, 422, "NPY body of the wrong d", contains="16 features")

    # a unit model: predict takes values in the upload's units and scales them the same way
    rows, _ = blobs(120, 3, 3, seed=5)
    dsu = upload(s, npy_f32(rows), query="?scale=unit")[1]
    ju = run_job(s, {"dataset": dsu["id"], "method": "kmeans", "n_clusters": 3, "seed": 1},
                 "kmeans on unit-scaled blobs")
    st, pu, _, _ = s.req("POST", f"/v1/models/{ju['model']}/predict", {"samples": rows[:20]})
    eq((st, pu["warnings"]), (200, []), "raw input to a unit model: scaled, no warning")
    eq(pu["labels"], all_pages(s, ju["id"])[0][:20], "unit model: predict = assignments")
    st, pw, _, _ = s.req("POST", f"/v1/models/{ju['model']}/predict",
                         {"samples": [[v * 100 for v in r] for r in rows[:3]]})
    eq(len(pw["warnings"]), 1, "100x the range: a warning")
    eq(s.stop(), 0, "exit code")


def test_export(tmp):
    s = Server(tmp, "export", "--workers", "1")
    n = 9000  # over two chunks of 4096 rows
    rows, labels = blobs(n, 4, 3, seed=6)
    ds = upload(s, npy_f32(rows))[1]
    st, _, _, _ = s.req("PUT", f"/v1/datasets/{ds['id']}/labels", body=npy_i32(labels),
                        headers={"Content-Type": "application/octet-stream"})
    job = run_job(s, {"dataset": ds["id"], "method": "kmeans", "n_clusters": 3, "seed": 1,
                      "cluster": {"n_init": 2}}, "kmeans for the export")
    jid = job["id"]
    lab_json, q_json = all_pages(s, jid)
    eq(len(lab_json), n, "JSON pages cover every row")

    st, _, resp, body = s.req("GET", f"/v1/jobs/{jid}/assignments?format=csv")
    eq((st, resp.getheader("Content-Type")), (200, "text/csv; charset=utf-8"), "CSV reply")
    check('filename="%s-assignments.csv"' % jid in resp.getheader("Content-Disposition", ""),
          "CSV Content-Disposition", resp.getheader("Content-Disposition"))
    lines = body.decode().splitlines()
    eq(lines[0], "index,label,q0,q1,q2,true_label,outlier", "CSV header line")
    eq(len(lines) - 1, n, "CSV: every row")
    # the outlier column is the isolation-forest score the job stored (its /outliers list)
    st, top, _, _ = s.req("GET", f"/v1/jobs/{jid}/outliers?n=1000&by=iforest")
    eq(st, 200, "the job's outliers")
    top = {o["index"]: o["iforest"] for o in top["samples"]}
    ok_lab = ok_q = ok_truth = ok_out = True
    out_csv = []
    for i, line in enumerate(lines[1:]):
        f = line.split(",")
        ok_lab &= int(f[0]) == i and int(f[1]) == lab_json[i]
        ok_q &= all(abs(float(f[2 + j]) - q_json[i][j]) < 1e-6 for j in range(3))
        ok_truth &= int(f[5]) == labels[i]
        out_csv.append(float(f[6]))
        ok_out &= 0 < out_csv[-1] <= 1
    check(ok_lab, "CSV index and labels = the JSON pages")
    check(ok_q, "CSV q = the JSON pages")
    check(ok_truth, "CSV true_label = the uploaded labels")
    check(ok_out, "CSV outlier: a score in (0, 1] on every row")
    check(len(top) == 1000 and all(abs(out_csv[i] - v) < 1e-6 for i, v in top.items()),
          "CSV outlier = the stored isolation-forest scores (/outliers)")

    st, _, resp, body = s.req("GET", f"/v1/jobs/{jid}/assignments",
                              headers={"Accept": "application/x-npy"})
    eq((st, resp.getheader("Content-Type")), (200, "application/x-npy"), "NPY by Accept")
    eq(resp.getheader("Deepclust-Columns"), "index,label,q0..q2,true_label,outlier", "column names")
    eq(int(resp.getheader("Content-Length")), len(body), "NPY Content-Length")
    shape, vals, _ = parse_npy(body)
    eq(shape, (n, 7), "NPY shape (n, 2 + k + 2)")
    check(all(vals[i * 7] == i and vals[i * 7 + 1] == lab_json[i] and vals[i * 7 + 5] == labels[i]
              and abs(vals[i * 7 + 6] - out_csv[i]) < 1e-6 for i in range(n)),
          "NPY index, label, true_label, outlier = the CSV's")
    check(all(abs(vals[i * 7 + 2 + j] - q_json[i][j]) < 1e-6 for i in range(n) for j in range(3)),
          "NPY q = the JSON pages")
    # embedding=1: kmeans embeds the sample itself
    st, _, resp, body = s.req("GET", f"/v1/jobs/{jid}/assignments?format=npy&embedding=1",
                              headers={"Accept": "text/csv"})
    shape, vals, _ = parse_npy(body)
    eq((st, shape), (200, (n, 11)), "format wins over Accept; z columns added")
    eq(resp.getheader("Deepclust-Columns"), "index,label,q0..q2,z0..z3,true_label,outlier", "columns with z")
    f32 = [struct.unpack("<4f", struct.pack("<4f", *r)) for r in rows]
    check(all(tuple(vals[i * 11 + 5:i * 11 + 9]) == f32[i] for i in range(n)), "z = the samples (kmeans)")
    st, _, resp, body = s.req("GET", f"/v1/jobs/{jid}/assignments?embedding=1",
                              headers={"Accept": "text/csv"})
    eq(body.decode().splitlines()[0], "index,label,q0,q1,q2,z0,z1,z2,z3,true_label,outlier",
       "CSV by Accept, with z")
    # the JSON page with embedding=1: the same page plus the embedding rows
    st, pg, _, _ = s.req("GET", f"/v1/jobs/{jid}/assignments?embedding=1&offset=3000&limit=5000")
    eq((st, pg["offset"], pg["limit"], pg.get("next_offset"), len(pg["labels"])),
       (200, 3000, 5000, 8000, 5000), "JSON page with embedding=1 (over two chunks)")
    eq(pg["labels"], lab_json[3000:8000], "JSON embedding page: labels")
    check(all(abs(a - b) < 1e-6 for r1, r2 in zip(pg["q"], q_json[3000:8000]) for a, b in zip(r1, r2)),
          "JSON embedding page: q")
    check(all(abs(a - b) <= 1e-6 * max(1, abs(b)) for i in range(5000)
              for a, b in zip(pg["embeddings"][i], f32[3000 + i])), "JSON embedding page: z (9 digits)")
    st, pg, _, _ = s.req("GET", f"/v1/jobs/{jid}/assignments?embedding=1&offset=8990")
    eq((st, len(pg["embeddings"]), "next_offset" in pg), (200, 10, False), "last JSON embedding page")
    # a dataset without labels: true_label empty / NaN
    ds2 = upload(s, npy_f32(rows[:50]))[1]
    j2 = run_job(s, {"dataset": ds2["id"], "method": "kmeans", "n_clusters": 3, "seed": 1}, "kmeans, no labels")
    body = s.req("GET", f"/v1/jobs/{j2['id']}/assignments?format=csv")[3].decode().splitlines()
    check(all(l.split(",")[5] == "" and 0 < float(l.split(",")[6]) <= 1 for l in body[1:])
          and len(body) == 51, "no labels: empty true_label, an outlier score", body[:2])

    for q, field in (("format=xml", "format"), ("format=csv&embedding=2", "embedding"),
                     ("format=csv&offset=10", "offset"), ("embedding=1&limit=0", "limit"),
                     ("embedding=1&offset=-1", "offset")):
        st, doc, _, _ = s.req("GET", f"/v1/jobs/{jid}/assignments?{q}")
        problem(st, doc, 400, q, field=field)
    st, doc, _, _ = s.req("GET", "/v1/jobs/job_nope/assignments?format=csv")
    problem(st, doc, 404, "export of an unknown job")
    rows3, _ = blobs(30, 2, 2, seed=7)
    ds3 = upload(s, npy_f32(rows3))[1]
    st, j3, _, _ = s.req("POST", "/v1/jobs", {"dataset": ds3["id"], "method": "dec", "n_clusters": 2,
                                              "pretrain": {"epochs": 100000}})
    st, doc, _, _ = s.req("GET", f"/v1/jobs/{j3['id']}/assignments?format=npy")
    problem(st, doc, 409, "export before the job succeeded", contains="no model")
    s.req("POST", f"/v1/jobs/{j3['id']}/cancel", body=b"")
    eq(s.stop(), 0, "exit code")


def hwm_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return None


def test_bounded(tmp):
    """A CSV export of 300,000 x 16 (14 MB of text; 19 MB of samples) streams: the
    server's peak RSS grows by far less than the data (the chunk, not the whole)."""
    if "ASAN_OPTIONS" in os.environ:  # AddressSanitizer keeps freed memory aside (256 MB by
        # default), so RSS would count what the export allocated and freed: keep 1 MB
        os.environ["ASAN_OPTIONS"] += ":quarantine_size_mb=1:thread_local_quarantine_size_kb=64"
        print("bounded: under ASan, quarantine limited to 1 MB for this server", file=sys.stderr)
    s = Server(tmp, "bounded", "--workers", "1")
    import array
    n, d = 300000, 16
    rnd = random.Random(10)
    a = array.array("f", (rnd.random() + (i // d) % 3 for i in range(n * d)))
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (n, d)
    header += " " * (63 - (len(header) + 10) % 64) + "\n"
    body = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + a.tobytes()
    ds = upload(s, body)[1]
    job = run_job(s, {"dataset": ds["id"], "method": "kmeans", "n_clusters": 3, "seed": 1,
                      "cluster": {"n_init": 1}}, "kmeans on 300,000 rows")
    try:
        with open(f"/proc/{s.proc.pid}/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
    except OSError as ex:
        print(f"bounded: cannot reset the peak RSS ({ex}); memory not checked", file=sys.stderr)
        eq(s.stop(), 0, "exit code")
        return
    before = hwm_kb(s.proc.pid)
    st, _, resp, csv = s.req("GET", f"/v1/jobs/{job['id']}/assignments?format=csv", timeout=120)
    grown = hwm_kb(s.proc.pid) - before
    eq((st, csv.count(b"\n")), (200, n + 1), "CSV of every row")
    check(len(csv) > 13 << 20, "the CSV (over 13 MB) is larger than the bound", len(csv))
    check(grown < 12 << 10, "peak RSS grew by less than 12 MB during the export", f"{grown} kB")
    print(f"bounded: CSV {len(csv) >> 20} MB, peak RSS +{grown} kB", file=sys.stderr)
    eq(s.stop(), 0, "exit code")


def test_download(tmp):
    s = Server(tmp, "download", "--workers", "1")
    rows, labels = blobs(200, 6, 3, seed=8)
    rows = [[min(1.0, max(0.0, (v + 8) / 16)) for v in r] for r in rows]
    data = os.path.join(tmp, "x.npy")
    with open(data, "wb") as f:
        f.write(npy_f32(rows))
    ds = upload(s, npy_f32(rows))[1]
    # the file is streamed 256 KiB at a time: ae_kmeans 6-256-256-3 (about 1.1 MB, with
    # its checksum) comes in several pieces, which must join up in order
    for spec, what in (({"method": "kmeans", "cluster": {"n_init": 2}}, "kmeans"),
                       ({"method": "ae_kmeans", "autoencoder": {"hidden": [256, 256]},
                         "pretrain": {"epochs": 1}}, "ae_kmeans"),
                       ({"method": "vae", "autoencoder": {"hidden": [16]}, "pretrain": {"epochs": 2},
                         "vae": {"latent": 3, "epochs": 2}}, "vae")):
        job = run_job(s, {"dataset": ds["id"], "n_clusters": 3, "seed": 1, **spec}, what)
        if not job:
            continue
        mid = job["model"]
        st, _, resp, blob = s.req("GET", f"/v1/models/{mid}/download")
        eq((st, resp.getheader("Content-Type")), (200, "application/octet-stream"), what + " download")
        check(f'filename="{mid}.bin"' in resp.getheader("Content-Disposition", ""),
              what + " Content-Disposition", resp.getheader("Content-Disposition"))
        st, m, _, _ = s.req("GET", "/v1/models/" + mid)
        eq(len(blob), m["size_bytes"], what + ": the file is the stored model")
        eq(resp.getheader("Deepclust-Preprocess", "").split("; ")[0], "scale=none",
           what + ": Deepclust-Preprocess names the scaling")
        mf = os.path.join(tmp, what + ".bin")
        with open(mf, "wb") as f:
            f.write(blob)
        out, lab = os.path.join(tmp, what + "_q.npy"), os.path.join(tmp, what + "_l.npy")
        r = subprocess.run([BIN, "predict", "--model", mf, "--data", data, "--out", out,
                            "--labels-out", lab], capture_output=True, text=True)
        eq(r.returncode, 0, what + ": deepclust predict on the downloaded file (%s)" % r.stderr)
        if r.returncode == 0:
            shape, cli_labels, _ = parse_npy(open(lab, "rb").read())
            st, p, _, _ = s.req("POST", f"/v1/models/{mid}/predict", {"samples": rows})
            eq(cli_labels, p["labels"], what + ": the CLI's labels = the service's")
        if what == "vae":
            g = os.path.join(tmp, "gen.npy")
            r = subprocess.run([BIN, "generate", "--model", mf, "--cluster", "1", "-n", "5",
                                "--npy", g], capture_output=True, text=True)
            eq(r.returncode, 0, "deepclust generate on the downloaded vae (%s)" % r.stderr)
            if r.returncode == 0:
                shape, vals, _ = parse_npy(open(g, "rb").read())
                eq(shape, (5, 6), "generated (n, d)")
                check(all(0 <= v <= 1 for v in vals), "generated values in [0, 1]")
    st, doc, _, _ = s.req("GET", "/v1/models/mdl_nope/download")
    problem(st, doc, 404, "download of an unknown model")
    eq(s.stop(), 0, "exit code")


def test_paths(tmp):
    """No error reply shows where the server keeps its files."""
    s = Server(tmp, "paths", "--workers", "0")
    idx, _, _ = idx_clusters(10, 4, 4, 2, seed=9)
    rows, _ = blobs(10, 3, 2, seed=9)
    ds = upload(s, npy_f32(rows))[1]
    replies = [
        upload(s, idx[:-7]),                                        # truncated IDX
        upload(s, __import__("gzip").compress(idx)[:-9], "application/gzip"),  # truncated gzip
        upload(s, npy_f32(rows)[:-3], "application/x-npy"),          # truncated NPY
        upload(s, b"1,2\n3,x\n", "text/csv"),                       # bad CSV
        upload(s, npy_i32([1, 2, 3])),                              # a label vector
        s.req("PUT", f"/v1/datasets/{ds['id']}/labels", body=npy_i32([1, 2]),
              headers={"Content-Type": "application/octet-stream"}),
        s.req("PUT", f"/v1/datasets/{ds['id']}/labels", body=b"\x00\x00\x08\x01\x00",
              headers={"Content-Type": "application/octet-stream"}),
        raw_req(s, "POST", "/v1/datasets", b"\x01\x02", {}),
    ]
    for i, (st, doc, _, _) in enumerate(replies):
        detail = (doc or {}).get("detail", "")
        check(400 <= st < 500, f"reply {i} is a 4xx", st)
        check(tmp not in detail and "/tmp" not in detail and ".db" not in detail,
              f"reply {i} shows no server path", detail)
    eq(s.stop(), 0, "exit code")


def main():
    if not os.access(BIN, os.X_OK):
        print(f"no binary at {BIN} (set DC_BIN)", file=sys.stderr)
        return 1
    only = sys.argv[1:]
    groups = [test_scale, test_predict, test_export, test_bounded, test_download, test_paths]
    with tempfile.TemporaryDirectory(prefix="dc_export.") as tmp:
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
        fivexx = [line.strip() for log in t.LOGS for line in open(log)
                  if len(line.split()) >= 6 and line.split()[0].endswith("Z")
                  and line.split()[3].startswith("5")]
        eq(fivexx, [], "no 5xx in the access logs")
        san = [line.strip() for log in t.LOGS for line in open(log)
               if "Sanitizer" in line or "runtime error:" in line]
        eq(san, [], "no sanitizer reports in the server logs")
    print(f"{t.PASS} passed, {t.FAIL} failed")
    return 1 if t.FAIL else 0


if __name__ == "__main__":
    sys.exit(main())
