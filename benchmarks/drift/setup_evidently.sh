#!/usr/bin/env bash
# The drift benchmark's peers in their own virtual environment: Evidently 0.7.x does not import with
# pandas 3, which mlops-ci uses, so the peers run with their own interpreter (same machine, same files).
# DuckDB (the SQL prototype, benchmarks/drift/duckdb_run.py) lives there too.
#   bash benchmarks/drift/setup_evidently.sh        (idempotent)
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=benchmarks/.venv-evidently
python="${PYTHON:-python3}"
version="${EVIDENTLY_VERSION:-0.7.23}"
duckdb_version="${DUCKDB_VERSION:-1.4.4}"
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
if ! "$venv/bin/python" -c "import evidently, duckdb, sys; sys.exit(evidently.__version__ != '$version' or duckdb.__version__ != '$duckdb_version')" 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "evidently==$version" "duckdb==$duckdb_version" "pandas<3" "pyarrow" "psutil"
fi
"$venv/bin/python" -c "import evidently, duckdb, pandas; print('evidently', evidently.__version__, 'duckdb', duckdb.__version__, 'pandas', pandas.__version__)"
