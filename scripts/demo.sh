#!/usr/bin/env bash
# The main job: the full pull-request flow on the bundled example, locally, with
# embedded defaults (no GitHub, no MLflow server). Creates .venv on first use.
#   bash scripts/demo.sh [--workdir DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh runtime
exec .venv/bin/mlops-ci demo "$@"
