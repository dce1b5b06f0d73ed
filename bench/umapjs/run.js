#!/usr/bin/env node
/* run.js: umap-js (npm, version pinned in package.json) on a float32 codes file, for the
 * manifold-stage comparison with bench_umap (bench/umap_vs_js.sh, docs/n2d.md
 * "Against umap-js").
 *
 *   node run.js --codes codes.npy --out emb.npy [--n-components 10] [--neighbors 20]
 *               [--min-dist 0] [--epochs 0] [--seed 1] [--n N]
 *
 * Reads an (n, d) float32 C-order .npy (our own small reader below), runs UMAP with N2D's
 * settings (nComponents 10, nNeighbors 20, minDist 0; everything else umap-js's
 * defaults: spread 1, learningRate 1, negativeSampleRate 5, localConnectivity 1,
 * setOpMixRatio 1, euclidean), and writes the embedding as float32 (n, nComponents) .npy.
 * --epochs 0 keeps umap-js's own rule (500 epochs up to 2,500 points, 400 up to 5,000,
 * 300 up to 7,500, else 200); bench/umap_vs_js.sh passes bench_umap's count instead, so
 * both lay out for the same number of epochs. umap-js's default random source is
 * Math.random (unseeded); we pass a seeded generator (mulberry32) so that runs repeat.
 *
 * What umap-js 1.4.0 does (read in node_modules/umap-js/src/umap.ts): kNN by a random-
 * projection forest (5 + round(sqrt(n) / 20) trees) and NN-descent (max(5, round(log2 n))
 * iterations), i.e. approximate; the fuzzy graph in a string-keyed Map sparse matrix;
 * a search graph for transform (built in every fit); a/b fitted by Levenberg-Marquardt;
 * RANDOM init, uniform in [-10, 10] (no spectral init: "not computed ... in this
 * implementation"); then the SGD layout, single-threaded JavaScript in float64.
 *
 * Timing (wall seconds, process.hrtime): knn = the forest + NN-descent (umap-js's
 * nearestNeighbors, called directly so it can be timed; the result is handed back with
 * the public setPrecomputedKNN, which is what fit would do with it); init = the rest of
 * initializeFit (graph, search graph, a/b, random init, epoch schedule); layout = the
 * epochs (fit's optimizeLayout). fit = knn + init + layout, loading and writing excluded;
 * its CPU seconds too (process.cpuUsage, so node's GC threads count). After the fit, the
 * kNN's recall against brute force on up to 500 evenly spread points (not timed). The
 * last stdout line is one JSON object with these.
 */
'use strict';

const fs = require('fs');
const { UMAP } = require('umap-js');

function usage(msg) {
  if (msg) process.stderr.write(`run.js: ${msg}\n`);
  process.stderr.write(
    'usage: node run.js --codes codes.npy --out emb.npy [--n-components 10] [--neighbors 20]\n' +
      '                   [--min-dist 0] [--epochs 0] [--seed 1] [--n N]\n'
  );
  process.exit(2);
}

function parseArgs(argv) {
  const o = { codes: null, out: null, nComponents: 10, nNeighbors: 20, minDist: 0, nEpochs: 0, seed: 1, n: 0 };
  const num = { '--n-components': 'nComponents', '--neighbors': 'nNeighbors', '--min-dist': 'minDist',
    '--epochs': 'nEpochs', '--seed': 'seed', '--n': 'n' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i], v = argv[i + 1];
    if (v === undefined) usage(`${k} needs a value`);
    i++;
    if (k === '--codes') o.codes = v;
    else if (k === '--out') o.out = v;
    else if (num[k]) {
      const x = Number(v);
      if (!Number.isFinite(x)) usage(`${k}: not a number: ${v}`);
      o[num[k]] = x;
    } else usage(`unknown option ${k}`);
  }
  if (!o.codes || !o.out) usage();
  return o;
}

/* NPY reader: version 1.0/2.0/3.0 header, dtype '<f4' or '<f8', fortran_order False,
 * shape (n, d). Returns { n, d, data: Float32Array|Float64Array }. */
function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY')
    throw new Error(`${path}: not an NPY file`);
  const major = buf[6];
  let hlen, off;
  if (major === 1) { hlen = buf.readUInt16LE(8); off = 10; }
  else if (major === 2 || major === 3) { hlen = buf.readUInt32LE(8); off = 12; }
  else throw new Error(`${path}: NPY version ${major} not supported`);
  const hdr = buf.toString('latin1', off, off + hlen);
  const descr = /'descr':\s*'([^']*)'/.exec(hdr);
  const fortran = /'fortran_order':\s*(True|False)/.exec(hdr);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(hdr);
  if (!descr || !fortran || !shape) throw new Error(`${path}: bad NPY header: ${hdr}`);
  if (fortran[1] !== 'False') throw new Error(`${path}: Fortran order not supported`);
  const dims = shape[1].split(',').map(s => s.trim()).filter(s => s.length).map(Number);
  if (dims.length !== 2 || !dims.every(x => Number.isInteger(x) && x > 0))
    throw new Error(`${path}: want a 2-D array, shape (${shape[1]})`);
  const [n, d] = dims;
  const start = off + hlen;
  let size, Ctor;
  if (descr[1] === '<f4') { size = 4; Ctor = Float32Array; }
  else if (descr[1] === '<f8') { size = 8; Ctor = Float64Array; }
  else throw new Error(`${path}: dtype ${descr[1]} not supported (want <f4 or <f8)`);
  if (buf.length !== start + n * d * size)
    throw new Error(`${path}: ${buf.length - start} data bytes, the header says ${n * d * size}`);
  /* copy into an aligned buffer: the header length need not keep start a multiple of size */
  const data = new Ctor(n * d);
  new Uint8Array(data.buffer).set(buf.subarray(start, start + n * d * size));
  return { n, d, data };
}

/* Writes rows (an array of n arrays of d numbers) as float32 (n, d) NPY 1.0, data at a
 * multiple of 64 bytes (as numpy and our C writer do). */
function writeNpyF32(path, rows) {
  const n = rows.length, d = n ? rows[0].length : 0;
  let hdr = `{'descr': '<f4', 'fortran_order': False, 'shape': (${n}, ${d}), }`;
  const pad = (64 - ((10 + hdr.length + 1) % 64)) % 64;
  hdr = hdr + ' '.repeat(pad) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(hdr.length, 8);
  const data = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) data[i * d + j] = rows[i][j];
  fs.writeFileSync(path, Buffer.concat([head, Buffer.from(hdr, 'latin1'), Buffer.from(data.buffer)]));
}

/* mulberry32: a small seeded PRNG returning doubles in [0, 1) (multiples of 2^-32). */
function mulberry32(seed) {
  let a = seed >>> 0;
  return function () {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seconds(t0) {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/* CPU seconds (user + system) of the process since c0 = process.cpuUsage(): node's own
 * helper threads (garbage collection) count too. */
function cpuSeconds(c0) {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

/* How approximate the kNN is: for up to m query points spread evenly over the rows, the
 * share of their exact k nearest neighbours (brute force, the point itself included, as
 * umap-js's lists include it) that umap-js's lists hold. Ties at the k-th distance can
 * cost a little recall that is not an error. */
function knnRecall(rows, knnIndices, k, m) {
  const n = rows.length, step = Math.max(1, Math.floor(n / m));
  let hit = 0, total = 0;
  const bd = new Float64Array(k), bi = new Int32Array(k); /* the k best so far, ascending */
  for (let q = 0; q < n; q += step) {
    const x = rows[q];
    bd.fill(Infinity);
    bi.fill(-1);
    for (let i = 0; i < n; i++) {
      let s = 0;
      const y = rows[i];
      for (let j = 0; j < x.length; j++) s += (x[j] - y[j]) * (x[j] - y[j]);
      if (s >= bd[k - 1]) continue;
      let t = k - 1;
      for (; t > 0 && bd[t - 1] > s; t--) {
        bd[t] = bd[t - 1];
        bi[t] = bi[t - 1];
      }
      bd[t] = s;
      bi[t] = i;
    }
    const got = new Set(knnIndices[q]);
    for (let t = 0; t < k; t++) if (got.has(bi[t])) hit++;
    total += k;
  }
  return hit / total;
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  const X = readNpy(o.codes);
  const n = o.n > 0 && o.n < X.n ? o.n : X.n;
  const rows = new Array(n);
  for (let i = 0; i < n; i++) rows[i] = Array.from(X.data.subarray(i * X.d, (i + 1) * X.d));

  const params = { nComponents: o.nComponents, nNeighbors: o.nNeighbors, minDist: o.minDist,
    random: mulberry32(o.seed) };
  if (o.nEpochs > 0) params.nEpochs = o.nEpochs;
  const umap = new UMAP(params);
  const pkg = require('umap-js/package.json');
  console.log(`umap-js ${pkg.version} (node ${process.version}): n = ${n}, d = ${X.d}, ` +
    `nComponents ${o.nComponents}, nNeighbors ${o.nNeighbors}, minDist ${o.minDist}, seed ${o.seed}`);

  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const knn = umap.nearestNeighbors(rows); /* private in the TypeScript, plain in the JS */
  const tKnn = seconds(t0);
  umap.setPrecomputedKNN(knn.knnIndices, knn.knnDistances);
  const t1 = process.hrtime.bigint();
  const nEpochs = umap.initializeFit(rows);
  const tInit = seconds(t1);
  const t2 = process.hrtime.bigint();
  const emb = umap.fit(rows); /* initializeFit returns at once for the same X; then the layout */
  const tLayout = seconds(t2);
  const tFit = seconds(t0);
  const cFit = cpuSeconds(c0);
  const recall = knnRecall(rows, knn.knnIndices, o.nNeighbors, 500);

  let nonFinite = 0;
  for (const r of emb) for (const v of r) if (!Number.isFinite(v)) nonFinite++;
  writeNpyF32(o.out, emb);
  const { a, b } = umap.optimizationState; /* the fitted curve parameters */
  console.log(`umap-js fit: ${tFit.toFixed(2)} s in all, ${cFit.toFixed(2)} s CPU (${nEpochs} epochs, init random, ` +
    `a ${a.toFixed(4)} b ${b.toFixed(4)})`);
  console.log(`  knn    ${tKnn.toFixed(2).padStart(7)} s (RP forest + NN-descent, approximate: recall ` +
    `${recall.toFixed(4)} of the exact ${o.nNeighbors} neighbours, on ${Math.min(n, 500)} sampled points)`);
  console.log(`  init   ${tInit.toFixed(2).padStart(7)} s (graph, search graph, a/b, random init)`);
  console.log(`  layout ${tLayout.toFixed(2).padStart(7)} s (${(1e3 * tLayout / nEpochs).toFixed(1)} ms/epoch)`);
  if (nonFinite) console.log(`  warning: ${nonFinite} non-finite values in the embedding`);
  console.log(`wrote ${o.out}`);
  console.log(JSON.stringify({ n, d: X.d, n_epochs: nEpochs, a, b, sec_fit: tFit, cpu_fit: cFit, knn_recall: recall, sec_knn: tKnn,
    sec_init: tInit, sec_layout: tLayout, nonfinite: nonFinite }));
}

try {
  main();
} catch (err) {
  process.stderr.write(`run.js: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
}
