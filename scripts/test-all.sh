#!/usr/bin/env bash
# `make test`'s pytest part: the whole suite (shown as it runs) and, at the same time, the date-sensitive
# part (unit, integration, less the tests marked clock_free: a process killed, a server restarted; the contract tests take their dates from fixtures and compare a server's
# clock with the machine's, so a shifted clock changes nothing there; the tests of the domain alone, which
# never reads the clock; and the PostgreSQL twins of the state store's tests, whose store never asks its server
# for the time: tests/clockproof.py) with the clock of the suite and of every Python process it starts
# moved a year ahead and a year back (logged, shown at the end; in full when it fails). Each test makes
# its own schema, cluster and ports, so the three runs do not meet. The clock runs are niced: the whole suite
# is the longest of the three, so it gets a core of its own and they share the other. Usage: test-all.sh PYTHON [PYTEST ARGS...]
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
if [ "${CLOCK_ONLY:-0}" != 1 ]; then
  "$py" -m pytest "$@" || rc=1
fi
for run in plus:365 minus:-365; do
  name=${run%%:*}; days=${run#*:}
  if [ "$name" = plus ]; then pid=$plus; else pid=$minus; fi
  if wait "$pid"; then
    echo "clock shifted ${days} days: $(tail -n 1 "$logs/$name.log")"
  else
    rc=1
    echo "clock shifted ${days} days: FAILED"; cat "$logs/$name.log"
  fi
done
rm -rf "$logs"
exit $rc
