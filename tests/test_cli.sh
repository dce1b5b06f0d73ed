#!/usr/bin/env bash
# The command line: train (kmeans, dec, vae, n2d) on a generated CSV with labels, --json,
# --save-model (file mode 0600, like --checkpoint files), predict (NPY out), generate
# (PNG out), and one-line errors with a non-zero exit for bad arguments and bad files.
# Env: DC_BIN = the deepclust binary.
set -u
BIN=${DC_BIN:?DC_BIN must point at the deepclust binary}
umask 022 # model and checkpoint files must come out 0600 whatever the umask allows
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }

# 4 blobs in 8-D inside [0,1], 100 each, label in the last column; 4x4 "images" for vae.
awk 'BEGIN { srand(7); print "a,b,c,d,e,f,g,h,label";
  for (i = 0; i < 400; i++) { k = i % 4; line = "";
    for (j = 0; j < 8; j++) { c = (j % 4 == k) ? 0.8 : 0.2; v = c + 0.05 * (rand() - 0.5);
      line = line sprintf("%.4f,", v) }
    print line k } }' > "$tmp/blobs.csv"

out=$("$BIN" train --method kmeans --data "$tmp/blobs.csv" --csv-label-col -1 --clusters 4 \
      --n-init 3 --json --save-model "$tmp/km.model" 2>"$tmp/km.err"); rc=$?
check '[ $rc -eq 0 ]' "train kmeans failed: $(cat "$tmp/km.err")"
last=$(printf '%s\n' "$out" | tail -n 1)
acc=$(printf '%s' "$last" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["acc"], r["n"], r["method"])' 2>/dev/null)
check '[ "${acc#* }" = "400 kmeans" ]' "json line lacks n/method: $last"
check 'python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= 0.99 else 1)" ${acc%% *}' "kmeans acc $acc < 0.99"
check 'grep -q "\[kmeans\]" "$tmp/km.err"' "no progress lines on stderr"
km_mode=$(stat -c %a "$tmp/km.model" 2>/dev/null)
check '[ "$km_mode" = 600 ]' "--save-model file mode: expected 600, got ${km_mode:-missing}"

"$BIN" predict --model "$tmp/km.model" --data "$tmp/blobs.csv" --csv-label-col -1 \
    --out "$tmp/q.npy" --labels-out "$tmp/l.npy" > "$tmp/pred.out" 2>&1; rc=$?
check '[ $rc -eq 0 ]' "predict failed: $(cat "$tmp/pred.out")"
check 'grep -q "acc 1.0000\|acc 0.99" "$tmp/pred.out"' "predict metrics: $(cat "$tmp/pred.out")"
check '[ "$(head -c 6 "$tmp/q.npy" | tail -c 5)" = "NUMPY" ]' "q.npy is not NPY"
# 400 x 4 float32 + header (128 bytes)
check '[ $(stat -c %s "$tmp/q.npy") -eq $((128 + 400 * 4 * 4)) ]' "q.npy size $(stat -c %s "$tmp/q.npy")"

out=$("$BIN" train --method dec --data "$tmp/blobs.csv" --csv-label-col -1 --clusters 4 \
      --hidden 16,4 --pretrain-epochs 20 --batch 32 --n-init 3 --update-interval 10 \
      --maxiter 100 --json --save-ae "$tmp/ae.bin" 2>"$tmp/dec.err" | tail -n 1)
check 'printf "%s" "$out" | python3 -c "import json,sys; r=json.load(sys.stdin); sys.exit(0 if r[\"acc\"] >= 0.99 and r[\"pretrain_epochs\"] == 20 and r[\"epoch_seconds\"] is not None else 1)"' \
    "dec json: $out $(tail -3 "$tmp/dec.err")"
# 20 epochs x 13 batches is too short for the auto recipe's SGD: Adam, as resolved
check 'printf "%s" "$out" | grep -q "\"pretrain_recipe\":\"adam lr 0.001 init glorot\""' "dec recipe: $out"
# the autoencoder of that run starts a vae (its hidden layers + latent = 16, 4)
out=$("$BIN" train --method vae --data "$tmp/blobs.csv" --csv-label-col -1 --clusters 4 \
      --hidden 16 --latent 4 --vae-epochs 3 --batch 50 --load-ae "$tmp/ae.bin" --json 2>"$tmp/vae1.err" | tail -n 1)
check 'printf "%s" "$out" | python3 -c "import json,sys; r=json.load(sys.stdin); sys.exit(0 if r[\"method\"] == \"vae\" and r[\"acc\"] >= 0.95 and r[\"pretrain_seconds\"] == 0 else 1)"' \
    "vae from a saved autoencoder: $out $(tail -3 "$tmp/vae1.err")"
"$BIN" train --method vae --data "$tmp/blobs.csv" --csv-label-col -1 --clusters 4 \
    --save-ae "$tmp/x.bin" 2>"$tmp/e0"; rc=$?
check '[ $rc -eq 2 ] && [ $(wc -l < "$tmp/e0") -eq 1 ] && grep -q "keeps no autoencoder" "$tmp/e0"' \
    "vae --save-ae refused before training: rc $rc $(cat "$tmp/e0")"
check 'grep -q "\[pretrain\] 20/20" "$tmp/dec.err" && grep -q "\[cluster\]" "$tmp/dec.err" && grep -q "eta" "$tmp/dec.err"' \
    "dec progress lines missing"

"$BIN" train --method vae --data "$tmp/blobs.csv" --csv-label-col -1 --clusters 4 \
    --hidden 16 --latent 4 --vae-epochs 5 --batch 50 --quiet --save-model "$tmp/vae.model" 2>"$tmp/vae.err"; rc=$?
check '[ $rc -eq 0 ]' "train vae failed: $(cat "$tmp/vae.err")"
"$BIN" generate --model "$tmp/vae.model" --cluster 2 -n 6 --npy "$tmp/g.npy" 2>"$tmp/gen.err"; rc=$?
check '[ $rc -eq 0 ] && [ $(stat -c %s "$tmp/g.npy") -eq $((128 + 6 * 8 * 4)) ]' \
    "generate --npy: $(cat "$tmp/gen.err")"
"$BIN" generate --model "$tmp/km.model" --cluster 0 -n 2 --npy "$tmp/g2.npy" 2>"$tmp/gen2.err"; rc=$?
check '[ $rc -ne 0 ] && grep -q "only vae" "$tmp/gen2.err"' "generate on kmeans: $(cat "$tmp/gen2.err")"

# --checkpoint: SIGTERM mid-pretraining saves the state and exits 1; the same command
# continues from it to the model the uninterrupted run gives, counts the earlier time,
# and removes the file. A damaged or foreign checkpoint is refused with one line.
ck=(train --method dec --data "$tmp/blobs.csv" --csv-label-col -1 --clusters 4 --hidden 256,256,4
    --pretrain-epochs 600 --batch 32 --n-init 3 --update-interval 10 --maxiter 100 --threads 1
    --seed 3 --json)
"$BIN" "${ck[@]}" --save-model "$tmp/ref.model" >"$tmp/ref.out" 2>"$tmp/ref.err"; rc=$?
check '[ $rc -eq 0 ]' "reference run: $(tail -2 "$tmp/ref.err")"
"$BIN" "${ck[@]}" --checkpoint "$tmp/run.ck" --save-model "$tmp/ck.model" >"$tmp/ck1.out" 2>"$tmp/ck1.err" &
pid=$!
for _ in $(seq 600); do grep -q '\[pretrain\] 20/' "$tmp/ck1.err" && break; sleep 0.05; done
kill -TERM "$pid"; wait "$pid"; rc=$?
check '[ $rc -eq 1 ] && [ -s "$tmp/run.ck" ] && [ ! -e "$tmp/ck.model" ]' \
    "SIGTERM with --checkpoint: rc $rc, ckpt $(ls -l "$tmp/run.ck" 2>&1) $(tail -1 "$tmp/ck1.err")"
ck_mode=$(stat -c %a "$tmp/run.ck" 2>/dev/null)
check '[ "$ck_mode" = 600 ]' "checkpoint file mode: expected 600, got ${ck_mode:-missing}"
check 'tail -1 "$tmp/ck1.err" | grep -q "stopped during pretraining.*run the same command to continue from its last checkpoint in"' \
    "stop message: $(tail -1 "$tmp/ck1.err")"
cp "$tmp/run.ck" "$tmp/keep.ck"
"$BIN" "${ck[@]}" --checkpoint "$tmp/run.ck" --save-model "$tmp/ck.model" >"$tmp/ck2.out" 2>"$tmp/ck2.err"; rc=$?
check '[ $rc -eq 0 ] && [ ! -e "$tmp/run.ck" ] && grep -q "^resuming from .*resume 1)" "$tmp/ck2.err"' \
    "resume: rc $rc $(head -3 "$tmp/ck2.err") $(tail -1 "$tmp/ck2.err")"
check 'tail -1 "$tmp/ck2.out" | python3 -c "import json,sys; r=json.load(sys.stdin); sys.exit(0 if r[\"resumes\"] == 1 and r[\"acc\"] >= 0.99 and r[\"pretrain_epochs\"] == 600 and 0 < r[\"epochs_timed\"] < 600 else 1)"' \
    "resumed json: $(tail -1 "$tmp/ck2.out")"
first=$(sed -n 's/^\[pretrain\] \([0-9]*\)\/600.*/\1/p' "$tmp/ck2.err" | head -1)
check '[ -n "$first" ] && [ "$first" -gt 20 ]' "the resumed run started pretraining again at epoch ${first:-none}"
so_far=$(sed -n 's/^resuming from .* (\([0-9.]*\)s of training so far.*/\1/p' "$tmp/ck2.err")
check 'tail -1 "$tmp/ck2.out" | python3 -c "import json,sys; r=json.load(sys.stdin); sys.exit(0 if r[\"seconds\"] > float(sys.argv[1]) > 0 and r[\"pretrain_seconds\"] > float(sys.argv[1]) else 1)" "$so_far"' \
    "resumed seconds must include the $so_far s before: $(tail -1 "$tmp/ck2.out")"
"$BIN" predict --model "$tmp/ref.model" --data "$tmp/blobs.csv" --csv-label-col -1 --out "$tmp/qref.npy" >/dev/null 2>&1
"$BIN" predict --model "$tmp/ck.model" --data "$tmp/blobs.csv" --csv-label-col -1 --out "$tmp/qck.npy" >/dev/null 2>&1
check 'cmp -s "$tmp/qref.npy" "$tmp/qck.npy"' "resumed run's q differs from the uninterrupted run's"
cp "$tmp/keep.ck" "$tmp/run.ck"
"$BIN" "${ck[@]/--seed/--batch}" --checkpoint "$tmp/run.ck" >/dev/null 2>"$tmp/e7"; rc=$?
check '[ $rc -eq 1 ] && [ $(grep -c "^deepclust:" "$tmp/e7") -eq 1 ] && grep -q "does not fit this run.*delete it to start over" "$tmp/e7" && [ -e "$tmp/run.ck" ]' \
    "checkpoint of another run: rc $rc $(cat "$tmp/e7")"
head -c 100 "$tmp/keep.ck" > "$tmp/run.ck"
"$BIN" "${ck[@]}" --checkpoint "$tmp/run.ck" --quiet >/dev/null 2>"$tmp/e8"; rc=$?
check '[ $rc -eq 1 ] && [ $(wc -l < "$tmp/e8") -eq 1 ] && grep -q "not a whole deepclust train checkpoint" "$tmp/e8"' \
    "truncated checkpoint: rc $rc $(cat "$tmp/e8")"

# errors: one line, non-zero exit
"$BIN" train --method nope --data "$tmp/blobs.csv" --clusters 2 2>"$tmp/e1"; rc=$?
check '[ $rc -eq 2 ] && [ $(wc -l < "$tmp/e1") -eq 1 ] && grep -q "unknown method" "$tmp/e1"' "bad method: rc $rc $(cat "$tmp/e1")"
"$BIN" train --method kmeans --data "$tmp/missing.csv" --clusters 2 2>"$tmp/e2"; rc=$?
check '[ $rc -eq 1 ] && grep -q "missing.csv" "$tmp/e2"' "missing file: rc $rc $(cat "$tmp/e2")"
printf 'a,b\n1,2\n3,x\n' > "$tmp/bad.csv"
"$BIN" train --method kmeans --data "$tmp/bad.csv" --clusters 1 2>"$tmp/e3"; rc=$?
check '[ $rc -eq 1 ] && grep -q "line 3" "$tmp/e3"' "bad csv: rc $rc $(cat "$tmp/e3")"
"$BIN" train --method kmeans --data "$tmp/blobs.csv" --clusters 0 2>"$tmp/e4"; rc=$?
check '[ $rc -eq 2 ]' "clusters 0: rc $rc"
"$BIN" predict --model "$tmp/blobs.csv" --data "$tmp/blobs.csv" --out "$tmp/x.npy" 2>"$tmp/e5"; rc=$?
check '[ $rc -eq 1 ] && grep -q "not a deepclust model" "$tmp/e5"' "bad model: rc $rc $(cat "$tmp/e5")"
"$BIN" train --method dec --data "$tmp/blobs.csv" --clusters 2 --tol 7 --quiet 2>"$tmp/e6"; rc=$?
check '[ $rc -eq 2 ] && grep -q -- "--tol" "$tmp/e6"' "tol out of range: rc $rc $(cat "$tmp/e6")"

# n2d: autoencoder -> UMAP -> Gaussian mixture, its flags, predict with the manifold
# coordinates as the embedding; --hidden none runs it on the raw features
out=$("$BIN" train --method n2d --data "$tmp/blobs.csv" --csv-label-col -1 --clusters 4 \
      --hidden 16,8 --pretrain-epochs 20 --batch 32 --manifold-components 4 \
      --manifold-epochs 100 --manifold-neighbors 15 --gmm-n-init 2 --save-model "$tmp/n2d.model" \
      --json 2>"$tmp/n2d.err" | tail -1)
check 'printf "%s" "$out" | python3 -c "import json,sys; r=json.load(sys.stdin); sys.exit(0 if r[\"method\"] == \"n2d\" and r[\"acc\"] >= 0.99 and r[\"pretrain_epochs\"] == 20 else 1)"' \
    "n2d: $out $(tail -3 "$tmp/n2d.err")"
check 'grep -q "\[manifold\] 100/100" "$tmp/n2d.err" && grep -q "\[mixture\]" "$tmp/n2d.err" && grep -q "\[knn\]" "$tmp/n2d.err"' \
    "n2d phases: $(grep -v pretrain "$tmp/n2d.err")"
"$BIN" predict --model "$tmp/n2d.model" --data "$tmp/blobs.csv" --csv-label-col -1 \
    --out "$tmp/n2dq.npy" --embed-out "$tmp/n2dz.npy" > "$tmp/n2dp.out" 2>&1; rc=$?
check '[ $rc -eq 0 ] && grep -q "acc 1.0000\|acc 0.99" "$tmp/n2dp.out"' "n2d predict: rc $rc $(cat "$tmp/n2dp.out")"
check 'python3 -c "import sys; b=open(sys.argv[1],\"rb\").read(); sys.exit(0 if b\"(400, 4)\" in b[:128] else 1)" "$tmp/n2dz.npy"' \
    "n2d embedding: not (400, 4) in the NPY header"
out=$("$BIN" train --method n2d --data "$tmp/blobs.csv" --csv-label-col -1 --clusters 4 \
      --hidden none --manifold-components 4 --manifold-epochs 100 --json --quiet | tail -1)
check 'printf "%s" "$out" | python3 -c "import json,sys; r=json.load(sys.stdin); sys.exit(0 if r[\"acc\"] >= 0.99 and r[\"pretrain_recipe\"] is None else 1)"' \
    "raw n2d: $out"
"$BIN" train --method n2d --data "$tmp/blobs.csv" --clusters 4 --manifold-init umap 2>"$tmp/e9"; rc=$?
check '[ $rc -eq 2 ] && grep -q -- "--manifold-init" "$tmp/e9"' "manifold-init: rc $rc $(cat "$tmp/e9")"
"$BIN" train --method n2d --data "$tmp/blobs.csv" --csv-label-col -1 --clusters 4 \
    --manifold-neighbors 500 --quiet 2>"$tmp/e10"; rc=$?
check '[ $rc -eq 1 ] && grep -q "manifold_neighbors" "$tmp/e10"' "manifold-neighbors 500: rc $rc $(cat "$tmp/e10")"
"$BIN" train --method dec --data "$tmp/blobs.csv" --clusters 4 --hidden none 2>"$tmp/e11"; rc=$?
check '[ $rc -eq 2 ]' "dec --hidden none: rc $rc $(cat "$tmp/e11")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
