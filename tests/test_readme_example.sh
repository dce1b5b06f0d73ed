#!/usr/bin/env bash
# test_readme_example: the README's round trip (the sh block between the
# readme-example:begin/end markers), run as it stands with bash -e against a fresh server
# on a tiny generated IDX.gz file instead of Fashion-MNIST: the block reads IMAGES, LABELS,
# EPOCHS and B from the environment (its documented defaults are the real files, 25
# epochs and 127.0.0.1:8080). Checks that it ends with exit 0 and that each step did what
# its comment says: a succeeded job, a predict reply with one label and no warnings, a
# CSV of every row, the model file. Needs curl and jq (skipped, 77, without them).
# Env: DC_BIN, DC_SRC.
set -u
BIN=${DC_BIN:-./build/deepclust}
SRC=${DC_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
for t in curl jq python3 zcat od; do
    command -v "$t" >/dev/null || { echo "skipped: no $t"; exit 77; }
done
. "$SRC/tests/lib_http.sh" dc_readme

# 300 8x8 uint8 images of 3 noisy patterns, and their labels (IDX3 / IDX1, gzipped)
python3 - "$tmp" <<'PY'
import gzip, random, struct, sys
rnd = random.Random(1)
pats = [[rnd.randrange(256) for _ in range(64)] for _ in range(3)]
px = bytes(min(255, max(0, v + rnd.randint(-20, 20))) for i in range(300) for v in pats[i % 3])
open(sys.argv[1] + "/images.gz", "wb").write(gzip.compress(struct.pack(">BBBBIII", 0, 0, 8, 3, 300, 8, 8) + px))
open(sys.argv[1] + "/labels.gz", "wb").write(gzip.compress(struct.pack(">BBBBI", 0, 0, 8, 1, 300) + bytes(i % 3 for i in range(300))))
PY
awk '/<!-- readme-example:begin -->/{on=1; next} /<!-- readme-example:end -->/{on=0} on && !/^```/' \
    "$SRC/README.md" >"$tmp/example.sh"
expect "the README has the marked block" 1 "$([ -s "$tmp/example.sh" ] && echo 1 || echo 0)"

start_server "$tmp/server.log" --db "$tmp/dc.db" --workers 1 --blas-threads 1 || exit 1
(cd "$tmp" && B="http://127.0.0.1:$port" IMAGES="$tmp/images.gz" LABELS="$tmp/labels.gz" EPOCHS=2 \
    timeout 300 bash -e example.sh) >"$tmp/out.txt" 2>"$tmp/err.txt"
rc=$?
expect "the block runs to the end (exit code)" 0 "$rc"
grep -q '^succeeded' "$tmp/out.txt" && ok || bad "the watch loop saw the job succeed"
pred=$(grep '^{"labels"' "$tmp/out.txt" | head -1)
expect "predict: one label" 1 "$(echo "$pred" | jq '.labels | length' 2>/dev/null)"
expect "predict: no warnings (input scaled like the upload)" 0 "$(echo "$pred" | jq '.warnings | length' 2>/dev/null)"
expect "the labels upload reply" '"div255" {"min":0,"max":1} 3' \
    "$(grep '^{"id"' "$tmp/out.txt" | jq -c '.scale, .range, .n_classes' 2>/dev/null | tr '\n' ' ' | sed 's/ $//')"
expect "assignments.csv: a header and 300 rows" 301 "$(wc -l <"$tmp/assignments.csv" 2>/dev/null | tr -d ' ')"
expect "assignments.csv header" "index,label,q0,q1,q2,q3,q4,q5,q6,q7,q8,q9,true_label,outlier" \
    "$(head -n 1 "$tmp/assignments.csv" 2>/dev/null)"
"$BIN" predict --model "$tmp/model.bin" --data "$tmp/images.gz" --out "$tmp/q.npy" >/dev/null 2>&1 &&
    ok || bad "deepclust predict reads the downloaded model.bin"
for f in confusion samples; do
    expect "$f.png is a PNG" "89504e47" "$(head -c 4 "$tmp/$f.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')"
done
expect "the outliers line: 3 samples with a score" 3 \
    "$(grep '^\[{"index"' "$tmp/out.txt" | jq '[.[] | select(.iforest > 0)] | length' 2>/dev/null)"
if ! grep -q . "$tmp/err.txt"; then ok; else bad "stderr of the block: $(head -c 600 "$tmp/err.txt")"; fi
if [ "$fail" -ne 0 ]; then
    echo "--- block output:" >&2; cat "$tmp/out.txt" >&2
    echo "--- server log (tail):" >&2; tail -n 20 "$tmp/server.log" >&2
fi
fivexx=$(awk '$1 ~ /Z$/ && $4 ~ /^5/' "$tmp/server.log")
expect "no 5xx in the access log" "" "$fivexx"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
