#!/usr/bin/python3
"""http_fuzz: an HTTP fuzzer for `deepclust serve` (Python 3 standard library only).

It starts the server itself (an ASan+UBSan build is what it wants: --bin, or DC_BIN) on a
free loopback port with a temporary database and a bearer token, creates datasets in
every upload format, jobs of several methods and their models, so that the deep routes
(iterations, assignments, predict) are reached; then, for --seconds or --requests
(whichever comes first), it sends mutated requests over raw sockets:

  methods     known, unknown, lower-case, very long
  paths       valid/unknown/traversal/percent-encoded/overlong ids, path mangling
  queries     known and unknown parameters; huge, negative, INT_MAX, INT64_MAX, junk values
  headers     Content-Length lies, X-Shape extremes (including sizes crafted to overflow),
              Content-Type, Authorization, Host, huge and many headers, bare LF
  bodies      job specs mutated field by field, malformed JSON, predict bodies (JSON and
              float32), uploads of truncated/mutated NPY/IDX/CSV/DCF32 (and gzip)
  transport   HTTP versions, chunked encoding (valid and broken), a connection cut
              mid-body, a body shorter than its Content-Length

It counts requests and status classes and fails (exit 1) on any 5xx, a server crash, a
hang (no answer and /healthz silent), or any sanitizer report in the server's stderr
(including LeakSanitizer's at the final SIGTERM). A crash restarts the server on the
same database and the run goes on, so that one run can find several crash classes.
Every failing request is saved (with the requests before it) to --save-dir as JSON
whose ids are placeholders; `--replay FILE` starts a fresh server, recreates the
objects and sends it again. The PRNG seed is printed; the same seed gives the same
requests (the server's timing may still differ).

  tests/tools/http_fuzz.py --bin build-asan/deepclust --seconds 600 --seed 7
  tests/tools/http_fuzz.py --bin build-asan/deepclust --replay http-fuzz-failures/crash-1.json

Loopback only; the run stops by itself. KNOWN below can list crash classes found and
not yet fixed; --avoid-known does not send them (the table is empty).
"""
import argparse
import base64
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dcfuzzlib as L  # noqa: E402

TOKEN = "fuzz-token-0123"

# ---- known crash classes not yet fixed ------------------------------------------------
# (description, predicate(method, path, query, headers, body)) rows: with --avoid-known, a
# generated request that a predicate matches is replaced by another one. Empty: the two
# classes issue 17 found (the predict X-Shape wrap and the /v1/jobs offset overflow) are
# fixed, and the CI run sends such requests again.
KNOWN = []


def parse_request(raw):
    """method, path, query (first value of each), headers (lowercased, first value) of
    raw request bytes, as the server would see them (best effort)."""
    head = raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n", b"\n").split(b"\n")
    first = head[0].decode("latin-1").split(" ")
    method = first[0]
    target = first[1] if len(first) > 1 else ""
    path, _, qs = target.partition("?")
    query = {}
    for part in qs.split("&"):
        k, _, v = part.partition("=")
        k = urllib.parse.unquote(k)
        if k and k not in query:
            query[k] = urllib.parse.unquote(v)
    headers = {}
    for line in head[1:]:
        k, sep, v = line.decode("latin-1").partition(":")
        if sep and k.strip().lower() not in headers:
            headers[k.strip().lower()] = v.strip()
    return {"method": method, "path": urllib.parse.unquote(path), "query": query,
            "headers": headers}


# ---- value pools --------------------------------------------------------------------------

INT_STRINGS = ["0", "1", "-1", "2", "3", "50", "999", "1000", "1001", "10000", "10001",
               "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967295",
               "4294967296", "9223372036854775807", "9223372036854775808",
               "-9223372036854775808", "-9223372036854775809", "18446744073709551616",
               "99999999999999999999999999", "1e3", "0x10", "010", " 1", "1 ", "+1", "",
               "abc", "1.5", "-0", "\u0663", "%00", "nan", "inf", "1%00", "%2B1"]
JSON_VALUES = [0, 1, -1, 2, 3, 100000, 100001, 2**31 - 1, 2**31, -2**31 - 1, 2**63 - 1,
               -2**63, 1.5, -0.0, 1e-45, 1e38, 1e39, 1e308, 0.5, 0.999, 1.0, "3", "", "adam",
               "sgd", "auto", "bce", "mse", "x" * 300, None, True, False, [], {}, [1], {"a": 1},
               [16, 4], [0], [-1], [100001], ["a"], [[1]]]
# JSON text that json.dumps cannot produce
RAW_JSON_VALUES = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "123456789012345678901234567890",
                   "0.0000000000000000000000000000000000000000000000001", "\"\\u0000\"",
                   "\"\\ud800\"", "01", "1.", ".5", "+1", "[" * 3000 + "]" * 3000, "\"\xff\""]


def rand_id(rnd, kind, pool):
    """An id for a {kind} path segment: a known one mostly, else a hostile one."""
    r = rnd.random()
    if pool and r < 0.6:
        return rnd.choice(pool)
    choices = [kind + "_0000000000000000", kind + "_ffffffffffffffff", kind + "_",
               "..", "%2e%2e", "../../../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2F", "%00",
               "a%00b", "x" * 127, "x" * 128, "x" * 129, "y" * 5000, "%zz", "%", "%e2%82%ac",
               "\u00e9".encode().decode("latin-1"), "'%20OR%201=1--", "*", "~", "-1",
               "job_", "mdl_" + "f" * 40, ";", "%3B", "ds_0000000000000000%20"]
    if pool:
        v = rnd.choice(pool)
        choices += [v.upper(), v + "x", v[:-1], v + "/", v + "%00", " " + v, v * 3]
    return rnd.choice(choices)


ROUTES = [  # method, template, query parameters it knows, body kind
    ("GET", "/healthz", [], None),
    ("GET", "/openapi.yaml", [], None),
    ("GET", "/metrics", [], None),
    ("GET", "/", [], None),
    ("POST", "/v1/datasets", ["name", "format", "label_column", "header", "scale"], "upload"),
    ("GET", "/v1/datasets", ["limit", "offset"], None),
    ("GET", "/v1/datasets/{ds}", [], None),
    ("DELETE", "/v1/datasets/{ds}", [], None),
    ("PUT", "/v1/datasets/{ds}/labels", [], "labels"),
    ("POST", "/v1/jobs", [], "spec"),
    ("GET", "/v1/jobs", ["limit", "offset", "status"], None),
    ("GET", "/v1/jobs/{job}", [], None),
    ("GET", "/v1/jobs/{job}/iterations", ["since", "limit"], None),
    ("POST", "/v1/jobs/{job}/cancel", [], None),
    ("GET", "/v1/jobs/{job}/assignments", ["offset", "limit"], None),
    ("GET", "/v1/models/{mdl}", [], None),
    ("POST", "/v1/models/{mdl}/predict", ["n", "d", "embeddings"], "predict"),
]
ROUTE_WEIGHTS = [1, 1, 1, 1, 10, 3, 2, 2, 5, 14, 5, 2, 4, 2, 4, 2, 16]
ENUM_VALUES = {"status": ["queued", "running", "succeeded", "failed", "cancelled", "done", ""],
               "format": ["auto", "idx", "npy", "csv", "dcf32", "zip", "NPY", ""],
               "header": ["auto", "yes", "no", "maybe"], "scale": ["auto", "none", "255", "1"],
               "embeddings": ["1", "true", "TRUE", "0", "false", "yes", ""],
               "name": ["a", "", "x" * 200, "x" * 201, "%00", "caf%C3%A9", "%FF%FE", "a b"]}
METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "CONNECT",
           "get", "PROPFIND", "G\x00T", "X" * 300, "", "POST /x"]
VERSIONS = ["HTTP/1.1"] * 17 + ["HTTP/1.0", "HTTP/1.0", "HTTP/2.0", "HTTP/0.9", "", "HTTP/1.2",
                                "HTTP/1", "http/1.1", "HTTP/1.1 x", "HTTP/9.9", "HTTP/1.01"]


# notes of requests that may get no answer at all (see Run.one)
WAITY = ("content-length", "chunked", "path", "huge header", "many headers", "bad header",
         "version", "expect", "bare LF")


class Fuzzer:
    def __init__(self, seed, ids, models, datasets):
        self.rnd = random.Random(seed)
        self.ids = ids            # {"ds": [...], "job": [...], "mdl": [...]}
        self.models = models      # id -> d
        self.datasets = datasets  # id -> (n, d, is_image)
        # samples for predict bodies, drawn once (drawing them per request was the
        # fuzzer's bottleneck): rows are slices at random offsets
        self.pool = [round(self.rnd.gauss(0, 3), 4) for _ in range(4096)]
        self.pool_f32 = L.f32([self.pool]) * 80   # 1.3 MB of float32

    def rows(self, n, d):
        out = []
        for _ in range(n):
            o = self.rnd.randrange(len(self.pool) - d) if d < len(self.pool) else 0
            out.append(self.pool[o:o + d])
        return out

    # -- queries --------------------------------------------------------------------------
    def query(self, known):
        rnd = self.rnd
        if rnd.random() < 0.35:
            return ""
        parts = []
        for _ in range(rnd.choice([1, 1, 1, 2, 2, 3, 5])):
            if known and rnd.random() < 0.8:
                name = rnd.choice(known)
            else:
                name = rnd.choice(["foo", "limit", "offset", "x" * 3000, "%00", "", "a[]", "since",
                                   "limit%00", "LIMIT", "n", "d", "status", "format"])
            if name in ENUM_VALUES and rnd.random() < 0.6:
                val = rnd.choice(ENUM_VALUES[name])
            elif rnd.random() < 0.1:
                val = str(rnd.choice([2**31 - rnd.randrange(60), 2**63 - rnd.randrange(1100),
                                      rnd.randrange(-2**63, 2**63)]))
            else:
                val = rnd.choice(INT_STRINGS)
            val = urllib.parse.quote(val, safe="%+")
            r = rnd.random()
            if r < 0.05:
                parts.append(name)  # no '='
            elif r < 0.08:
                parts.append(name + "=" + "9" * rnd.choice([30, 300, 5000]))
            else:
                parts.append(name + "=" + val)
        sep = "&" if rnd.random() < 0.95 else rnd.choice(["&&", ";", "&=&"])
        return "?" + sep.join(parts)

    # -- bodies ---------------------------------------------------------------------------
    def job_spec(self):
        rnd = self.rnd
        ds = self.ids["ds"]
        img = [d for d in ds if self.datasets.get(d, (0, 0, 0))[2]]
        method = rnd.choice(["kmeans", "ae_kmeans", "dec", "idec", "vae", "dcec"])
        spec = {"dataset": rnd.choice(img if method == "dcec" and img else ds) if ds else "ds_x",
                "method": method, "n_clusters": 3, "seed": rnd.randrange(100)}
        if method != "kmeans":
            spec["autoencoder"] = {"hidden": [16, 4]}
            spec["pretrain"] = {"epochs": 2, "batch_size": 32, "optimizer": "adam", "lr": 0.001}
            spec["cluster"] = {"n_init": 2, "update_interval": 10, "maxiter": 30, "tol": 0.001}
        if method == "vae":
            spec["vae"] = {"latent": 3, "epochs": 2}
        paths = [("dataset",), ("method",), ("n_clusters",), ("seed",),
                 ("autoencoder",), ("autoencoder", "hidden"), ("autoencoder", "hidden", 0),
                 ("pretrain",), ("pretrain", "epochs"), ("pretrain", "batch_size"),
                 ("pretrain", "optimizer"), ("pretrain", "lr"), ("pretrain", "momentum"),
                 ("pretrain", "init"), ("cluster",), ("cluster", "n_init"),
                 ("cluster", "kmeans_max_iter"), ("cluster", "kmeans_tol"),
                 ("cluster", "update_interval"), ("cluster", "tol"), ("cluster", "maxiter"),
                 ("cluster", "gamma"), ("cluster", "alpha"), ("cluster", "lr"),
                 ("cluster", "optimizer"), ("cluster", "momentum"), ("vae",), ("vae", "latent"),
                 ("vae", "epochs"), ("vae", "conv"), ("vae", "reconstruction"),
                 ("vae", "rec_weight"), ("vae", "lr"), ("colour",), ("pretrain", "learning_rate")]
        raw_sub = None
        for _ in range(rnd.choice([0, 1, 1, 1, 1, 2, 3])):
            p = rnd.choice(paths)
            node = spec
            for k in p[:-1]:
                if not isinstance(node, (dict, list)):
                    break
                if isinstance(node, dict):
                    node = node.setdefault(k, {})
                else:
                    node = node[k] if isinstance(k, int) and k < len(node) else {}
            if not isinstance(node, (dict, list)):
                continue
            r = rnd.random()
            if r < 0.1 and isinstance(node, dict):
                node.pop(p[-1], None)
                continue
            val = rnd.choice(JSON_VALUES)
            if p[-1] == "hidden" and isinstance(val, list) and len(val) > 2:
                val = val[:2]  # keep a valid architecture small: the worker may train it
            if isinstance(node, dict):
                node[p[-1]] = val
            elif isinstance(p[-1], int) and p[-1] < len(node):
                node[p[-1]] = val
            if r > 0.93:
                raw_sub = (json.dumps(val), rnd.choice(RAW_JSON_VALUES))
        text = json.dumps(spec)
        if raw_sub and raw_sub[0] in text:
            text = text.replace(raw_sub[0], raw_sub[1], 1)
        r = rnd.random()
        if r < 0.05:
            text = text[:rnd.randrange(len(text))]            # truncated
        elif r < 0.08:
            text = text[:-1] + ', "method": "dec"}'           # duplicate key
        elif r < 0.10:
            text = rnd.choice(["[1]", "null", "\"spec\"", "{}", "", " ", "{" * 5000, "\xff\xfe",
                               json.dumps([spec] * 50)])
        elif r < 0.13:
            b = bytearray(text.encode("latin-1", "replace"))
            for _ in range(rnd.randrange(1, 4)):
                b[rnd.randrange(len(b))] = rnd.randrange(256)
            return bytes(b)
        elif r < 0.14:
            text = json.dumps({**spec, "pad": "x" * (64 << 10)})   # over the 64 KiB limit
        return text.encode("utf-8", "surrogatepass")

    def predict_body(self, model):
        """(body, content type, X-Shape or None)."""
        rnd = self.rnd
        d = self.models.get(model, rnd.choice([1, 4, 6, 64]))
        r = rnd.random()
        if r < 0.45:  # JSON rows
            n = rnd.choice([1, 1, 2, 5, 50, 3000])
            dd = d if rnd.random() < 0.7 else rnd.choice([0, 1, d - 1, d + 1, 1000])
            rows = self.rows(n, max(dd, 0))
            doc = {"samples": rows}
            if rnd.random() < 0.4:
                doc["embeddings"] = rnd.choice([True, False, 1, "true", None])
            m = rnd.random()
            if m < 0.1 and rows and rows[0]:
                rows[rnd.randrange(n)][0] = rnd.choice(JSON_VALUES)
            elif m < 0.15 and n > 1:
                rows[rnd.randrange(n)] = rows[0][:-1]
            elif m < 0.2:
                doc[rnd.choice(["samples", "embed", "x"])] = rnd.choice(JSON_VALUES)
            elif m < 0.22:
                doc = rnd.choice([[], [rows], {"samples": [[[1.0]]]}, {"samples": [[]]}])
            text = json.dumps(doc)
            if rnd.random() < 0.05:
                text = text.replace("0", rnd.choice(["NaN", "1e999", "-"]), 1)
            if rnd.random() < 0.03:
                text = text[:rnd.randrange(1, len(text) + 1)]
            ctype = rnd.choice(["application/json"] * 6 + ["", "application/json; charset=utf-8",
                                                          "text/plain", "APPLICATION/JSON"])
            return text.encode(), ctype, None
        # float32 binary
        n = rnd.choice([1, 2, 3, 7, 100, 5000])
        o = rnd.randrange(4096) * 4
        body = bytearray(self.pool_f32[o:o + n * d * 4])
        if rnd.random() < 0.1 and body:
            i = rnd.randrange(0, len(body) // 4) * 4
            body[i:i + 4] = rnd.choice([b"\x00\x00\xc0\x7f", b"\x00\x00\x80\x7f",
                                        b"\x00\x00\x80\xff", b"\x01\x00\x00\x00"])
        if rnd.random() < 0.05:
            body = body[:rnd.randrange(len(body) + 1)]
        shape = "%d,%d" % (n, d)
        r = rnd.random()
        if r < 0.25:
            shape = self.xshape(len(body), d)
        elif r < 0.3:
            shape = None  # the shape from ?n=&d= or missing
        return bytes(body), rnd.choice(["application/octet-stream"] * 8 + ["application/x-npy",
                                                                           ""]), shape

    def xshape(self, body_len, d):
        rnd = self.rnd
        r = rnd.random()
        if r < 0.4:  # crafted so that n*d*4 wraps around to the body's length
            for _ in range(10):
                dd = rnd.choice([d, 1, 2, 4, 16, 3, 2**32 + d, 2**31 + 1, 2**40])
                a = (dd & -dd).bit_length() - 1
                odd = dd >> a
                if body_len % (1 << (a + 2)):
                    continue
                mod = 1 << (62 - a)
                nn = ((body_len >> (a + 2)) * pow(odd, -1, mod)) % mod
                while nn < 1 or nn * dd * 4 < 2**64:
                    nn += mod
                if nn < 2**63 and rnd.random() < 0.5:  # any of the wrapping n, up to 2^63
                    nn += mod * rnd.randrange((2**63 - 1 - nn) // mod + 1)
                if nn < 2**63:
                    return "%d,%d" % (nn, dd)
        return rnd.choice(["0,0", "-1,4", "1,-4", "1,", ",", "1,2,3", " 3 , 4", "1e3,4", "a,b",
                           "9223372036854775807,9223372036854775807", "4611686018427387904,4",
                           "1,2147483648", "1,4294967297", "2147483648,1", "", "x" * 9000,
                           "%d,%d" % (body_len // 4, 1), "%d,%d" % (1, body_len // 4),
                           "%d,%d" % (max(body_len // 4 // max(d, 1), 1), d), "1 ,%d" % d,
                           "-9223372036854775808,-4"])

    def upload_body(self, labels=False):
        rnd = self.rnd
        n = rnd.choice([3, 10, 40, 200])
        d = rnd.choice([1, 2, 5, 16])
        rows, lab = L.blobs(n, d, 3, rnd.randrange(1000))
        kind = rnd.choice(["npy", "csv", "idx", "dcf32", "npyi", "idx1", "csvl"] if not labels
                          else ["npyi", "idx1", "csv1", "npy", "idx"])
        if kind == "npy":
            body = L.npy_f32(rows)
        elif kind == "csv":
            body = L.csv_rows(rows)
        elif kind == "csvl":
            body = L.csv_rows(rows, lab)
        elif kind == "csv1":
            body = ("\n".join(str(x) for x in lab) + "\n").encode()
        elif kind == "idx":
            body = L.idx_images(n, rnd.choice([1, 4, 8]), rnd.choice([1, 4, 8]), rnd.randrange(99))
        elif kind == "idx1":
            body = L.idx_labels(lab)
        elif kind == "npyi":
            body = L.npy_i32(lab)
        else:
            img = rnd.random() < 0.3
            body = L.dcf32(rows, *( (1, d, 1) if img else (0, 0, 0)))
        body = self.mutate_file(bytearray(body), kind)
        if rnd.random() < 0.15:
            body = L.gz(body)
            if rnd.random() < 0.3:
                body = body[:rnd.randrange(len(body))]
        return bytes(body)

    def mutate_file(self, b, kind):
        rnd = self.rnd
        r = rnd.random()
        if r < 0.35 or not b:
            return b
        if r < 0.5:
            return b[:rnd.randrange(len(b))]  # truncated
        if r < 0.6:
            for _ in range(rnd.randrange(1, 6)):
                i = rnd.randrange(min(len(b), 64) if rnd.random() < 0.7 else len(b))
                b[i] = rnd.randrange(256)
            return b
        if r < 0.65:
            return b + bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 100)))
        # header fields
        big = rnd.choice([0, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**16, 7])
        if kind in ("npy", "npyi"):
            hl = b[8] | b[9] << 8
            hdr = b[10:10 + hl].decode("latin-1")
            hdr = re.sub(r"\(.*\)", rnd.choice(["(4611686018427387904, 2)", "(0, 5)", "(-1,)",
                                                "(2, 0)", "(9223372036854775807, 9223372036854775807)",
                                                "(3, 4, 5, 6)", "()", "(1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17)",
                                                "(%d, %d)" % (big, big)]), hdr)
            hdr = re.sub(r"'<[fi]4'", rnd.choice(["'<f4'", "'<f8'", "'>f4'", "'|u1'", "'<i8'", "'<U4'",
                                                  "'O'", "'<f2'", "'<c8'", "''"]), hdr)
            if rnd.random() < 0.2:
                hdr = hdr.replace("False", "True")
            hb = hdr.encode("latin-1")
            return bytearray(bytes(b[:8]) + bytes([len(hb) & 255, len(hb) >> 8]) + hb + bytes(b[10 + hl:]))
        if kind in ("idx", "idx1") and len(b) >= 8:
            field = rnd.choice([2, 3, 4, 8, 12])
            if field in (2, 3):
                b[field] = rnd.choice([0, 1, 8, 9, 11, 12, 13, 14, 0x0d, 255])
            elif field + 4 <= len(b):
                b[field:field + 4] = big.to_bytes(4, "big")
            return b
        if kind == "dcf32" and len(b) >= 32:
            off, size = rnd.choice([(6, 2), (8, 8), (16, 4), (20, 4), (24, 4), (28, 4)])
            val = rnd.choice([0, 1, 2, big, 2**(8 * size) - 1, 2**(8 * size - 1)]) % 2**(8 * size)
            b[off:off + size] = val.to_bytes(size, "little")
            return b
        # csv
        text = b.decode("latin-1")
        text = rnd.choice([text.replace(",", ",,", 1), text.replace("\n", "\r\n"),
                           text.replace("\n", "\n\n"), text + "1," * 5000 + "1\n",
                           text.replace("0", "nan", 1), text.replace("1", "1e39", 1),
                           text.replace("2", "\"2\"", 1), "\ufeff" + text, text.replace(",", ";"),
                           text + "x" * 70000, "1" * 100000, text.replace("\n", "\x00", 1)])
        return bytearray(text.encode("utf-8"))

    # -- one request ------------------------------------------------------------------------
    def request(self):
        """(raw bytes, cut, half_close, head_only, note)."""
        rnd = self.rnd
        i = rnd.choices(range(len(ROUTES)), ROUTE_WEIGHTS)[0]
        method, tmpl, known, kind = ROUTES[i]
        note = []
        path = tmpl
        for k in ("ds", "job", "mdl"):
            if "{%s}" % k in path:
                pool = self.ids[k]
                if method == "DELETE":
                    pool = self.ids["fuzz_ds"]  # the setup datasets stay
                path = path.replace("{%s}" % k, rand_id(rnd, k, pool))
        if rnd.random() < 0.1:
            method = rnd.choice(METHODS)
            note.append("method")
        target = path + self.query(known)
        if rnd.random() < 0.08:
            target = self.mangle_path(target)
            note.append("path")
        body, ctype, xshape = b"", None, None
        if kind == "upload":
            body = self.upload_body()
            ctype = rnd.choice(["application/octet-stream"] * 6 + ["text/csv", "application/x-npy",
                               "application/x-idx", "application/gzip", "application/json", "",
                               "text/plain", "multipart/form-data; boundary=x"])
        elif kind == "labels":
            body = self.upload_body(labels=True)
            ctype = rnd.choice(["application/octet-stream"] * 4 + ["text/csv", "application/json"])
        elif kind == "spec":
            body = self.job_spec()
            ctype = rnd.choice(["application/json"] * 8 + ["", "text/plain", "application/json;charset=utf-8",
                                                           "application/octet-stream"])
        elif kind == "predict":
            mdl = path.split("/")[3]
            body, ctype, xshape = self.predict_body(mdl)
            if xshape is None and ctype == "application/octet-stream" and "?" not in target:
                d = self.models.get(mdl, 1)
                target += "?n=%d&d=%d" % (len(body) // 4 // max(d, 1), d)
        elif rnd.random() < 0.05:
            body = rnd.choice([b"{}", b"x" * 2000, b"\0" * 10])
            note.append("stray body")
        headers = [("Host", "%s:%d" % (L.LOOPBACK, self.port)), ("Authorization", "Bearer " + TOKEN),
                   ("Connection", "close")]
        if ctype:
            headers.append(("Content-Type", ctype))
        if xshape is not None:
            headers.append(("X-Shape", xshape))
        cut = half = False
        version = "HTTP/1.1"
        if rnd.random() < 0.07:
            version = rnd.choice(VERSIONS)
            note.append("version")
        te = rnd.random()
        if body and te < 0.07:  # chunked
            body, half = self.chunked(body)
            headers.append(("Transfer-Encoding", rnd.choice(["chunked"] * 5 + ["Chunked", "gzip, chunked",
                                                                                "chunked, identity"])))
            if rnd.random() < 0.1:
                headers.append(("Content-Length", str(len(body))))
            note.append("chunked")
        elif body or method in ("POST", "PUT") or rnd.random() < 0.1:
            headers.append(("Content-Length", str(len(body))))
        headers, body, half2 = self.mutate_headers(headers, body, note)
        half = half or half2
        raw = L.build(method, target, headers, body, version)
        if rnd.random() < 0.02:
            raw = raw.replace(b"\r\n", b"\n")
            note.append("bare LF")
        if rnd.random() < 0.85:
            half = True  # most clients: the server sees the end of the request as EOF too
        if rnd.random() < 0.04 and len(raw) > 4:
            raw = raw[:rnd.randrange(len(raw) // 2, len(raw))]
            cut = True
            note.append("cut")
        return raw, cut, half, method.upper() == "HEAD", " ".join(note)

    def mangle_path(self, t):
        rnd = self.rnd
        ops = [lambda s: s.replace("/", "//", 1), lambda s: s + "/", lambda s: s.upper(),
               lambda s: "/.." + s, lambda s: s.replace("/v1/", "/v1/../v1/"),
               lambda s: "http://127.0.0.1" + s, lambda s: "*", lambda s: "",
               lambda s: s.replace("/", "%2F"), lambda s: s + "#frag",
               lambda s: s + "/" + "a" * rnd.choice([300, 5000, 70000]),
               lambda s: "".join("%%%02X" % ord(c) if c.isalnum() and rnd.random() < 0.3 else c for c in s),
               lambda s: s.replace("v1", "v1\x00"), lambda s: s + "%", lambda s: s.replace("/", "\\"),
               lambda s: "/" + "../" * 20 + "etc/passwd", lambda s: s + "?" + "&" * 3000]
        return rnd.choice(ops)(t)

    def chunked(self, body):
        """(chunked body, half_close)."""
        rnd = self.rnd
        out, i, half = b"", 0, False
        while i < len(body):
            n = rnd.choice([1, 7, 100, 4096, len(body)])
            c = body[i:i + n]
            size = b"%x" % len(c)
            r = rnd.random()
            if r < 0.03:
                size = rnd.choice([b"ffffffffffffffffff", b"-1", b"zz", b"", b"10000000000000000"])
            elif r < 0.06:
                size += b";ext=1"
            out += size + b"\r\n" + c + (b"\r\n" if rnd.random() > 0.02 else b"")
            i += n
        r = rnd.random()
        if r < 0.9:
            out += b"0\r\n\r\n"
        elif r < 0.95:
            out += b"0\r\nX-Trailer: 1\r\n\r\n"
        else:
            half = True  # no last chunk: the client stops sending
        return out, half

    def mutate_headers(self, h, body, note):
        """(headers, body, half_close)."""
        rnd = self.rnd
        half = False
        for _ in range(rnd.choice([0, 0, 0, 1, 1, 2])):
            r = rnd.random()
            if r < 0.2:  # Content-Length lies
                h = [x for x in h if x[0] != "Content-Length"]
                lie = rnd.choice(["more", "less", "junk"])
                if lie == "more":
                    h.append(("Content-Length", str(len(body) + rnd.choice([1, 100, 10**6]))))
                    half = True
                elif lie == "less" and body:
                    h.append(("Content-Length", str(rnd.randrange(len(body)))))
                else:
                    h.append(("Content-Length", rnd.choice(["-1", "abc", "18446744073709551616",
                                                            "99999999999999999999", " 5", "0x10", "",
                                                            "1, 1", "%d" % len(body) + " "])))
                    if rnd.random() < 0.3:
                        h.append(("Content-Length", str(len(body))))
                note.append("content-length")
            elif r < 0.3:
                h = [x for x in h if x[0] != "X-Shape"] + [("X-Shape", self.xshape(len(body), 6))]
                note.append("x-shape")
            elif r < 0.42:
                h = [x for x in h if x[0] != "Content-Type"]
                h.append(("Content-Type", rnd.choice(
                    ["application/json", "application/octet-stream", "text/csv", "", " ", ";",
                     "application/json; charset=" + "x" * 500, "a" * 5000, "application/x-npy",
                     "application/gzip", "application/json\x00x", "*/*"])))
                note.append("content-type")
            elif r < 0.56:
                h = [x for x in h if x[0] != "Authorization"]
                v = rnd.choice([None, "Bearer wrong", "Bearer", "Bearer ", "bearer " + TOKEN,
                                "Bearer  " + TOKEN, "Bearer " + TOKEN + "x", "Bearer " + TOKEN[:-1],
                                "Basic Zm9vOmJhcg==", "Bearer " + "t" * 9000, "Bearer " + TOKEN + "\x00"])
                if v is not None:
                    h.append(("Authorization", v))
                note.append("authorization")
            elif r < 0.66:
                h = [x for x in h if x[0] != "Host"]
                v = rnd.choice([None, "", "evil.example", "h" * 3000, "[::1]:1", "127.0.0.1:99999",
                                "localhost", "127.0.0.1:%d" % self.port])
                if v is not None:
                    h.append(("Host", v))
                note.append("host")
            elif r < 0.76:
                size = rnd.choice([1000, 8000, 16000, 33000, 200000])
                h.append(("X-Big", "b" * size))
                note.append("huge header %d" % size)
            elif r < 0.82:
                h.extend(("X-H%d" % k, "v") for k in range(rnd.choice([50, 200, 2000])))
                note.append("many headers")
            elif r < 0.88:
                h.append(rnd.choice([("Bad Name", "x"), ("X-Fold", "a\r\n b"), ("", "x"),
                                     ("X-Nul", "a\x00b"), ("X-Utf8", "\u00ff\u00fe"), (":", ":")]))
                note.append("bad header")
            elif r < 0.93:
                h.append(("Expect", rnd.choice(["100-continue", "200-ok"])))
                note.append("expect")
            else:
                h = [x for x in h if x[0] != "Connection"]
                h.append(("Connection", rnd.choice(["keep-alive", "upgrade", "close, close", "x"])))
                note.append("connection")
        return h, body, half


# ---- setup --------------------------------------------------------------------------------

def setup(client, log):
    """Datasets, labels, jobs and models; returns (ids, models {id: d}, datasets {id: (n,d,img)})."""
    ids = {"ds": [], "job": [], "mdl": [], "fuzz_ds": []}
    datasets, models = {}, {}
    rows, labels = L.blobs(120, 6, 3, seed=1)

    def upload(body, ctype="application/octet-stream", q="", img=False):
        st, doc = client.req("POST", "/v1/datasets" + q, body, ctype)
        if st != 201:
            raise RuntimeError("setup upload: %d %s" % (st, doc))
        ids["ds"].append(doc["id"])
        datasets[doc["id"]] = (doc["n"], doc["d"], img)
        return doc["id"]

    ds_npy = upload(L.npy_f32(rows), q="?name=npy")
    st, _ = client.req("PUT", "/v1/datasets/%s/labels" % ds_npy, L.npy_i32(labels),
                       "application/octet-stream")
    if st != 200:
        raise RuntimeError("setup labels: %d" % st)
    rows2, labels2 = L.blobs(60, 4, 3, seed=2)
    ds_csv = upload(L.csv_rows(rows2, labels2), "text/csv", "?name=csv&label_column=-1")
    ds_img = upload(L.gz(L.idx_images(60, 8, 8, 3)), "application/gzip", img=True)
    upload(L.dcf32(rows2), q="?format=dcf32")
    specs = [
        {"dataset": ds_npy, "method": "kmeans", "n_clusters": 3, "seed": 1},
        {"dataset": ds_csv, "method": "kmeans", "n_clusters": 2, "seed": 1},
        {"dataset": ds_npy, "method": "dec", "n_clusters": 3, "seed": 2,
         "autoencoder": {"hidden": [16, 4]}, "pretrain": {"epochs": 3, "batch_size": 32},
         "cluster": {"n_init": 2, "update_interval": 10, "maxiter": 30}},
        {"dataset": ds_img, "method": "vae", "n_clusters": 3, "seed": 3,
         "autoencoder": {"hidden": [16]}, "pretrain": {"epochs": 2, "batch_size": 20},
         "cluster": {"n_init": 2}, "vae": {"latent": 3, "epochs": 2}},
        {"dataset": ds_img, "method": "dcec", "n_clusters": 3, "seed": 4,
         "pretrain": {"epochs": 1, "batch_size": 20}, "cluster": {"n_init": 1, "maxiter": 20,
                                                                 "update_interval": 10}},
    ]
    for spec in specs:
        st, job = client.req("POST", "/v1/jobs", spec)
        if st != 202:
            raise RuntimeError("setup job %s: %d %s" % (spec["method"], st, job))
        ids["job"].append(job["id"])
    for jid in list(ids["job"]):
        job = client.wait_job(jid, timeout=300)
        if not job or job["status"] != "succeeded":
            log("setup: job %s ended %s (%s)" % (jid, job and job["status"], job and job.get("error")))
            continue
        st, m = client.req("GET", "/v1/models/" + job["model"])
        ids["mdl"].append(job["model"])
        models[job["model"]] = m["d"]
    # one job that runs long (cancelled later by the fuzzer's housekeeping, or by a
    # fuzzed cancel), and one queued behind it
    for _ in range(2):
        st, job = client.req("POST", "/v1/jobs", {
            "dataset": ds_npy, "method": "dec", "n_clusters": 3,
            "autoencoder": {"hidden": [32, 4]}, "pretrain": {"epochs": 400, "batch_size": 16}})
        if st == 202:
            ids["job"].append(job["id"])
    if not ids["mdl"]:
        raise RuntimeError("setup: no model trained")
    return ids, models, datasets


# ---- the run --------------------------------------------------------------------------------

def substitute(raw, ids, forward=True):
    """Replaces the setup's ids by placeholders ({{kind:i}}) or back."""
    for kind in ("ds", "job", "mdl", "fuzz_ds"):
        for i, v in enumerate(ids.get(kind, [])):
            ph = ("{{%s:%d}}" % (kind, i)).encode()
            raw = raw.replace(v.encode(), ph) if forward else raw.replace(ph, v.encode())
    return raw


class Run:
    def __init__(self, args):
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="dc_fuzz.")
        self.db = os.path.join(self.tmp, "fuzz.db")
        self.logp = os.path.join(self.tmp, "server.log")
        self.sanitized = L.is_sanitized(args.bin)
        env = {"ASAN_OPTIONS": ":".join(x for x in [os.environ.get("ASAN_OPTIONS", ""),
                                                    "allocator_may_return_null=1",
                                                    "abort_on_error=0", "halt_on_error=1"] if x),
               "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
               "OPENBLAS_NUM_THREADS": "1"}
        self.server = L.Server(args.bin, self.db, self.logp,
                               ["--workers", "1", "--blas-threads", "1", "--token", TOKEN,
                                "--max-upload-mb", "2", "--checkpoint-s", "1", "--model-cache", "2",
                                "--http-threads", "4"], env)
        self.counts = {}
        self.failures = []      # dicts saved to files
        self.classes = {}       # signature -> count
        self.history = []       # recent (raw, cut, half, head, note)
        self.no_answer = []     # requests that got no answer within --timeout
        self.n = 0
        self.log_pos = 0
        os.makedirs(args.save_dir, exist_ok=True)

    def log(self, msg):
        print("http_fuzz: " + msg, flush=True)

    def start_server(self):
        self.server.start()
        self.client = L.Client(self.server.port, TOKEN)

    def new_log(self):
        with open(self.logp, "rb") as f:
            f.seek(self.log_pos)
            data = f.read()
        self.log_pos += len(data)
        return data.decode("utf-8", "replace")

    def save(self, kind, item, response, report):
        k = len(self.failures) + 1
        raw, cut, half, head, note = item
        doc = {"kind": kind, "seed": self.args.seed, "request_index": self.n, "note": note,
               "response": response, "server_report": report,
               "request": {"raw_b64": base64.b64encode(substitute(raw, self.ids)).decode(), "cut": cut,
                           "half_close": half, "head_only": head,
                           "text": substitute(raw, self.ids)[:3000].decode("latin-1")},
               "before": [{"raw_b64": base64.b64encode(substitute(r[0], self.ids)).decode(), "cut": r[1],
                           "half_close": r[2], "head_only": r[3]} for r in self.history[-20:-1]]}
        path = os.path.join(self.args.save_dir, "%s-%d.json" % (kind, k))
        with open(path, "w") as f:
            json.dump(doc, f, indent=1)
        self.failures.append(doc)
        return path

    def check_crash(self, item):
        """After a request: did the server die or report? Restarts it if it died."""
        died = not self.server.alive()
        text = self.new_log() if died or self.sanitized else ""
        reports = L.sanitizer_reports(text)
        if not died and not reports:
            return
        if not died:
            time.sleep(0.5)   # a report is being written: let the process finish dying
            died = not self.server.alive()
            text += self.new_log()
        sig, summary = L.report_summary(text, "/server/")
        if sig is None:
            sig = "exit %s without a sanitizer report" % self.server.proc.returncode
            summary = text.strip().splitlines()[-5:]
        sig = "crash: " + sig
        first = sig not in self.classes
        self.classes[sig] = self.classes.get(sig, 0) + 1
        path = self.save("crash", item, None, summary)
        self.log("CRASH after request %d (%s): %s\n  %s\n  saved: %s" %
                 (self.n, item[4], sig, "\n  ".join(summary[:8]), path))
        if first:
            self.log("request (first 600 bytes): %r" % item[0][:600])
        if died:
            self.server.proc.wait()
            if self.args.stop_on_crash:
                raise SystemExit(self.finish())
            self.start_server()
            self.client.timeout = 30

    def housekeeping(self):
        """Cancels the jobs the fuzz run created (keeps the machine free) and the setup's
        long job after a while; refreshes the list of fuzz-uploaded datasets."""
        try:
            for status in ("running", "queued"):
                st, doc = self.client.req("GET", "/v1/jobs?status=%s&limit=1000" % status)
                if st != 200:
                    continue
                for j in doc["items"]:
                    if j["id"] in self.ids["job"][:5]:
                        continue
                    self.client.req("POST", "/v1/jobs/%s/cancel" % j["id"])
            st, doc = self.client.req("GET", "/v1/datasets?limit=1000")
            if st == 200:
                setup_ds = set(self.ids["ds"])
                self.ids["fuzz_ds"] = [d["id"] for d in doc["items"] if d["id"] not in setup_ds][:50]
        except OSError as ex:
            self.log("housekeeping: %s" % ex)

    def one(self, item):
        raw, cut, half, head, note = item
        self.history.append(item)
        del self.history[:-20]
        try:
            # a request whose framing or head is broken may get no answer (the server
            # waits for bytes that never come, or gives up silently): wait less for it
            waity = any(w in note for w in WAITY)
            r = L.send_raw(self.server.port, raw, timeout=min(self.args.timeout, 0.5) if waity
                           else self.args.timeout, cut=cut, half_close=half, head_only=head)
        except OSError as ex:
            r = "connect error: %s" % ex.__class__.__name__
        self.n += 1
        version = raw.split(b"\r\n", 1)[0].split(b"\n", 1)[0].split(b" ")[2:]
        if cut:
            cls = "cut"
        elif (isinstance(r, L.Response) and r.status == 505 and
                version not in ([b"HTTP/1.0"], [b"HTTP/1.1"])):
            # 505 HTTP Version Not Supported is the right answer to another version
            cls = "505 (for another HTTP version)"
        elif isinstance(r, L.Response):
            cls = "%dxx" % (r.status // 100) if r.status > 0 else "other"
        else:
            cls = r if r in ("noresp", "timeout") else "error"
        self.counts[cls] = self.counts.get(cls, 0) + 1
        if isinstance(r, L.Response) and r.status == 201 and raw.startswith(b"POST /v1/datasets"):
            doc = r.json()
            if doc and "id" in doc and len(self.ids["fuzz_ds"]) < 50:
                self.ids["fuzz_ds"].append(doc["id"])
        # a crash shows first as a connection without an answer: give the sanitizer the
        # time to write its report and the process to end, so that the crash is charged
        # to this request (the requests before it are saved too)
        time.sleep(0.3 if cls in ("noresp", "error", "timeout") else 0.002)
        self.check_crash(item)
        if isinstance(r, L.Response) and r.status >= 500 and cls.startswith("5xx"):
            first_line = r.raw.split(b"\r\n", 1)[0].decode("latin-1")
            sig = "5xx: %d %s %s" % (r.status, parse_request(raw)["method"],
                                     re.sub(r"(ds|job|mdl)_[0-9a-f]{16}", r"\1_*",
                                            parse_request(raw)["path"])[:80])
            self.classes[sig] = self.classes.get(sig, 0) + 1
            path = self.save("5xx", item, {"status_line": first_line,
                                           "body": r.body[:2000].decode("latin-1")}, None)
            self.log("5xx after request %d (%s): %s %s\n  saved: %s" %
                     (self.n, note, first_line, r.body[:300], path))
        elif cls in ("timeout", "error") and self.server.alive():
            self.no_answer.append((note, raw[:200]))
            if self.args.verbose:
                self.log("%s after request %d (%s): %r" % (cls, self.n, note, raw[:300]))
            try:
                ok = L.Client(self.server.port, TOKEN, timeout=10).req("GET", "/healthz")[0] == 200
            except OSError:
                ok = False
            if not ok:
                sig = "hang: no answer and /healthz silent"
                self.classes[sig] = self.classes.get(sig, 0) + 1
                path = self.save("hang", item, r, None)
                self.log("HANG after request %d (%s); saved: %s" % (self.n, note, path))
                if self.args.stop_on_crash:
                    raise SystemExit(self.finish())
                self.server.kill9()
                self.start_server()

    def fuzz(self):
        a = self.args
        self.log("seed %d; server %s (%s); tmp %s" % (a.seed, a.bin, "ASan+UBSan" if self.sanitized
                 else "no sanitizer: only crashes by signal, hangs and 5xx are caught", self.tmp))
        self.start_server()
        t0 = time.time()
        self.ids, models, datasets = setup(self.client, self.log)
        self.log("setup: %d datasets, %d jobs, %d models in %.1f s" %
                 (len(self.ids["ds"]), len(self.ids["job"]), len(self.ids["mdl"]), time.time() - t0))
        fz = Fuzzer(a.seed, self.ids, models, datasets)
        fz.port = self.server.port
        avoided = {name: 0 for name, _ in KNOWN}
        t0 = last = time.time()
        while self.n < a.requests and time.time() - t0 < a.seconds:
            fz.port = self.server.port
            item = fz.request()
            if a.avoid_known:
                req = parse_request(item[0])
                hit = [name for name, pred in KNOWN if pred(req)]
                if hit:
                    avoided[hit[0]] += 1
                    continue
            self.one(item)
            if self.n % 100 == 0:
                self.housekeeping()
            if time.time() - last > 30:
                last = time.time()
                self.log("%d requests, %.0f s: %s" % (self.n, last - t0, self.summary_counts()))
        self.elapsed = time.time() - t0
        if a.avoid_known:
            self.log("--avoid-known: not sent: %s" % (", ".join("%d x %s" % (v, k) for k, v in avoided.items())))
        return self.finish()

    def summary_counts(self):
        return ", ".join("%s %d" % (k, self.counts[k]) for k in sorted(self.counts))

    def finish(self):
        # a clean stop also runs LeakSanitizer; anything it says is a failure too
        self.died_last = not self.server.alive()  # (replay: it crashed and stays down)
        rc_stop = self.server.stop(timeout=60)
        text = self.new_log()
        reports = L.sanitizer_reports(text)
        if reports:
            sig, summary = L.report_summary(text, "/")
            sig = "at exit: " + (sig or reports[0])
            self.classes[sig] = self.classes.get(sig, 0) + 1
            self.log("sanitizer report at exit:\n  " + "\n  ".join(summary[:10]))
        elif rc_stop != 0 and not self.died_last:
            sig = "exit code %s after SIGTERM" % rc_stop
            self.classes[sig] = self.classes.get(sig, 0) + 1
        fivexx = sum(v for k, v in self.classes.items() if k.startswith("5xx"))
        crashes = sum(v for k, v in self.classes.items() if not k.startswith("5xx"))
        self.log("seed %d: %d requests in %.0f s; %s" % (self.args.seed, self.n,
                                                          getattr(self, "elapsed", 0), self.summary_counts()))
        self.log("5xx: %d, crashes/hangs/sanitizer reports: %d" % (fivexx, crashes))
        for k, v in sorted(self.classes.items()):
            self.log("  class %dx %s" % (v, k))
        if self.no_answer:
            self.log("%d requests got no answer (waited %g s, or 0.5 s for a broken head or "
                     "framing) while /healthz answered; not failures:" %
                     (len(self.no_answer), self.args.timeout))
            kinds = {}
            for note, _ in self.no_answer:
                kinds[note] = kinds.get(note, 0) + 1
            self.log("  by mutation: %s" % ", ".join("%s %d" % kv for kv in sorted(kinds.items())))
            for _, raw in self.no_answer[:3]:
                self.log("  %r" % substitute(raw, getattr(self, "ids", {}))[:160])
        if self.failures:
            self.log("failing requests saved in %s (replay: %s --replay FILE)" %
                     (self.args.save_dir, sys.argv[0]))
        if not self.args.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            self.log("kept %s" % self.tmp)
        return 1 if self.classes else 0

    def replay(self, path):
        with open(path) as f:
            doc = json.load(f)
        self.log("replaying %s: request %d of seed %d (%s)" % (path, doc["request_index"], doc["seed"],
                                                              doc["kind"]))
        self.start_server()
        self.ids, _, _ = setup(self.client, self.log)
        reqs = (doc["before"] if self.args.with_before else []) + [doc["request"]]
        for q in reqs:
            raw = substitute(base64.b64decode(q["raw_b64"]), self.ids, forward=False)
            item = (raw, q["cut"], q["half_close"], q["head_only"], "replay")
            r = L.send_raw(self.server.port, raw, timeout=self.args.timeout, cut=q["cut"],
                           half_close=q["half_close"], head_only=q["head_only"])
            self.n += 1
            self.log("sent %r...: %s" % (raw[:120], r.raw.split(b"\r\n", 1)[0] if isinstance(r, L.Response)
                                          else r))
            time.sleep(0.3)
            self.args.stop_on_crash = True
            self.check_crash(item)
            if isinstance(r, L.Response) and r.status >= 500 and cls.startswith("5xx"):
                self.classes["5xx: %d" % r.status] = 1
        return self.finish()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.environ.get("DC_BIN", "./build-asan/deepclust"))
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--minutes", type=float, default=None)
    ap.add_argument("--requests", type=int, default=10**9)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--timeout", type=float, default=8, help="seconds to wait for one answer")
    ap.add_argument("--save-dir", default="http-fuzz-failures")
    ap.add_argument("--avoid-known", action="store_true", help="do not send the KNOWN classes")
    ap.add_argument("--stop-on-crash", action="store_true")
    ap.add_argument("--verbose", action="store_true", help="print requests without an answer")
    ap.add_argument("--keep", action="store_true", help="keep the database and the server log")
    ap.add_argument("--replay", metavar="FILE")
    ap.add_argument("--with-before", action="store_true", help="replay: send the requests before it too")
    a = ap.parse_args()
    if a.minutes is not None:
        a.seconds = a.minutes * 60
    if a.seed is None:
        a.seed = random.SystemRandom().randrange(1, 2**31)
    L.exit_on_sigterm()
    if not os.access(a.bin, os.X_OK):
        print("http_fuzz: no binary at %s (--bin or DC_BIN)" % a.bin, file=sys.stderr)
        return 2
    run = Run(a)
    try:
        return run.replay(a.replay) if a.replay else run.fuzz()
    finally:
        if run.server.alive():
            run.server.kill9()
        if not a.keep:  # finish() removes it too; this covers an exception on the way
            shutil.rmtree(run.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
