#!/usr/bin/env bash
# test_layers: dependencies point one way (issue 16). Each folder is a layer and may
# include headers from its own folder and the layers listed for it, nothing above:
#
#   core/          numeric library          libc, libm, cblas, zlib
#   server/svc/    service (store, jobs)    core/ + jansson; SQLite and libpq only in
#                                           their db backends (db.h); never microhttpd.h
#   api/           HTTP                     server/svc/, core/ + libmicrohttpd, jansson
#   server/cli/    offline trainer          core/ only
#   server/        the executable           anything
#
# A layer's internal headers (*_internal.h, api/handlers.h) are private to its folder:
# outside it only the white-box tests of tests/ and fuzz/ may include them.
#
# Fails naming every "#include" that runs against the direction.
set -u
SRC=${DC_SRC:-$(cd "$(dirname "$0")/.." && pwd)}
ROOT=${1:-$SRC}
if [ $# -eq 0 ]; then
  # the check must bite: a copy with one planted upward include must fail
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/dc_layers.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  for d in core server api; do cp -r "$SRC/$d" "$tmp/"; done
  cp "$SRC/CMakeLists.txt" "$tmp/"
  printf '#include "svc.h"\n' >>"$tmp/server/cli/cli.c"
  printf '#include <microhttpd.h>\n' >>"$tmp/server/svc/store.c"
  printf '#include "svc_internal.h"\n' >>"$tmp/api/routes.c"
  out=$(bash "$0" "$tmp" 2>&1)
  if [ $? -eq 0 ] || ! grep -q 'cli.c (server/cli) includes "svc.h"' <<<"$out" ||
     ! grep -q 'store.c (server/svc) includes <microhttpd.h>' <<<"$out" ||
     ! grep -q 'routes.c includes "svc_internal.h", private to server/svc' <<<"$out"; then
    echo "FAIL: planted violations were not caught:"; echo "$out"; exit 1
  fi
fi
cd "$ROOT" || exit 1

declare -A allowed=(
  [core]="core"
  [server/svc]="server/svc core"
  [api]="api server/svc core"
  [server/cli]="server/cli core"
)
# system headers a layer must not use
declare -A banned=(
  [core]="jansson.h sqlite3.h microhttpd.h libpq-fe.h"
  [server/svc]="microhttpd.h"
  [api]="sqlite3.h libpq-fe.h"
  [server/cli]="jansson.h sqlite3.h microhttpd.h libpq-fe.h"
)

# header name -> folder that owns it
declare -A owner=()
for dir in "${!allowed[@]}"; do
  for h in "$dir"/*.h; do
    [ -e "$h" ] || continue
    b=$(basename "$h")
    if [ -n "${owner[$b]:-}" ]; then echo "FAIL: $b exists in ${owner[$b]}/ and $dir/"; exit 1; fi
    owner[$b]=$dir
  done
done

bad=0 checked=0
for dir in "${!allowed[@]}"; do
  for f in "$dir"/*.c "$dir"/*.h; do
    [ -e "$f" ] || continue
    checked=$((checked + 1))
    while IFS= read -r line; do
      inc=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<<"$line")
      o=${owner[$(basename "$inc")]:-}
      if [ -z "$o" ]; then
        # a quoted include of no layer's header: only generated or same-folder files
        [ -e "$dir/$inc" ] || { echo "FAIL: $f includes \"$inc\", which no layer owns"; bad=1; }
        continue
      fi
      case " ${allowed[$dir]} " in
        *" $o "*) ;;
        *) echo "FAIL: $f ($dir) includes \"$inc\" from $o/, a layer it may not use"; bad=1 ;;
      esac
    done < <(grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
    for sys in ${banned[$dir]:-}; do
      if grep -qE "^[[:space:]]*#[[:space:]]*include[[:space:]]*<$sys>" "$f"; then
        echo "FAIL: $f ($dir) includes <$sys>"; bad=1
      fi
    done
  done
done
# the database libraries stay behind db.h: <sqlite3.h> only in the SQLite backend and
# store.c's file maintenance, <libpq-fe.h> only in the PostgreSQL backend
for f in server/svc/*.[ch]; do
  case "$(basename "$f")" in db_sqlite.c | store.c) ;; *)
    grep -qE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<sqlite3.h>' "$f" &&
      { echo "FAIL: $f includes <sqlite3.h>: go through db.h"; bad=1; } ;;
  esac
  [ "$(basename "$f")" = db_pg.c ] ||
    ! grep -qE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<libpq-fe.h>' "$f" ||
    { echo "FAIL: $f includes <libpq-fe.h>: go through db.h"; bad=1; }
done
# internal headers stay in their folder (tests/ and fuzz/ excepted: white-box tests)
for h in core/*_internal.h server/svc/*_internal.h server/svc/db_impl.h api/*_internal.h api/handlers.h; do
  [ -e "$h" ] || continue
  hdir=$(dirname "$h")
  while IFS=: read -r f _; do
    case "$(dirname "$f")" in
      "$hdir" | tests | fuzz) ;;
      *) echo "FAIL: $f includes \"$(basename "$h")\", private to $hdir/"; bad=1 ;;
    esac
  done < <(grep -lE "^[[:space:]]*#[[:space:]]*include[[:space:]]*\"$(basename "$h")\"" \
             core/*.[ch] server/*.[ch] server/*/*.[ch] api/*.[ch] bench/*.[ch] 2>/dev/null |
           sed 's/$/:/')
done
# the build links one way too: no library links one above it
if grep -nE 'target_link_libraries\((dccore|dcsvc|dccli)[^)]*(dcapi|dcsvc|dccli)' CMakeLists.txt |
   grep -vE 'target_link_libraries\(dcsvc[^)]*dccore' | grep -q .; then
  echo "FAIL: CMakeLists.txt links a lower layer against a higher one:"
  grep -nE 'target_link_libraries\((dccore|dcsvc|dccli)' CMakeLists.txt; bad=1
fi
[ "$checked" -gt 50 ] || { echo "FAIL: only $checked files checked"; exit 1; }
[ $bad -eq 0 ] && echo "ok: $checked files, every include points down"
exit $bad
