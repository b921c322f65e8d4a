#!/usr/bin/env bash
# Create .venv and install mlops-ci with the pinned versions from requirements.lock.
# Idempotent: reinstalls only when pyproject.toml or the lock file changed.
#   scripts/bootstrap.sh            runtime + example + mlflow extras (enough for `mlops-ci demo`)
#   scripts/bootstrap.sh dev        everything the test suite needs
# Installs with uv (pinned and hash-checked by actions/setup/get-uv.sh, kept in .cache/tools): a
# cold install takes seconds where pip takes minutes on 2 cores. pip is the fallback where uv cannot
# be had or fails; MLOPS_CI_SETUP_INSTALLER=pip|uv forces one (default: auto).
# One progress line per phase: [1/3] venv, [2/3] installer, [3/3] packages.
set -euo pipefail
cd "$(dirname "$0")/.."
profile="${1:-runtime}"
venv=".venv"
python="${PYTHON:-python3}"
installer="${MLOPS_CI_SETUP_INSTALLER:-auto}"

now() { printf '%s\n' "${EPOCHREALTIME:-$SECONDS}" | tr , .; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f s", b - a }'; }
say() { echo "bootstrap: $*"; }

case "$installer" in auto|uv|pip) ;; *) echo "bootstrap: MLOPS_CI_SETUP_INSTALLER must be auto, uv or pip, not '$installer'" >&2; exit 2 ;; esac
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "bootstrap: $python is older than 3.11; set PYTHON=/path/to/python3.11+" >&2
  exit 2
fi

extras="example,mlflow"   # the demo registers and gates against an embedded MLflow registry
[ "$profile" = dev ] && extras="dev"
stamp="$venv/.installed-$profile"
want=$(cat pyproject.toml requirements.lock | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
started="$(now)"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"  # with pip: the fallback and `mlops-ci build` use it
say "[1/3] $venv ready ($(since "$started"))"

log=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$log" "$work"' EXIT
installed=""
if [ "$installer" != pip ]; then
  started="$(now)"
  if uv="$(bash actions/setup/get-uv.sh .cache/tools "$work" "$venv/bin/python" "$python" 2> "$work/get-uv.err")"; then
    say "[2/3] uv $("$uv" --version | cut -d' ' -f2) ready, hash-checked ($(since "$started"))"
    started="$(now)"
    # No uv.toml or [tool.uv] from anywhere but the environment: the lock alone picks the versions.
    if UV_NO_CONFIG=1 UV_PYTHON_DOWNLOADS=never UV_NO_PROGRESS=1 \
       "$uv" pip install --python "$venv/bin/python" -c requirements.lock -e ".[$extras]" >"$log" 2>&1; then
      count="$(sed -n 's/^Installed \([0-9]*\) package.*/\1/p' "$log" | tail -n 1)"
      say "[3/3] mlops-ci[$extras] installed with uv, pinned by requirements.lock (${count:-0} packages changed, $(since "$started"))"
      installed=uv
    else
      cat "$log" >&2
      say "uv pip install failed (output above): trying pip"
    fi
  else
    say "uv is not available here ($(tr '\n' ' ' < "$work/get-uv.err")): installing with pip"
  fi
  [ -n "$installed" ] || [ "$installer" != uv ] || { echo "bootstrap: uv install failed (MLOPS_CI_SETUP_INSTALLER=uv)" >&2; exit 1; }
fi
if [ -z "$installed" ]; then
  say "[2/3] pip $("$venv/bin/python" -m pip --version | cut -d' ' -f2) ready"
  started="$(now)"
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
       -c requirements.lock -e ".[$extras]" >"$log" 2>&1; then
    grep -v "is ignored: it is neither a file nor a directory" "$log" >&2 || true
    echo "bootstrap: pip install failed (see above)" >&2
    exit 1
  fi
  say "[3/3] mlops-ci[$extras] installed with pip, pinned by requirements.lock ($(since "$started"))"
fi
"$venv/bin/python" -c "import mlops_ci" # fail loudly if the install did not work
echo "$want" > "$stamp"
