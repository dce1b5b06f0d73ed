#!/usr/bin/env bash
# fuzz/run.sh BUILD_DIR SECONDS [TARGET...]: runs each libFuzzer target of fuzz/ for
# SECONDS on its seeds (gen_seeds output in BUILD_DIR/seeds plus fuzz/seeds/<target>),
# one after the other, single process. New inputs go to BUILD_DIR/corpus/<target>, crash
# reproducers to BUILD_DIR/crashes/<target>/, logs to BUILD_DIR/logs/<target>.log.
# Prints one line per target (executions, seconds, result) and exits 1 if any crashed.
# FUZZ_RUNS=N in the environment also stops each target after N executions (whichever
# comes first), for the long runs of docs/reliability.md. One input running longer than
# FUZZ_TIMEOUT seconds (default 30; they take milliseconds) is a hang: reported as a crash.
# Reproduce a crash: BUILD_DIR/fuzz/<target> BUILD_DIR/crashes/<target>/crash-...
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}
secs=${2:?usage: run.sh BUILD_DIR SECONDS [TARGET...]}
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_data fuzz_jobspec fuzz_predict fuzz_route fuzz_model
                                      fuzz_ckpt fuzz_vae_state fuzz_iforest)
export OPENBLAS_NUM_THREADS=1
# UBSan findings are crashes too; leaks are checked by libFuzzer itself
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
rm -rf "$build/seeds"
"$build/fuzz/gen_seeds" "$build/seeds" || { echo "gen_seeds failed"; exit 1; }
fail=0
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t" "$build/crashes/$t" "$build/logs"
  dirs=("$build/corpus/$t")
  [ -d "$build/seeds/$t" ] && dirs+=("$build/seeds/$t")
  [ -d "$here/seeds/$t" ] && dirs+=("$here/seeds/$t")
  log="$build/logs/$t.log"
  start=$(date +%s)
  touch "$build/crashes/$t/.start"
  "$build/fuzz/$t" -max_total_time="$secs" ${FUZZ_RUNS:+-runs=$FUZZ_RUNS} -timeout="${FUZZ_TIMEOUT:-30}" \
      -print_final_stats=1 \
      -artifact_prefix="$build/crashes/$t/" "${dirs[@]}" >"$log" 2>&1
  rc=$?
  end=$(date +%s)
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  if [ $rc -eq 0 ]; then
    echo "$t: ${runs:-?} executions in $((end - start)) s, no crash"
  else
    echo "$t: CRASH (exit $rc) after ${runs:-?} executions; log $log; input:"
    find "$build/crashes/$t" -type f -newer "$build/crashes/$t/.start" ! -name .start |
      sed 's/^/  /'
    grep -m3 -E "ERROR|runtime error|invariant failed" "$log" | sed 's/^/  /'
    fail=1
  fi
done
exit $fail
