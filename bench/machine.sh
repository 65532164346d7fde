#!/usr/bin/env bash
# The line every benchmark opens with: cores, CPU model, load average and UTC time, then any arguments
# (a peer's version), comma-separated. docs/benchmarks.md quotes it with each run.
line="machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs),"
line+=" load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%F %H:%M UTC')"
for extra in "$@"; do line+=", $extra"; done
echo "$line"
