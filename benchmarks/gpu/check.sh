#!/usr/bin/env bash
# The GPU path of mlops-ci, checked on a real NVIDIA GPU in ONE call (issue 15).
#
#   here:           bash benchmarks/gpu/wheels.sh          # dvc, pydantic, pygithub (+ deps) as wheels
#   on the GPU:     bash benchmarks/gpu/check.sh           # device run: carry [".whl"], timeout_s 600
#
# What it does, most important first, each step under its own `timeout` and within an overall
# budget (CHECK_BUDGET_S, default 540 s), every line tee'd under $OUT so a hang still returns its logs:
#   facts → torch/CUDA init → runner doctor → `mlops-ci repro` of examples/gpu-shapes (NVML sampling,
#   heartbeat every 5 s, --stage-timeout 100) → report → the same training sampled with nvidia-smi
#   → the stages run directly and through plain `dvc repro` (to tell which layer hangs, if one does)
#   → a real nvidia-smi recording for tests/fixtures/nvidia-smi (h200-x1).
# A step that times out gets SIGABRT (PYTHONFAULTHANDLER=1: every Python process of the step prints
# its threads' stacks) and, 5 s before, a `ps` of all processes with their kernel wait channel.
# Results: $OUT/check.log (everything), $OUT/summary.txt (one line per step), $OUT/logs.tgz.
set -u -o pipefail
OUT="${OUT:-/tmp/gpu-check-out}"
mkdir -p "$OUT"
exec > >(tee -a "$OUT/check.log") 2>&1
ulimit -c 0  # SIGABRT is for stack dumps, not core files

REPO="$(pwd)"
W=/tmp/mlops-ci-gpu-check
rm -rf "$W"
mkdir -p "$W/bin" "$W/logs" "$W/site"
BUDGET="${CHECK_BUDGET_S:-540}"
STARTED=$(date +%s)

# The interpreter that has PyTorch (a venv on the GPU image): a wrapper that execs it keeps its
# venv, where a symlink named `python` would run the base interpreter without torch.
VENV_PY="$(python3 -c 'import sys; print(sys.executable)')"
for name in python python3; do
  printf '#!/bin/sh\nexec "%s" "$@"\n' "$VENV_PY" > "$W/bin/$name"
  chmod +x "$W/bin/$name"
done
if ls .whl/*.whl >/dev/null 2>&1; then
  "$VENV_PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$W/site" .whl/*.whl \
    || echo "check: installing the carried wheels failed"
fi
export PATH="$W/bin:$PATH" PYTHONPATH="$W/site:$REPO" PYTHONUNBUFFERED=1 PYTHONFAULTHANDLER=1 DVC_NO_ANALYTICS=1 \
  GIT_AUTHOR_NAME=check GIT_AUTHOR_EMAIL=check@example.invalid GIT_COMMITTER_NAME=check \
  GIT_COMMITTER_EMAIL=check@example.invalid

pack() { tar czf "$OUT/logs.tgz" -C "$W" logs 2>/dev/null || true; }

# step NAME SECONDS COMMAND... : run in $W/proj (when it exists), log to logs/NAME.log, one line in summary.txt
step() {
  local name="$1" limit="$2"; shift 2
  local left=$(( BUDGET - ($(date +%s) - STARTED) ))
  if [ "$left" -lt $(( limit + 15 )) ]; then
    echo "SKIPPED $name (only ${left} s of the budget left, it may take ${limit} s)" | tee -a "$OUT/summary.txt"
    return 0
  fi
  echo; echo "===== $name ($(date -u +%H:%M:%S), limit ${limit} s): $*"
  ( sleep $(( limit - 5 )) && ps -eo pid,ppid,pgid,sid,stat,wchan:32,etime,args > "$W/logs/$name.ps" 2>&1 ) &
  local watcher=$! t0 rc
  t0=$(date +%s.%N)
  ( cd "${STEP_DIR:-$W}" && timeout -k 10 -s ABRT "$limit" "$@" ) 2>&1 | tee "$W/logs/$name.log"
  rc=${PIPESTATUS[0]}
  kill "$watcher" 2>/dev/null; wait "$watcher" 2>/dev/null
  local secs; secs=$(python3 -c "import time; print(f'{time.time() - $t0:.1f}')")
  echo "$( [ "$rc" = 0 ] && echo OK || echo "FAIL rc=$rc" ) $name ${secs} s" | tee -a "$OUT/summary.txt"
  pack
  return 0
}

echo "mlops-ci GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)"
step facts 30 sh -c 'uname -a; nvidia-smi; nvidia-smi -L;
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_mode,mig.mode.current --format=csv;
  python -V; python -c "import sys; print(sys.executable)"; git --version; command -v dmesg && dmesg | tail -3;
  python -c "import dvc, pydantic, github; print(\"dvc\", dvc.__version__, \"pydantic\", pydantic.VERSION)";
  python -c "import pynvml; print(\"nvidia-ml-py present\")"; nproc; free -g'
step torch 90 python -c 'import time; t = time.time(); import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "import", round(time.time() - t, 1), "s")
t = time.time(); ok = torch.cuda.is_available(); print("available", ok, round(time.time() - t, 2), "s")
t = time.time(); x = torch.ones(1024, 1024, device="cuda"); y = (x @ x).sum().item(); torch.cuda.synchronize()
print(torch.cuda.get_device_name(0), "first kernel", round(time.time() - t, 2), "s")'

# The example as a user has it: a git + DVC project.
cp -r "$REPO/examples/gpu-shapes" "$W/proj"
cd "$W/proj" || exit 1
rm -rf data models eval metrics.json dvc.lock .dvc
if command -v git >/dev/null; then git init -q -b main && python -m dvc init -q; else python -m dvc init -q --no-scm; fi
python - <<'PY'
import yaml  # a heartbeat every 5 s instead of 60, so this short run shows some
cfg = yaml.safe_load(open(".mlops-ci.yml"))
cfg["repro"]["heartbeat"] = 5
yaml.safe_dump(cfg, open(".mlops-ci.yml", "w"), sort_keys=False)
print("repro config:", cfg["repro"])
PY
printf '.mlops-ci/\n' >> .gitignore
command -v git >/dev/null && git add -A && git commit -qm example
export STEP_DIR="$W/proj"

# A real recording for tests/fixtures/nvidia-smi/h200-x1 (the doctor's calls and the sampling query).
mkdir -p "$W/logs/h200-x1"
nvidia-smi > "$W/logs/h200-x1/banner.txt" 2>&1
nvidia-smi -L > "$W/logs/h200-x1/list.txt" 2>&1
nvidia-smi --query-gpu=name,memory.total,memory.used,utilization.gpu,driver_version --format=csv,noheader,nounits \
  > "$W/logs/h200-x1/query.txt" 2>&1
nvidia-smi --query-gpu=index,mig.mode.current --format=csv,noheader > "$W/logs/h200-x1/mig.txt" 2>&1
nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits \
  --loop-ms=200 > "$W/logs/h200-x1/sample-during-repro.txt" 2>&1 &
SAMPLER=$!

step doctor 45 python -m mlops_ci runner doctor --labels self-hosted,gpu --min-free-gb 0
step repro 160 python -m mlops_ci repro --no-pull --no-push --stage-timeout 100
kill "$SAMPLER" 2>/dev/null
step report 45 python -m mlops_ci report --no-plots
cp .mlops-ci/out/*.json .mlops-ci/out/*.md "$W/logs/" 2>/dev/null
cp models/train.json "$W/logs/train.json" 2>/dev/null

# The same training sampled by nvidia-smi instead of NVML (a pynvml that cannot be imported).
mkdir -p "$W/nonvml" && echo 'raise ImportError("hidden by the GPU check")' > "$W/nonvml/pynvml.py"
step repro-smi 120 env PYTHONPATH="$W/nonvml:$PYTHONPATH" MLOPS_CI_OUT_DIR="$W/proj/.mlops-ci/out-smi" \
  python -m mlops_ci repro --no-pull --no-push --force --target train --stage-timeout 90
cp .mlops-ci/out-smi/repro.json "$W/logs/repro-smi.json" 2>/dev/null

# Which layer hangs, if one does: the stages alone, then plain DVC.
step stage-generate 45 python src/generate.py
step stage-train 90 python src/train.py
step dvc-repro 120 python -m dvc repro --force
echo; echo "===== processes at the end:"; ps -eo pid,ppid,sid,stat,etime,args | head -40
pack
echo "done in $(( $(date +%s) - STARTED )) s"; cat "$OUT/summary.txt"
