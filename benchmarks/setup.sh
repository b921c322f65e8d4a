#!/usr/bin/env bash
# Set-up and demo times, uv against the pip path, side by side in one run (benchmarks/README.md).
#
#   bash benchmarks/setup.sh [--repeat N] [--installers "uv uv-compiled pip"]
#
# For each installer, on a frozen copy of this working tree (so edits made meanwhile do not count):
#   setup cold     actions/setup/setup.sh with an empty cache dir and empty pip / uv caches: what a
#                  GitHub-hosted job pays (download, install, health check, seal);
#   setup warm     the same again: the cached venv verified against its manifest and reused;
#   demo           `mlops-ci demo` with the toolkit setup just built (read-only venv);
#   quickstart cold  README's quickstart, `bash scripts/demo.sh`, in a fresh copy with empty caches
#                  (bootstrap's install + the demo);
#   quickstart warm  the same again (.venv already there: the demo alone).
# "uv-compiled" is uv with bytecode compiled at install, the default on self-hosted runners.
# Writes benchmarks/.work/setup/results.tsv (one row per measurement, with the 1-minute load
# average before it) and prints a Markdown table of the medians. PYTHONDONTWRITEBYTECODE is unset,
# as on a user's machine (the venv setup builds never writes bytecode anyway: it is sealed).
set -euo pipefail

repeat=1
installers="uv uv-compiled pip"
while [ "$#" -gt 0 ]; do
  case "$1" in
    --repeat) repeat="$2"; shift 2 ;;
    --installers) installers="$2"; shift 2 ;;
    *) echo "usage: bash benchmarks/setup.sh [--repeat N] [--installers \"uv uv-compiled pip\"]" >&2; exit 2 ;;
  esac
done

# As on a user's machine or a runner: Python caches the bytecode it compiles where it may (.venv).
unset PYTHONDONTWRITEBYTECODE
root="$(cd "$(dirname "$0")/.." && pwd -P)"
work="$root/benchmarks/.work/setup"
rm -rf "$work"
mkdir -p "$work"
results="$work/results.tsv"
printf 'repeat\tinstaller\tmeasurement\tseconds\tload1\n' > "$results"

src="$work/src"
mkdir -p "$src"
for item in pyproject.toml README.md requirements.lock mlops-ci.schema.json mlops_ci examples actions scripts; do
  cp -a "$root/$item" "$src/"
done
find "$src" -name __pycache__ -type d -prune -exec rm -rf {} +

now() { printf '%s\n' "$EPOCHREALTIME" | tr , .; }
load1() { cut -d' ' -f1 /proc/loadavg; }
measure() {  # measure REPEAT INSTALLER WHAT LOG COMMAND...: time COMMAND, append a row
  local rep="$1" inst="$2" what="$3" log="$4" load started seconds
  shift 4
  load="$(load1)"
  started="$(now)"
  if ! "$@" > "$log" 2>&1; then
    echo "benchmark: $inst $what failed, see $log" >&2
    tail -20 "$log" >&2
    exit 1
  fi
  seconds="$(awk -v a="$started" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"
  printf '%s\t%s\t%s\t%s\t%s\n' "$rep" "$inst" "$what" "$seconds" "$load" >> "$results"
  printf '%-13s %-17s %7s s  (load %s)\n' "$inst" "$what" "$seconds" "$load"
}

echo "benchmark: $(uptime)"
for rep in $(seq 1 "$repeat"); do
  for inst in $installers; do
    case "$inst" in
      uv) installer=uv compile=false ;;
      uv-compiled) installer=uv compile=true ;;
      pip) installer=pip compile=false ;;
      *) echo "unknown installer $inst" >&2; exit 2 ;;
    esac
    d="$work/$rep-$inst"
    mkdir -p "$d"
    export PIP_CACHE_DIR="$d/pip-cache" UV_CACHE_DIR="$d/uv-cache" MLOPS_CI_SETUP_INSTALLER="$installer"
    export SETUP_INPUT_COMPILE_BYTECODE="$compile"
    setup=(env SETUP_INPUT_CACHE_DIR="$d/toolcache" GITHUB_OUTPUT="$d/outputs" bash "$src/actions/setup/setup.sh")
    measure "$rep" "$inst" "setup cold" "$d/setup-cold.log" "${setup[@]}"
    measure "$rep" "$inst" "setup warm" "$d/setup-warm.log" "${setup[@]}"
    venv="$(sed -n 's/^venv-path=//p' "$d/outputs" | tail -n 1)"
    measure "$rep" "$inst" "demo" "$d/demo.log" "$venv/bin/mlops-ci" demo --workdir "$d/demo"
    [ "$inst" != uv-compiled ] || continue  # bootstrap has no compile step: quickstart as for uv
    cp -a "$src" "$d/clone"
    measure "$rep" "$inst" "quickstart cold" "$d/quickstart-cold.log" \
      bash "$d/clone/scripts/demo.sh" --workdir "$d/qs-cold"
    measure "$rep" "$inst" "quickstart warm" "$d/quickstart-warm.log" \
      bash "$d/clone/scripts/demo.sh" --workdir "$d/qs-warm"
    chmod -R u+w "$d/toolcache" 2>/dev/null || true
    rm -rf "$d/toolcache" "$d/clone" "$d/pip-cache" "$d/uv-cache"  # disk: ~1 GB each
  done
done
echo "benchmark: $(uptime)"

python3 - "$results" <<'EOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
order = ["setup cold", "setup warm", "demo", "quickstart cold", "quickstart warm"]
installers = list(dict.fromkeys(r["installer"] for r in rows))
print("\n| measurement | " + " | ".join(installers) + " |")
print("|---|" + "---:|" * len(installers))
for what in order:
    cells = []
    for inst in installers:
        vals = [float(r["seconds"]) for r in rows if r["installer"] == inst and r["measurement"] == what]
        loads = [r["load1"] for r in rows if r["installer"] == inst and r["measurement"] == what]
        cells.append(f"{statistics.median(vals):.1f} s (load {', '.join(loads)})" if vals else "")
    print(f"| {what} | " + " | ".join(cells) + " |")
EOF
