#!/usr/bin/env bash
# .ci/summary.sh LOG EXTRA_PASSED EXTRA_FAILED STATUS: prints the closing line
# "N passed, N failed, N skipped" from the mocha summaries in LOG ("N passing", "N failing",
# "N pending") plus the checks counted outside mocha, and exits non-zero when STATUS is non-zero,
# when anything failed, or when anything was skipped: under CI a skip is a failure (issue 21).
set -uo pipefail
log=$1
extra_passed=${2:-0}
extra_failed=${3:-0}
status=${4:-0}
count() { grep -Eo "^ *[0-9]+ $1" "$log" | awk '{s+=$1} END {print s+0}'; }
passed=$(($(count passing) + extra_passed))
failed=$(($(count failing) + extra_failed))
skipped=$(count pending)
if [ "$skipped" -gt 0 ]; then
  echo "FAILED: $skipped test(s) skipped; under CI a missing prerequisite must fail, not skip (see the \"Skipped:\" lists above)"
  status=1
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && [ "$skipped" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$failed" -gt 0 ]; then status=1; fi
exit "$status"
