#!/usr/bin/python3
"""Black-box test of the service on a full disk (issue 17): the database lives on a 16 MiB
tmpfs mounted for the test (root needed; exit 77 with the reason where mounting is not
possible). Run by tests/test_svc_fulldisk.sh. Env: DC_BIN.

  fill      uploads until the disk is full: every refusal is 507 "disk full: ...", no 500,
            no 'uploading' row and no temporary file left behind
  full      the rest of the disk filled by another process: /healthz says disk_full,
            uploads and new jobs get 507, DELETE of a model, a job and datasets get 204,
            and the space comes back (the reserve is taken again, an upload fits)
  restart   SIGTERM, crash leftovers (a job 'running', a dataset 'uploading'), the disk
            filled again: the service starts, says disk_full, recovery requeues the job
            (the reserve gives it room); then kill -9 on the full disk and a restart;
            then with no reserve at all: recovery is left pending (log, /healthz) and
            finishes once space is back
and, over all of it, no 5xx but 507 in the access logs and integrity_check ok.
"""
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import svc_api_test as T  # noqa: E402  (Server, upload, blobs, npy_f32, check, eq, problem)

T.BIN = os.environ.get("DC_BIN", "./build/deepclust")
check, eq = T.check, T.eq
SIZE_MB = 16
RESERVE_MB = 2
SERVERS = []  # killed by pid before the unmount, whatever happened
CONNS = []    # sqlite connections on the mount, closed before the unmount


def sql(db, q):
    c = sqlite3.connect(db, timeout=10)
    try:
        rows = c.execute(q).fetchall()
        c.commit()
        return rows
    finally:
        c.close()


def fill(path):
    """Writes zeros to path until the filesystem is full; returns the bytes written."""
    n = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (65536, 512):  # then the last partial block
            while True:
                try:
                    w = os.write(fd, b"\0" * size)
                except OSError:
                    break
                if w <= 0:
                    break
                n += w
    finally:
        os.close(fd)
    return n


def disk(s):
    st, doc, _, _ = s.req("GET", "/healthz")
    eq(st, 200, "healthz status")
    return doc or {}


def no_leftovers(db, what):
    time.sleep(0.3)  # the request's temporary file goes at its completion callback
    left = [f for f in os.listdir(os.path.dirname(db)) if ".upload-" in f]
    eq(left, [], what + ": no upload temporary file left")
    eq(sql(db, "SELECT count(*) FROM datasets WHERE status = 'uploading'")[0][0], 0,
       what + ": no 'uploading' dataset row left")


def run(tmp, mnt):
    db = os.path.join(mnt, "dc.db")
    s = T.Server(tmp, "dc", "--workers", "1", "--disk-reserve-mb", str(RESERVE_MB), db=db)
    SERVERS.append(s)
    eq(disk(s).get("disk", {}).get("reserve_bytes"), RESERVE_MB << 20, "reserve held at start")

    # a model, a finished job and a small dataset to delete later
    rows, labels = T.blobs(300, 8, 3, 1)
    st, small, _, _ = T.upload(s, T.npy_f32(rows))
    eq(st, 201, "small upload")
    st, job, _, _ = s.req("POST", "/v1/jobs", body={"dataset": small["id"], "method": "kmeans",
                                                    "n_clusters": 3})
    eq(st, 202, "kmeans job")
    job = T.wait_job(s, job["id"])
    eq(job["status"], "succeeded", "kmeans job ends")
    model = job["model"]

    # fill: 800 KB uploads until three 507 in a row
    big_rows, _ = T.blobs(2000, 100, 4, 2)
    body = T.npy_f32(big_rows)
    codes, ids, details = [], [], set()
    while len(codes) < 60 and codes[-3:] != [507, 507, 507]:
        st, doc, _, _ = T.upload(s, body)
        codes.append(st)
        if st == 201:
            ids.append(doc["id"])
        elif st == 507:
            T.problem(st, doc, 507, "upload on a full disk")
            details.add((doc or {}).get("detail", "")[:10])
    print(f"fill: {codes.count(201)} uploads of {len(body)} bytes accepted, "
          f"{codes.count(507)} got 507, statuses {sorted(set(codes))}", file=sys.stderr)
    check(set(codes) <= {201, 507}, "fill: only 201 and 507", codes)
    check(codes.count(201) >= 5 and 507 in codes, "fill: some accepted, then 507", codes)
    eq(details, {"disk full:"}, "fill: every 507 says 'disk full:'")
    no_leftovers(db, "fill")

    # full: another process takes the rest
    filler = os.path.join(mnt, "filler")
    n = fill(filler)
    h = disk(s)
    print(f"full: filler {n} bytes, healthz {h}", file=sys.stderr)
    eq(h.get("status"), "disk_full", "healthz status on a full disk")
    eq(h.get("disk", {}).get("full"), True, "healthz disk.full")
    st, doc, _, _ = T.upload(s, body)
    T.problem(st, doc, 507, "upload on a full disk", contains="disk full")
    st, doc, _, _ = s.req("POST", "/v1/jobs", body={"dataset": small["id"], "method": "kmeans",
                                                    "n_clusters": 3})
    T.problem(st, doc, 507, "new job on a full disk", contains="disk full")
    no_leftovers(db, "full")
    eq(s.req("DELETE", "/v1/models/" + model)[0], 204, "DELETE model on a full disk")
    eq(s.req("GET", "/v1/models/" + model)[0], 404, "deleted model is gone")
    eq(s.req("POST", f"/v1/models/{model}/predict", body={"samples": [[0.0] * 8]})[0], 404,
       "deleted model no longer predicts (cache evicted)")
    eq(s.req("DELETE", "/v1/jobs/" + job["id"])[0], 204, "DELETE job on a full disk")
    eq(s.req("GET", "/v1/jobs/" + job["id"])[0], 404, "deleted job is gone")
    free0 = h["disk"]["free_bytes"]
    for i, dsid in enumerate(ids[:4]):
        eq(s.req("DELETE", "/v1/datasets/" + dsid)[0], 204, f"DELETE dataset {i} on a full disk")
    h = disk(s)
    print(f"after 4 deletes: healthz {h}", file=sys.stderr)
    eq(h.get("disk", {}).get("reserve_bytes"), RESERVE_MB << 20, "reserve taken again")
    check(h["disk"]["free_bytes"] > free0 + 2 * len(body),
          "deletes gave space back to the filesystem", (free0, h["disk"]["free_bytes"]))
    st, doc, _, _ = T.upload(s, body)
    eq(st, 201, "upload fits again after the deletes")
    ids = ids[4:] + ([doc["id"]] if st == 201 else [])

    # restart on a full disk, with crash leftovers to recover
    st, j2, _, _ = s.req("POST", "/v1/jobs", body={"dataset": small["id"], "method": "kmeans",
                                                   "n_clusters": 3})
    eq(st, 202, "job before the restart")
    T.wait_job(s, j2["id"])
    eq(s.stop(), 0, "SIGTERM exit code")
    sql(db, "UPDATE jobs SET status = 'running', finished_at = NULL WHERE id = '%s'" % j2["id"])
    c = sqlite3.connect(db)
    c.execute("INSERT INTO datasets (id, name, format, n, d, shape, status) "
              "VALUES ('ds_half', 'x', 'npy', 1, 1, '[1]', 'uploading')")
    c.commit()
    c.close()
    fill(filler)
    s.args = ("--workers", "0", "--disk-reserve-mb", str(RESERVE_MB))
    s.start()  # raises when it does not come up
    h = disk(s)
    print(f"restart on a full disk: healthz {h}", file=sys.stderr)
    eq(h.get("status"), "disk_full", "restarted service says disk_full")
    log = open(s.log).read()
    check("disk full" in log, "the log says the disk is full")
    eq(s.req("DELETE", "/v1/datasets/" + ids[0])[0], 204, "DELETE after the restart")
    for _ in range(50):  # a recovery left pending finishes once there is room
        if not disk(s).get("disk", {}).get("recovery_pending"):
            break
        time.sleep(0.1)
    st, jd, _, _ = s.req("GET", "/v1/jobs/" + j2["id"])
    eq(jd["status"], "queued", "job left running is requeued by recovery")
    eq(sql(db, "SELECT count(*) FROM datasets WHERE status = 'uploading'")[0][0], 0,
       "recovery removed the half-written dataset")

    # kill -9 on a full disk, and up again
    fill(filler)
    s.proc.kill()
    s.proc.wait()
    s.logf.close()
    s.start()
    eq(disk(s).get("status"), "disk_full", "after kill -9 on a full disk: up, disk_full")
    eq(s.req("DELETE", "/v1/datasets/" + ids[1])[0], 204, "DELETE after kill -9 and restart")
    st, doc, _, _ = s.req("GET", "/v1/datasets")
    eq(st, 200, "list datasets")

    # no reserve at all (--disk-reserve-mb 0): recovery cannot write on a full disk, so
    # the service starts with it pending and finishes it once space is back. kill -9
    # leaves the -shm file, so opening needs no space; an open connection keeps it.
    os.unlink(filler)
    st, j3, _, _ = s.req("POST", "/v1/jobs", body={"dataset": small["id"], "method": "kmeans",
                                                   "n_clusters": 3})
    eq(st, 202, "job before the crash")
    s.proc.kill()
    s.proc.wait()
    s.logf.close()
    keep = sqlite3.connect(db, timeout=10, isolation_level=None)
    CONNS.append(keep)
    keep.execute("UPDATE jobs SET status = 'running' WHERE id = ?", (j3["id"],))
    # a reader holding its snapshot: the WAL cannot be checkpointed and reused, so the
    # recovery's write needs new space
    keep.execute("BEGIN")
    keep.execute("SELECT count(*) FROM jobs").fetchall()
    os.unlink(db + ".reserve")  # as if the service never had one
    fill(filler)
    s.args = ("--workers", "0", "--disk-reserve-mb", "0")
    s.start()
    h = disk(s)
    print(f"no reserve, restart on a full disk: healthz {h}", file=sys.stderr)
    eq(h.get("disk", {}).get("recovery_pending"), True, "recovery pending on a full disk")
    eq(s.req("GET", "/v1/jobs/" + j3["id"])[1]["status"], "running",
       "the job waits for the recovery")
    check("recovery postponed" in open(s.log).read(), "the log says recovery is postponed")
    os.unlink(filler)  # space comes back from outside
    h = disk(s)
    eq(h.get("disk", {}).get("recovery_pending"), False, "recovery done once space is back")
    eq(s.req("GET", "/v1/jobs/" + j3["id"])[1]["status"], "queued", "the job is requeued")
    keep.execute("COMMIT")
    keep.close()
    eq(s.stop(), 0, "last SIGTERM exit code")
    eq(sql(db, "PRAGMA integrity_check")[0][0], "ok", "integrity_check")


def main():
    if T.store.is_pg():
        print("skip: DC_TEST_PG_URL is set, and this test is about the SQLite file's own disk "
              "(its reserve and 507s); a PostgreSQL server minds its own disk", file=sys.stderr)
        return 77
    if os.geteuid() != 0:
        print("skip: mounting a tmpfs needs root", file=sys.stderr)
        return 77
    tmp = tempfile.mkdtemp(prefix="dc_fulldisk.")
    mnt = os.path.join(tmp, "disk")
    os.mkdir(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m", "tmpfs", mnt],
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"skip: cannot mount a tmpfs here: {r.stderr.strip()}", file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)
        return 77
    try:
        run(tmp, mnt)
    except Exception as ex:  # noqa: BLE001
        import traceback
        traceback.print_exc()
        check(False, f"raised {ex!r}")
    finally:
        for srv in SERVERS:
            if srv.proc.poll() is None:
                srv.proc.kill()
                srv.proc.wait()
        for c in CONNS:
            c.close()
        subprocess.run(["umount", mnt], capture_output=True)
    bad = []
    for log in T.LOGS:
        for line in open(log):
            p = line.split()
            if len(p) >= 6 and p[0].endswith("Z") and p[3].isdigit() and p[3].startswith("5") \
                    and p[3] != "507":
                bad.append(line.strip())
    eq(bad, [], "no 5xx but 507 in the access logs")
    san = [line.strip() for log in T.LOGS for line in open(log)
           if "Sanitizer" in line or "runtime error:" in line]
    eq(san, [], "no sanitizer reports in the server logs")
    if not T.FAIL:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{T.PASS} passed, {T.FAIL} failed")
    return 1 if T.FAIL else 0


if __name__ == "__main__":
    sys.exit(main())
