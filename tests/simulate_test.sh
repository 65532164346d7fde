#!/usr/bin/env bash
# `dcmon simulate` as a user runs it: records (and only records) on stdout, byte-identical reruns, labels,
# a file output, and one-line errors with exit code 2 for bad arguments.
set -uo pipefail
dcmon=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/lib.sh"
range=(--from 2025-08-21T16:00:00Z --to 2025-08-21T17:00:00Z)

"$dcmon" simulate "${range[@]}" >"$work/a.ndjson" 2>"$work/a.err"; rc=$?
check "backfill exits 0" test $rc -eq 0
check "stdout has records only" test "$(grep -vc '^{"source_type":"' "$work/a.ndjson")" -eq 0
# 40 racks x (4 x 120 temperatures + 60 humidity + 240 power) + 7 cooling x 120 + 2 meters x 240 + 2 x 12 weather
check "an hour of the small preset: 32,544 records" test "$(wc -l <"$work/a.ndjson")" -eq 32544
check "nothing on stderr when it is not a terminal" test ! -s "$work/a.err"

"$dcmon" simulate "${range[@]}" --out "$work/b.ndjson" --scenario crah-trip@10m+20m --scenario malformed@0m+1h*0.01 \
  --labels "$work/labels.ndjson" --seed 9; rc=$?
"$dcmon" simulate "${range[@]}" --out "$work/c.ndjson" --scenario crah-trip@10m+20m --scenario malformed@0m+1h*0.01 \
  --labels "$work/labels2.ndjson" --seed 9
check "file output exits 0" test $rc -eq 0
check "same seed and faults: byte-identical records" cmp -s "$work/b.ndjson" "$work/c.ndjson"
check "same seed and faults: byte-identical labels" cmp -s "$work/labels.ndjson" "$work/labels2.ndjson"
check "one label per fault" test "$(wc -l <"$work/labels.ndjson")" -eq 2
check "label names the tripped unit" grep -q '"kind":"crah-trip","target":"room-[12]-crah-[123]"' "$work/labels.ndjson"
check "different seed: different output" bash -c "! cmp -s '$work/a.ndjson' '$work/b.ndjson'"

err=$("$dcmon" simulate "${range[@]}" --scenario 'crah-trip@soon' 2>&1 >/dev/null); rc=$?
check "bad scenario exits 2" test $rc -eq 2
check "bad scenario: one line naming the part" grep -q 'scenario "crah-trip@soon": START:' <<<"$err"
err=$("$dcmon" simulate --facility nowhere 2>&1 >/dev/null); rc=$?
check "unknown facility exits 2" test $rc -eq 2 -a "$(wc -l <<<"$err")" -eq 1
err=$("$dcmon" simulate --from 2025-08-21T17:00:00Z --to 2025-08-21T16:00:00Z 2>&1 >/dev/null); rc=$?
check "reversed range exits 2" test $rc -eq 2
check "reversed range says why" grep -q -- '--to must be after --from' <<<"$err"

# Progress goes to stderr only when it is a terminal (script(1) gives the command one) and --quiet silences it.
tty_out=$(script -qec "$dcmon simulate ${range[*]} --out $work/tty.ndjson" /dev/null)
check "progress on a terminal" grep -q 'simulated 2025-08-21T17:00:00Z .* records/s' <<<"$tty_out"
tty_out=$(script -qec "$dcmon simulate ${range[*]} --out $work/tty.ndjson --quiet" /dev/null)
check "--quiet silences progress" test -z "$tty_out"

# Real time at 600x: a few seconds give simulated minutes; SIGTERM ends it cleanly with everything flushed.
"$dcmon" simulate --speed 600 --out "$work/live.ndjson" & pid=$!
wrote_some() { [ -f "$work/live.ndjson" ] && [ "$(wc -l <"$work/live.ndjson")" -gt 1000 ]; }
wait_for 30 wrote_some
kill -TERM $pid; wait $pid; rc=$?
check "accelerated run stops on SIGTERM with exit 0" test $rc -eq 0
check "accelerated run wrote records" test "$(wc -l <"$work/live.ndjson")" -gt 1000
check "accelerated run ends on a whole line" test "$(tail -c 1 "$work/live.ndjson" | od -An -c | tr -d ' ')" = '\n'

exit $fail
