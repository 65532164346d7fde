#!/usr/bin/env bash
# dcmon detect on recorded series with known anomalies (tests/detect_nab_data.py: four cadences and
# timestamp forms), scored with the NAB rules (tests/nab_score.py, itself checked on hand-computed
# cases first). Also: the CLI's contract (an anomaly line per onset, --scores for every point,
# clear errors for bad input).
set -uo pipefail
dcmon=$1
here=$(dirname "$0")
source "$here/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check "nab_score.py passes its hand-computed cases" python3 "$here/nab_score.py" --self-test
python3 "$here/detect_nab_data.py" "$tmp/data"

for name in machine ambient fast millis; do
  "$dcmon" detect --input "$tmp/data/$name.csv" --scores "$tmp/${name}_scores.csv" >"$tmp/$name.out" 2>"$tmp/$name.err"
  rc=$?
  check "$name: exits 0" test $rc -eq 0
  rows=$(($(wc -l <"$tmp/data/$name.csv") - 1))
  check "$name: a score for every point" test "$(($(wc -l <"$tmp/${name}_scores.csv") - 1))" -eq $rows
  check "$name: at least one anomaly line" test -s "$tmp/$name.out"
  echo "     $name: $(wc -l <"$tmp/$name.out") anomalies; $(cat "$tmp/$name.err")"
done

score=$(python3 "$here/nab_score.py" --labels "$tmp/data/labels.json" "$tmp"/*_scores.csv)
echo "$score" | sed 's/^/     /'
total=$(awk '/^NAB standard/ {print $3}' <<<"$score")
check "NAB standard score on the synthetic corpus >= 60" awk -v s="$total" 'BEGIN {exit !(s >= 60)}'

# The null detector scores 0: replace every score by 0.
for f in "$tmp"/*_scores.csv; do
  awk -F, 'NR == 1 {print; next} {print $1 "," $2 ",0"}' "$f" >"${f%_scores.csv}_null.csv"
done
mkdir -p "$tmp/null"
for f in "$tmp"/*_null.csv; do b=$(basename "$f" _null.csv); mv "$f" "$tmp/null/${b}_scores.csv"; done
null=$(python3 "$here/nab_score.py" --labels "$tmp/data/labels.json" "$tmp"/null/*_scores.csv | awk '/^NAB standard/ {print $3}')
check "the null detector scores 0" test "$null" = "0.0"

# The anomaly line: timestamp, value, score, detector.
check "anomaly line: RFC 3339, value, score, detector" \
  grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z -?[0-9.e+-]+ [01]\.[0-9]{3} [a-z-]+ ' "$tmp/machine.out"

printf 'timestamp,value\n2025-01-01 00:00:00,1\nyesterday,2\n' >"$tmp/bad.csv"
err=$("$dcmon" detect --input "$tmp/bad.csv" 2>&1 >/dev/null); rc=$?
check "bad timestamp exits 2" test $rc -eq 2
check "bad timestamp: one line naming the line and the field" grep -q 'line 3: timestamp "yesterday"' <<<"$err"
err=$("$dcmon" detect --input "$tmp/missing.csv" 2>&1 >/dev/null); rc=$?
check "missing input exits 2" test $rc -eq 2

# Seed-schema NDJSON: the shared fixture decodes, every record gets a score.
"$dcmon" detect --input "$here/fixtures/seed_records.ndjson" --scores "$tmp/seed_scores.csv" >/dev/null 2>&1
check "ndjson: exits 0 with a score per record" test "$(wc -l <"$tmp/seed_scores.csv")" -eq 3

exit $fail
