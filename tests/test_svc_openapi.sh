#!/usr/bin/env bash
# test_svc_openapi: api/openapi.yaml is a valid OpenAPI 3.1 document (checked by a
# standard validator, the npm package @apidevtools/swagger-parser, installed on first
# use into ./npm-tools of the ctest working directory, i.e. the build folder, or into
# $DC_NPM_TOOLS), documents every route of the route table in api/routes.c and no
# other, gives every operation a success response and problem+json errors. A broken
# copy must be refused, so that the validator is known to bite.
# Needs node and npm (Debian: nodejs npm) and the npm registry on first use.
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
# The route table: one "METHOD PATTERN" per row of api_routes[].
sed -n 's/^[[:space:]]*{"\([A-Z]*\)", "\(\/[^"]*\)".*/\1 \2/p' "$SRC/api/routes.c" >"$tmp/routes.txt"
# A copy with a dangling reference and no info.version: must be refused.
sed -e 's/^  version: .*//' -e 's/#\/components\/schemas\/Dataset"/#\/components\/schemas\/Nope"/' \
    "$SRC/api/openapi.yaml" >"$tmp/broken.yaml"

NODE_PATH="$TOOLS/node_modules" node - "$SRC/api/openapi.yaml" "$tmp/routes.txt" "$tmp/broken.yaml" <<'EOF'
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
    const routes = fs.readFileSync(routesFile, "utf8").trim().split("\n").map(l => l.split(" "));
    check(routes.length >= 10, "route table read: " + routes.length + " rows");
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
