#!/usr/bin/python3
"""Black-box test of the operator limits of deepclust serve (issue 17), over real HTTP.
Run by tests/test_svc_limits.sh. Env: DC_BIN. One server with small limits:

  --max-model-params 3000000   the spec of the report (hidden 100000 x 3) -> 422 naming
                               the parameter count and the flag; nothing queued
  --max-train-mb 60            DEC's default autoencoder (2.5 M parameters) -> 422 with
                               the estimate in MiB
  --max-dataset-mb 1           a 1.1 MB upload -> 413 naming the limit; nothing stored
  --max-queued-jobs 3          the 4th queued job -> 429
  --max-uploads 1              a second upload while one is in progress -> 429
  --max-body-mb 1              a 2 MiB predict body -> 413 before it is read
and /metrics counts each refusal under deepclust_limit_refusals_total{limit=...}; the
environment variables set the same limits; a bad flag value is a usage error (exit 2).
"""
import os
import socket
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import svc_api_test as T  # noqa: E402

T.BIN = os.environ.get("DC_BIN", "./build/deepclust")
check, eq = T.check, T.eq
PROCS = []  # every server started here, killed by pid at the end whatever happened


def metrics(s):
    st, _, _, data = s.req("GET", "/metrics")
    eq(st, 200, "metrics status")
    out = {}
    for line in data.decode().splitlines():
        if line.startswith("deepclust_limit_refusals_total{"):
            name = line.split('"')[1]
            out[name] = int(line.split()[-1])
    return out


def run(tmp):
    s = T.Server(tmp, "lim", "--workers", "0", "--max-model-params", "3000000",
                 "--max-train-mb", "60", "--max-dataset-mb", "1", "--max-queued-jobs", "3",
                 "--max-uploads", "1", "--max-body-mb", "1")
    PROCS.append(s.proc)
    m0 = metrics(s)
    eq(sorted(m0), sorted(["model_params", "train_memory", "dataset_size", "queued_jobs",
                           "uploads", "request_body"]), "one counter per limit")
    eq(set(m0.values()), {0}, "counters start at 0")

    rows, _ = T.blobs(300, 8, 3, 1)
    st, ds, _, _ = T.upload(s, T.npy_f32(rows))
    eq(st, 201, "small upload")
    dsid = ds["id"]

    # model size: the report's spec, refused at submit time with its size
    wide = {"dataset": dsid, "method": "dec", "n_clusters": 3,
            "autoencoder": {"hidden": [100000, 100000, 100000, 10]}}
    st, doc, _, _ = s.req("POST", "/v1/jobs", body=wide)
    T.problem(st, doc, 422, "hidden 100000 x 3", field="autoencoder.hidden",
              contains="--max-model-params")
    # 8 features: nn_ae's count for 8-100000-100000-100000-10 + 3 centroids of 10
    # (test_svc_estimate checks the counts against core's constructors)
    check("40004200048 parameters" in (doc or {}).get("detail", ""),
          "the parameter count is in the detail", (doc or {}).get("detail"))
    # training memory: DEC's default autoencoder on 8 features, about 110 MiB > 60
    st, doc, _, _ = s.req("POST", "/v1/jobs", body={"dataset": dsid, "method": "dec",
                                                    "n_clusters": 3})
    T.problem(st, doc, 422, "dec default over --max-train-mb", contains="--max-train-mb")
    check("MiB" in (doc or {}).get("detail", ""), "the estimate is in the detail", doc)
    st, doc, _, _ = s.req("GET", "/v1/jobs")
    eq(doc["total"], 0, "nothing queued by the refused specs")

    # queued jobs: 3 fit, the 4th is 429
    small = {"dataset": dsid, "method": "dec", "n_clusters": 3,
             "autoencoder": {"hidden": [32, 3]}}
    for i in range(3):
        st, _, _, _ = s.req("POST", "/v1/jobs", body=small)
        eq(st, 202, f"queued job {i + 1} of 3")
    st, doc, _, _ = s.req("POST", "/v1/jobs", body=small)
    T.problem(st, doc, 429, "4th queued job", contains="--max-queued-jobs")

    # dataset size: 70000 x 4 float32 = 1.12 MB stored > 1 MiB
    big, _ = T.blobs(70000, 4, 2, 3)
    st, doc, _, _ = T.upload(s, T.npy_f32(big))
    T.problem(st, doc, 413, "dataset over --max-dataset-mb", contains="--max-dataset-mb")
    st, doc, _, _ = s.req("GET", "/v1/datasets")
    eq(doc["total"], 1, "the refused dataset is not stored")

    # uploads at once: hold one open (headers and part of the body), try a second
    body = T.npy_f32(rows)
    held = T.npy_f32(T.blobs(5000, 8, 3, 4)[0])  # 160 KB
    c = socket.create_connection(("127.0.0.1", s.port))
    c.sendall(b"POST /v1/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream"
              b"\r\nContent-Length: %d\r\n\r\n" % len(held) + held[:100000])
    time.sleep(0.5)
    st, doc, _, _ = T.upload(s, body)
    T.problem(st, doc, 429, "second upload at once", contains="--max-uploads")
    c.sendall(held[100000:])
    resp = c.recv(4096)
    c.close()
    check(b" 201 " in resp.split(b"\r\n")[0], "the held upload completes", resp[:60])
    st, _, _, _ = T.upload(s, body)
    eq(st, 201, "an upload after the first finished")

    # request body: a 2 MiB predict body, refused from its Content-Length before it is read
    c = socket.create_connection(("127.0.0.1", s.port))
    c.sendall(b"POST /v1/models/mdl_none/predict HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Content-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
              % (2 << 20))
    resp = b""
    while b"\r\n\r\n" not in resp or not resp.rstrip().endswith(b"}"):
        chunk = c.recv(4096)
        if not chunk:
            break
        resp += chunk
    c.close()
    check(resp.startswith(b"HTTP/1.1 413"), "predict body over --max-body-mb: 413", resp[:80])
    check(b"1048576 bytes" in resp, "the 413 names the 1 MiB limit", resp[-300:])

    m = metrics(s)
    eq(m, {"model_params": 1, "train_memory": 1, "dataset_size": 1, "queued_jobs": 1,
           "uploads": 1, "request_body": 1}, "one refusal counted per limit")
    eq(s.stop(), 0, "SIGTERM exit code")

    # the environment variable sets the same limit (Server drops DEEPCLUST_* from the
    # environment it passes: start this one by hand)
    log = os.path.join(tmp, "env.log")
    with open(log, "w") as lf:
        envdb = os.path.join(tmp, "env.db")
        p = subprocess.Popen([T.BIN, "serve", "--port", "0", "--db", T.store.target(envdb),
                              "--workers", "0"], stdout=lf, stderr=lf,
                             env=T.store.env(envdb, dict(os.environ, DEEPCLUST_MAX_QUEUED_JOBS="1")))
    PROCS.append(p)
    port = None
    for _ in range(200):
        for line in open(log):
            if line.startswith("deepclust listening on http://"):
                port = int(line.split()[3].rsplit(":", 1)[1])
        if port or p.poll() is not None:
            break
        time.sleep(0.05)
    check(port is not None, "server with DEEPCLUST_MAX_QUEUED_JOBS starts", open(log).read())
    if port:
        s.port = port  # reuse s.req against the new server
        st, ds2, _, _ = T.upload(s, body)
        spec = dict(small, dataset=ds2["id"])
        eq(s.req("POST", "/v1/jobs", body=spec)[0], 202, "env limit: 1st job")
        st, doc, _, _ = s.req("POST", "/v1/jobs", body=spec)
        T.problem(st, doc, 429, "env limit: 2nd job", contains="--max-queued-jobs 1")
    p.terminate()
    p.wait(10)

    r = subprocess.run([T.BIN, "serve", "--max-model-params", "0"], capture_output=True,
                       text=True)
    eq(r.returncode, 2, "bad --max-model-params is a usage error")
    check("max-model-params" in r.stderr, "the error names the flag", r.stderr)


def main():
    tmp = tempfile.mkdtemp(prefix="dc_limits.")
    try:
        run(tmp)
    except Exception as ex:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        check(False, f"raised {ex!r}")
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
        if T.FAIL:
            print(f"kept {tmp} (server logs and stores) for the failures above")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{T.PASS} passed, {T.FAIL} failed")
    return 1 if T.FAIL else 0


if __name__ == "__main__":
    sys.exit(main())
