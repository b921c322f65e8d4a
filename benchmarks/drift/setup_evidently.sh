#!/usr/bin/env bash
# Evidently in its own virtual environment: Evidently 0.7.x does not import with pandas 3,
# which mlops-ci uses, so the peer runs with its own interpreter (same machine, same files).
#   bash benchmarks/drift/setup_evidently.sh        (idempotent)
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=benchmarks/.venv-evidently
python="${PYTHON:-python3}"
version="${EVIDENTLY_VERSION:-0.7.23}"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
if ! "$venv/bin/python" -c "import evidently, sys; sys.exit(evidently.__version__ != '$version')" 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "evidently==$version" "pandas<3" "pyarrow" "psutil"
fi
"$venv/bin/python" -c "import evidently, pandas; print('evidently', evidently.__version__, 'pandas', pandas.__version__)"
