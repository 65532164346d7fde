#!/usr/bin/env bash
# Kafka transport throughput on the embedded broker (issue #4): 3 runs of bench/kafka_benchmark.cc
# (2,000,000 simulator records), each run's lines, then the medians.
set -euo pipefail
cd "$(dirname "$0")/.."
bench/machine.sh
runs=$(for _ in 1 2 3; do build/bench/kafka_benchmark 2>/dev/null; done)
echo "$runs"
median() { grep "$1" <<<"$runs" | sed -E "s/.*= ([0-9.]+) M records\/s.*/\1/; s/.*: ([0-9.]+)$/\1/" | sort -n | sed -n 2p; }
echo "median produce $(median '^produce') M/s; consume (dcmon) $(median '^consume (dcmon)') M/s;" \
     "consume (kcat) $(median '^consume (kcat') M/s; dcmon/kcat $(median '^ratio')"
