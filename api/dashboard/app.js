// deepclust dashboard (served at GET /; inlined into index.html at build time by
// cmake/embed_dashboard.cmake). Plain JS, no dependencies, nothing fetched from outside
// the service. Parts, top to bottom:
//   api calls      call/api/blobURL: the bearer token when set, 401 -> the token form,
//                  4xx/5xx -> ApiError with the problem's detail;
//   page state     the URL hash (#study=<id>&job=<id>&cmp=a,b&sort=-acc&status=&method=&dataset=),
//                  so every view is a link;
//   job table      the 200 newest jobs, sortable (click a header) and filtered (status,
//                  method, dataset); tick boxes to compare;
//   charts         chart(): an SVG line chart (integer x ticks, markers for few points,
//                  distinct dash and marker per metric, ACC drawn last);
//   selected job   summary, one chart per phase, and for a finished job the pictures:
//                  confusion heatmap, per-cluster samples, reconstructions, vae samples,
//                  embedding scatter, outliers; each panel marks itself data-drawn="1",
//                  or "error" with the route's reason (e.g. 422 no labels);
//   compare        final metrics side by side, loss and ACC curves overlaid;
//   studies        the list (GET /v1/studies) and the selected study: progress, each
//                  metric and criterion against k (error bars over seeds, the suggested k
//                  marked), the summary per k, the per-seed table linking each job's view;
//   forms          upload a dataset (POST /v1/datasets), submit a job (POST /v1/jobs),
//                  start a study (POST /v1/studies);
//   refresh        every 2 s while a job or study is queued or running, 10 s otherwise.
// API paths are written as quoted literals starting with /v1/ (tests/test_svc_dashboard.sh
// checks each against the route table).
'use strict';
const $ = s => document.querySelector(s);
const POLL_ACTIVE = 2000, POLL_IDLE = 10000, PAGE = 1000, LIST = 200;
const METHODS = ['n2d', 'kmeans', 'ae_kmeans', 'dec', 'idec', 'dcec', 'vae'];
let token = sessionStorage.getItem('dc_token') || '';
// page state, mirrored in the hash
const st = {sel: null, study: null, cmp: [], sort: 'created', desc: true, status: '', method: '', dataset: ''};
let autoSel = null, jobList = [], listTotal = 0, jobsById = {}, datasets = {}, dsAsked = 0, dsLoading = null;
let itCache = {}, timer = null, picsKey = '', picURLs = [], cmpKey = '';

// ---- formatting ---------------------------------------------------------------------
const esc = s => String(s == null ? '' : s).replace(/[&<>'"]/g, c => '&#' + c.charCodeAt(0) + ';');
const num = v => typeof v === 'number' && isFinite(v);
const dash = '<span class=dim>&mdash;</span>';
const f3 = v => num(v) ? v.toFixed(3) : dash;
const enc = encodeURIComponent;
function fmtNum(v) {
  if (!num(v)) return dash;
  const a = Math.abs(v);
  if (a >= 1e9) return +(v / 1e9).toPrecision(3) + 'G';
  if (a >= 1e6) return +(v / 1e6).toPrecision(3) + 'M';
  if (a >= 1e4) return +(v / 1e3).toPrecision(3) + 'k';
  return a !== 0 && a < 1e-3 ? v.toExponential(1) : +v.toPrecision(4) + '';
}
function dur(s) {
  if (!num(s)) return dash;
  if (s < 1) return Math.round(s * 1000) + ' ms';
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + ' s';
  const m = Math.floor(s / 60);
  if (m < 10) return m + ' min ' + Math.floor(s % 60) + ' s';
  if (m < 60) return m + ' min';
  return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
}
function when(iso) {
  if (!iso) return dash;
  const d = new Date(iso);
  if (isNaN(d)) return esc(iso);
  const p = n => String(n).padStart(2, '0'), t = p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds());
  const day = d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate());
  return '<span title=' + esc(iso) + '>' + (d.toDateString() === new Date().toDateString() ? t : day + ' ' + t) + '</span>';
}
const bytes = n => n >= 1e6 ? (n / 1e6).toFixed(1) + ' MB' : n >= 1e3 ? (n / 1e3).toFixed(0) + ' kB' : n + ' B';
const active = x => x.status === 'queued' || x.status === 'running';
const barCol = {queued: '#aaa', running: '#27c', succeeded: '#2a7', failed: '#c33', cancelled: '#c80'};
const dsName = id => (datasets[id] && datasets[id].name) || id;
// colours: clusters (tab10, then evenly spaced hues) and compared jobs
const TAB10 = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const clusterCol = c => c < 10 ? TAB10[c] : 'hsl(' + Math.round(c * 137.508 % 360) + ',60%,45%)';
const JOBDASH = ['', '7 4', '2 3', '9 3 2 3'];

function showErr(m) {
  const b = $('#banner');
  b.textContent = m || '';
  b.style.display = m ? 'block' : 'none';
  document.body.dataset.state = m ? 'error' : 'ok';
}

// ---- api calls ----------------------------------------------------------------------
class ApiError extends Error {
  constructor(u, status, d) {
    super(u + ': HTTP ' + status + (d && d.detail ? ' \u2014 ' + d.detail : ''));
    this.status = status;
    this.detail = (d && d.detail) || '';
    this.field = (d && d.field) || '';
  }
}
// call(u, opt) -> the Response of a 2xx; throws ApiError otherwise
async function call(u, opt) {
  opt = opt || {};
  opt.headers = Object.assign({}, opt.headers || {});
  if (token) opt.headers.Authorization = 'Bearer ' + token;
  const r = await fetch(u, opt);
  if (r.status === 401) {
    $('#tok').style.display = 'block';
    throw new ApiError(u, 401, {detail: 'this service needs a token (enter it above)'});
  }
  if (!r.ok) {
    let d = null;
    try { d = await r.json(); } catch (e) { /* not problem+json */ }
    throw new ApiError(u, r.status, d);
  }
  return r;
}
async function api(u, opt) {
  const r = await call(u, opt);
  return r.status === 204 ? null : r.json();
}
// a PNG route as an object URL for <img src> (revoked when the selection changes)
async function blobURL(u) {
  const r = await call(u, {headers: {Accept: 'image/png'}, cache: 'no-store'});
  const b = await r.blob();
  if (!/^image\//.test(b.type)) throw new ApiError(u, r.status, {detail: 'expected a PNG, got ' + (b.type || 'no type')});
  const url = URL.createObjectURL(b);
  picURLs.push(url);
  return url;
}

// ---- page state in the hash ---------------------------------------------------------
function readHash() {
  const h = new URLSearchParams(location.hash.replace(/^#/, ''));
  st.sel = h.get('job') || null;
  st.study = h.get('study') || null;
  st.cmp = (h.get('cmp') || '').split(',').filter(Boolean);
  const s = h.get('sort') || '-created';
  st.desc = s[0] === '-';
  st.sort = s.replace(/^-/, '');
  st.status = h.get('status') || '';
  st.method = h.get('method') || '';
  st.dataset = h.get('dataset') || '';
}
function writeHash() {
  const h = new URLSearchParams();
  if (st.study) h.set('study', st.study);
  if (st.sel) h.set('job', st.sel);
  if (st.cmp.length) h.set('cmp', st.cmp.join(','));
  const s = (st.desc ? '-' : '') + st.sort;
  if (s !== '-created') h.set('sort', s);
  for (const k of ['status', 'method', 'dataset']) if (st[k]) h.set(k, st[k]);
  const v = h.toString().replace(/%2C/g, ',');
  if (v !== location.hash.replace(/^#/, '')) location.hash = v;
}

// ---- job table ----------------------------------------------------------------------
// the dataset list (names for the table, the job form's choices); callers share the
// request in flight, and ask again at most every 30 s unless forced
function loadDatasets(force) {
  if (dsLoading) return dsLoading;
  if (!force && Date.now() - dsAsked < 30000) return Promise.resolve();
  dsAsked = Date.now();
  dsLoading = api('/v1/datasets?limit=1000').then(d => {
    datasets = {};
    for (const s of d.items) datasets[s.id] = s;
    fillDatasetSelects();
  }).catch(() => { /* names are a nicety: the table still shows ids */ }).finally(() => { dsLoading = null; });
  return dsLoading;
}
function runTime(x) {
  const t = x.timings || {};
  if (x.status === 'queued') {
    const q = (Date.now() - new Date(x.created_at)) / 1000;
    return num(q) ? 'waiting ' + dur(Math.max(0, q)) : dash;
  }
  return dur(t.running_s);
}
function row(x) {
  const m = x.metrics || {}, p = num(x.progress) ? Math.max(0, Math.min(100, x.progress)) : 0;
  const ds = datasets[x.dataset];
  return '<td><input type=checkbox class=cmpbox data-id="' + esc(x.id) + '"' + (st.cmp.includes(x.id) ? ' checked' : '') + ' title="compare">' +
    '<td class=mono>' + esc(x.id) + '<td>' + (ds ? esc(ds.name || x.dataset) : '<span class=mono>' + esc(x.dataset) + '</span>') +
    '<td>' + esc(x.method) + '<td class=n>' + esc(x.n_clusters) + '<td><span class="b ' + esc(x.status) + '">' + esc(x.status) + '</span>' +
    (x.cancel_requested && x.status === 'running' ? ' <span class=dim>cancelling</span>' : '') +
    '<td>' + (x.phase ? esc(x.phase) : dash) +
    '<td><span class=bar><i style="width:' + p + '%;background:' + (barCol[x.status] || '#999') + '"></i></span> ' + p.toFixed(p < 10 && p > 0 ? 1 : 0) + '%' +
    '<td class=n>' + (x.status === 'running' ? dur(x.eta_s) : dash) + '<td class=n>' + runTime(x) + '<td>' + when(x.created_at) +
    '<td class=n>' + f3(m.acc) + '<td class=n>' + f3(m.nmi) + '<td class=n>' + f3(m.ari);
}
const sortKey = {
  id: x => x.id, dataset: x => dsName(x.dataset), method: x => x.method, k: x => x.n_clusters,
  status: x => x.status, progress: x => x.progress, run: x => (x.timings || {}).running_s,
  created: x => x.created_at, acc: x => (x.metrics || {}).acc, nmi: x => (x.metrics || {}).nmi,
  ari: x => (x.metrics || {}).ari,
};
// sorted by st.sort; rows without a value last whatever the direction, then newest first
function sortJobs(rows) {
  const f = sortKey[st.sort] || sortKey.created, dir = st.desc ? -1 : 1;
  const none = v => v == null || v === '' || (typeof v === 'number' && !isFinite(v));
  return rows.slice().sort((a, b) => {
    const u = f(a), v = f(b), nu = none(u), nv = none(v);
    if (nu || nv) return nu - nv || (a.created_at < b.created_at ? 1 : -1);
    return (u < v ? -1 : u > v ? 1 : 0) * dir || (a.created_at < b.created_at ? 1 : -1);
  });
}
const filtered = () => jobList.filter(x => (!st.status || x.status === st.status) &&
  (!st.method || x.method === st.method) && (!st.dataset || x.dataset === st.dataset));
function syncControls() {
  for (const k of ['status', 'method', 'dataset']) $('#f-' + k).value = st[k];
  for (const th of document.querySelectorAll('#t th[data-k]')) {
    if (!th.dataset.l) th.dataset.l = th.textContent;
    const on = th.dataset.k === st.sort;
    th.innerHTML = esc(th.dataset.l) + (on ? ' <span class=arr>' + (st.desc ? '\u25bc' : '\u25b2') + '</span>' : '');
    th.setAttribute('aria-sort', on ? (st.desc ? 'descending' : 'ascending') : 'none');
  }
}
function fillFilterOptions() {
  const fm = $('#f-method'), fd = $('#f-dataset');
  const methods = METHODS.filter(m => m === st.method || jobList.some(x => x.method === m));
  const dss = [...new Set(jobList.map(x => x.dataset).concat(st.dataset ? [st.dataset] : []))];
  const mo = '<option value="">all</option>' + methods.map(m => '<option>' + esc(m) + '</option>').join('');
  const dO = '<option value="">all</option>' + dss.map(d => '<option value="' + esc(d) + '">' + esc(dsName(d)) + '</option>').join('');
  if (fm.dataset.o !== mo) { fm.innerHTML = mo; fm.dataset.o = mo; }
  if (fd.dataset.o !== dO) { fd.innerHTML = dO; fd.dataset.o = dO; }
}
function renderJobs() {
  fillFilterOptions();
  syncControls();
  const tb = $('#t tbody'), rows = sortJobs(filtered());
  const sel = st.sel || autoSel;
  if (!jobList.length) {
    tb.innerHTML = '<tr><td colspan=14 class=empty><b>No jobs yet.</b> Upload a dataset and submit a job below, or with ' +
      '<code>POST /v1/datasets</code> and <code>POST /v1/jobs</code>, n2d first: ' +
      '<code id=ex>{"dataset":"ds_...","method":"n2d","n_clusters":10,"pretrain":{"epochs":20}}</code> ' +
      '(<a href="/openapi.yaml">API description</a>). Jobs appear here as soon as they are queued.</td></tr>';
  } else if (!rows.length) {
    tb.innerHTML = '<tr><td colspan=14 class=empty>No job matches the filters.</td></tr>';
  } else {
    tb.innerHTML = '';
    for (const x of rows) {
      const tr = document.createElement('tr');
      tr.dataset.id = x.id;
      if (x.id === sel) tr.className = 'sel';
      tr.innerHTML = row(x);
      tr.onclick = ev => { if (ev.target.classList.contains('cmpbox')) return; st.sel = x.id; writeHash(); };
      tb.appendChild(tr);
      if (x.status === 'failed' && x.error) {
        const e = document.createElement('tr');
        e.dataset.id = x.id;
        e.onclick = tr.onclick;
        e.innerHTML = '<td></td><td colspan=13 class=err>error: ' + esc(x.error) + '</td>';
        tb.appendChild(e);
      }
    }
  }
  for (const b of tb.querySelectorAll('.cmpbox')) b.onchange = () => {
    const id = b.dataset.id;
    st.cmp = b.checked ? st.cmp.filter(i => i !== id).concat([id]) : st.cmp.filter(i => i !== id);
    writeHash();
  };
  const shown = rows.length, all = jobList.length;
  $('#more').textContent = (shown < all ? 'showing ' + shown + ' of the ' + all + ' jobs listed (filters)' : '') +
    (listTotal > all ? (shown < all ? '; ' : '') + 'the ' + all + ' newest of ' + listTotal + ' jobs' : '');
  $('#cmpinfo').textContent = st.cmp.length >= 2 ? 'comparing ' + st.cmp.length + ' jobs (below)' :
    st.cmp.length === 1 ? 'tick one more job to compare' : 'tick two or more jobs to compare them';
  tb.dataset.n = shown;
}
async function jobs() {
  const d = await api('/v1/jobs?limit=' + LIST);
  jobList = d.items;
  listTotal = d.total;
  jobsById = {};
  for (const x of d.items) jobsById[x.id] = x;
  // a dataset not seen yet (uploaded elsewhere): ask again, at most every 2 s
  if (d.items.some(x => !(x.dataset in datasets))) await loadDatasets(Date.now() - dsAsked > 2000);
  const c = {};
  for (const x of d.items) c[x.status] = (c[x.status] || 0) + 1;
  $('#sum').innerHTML = Object.keys(barCol).filter(k => c[k]).map(k => '<span class="b ' + k + '">' + c[k] + ' ' + k + '</span>').join(' ');
  autoSel = null;
  if (!st.sel && d.items.length) {
    const pick = d.items.find(x => x.status === 'running') || d.items.find(x => x.status !== 'queued') || d.items[0];
    autoSel = pick.id;
  }
  renderJobs();
  return d.items;
}
async function iterations(id) {
  const c = itCache[id] || (itCache[id] = {rows: [], since: -1});
  for (let i = 0; i < 50; i++) {
    const d = await api('/v1/jobs/' + enc(id) + '/iterations?limit=' + PAGE + '&since=' + c.since);
    c.rows.push(...d.items);
    c.since = d.next_since;
    if (d.items.length < PAGE) break;
  }
  return c.rows;
}

// ---- charts -------------------------------------------------------------------------
const phaseInfo = {
  pretrain: ['Autoencoder pretraining', 'epoch', 'reconstruction loss'],
  kmeans: ['k-means', 'run', 'inertia (sum of squared distances)'],
  cluster: ['Self-training', 'target update', 'clustering loss'],
  vae: ['VAE training', 'epoch', 'loss (negative ELBO)'],
  knn: ['UMAP kNN search', 'row block', '(no loss)'], graph: ['UMAP fuzzy graph', 'step', '(no loss)'],
  manifold_init: ['UMAP spectral init', 'iteration', '(no loss)'], manifold: ['UMAP layout', 'epoch', '(no loss)'],
  mixture: ['Gaussian mixture (EM)', 'EM iteration', '\u2212mean log-likelihood'],
};
// metrics on the 0-1 axis: each its own colour, dash and marker, so two that coincide
// stay visible: ACC is a wide translucent band with large markers, drawn first, the
// others thinner and dashed on top of it (ACC under NMI still shows around it)
const MET = {
  acc: {name: 'ACC', col: '#1f5fbf', dash: '', w: 5, op: 0.45, mk: 'circle', ms: 1.5},
  nmi: {name: 'NMI', col: '#2a7', dash: '7 4', w: 1.6, mk: 'square'},
  ari: {name: 'ARI', col: '#a5c', dash: '2 3', w: 1.8, mk: 'tri'},
  label_change: {name: 'label change', col: '#c80', dash: '9 3 2 3', w: 1.3, mk: 'diamond'},
};
const DRAW_ORDER = ['acc', 'nmi', 'ari', 'label_change'];
// a marker of shape mk at (x, y), size s times the default
function marker(mk, x, y, col, s) {
  s = s || 1;
  x = +x.toFixed(1); y = +y.toFixed(1);
  const f = v => +(v * s).toFixed(2);
  if (mk === 'square') return '<rect class=mk x=' + (x - f(3)) + ' y=' + (y - f(3)) + ' width=' + f(6) + ' height=' + f(6) + ' fill="' + col + '" />';
  if (mk === 'tri') return '<path class=mk d="M' + x + ',' + (y - f(4.2)) + 'l' + f(3.8) + ',' + f(6.6) + 'h' + f(-7.6) + 'z" fill="' + col + '" />';
  if (mk === 'diamond') return '<path class=mk d="M' + x + ',' + (y - f(4.2)) + 'l' + f(4) + ',' + f(4.2) + 'l' + f(-4) + ',' + f(4.2) + 'l' + f(-4) + ',' + f(-4.2) + 'z" fill="' + col + '" />';
  return '<circle class=mk cx=' + x + ' cy=' + y + ' r=' + f(3.4) + ' fill="' + col + '" />';
}
function step(lo, hi, n) {
  const span = hi - lo || Math.abs(hi) || 1, st0 = Math.pow(10, Math.floor(Math.log10(span / n)));
  return [1, 2, 5, 10].find(k => span / (st0 * k) <= n) * st0;
}
// ticks from lo to hi, about n; integers only when int (epochs, runs, updates)
function ticks(lo, hi, n, int) {
  let m = step(lo, hi, n);
  if (int) m = Math.max(1, Math.round(m));
  const out = [];
  for (let v = Math.ceil(lo / m - 1e-9) * m; v <= hi + m * 1e-9; v += m) out.push(+v.toPrecision(12));
  return out;
}
// chart(o): an SVG line chart. o = {title, sub, xlabel, xint, xdom: [lo, hi] to include,
// yfix: [lo, hi] for the left axis (else fitted; log when the values span 30x),
// right01: a fixed 0-1 right axis, series: [{name, col, dash, w, mk, axis: 'L'|'R',
// pts: [[x, y], ...], rank (legend order)}] in drawing order}.
function chart(o) {
  const W = o.w || 560, H = o.h || 270, L = 56, R = o.right01 ? 40 : 14, B = 34;
  // a series with a single point says its value in the legend (no label to collide)
  for (const se of o.series) {
    const q = se.pts.filter(p => num(p[0]) && num(p[1]));
    se.label = se.name + (q.length === 1 ? ' ' + (se.axis === 'R' ? q[0][1].toFixed(3) : fmtNum(q[0][1]).replace(/<[^>]*>/g, '')) : '');
  }
  const legend = o.series.filter(s => s.pts.length).slice().sort((a, b) => (a.rank || 0) - (b.rank || 0));
  const lw = s => s.label.length * 6.6 + 40;
  let lrows = 1, acc = 0;
  for (const s of legend) { if (acc + lw(s) > W - L - R && acc > 0) { lrows++; acc = 0; } acc += lw(s); }
  const T = 10 + 16 * lrows, ph = H - T - B, pw = W - L - R;
  let xs = [].concat(...o.series.map(s => s.pts.map(p => p[0]))).filter(num);
  if (o.xdom) xs = xs.concat(o.xdom);
  let x0 = xs.length ? Math.min(...xs) : 0, x1 = xs.length ? Math.max(...xs) : 1;
  if (x1 === x0) { x0 -= 1; x1 += 1; }  // one x value: centred
  const X = v => L + (v - x0) / (x1 - x0) * pw;
  const lv = [].concat(...o.series.filter(s => s.axis !== 'R').map(s => s.pts.map(p => p[1]))).filter(num);
  let lo, hi, log = false, lt, Y;
  if (o.yfix) {
    [lo, hi] = o.yfix;
    lt = ticks(lo, hi, 5);
    Y = v => T + ph - (v - lo) / (hi - lo) * ph;
  } else {
    lo = lv.length ? Math.min(...lv) : 0;
    hi = lv.length ? Math.max(...lv) : 1;
    if (hi === lo) { lo -= Math.abs(lo) * 0.1 || 1; hi += Math.abs(hi) * 0.1 || 1; }
    log = lo > 0 && hi / lo >= 30;
    if (log) {
      lo = Math.pow(10, Math.floor(Math.log10(lo) + 1e-9));
      hi = Math.pow(10, Math.ceil(Math.log10(hi) - 1e-9));
      lt = [];
      const dec = Math.round(Math.log10(hi / lo));
      for (let v = lo; v <= hi * 1.0001; v *= 10)
        for (const k of dec <= 2 ? [1, 2, 5] : [1]) if (v * k <= hi * 1.0001) lt.push(+(v * k).toPrecision(6));
      Y = v => T + ph - Math.log10(v / lo) / Math.log10(hi / lo) * ph;
    } else {
      const ys = step(lo, hi, 5);
      lo = Math.floor(lo / ys + 1e-9) * ys;
      hi = Math.ceil(hi / ys - 1e-9) * ys;
      lt = ticks(lo, hi, 5);
      Y = v => T + ph - (v - lo) / (hi - lo) * ph;
    }
  }
  const Y1 = v => T + ph - v * ph;
  let s = '<svg width=' + W + ' height=' + H + ' viewBox="0 0 ' + W + ' ' + H + '">';
  for (const v of lt) s += '<line x1=' + L + ' x2=' + (L + pw) + ' y1=' + Y(v) + ' y2=' + Y(v) + ' stroke="#eee" /><text x=' + (L - 5) + ' y=' + (Y(v) + 4) + ' text-anchor=end>' + fmtNum(v) + '</text>';
  for (const v of ticks(x0, x1, 6, o.xint).filter(v => v >= x0 && v <= x1))
    s += '<line x1=' + X(v) + ' x2=' + X(v) + ' y1=' + (T + ph) + ' y2=' + (T + ph + 4) + ' stroke="#999" /><text class=xt x=' + X(v) + ' y=' + (T + ph + 16) + ' text-anchor=middle>' + fmtNum(v) + '</text>';
  s += '<rect x=' + L + ' y=' + T + ' width=' + pw + ' height=' + ph + ' fill=none stroke="#bbb" />';
  s += '<text x=' + (L + pw / 2) + ' y=' + (H - 4) + ' text-anchor=middle>' + esc(o.xlabel) + '</text>';
  if (o.right01) for (const v of [0, 0.25, 0.5, 0.75, 1]) s += '<text x=' + (L + pw + 5) + ' y=' + (Y1(v) + 4) + '>' + v.toFixed(2) + '</text>';
  for (const se of o.series) {
    const sc = se.axis === 'R' ? Y1 : Y;
    const p = se.pts.filter(q => num(q[0]) && num(q[1]) && (!log || se.axis === 'R' || q[1] > 0)).map(q => [X(q[0]), sc(q[1]), q[1]]);
    if (!p.length) continue;
    s += '<g class=series data-name="' + esc(se.name) + '" data-n=' + p.length + '>';
    if (p.length > 1)
      s += '<polyline fill=none stroke="' + se.col + '" stroke-width=' + (se.w || 1.6) + (se.dash ? ' stroke-dasharray="' + se.dash + '"' : '') +
        (se.op ? ' stroke-opacity=' + se.op : '') + ' points="' + p.map(q => q[0].toFixed(1) + ',' + q[1].toFixed(1)).join(' ') + '" />';
    if (p.length <= 40) for (const q of p) s += marker(se.mk, q[0], q[1], se.col, se.ms);
    s += '</g>';
  }
  let lx = L, ly = 12;
  for (const se of legend) {
    if (lx + lw(se) > W - R && lx > L) { lx = L; ly += 16; }
    s += '<line x1=' + lx + ' x2=' + (lx + 22) + ' y1=' + ly + ' y2=' + ly + ' stroke="' + se.col + '" stroke-width=' + (se.w || 1.6) +
      (se.dash ? ' stroke-dasharray="' + se.dash + '"' : '') + (se.op ? ' stroke-opacity=' + se.op : '') + ' />' + marker(se.mk, lx + 11, ly, se.col, se.ms) +
      '<text class=lg x=' + (lx + 26) + ' y=' + (ly + 4) + '>' + esc(se.label) + '</text>';
    lx += lw(se);
  }
  return '<div class=chart><h3>' + esc(o.title) + '</h3>' + (o.sub ? '<div class=dim style="font-size:12px">' + esc(o.sub) + (log ? ' (log scale)' : '') + '</div>' : '') + s + '</svg></div>';
}
function byPhase(rows) {
  const order = [], by = {};
  for (const r of rows) {
    const p = r.phase || '?';
    if (!by[p]) { by[p] = []; order.push(p); }
    by[p].push(r);
  }
  return [order, by];
}
const xOf = rs => { const k = rs.some(r => num(r.epoch)) ? 'epoch' : 'step'; return (r, i) => num(r[k]) ? r[k] : i + 1; };
// the k-means phase's x axis spans its runs 1..n_init (its rows report the run in progress)
const xDomain = (p, x) => p === 'kmeans' && num(((x.spec || {}).cluster || {}).n_init) ? [1, x.spec.cluster.n_init] : null;
function lossLabel(p, method) {
  const inf = phaseInfo[p] || [p, 'step', 'loss'];
  if (p === 'cluster') return method === 'idec' ? 'reconstruction + \u03b3\u00b7KL(P\u2016Q)' : 'KL(P\u2016Q)';
  return inf[2];
}
function phaseChart(p, rs, x) {
  const inf = phaseInfo[p] || [p, 'step', 'loss'], xv = xOf(rs), yl = lossLabel(p, x.method);
  const series = [{name: yl, col: '#c33', w: 1.6, mk: 'circle', axis: 'L', rank: 0, pts: rs.map((r, i) => [xv(r, i), r.loss])}];
  const mets = DRAW_ORDER.filter(k => rs.some(r => num(r[k])));
  for (const k of mets) series.push(Object.assign({axis: 'R', rank: 1 + DRAW_ORDER.indexOf(k), pts: rs.map((r, i) => [xv(r, i), r[k]])}, MET[k]));
  const sub = 'left axis: ' + yl + (mets.length ? '; right axis (0\u20131): ' + mets.map(k => MET[k].name).join(', ') : '');
  return chart({title: inf[0] + ' \u2014 ' + rs.length + ' rows, last loss ' + fmtNum(rs[rs.length - 1].loss).replace(/<[^>]*>/g, ''),
    sub, xlabel: inf[1], xint: true, xdom: xDomain(p, x), right01: mets.length > 0, series});
}
function charts(rows, x) {
  if (!rows.length) return '<p class=dim>' + (x.status === 'queued' ? 'Waiting in the queue: no iterations yet.' :
    x.status === 'running' ? 'Started: the first iteration will appear here.' : 'This job recorded no iterations.') + '</p>';
  const [order, by] = byPhase(rows);
  let h = '', c = '';
  for (const p of order) {
    const rs = by[p], inf = phaseInfo[p] || [p, 'step', 'loss'];
    if (rs.length === 1) {
      const r = rs[0];
      h += '<p><b>' + esc(inf[0]) + '</b>: ' + esc(inf[2]) + ' ' + fmtNum(r.loss) +
        (num(r.acc) ? ', ACC ' + f3(r.acc) + ', NMI ' + f3(r.nmi) + ', ARI ' + f3(r.ari) : '') + ' <span class=dim>(after ' + dur(r.elapsed_s) + ')</span></p>';
      continue;
    }
    c += phaseChart(p, rs, x);
  }
  return h + '<div class=charts>' + c + '</div>';
}

// ---- selected job -------------------------------------------------------------------
// how the autoencoder is trained, in words: "auto" is a recipe chosen at start, not an lr
function optimizer(o) {
  if (!o || o.optimizer === 'auto') return 'recipe auto: picked from the data at start';
  return o.optimizer + ', lr ' + (num(o.lr) ? o.lr : 'default');
}
function recipe(x) {
  const sp = x.spec || {}, ae = sp.autoencoder, pt = sp.pretrain || {}, v = sp.vae || {}, out = [];
  if (x.method === 'kmeans') return '';
  if (ae === 'none') out.push('no autoencoder (raw features)');
  else if (ae && ae.hidden) out.push((x.method === 'vae' ? 'hidden layers ' : 'encoder ') + esc(ae.hidden.join('\u2013')));
  if (ae !== 'none' && num(pt.epochs))
    out.push(pt.epochs ? pt.epochs + ' pretraining epochs (' + esc(optimizer(pt)) + ')' : 'no pretraining');
  if (x.method === 'vae') out.push('latent ' + esc(v.latent) + ', ' + esc(v.epochs) + ' vae epochs' + (num(v.lr) ? ' (lr ' + v.lr + ')' : ''));
  return out.length ? ', ' + out.join(', ') : '';
}
function details(x, rows) {
  const m = x.metrics || {}, t = x.timings || {};
  let h = '<h2><span class=mono>' + esc(x.id) + '</span> <span class="b ' + esc(x.status) + '">' + esc(x.status) + '</span></h2>';
  if (active(x)) h += '<button id=cancel>' + (x.cancel_requested ? 'Cancelling\u2026' : 'Cancel job') + '</button>';
  if (x.error && x.status === 'failed') h += '<p class=err style="max-width:none">error: ' + esc(x.error) + '</p>';
  else if (x.error && x.error !== x.status) h += '<p class=dim>' + esc(x.error) + '</p>';
  h += '<dl><dt>dataset<dd>' + esc(dsName(x.dataset) === x.dataset ? '' : dsName(x.dataset)) + ' <span class=mono>' + esc(x.dataset) + '</span>' +
    '<dt>method<dd id=method-line>' + esc(x.method) + ', k = ' + esc(x.n_clusters) + ', seed ' + esc(x.seed) + recipe(x) +
    '<dt>timing<dd>queued ' + dur(t.queued_s) + ', ran ' + dur(t.running_s) + (num(x.samples_per_s) && x.status === 'running' ? ', ' + Math.round(x.samples_per_s).toLocaleString('en') + ' samples/s' : '') +
    (x.status === 'running' ? ', about ' + dur(x.eta_s) + ' left' : '') + (x.attempts > 1 ? ', attempt ' + x.attempts : '') + (x.resume && x.status === 'running' ? ' (resumed from a checkpoint)' : '') +
    '<dt>created<dd>' + when(x.created_at) + (x.finished_at ? ', finished ' + when(x.finished_at) : '');
  if (x.metrics) h += '<dt>final metrics<dd>ACC ' + f3(m.acc) + ', NMI ' + f3(m.nmi) + ', ARI ' + f3(m.ari) + ', last loss ' + fmtNum(m.last_loss) +
    (m.cluster_sizes ? ', cluster sizes ' + esc(m.cluster_sizes.join(' / ')) : '');
  if (x.model) h += '<dt>model<dd class=mono>' + esc(x.model) + ' <span class=dim>(POST /v1/models/' + esc(x.model) + '/predict)</span>';
  return h + '</dl>' + charts(rows, x);
}

// ---- pictures of a finished job -----------------------------------------------------
const PANELS = [
  ['confusion', 'Confusion matrix'], ['samples', 'Samples per cluster'], ['recon', 'Reconstructions'],
  ['generate', 'VAE samples per cluster'], ['embedding', 'Embedding map'], ['outliers', 'Outliers'],
];
// panel(name, fn): runs fn(body); data-drawn="1" when it drew, else "error" + the reason
async function panel(name, fn) {
  const el = $('#p-' + name);
  if (!el) return;
  const b = el.querySelector('.body');
  try {
    await fn(b);
    el.dataset.drawn = '1';
  } catch (e) {
    el.dataset.drawn = 'error';
    el.dataset.status = e.status || '';
    b.innerHTML = '<p class=why>' + (e.status ? 'HTTP ' + e.status + ': ' : '') + esc(e.detail || e.message || String(e)) + '</p>';
  }
}
// loads url into im; small pictures (tiles of 28 px, say) shown enlarged, pixels kept sharp
function load(im, url) {
  return new Promise((ok, no) => {
    im.onload = () => {
      const f = Math.min(4, Math.floor(480 / Math.max(im.naturalWidth, 1)));
      if (f > 1) im.style.width = im.naturalWidth * f + 'px';
      ok();
    };
    im.onerror = () => no(new Error('the PNG did not decode'));
    im.src = url;
  });
}
async function img(b, u, caption) {
  const url = await blobURL(u);
  b.innerHTML = '<img alt="' + esc(caption) + '"><div class=dim style="font-size:12px">' + esc(caption) + '</div>';
  await load(b.querySelector('img'), url);
}
// heatmap of clusters (rows) against true labels (columns), shaded by the row's share,
// counts in the cells, the Hungarian mapping (the pairs ACC counts) outlined
function drawConfusion(b, d) {
  const k = d.matrix.length, nc = d.classes.length, cs = Math.max(16, Math.min(34, Math.floor(420 / Math.max(k, nc))));
  const L = 64, T = 34, W = L + nc * cs + 10, H = T + k * cs + 6;
  let s = '<svg width=' + W + ' height=' + H + ' viewBox="0 0 ' + W + ' ' + H + '">';
  s += '<text x=' + (L + nc * cs / 2) + ' y=11 text-anchor=middle>true label</text>';
  s += '<text x=4 y=' + (T - 6) + '>cluster</text>';
  for (let j = 0; j < nc; j++) s += '<text x=' + (L + j * cs + cs / 2) + ' y=' + (T - 6) + ' text-anchor=middle>' + esc(d.classes[j]) + '</text>';
  for (let i = 0; i < k; i++) {
    const rowv = d.matrix[i], tot = rowv.reduce((a, v) => a + v, 0) || 1;
    s += '<text x=' + (L - 6) + ' y=' + (T + i * cs + cs / 2 + 4) + ' text-anchor=end>' + i + ' <tspan class=dim>(' + rowv.reduce((a, v) => a + v, 0) + ')</tspan></text>';
    for (let j = 0; j < nc; j++) {
      const f = rowv[j] / tot, c = Math.round(255 - f * 200), g = Math.round(255 - f * 150);
      s += '<rect class=cell x=' + (L + j * cs) + ' y=' + (T + i * cs) + ' width=' + cs + ' height=' + cs + ' fill="rgb(' + c + ',' + g + ',255)" stroke="#fff">' +
        '<title>cluster ' + i + ', label ' + esc(d.classes[j]) + ': ' + rowv[j] + ' (' + (100 * f).toFixed(1) + '% of the cluster)</title></rect>';
      if (cs >= 20 && rowv[j]) s += '<text x=' + (L + j * cs + cs / 2) + ' y=' + (T + i * cs + cs / 2 + 4) + ' text-anchor=middle style="fill:' + (f > 0.55 ? '#fff' : '#333') + ';font-size:10px">' + rowv[j] + '</text>';
    }
    const mj = d.mapping ? d.mapping[i] : -1;
    if (mj >= 0) s += '<rect class=map x=' + (L + mj * cs + 1) + ' y=' + (T + i * cs + 1) + ' width=' + (cs - 2) + ' height=' + (cs - 2) + ' fill=none stroke="#e60" stroke-width=2 />';
  }
  b.innerHTML = s + '</svg><div class=dim style="font-size:12px;max-width:' + Math.max(W, 260) + 'px">rows: clusters (size), columns: true labels; shade: share of the cluster; ' +
    'outlined: the cluster-to-label mapping ACC counts' + (num(d.acc) ? ' (ACC ' + d.acc.toFixed(3) + ')' : '') + '</div>';
}
// the embedding in 2-D: points coloured by cluster, the true label on hover, centroids as crosses
function drawEmbedding(b, d) {
  const W = 540, H = 440, M = 14, pts = d.points || [], cen = d.centroids || [];
  const xs = pts.map(p => p.x).concat(cen.map(c => c.x)).filter(num), ys = pts.map(p => p.y).concat(cen.map(c => c.y)).filter(num);
  let x0 = Math.min(...xs), x1 = Math.max(...xs), y0 = Math.min(...ys), y1 = Math.max(...ys);
  if (!(x1 > x0)) { x0 -= 1; x1 += 1; }
  if (!(y1 > y0)) { y0 -= 1; y1 += 1; }
  const X = v => (M + (v - x0) / (x1 - x0) * (W - 2 * M)).toFixed(1), Y = v => (H - M - (v - y0) / (y1 - y0) * (H - 2 * M)).toFixed(1);
  let s = '<svg width=' + W + ' height=' + H + ' viewBox="0 0 ' + W + ' ' + H + '"><rect width=' + W + ' height=' + H + ' fill="#fcfcfc" stroke="#ddd" />';
  const count = {};
  for (const p of pts) {
    count[p.cluster] = (count[p.cluster] || 0) + 1;
    s += '<circle class=pt cx=' + X(p.x) + ' cy=' + Y(p.y) + ' r=2.6 fill="' + clusterCol(p.cluster) + '" fill-opacity=0.75><title>sample ' + esc(p.index) +
      ': cluster ' + esc(p.cluster) + ', label ' + (p.label == null ? 'none' : esc(p.label)) + '</title></circle>';
  }
  for (const c of cen) {
    const cx = X(c.x), cy = Y(c.y);
    s += '<g class=centroid><path d="M' + (cx - 7) + ',' + cy + 'h14M' + cx + ',' + (cy - 7) + 'v14" stroke="#000" stroke-width=4 />' +
      '<path d="M' + (cx - 6) + ',' + cy + 'h12M' + cx + ',' + (cy - 6) + 'v12" stroke="' + clusterCol(c.cluster) + '" stroke-width=2 />' +
      '<title>centroid of cluster ' + esc(c.cluster) + '</title></g>';
  }
  s += '</svg>';
  const keys = Object.keys(count).map(Number).sort((a, b2) => a - b2);
  b.innerHTML = s + '<div style="font-size:12px">' + keys.map(c => '<span style="color:' + clusterCol(c) + '">\u25cf</span> ' + c + ' <span class=dim>(' + count[c] + ')</span>').join(' &nbsp;') +
    '<br><span class=dim>' + pts.length + ' points sampled evenly across the clusters; ' + (d.source === 'manifold' ? 'the manifold layout' : 'PCA of the codes') +
    '; crosses: centroids; hover a point for its true label</span></div>';
}
async function drawOutliers(b, J) {
  const [url, d] = await Promise.all([blobURL(J + '/outliers?n=20'), api(J + '/outliers?n=20')]);
  const f = v => num(v) ? v.toFixed(3) : '\u2014';
  b.innerHTML = '<img alt="the 20 most atypical samples"><div class=dim style="font-size:12px">the 20 most atypical samples, by ' + esc(d.by) + ' (left to right)</div>' +
    '<table class=scores><tr><th>#<th>index<th>iforest<th>1 \u2212 max q<th>reconstruction<th>cluster<th>label' +
    d.samples.map((r, i) => '<tr><td>' + (i + 1) + '<td class=mono>' + esc(r.index) + '<td class=n>' + f(r.iforest) + '<td class=n>' + f(r.confidence) +
      '<td class=n>' + f(r.reconstruction) + '<td>' + esc(r.cluster) + '<td>' + (r.label == null ? '\u2014' : esc(r.label))).join('') + '</table>';
  await load(b.querySelector('img'), url);
}
function renderPics(x) {
  const key = x.id + '|' + x.status + '|' + x.model, box = $('#pics');
  if (key === picsKey) return;
  picsKey = key;
  for (const u of picURLs) URL.revokeObjectURL(u);
  picURLs = [];
  if (x.status !== 'succeeded') { box.style.display = 'none'; box.innerHTML = ''; return; }
  const J = '/v1/jobs/' + enc(x.id), vae = x.method === 'vae' && x.model;
  box.innerHTML = '<h2>Pictures of <span class=mono>' + esc(x.id) + '</span></h2><div class=panels>' +
    PANELS.filter(p => p[0] !== 'generate' || vae).map(p => '<div class=panel id=p-' + p[0] + ' data-panel=' + p[0] + '><h3>' + p[1] + '</h3><div class=body><span class=dim>loading\u2026</span></div></div>').join('') + '</div>';
  box.style.display = 'block';
  panel('confusion', async b => drawConfusion(b, await api(J + '/confusion')));
  panel('samples', b => img(b, J + '/samples?cluster=all&n=10', 'one row per cluster: its 10 most confident members'));
  panel('recon', b => img(b, J + '/reconstructions?n=8', 'originals (top) and their reconstructions (bottom)'));
  if (vae) panel('generate', b => img(b, '/v1/models/' + enc(x.model) + '/generate?cluster=all&n=8', 'one row per cluster: 8 samples the vae generates'));
  panel('embedding', async b => drawEmbedding(b, await api(J + '/embedding?n=2000')));
  panel('outliers', b => drawOutliers(b, J));
}

// ---- compare ------------------------------------------------------------------------
async function renderCompare() {
  const box = $('#cmp'), ids = st.cmp;
  if (ids.length < 2) { box.style.display = 'none'; box.innerHTML = ''; cmpKey = ''; return; }
  const js = await Promise.all(ids.map(id => api('/v1/jobs/' + enc(id)).catch(e => ({id, missing: e.message}))));
  const rows = await Promise.all(js.map(x => x.missing ? [] : iterations(x.id)));
  const key = JSON.stringify(js.map(x => [x.id, x.status, x.updated_at])) + rows.map(r => r.length);
  if (key === cmpKey) return;
  cmpKey = key;
  // a colour, dash and marker per job: identical curves (same recipe) stay visible
  const col = i => TAB10[i % 10], dsh = i => JOBDASH[i % 4], mkr = i => ['circle', 'square', 'tri', 'diamond'][i % 4];
  const best = k => Math.max(...js.map(x => (x.metrics || {})[k]).filter(num));
  const metric = (x, k) => {
    const v = (x.metrics || {})[k];
    return num(v) ? (v === best(k) ? '<b>' + v.toFixed(3) + '</b>' : v.toFixed(3)) + '<span class=cmpbar style="width:' + Math.round(v * 60) + 'px"></span>' : dash;
  };
  const line = (name, f) => '<tr><th>' + name + js.map(x => '<td' + (/^(ACC|NMI|ARI)/.test(name) ? ' class=n' : '') + '>' + (x.missing ? dash : f(x))).join('');
  let h = '<h2>Comparing ' + js.length + ' jobs</h2><div class=wrap><table class=cmptab><tr><th>' +
    js.map((x, i) => '<th><span style="color:' + col(i) + '">\u25a0</span> <span class=mono>' + esc(x.id) + '</span>' + (x.missing ? ' <span class=err>' + esc(x.missing) + '</span>' : '')).join('') +
    line('method', x => esc(x.method) + recipe(x)) + line('dataset', x => esc(dsName(x.dataset))) + line('k', x => esc(x.n_clusters)) +
    line('status', x => '<span class="b ' + esc(x.status) + '">' + esc(x.status) + '</span>') +
    line('ACC', x => metric(x, 'acc')) + line('NMI', x => metric(x, 'nmi')) + line('ARI', x => metric(x, 'ari')) +
    line('last loss', x => fmtNum((x.metrics || {}).last_loss)) + line('run time', x => dur((x.timings || {}).running_s)) + '</table></div>';
  // one loss chart and one ACC chart per phase, a line per job
  const phases = [];
  for (const r of rows) for (const q of r) if (!phases.includes(q.phase)) phases.push(q.phase);
  let c = '';
  for (const p of phases) {
    const per = rows.map(r => r.filter(q => q.phase === p));
    if (!per.some(r => r.length > 1)) continue;
    const inf = phaseInfo[p] || [p, 'step', 'loss'];
    const mk = k => per.map((r, i) => ({name: js[i].id, col: col(i), dash: dsh(i), w: 1.8, mk: mkr(i), axis: 'L', rank: i,
      pts: r.map((q, j) => [xOf(r)(q, j), q[k]]).filter(q => num(q[1]))}));
    c += chart({title: inf[0] + ': ' + lossLabel(p, js[0].method), sub: 'one line per job', xlabel: inf[1], xint: true, series: mk('loss')});
    if (per.some(r => r.some(q => num(q.acc))))
      c += chart({title: inf[0] + ': ACC', sub: 'one line per job', xlabel: inf[1], xint: true, yfix: [0, 1], series: mk('acc')});
  }
  box.innerHTML = h + '<div class=charts>' + c + '</div>';
  box.style.display = 'block';
  box.dataset.drawn = '1';
}

// ---- studies ------------------------------------------------------------------------
// the list (GET /v1/studies) and the selected study (#study=<id>): progress, each metric
// and criterion against k (mean ± std over seeds, each seed a dot, the suggested k
// marked), the summary per k (chosen seed, consensus ACC), the per-seed table with links
// to each job's view
const STUDY_LIST = 50;
let studyList = [], studyKey = '', studyDoc = null, scrollToJob = false;
// [key, title, better ('higher'|'lower'), on a fixed 0-1 axis, the suggestion's vote key]
const SMET = [
  ['acc', 'ACC', 'higher', true], ['nmi', 'NMI', 'higher', true], ['ari', 'ARI', 'higher', true],
  ['silhouette', 'Silhouette', 'higher', false, 'silhouette'],
  ['calinski_harabasz', 'Calinski\u2013Harabasz', 'higher', false, 'calinski_harabasz'],
  ['davies_bouldin', 'Davies\u2013Bouldin', 'lower', false, 'davies_bouldin'],
  ['bic', 'BIC', 'lower', false, 'bic'], ['mean_loglik', 'Mean log-likelihood (mixture)', 'higher', false],
  ['stability', 'Stability: mean ARI between seeds', 'higher', true, 'stability'],
];
const kText = ks => ks.length > 2 && ks.every((k, i) => !i || k === ks[i - 1] + 1) ? ks[0] + '\u2013' + ks[ks.length - 1] : ks.join(', ');
const exact = v => num(v) ? String(+v.toPrecision(5)) : '\u2014';  // hover titles: 5 digits, no k/M
const jobVal = (j, key) => ['acc', 'nmi', 'ari'].includes(key) ? j[key] : (j.criteria || {})[key];
function studyRow(x) {
  const p = x.progress || {}, pc = num(p.percent) ? p.percent : 0;
  return '<td class=mono>' + esc(x.id) + '<td>' + esc(dsName(x.dataset)) + '<td>' + esc(x.method) + '<td>' + esc((x.seeds || []).join(', ')) +
    '<td>' + esc(kText(x.n_clusters || [])) + '<td><span class="b ' + esc(x.status) + '">' + esc(x.status) + '</span>' +
    '<td><span class=bar><i style="width:' + pc + '%;background:' + (barCol[x.status] || '#999') + '"></i></span> ' + esc(p.done) + '/' + esc(p.total) + ' jobs' +
    '<td>' + when(x.created_at);
}
async function studies() {
  const d = await api('/v1/studies?limit=' + STUDY_LIST);
  studyList = d.items;
  const box = $('#studies'), tb = $('#st tbody');
  box.style.display = studyList.length || st.study ? 'block' : 'none';
  tb.innerHTML = '';
  for (const x of studyList) {
    const tr = document.createElement('tr');
    tr.dataset.id = x.id;
    if (x.id === st.study) tr.className = 'sel';
    tr.innerHTML = studyRow(x);
    tr.onclick = () => { st.study = x.id; writeHash(); };
    tb.appendChild(tr);
  }
  if (!studyList.length) tb.innerHTML = '<tr><td colspan=8 class=empty>No studies yet: <code>POST /v1/studies</code> (docs/studies.md).</td></tr>';
  tb.dataset.n = studyList.length;
  return studyList;
}
// kChart(o): an SVG chart of one figure against k. o = {title, sub, ks (the study's k),
// rows: [{k, mean, std, n}], seeds: [{k, seed, v, job}], fix01, sug (suggested k),
// extra: [{name, col, mk, pts: [[k, v]]}]}. Per k: a mean marker with its ± std bar
// (g.eb), each seed's value a small grey dot (circle.seed); the suggested k a band.
function kChart(o) {
  const W = 360, H = 250, L = 52, R = 10, B = 34, T = 24 + (o.extra && o.extra.length ? 16 : 0), pw = W - L - R, ph = H - T - B;
  const ks = o.ks.length ? o.ks : [0];
  let x0 = Math.min(...ks), x1 = Math.max(...ks);
  x0 -= 0.5; x1 += 0.5;
  const X = v => L + (v - x0) / (x1 - x0) * pw;
  let lo, hi;
  if (o.fix01) { lo = 0; hi = 1; } else {
    const vs = [];
    for (const r of o.rows) { vs.push(r.mean); if (num(r.std)) vs.push(r.mean - r.std, r.mean + r.std); }
    for (const q of o.seeds) vs.push(q.v);
    for (const e of o.extra || []) for (const q of e.pts) vs.push(q[1]);
    const f = vs.filter(num);
    lo = f.length ? Math.min(...f) : 0; hi = f.length ? Math.max(...f) : 1;
    if (hi === lo) { lo -= Math.abs(lo) * 0.1 || 1; hi += Math.abs(hi) * 0.1 || 1; }
    const ys = step(lo, hi, 5);
    lo = Math.floor(lo / ys + 1e-9) * ys; hi = Math.ceil(hi / ys - 1e-9) * ys;
  }
  const Y = v => T + ph - (Math.max(lo, Math.min(hi, v)) - lo) / (hi - lo) * ph, r1 = v => v.toFixed(1);
  let s = '<svg width=' + W + ' height=' + H + ' viewBox="0 0 ' + W + ' ' + H + '">';
  if (num(o.sug) && o.sug >= x0 && o.sug <= x1) {
    const bw = Math.min(28, pw / (x1 - x0) * 0.8);
    s += '<g class=sugk data-k=' + o.sug + '><rect x=' + r1(X(o.sug) - bw / 2) + ' y=' + T + ' width=' + r1(bw) + ' height=' + ph + ' fill="#ffe9a8" />' +
      '<text x=' + r1(Math.max(L + 30, Math.min(L + pw - 30, X(o.sug)))) + ' y=' + (T - 4) + ' text-anchor=middle style="fill:#a60;font-size:10px">suggested k</text><title>suggested k = ' + o.sug + '</title></g>';
  }
  for (const v of ticks(lo, hi, 5)) s += '<line x1=' + L + ' x2=' + (L + pw) + ' y1=' + r1(Y(v)) + ' y2=' + r1(Y(v)) + ' stroke="#eee" /><text x=' + (L - 5) + ' y=' + r1(Y(v) + 4) + ' text-anchor=end>' + fmtNum(v) + '</text>';
  for (const v of ticks(Math.min(...ks), Math.max(...ks), 12, true))
    s += '<line x1=' + r1(X(v)) + ' x2=' + r1(X(v)) + ' y1=' + (T + ph) + ' y2=' + (T + ph + 4) + ' stroke="#999" /><text class=xt x=' + r1(X(v)) + ' y=' + (T + ph + 16) + ' text-anchor=middle>' + v + '</text>';
  s += '<rect x=' + L + ' y=' + T + ' width=' + pw + ' height=' + ph + ' fill=none stroke="#bbb" />';
  s += '<text x=' + (L + pw / 2) + ' y=' + (H - 4) + ' text-anchor=middle>k (number of clusters)</text>';
  // each seed's value, spread a little sideways so that equal values stay countable
  const seedsAt = {};
  for (const q of o.seeds) (seedsAt[q.k] = seedsAt[q.k] || []).push(q);
  for (const k in seedsAt) seedsAt[k].forEach((q, i, a) => {
    if (!num(q.v)) return;
    const dx = a.length > 1 ? (i / (a.length - 1) - 0.5) * 14 : 0;
    s += '<circle class=seed cx=' + r1(X(q.k) + 10 + dx) + ' cy=' + r1(Y(q.v)) + ' r=2.5 fill="#999"><title>seed ' + esc(q.seed) + ', k = ' + q.k + ': ' + exact(q.v) + '</title></circle>';
  });
  const rows = o.rows.filter(r => num(r.mean));
  if (rows.length > 1) s += '<polyline fill=none stroke="#1f5fbf" stroke-width=1.4 stroke-opacity=0.6 points="' + rows.map(r => r1(X(r.k)) + ',' + r1(Y(r.mean))).join(' ') + '" />';
  for (const r of rows) {
    const x = r1(X(r.k)), sd = num(r.std) ? r.std : null;
    s += '<g class=eb data-k=' + r.k + '>';
    if (sd !== null && sd > 0)
      s += '<path d="M' + x + ',' + r1(Y(r.mean - sd)) + 'V' + r1(Y(r.mean + sd)) + 'M' + r1(X(r.k) - 5) + ',' + r1(Y(r.mean - sd)) + 'h10M' +
        r1(X(r.k) - 5) + ',' + r1(Y(r.mean + sd)) + 'h10" stroke="#1f5fbf" stroke-width=1.5 fill=none />';
    s += '<circle class=mean cx=' + x + ' cy=' + r1(Y(r.mean)) + ' r=4 fill="#1f5fbf"><title>k = ' + r.k + ': ' + exact(r.mean) + (sd !== null ? ' \u00b1 ' + exact(sd) : '') + (r.n ? ' over ' + r.n + ' seed' + (r.n > 1 ? 's' : '') : '') + '</title></circle></g>';
  }
  let lx = L;
  for (const [i, e] of (o.extra || []).entries()) {
    for (const q of e.pts) if (num(q[1])) s += '<g class=extra data-name="' + esc(e.name) + '">' + marker(e.mk, X(q[0]) - 10 - 8 * i, Y(q[1]), e.col) +
      '<title>' + esc(e.name) + ', k = ' + q[0] + ': ' + q[1].toFixed(3) + '</title></g>';
    s += marker(e.mk, lx + 4, 10, e.col) + '<text x=' + (lx + 11) + ' y=14>' + esc(e.name) + '</text>';
    lx += e.name.length * 6 + 24;
  }
  return '<div class=chart data-metric="' + esc(o.key) + '"><h3>' + esc(o.title) + '</h3><div class=dim style="font-size:12px;width:' + W + 'px">' + esc(o.sub) + '</div>' + s + '</svg></div>';
}
function studyCharts(x) {
  const sug = x.suggestion ? x.suggestion.n_clusters : null, by = (x.suggestion || {}).by || {}, out = [];
  const done = (x.jobs || []).filter(j => j.status === 'succeeded');
  for (const [key, title, better, fix01, vote] of SMET) {
    let rows, seeds = [], extra = [];
    if (key === 'stability') rows = x.per_k.map(p => ({k: p.n_clusters, mean: p.stability, std: null, n: p.runs}));
    else {
      rows = x.per_k.map(p => Object.assign({k: p.n_clusters, n: p.runs}, p.metrics[key] || {}));
      seeds = done.map(j => ({k: j.n_clusters, seed: j.seed, v: jobVal(j, key), job: j.id}));
    }
    if (!rows.some(r => num(r.mean))) continue;
    if (key === 'acc') extra = [
      {name: 'chosen seed', col: '#d62728', mk: 'diamond', pts: x.per_k.map(p => [p.n_clusters, (p.chosen || {}).acc])},
      {name: 'consensus', col: '#2a7', mk: 'square', pts: x.per_k.map(p => [p.n_clusters, p.consensus_acc])}];
    const alone = vote && num(by[vote]) ? '; alone it picks k = ' + by[vote] : '';
    out.push(kChart({key, title, ks: x.n_clusters, rows, seeds, fix01, sug, extra,
      sub: (key === 'stability' ? 'one value per k' : 'mean \u00b1 std over seeds, grey: each seed') + '; ' + better + ' is better' + alone}));
  }
  return out.join('');
}
// "yes (0.4 s)" for the job that pretrained its seed's autoencoder, "from job_.." for
// the others, "—" for a method without one
function studyAE(x, j) {
  const sp = x.job || {};
  // the API's "pretrains" is true for every job without ae_job, kmeans' included
  if (x.method === 'kmeans' || sp.autoencoder === 'none' || (sp.pretrain || {}).epochs === 0) return dash;
  if (j.ae_job) return 'no: from <a class="jl mono" data-job="' + esc(j.ae_job) + '" href="#' + esc(studyHash(x.id, j.ae_job)) + '">' + esc(j.ae_job) + '</a>';
  return 'yes' + (num(j.pretrain_seconds) && j.pretrain_seconds > 0 ? ' (' + dur(j.pretrain_seconds) + ')' : '');
}
function studyHash(sid, jid) {
  const h = new URLSearchParams();
  h.set('study', sid);
  h.set('job', jid);
  return h.toString();
}
function studyView(x) {
  const p = x.progress || {}, jl = jid => '<a class="jl mono" data-job="' + esc(jid) + '" href="#' + esc(studyHash(x.id, jid)) + '">' + esc(jid) + '</a>';
  const crit = ['silhouette', 'calinski_harabasz', 'davies_bouldin', 'bic'].filter(c => (x.jobs || []).some(j => num((j.criteria || {})[c])));
  const lab = x.has_labels, chosen = {}, bestSil = {};
  for (const pk of x.per_k || []) {
    if (pk.chosen) chosen[pk.chosen.job] = pk.chosen.criterion;
    if (pk.best_silhouette) bestSil[pk.best_silhouette.job] = 1;
  }
  let h = '<h2>Study <span class=mono>' + esc(x.id) + '</span> <span class="b ' + esc(x.status) + '">' + esc(x.status) + '</span> <a href="#" id=sv-close class=dim style="font-size:12px;font-weight:normal">close</a></h2>';
  if (p.queued + p.running > 0) h += '<button id=sv-cancel>Cancel study (' + (p.queued + p.running) + ' jobs left)</button>';
  h += '<dl><dt>dataset<dd>' + esc(dsName(x.dataset) === x.dataset ? '' : dsName(x.dataset)) + ' <span class=mono>' + esc(x.dataset) + '</span>' + (lab ? ' (with labels)' : ' (no labels)') +
    '<dt>method<dd>' + esc(x.method) + recipe({method: x.method, spec: x.job || {}}) +
    '<dt>seeds, k<dd>seeds ' + esc((x.seeds || []).join(', ')) + '; k = ' + esc(kText(x.n_clusters || [])) +
    '<dt>progress<dd id=sv-progress><span class=bar><i style="width:' + (num(p.percent) ? p.percent : 0) + '%;background:' + (barCol[x.status] || '#999') + '"></i></span> ' +
    esc(p.done) + ' of ' + esc(p.total) + ' jobs done' + ['queued', 'running', 'succeeded', 'failed', 'cancelled'].filter(k => p[k]).map(k => ', ' + p[k] + ' ' + k).join('') +
    (num(p.eta_s) && p.eta_s > 0 ? ', about ' + dur(p.eta_s) + ' left' : '') +
    '<dt>created<dd>' + when(x.created_at) + '</dl>';
  const sg = x.suggestion;
  h += sg ? '<div id=sv-sug class=sug><b>Suggested k = ' + esc(sg.n_clusters) + '</b>: ' + esc(sg.reason) + '</div>'
    : '<p id=sv-sug class=dim>No suggestion yet: it needs the criteria of at least one finished job.</p>';
  if ((x.per_k || []).length) {
    h += '<div class=charts>' + studyCharts(x) + '</div>';
    h += '<h3>Per k</h3><div class=wrap><table class=kt id=sv-k><tr><th class=n>k<th class=n>runs' + (lab ? '<th class=n>ACC mean \u00b1 std' : '') +
      '<th>chosen seed (without labels)' + (lab ? '<th class=n>its ACC' : '') + '<th>best silhouette seed' + (lab ? '<th class=n>its ACC<th class=n>consensus ACC' : '') + '<th class=n>stability';
    for (const pk of x.per_k) {
      const a = (pk.metrics || {}).acc || {}, c = pk.chosen, b = pk.best_silhouette;
      h += '<tr data-k=' + pk.n_clusters + (pk.n_clusters === (sg || {}).n_clusters ? ' class=sugrow' : '') + '><td class=n>' + pk.n_clusters + '<td class=n>' + pk.runs +
        (lab ? '<td class=n>' + f3(a.mean) + (num(a.std) ? ' \u00b1 ' + a.std.toFixed(3) : '') : '') +
        '<td>' + (c ? 'seed ' + esc(c.seed) + ' <span class=dim>(' + esc(c.criterion) + (num(c.mean_ari_to_others) ? ', mean ARI to the others ' + c.mean_ari_to_others.toFixed(3) : '') + ')</span> ' + jl(c.job) : dash) +
        (lab ? '<td class=n>' + f3(c && c.acc) : '') + '<td>' + (b ? 'seed ' + esc(b.seed) + ' ' + jl(b.job) : dash) +
        (lab ? '<td class=n>' + f3(b && b.acc) + '<td class=n>' + f3(pk.consensus_acc) : '') + '<td class=n>' + f3(pk.stability);
    }
    h += '</table></div>';
  }
  h += '<h3>Jobs</h3><div class=wrap><table class=kt id=sv-jobs><tr><th>job<th class=n>seed<th class=n>k<th>status' + (lab ? '<th class=n>ACC<th class=n>NMI<th class=n>ARI' : '') +
    crit.map(c => '<th class=n>' + esc({silhouette: 'silhouette', calinski_harabasz: 'CH', davies_bouldin: 'DB', bic: 'BIC'}[c])).join('') +
    '<th>pretrained<th class=n>time<th>marks';
  for (const j of x.jobs || []) {
    const err = (jobsById[j.id] || {}).error;
    h += '<tr class=sj data-id="' + esc(j.id) + '"><td>' + jl(j.id) + '<td class=n>' + esc(j.seed) + '<td class=n>' + esc(j.n_clusters) +
      '<td><span class="b ' + esc(j.status) + '">' + esc(j.status) + '</span>' + (j.status === 'failed' && err ? ' <span class=err title="' + esc(err) + '">' + esc(err.slice(0, 60)) + '</span>' : '') +
      (lab ? '<td class=n>' + f3(j.acc) + '<td class=n>' + f3(j.nmi) + '<td class=n>' + f3(j.ari) : '') +
      crit.map(c => '<td class=n>' + (c === 'silhouette' || c === 'davies_bouldin' ? f3((j.criteria || {})[c]) : fmtNum((j.criteria || {})[c]))).join('') +
      '<td>' + studyAE(x, j) + '<td class=n>' + dur(j.seconds) + '<td class=marks>' +
      (chosen[j.id] ? '<span class=mchosen title="the seed chosen for this k without labels (' + esc(chosen[j.id]) + ')">\u2605 chosen</span> ' : '') +
      (bestSil[j.id] ? '<span class=mbest title="the best silhouette for this k">\u25c6 best silhouette</span>' : '');
  }
  return h + '</table></div><p class=dim style="font-size:12px">\u2605 chosen: the seed served for its k, picked without labels; ' +
    '\u25c6 best silhouette: the seed with the highest silhouette. A job\u2019s link opens its view (charts and pictures) below.</p>';
}
async function renderStudy() {
  const box = $('#sv');
  if (!st.study) { box.style.display = 'none'; box.innerHTML = ''; studyKey = ''; studyDoc = null; return; }
  // the full study again only when its row in the list changed (or it is not listed)
  const li = studyList.find(s => s.id === st.study);
  const lkey = li ? JSON.stringify([li.status, li.progress]) : '';
  if (studyDoc && studyDoc.id === st.study && lkey && lkey === studyKey.split('|')[0] && box.dataset.drawn === '1') return;
  let x;
  try { x = await api('/v1/studies/' + enc(st.study)); } catch (e) {
    box.innerHTML = '<p class=err style="max-width:none">' + esc(e.message || String(e)) + '</p>';
    box.style.display = 'block'; box.dataset.drawn = 'error'; studyKey = ''; studyDoc = null;
    return;
  }
  const key = lkey + '|' + JSON.stringify(x) + Object.keys(datasets).length;
  studyDoc = x;
  if (key !== studyKey) {
    studyKey = key;
    box.innerHTML = studyView(x);
    box.dataset.drawn = '1';
    box.dataset.id = x.id;
    const c = $('#sv-cancel');
    if (c) c.onclick = async () => {
      if (!confirm('Cancel the queued and running jobs of ' + x.id + '?')) return;
      try { await api('/v1/studies/' + enc(x.id) + '/cancel', {method: 'POST'}); studyKey = ''; tick(); } catch (e) { showErr(e.message); }
    };
    $('#sv-close').onclick = ev => { ev.preventDefault(); st.study = null; writeHash(); };
    // a job's link keeps the rest of the page's state (filters, compare) and scrolls to it
    for (const a of box.querySelectorAll('a.jl')) a.onclick = ev => { ev.preventDefault(); scrollToJob = true; st.sel = a.dataset.job; writeHash(); };
  }
  box.style.display = 'block';
}

// ---- forms: upload a dataset, submit a job ------------------------------------------
const say = (sel, ok, msg) => { const e = $(sel); e.className = ok ? 'ok' : 'err'; e.textContent = msg; };
const ctype = f => /\.csv$/i.test(f.name) ? 'text/csv' : 'application/octet-stream';
function fillDatasetSelects() {
  const ids = Object.keys(datasets);
  for (const sel of [$('#nj-ds'), $('#ns-ds')]) {
    const cur = sel.value;
    sel.innerHTML = ids.length ? ids.map(id => '<option value="' + esc(id) + '">' + esc(datasets[id].name || id) + ' (' + esc(id) + ')</option>').join('')
      : '<option value="">no datasets: upload one first</option>';
    if (cur && datasets[cur]) sel.value = cur;
  }
  updateStudySpec();
  dsInfo();
  fillFilterOptions();
}
// "values in [0, 1]" when the dataset records its range (after scaling), else ''
const rangeText = d => d && d.range && num(d.range.min) && num(d.range.max) ? ', values in [' + fmtNum(d.range.min) + ', ' + fmtNum(d.range.max) + ']' : '';
const dsText = d => d.n + ' samples \u00d7 ' + d.d + (d.shape ? ' (' + d.shape.join('\u00d7') + ')' : '') +
  (d.has_labels ? ', ' + d.n_classes + ' classes' : ', no labels') + rangeText(d);
function dsInfo() {
  const d = datasets[$('#nj-ds').value];
  $('#nj-dsinfo').textContent = d ? dsText(d) : '';
}
function specFromForm() {
  const m = $('#nj-method').value, s = {dataset: $('#nj-ds').value, method: m, n_clusters: +$('#nj-k').value};
  const ep = $('#nj-ep').value, vep = $('#nj-vep').value, hid = $('#nj-hid').value.trim(), seed = $('#nj-seed').value;
  if (m !== 'kmeans' && hid) s.autoencoder = {hidden: hid.split(/[\s,]+/).filter(Boolean).map(Number)};
  if (m !== 'kmeans' && ep !== '') s.pretrain = {epochs: +ep};
  if (m === 'vae' && vep !== '') s.vae = {epochs: +vep};
  if (seed !== '') s.seed = +seed;
  return s;
}
function updateSpec() {
  const m = $('#nj-method').value;
  $('#nj-ep').disabled = $('#nj-hid').disabled = m === 'kmeans';
  $('#nj-vep').disabled = m !== 'vae';
  const d = datasets[$('#nj-ds').value], out01 = d && d.range && (d.range.min < 0 || d.range.max > 1);
  $('#nj-minfo').textContent = m === 'n2d' ? 'recommended: autoencoder, UMAP, Gaussian mixture' :
    m === 'vae' ? (out01 ? 'this dataset lies outside [0, 1]: vae needs data in [0, 1] (upload it with scale unit)' : 'data must lie in [0, 1]') : '';
  $('#nj-spec').textContent = JSON.stringify(specFromForm());
}
const FIELD_INPUT = {dataset: '#nj-ds', method: '#nj-method', n_clusters: '#nj-k', 'pretrain.epochs': '#nj-ep',
  'vae.epochs': '#nj-vep', 'autoencoder.hidden': '#nj-hid', seed: '#nj-seed'};
async function submitJob(ev) {
  ev.preventDefault();
  for (const s of Object.values(FIELD_INPUT)) $(s).style.outline = '';
  try {
    const x = await api('/v1/jobs', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(specFromForm())});
    say('#nj-out', true, 'queued ' + x.id);
    st.sel = x.id;
    writeHash();
    tick();
  } catch (e) {
    say('#nj-out', false, e.detail || e.message);
    if (FIELD_INPUT[e.field]) $(FIELD_INPUT[e.field]).style.outline = '2px solid #c33';
  }
}
// the new-study form: dataset, method, seeds, k from..to, pretraining epochs
function studyFromForm() {
  const m = $('#ns-method').value, ep = $('#ns-ep').value, job = {method: m};
  if (m !== 'kmeans' && ep !== '') job.pretrain = {epochs: +ep};
  return {dataset: $('#ns-ds').value, seeds: $('#ns-seeds').value.split(/[\s,]+/).filter(Boolean).map(Number),
    n_clusters: {min: +$('#ns-kmin').value, max: +$('#ns-kmax').value}, job};
}
const updateStudySpec = () => { $('#ns-ep').disabled = $('#ns-method').value === 'kmeans'; $('#ns-spec').textContent = JSON.stringify(studyFromForm()); };
// the field a problem names -> the input to outline (seeds[2] -> seeds, n_clusters.max -> k to)
function studyInput(f) {
  f = f || '';
  if (f === 'dataset') return '#ns-ds';
  if (/^seeds/.test(f)) return '#ns-seeds';
  if (/^n_clusters/.test(f)) return f === 'n_clusters.min' ? '#ns-kmin' : '#ns-kmax';
  if (f === 'job.method') return '#ns-method';
  if (/^job\.pretrain/.test(f)) return '#ns-ep';
  return null;
}
async function submitStudy(ev) {
  ev.preventDefault();
  for (const i of document.querySelectorAll('#ns input, #ns select')) i.style.outline = '';
  try {
    const x = await api('/v1/studies', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(studyFromForm())});
    say('#ns-out', true, 'queued ' + x.id + ' (' + x.progress.total + ' jobs)');
    st.study = x.id;
    writeHash();
    tick();
  } catch (e) {
    say('#ns-out', false, e.detail || e.message);
    const i = studyInput(e.field);
    if (i) $(i).style.outline = '2px solid #c33';
  }
}
async function upload(ev) {
  ev.preventDefault();
  const f = $('#up-file').files[0], lf = $('#up-labels').files[0];
  if (!f) return;
  const q = new URLSearchParams();
  q.set('name', $('#up-name').value.trim() || f.name.replace(/\.gz$/i, '').replace(/\.[^.]*$/, ''));
  if ($('#up-label').value.trim()) q.set('label_column', $('#up-label').value.trim());
  if ($('#up-shape').value.trim()) q.set('shape', $('#up-shape').value.trim().replace(/\s+/g, ''));
  if ($('#up-scale').value) q.set('scale', $('#up-scale').value);
  say('#up-out', true, 'uploading ' + f.name + ' (' + bytes(f.size) + ')\u2026');
  $('#up-go').disabled = true;
  try {
    let d = await api('/v1/datasets?' + q.toString().replace(/%2C/g, ','), {method: 'POST', headers: {'Content-Type': ctype(f)}, body: f});
    if (lf) d = await api('/v1/datasets/' + enc(d.id) + '/labels', {method: 'PUT', headers: {'Content-Type': ctype(lf)}, body: lf});
    say('#up-out', true, 'uploaded ' + d.id + ': ' + dsText(d));
    await loadDatasets(true);
    $('#nj-ds').value = d.id;
    if (d.has_labels) $('#nj-k').value = d.n_classes;
    dsInfo();
    updateSpec();
    $('#new-box').open = true;
  } catch (e) {
    say('#up-out', false, e.detail || e.message);
  } finally {
    $('#up-go').disabled = false;
  }
}

// ---- refresh ------------------------------------------------------------------------
async function tick() {
  clearTimeout(timer);
  let list = [], slist = [];
  try {
    if (document.hidden) return;
    list = await jobs();
    slist = await studies();
    await renderStudy();
    const det = $('#det'), sel = st.sel || autoSel;
    let x = null, selErr = '';
    if (sel) try { x = await api('/v1/jobs/' + enc(sel)); } catch (e) { x = null; selErr = e.message || String(e); }
    if (x) {
      const rows = await iterations(sel), key = JSON.stringify(x) + rows.length + dsName(x.dataset);
      if (key !== det.dataset.key) { det.dataset.key = key; det.innerHTML = details(x, rows); }
      det.style.display = 'block';
      if (scrollToJob && x.id === st.sel) { scrollToJob = false; det.scrollIntoView(); }
      const b = $('#cancel');
      if (b) b.onclick = async () => {
        if (!confirm('Cancel ' + x.id + '?')) return;
        try { await api('/v1/jobs/' + enc(x.id) + '/cancel', {method: 'POST'}); tick(); } catch (e) { showErr(e.message); }
      };
      renderPics(x);
    } else {
      renderPics({id: '', status: ''});
      if (selErr) { det.dataset.key = ''; det.innerHTML = '<p class=err style="max-width:none">' + esc(selErr) + '</p>'; det.style.display = 'block'; }
      else det.style.display = 'none';
    }
    await renderCompare();
    $('#upd').textContent = 'updated ' + when(new Date().toISOString()).replace(/<[^>]*>/g, '') + ' \u00b7 refresh every ' + (list.some(active) || slist.some(active) ? POLL_ACTIVE : POLL_IDLE) / 1000 + ' s';
    showErr('');
  } catch (e) {
    showErr(e.message || String(e));
  } finally {
    timer = setTimeout(tick, list.some(active) || slist.some(active) ? POLL_ACTIVE : POLL_IDLE);
  }
}
window.addEventListener('hashchange', () => { readHash(); renderJobs(); tick(); });
document.addEventListener('visibilitychange', () => { if (!document.hidden) tick(); });
for (const k of ['status', 'method', 'dataset']) $('#f-' + k).onchange = ev => { st[k] = ev.target.value; writeHash(); };
for (const th of document.querySelectorAll('#t th[data-k]')) th.onclick = () => {
  const k = th.dataset.k;
  if (st.sort === k) st.desc = !st.desc;
  else { st.sort = k; st.desc = !['id', 'dataset', 'method', 'status'].includes(k); }
  writeHash();
};
$('#tok').onsubmit = ev => {
  ev.preventDefault();
  token = $('#tokin').value.trim();
  sessionStorage.setItem('dc_token', token);
  $('#tok').style.display = 'none';
  loadDatasets(true);
  tick();
};
$('#up').onsubmit = upload;
$('#nj').onsubmit = submitJob;
$('#ns').onsubmit = submitStudy;
$('#ns').oninput = updateStudySpec;
$('#ns').onchange = updateStudySpec;
$('#nj').oninput = updateSpec;
$('#nj-ds').onchange = () => { const d = datasets[$('#nj-ds').value]; if (d && d.has_labels) $('#nj-k').value = d.n_classes; dsInfo(); updateSpec(); };
api('/healthz').then(h => { $('#ver').textContent = 'v' + h.version; }).catch(() => {});
readHash();
updateSpec();
loadDatasets(true).then(updateSpec);
tick();
