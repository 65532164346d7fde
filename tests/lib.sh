# Shared by the test scripts (source it).
# `check NAME CONDITION...` prints ok or FAIL for one named check and remembers a failure in $fail, which the
# script exits with.
fail=0
check() {
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fail=1; fi
}
# `wait_for SECONDS CONDITION...` runs CONDITION every 0.1 s until it succeeds (status 0) or SECONDS (a whole
# number) have passed since the call (status 1, after one last try). Wait on what a check needs, never a
# fixed sleep.
wait_for() {
  local deadline=$(($(date +%s%N) + $1 * 1000000000)); shift
  until "$@"; do
    [ "$(date +%s%N)" -ge "$deadline" ] && { "$@"; return; }
    sleep 0.1
  done
}
# `bootstrap_of FILE`: waits (10 s) for `dcmon broker`'s bootstrap line in FILE and prints the address.
bootstrap_of() {
  wait_for 10 grep -q '^bootstrap.servers=' "$1" && sed -n 's/^bootstrap.servers=//p' "$1"
}
