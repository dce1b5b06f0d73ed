#!/usr/bin/env bash
# test_svc_openapi: api/openapi.yaml is a valid OpenAPI 3.1 document (checked by a
# standard validator, the npm package @apidevtools/swagger-parser, installed on first
# use into ./npm-tools of the ctest working directory, i.e. the build folder, or into
# $DC_NPM_TOOLS), documents every route of the route table in api/routes.c and no
# other, documents for each route exactly the query parameters the table declares (the
# table comes from the binary: `deepclust routes --json`), gives every operation a
# success response and problem+json errors. A broken copy must be refused, and a copy
# with one query parameter too many or too few must fail the comparison, so that both
# checks are known to bite.
# Needs node and npm (Debian: nodejs npm) and the npm registry on first use. Env: DC_BIN.
set -u
SRC=${DC_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
TOOLS=${DC_NPM_TOOLS:-$PWD/npm-tools}
PKG=@apidevtools/swagger-parser@12.1.0

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "SKIP: node and npm are needed (apt-get install nodejs npm)" >&2
    exit 77
fi
if [ ! -f "$TOOLS/node_modules/@apidevtools/swagger-parser/package.json" ]; then
    mkdir -p "$TOOLS"
    if ! npm install --no-audit --no-fund --silent --prefix "$TOOLS" "$PKG" >"$TOOLS/install.log" 2>&1; then
        echo "cannot install $PKG with npm:" >&2
        cat "$TOOLS/install.log" >&2
        exit 1
    fi
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc_oas.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# The route table, as the binary has it: [{method, pattern, query: [...]}, ...].
BIN=${DC_BIN:-$SRC/build/deepclust}
if ! "$BIN" routes --json >"$tmp/routes.json"; then
    echo "FAIL: '$BIN routes --json' did not print the route table" >&2
    exit 1
fi
# A copy with a dangling reference and no info.version: must be refused.
sed -e 's/^  version: .*//' -e 's/#\/components\/schemas\/Dataset"/#\/components\/schemas\/Nope"/' \
    "$SRC/api/openapi.yaml" >"$tmp/broken.yaml"

NODE_PATH="$TOOLS/node_modules" node - "$SRC/api/openapi.yaml" "$tmp/routes.json" "$tmp/broken.yaml" <<'EOF'
const SwaggerParser = require("@apidevtools/swagger-parser");
const fs = require("fs");
const [doc, routesFile, broken] = process.argv.slice(2);
let pass = 0, fail = 0;
const check = (c, what) => { if (c) pass++; else { fail++; console.error("FAIL: " + what); } };
(async () => {
  let api = null;
  try {
    api = await SwaggerParser.validate(doc);
    pass++;
  } catch (e) {
    fail++;
    console.error("FAIL: api/openapi.yaml does not validate: " + e.message);
  }
  try {
    await SwaggerParser.validate(broken);
    check(false, "the validator accepted a broken document");
  } catch (e) {
    check(true, "");
  }
  if (api) {
    check(String(api.openapi).startsWith("3.1"), "openapi is 3.1, got " + api.openapi);
    const table = JSON.parse(fs.readFileSync(routesFile, "utf8"));
    const routes = table.map(r => [r.method, r.pattern]);
    check(routes.length >= 10, "route table read: " + routes.length + " rows");
    // query parameters documented for an operation (path-level ones included), sorted
    const documented = (doc, m, p) => {
      const item = doc.paths[p] || {}, op = item[m.toLowerCase()] || {};
      return [...(item.parameters || []), ...(op.parameters || [])]
        .filter(x => x && x.in === "query").map(x => x.name).sort();
    };
    const queryMismatches = doc => table.filter(r => {
      const d = documented(doc, r.method, r.pattern), t = [...r.query].sort();
      return d.length !== t.length || d.some((x, i) => x !== t[i]);
    }).map(r => `${r.method} ${r.pattern}: table [${r.query}], documented [${documented(doc, r.method, r.pattern)}]`);
    const mism = queryMismatches(api);
    check(mism.length === 0, "query parameters differ from the route table:\n  " + mism.join("\n  "));
    check(table.some(r => r.query.length >= 3), "some route declares query parameters");
    // the comparison bites: one parameter more, and one fewer, in a copy of the document
    const extra = JSON.parse(JSON.stringify(api));
    extra.paths["/v1/jobs"].get.parameters.push({name: "sort", in: "query", schema: {type: "string"}});
    check(queryMismatches(extra).length === 1, "an undeclared documented parameter is caught");
    const fewer = JSON.parse(JSON.stringify(api));
    fewer.paths["/v1/datasets"].get.parameters.pop();
    check(queryMismatches(fewer).length === 1, "a declared undocumented parameter is caught");
    const ops = new Set();
    for (const [p, item] of Object.entries(api.paths))
      for (const m of ["get", "put", "post", "delete", "patch"]) if (item[m]) ops.add(m.toUpperCase() + " " + p);
    for (const [m, p] of routes) {
      const op = api.paths[p] && api.paths[p][m.toLowerCase()];
      check(op, `route ${m} ${p} is not documented`);
      if (!op) continue;
      const codes = Object.keys(op.responses || {});
      check(codes.some(c => /^2/.test(c)), `${m} ${p}: no success response`);
      check(codes.includes("default"), `${m} ${p}: no default (problem) response`);
      for (const c of codes.filter(c => /^[45]/.test(c) || c === "default")) {
        const content = op.responses[c].content || {};
        check(content["application/problem+json"], `${m} ${p} ${c}: not application/problem+json`);
      }
      if ((m === "POST" || m === "PUT") && !p.endsWith("/cancel"))
        check(op.requestBody, `${m} ${p}: no requestBody`);
      if (p.includes("{id}"))
        check(codes.includes("404"), `${m} ${p}: no 404`);
      ops.delete(m + " " + p);
    }
    check(ops.size === 0, "documented but not routed: " + [...ops].join(", "));
  }
  console.log(`${pass} passed, ${fail} failed`);
  process.exit(fail ? 1 : 0);
})();
EOF
