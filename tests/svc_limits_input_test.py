#!/usr/bin/python3
"""Black-box tests of input hardening (issue 17) over real HTTP on loopback.

Run by tests/test_svc_limits_input.sh (ctest); standard library only; the helpers
(Server, problem, eq, check, data generators) are tests/svc_api_test.py's. Env: DC_BIN.
One server with one worker, a small dataset (n = 30, d = 4) and a k-means model:

  query     every route of the table (from `deepclust routes --json`) refuses an unknown
            parameter, a misspelling of each parameter it takes, a repeated one and one
            without a value: 400 problem+json naming it in `field`, and nothing done
            (no dataset created or deleted, no job cancelled); the misspellings of the
            issue; bad values list the allowed ones; good parameters still work
  paging    offset / limit / since at and beyond their bounds (-1, 0, the maximum,
            maximum + 1, 2^31 - 1, INT64_MAX, INT64_MAX + 1) on every list route;
            next_offset is right
  predict   binary shapes from X-Shape and ?n=&d=: the issue's wrapping shape
            (2^62 + 1, 4) with a 16-byte body, n*d just above SIZE_MAX/4, n*d*4 == 2^64
            with an empty body, INT64_MAX, beyond INT64_MAX, negative, zero; JSON bodies
  upload    NPY / IDX headers whose n x d x size wraps or is out of range, label files
            likewise, label_column and name at their bounds: 400, nothing stored
  jobspec   job spec sizes: n_clusters, widths, batch, latent at 0, -1, 2^31, INT64_MAX,
            beyond; an autoencoder too large for memory is 422 naming autoencoder.hidden
and after each group the server still answers /healthz; over all of them, no 5xx in the
access log and no sanitizer report.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import svc_api_test as T  # noqa: E402
from svc_api_test import Server, blobs, check, eq, f32, npy_f32, npy_i32, problem, upload  # noqa: E402

INT64_MAX = 2**63 - 1
OFFSET_MAX = 1000000000  # SVC_OFFSET_MAX
OCTET = {"Content-Type": "application/octet-stream"}


def alive(s, what):
    st, doc, _, _ = s.req("GET", "/healthz")
    eq(st, 200, f"server alive after {what}")
    check(s.proc.poll() is None, f"server process still running after {what}")


def misspell(name):
    """A plausible typo: two neighbouring letters swapped, or the last one dropped."""
    if len(name) >= 3 and name[1] != name[2]:
        return name[0] + name[2] + name[1] + name[3:]
    return name[:-1] if len(name) >= 3 else name + "x"


def setup(s):
    rows, labels = blobs(30, 4, 3, seed=5)
    st, ds, _, _ = upload(s, npy_f32(rows), query="?name=limits")
    eq(st, 201, "upload the dataset")
    st, job, _, _ = s.req("POST", "/v1/jobs", {"dataset": ds["id"], "method": "kmeans",
                                               "n_clusters": 3})
    eq(st, 202, "create a kmeans job")
    job = T.wait_job(s, job["id"])
    eq(job["status"], "succeeded", "kmeans job")
    # a second job, so that the job list has two rows to page through
    st, job2, _, _ = s.req("POST", "/v1/jobs", {"dataset": ds["id"], "method": "kmeans",
                                                "n_clusters": 2, "seed": 2})
    T.wait_job(s, job2["id"])
    return {"ds": ds["id"], "job": job["id"], "model": job["model"], "rows": rows,
            "labels": labels}


def fill(pattern, ids):
    return (pattern.replace("/datasets/{id}", "/datasets/" + ids["ds"])
            .replace("/jobs/{id}", "/jobs/" + ids["job"])
            .replace("/models/{id}", "/models/" + ids["model"]))


def body_for(method, pattern, ids):
    """A body the route would accept, so that only the query can be wrong."""
    if pattern == "/v1/datasets" and method == "POST":
        return npy_f32(ids["rows"]), OCTET
    if pattern.endswith("/labels"):
        return npy_i32(ids["labels"]), OCTET
    if pattern == "/v1/jobs" and method == "POST":
        return json.dumps({"dataset": ids["ds"], "method": "kmeans", "n_clusters": 2}).encode(), \
            {"Content-Type": "application/json"}
    if pattern.endswith("/predict"):
        return json.dumps({"samples": [ids["rows"][0]]}).encode(), {"Content-Type": "application/json"}
    return None, {}


def group_query(s, ids):
    out = subprocess.run([T.BIN, "routes", "--json"], capture_output=True, text=True)
    eq(out.returncode, 0, "deepclust routes --json")
    table = json.loads(out.stdout)
    check(len(table) >= 15, "route table read", len(table))
    n_ds = s.req("GET", "/v1/datasets")[1]["total"]
    n_jobs = s.req("GET", "/v1/jobs")[1]["total"]
    for r in table:
        m, p = r["method"], fill(r["pattern"], ids)
        what = f"{m} {r['pattern']}"
        body, hdrs = body_for(m, r["pattern"], ids)
        bads = [("bogus_param", "1"), ("x", "")] + [(misspell(q), "1") for q in r["query"]]
        for name, value in bads:
            st, doc, _, _ = s.req(m, f"{p}?{name}={value}", body=body, headers=hdrs)
            problem(st, doc, 400, f"{what} ?{name}=", field=name, contains=f"'{name}'")
        for q in r["query"]:
            st, doc, _, _ = s.req(m, f"{p}?{q}=1&{q}=2", body=body, headers=hdrs)
            problem(st, doc, 400, f"{what} ?{q} twice", field=q, contains="more than once")
            st, doc, _, _ = s.req(m, f"{p}?{q}", body=body, headers=hdrs)
            problem(st, doc, 400, f"{what} ?{q} without a value", field=q, contains="no value")
    # nothing was done by the refused requests
    eq(s.req("GET", "/v1/datasets")[1]["total"], n_ds, "refused uploads/deletes changed nothing")
    eq(s.req("GET", "/v1/jobs")[1]["total"], n_jobs, "refused job creations changed nothing")
    eq(s.req("GET", "/v1/datasets/" + ids["ds"])[0], 200, "the dataset is still there")
    eq(s.req("GET", "/v1/jobs/" + ids["job"])[1]["status"], "succeeded", "the job is unchanged")

    # the requests of the issue
    st, doc, _, _ = upload(s, npy_f32(ids["rows"]), query="?name=x&lable_column=-1")
    problem(st, doc, 400, "POST /v1/datasets?lable_column", field="lable_column",
            contains="did you mean 'label_column'")
    for q in ["stauts=running", "dataset=" + ids["ds"], "method=kmeans", "sort=created_at"]:
        st, doc, _, _ = s.req("GET", "/v1/jobs?" + q)
        problem(st, doc, 400, "GET /v1/jobs?" + q, field=q.split("=")[0])
    for q in ["limt=1", "format=csv"]:
        st, doc, _, _ = s.req("GET", "/v1/datasets?" + q)
        problem(st, doc, 400, "GET /v1/datasets?" + q, field=q.split("=")[0])
    eq(s.req("GET", "/v1/datasets")[1]["total"], n_ds, "the misspelt upload stored nothing")

    # bad values name the allowed ones; good ones still work
    st, doc, _, _ = s.req("GET", "/v1/jobs?status=runnin")
    problem(st, doc, 400, "unknown status value", field="status",
            contains="queued, running, succeeded, failed, cancelled")
    st, doc, _, _ = upload(s, npy_f32(ids["rows"]), query="?scale=1")
    problem(st, doc, 400, "unknown scale value", field="scale", contains="auto, none, 255")
    st, doc, _, _ = s.req("POST", f"/v1/models/{ids['model']}/predict?embeddings=yes",
                          {"samples": [ids["rows"][0]]})
    problem(st, doc, 400, "unknown embeddings value", field="embeddings", contains="true")
    st, doc, _, _ = s.req("GET", "/v1/jobs?status=succeeded&limit=1&offset=0")
    eq(st, 200, "declared parameters still work")
    eq(len(doc["items"]), 1, "one job on the page")
    st, doc, _, _ = s.req("POST", f"/v1/models/{ids['model']}/predict?embeddings=true",
                          {"samples": [ids["rows"][0]]})
    eq(st, 200, "predict ?embeddings=true with a JSON body")
    check("embeddings" in (doc or {}), "the query's embeddings=true is honoured", doc)
    st, doc, _, _ = s.req("POST", f"/v1/models/{ids['model']}/predict?embeddings=1",
                          {"samples": [ids["rows"][0]], "embeddings": False})
    eq(st, 200, "predict ?embeddings=1 with embeddings false in the body")
    check("embeddings" not in (doc or {}), "the body's embeddings wins", doc)
    alive(s, "query checks")


def group_paging(s, ids):
    lists = [("/v1/datasets", "offset", "limit", 1000),
             ("/v1/jobs", "offset", "limit", 1000),
             (f"/v1/jobs/{ids['job']}/assignments", "offset", "limit", 10000),
             (f"/v1/jobs/{ids['job']}/iterations", None, "limit", 1000)]
    for path, off, lim, lim_max in lists:
        if off:
            for v, want in [(-1, 400), (0, 200), (OFFSET_MAX, 200), (OFFSET_MAX + 1, 400),
                            (2**31 - 1, 400), (INT64_MAX, 400), (INT64_MAX + 1, 400),
                            ("abc", 400), ("", 400), ("1e3", 400), ("%205", 400), ("5%00", 400)]:
                st, doc, _, _ = s.req("GET", f"{path}?{off}={v}")
                if want == 200:
                    eq(st, 200, f"{path}?{off}={v}")
                    if v == OFFSET_MAX:
                        eq(doc.get("next_offset"), None, f"{path}?{off}={v}: no next_offset")
                        key = "labels" if "assignments" in path else "items"
                        eq(doc.get(key), [], f"{path}?{off}={v}: empty page")
                else:
                    problem(st, doc, 400, f"{path}?{off}={v!r}", field=off)
        for v, want in [(0, 400), (-1, 400), (1, 200), (lim_max, 200), (lim_max + 1, 400),
                        (INT64_MAX, 400), (INT64_MAX + 1, 400)]:
            st, doc, _, _ = s.req("GET", f"{path}?{lim}={v}")
            if want == 200:
                eq(st, 200, f"{path}?{lim}={v}")
            else:
                problem(st, doc, 400, f"{path}?{lim}={v}", field=lim)
    it = f"/v1/jobs/{ids['job']}/iterations"
    for v, want in [(-2, 400), (-1, 200), (INT64_MAX, 200), (INT64_MAX + 1, 400),
                    (-(2**63), 400)]:
        st, doc, _, _ = s.req("GET", f"{it}?since={v}")
        if want == 200:
            eq(st, 200, f"iterations ?since={v}")
        else:
            problem(st, doc, 400, f"iterations ?since={v}", field="since")
    st, doc, _, _ = s.req("GET", f"{it}?since={INT64_MAX}")
    eq((doc or {}).get("items"), [], "since=INT64_MAX: no rows")
    eq((doc or {}).get("next_since"), INT64_MAX, "since=INT64_MAX: next_since stays")
    # next_offset: two jobs, one per page
    st, doc, _, _ = s.req("GET", "/v1/jobs?limit=1")
    eq(doc.get("next_offset"), 1, "jobs page 1: next_offset 1")
    st, doc, _, _ = s.req("GET", "/v1/jobs?limit=1&offset=1")
    eq(doc.get("next_offset"), None, "jobs page 2 (last): no next_offset")
    st, doc, _, _ = s.req("GET", "/v1/jobs?offset=999999999&limit=1000")
    eq((st, doc.get("items"), doc.get("next_offset")), (200, [], None),
       "an offset near the bound: empty, no wrapped next_offset")
    st, doc, _, _ = s.req("GET", f"/v1/jobs/{ids['job']}/assignments?offset=29&limit=10000")
    eq((st, len(doc.get("labels", [])), doc.get("next_offset")), (200, 1, None),
       "assignments: the last sample")
    st, doc, _, _ = s.req("GET", f"/v1/jobs/{ids['job']}/assignments?offset=10&limit=5")
    eq(doc.get("next_offset"), 15, "assignments next_offset")
    alive(s, "paging")


def group_predict(s, ids):
    pr = f"/v1/models/{ids['model']}/predict"
    row = ids["rows"][0]
    cases = [  # (X-Shape, body, status, what)
        ("4611686018427387905,4", f32([row]), 413, "the issue's shape: n*d*4 wraps to 16"),
        ("4611686018427387904,1", b"", 413, "n*d just above SIZE_MAX/4, n*d*4 wraps to 0"),
        ("1152921504606846976,4", b"", 413, "n*d*4 == 2^64 with an empty body"),
        ("4611686018427387903,1", b"", 413, "n*d == SIZE_MAX/4: no wrap, over the limit"),
        (f"{INT64_MAX},4", f32([row]), 413, "n = INT64_MAX"),
        (f"1,{INT64_MAX}", f32([row]), 413, "d = INT64_MAX"),
        (f"{INT64_MAX},{INT64_MAX}", f32([row]), 413, "n = d = INT64_MAX"),
        (f"{INT64_MAX + 1},4", f32([row]), 413, "n beyond INT64_MAX"),
        ("99999999999999999999999,4", f32([row]), 413, "n far beyond INT64_MAX"),
        ("1,2147483648", f32([row]), 413, "d beyond int"),
        ("-1,4", f32([row]), 400, "negative n"),
        ("1,-4", f32([row]), 400, "negative d"),
        (f"-{INT64_MAX},-1", f32([row]), 400, "both negative"),
        ("0,4", b"", 400, "n = 0"),
        ("1,0", b"", 400, "d = 0"),
        ("1,4,5", f32([row]), 400, "three numbers"),
        ("1;4", f32([row]), 400, "no comma"),
        ("1,4x", f32([row]), 400, "trailing garbage"),
        ("", f32([row]), 400, "empty X-Shape"),
        ("2,4", f32([row]), 400, "the body is one row, the shape says two"),
    ]
    for shape, body, status, what in cases:
        st, doc, _, _ = s.req("POST", pr, body=body, headers={**OCTET, "X-Shape": shape})
        problem(st, doc, status, f"X-Shape {shape!r} ({what})", field="X-Shape")
    qcases = [  # (query, body, status, field)
        ("n=4611686018427387905&d=4", f32([row]), 413, "n"),
        ("n=4611686018427387904&d=1", b"", 413, "n"),
        (f"n={INT64_MAX}&d=4", f32([row]), 413, "n"),
        (f"n={INT64_MAX + 1}&d=4", f32([row]), 400, "n"),
        ("n=-1&d=4", f32([row]), 400, "n"),
        ("n=0&d=4", b"", 400, "n"),
        ("n=1&d=0", b"", 400, "d"),
        ("n=1&d=2147483648", f32([row]), 400, "d"),
        (f"n=1&d={INT64_MAX}", f32([row]), 400, "d"),
        ("n=1", f32([row]), 400, "X-Shape"),
        ("n=2&d=4", f32([row]), 400, "n"),
    ]
    for q, body, status, field in qcases:
        st, doc, _, _ = s.req("POST", f"{pr}?{q}", body=body, headers=OCTET)
        problem(st, doc, status, f"predict ?{q}", field=field)
    st, doc, _, _ = s.req("POST", f"{pr}?n=1&d=4", body=f32([row]),
                          headers={**OCTET, "X-Shape": "1,4"})
    problem(st, doc, 400, "shape given twice", field="n")
    st, doc, _, _ = s.req("POST", f"{pr}?n=1&d=4", {"samples": [row]})
    problem(st, doc, 400, "?n=&d= with a JSON body", field="n")
    # good requests still work, binary and JSON
    st, doc, _, _ = s.req("POST", pr, body=f32(ids["rows"]), headers={**OCTET, "X-Shape": "30,4"})
    eq((st, (doc or {}).get("n")), (200, 30), "binary predict of 30 rows")
    st, doc, _, _ = s.req("POST", f"{pr}?n=30&d=4&embeddings=true", body=f32(ids["rows"]),
                          headers=OCTET)
    eq((st, len((doc or {}).get("embeddings", []))), (200, 30), "binary predict with embeddings")
    big = [ids["rows"][i % 30] for i in range(5000)]
    st, doc, _, _ = s.req("POST", pr, {"samples": big})
    eq((st, (doc or {}).get("n")), (200, 5000), "JSON predict of 5000 rows")
    for body, status, field, what in [
            ({"samples": []}, 400, "samples", "no rows"),
            ({"samples": [[]]}, 400, "samples[0]", "an empty row"),
            ({"samples": [row, row[:3]]}, 422, "samples[1]", "a short row"),
            ({"samples": [[1e39] * 4]}, 422, "samples[0][0]", "a value beyond float32")]:
        st, doc, _, _ = s.req("POST", pr, body)
        problem(st, doc, status, "JSON predict: " + what, field=field)
    alive(s, "predict")


def npy_header(shape, descr="<f4"):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape)
    header += " " * (63 - (len(header) + 10) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()


def group_upload(s, ids):
    """File-derived sizes: headers whose products wrap, and query values at their edges."""
    n_ds = s.req("GET", "/v1/datasets")[1]["total"]
    body16 = b"\0" * 16
    for shape, what in [("(4611686018427387905, 4)", "n*d*4 wraps to 16"),
                        ("(%d, 4)" % INT64_MAX, "n = INT64_MAX"),
                        ("(4, %d)" % INT64_MAX, "d = INT64_MAX"),
                        ("(2, 2147483648)", "d beyond int"),
                        ("(65536, 65536, 65536)", "row size beyond int"),
                        ("(99999999999999999999, 4)", "n beyond int64"),
                        ("(0, 4)", "n = 0"), ("(4, 0)", "d = 0"), ("(-1, 4)", "negative n")]:
        st, doc, _, _ = upload(s, npy_header(shape) + body16)
        problem(st, doc, 400, f"NPY shape {shape} ({what})")
    for dims, what in [((0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), "IDX dims 2^32-1 cubed"),
                       ((0x40000001, 4), "IDX n*d*4 beyond 2^32"),
                       ((0, 28, 28), "IDX n = 0")]:
        hdr = struct.pack(">BBBB", 0, 0, 0x0D, len(dims)) + struct.pack(">%dI" % len(dims), *dims)
        st, doc, _, _ = upload(s, hdr + body16)
        problem(st, doc, 400, what)
    st, doc, _, _ = s.req("PUT", f"/v1/datasets/{ids['ds']}/labels",
                          body=npy_header("(%d,)" % INT64_MAX, "<i4") + body16, headers=OCTET)
    problem(st, doc, 400, "labels NPY with n = INT64_MAX")
    for v in [INT64_MAX, INT64_MAX + 1, -(2**63), 100001, -100001]:
        st, doc, _, _ = upload(s, npy_f32(ids["rows"]), query=f"?label_column={v}")
        problem(st, doc, 400, f"label_column={v}", field="label_column")
    st, doc, _, _ = upload(s, npy_f32(ids["rows"]), query="?name=" + "n" * 201)
    problem(st, doc, 400, "a 201-byte name", field="name")
    eq(s.req("GET", "/v1/datasets")[1]["total"], n_ds, "no refused upload stored anything")
    eq(len([f for f in os.listdir(os.path.dirname(s.db)) if ".upload-" in f]), 0,
       "no temporary upload file left")
    alive(s, "uploads")


def group_jobspec(s, ids):
    base = {"dataset": ids["ds"], "method": "dec", "n_clusters": 3,
            "autoencoder": {"hidden": [8, 2]}, "pretrain": {"epochs": 1}, "cluster": {}}

    def spec(path, value):
        d = json.loads(json.dumps(base))
        o = d
        for k in path[:-1]:
            o = o[k]
        o[path[-1]] = value
        return d

    extremes = [0, -1, 2**31, INT64_MAX, -(2**63)]
    fields = [(("n_clusters",), "n_clusters"), (("pretrain", "batch_size"), "pretrain.batch_size"),
              (("pretrain", "epochs"), "pretrain.epochs"),
              (("cluster", "update_interval"), "cluster.update_interval"),
              (("cluster", "maxiter"), "cluster.maxiter"),
              (("cluster", "n_init"), "cluster.n_init")]
    for path, field in fields:
        for v in extremes:
            if v == 0 and field in ("pretrain.epochs", "cluster.maxiter"):
                continue  # 0 is allowed there
            st, doc, _, _ = s.req("POST", "/v1/jobs", spec(path, v))
            problem(st, doc, 422, f"{field} = {v}", field=field)
    for v in extremes:
        st, doc, _, _ = s.req("POST", "/v1/jobs", spec(("autoencoder", "hidden"), [8, v]))
        problem(st, doc, 422, f"hidden width {v}", field="autoencoder.hidden[1]")
        vs = spec(("method",), "vae")
        vs["vae"] = {"latent": v}
        st, doc, _, _ = s.req("POST", "/v1/jobs", vs)
        problem(st, doc, 422, f"vae.latent = {v}", field="vae.latent")
    # beyond INT64: jansson cannot hold it; a malformed-JSON 400, not a wrap
    for raw in [b'{"dataset": "%s", "method": "kmeans", "n_clusters": 9223372036854775808}',
                b'{"dataset": "%s", "method": "kmeans", "n_clusters": 1e300}']:
        st, doc, _, _ = s.req("POST", "/v1/jobs", body=raw % ids["ds"].encode(),
                              headers={"Content-Type": "application/json"})
        check(st in (400, 422), f"n_clusters {raw[-24:]!r}: 400 or 422", st)
        problem(st, doc, st, "n_clusters beyond int64")
    # widths each in range, an autoencoder too large for memory all the same
    st, doc, _, _ = s.req("POST", "/v1/jobs", spec(("autoencoder", "hidden"),
                                                   [100000, 100000, 100000, 10]))
    problem(st, doc, 422, "a 2e10-parameter autoencoder", field="autoencoder.hidden",
            contains="parameters")
    st, doc, _, _ = s.req("POST", "/v1/jobs", spec(("n_clusters",), 31))
    problem(st, doc, 422, "more clusters than samples", field="n_clusters")
    eq(s.req("GET", "/v1/jobs?status=queued")[1]["total"], 0, "no job was queued by a bad spec")
    alive(s, "job specs")


def main():
    only = set(sys.argv[1:])
    groups = [group_query, group_paging, group_predict, group_upload, group_jobspec]
    with tempfile.TemporaryDirectory(prefix="dc_lim.") as tmp:
        s = Server(tmp, "limits", "--workers", "1")
        try:
            ids = setup(s)
            for g in groups:
                if only and g.__name__[6:] not in only:
                    continue
                t0 = time.time()
                try:
                    g(s, ids)
                except Exception as ex:  # noqa: BLE001
                    traceback.print_exc()
                    check(False, f"{g.__name__} raised {ex!r}")
                print(f"{g.__name__}: {time.time() - t0:.1f}s", file=sys.stderr)
        finally:
            eq(s.stop(), 0, "clean exit on SIGTERM")
        fivexx, san = [], []
        for line in open(s.log):
            parts = line.split()
            if (len(parts) >= 6 and parts[0].endswith("Z") and parts[3].isdigit()
                    and parts[3].startswith("5")):
                fivexx.append(line.strip())
            if "Sanitizer" in line or "runtime error:" in line:
                san.append(line.strip())
        eq(fivexx, [], "no 5xx in the access log")
        eq(san, [], "no sanitizer reports in the server log")
        n_lines = sum(1 for line in open(s.log) if line.split()[:1] and line.split()[0].endswith("Z"))
        check(only or n_lines > 200, "the access log saw the requests", n_lines)
        if os.environ.get("DC_KEEP_LOG"):
            subprocess.run(["cp", s.log, os.environ["DC_KEEP_LOG"]])
    print(f"{T.PASS} passed, {T.FAIL} failed")
    return 1 if T.FAIL else 0


if __name__ == "__main__":
    sys.exit(main())
