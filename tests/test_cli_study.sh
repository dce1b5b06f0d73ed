#!/usr/bin/env bash
# test_cli_study: `deepclust study` (issue 14) on generated blobs (4 clusters, one of
# them twice the size): one pretraining per seed (the JSON line's runs: only the first
# k of each seed pretrained), the table and the JSON line agree on the suggested k, which
# is the true one; per-k means are the means of the runs; --out-dir keeps each run's
# model and labels, links each k's chosen model and writes the JSON line as study.json;
# usage errors exit 2.
# Env: DC_BIN.
set -u
SRC=${DC_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${DC_BIN:-$SRC/build/deepclust}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc_cli_study.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
"$PY" - "$tmp/blobs.csv" <<'EOF2'
import random, sys
rnd = random.Random(7)
sizes, d = [150, 150, 300, 150], 6
cs = [[rnd.uniform(-8, 8) for _ in range(d)] for _ in sizes]
with open(sys.argv[1], "w") as f:
    for c, n in enumerate(sizes):
        for _ in range(n):
            f.write(",".join("%.4f" % (cs[c][j] + rnd.gauss(0, 0.6)) for j in range(d)) + ",%d\n" % c)
EOF2
export OPENBLAS_NUM_THREADS=1
if ! "$BIN" study --data "$tmp/blobs.csv" --csv-label-col -1 --method ae_kmeans --hidden 16,4 \
        --pretrain-epochs 10 --batch 32 --seeds 1,2 --clusters 2:6 --quiet --out-dir "$tmp/keep" \
        >"$tmp/out.txt" 2>"$tmp/err.txt"; then
    echo "FAIL: study exited $?"; cat "$tmp/err.txt"; fail=1
fi
"$PY" - "$tmp/out.txt" <<'EOF2' || fail=1
import json, sys
lines = open(sys.argv[1]).read().splitlines()
j = json.loads(lines[-1])
bad = []
def want(c, what, got):
    if not c: bad.append(f"{what}: got {got!r}")
want(j["pretrainings"] == 2, "one pretraining per seed", j["pretrainings"])
want(len(j["runs"]) == 10, "2 seeds x 5 k", len(j["runs"]))
for r in j["runs"]:
    want(r["pretrained"] == (r["k"] == 2), f"seed {r['seed']} k {r['k']} pretrained only at the first k", r["pretrained"])
    want(r["k"] == 2 or r["pretrain_seconds"] == 0, "no pretraining time for the others", r["pretrain_seconds"])
    want(r["silhouette"] is not None and r["calinski_harabasz"] is not None, "criteria", r)
for p in j["per_k"]:
    runs = [r for r in j["runs"] if r["k"] == p["k"]]
    for name in ("acc", "silhouette", "davies_bouldin"):
        m = sum(r[name] for r in runs) / len(runs)
        want(abs(p[name]["mean"] - m) < 1e-6 * max(1, abs(m)), f"k {p['k']} {name} mean", (p[name], m))
k4 = [p for p in j["per_k"] if p["k"] == 4][0]
want(k4["acc"]["mean"] > 0.95 and k4["consensus_acc"] > 0.95, "ACC at the true k", k4)
want(j["suggestion"] and j["suggestion"]["k"] == 4, "suggested k", j["suggestion"])
want(any(l.startswith("suggested k = 4:") for l in lines), "the table says it too", lines[-3:])
for b in bad: print("FAIL:", b)
sys.exit(1 if bad else 0)
EOF2
# --out-dir: every run's model and labels; per k the chosen seed's model, hard-linked;
# that model predicts the data back to the labels the run kept
"$BIN" predict --model "$tmp/keep/k4-chosen.model" --data "$tmp/blobs.csv" --csv-label-col -1 \
    --out "$tmp/q.npy" --labels-out "$tmp/pred.npy" >/dev/null 2>&1 || { echo "FAIL: predict with k4-chosen.model"; fail=1; }
"$PY" - "$tmp/out.txt" "$tmp/keep" "$tmp/pred.npy" <<'EOF2' || fail=1
import ast, json, os, struct, sys
from array import array
def npy_i32(path):  # (shape, values) of a little-endian int32 NPY file (no numpy here)
    b = open(path, "rb").read()
    hl = struct.unpack("<H", b[8:10])[0]
    h = ast.literal_eval(b[10:10 + hl].decode())
    if h["descr"] != "<i4": return h["shape"], None
    a = array("i"); a.frombytes(b[10 + hl:])
    return h["shape"], list(a)
j = json.loads(open(sys.argv[1]).read().splitlines()[-1])
keep, bad = sys.argv[2], []
want = lambda c, what, got=None: c or bad.append(f"{what}: got {got!r}")
names = sorted(os.listdir(keep))
for r in j["runs"]:
    for ext in ("model", "labels.npy"):
        want(f"seed{r['seed']}-k{r['k']}.{ext}" in names, f"kept seed {r['seed']} k {r['k']} {ext}", names)
for p in j["per_k"]:
    c = os.path.join(keep, f"k{p['k']}-chosen.model")
    s = os.path.join(keep, f"seed{p['chosen_seed']}-k{p['k']}.model")
    want(os.path.exists(c) and os.path.samefile(c, s), f"k{p['k']}-chosen.model is seed {p['chosen_seed']}'s", names)
for sd in sorted({r["seed"] for r in j["runs"]}):
    want(f"seed{sd}.ae" in names, f"kept seed {sd}'s autoencoder", names)
want(len(names) == 2 * len(j["runs"]) + len(j["per_k"]) + 2 + 1, "nothing else kept", names)
want(open(os.path.join(keep, "study.json")).read() == open(sys.argv[1]).read().splitlines()[-1] + "\n",
     "study.json is the JSON line, byte for byte", names)
k4 = [p for p in j["per_k"] if p["k"] == 4][0]
ks, kept = npy_i32(os.path.join(keep, f"seed{k4['chosen_seed']}-k4.labels.npy"))
ps, pred = npy_i32(sys.argv[3])
want(ks == (750,) and kept is not None and len(kept) == 750, "labels: 750 int32", ks)
want(kept is not None and kept == pred, "the chosen model predicts the kept labels",
     sum(x != y for x, y in zip(kept or [], pred or [])))
for b in bad: print("FAIL:", b)
sys.exit(1 if bad else 0)
EOF2
# --out-dir's seedS.ae is the autoencoder the seed's runs started from: train --load-ae
# with it reproduces the study's run (same seed, k, method) label for label
"$BIN" train --data "$tmp/blobs.csv" --csv-label-col -1 --method ae_kmeans --hidden 16,4 \
    --batch 32 --seed 2 --clusters 5 --load-ae "$tmp/keep/seed2.ae" --save-model "$tmp/l5.model" \
    --quiet >/dev/null 2>"$tmp/la.txt" &&
"$BIN" predict --model "$tmp/l5.model" --data "$tmp/blobs.csv" --csv-label-col -1 \
    --out "$tmp/q5.npy" --labels-out "$tmp/l5.npy" >/dev/null 2>>"$tmp/la.txt" ||
    { echo "FAIL: train --load-ae seed2.ae, then predict: $(cat "$tmp/la.txt")"; fail=1; }
cmp -s "$tmp/l5.npy" "$tmp/keep/seed2-k5.labels.npy" ||
    { echo "FAIL: train --load-ae seed2.ae gave other labels than the study's seed 2, k 5 run"; fail=1; }
touch "$tmp/afile"
"$BIN" study --data "$tmp/blobs.csv" --method kmeans --clusters 2:3 --out-dir "$tmp/afile" >/dev/null 2>"$tmp/od.txt"
rc=$?
[ $rc -eq 1 ] && grep -q -- "--out-dir .*not a folder" "$tmp/od.txt" ||
    { echo "FAIL: --out-dir on a file: exit $rc, $(cat "$tmp/od.txt")"; fail=1; }
# kmeans shares nothing: no pretraining at all
out=$("$BIN" study --data "$tmp/blobs.csv" --csv-label-col -1 --method kmeans --seeds 3 --clusters 3,4,5 --quiet | tail -1)
"$PY" -c 'import json,sys; j=json.loads(sys.argv[1]); sys.exit(0 if j["pretrainings"]==0 and j["suggestion"]["k"]==4 and len(j["runs"])==3 else 1)' "$out" ||
    { echo "FAIL: kmeans study: $out"; fail=1; }
# progress across the study: one line per finished run, the last with nothing left
"$BIN" study --data "$tmp/blobs.csv" --csv-label-col -1 --method kmeans --seeds 3,4 --clusters 3,4 \
    >/dev/null 2>"$tmp/prog.txt" || { echo "FAIL: kmeans study with progress"; fail=1; }
n=$(grep -c '^study: run [1-4]/4 done, [0-9]*s elapsed, about [0-9]*s left$' "$tmp/prog.txt")
[ "$n" = 4 ] && grep -q '^study: run 4/4 done, .*about 0s left$' "$tmp/prog.txt" ||
    { echo "FAIL: study progress lines ($n of 4):"; cat "$tmp/prog.txt"; fail=1; }
for bad in "--seeds 1,1" "--seeds 1,x" "--clusters 1:5" "--clusters 5:4" "--clusters 2:40" "--seed 3"; do
    # shellcheck disable=SC2086
    "$BIN" study --data "$tmp/blobs.csv" --method kmeans --clusters 2:3 $bad >/dev/null 2>&1
    rc=$?
    [ $rc -eq 2 ] || { echo "FAIL: study $bad exited $rc, expected 2"; fail=1; }
done
[ $fail -eq 0 ] && echo "test_cli_study: ok"
exit $fail
