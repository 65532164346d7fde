# Shared by the test scripts (source it): `check NAME CONDITION...` prints ok or FAIL for one named check and
# remembers a failure in $fail, which the script exits with.
fail=0
check() {
  local name=$1; shift
  if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fail=1; fi
}
