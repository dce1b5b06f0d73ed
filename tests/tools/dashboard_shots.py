#!/usr/bin/python3
"""The screenshots of docs/dashboard.md, from a real run (run by dashboard_screenshots.sh).

Usage: dashboard_shots.py OUTDIR [URL]. Without URL it starts `$DC_BIN serve` on a free
port with a temporary database (--workers 1); with URL it uses that server (and adds a
dataset and jobs to it; DC_TOKEN = its token). Then: the empty state (own server only),
a generated image set (dashboard_data.py: 1200 16x16 images of 6 shapes, with labels),
jobs kmeans, ae_kmeans, dec and vae run to success, a long dec job caught running (then
cancelled), an ae_kmeans study (3 seeds x k 3..9), and one PNG per view into OUTDIR as
dashboard-<view>.png: empty, jobs, running, job (the vae job's summary and charts),
confusion, samples, recon, generate, embedding, outliers, compare, forms, study.
Headless Chromium, 1280 px wide. DC_VIEWS=study,forms (say) writes only those views
(and runs only the jobs they need).
"""
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dashboard_browser as db  # noqa: E402  (Server, its request helpers)
import dashboard_cdp as cdp  # noqa: E402
import dashboard_data  # noqa: E402


class Remote(db.Server):
    """An already running server at URL."""
    def __init__(self, url, token):
        self.base = url.rstrip("/")
        self.port = int(self.base.rsplit(":", 1)[1])
        self.token = token
        self.proc = None
        self.log = "(remote)"

    def stop(self):
        pass


def main():
    out = os.path.abspath(sys.argv[1])
    os.makedirs(out, exist_ok=True)
    exe = cdp.find_chromium()
    if not exe:
        print("no chromium: apt-get install chromium", file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="dc_shots.")
    srv = Remote(sys.argv[2], os.environ.get("DC_TOKEN")) if len(sys.argv) > 2 else db.Server(tmp, "--workers", "1")
    b = cdp.Browser(exe, 1280, 900)
    try:
        b.open("about:blank")
        if srv.token:
            b.cmd("Page.addScriptToEvaluateOnNewDocument", {"source": "sessionStorage.setItem('dc_token', %s)" % json.dumps(srv.token)})

        views = set(filter(None, os.environ.get("DC_VIEWS", "").split(",")))
        want = lambda name: not views or name in views  # noqa: E731

        def shot(name, sel, url=None, ready=None):
            if not want(name):
                return
            if url:  # a fresh page each time (a hash change alone would not reload it)
                b.goto("about:blank")
                b.goto(srv.base + url)
                time.sleep(0.3)
            if ready and not b.wait(ready, 90):
                print("warning: %s not ready (%s)" % (name, ready), file=sys.stderr)
            time.sleep(0.4)
            path = os.path.join(out, "dashboard-%s.png" % name)
            b.shot(path, sel)
            print("wrote", path)

        if not isinstance(srv, Remote) and want("empty"):
            shot("empty", "main", "/", "document.querySelector('#ex')")
        data = os.path.join(tmp, "shapes")
        dashboard_data.write(data, 1200, 2)
        s, d = srv.json("POST", "/v1/datasets?name=shapes", open(data + ".npy", "rb").read(), {"Content-Type": "application/octet-stream"})
        assert s == 201, (s, d)
        ds = d["id"]
        s, d = srv.json("PUT", "/v1/datasets/%s/labels" % ds, open(data + ".labels.csv", "rb").read(), {"Content-Type": "text/csv"})
        assert s == 200, (s, d)
        specs = [{"method": "kmeans"},
                 {"method": "ae_kmeans", "autoencoder": {"hidden": [128, 64, 8]}, "pretrain": {"epochs": 30}},
                 {"method": "dec", "autoencoder": {"hidden": [128, 64, 8]}, "pretrain": {"epochs": 30}},
                 {"method": "vae", "autoencoder": {"hidden": [128, 64]}, "vae": {"latent": 8, "epochs": 30}, "pretrain": {"epochs": 30}}]
        if want("study"):
            # a study: 3 seeds x k 3..9 on 600 points of 6 generated blobs (unequal sizes,
            # some overlap), one pretraining per seed
            bl = os.path.join(tmp, "blobs")
            dashboard_data.blobs(bl, (150, 150, 100, 100, 50, 50), d=10, seed=4, spread=0.9, box=5.0)
            s, d = srv.json("POST", "/v1/datasets?name=blobs6", open(bl + ".npy", "rb").read(), {"Content-Type": "application/octet-stream"})
            assert s == 201, (s, d)
            bds = d["id"]
            s, d = srv.json("PUT", "/v1/datasets/%s/labels" % bds, open(bl + ".labels.csv", "rb").read(), {"Content-Type": "text/csv"})
            assert s == 200, (s, d)
            s, d = srv.json("POST", "/v1/studies", json.dumps({"dataset": bds, "seeds": [1, 2, 3], "n_clusters": {"min": 3, "max": 9},
                            "job": {"method": "ae_kmeans", "autoencoder": {"hidden": [32, 16, 4]}, "pretrain": {"epochs": 20}}}),
                            {"Content-Type": "application/json"})
            assert s == 201, (s, d)
            print(d["id"], srv.wait_study(d["id"], 900)["status"])
            shot("study", "#sv", "/#study=" + d["id"], "document.querySelector('#sv').dataset.drawn === '1'")
        if views and not views & {"running", "jobs", "job", "confusion", "samples", "recon", "generate", "embedding",
                                  "outliers", "compare", "forms"}:
            return 0
        ids = [db.submit(srv, dict(s, dataset=ds, n_clusters=6, seed=1)) for s in specs]
        for j in ids:
            print(j, srv.wait_job(j, 900)["status"])
        km, aek, dec, vae = ids
        if want("running"):
            long = db.submit(srv, {"dataset": ds, "method": "dec", "n_clusters": 6, "autoencoder": {"hidden": [256, 128, 8]},
                                   "pretrain": {"epochs": 3000}})
            end = time.time() + 60
            while time.time() < end and srv.json("GET", "/v1/jobs/" + long)[1]["status"] != "running":
                time.sleep(0.3)
            time.sleep(4)
            shot("running", "main", "/#job=" + long, "document.querySelector('#det .chart')")
            srv.json("POST", "/v1/jobs/%s/cancel" % long)
            srv.wait_job(long, 60)
        shot("jobs", "#jobs", "/#sort=-acc", "document.querySelectorAll('#t tbody tr[data-id]').length >= 5")
        done = "(h => h && h.textContent.includes('%s'))(document.querySelector('#pics h2')) && " \
               "[...document.querySelectorAll('#pics .panel')].every(p => p.dataset.drawn)" % vae
        shot("job", "#det", "/#job=" + vae, done)
        for p in ("confusion", "samples", "recon", "generate", "embedding", "outliers"):
            shot(p, "#p-" + p)
        shot("compare", "#cmp", "/#cmp=%s,%s,%s" % (aek, dec, vae), "document.querySelector('#cmp').dataset.drawn === '1'")
        b.goto(srv.base + "/")
        b.eval("document.querySelector('#upload-box').open = true; document.querySelector('#new-box').open = true")
        b.wait("document.querySelector('#nj-ds').value", 10)
        b.eval("document.querySelector('#nj-method').value = 'vae'; document.querySelector('#nj-k').value = 6;"
               " document.querySelector('#nj-ep').value = 30; document.querySelector('#nj-hid').value = '128,64';"
               " document.querySelector('#nj').dispatchEvent(new Event('input'))")
        shot("forms", "#forms")
    finally:
        b.close()
        srv.stop()
        os.system("rm -rf '%s'" % tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
