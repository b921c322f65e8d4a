#!/usr/bin/env bash
# Create .venv and install mlops-ci with the pinned versions from requirements.lock.
# Idempotent: reinstalls only when pyproject.toml or the lock file changed.
#   scripts/bootstrap.sh            runtime + example + mlflow extras (enough for `mlops-ci demo`)
#   scripts/bootstrap.sh dev        everything the test suite needs
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-runtime}"
venv=".venv"
python="${PYTHON:-python3}"

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "bootstrap: $python is older than 3.11; set PYTHON=/path/to/python3.11+" >&2
  exit 2
fi
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"

extras="example,mlflow"   # the demo registers and gates against an embedded MLflow registry
[ "$profile" = dev ] && extras="dev"
stamp="$venv/.installed-$profile"
want=$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "bootstrap: installing mlops-ci[$extras] into $venv (pinned by requirements.lock)"
log=$(mktemp)
if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
     -c requirements.lock -e ".[$extras]" >"$log" 2>&1; then
  grep -v "is ignored: it is neither a file nor a directory" "$log" >&2 || true
  rm -f "$log"
  echo "bootstrap: pip install failed (see above)" >&2
  exit 1
fi
rm -f "$log"
"$venv/bin/python" -c "import mlops_ci" # fail loudly if the install did not work
echo "$want" > "$stamp"
