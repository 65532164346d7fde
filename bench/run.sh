#!/usr/bin/env bash
# Runs the benchmarks in bench/ on the release build, pinned to one core, and prints medians of 5 repetitions.
set -euo pipefail
cd "$(dirname "$0")/.."
bench/machine.sh
taskset -c 0 build/bench/codec_benchmark --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.5 "$@"
taskset -c 0 build/bench/detect_benchmark --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_min_time=0.5
taskset -c 0 build/bench/alert_benchmark --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
