#!/usr/bin/env bash
# The command-line contract: --help, --version, and one-line errors with a non-zero exit for bad input.
set -uo pipefail
dcmon=$1
source "$(dirname "$0")/lib.sh"

help=$("$dcmon" --help); rc=$?
check "help exits 0" test $rc -eq 0
check "help names the program" grep -q "dcmon" <<<"$help"

version=$("$dcmon" --version); rc=$?
check "version exits 0" test $rc -eq 0
check "version has our version and git revision" grep -Eq '^dcmon [0-9]+\.[0-9]+\.[0-9]+ \(git [0-9a-f]{12}(-dirty)?|unknown\)' <<<"$version"
check "version has the DuckDB version" grep -Eq '^duckdb v1\.4\.4' <<<"$version"
check "version has the librdkafka version" grep -Eq '^librdkafka [0-9]+\.[0-9]+\.[0-9]+' <<<"$version"

err=$("$dcmon" no-such-command 2>&1 >/dev/null); rc=$?
check "unknown subcommand exits non-zero" test $rc -ne 0
check "unknown subcommand: one line naming it" test "$(wc -l <<<"$err")" -eq 1 -a -n "$(grep no-such-command <<<"$err")"

err=$("$dcmon" --no-such-flag 2>&1 >/dev/null); rc=$?
check "bad flag exits non-zero" test $rc -ne 0
check "bad flag: one line naming it" test "$(wc -l <<<"$err")" -eq 1 -a -n "$(grep no-such-flag <<<"$err")"

exit $fail
