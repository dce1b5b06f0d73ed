#!/usr/bin/python3
"""The dashboard in headless Chromium against a real server (run by
tests/test_svc_browser.sh; standard library only, the browser driven over the DevTools
protocol by dashboard_cdp.py). Exit 77 when no Chromium is installed.

Set-up: a server on a free port with its own database; a generated labelled image set
(dashboard_data.py: 600 16x16 images of 6 shapes, NPY + a label file) uploaded twice,
with and without labels; jobs vae, ae_kmeans and kmeans on it, kmeans on the unlabelled
copy, all run to success (seconds). Then, in the page:
  pictures   /#job=<vae>: every panel marks itself drawn (data-drawn="1"): the confusion
             heatmap has k x classes cells and the mapping outlined, the samples,
             reconstructions, vae samples and outliers images decoded at the size of the
             service's PNG, the embedding has one circle (with a <title>) per point of
             /embedding and one cross per centroid, the outliers table 20 rows;
  dump-dom   the same from the plain command line (chromium --dump-dom, --screenshot);
  4xx        /#job=<kmeans, no labels>: the confusion and reconstructions panels show the
             route's 422 reason, no vae panel; the others draw;
  charts     the job's phase charts: integer x ticks, no null/NaN/undefined in the panel,
             ACC drawn first and widest, the others over it; chart() on 3 k-means rows
             (runs 15, 18, 20, metrics on the last) spans runs 1..20 with integer ticks,
             a marker per point, the lone metric values in the legend;
             epochs 1..3 tick 1, 2, 3 (no 1.5);
  table      filters (method, dataset, status) and sorting (click ACC: descending, again:
             ascending, jobs without ACC last), kept in the hash;
  compare    two ticked jobs: metrics side by side as the API gives them, overlaid curves;
  forms      upload through the file input (+ a label file): the dataset exists with its
             labels; the new-job form's spec preview is the spec it posts; the job runs;
             a bad n_clusters shows the server's reason and marks the field;
  study      an ae_kmeans study (2 seeds x k 2..4, 300 points of 3 blobs) run to the end,
             /#study=<id>: a list row per study; a chart per figure it has, each with an
             error-bar group per k (its mean the API's), a +-std bar where std > 0, a
             dot per seed, the suggested k marked, x ticks = the k; the suggestion and
             its reason; per k the chosen seed and consensus ACC; a row per job (seed, k,
             ACC, pretrained or from which job, the chosen/best-silhouette marks); a
             job link opens its view and pictures, the study still shown;
  study cancel  a long study: the Cancel study button cancels it, then goes;
  study form the new-study form: a repeated seed shows the reason on the seeds field; the
             spec preview is what it posts; the study runs and is shown;
  token      with --token: the token form, then the table and the pictures load;
and no uncaught error in the page. Env: DC_BIN; DC_SHOTS=dir keeps full-page screenshots.
"""
import http.client
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dashboard_cdp as cdp  # noqa: E402
import dashboard_data  # noqa: E402
import store_target as store  # noqa: E402  (SQLite file or PostgreSQL: DC_TEST_PG_URL)

BIN = os.environ.get("DC_BIN", "./build/deepclust")
PASS = FAIL = 0


def check(cond, what, got=None):
    global PASS, FAIL
    if cond:
        PASS += 1
        return True
    FAIL += 1
    print("FAIL line %d: %s%s" % (sys._getframe(1).f_lineno, what, "" if got is None else ": got %r" % (got,)),
          file=sys.stderr)
    return False


def eq(got, expected, what):
    global PASS, FAIL
    if got == expected:
        PASS += 1
        return True
    FAIL += 1
    print("FAIL line %d: %s: expected %r, got %r" % (sys._getframe(1).f_lineno, what, expected, got), file=sys.stderr)
    return False


class Server:
    def __init__(self, tmp, *args):
        self.log = os.path.join(tmp, "server%d.log" % len(os.listdir(tmp)))
        db = os.path.join(tmp, "dash.db")
        self.proc = subprocess.Popen([BIN, "serve", "--port", "0", "--db", store.target(db)] + list(args),
                                     stdout=open(self.log, "w"), stderr=subprocess.STDOUT,
                                     env=store.env(db))
        self.port = None
        for _ in range(200):
            m = re.search(r"listening on http://[^ ]*:(\d+) ", open(self.log).read())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if not self.port:
            raise RuntimeError("server did not start: " + open(self.log).read())
        self.base = "http://127.0.0.1:%d" % self.port
        self.token = None

    def req(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, r.getheader("Content-Type") or "", data

    def json(self, method, path, body=None, headers=None):
        s, _, d = self.req(method, path, body, headers)
        try:
            return s, json.loads(d)
        except ValueError:
            return s, None

    def wait_job(self, jid, timeout=240):
        end = time.time() + timeout
        while time.time() < end:
            s, j = self.json("GET", "/v1/jobs/" + jid)
            if j and j.get("status") in ("succeeded", "failed", "cancelled"):
                return j
            time.sleep(0.3)
        return self.json("GET", "/v1/jobs/" + jid)[1]

    def wait_study(self, sid, timeout=240):
        end = time.time() + timeout
        while time.time() < end:
            s, x = self.json("GET", "/v1/studies/" + sid)
            if x and x.get("status") in ("succeeded", "failed", "cancelled"):
                return x
            time.sleep(0.3)
        return self.json("GET", "/v1/studies/" + sid)[1]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def png_size(data):
    """(width, height) of a PNG, or None."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def submit(srv, spec):
    s, j = srv.json("POST", "/v1/jobs", json.dumps(spec), {"Content-Type": "application/json"})
    if not check(s == 202, "job %s accepted" % spec["method"], (s, j)):
        return None
    return j["id"]


JS_ERRORS = ("window.__errs = []; addEventListener('error', e => __errs.push(String(e.message)));"
             " addEventListener('unhandledrejection', e => __errs.push(String(e.reason && e.reason.message || e.reason)));")
def pics_of(jid):
    """JS: the pictures card is the one of job jid (the page changes job without a reload)."""
    return "(h => h && h.textContent.includes(%s))(document.querySelector('#pics h2'))" % json.dumps(jid)


PANELS_DONE = "[...document.querySelectorAll('#pics .panel')].length > 0 && [...document.querySelectorAll('#pics .panel')].every(p => p.dataset.drawn)"


def panel_states(b):
    return b.eval("JSON.stringify(Object.fromEntries([...document.querySelectorAll('#pics .panel')].map(p => "
                  "[p.dataset.panel, [p.dataset.drawn, p.dataset.status || '', p.querySelector('.body').innerText.slice(0, 160)]])))")


def img_info(b, name):
    """[src is a blob: URL, naturalWidth, naturalHeight] of the panel's <img>, or None."""
    return b.eval("(() => { const i = document.querySelector('#p-%s img'); return i ? [i.src.startsWith('blob:'), i.naturalWidth, i.naturalHeight] : null })()" % name)


def test_pictures(b, srv, vae, k, shots):
    b.goto(srv.base + "/#job=" + vae)
    check(b.wait(pics_of(vae), 20), "the pictures of the vae job are shown")
    check(b.wait(PANELS_DONE, 60), "the vae job's picture panels finished (drawn or failed) within 60 s",
          b.eval("document.querySelector('#pics') && document.querySelector('#pics').innerText.slice(0, 300)"))
    st = json.loads(panel_states(b) or "{}")
    eq(sorted(st), sorted(["confusion", "samples", "recon", "generate", "embedding", "outliers"]), "the vae job's panels")
    for name, (drawn, status, text) in st.items():
        eq(drawn, "1", "panel %s drew (status %s: %s)" % (name, status, text))
    # confusion heatmap: one cell per (cluster, class), the mapping outlined
    s, conf = srv.json("GET", "/v1/jobs/%s/confusion" % vae)
    if check(s == 200 and conf, "GET confusion (JSON)", s):
        eq(b.eval("document.querySelectorAll('#p-confusion rect.cell').length"), conf["k"] * conf["n_classes"], "heatmap cells = k x classes")
        eq(b.eval("document.querySelectorAll('#p-confusion rect.map').length"), sum(1 for m in conf["mapping"] if m >= 0), "outlined mapping cells")
    # the PNG panels: a blob: image that decoded, at the service's size
    routes = {"samples": "/v1/jobs/%s/samples?cluster=all&n=10" % vae, "recon": "/v1/jobs/%s/reconstructions?n=8" % vae,
              "outliers": "/v1/jobs/%s/outliers?n=20" % vae}
    s, job = srv.json("GET", "/v1/jobs/" + vae)
    routes["generate"] = "/v1/models/%s/generate?cluster=all&n=8" % job.get("model")
    for name, path in routes.items():
        s, ct, data = srv.req("GET", path, headers={"Accept": "image/png"})
        size = png_size(data) if s == 200 else None
        check(size, "GET %s as PNG" % path, (s, ct, data[:80]))
        info = img_info(b, name)
        check(info and info[0], "panel %s shows a blob: image" % name, info)
        if size and info:
            eq(tuple(info[1:]), size, "panel %s: the image decoded at the PNG's size" % name)
    # embedding scatter: a circle per point, a hover title each, a cross per centroid
    s, emb = srv.json("GET", "/v1/jobs/%s/embedding?n=2000" % vae)
    if check(s == 200 and emb, "GET embedding", s):
        eq(b.eval("document.querySelectorAll('#p-embedding circle.pt').length"), len(emb["points"]), "embedding circles = points")
        eq(b.eval("document.querySelectorAll('#p-embedding circle.pt > title').length"), len(emb["points"]), "a hover title per point")
        eq(b.eval("document.querySelectorAll('#p-embedding g.centroid').length"), len(emb["centroids"]), "a cross per centroid")
        eq(len(emb["centroids"]), k, "centroids = k")
        eq(b.eval("new Set([...document.querySelectorAll('#p-embedding circle.pt')].map(c => c.getAttribute('fill'))).size"),
           len(set(p["cluster"] for p in emb["points"])), "one colour per cluster")
        p0 = emb["points"][0]
        check(b.eval("[...document.querySelectorAll('#p-embedding circle.pt > title')].some(t => t.textContent === %s)"
                     % json.dumps("sample %d: cluster %d, label %s" % (p0["index"], p0["cluster"], p0["label"]))),
              "the first point's title names its cluster and true label")
    eq(b.eval("document.querySelectorAll('#p-outliers table.scores tr').length"), 21, "outliers table: a header and 20 rows")
    # the job's charts: integer x ticks, nothing unknown printed, ACC under the others
    det = b.eval("document.querySelector('#det').innerText")
    check(det and not re.search(r"\b(null|NaN|undefined)\b", det), "no null/NaN/undefined in the job panel", det and det[:400])
    eq(b.eval("document.querySelectorAll('#det .chart').length"), 2, "vae job: charts for pretrain and vae")
    xt = b.eval("[...document.querySelectorAll('#det text.xt')].map(t => t.textContent)")
    check(xt and all(re.fullmatch(r"\d+", t) for t in xt), "x ticks are integers", xt)
    order = b.eval("[...document.querySelectorAll('#det .chart')].map(c => [...c.querySelectorAll('g.series')].map(g => "
                   "[g.dataset.name, +(g.querySelector('polyline') || {getAttribute: () => 0}).getAttribute('stroke-width')]))")
    mets = [[x for x in c if x[0] in ("ACC", "NMI", "ARI", "label change")] for c in order or []]
    check(any(mets) and all(not m or (m[0][0] == "ACC" and all(m[0][1] > x[1] for x in m[1:])) for m in mets),
          "ACC is drawn first as the widest line, the other metrics on top of it", order)
    dashes = b.eval("[...[...document.querySelectorAll('#det .chart')].pop().querySelectorAll('g.series')].filter(g => "
                    "['ACC', 'NMI', 'ARI', 'label change'].includes(g.dataset.name)).map(g => [g.dataset.name, "
                    "g.querySelector('polyline') && g.querySelector('polyline').getAttribute('stroke-dasharray'), g.querySelector('.mk').tagName])")
    check(dashes and len(dashes) >= 3 and len(set(d[1] for d in dashes)) == len(dashes) and len(set(d[2] for d in dashes)) >= 3,
          "the metric curves: each its own dash pattern, 3 marker shapes or more", dashes)
    if shots:
        b.shot(os.path.join(shots, "browser-vae.png"))


def test_dump_dom(exe, srv, vae, tmp):
    """The plain command line: chromium --dump-dom and --screenshot of /#job=<vae>."""
    base = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + tempfile.mkdtemp(dir=tmp),
            "--virtual-time-budget=15000", "--window-size=1280,2400"]
    url = srv.base + "/#job=" + vae
    dom = subprocess.run(base + ["--dump-dom", url], capture_output=True, timeout=120).stdout.decode("utf-8", "replace")
    drawn = re.findall(r'<div class="panel" id="p-(\w+)" data-panel="\w+" data-drawn="([^"]*)"', dom)
    eq(sorted(drawn), sorted((p, "1") for p in ("confusion", "samples", "recon", "generate", "embedding", "outliers")),
       "--dump-dom: every panel drawn")
    s, emb = srv.json("GET", "/v1/jobs/%s/embedding?n=2000" % vae)
    eq(dom.count('<circle class="pt"'), len((emb or {}).get("points", [])) if s == 200 else -1, "--dump-dom: a circle per embedding point")
    eq(len(re.findall(r'<img [^>]*src="blob:', dom)), 4, "--dump-dom: 4 images with a blob: src")
    shot = os.path.join(tmp, "page.png")
    subprocess.run(base + ["--screenshot=" + shot, url], capture_output=True, timeout=120, cwd=tmp)
    check(os.path.exists(shot) and png_size(open(shot, "rb").read()) == (1280, 2400), "--screenshot: a 1280x2400 PNG",
          os.path.exists(shot) and png_size(open(shot, "rb").read()))


def test_chart_fixes(b):
    # 3 k-means rows as a large dataset reports them: runs 15, 18, 20, metrics on the last
    h = b.eval("""(() => { const rows = [{phase:'kmeans',step:15,loss:900},{phase:'kmeans',step:18,loss:850},
        {phase:'kmeans',step:20,loss:840,acc:0.4,nmi:0.41,ari:0.2}];
        const d = document.createElement('div'); d.id = 'probe';
        d.innerHTML = phaseChart('kmeans', rows, {method:'kmeans', spec:{cluster:{n_init:20}}}); document.body.appendChild(d);
        const r = [[...d.querySelectorAll('text.xt')].map(t => t.textContent),
                   [...d.querySelectorAll('g.series')].map(g => [g.dataset.name, g.querySelectorAll('.mk').length]),
                   d.querySelector('svg').textContent]; d.remove(); return r; })()""")
    ticks, series, text = h
    check(all(re.fullmatch(r"\d+", t) for t in ticks) and ticks[-1] == "20" and int(ticks[0]) <= 5,
          "k-means x axis: integer runs spanning 1..20", ticks)
    eq(dict(series), {"inertia (sum of squared distances)": 3, "ARI": 1, "NMI": 1, "ACC": 1}, "a marker per point")
    check("ACC 0.400" in text and "NMI 0.410" in text, "the lone metric points: their values in the legend", text)
    t = b.eval("""(() => { const rows = [1,2,3].map(e => ({phase:'pretrain',epoch:e,loss:1/e}));
        const d = document.createElement('div'); d.innerHTML = phaseChart('pretrain', rows, {method:'dec'});
        return [...d.querySelectorAll('text.xt')].map(t => t.textContent) })()""")
    eq(t, ["1", "2", "3"], "epochs 1..3: ticks 1, 2, 3")


def rows_shown(b):
    """[id, method, ACC text, dataset text] of each job row shown."""
    return b.eval("[...document.querySelectorAll('#t tbody tr[data-id]')].filter(r => r.querySelector('.cmpbox')).map(r => "
                  "[r.dataset.id, r.children[3].textContent, r.children[11].textContent, r.children[2].textContent])")


def set_select(b, sel, value):
    b.eval("(() => { const s = document.querySelector(%s); s.value = %s; s.dispatchEvent(new Event('change', {bubbles: true})); s.dispatchEvent(new Event('input', {bubbles: true})); })()"
           % (json.dumps(sel), json.dumps(value)))


def test_table(b, srv, jobs_all, nolab_ds):
    b.goto(srv.base + "/")
    b.wait("document.querySelectorAll('#t tbody tr[data-id]').length >= %d" % len(jobs_all), 15)
    eq(len(rows_shown(b)), len(jobs_all), "all jobs listed")
    check(b.wait("[...document.querySelectorAll('#t tbody tr[data-id] td:nth-child(3)')].every(t => t.textContent.startsWith('shapes'))", 5),
          "the table names the datasets", [r[3] for r in rows_shown(b)])
    set_select(b, "#f-method", "kmeans")
    b.wait("location.hash.includes('method=kmeans')", 5)
    b.wait("[...document.querySelectorAll('#t tbody tr[data-id]')].length === %d" % sum(1 for j in jobs_all if j["method"] == "kmeans"), 5)
    r = rows_shown(b)
    eq(sorted(x[1] for x in r), ["kmeans"] * sum(1 for j in jobs_all if j["method"] == "kmeans"), "method filter: only kmeans rows")
    set_select(b, "#f-method", "")
    set_select(b, "#f-dataset", nolab_ds)
    b.wait("location.hash.includes('dataset=')", 5)
    b.wait("[...document.querySelectorAll('#t tbody tr[data-id]')].length === 1", 5)
    eq([x[0] for x in rows_shown(b)], [j["id"] for j in jobs_all if j["dataset"] == nolab_ds], "dataset filter")
    set_select(b, "#f-dataset", "")
    set_select(b, "#f-status", "failed")
    check(b.wait("document.querySelector('#t tbody').innerText.includes('No job matches')", 5), "status filter: none failed")
    set_select(b, "#f-status", "")
    b.wait("location.hash === '' || location.hash === '#'", 5)
    b.eval("document.querySelector('#t th[data-k=acc]').click()")
    b.wait("location.hash.includes('sort=-acc')", 5)
    b.wait("document.querySelectorAll('#t tbody tr[data-id]').length === %d" % len(jobs_all), 5)
    got = [x[0] for x in rows_shown(b)]
    acc = {j["id"]: (j["metrics"] or {}).get("acc") for j in jobs_all}
    want = sorted([i for i in acc if acc[i] is not None], key=lambda i: -acc[i]) + [i for i in acc if acc[i] is None]
    eq([acc[i] for i in got], [acc[i] for i in want], "sorted by ACC, highest first, none last")
    b.eval("document.querySelector('#t th[data-k=acc]').click()")
    b.wait("location.hash.includes('sort=acc')", 5)
    b.wait("document.querySelectorAll('#t tbody tr[data-id]').length === %d" % len(jobs_all), 5)
    got = [x[0] for x in rows_shown(b)]
    want = sorted([i for i in acc if acc[i] is not None], key=lambda i: acc[i]) + [i for i in acc if acc[i] is None]
    eq([acc[i] for i in got], [acc[i] for i in want], "sorted by ACC, lowest first, none last")


def test_compare(b, srv, a, c, shots):
    b.goto(srv.base + "/")
    b.wait("document.querySelector('#t .cmpbox')", 10)
    for jid in (a, c):
        b.eval("document.querySelector('#t .cmpbox[data-id=%s]').click()" % jid)
    check(b.wait("location.hash.includes('cmp=%s,%s')" % (a, c), 5), "ticked jobs are in the hash", b.eval("location.hash"))
    check(b.wait("document.querySelector('#cmp').dataset.drawn === '1'", 20), "the compare panel drew")
    head = b.eval("[...document.querySelectorAll('#cmp table.cmptab tr:first-child th')].slice(1).map(t => t.textContent.trim())")
    eq([h.split()[-1] for h in head or []], [a, c], "compare: a column per job")
    accs = b.eval("[...[...document.querySelectorAll('#cmp table.cmptab tr')].find(r => r.firstChild.textContent === 'ACC').querySelectorAll('td')].map(t => t.textContent)")
    want = ["%.3f" % srv.json("GET", "/v1/jobs/" + j)[1]["metrics"]["acc"] for j in (a, c)]
    eq(accs, want, "compare: ACC side by side as the API gives it")
    n = b.eval("[...document.querySelectorAll('#cmp .chart')].map(c => c.querySelectorAll('g.series').length)")
    check(n and max(n) == 2, "compare: overlaid curves (2 series in a chart)", n)
    if shots:
        b.shot(os.path.join(shots, "browser-compare.png"))


def test_4xx(b, srv, jid):
    b.goto(srv.base + "/#job=" + jid)
    check(b.wait(pics_of(jid), 20), "the pictures of the kmeans job are shown")
    check(b.wait(PANELS_DONE, 60), "the kmeans job's panels finished within 60 s")
    st = json.loads(panel_states(b) or "{}")
    check("generate" not in st, "no vae panel for a kmeans job", list(st))
    for name in ("confusion", "recon"):
        d = st.get(name, ["?", "?", ""])
        eq(d[:2], ["error", "422"], "panel %s: the route's 422 shown" % name)
    check("label" in st.get("confusion", ["", "", ""])[2].lower(), "the confusion panel says why (no labels)", st.get("confusion"))
    for name in ("samples", "embedding", "outliers"):
        eq(st.get(name, ["?"])[0], "1", "panel %s drew for the unlabelled kmeans job (%s)" % (name, st.get(name)))
    check(b.eval("[...document.querySelectorAll('#p-embedding circle.pt > title')].every(t => t.textContent.endsWith('label none'))"),
          "embedding without labels: 'label none' on hover")


def test_forms(b, srv, tmp, data):
    b.goto(srv.base + "/")
    b.eval("document.querySelector('#upload-box').open = true")
    b.set_files("#up-file", [data + ".npy"])
    b.set_files("#up-labels", [data + ".labels.csv"])
    b.eval("document.querySelector('#up-name').value = 'from-page'")
    b.eval("document.querySelector('#up-go').click()")
    out = b.wait("(t => t.startsWith('uploaded') || document.querySelector('#up-out').className === 'err' ? t : '')(document.querySelector('#up-out').textContent)", 30)
    check(out and out.startswith("uploaded"), "upload through the page", out)
    s, l = srv.json("GET", "/v1/datasets?limit=1000")
    ds = [d for d in l["items"] if d["name"] == "from-page"]
    if not check(len(ds) == 1 and ds[0]["has_labels"] and ds[0]["n"] == 600, "the uploaded dataset, with its labels", ds):
        return
    ds = ds[0]["id"]
    check(b.wait("document.querySelector('#nj-ds').value === %s" % json.dumps(ds), 5), "the new dataset is picked in the job form")
    set_select(b, "#nj-method", "kmeans")
    b.eval("document.querySelector('#nj-k').value = 601; document.querySelector('#nj').dispatchEvent(new Event('input'))")
    b.eval("document.querySelector('#nj-go').click()")
    err = b.wait("document.querySelector('#nj-out').className === 'err' && document.querySelector('#nj-out').textContent", 10)
    check(err and "600" in err, "n_clusters over n: the server's reason shown", err)
    check(b.eval("document.querySelector('#nj-k').style.outline !== ''"), "the n_clusters field is marked")
    b.eval("document.querySelector('#nj-k').value = 6; document.querySelector('#nj').dispatchEvent(new Event('input'))")
    spec = json.loads(b.eval("document.querySelector('#nj-spec').textContent"))
    eq(spec, {"dataset": ds, "method": "kmeans", "n_clusters": 6, "seed": 0}, "the spec preview")
    b.eval("document.querySelector('#nj-go').click()")
    h = b.wait("/job=job_/.test(location.hash) && location.hash", 10)
    check(h, "submitting selects the new job", b.eval("[location.hash, document.querySelector('#nj-out').textContent]"))
    if h:
        jid = re.search(r"job=([\w-]+)", h).group(1)
        j = srv.wait_job(jid)
        eq((j["dataset"], j["method"], j["n_clusters"], j["seed"], j["status"]), (ds, "kmeans", 6, 0, "succeeded"), "the job the page posted")
        check(b.wait("document.querySelector('#det').innerText.includes(%s)" % json.dumps(jid), 10), "the page shows it")


def test_token(b, srv, vae):
    b.goto(srv.base + "/#job=" + vae)
    check(b.wait("getComputedStyle(document.querySelector('#tok')).display !== 'none'", 10), "token mode: the token form appears")
    b.eval("document.querySelector('#tokin').value = 's3cret'; document.querySelector('#tok').requestSubmit()")
    check(b.wait("document.querySelectorAll('#t tbody tr[data-id]').length >= 4", 15), "token mode: the table loads")
    check(b.wait(PANELS_DONE, 60), "token mode: the panels finish")
    eq(json.loads(panel_states(b) or "{}").get("samples", ["?"])[0], "1", "token mode: an image fetched with the token")


STUDY_SPEC = {"method": "ae_kmeans", "autoencoder": {"hidden": [16, 4]}, "pretrain": {"epochs": 8, "batch_size": 32},
              "cluster": {"n_init": 5}}


def make_study(srv, tmp):
    """An ae_kmeans study, 2 seeds x k 2..4, on 300 points of 3 blobs (labelled), run to
    the end (a second or so); returns its GET /v1/studies/{id}."""
    data = os.path.join(tmp, "blobs")
    dashboard_data.blobs(data)
    s, d = srv.json("POST", "/v1/datasets?name=blobs", open(data + ".npy", "rb").read(), {"Content-Type": "application/octet-stream"})
    if not check(s == 201, "upload blobs", (s, d)):
        return None
    ds = d["id"]
    s, d = srv.json("PUT", "/v1/datasets/%s/labels" % ds, open(data + ".labels.csv", "rb").read(), {"Content-Type": "text/csv"})
    check(s == 200, "blobs labels", (s, d))
    s, d = srv.json("POST", "/v1/studies", json.dumps({"dataset": ds, "seeds": [1, 2], "n_clusters": {"min": 2, "max": 4},
                                                       "job": STUDY_SPEC}), {"Content-Type": "application/json"})
    if not check(s == 201, "study created", (s, d)):
        return None
    return srv.wait_study(d["id"])


def test_study(b, srv, x, shots):
    sid = x["id"]
    eq((x["status"], len(x["jobs"]), len(x["per_k"])), ("succeeded", 6, 3), "the study ran: 6 jobs, 3 k")
    b.goto(srv.base + "/#study=" + sid)
    check(b.wait("document.querySelector('#sv').dataset.drawn === '1' && document.querySelector('#sv').dataset.id === %s" % json.dumps(sid), 20),
          "the study view drew", b.eval("document.querySelector('#sv').innerText.slice(0, 300)"))
    # the list: a row per study, this one selected
    s, lst = srv.json("GET", "/v1/studies?limit=50")
    eq(b.eval("[...document.querySelectorAll('#st tbody tr[data-id]')].map(r => r.dataset.id)"), [i["id"] for i in lst["items"]], "a list row per study")
    eq(b.eval("[...document.querySelectorAll('#st tbody tr.sel')].map(r => r.dataset.id)"), [sid], "the study's row is selected")
    text = b.eval("document.querySelector('#sv').innerText")
    check(text and not re.search(r"\b(null|NaN|undefined)\b", text), "no null/NaN/undefined in the study view", text and text[:400])
    check("6 of 6 jobs done" in text, "the progress", text and text[:400])
    # the charts: one per metric and criterion the study has, one error-bar group per k,
    # its mean as the API gives it, a grey dot per seed, the suggested k marked in each
    sug = x["suggestion"]["n_clusters"]
    want = [k for k in ("acc", "nmi", "ari", "silhouette", "calinski_harabasz", "davies_bouldin", "bic", "mean_loglik")
            if any(p["metrics"][k]["mean"] is not None for p in x["per_k"])] + ["stability"]
    got = b.eval("[...document.querySelectorAll('#sv .chart')].map(c => c.dataset.metric)")
    eq(got, want, "a chart per metric and criterion present (ACC/NMI/ARI with labels, no BIC for ae_kmeans)")
    for key in want:
        c = "#sv .chart[data-metric=%s]" % key
        if key == "stability":
            means = {p["n_clusters"]: p["stability"] for p in x["per_k"]}
            seeds = 0
        else:
            means = {p["n_clusters"]: p["metrics"][key]["mean"] for p in x["per_k"]}
            seeds = sum(1 for j in x["jobs"] if (j[key] if key in ("acc", "nmi", "ari") else j["criteria"][key]) is not None)
        eb = b.eval("[...document.querySelectorAll('%s g.eb')].map(g => [+g.dataset.k, g.querySelector('title').textContent])" % c)
        eq([k for k, _ in eb or []], sorted(means), "%s: an error bar per k" % key)
        for k, title in eb or []:
            m = re.match(r"k = (\d+): (-?[\d.]+)", title)
            check(m and abs(float(m.group(2)) - means[k]) <= 1e-3 * max(1, abs(means[k])), "%s k=%d: the mean the API gives" % (key, k), (title, means[k]))
        stds = [p["metrics"][key]["std"] for p in x["per_k"]] if key != "stability" else []
        eq(b.eval("document.querySelectorAll('%s g.eb path').length" % c), sum(1 for v in stds if v), "%s: a +-std bar where std > 0" % key)
        eq(b.eval("document.querySelectorAll('%s circle.seed').length" % c), seeds, "%s: a dot per seed and k" % key)
        eq(b.eval("[...document.querySelectorAll('%s g.sugk')].map(g => +g.dataset.k)" % c), [sug], "%s: the suggested k marked" % key)
        xt = b.eval("[...document.querySelectorAll('%s text.xt')].map(t => t.textContent)" % c)
        eq(xt, ["2", "3", "4"], "%s: x ticks are the k" % key)
    # the suggestion with its reason, its row in the per-k table
    check(b.eval("document.querySelector('#sv-sug').innerText") == "Suggested k = %d: %s" % (sug, x["suggestion"]["reason"]),
          "the suggested k with its reason", b.eval("document.querySelector('#sv-sug').innerText"))
    eq(b.eval("[...document.querySelectorAll('#sv-k tr.sugrow')].map(r => +r.dataset.k)"), [sug], "the per-k table marks the suggested k")
    cons = b.eval("[...document.querySelectorAll('#sv-k tr[data-k]')].map(r => r.children[7].textContent)")
    eq(cons, ["%.3f" % p["consensus_acc"] for p in x["per_k"]], "the consensus ACC per k")
    chosen = b.eval("[...document.querySelectorAll('#sv-k tr[data-k]')].map(r => r.children[3].textContent)")
    check(chosen and all(c.startswith("seed %d " % p["chosen"]["seed"]) and p["chosen"]["job"] in c for c, p in zip(chosen, x["per_k"])),
          "the chosen seed per k", chosen)
    # the per-seed table: a row per job, with its marks and whether it pretrained
    rows = b.eval("[...document.querySelectorAll('#sv-jobs tr.sj')].map(r => [r.dataset.id, r.children[1].textContent, r.children[2].textContent, "
                  "r.children[4].textContent, r.querySelector('td:nth-last-child(3)').textContent, r.querySelector('.marks').textContent])")
    eq([r[0] for r in rows or []], [j["id"] for j in x["jobs"]], "a table row per job")
    ch = {p["chosen"]["job"] for p in x["per_k"]}
    bs = {p["best_silhouette"]["job"] for p in x["per_k"]}
    for r, j in zip(rows or [], x["jobs"]):
        eq((r[1], r[2], r[3]), (str(j["seed"]), str(j["n_clusters"]), "%.3f" % j["acc"]), "job %s: seed, k, ACC" % j["id"])
        eq(r[4].startswith("no: from " + j["ae_job"]) if j["ae_job"] else r[4].startswith("yes"), True, "job %s: pretrained or not (%s)" % (j["id"], r[4]))
        eq(("chosen" in r[5], "best silhouette" in r[5]), (j["id"] in ch, j["id"] in bs), "job %s: marks (%s)" % (j["id"], r[5]))
    eq(sum(1 for j in x["jobs"] if j["pretrains"]), 2, "one pretraining per seed")
    if shots:
        b.shot(os.path.join(shots, "browser-study.png"), "#sv")
    # a job's link opens its view (the pictures drawn), the study stays selected
    jid = x["jobs"][-1]["id"]
    b.eval("document.querySelector('#sv-jobs tr.sj[data-id=%s] a.jl').click()" % jid)
    check(b.wait("location.hash.includes('job=%s') && location.hash.includes('study=%s')" % (jid, sid), 5), "the job link: both in the hash", b.eval("location.hash"))
    check(b.wait("document.querySelector('#det').innerText.includes(%s)" % json.dumps(jid), 15), "the job link opens the job's view")
    check(b.wait(pics_of(jid), 20) and b.wait(PANELS_DONE, 60), "the job's pictures are drawn")
    eq(json.loads(panel_states(b) or "{}").get("embedding", ["?"])[0], "1", "the job's embedding panel drew")
    check(b.eval("document.querySelector('#sv').dataset.id") == sid, "the study view stays")


def test_study_cancel(b, srv, ds):
    """A long study: the cancel button while it has queued/running jobs, then none."""
    long = dict(STUDY_SPEC, pretrain={"epochs": 100000, "batch_size": 8})
    s, d = srv.json("POST", "/v1/studies", json.dumps({"dataset": ds, "seeds": [1, 2], "n_clusters": [2, 3], "job": long}),
                    {"Content-Type": "application/json"})
    if not check(s == 201, "long study created", (s, d)):
        return
    sid = d["id"]
    b.goto(srv.base + "/#study=" + sid)
    check(b.wait("document.querySelector('#sv-cancel')", 20), "a cancel button while the study has queued/running jobs",
          b.eval("document.querySelector('#sv').innerText.slice(0, 300)"))
    b.eval("window.confirm = () => true; document.querySelector('#sv-cancel').click()")
    x = srv.wait_study(sid, 30)
    eq(x["status"], "cancelled", "the study was cancelled through the page")
    check(b.wait("!document.querySelector('#sv-cancel') && document.querySelector('#sv .b.cancelled')", 15), "no cancel button once nothing is left to run")


def test_study_form(b, srv, ds):
    """The new-study form: a repeated seed shows the server's reason on the seeds field;
    then the study it posts (its spec preview) is created and selected."""
    b.goto(srv.base + "/")
    b.eval("document.querySelector('#study-box').open = true")
    check(b.wait("[...document.querySelectorAll('#ns-ds option')].some(o => o.value === %s)" % json.dumps(ds), 10), "the study form lists the dataset")
    set_select(b, "#ns-ds", ds)
    set_select(b, "#ns-method", "kmeans")
    b.eval("const f = (s, v) => { document.querySelector(s).value = v; }; f('#ns-seeds', '1, 1'); f('#ns-kmin', 2); f('#ns-kmax', 3);"
           " document.querySelector('#ns').dispatchEvent(new Event('input'))")
    b.eval("document.querySelector('#ns-go').click()")
    err = b.wait("document.querySelector('#ns-out').className === 'err' && document.querySelector('#ns-out').textContent", 10)
    check(err and "seeds" in err, "a repeated seed: the server's reason shown", err)
    check(b.eval("document.querySelector('#ns-seeds').style.outline !== ''"), "the seeds field is marked")
    b.eval("document.querySelector('#ns-seeds').value = '1,2'; document.querySelector('#ns').dispatchEvent(new Event('input'))")
    spec = json.loads(b.eval("document.querySelector('#ns-spec').textContent"))
    eq(spec, {"dataset": ds, "seeds": [1, 2], "n_clusters": {"min": 2, "max": 3}, "job": {"method": "kmeans"}}, "the study spec preview")
    b.eval("document.querySelector('#ns-go').click()")
    h = b.wait("/study=std_/.test(location.hash) && location.hash", 10)
    check(h, "starting a study selects it", b.eval("[location.hash, document.querySelector('#ns-out').textContent]"))
    if h:
        sid = re.search(r"study=([\w-]+)", h).group(1)
        x = srv.wait_study(sid, 60)
        eq((x["dataset"], x["method"], x["seeds"], x["n_clusters"], x["status"]), (ds, "kmeans", [1, 2], [2, 3], "succeeded"), "the study the page posted")
        check(b.wait("document.querySelector('#sv').dataset.id === %s && document.querySelectorAll('#sv-jobs tr.sj').length === 4" % json.dumps(sid), 15),
              "the page shows it, a row per job")


def main():
    exe = cdp.find_chromium()
    if not exe:
        print("SKIP: no chromium (apt-get install chromium) - the dashboard is not drawn")
        return 77
    shots = os.environ.get("DC_SHOTS")
    tmp = tempfile.mkdtemp(prefix="dc_browser.")
    data = os.path.join(tmp, "shapes")
    dashboard_data.write(data, 600, 1)
    srv = Server(tmp, "--workers", "1")
    b = None
    try:
        npy = open(data + ".npy", "rb").read()
        octet = {"Content-Type": "application/octet-stream"}
        s, d = srv.json("POST", "/v1/datasets?name=shapes", npy, octet)
        check(s == 201, "upload", (s, d))
        lab = d["id"]
        s, d = srv.json("PUT", "/v1/datasets/%s/labels" % lab, open(data + ".labels.csv", "rb").read(), {"Content-Type": "text/csv"})
        check(s == 200 and d["has_labels"], "labels", (s, d))
        s, d = srv.json("POST", "/v1/datasets?name=shapes-nolabels", npy, octet)
        nolab = d["id"]
        k = 6
        vae = submit(srv, {"dataset": lab, "method": "vae", "n_clusters": k, "autoencoder": {"hidden": [64, 32]},
                           "vae": {"latent": 6, "epochs": 8}, "pretrain": {"epochs": 8}})
        aek = submit(srv, {"dataset": lab, "method": "ae_kmeans", "n_clusters": k, "autoencoder": {"hidden": [64, 32, 8]},
                           "pretrain": {"epochs": 8}})
        km = submit(srv, {"dataset": lab, "method": "kmeans", "n_clusters": k})
        km0 = submit(srv, {"dataset": nolab, "method": "kmeans", "n_clusters": k})
        t0 = time.time()
        jobs_all = [srv.wait_job(j) for j in (vae, aek, km, km0)]
        for j in jobs_all:
            eq(j["status"], "succeeded", "job %s (%s)" % (j["id"], j["method"]))
        print("jobs ran in %.1f s" % (time.time() - t0))
        b = cdp.Browser(exe)
        b.open("about:blank")
        b.cmd("Page.addScriptToEvaluateOnNewDocument", {"source": JS_ERRORS})
        for name, f in (("pictures", lambda: test_pictures(b, srv, vae, k, shots)), ("dump-dom", lambda: test_dump_dom(exe, srv, vae, tmp)),
                        ("chart fixes", lambda: test_chart_fixes(b)),
                        ("4xx panels", lambda: test_4xx(b, srv, km0)), ("table", lambda: test_table(b, srv, jobs_all, nolab)),
                        ("compare", lambda: test_compare(b, srv, vae, aek, shots)), ("forms", lambda: test_forms(b, srv, tmp, data)),
                        ("study", lambda: test_study(b, srv, make_study(srv, tmp), shots)),
                        ("study cancel", lambda: test_study_cancel(b, srv, lab)),
                        ("study form", lambda: test_study_form(b, srv, lab))):
            f0 = FAIL
            try:
                f()
            except Exception as e:  # a broken step fails, the others still run
                check(False, "%s: %s: %s" % (name, type(e).__name__, e))
            errs = b.eval("window.__errs || []")
            eq(errs, [], "%s: uncaught errors in the page" % name)
            print("%-12s %s" % (name, "ok" if FAIL == f0 else "FAILED"))
        srv.stop()
        srv = Server(tmp, "--workers", "1", "--token", "s3cret")
        srv.token = "s3cret"
        f0 = FAIL
        try:
            test_token(b, srv, vae)
        except Exception as e:
            check(False, "token: %s: %s" % (type(e).__name__, e))
        print("%-12s %s" % ("token", "ok" if FAIL == f0 else "FAILED"))
    finally:
        if b:
            b.close()
        srv.stop()
        if FAIL:
            print("server log %s kept in %s" % (srv.log, tmp), file=sys.stderr)
        else:
            subprocess.run(["rm", "-rf", tmp])
    print("dashboard_browser: %d passed, %d failed" % (PASS, FAIL))
    return 1 if FAIL else 0


if __name__ == "__main__":
    sys.exit(main())
