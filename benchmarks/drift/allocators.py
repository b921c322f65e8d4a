"""What the allocator settings of mlops_ci/adapters/allocators.py save: the same pass with and without them.

    .venv/bin/python benchmarks/drift/allocators.py --rows 5000000 --runs 3

Runs `mlops-ci drift -r PROFILE -c CURRENT` (current vs stored profile, the data of
benchmarks/drift/run.py) in fresh processes, alternating: as shipped, and with the
tuning switched off (mimalloc's default purge delay, glibc's default thresholds, huge
pages allowed). Reports user and system CPU time and page faults (``getrusage`` of the
child) — the tuning changes no result, only how often memory goes back to the kernel.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "benchmarks" / ".work" / "drift"

OFF = """
import sys
from mlops_ci.adapters import allocators
allocators._done = True                                    # no env, no mallopt
import contextlib
allocators.small_pages = contextlib.nullcontext              # huge pages as the system has them
from mlops_ci.cli import main
sys.argv = ["mlops-ci"] + sys.argv[1:]
main()
"""
ON = """
import sys
from mlops_ci.cli import main
sys.argv = ["mlops-ci"] + sys.argv[1:]
main()
"""


def run(code: str, args: list[str]) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MIMALLOC_", "OPENBLAS_", "MLOPS_CI_"))}
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**env, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, args
    return {"user": usage.ru_utime, "sys": usage.ru_stime, "faults": usage.ru_minflt + usage.ru_majflt}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=3)
    opts = parser.parse_args()
    work = WORK / str(opts.rows)
    profile = work / "out" / "reference-profile.json"
    if not profile.exists():
        sys.exit(f"{profile}: run benchmarks/drift/run.py --sizes {opts.rows} first")
    args = ["drift", "-r", str(profile), "-c", str(work / "cur"), "--out", str(work / "out" / "allocators"),
            "--no-fail-on-drift"]
    results: dict[str, list[dict]] = {"tuned": [], "defaults": []}
    load = os.getloadavg()[0]
    for _ in range(opts.runs):
        results["tuned"].append(run(ON, args))
        results["defaults"].append(run(OFF, args))
    print(f"current vs stored profile, {opts.rows:,} rows, {opts.runs} alternating runs each, load {load:.1f} -> "
          f"{os.getloadavg()[0]:.1f}")
    for name, runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in ("user", "sys", "faults")}
        rng = {k: (min(r[k] for r in runs), max(r[k] for r in runs)) for k in ("sys",)}
        print(f"{name:9s} user {med['user']:.2f} s, system {med['sys']:.2f} s ({rng['sys'][0]:.2f}–{rng['sys'][1]:.2f}), "
              f"page faults {med['faults']:,.0f}")


if __name__ == "__main__":
    main()
