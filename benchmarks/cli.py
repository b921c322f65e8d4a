"""CLI start-up and `metrics diff` cost, against DVC's own `dvc metrics diff --md`.

Reproduce:  .venv/bin/python benchmarks/cli.py [--runs 15]
It builds the demo repository once (mlops-ci demo), then times, in the same run
and on the same repository:
  - `mlops-ci --help`                        (target <= 0.3 s)
  - `mlops-ci metrics diff --base main`      (target <= 1.5 s)
  - `dvc metrics diff --md main`             (the peer)
Each command runs --runs times after one warm-up; the median and min are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VENV_BIN = Path(sys.executable).parent


def timed(cmd: list[str], cwd: Path, runs: int, env: dict[str, str]) -> dict[str, float]:
    subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=True)  # warm-up (page cache, .pyc)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=True)
        samples.append(time.perf_counter() - start)
    return {"median_s": statistics.median(samples), "min_s": min(samples), "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env["DVC_NO_ANALYTICS"] = "1"
    work = Path(tempfile.mkdtemp(prefix="mlops-ci-bench-")) / "demo"
    subprocess.run([str(VENV_BIN / "mlops-ci"), "demo", "--workdir", str(work)], env=env, check=True,
                   capture_output=True)

    results = {
        "mlops-ci --help": timed([str(VENV_BIN / "mlops-ci"), "--help"], work, args.runs, env),
        "mlops-ci metrics diff --base main": timed(
            [str(VENV_BIN / "mlops-ci"), "metrics", "diff", "--base", "main"], work, args.runs, env),
        "dvc metrics diff --md main": timed([str(VENV_BIN / "dvc"), "metrics", "diff", "--md", "main"], work,
                                            args.runs, env),
    }
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"machine: {machine}")
    print(f"{'command':<40} {'median':>9} {'min':>9}")
    for name, r in results.items():
        print(f"{name:<40} {r['median_s']:>8.3f}s {r['min_s']:>8.3f}s")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "results": results}, indent=2))


if __name__ == "__main__":
    main()
