#!/usr/bin/env bash
# Runs one libFuzzer target over its seed corpus (fuzz/corpus/NAME) and the reproducers of the crashes
# it found (fuzz/crashes/NAME, replayed first: a crash that comes back fails the run). CTest runs it
# for a fixed number of executions with seed 1, so `make test` is deterministic; with FUZZ_SECONDS
# set (`make fuzz`) it fuzzes for that long instead, with FUZZ_SEED or a random seed, printed. New
# inputs go to WORK/new and crash inputs to WORK/artifacts, never into the source tree. The last
# line of WORK/summary says how many executions ran and what they found.
#
#   fuzz/run.sh build-fuzz/fuzz/rfc3339_fuzz rfc3339 build-fuzz/fuzz/work/rfc3339 20000
set -euo pipefail
bin=$1 name=$2 work=$3 runs=$4
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work/new" "$work/artifacts"
inputs=("$here/corpus/$name")
[[ -d $here/crashes/$name ]] && inputs+=("$here/crashes/$name")
if [[ -n ${FUZZ_SECONDS:-} ]]; then
  seed=${FUZZ_SEED:-$((RANDOM * 32768 + RANDOM + 1))}
  budget=(-max_total_time="$FUZZ_SECONDS")
else
  seed=${FUZZ_SEED:-1}
  budget=(-runs="$runs")
fi
rc=0
"$bin" -seed="$seed" "${budget[@]}" -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
  "$work/new" "${inputs[@]}" 2>"$work/log" || rc=$?
executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
seconds=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$work/log" | tail -n 1)
found=$(find "$work/artifacts" -type f | sed "s|^$work/artifacts/||" | sort | tr '\n' ' ')
echo "fuzz $name: seed $seed, ${executions:-?} executions in ${seconds:-?} s," \
  "$(find "$work/new" -type f | wc -l) new corpus inputs, found: ${found:-nothing}" | tee "$work/summary"
if ((rc != 0)); then
  grep -m 1 -B 2 -A 40 -E 'ERROR: |fuzz property violated|deadly signal|runtime error' "$work/log" >&2 || tail -n 60 "$work/log" >&2
  exit "$rc"
fi
