#!/usr/bin/env bash
# test_svc_dashboard: the dashboard page (GET /, built from api/dashboard/) against a real
# server on loopback, without a browser (tests/test_svc_browser.sh draws it in Chromium):
#   - it is HTML, self-contained (no http(s):// or protocol-relative URL: the service may
#     run without internet); in --token mode it sends the token with its API calls and
#     shows a token form on 401;
#   - every API path its script calls is a row of the route table (api/routes*.c), the
#     picture routes included (confusion, samples, reconstructions, embedding, outliers,
#     generate) and the studies' (list, one study, cancel), and the exact calls it
#     makes (limits, since=, the pictures' n= and cluster=all, Accept: image/png) are
#     accepted by the server: 200 with the fields the script reads (items, total,
#     next_since, matrix, points, a study's jobs and per_k, ...) or a PNG, cancel 202 (a
#     job's, a study's), the new-job form's spec 202, the new-study form's 201, a kmeans
#     job's reconstructions 422 with a reason;
#   - it suggests n2d first for a new job (marked recommended, with its reason), and the
#     example n2d job spec of its empty state is accepted by the server (202);
#   - its script parses (node --check, only when node is installed).
# Needs curl and python3 (JSON). Env: DC_BIN = the binary, DC_SRC = the source tree.
set -u
unset DEEPCLUST_TOKEN DEEPCLUST_DB DEEPCLUST_HOST DEEPCLUST_PORT
BIN=${DC_BIN:-./build/deepclust}
SRC=${DC_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
. "$(dirname "$0")/lib_http.sh" dc_dash
# jq_py FILE EXPR: evaluates a Python expression on the JSON document d
jq_py() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null || echo "<bad json>"; }
stop_server() {
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    pid=""
}
# req OUT CURLARGS...: body to OUT.body, headers to OUT.hdr; prints the status code
req() {
    local out=$1; shift
    curl -s -o "$out.body" -D "$out.hdr" -w '%{http_code}' --max-time 5 "$@" || echo "curl-failed"
}
header() { grep -i "^$2:" "$1.hdr" | head -1 | sed 's/^[^:]*: *//; s/\r$//'; }

# ---- 1. the page, and the calls it makes, on a server without a token ----------------
if start_server "$tmp/s1.log" --db "$tmp/a.db" --workers 0; then
    base=http://127.0.0.1:$port
    expect "GET / status" 200 "$(req "$tmp/p" "$base/")"
    page=$tmp/p.body
    case "$(header "$tmp/p" Content-Type)" in
        text/html*) ok ;;
        *) bad "GET / Content-Type: expected text/html, got '$(header "$tmp/p" Content-Type)'" ;;
    esac
    grep -q '<script>' "$page" && grep -q '</html>' "$page" || bad "GET /: no <script> or no </html>"
    if grep -Eon "(https?:)?//[a-zA-Z0-9.-]+\.[a-z]{2,}" "$page" >"$tmp/ext.txt"; then
        bad "the page refers to outside URLs (it must be self-contained): $(head -3 "$tmp/ext.txt" | tr '\n' ' ')"
    else ok; fi

    # API paths in the page's script: '/v1/...' or '/healthz' literals, up to a quote or '?'
    grep -o "'/\(v1/[a-z]*\|healthz\)[^'?]*" "$page" | tr -d "'" | sort -u >"$tmp/called.txt"
    # route table rows, wherever helpers put them (routes.c and any routes_*.c)
    cat "$SRC"/api/routes*.c | sed -n 's/^[[:space:]]*{"\([A-Z]*\)", "\(\/[^"]*\)".*/\2/p' | sort -u >"$tmp/routes.txt"
    ncalled=$(wc -l <"$tmp/called.txt")
    [ "$ncalled" -ge 4 ] && ok || bad "expected the script to call at least 4 API paths, found $ncalled: $(tr '\n' ' ' <"$tmp/called.txt")"
    while read -r p; do
        # '/v1/jobs/' + id + '/iterations' appears as '/v1/jobs/' and '/iterations': a
        # literal ending in '/' must lead to an {id} route, any other must be a route itself
        case $p in
            */) grep -q "^$p{id}" "$tmp/routes.txt" ;;
            *) grep -qx "$p" "$tmp/routes.txt" ;;
        esac && ok || bad "the page calls $p, which is not in the route table"
    done <"$tmp/called.txt"
    # sub-paths the script appends to an id ('/v1/jobs/' + id + '/iterations')
    for sub in jobs/iterations jobs/cancel jobs/confusion jobs/samples jobs/reconstructions \
        jobs/embedding jobs/outliers models/generate datasets/labels studies/cancel; do
        grep -q "'/${sub#*/}" "$page" && ok || bad "the page does not call /v1/${sub%/*}/{id}/${sub#*/}"
        grep -q "^/v1/${sub%/*}/{id}/${sub#*/}\$" "$tmp/routes.txt" && ok || bad "/v1/${sub%/*}/{id}/${sub#*/} (called by the page) is not a route"
    done

    # The exact requests the script makes (see api/dashboard.c), with the fields it reads.
    expect "healthz" 200 "$(req "$tmp/h" "$base/healthz")"
    expect "healthz version" True "$(jq_py "$tmp/h.body" "isinstance(d['version'], str)")"
    expect "empty job list" 200 "$(req "$tmp/j0" "$base/v1/jobs?limit=200")"
    expect "empty job list: items, total" "0 0" "$(jq_py "$tmp/j0.body" "'%d %d' % (len(d['items']), d['total'])")"
    expect "dataset names" 200 "$(req "$tmp/d0" "$base/v1/datasets?limit=1000")"
    python3 -c '
import random
random.seed(3)
for i in range(40):
    c = i % 2
    print(",".join("%.3f" % (random.gauss(4 * c, 1)) for _ in range(3)) + ",%d" % c)
' >"$tmp/pts.csv"
    expect "upload" 201 "$(req "$tmp/u" -X POST -H 'Content-Type: text/csv' --data-binary "@$tmp/pts.csv" \
        "$base/v1/datasets?name=pts&label_column=-1")"
    ds=$(jq_py "$tmp/u.body" "d['id']")
    expect "create a job (stays queued: --workers 0)" 202 "$(req "$tmp/c" -X POST -H 'Content-Type: application/json' \
        -d "{\"dataset\":\"$ds\",\"method\":\"kmeans\",\"n_clusters\":2}" "$base/v1/jobs")"
    job=$(jq_py "$tmp/c.body" "d['id']")
    expect "job list" 200 "$(req "$tmp/j1" "$base/v1/jobs?limit=200")"
    expect "job list row: fields the table shows" "True" "$(jq_py "$tmp/j1.body" \
        "all(k in d['items'][0] for k in ('id','dataset','method','n_clusters','status','phase','progress','eta_s','timings','created_at','metrics','error','cancel_requested')) and d['total'] == 1")"
    expect "dataset names (one dataset)" "pts" "$(req "$tmp/d1" "$base/v1/datasets?limit=1000" >/dev/null; jq_py "$tmp/d1.body" "d['items'][0]['name']")"
    expect "selected job" 200 "$(req "$tmp/g" "$base/v1/jobs/$job")"
    expect "selected job: spec" True "$(jq_py "$tmp/g.body" "isinstance(d['spec'], dict) and 'timings' in d")"
    expect "iterations, first page" 200 "$(req "$tmp/i" "$base/v1/jobs/$job/iterations?limit=1000&since=-1")"
    expect "iterations: items, next_since" "0 -1" "$(jq_py "$tmp/i.body" "'%d %d' % (len(d['items']), d['next_since'])")"
    expect "cancel" 202 "$(req "$tmp/x" -X POST "$base/v1/jobs/$job/cancel")"
    # the study list and view (app.js studies/renderStudy), and its cancel button
    grep -q "api('/v1/studies?limit=' + STUDY_LIST)" "$page" && ok || bad "the page does not list studies (GET /v1/studies?limit=)"
    expect "empty study list" 200 "$(req "$tmp/s0" "$base/v1/studies?limit=50")"
    expect "empty study list: items" 0 "$(jq_py "$tmp/s0.body" "len(d['items'])")"
    expect "a study (stays queued: --workers 0)" 201 "$(req "$tmp/sc" -X POST -H 'Content-Type: application/json' \
        -d "{\"dataset\":\"$ds\",\"seeds\":[1,2],\"n_clusters\":{\"min\":2,\"max\":3},\"job\":{\"method\":\"kmeans\"}}" "$base/v1/studies")"
    study=$(jq_py "$tmp/sc.body" "d['id']")
    expect "study list" 200 "$(req "$tmp/s1" "$base/v1/studies?limit=50")"
    expect "study list row: fields the table shows" True "$(jq_py "$tmp/s1.body" \
        "all(k in d['items'][0] for k in ('id','dataset','method','seeds','n_clusters','status','progress','created_at')) and set(d['items'][0]['progress']) >= {'done','total','percent','queued','running'}")"
    expect "selected study" 200 "$(req "$tmp/sg" "$base/v1/studies/$study")"
    expect "selected study: the fields the view reads" True "$(jq_py "$tmp/sg.body" \
        "all(k in d for k in ('job','has_labels','jobs','per_k','suggestion')) and len(d['jobs']) == 4 and all(set(j) >= {'id','seed','n_clusters','status','ae_job','pretrains','acc','nmi','ari','criteria','seconds','pretrain_seconds'} for j in d['jobs'])")"
    expect "cancel the study" 202 "$(req "$tmp/sx" -X POST "$base/v1/studies/$study/cancel")"
    expect "the study, cancelled" cancelled "$(req "$tmp/sg2" "$base/v1/studies/$study" >/dev/null; jq_py "$tmp/sg2.body" "d['status']")"
    # the new-study form's spec (app.js studyFromForm) with every field filled
    expect "the new-study form's spec is accepted" 201 "$(req "$tmp/sf" -X POST -H 'Content-Type: application/json' \
        -d "{\"dataset\":\"$ds\",\"seeds\":[1,2,3],\"n_clusters\":{\"min\":2,\"max\":4},\"job\":{\"method\":\"ae_kmeans\",\"pretrain\":{\"epochs\":5}}}" "$base/v1/studies")"
    expect "the form's study: 9 jobs" 9 "$(jq_py "$tmp/sf.body" "d['progress']['total']")"
    expect "cancel the form's study" 202 "$(req "$tmp/sfx" -X POST "$base/v1/studies/$(jq_py "$tmp/sf.body" "d['id']")/cancel")"
    # the method the page suggests first: n2d, marked recommended, with its reason; the
    # empty state's example spec is one the server accepts
    grep -q "<p id=hint[^>]*>Method for a new job: <b>n2d</b> first (recommended): on MNIST" "$page" \
        && ok || bad "the page does not suggest n2d first (id=hint)"
    ex=$(sed -n 's/.*<code id=ex>\([^<]*\)<\/code>.*/\1/p' "$page" | head -1)
    case $ex in
        *'"method":"n2d"'*) ok ;;
        *) bad "the empty state's example job is not an n2d one: '$ex'" ;;
    esac
    expect "the page's example n2d job is accepted (stays queued: --workers 0)" 202 \
        "$(req "$tmp/ex" -X POST -H 'Content-Type: application/json' -d "${ex/ds_.../$ds}" "$base/v1/jobs")"
    expect "the example job's method" n2d "$(jq_py "$tmp/ex.body" "d['method']")"
    expect "cancel the example job" 202 "$(req "$tmp/exc" -X POST "$base/v1/jobs/$(jq_py "$tmp/ex.body" "d['id']")/cancel")"
    stop_server
else
    bad "server did not start"
fi

# ---- 2. token mode ---------------------------------------------------------------------
if start_server "$tmp/s2.log" --db "$tmp/b.db" --workers 0 --token s3cret; then
    base=http://127.0.0.1:$port
    expect "token: GET / without token (a static page)" 200 "$(req "$tmp/t0" "$base/")"
    expect "token: GET / with token" 200 "$(req "$tmp/t1" -H 'Authorization: Bearer s3cret' "$base/")"
    grep -q "Authorization = 'Bearer '" "$tmp/t1.body" && ok || bad "the page never sends an Authorization header"
    grep -q 'r.status === 401' "$tmp/t1.body" && ok || bad "the page does not handle 401 (token form)"
    expect "token: /v1/jobs without token" 401 "$(req "$tmp/t2" "$base/v1/jobs?limit=200")"
    expect "token: /v1/jobs with token" 200 "$(req "$tmp/t3" -H 'Authorization: Bearer s3cret' "$base/v1/jobs?limit=200")"
    stop_server
else
    bad "server (token mode) did not start"
fi

# ---- 3. the pictures of finished jobs, asked for as the page asks ---------------------
# wait_job ID: polls until the job has finished; prints its status
wait_job() {
    local s=""
    for _ in $(seq 1 600); do
        req "$tmp/w" "$base/v1/jobs/$1" >/dev/null
        s=$(jq_py "$tmp/w.body" "d['status']")
        case $s in succeeded|failed|cancelled) break ;; esac
        sleep 0.2
    done
    echo "$s"
}
png_ok() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }
if start_server "$tmp/s3.log" --db "$tmp/c.db" --workers 1; then
    base=http://127.0.0.1:$port
    python3 "$SRC/tests/tools/dashboard_data.py" "$tmp/shapes" 120
    # the upload form's requests: the file as application/octet-stream, then the labels
    expect "upload (form)" 201 "$(req "$tmp/pu" -X POST -H 'Content-Type: application/octet-stream' \
        --data-binary "@$tmp/shapes.npy" "$base/v1/datasets?name=shapes")"
    ds=$(jq_py "$tmp/pu.body" "d['id']")
    expect "labels (form)" 200 "$(req "$tmp/pl" -X PUT -H 'Content-Type: text/csv' \
        --data-binary "@$tmp/shapes.labels.csv" "$base/v1/datasets/$ds/labels")"
    # the new-job form's spec (app.js specFromForm) with every field filled
    expect "the new-job form's vae spec is accepted" 202 "$(req "$tmp/nv" -X POST -H 'Content-Type: application/json' \
        -d "{\"dataset\":\"$ds\",\"method\":\"vae\",\"n_clusters\":6,\"autoencoder\":{\"hidden\":[16,8]},\"pretrain\":{\"epochs\":3},\"vae\":{\"epochs\":2},\"seed\":7}" "$base/v1/jobs")"
    vj=$(jq_py "$tmp/nv.body" "d['id']")
    expect "a kmeans job" 202 "$(req "$tmp/nk" -X POST -H 'Content-Type: application/json' \
        -d "{\"dataset\":\"$ds\",\"method\":\"kmeans\",\"n_clusters\":6,\"seed\":0}" "$base/v1/jobs")"
    kj=$(jq_py "$tmp/nk.body" "d['id']")
    expect "the vae job" succeeded "$(wait_job "$vj")"
    expect "the kmeans job" succeeded "$(wait_job "$kj")"
    req "$tmp/vj" "$base/v1/jobs/$vj" >/dev/null
    vm=$(jq_py "$tmp/vj.body" "d['model']")
    J=$base/v1/jobs/$vj
    expect "confusion (JSON)" 200 "$(req "$tmp/cf" "$J/confusion")"
    expect "confusion: the fields the heatmap reads" True "$(jq_py "$tmp/cf.body" \
        "len(d['matrix']) == d['k'] == 6 and all(len(r) == len(d['classes']) == d['n_classes'] for r in d['matrix']) and len(d['mapping']) == d['k'] and isinstance(d['acc'], float)")"
    for u in "$J/samples?cluster=all&n=10" "$J/reconstructions?n=8" "$base/v1/models/$vm/generate?cluster=all&n=8" "$J/outliers?n=20"; do
        expect "${u#$base} (Accept: image/png)" 200 "$(req "$tmp/png" -H 'Accept: image/png' "$u")"
        png_ok "$tmp/png.body" && ok || bad "${u#$base}: not a PNG"
    done
    expect "embedding (JSON)" 200 "$(req "$tmp/em" "$J/embedding?n=2000")"
    expect "embedding: the fields the scatter reads" True "$(jq_py "$tmp/em.body" \
        "len(d['points']) > 0 and all(set(p) >= {'index','x','y','cluster','label'} for p in d['points']) and len(d['centroids']) == 6 and all(set(c) >= {'cluster','x','y'} for c in d['centroids']) and d['source'] in ('pca','manifold')")"
    expect "outliers (JSON)" 200 "$(req "$tmp/ou" "$J/outliers?n=20")"
    expect "outliers: the fields the table reads" True "$(jq_py "$tmp/ou.body" \
        "len(d['samples']) == 20 and isinstance(d['by'], str) and all(set(s) >= {'index','iforest','confidence','reconstruction','cluster','label'} for s in d['samples'])")"
    # a panel whose route cannot answer shows the reason: a kmeans job has no decoder
    expect "kmeans reconstructions: 422" 422 "$(req "$tmp/kr" -H 'Accept: image/png' "$base/v1/jobs/$kj/reconstructions?n=8")"
    expect "kmeans reconstructions: a reason" True "$(jq_py "$tmp/kr.body" "len(d['detail']) > 0")"
    stop_server
else
    bad "server (pictures) did not start"
fi

# ---- 4. the script parses --------------------------------------------------------------
if command -v node >/dev/null 2>&1 && [ -f "$tmp/p.body" ]; then
    sed -n '/<script>/,/<\/script>/p' "$tmp/p.body" | sed '1d;$d' >"$tmp/page.js"
    if node --check "$tmp/page.js" 2>"$tmp/node.err"; then ok
    else bad "the page's script does not parse: $(head -5 "$tmp/node.err")"; fi
else
    echo "note: node not installed, the script's syntax is not checked" >&2
fi

echo "test_svc_dashboard: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
