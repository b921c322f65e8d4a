#!/usr/bin/env bash
# The test command: sets up everything the suite needs (idempotently), runs pytest,
# and stops whatever it started. Extra arguments go to pytest.
#   bash scripts/test.sh                 # the whole suite
#   bash scripts/test.sh tests/unit -x   # a part of it
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh dev
bash scripts/test-deps.sh

# Services the suite starts (dockerd, registry, ...) register their PIDs here;
# whatever is left when we exit is stopped, by PID.
export MLOPS_CI_TEST_PIDS="${MLOPS_CI_TEST_PIDS:-$PWD/.cache/test-pids}"
mkdir -p "$(dirname "$MLOPS_CI_TEST_PIDS")"
: > "$MLOPS_CI_TEST_PIDS"
cleanup() {
  if [ -s "$MLOPS_CI_TEST_PIDS" ]; then
    while read -r pid; do
      [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done < "$MLOPS_CI_TEST_PIDS"
  fi
}
trap cleanup EXIT

workers="${MLOPS_CI_TEST_WORKERS:-2}"
set +e
.venv/bin/python -m pytest -p no:cacheprovider -n "$workers" --dist loadgroup "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "test: pytest collected no tests: treating that as a failure" >&2
  exit 1
fi
exit "$status"
