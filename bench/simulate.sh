#!/usr/bin/env bash
# Simulator throughput and footprint (issue #3):
#  1. backfill a week of the small preset to /dev/null on one core, 3 runs: records/s (median);
#  2. the large preset (10,000 racks): records in ten simulated minutes (per minute), and start-up, timed as a
#     backfill of its first simulated minute (the three-hour warm-up, then one minute of records), 3 runs (median);
#  3. the large preset in real time for 60 s after start-up: CPU share and resident memory.
set -euo pipefail
cd "$(dirname "$0")/.."
dcmon=build/dcmon
bench/machine.sh

records=$($dcmon simulate --from 2025-08-01T00:00:00Z --to 2025-08-08T00:00:00Z | wc -l)
times=()
for _ in 1 2 3; do
  start=$(date +%s.%N)
  taskset -c 0 $dcmon simulate --from 2025-08-01T00:00:00Z --to 2025-08-08T00:00:00Z --out /dev/null
  times+=("$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
echo "backfill small, 7 days: $records records; runs ${times[*]} s; median $median s;" \
     "$(awk -v n="$records" -v t="$median" 'BEGIN { printf "%.2f", n / t / 1e6 }') M records/s"

large_records=$($dcmon simulate --facility large --from 2025-08-01T00:00:00Z --to 2025-08-01T00:10:00Z | wc -l)
starts=()
for _ in 1 2 3; do
  start=$(date +%s.%N)
  $dcmon simulate --facility large --from 2025-08-01T00:00:00Z --to 2025-08-01T00:01:00Z --out /dev/null
  starts+=("$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')")
done
echo "large: $large_records records in 10 simulated minutes ($((large_records / 10)) a minute);" \
     "start-up runs ${starts[*]} s; median $(printf '%s\n' "${starts[@]}" | sort -n | sed -n 2p) s"

$dcmon simulate --facility large --out /dev/null & pid=$!
sleep 15  # start-up: the model settles three simulated hours before the first record
t1=$(awk '{print $14 + $15}' /proc/$pid/stat)
sleep 60
t2=$(awk '{print $14 + $15}' /proc/$pid/stat)
rss=$(awk '/VmHWM/ {print $2}' /proc/$pid/status)
kill $pid; wait $pid || true
echo "large preset in real time: $(awk -v d="$((t2 - t1))" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", d * 100 / (60 * hz) }') % of a core," \
     "peak RSS $((rss / 1024)) MB"
