#!/bin/sh
# tests/run.sh — run every test given as an argument and summarise.
#   sh tests/run.sh build/tests/test_stats build/tests/test_exact ... tests/cli.sh
# A test binary passes iff it exits 0; an argument ending in .sh is run with `sh`.  A missing
# file is reported as FAIL (a test that silently does not run is a failure).  GRADVAR (the path of
# the gradvar binary) is passed through to the scripts in the environment.
# Last line: "N passed, N failed"; exit status 1 if anything failed, else 0.

passed=0
failed=0
failed_names=

if [ -n "${GRADVAR:-}" ]; then
    export GRADVAR
fi

for t in "$@"; do
    if [ ! -f "$t" ]; then
        echo "FAIL  $t (missing)"
        failed=$((failed + 1))
        failed_names="$failed_names $t"
        continue
    fi
    start=$(date +%s)
    case "$t" in
    *.sh) sh "$t" ;;
    */*) "$t" ;;
    *) "./$t" ;;
    esac
    rc=$?
    secs=$(($(date +%s) - start))
    if [ "$rc" -eq 0 ]; then
        echo "PASS  $t (${secs}s)"
        passed=$((passed + 1))
    else
        echo "FAIL  $t (exit $rc, ${secs}s)"
        failed=$((failed + 1))
        failed_names="$failed_names $t"
    fi
done

if [ "$failed" -gt 0 ]; then
    echo "failed:$failed_names"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
