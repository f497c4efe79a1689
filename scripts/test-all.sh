#!/usr/bin/env bash
# `make test`'s pytest part: the whole suite (tests/integration shown as it runs, the rest logged beside it and
# shown at the end) and, at the same time, the date-sensitive
# part (unit, integration, less the tests marked clock_free: a process killed, a server restarted; the contract tests take their dates from fixtures and compare a server's
# clock with the machine's, so a shifted clock changes nothing there; the tests of the domain alone, which
# never reads the clock; and the PostgreSQL twins of the state store's tests, whose store never asks its server
# for the time: tests/clockproof.py) with the clock of the suite and of every Python process it starts
# moved a year ahead and a year back (logged, shown at the end; in full when it fails). Each test makes
# its own schema, cluster and ports, so the four runs do not meet. The clock runs are niced: the whole suite
# is the longest, so its two halves come first and the clock runs take what is left. Usage: test-all.sh PYTHON [PYTEST ARGS...]
# (CLOCK_ONLY=1: only the two clock runs, for `make test-clock`.)
set -u
py=$1; shift
clock_tests=(tests/unit tests/integration)
logs=$(mktemp -d)
nice -n 19 "$py" -m pytest -q -p no:cacheprovider --clock-shift-days=365 -m "not soak and not clock_free" "${clock_tests[@]}" >"$logs/plus.log" 2>&1 &
plus=$!
nice -n 19 "$py" -m pytest -q -p no:cacheprovider --clock-shift-days=-365 -m "not soak and not clock_free" "${clock_tests[@]}" >"$logs/minus.log" 2>&1 &
minus=$!
rc=0
# report TITLE PID LOG: a logged run's counts once it ends, its whole log when it failed
report() {
  if wait "$2"; then
    echo "$1: $(grep -E '[0-9]+ (passed|failed|error)' "$logs/$3.log" | tail -n 1)"
  else
    rc=1
    echo "$1: FAILED"; cat "$logs/$3.log"
  fi
}
# The whole suite in two processes: tests/integration shown as it runs, the rest (unit, contract, e2e,
# conformance) logged beside it and shown at the end, so both cores stay busy once the niced clock runs have
# had their share. Given paths (an argument that is no option), one process, as asked.
split=1
for arg in "$@"; do
  case "$arg" in -*) ;; *) split=0 ;; esac
done
if [ "${CLOCK_ONLY:-0}" != 1 ]; then
  if [ "$split" = 1 ]; then
    "$py" -m pytest -q -p no:cacheprovider --ignore=tests/integration "$@" >"$logs/rest.log" 2>&1 &
    rest=$!
    "$py" -m pytest "$@" tests/integration || rc=1
    report "the rest of the suite (unit, contract, e2e, conformance)" "$rest" rest
  else
    "$py" -m pytest "$@" || rc=1
  fi
fi
report "clock shifted 365 days" "$plus" plus
report "clock shifted -365 days" "$minus" minus
rm -rf "$logs"
exit $rc
