#!/usr/bin/env bash
# test_svc_opts_openapi: api/openapi.yaml's JobSpec schema agrees with core's option table
# (core/cluster_opts.def, printed by the hidden `deepclust train --options-json`): the same
# options, types, ranges, enum names, defaults and methods' own defaults
# (x-method-defaults), checked by tests/tools/opts_openapi.py. Copies of the document
# with one disagreement each, and a table with one option missing, must fail, so that the
# check is known to bite. Needs python3 (standard library only). Env: DC_BIN, DC_SRC.
set -u
SRC=${DC_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${DC_BIN:-$SRC/build/deepclust}
CHECK="$SRC/tests/tools/opts_openapi.py"
command -v python3 >/dev/null 2>&1 || { echo "SKIP: python3 is needed" >&2; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc_opts.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0

if ! "$BIN" train --options-json >"$tmp/opts.json"; then
    echo "FAIL: '$BIN train --options-json' did not print the option table" >&2
    exit 1
fi
if ! python3 "$CHECK" "$tmp/opts.json" "$SRC/api/openapi.yaml"; then
    echo "FAIL: api/openapi.yaml's JobSpec disagrees with core/cluster_opts.def (above)" >&2
    fail=1
fi

# Each sed makes one disagreement; the check must refuse every copy.
bites=(
    '/batch_size:/,/default:/s/maximum: 65536/maximum: 65535/'       # a range
    '/^            lr:/,/maximum:/s/exclusiveMinimum: 0/minimum: 0/' # an open bound
    '/^                vae: 0.0001/d'                                 # a method's default
    '/^            momentum:/,/default:/s/default: 0.9/default: 0.8/' # a default
    's/enum: \[spectral, pca\]/enum: [spectral, pca, random]/'        # an enum name
    '/^            rec_weight:/,/type:/s/type: number/type: integer/' # a type
    's/^        mixture:/        extra:\n          type: integer\n        mixture:/' # an option too many
)
for b in "${bites[@]}"; do
    sed -e "$b" "$SRC/api/openapi.yaml" >"$tmp/bad.yaml"
    if cmp -s "$tmp/bad.yaml" "$SRC/api/openapi.yaml"; then
        echo "FAIL: the edit '$b' changed nothing: the bite test is stale" >&2
        fail=1
    elif python3 "$CHECK" "$tmp/opts.json" "$tmp/bad.yaml" >"$tmp/bad.out" 2>&1; then
        echo "FAIL: the check accepted a document edited with '$b'" >&2
        fail=1
    fi
done
# and a table with one option fewer
python3 -c 'import json, sys
t = json.load(open(sys.argv[1]))
t["options"] = [o for o in t["options"] if o["json"] != "manifold.min_dist"]
json.dump(t, open(sys.argv[2], "w"))' "$tmp/opts.json" "$tmp/less.json"
if python3 "$CHECK" "$tmp/less.json" "$SRC/api/openapi.yaml" >"$tmp/less.out" 2>&1; then
    echo "FAIL: the check accepted a table without manifold.min_dist" >&2
    fail=1
fi
[ $fail -eq 0 ] && echo "PASS: openapi.yaml's JobSpec agrees with the option table; ${#bites[@]} + 1 bites"
exit $fail
