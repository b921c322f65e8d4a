"""Why a Parquet work unit decodes its row group a few columns at a time (mlops_ci/adapters/datasets.py).

    .venv/bin/python benchmarks/drift/decode.py --rows 5000000 --runs 3

Decodes the current side of the benchmark data the way a unit does (memory-mapped,
one row group, batches of 262,144 rows, one thread) with all columns at once and
with UNIT_COLUMNS at a time, each in a fresh process; reports CPU time and the peak of
Arrow's memory pool.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "benchmarks" / ".work" / "drift"

CHILD = """
import glob, json, resource, sys, pyarrow as pa, pyarrow.parquet as pq
files, k = sorted(glob.glob(sys.argv[1] + "/*.parquet")), int(sys.argv[2])
r0 = resource.getrusage(resource.RUSAGE_SELF)
for f in files:
    pf = pq.ParquetFile(pa.memory_map(f), pre_buffer=False, buffer_size=0)
    cols = pf.schema_arrow.names
    for g in range(pf.num_row_groups):
        for i in range(0, len(cols), k):
            for b in pf.iter_batches(batch_size=1 << 18, row_groups=[g], columns=cols[i:i + k], use_threads=False):
                pass
r1 = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"cpu": r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime,
                  "pool_mib": pa.default_memory_pool().max_memory() / 2**20}))
"""


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from mlops_ci.adapters.datasets import UNIT_COLUMNS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--runs", type=int, default=3)
    opts = parser.parse_args()
    data = WORK / str(opts.rows) / "cur"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIMALLOC_")}
    env["MIMALLOC_PURGE_DELAY"] = "-1"  # as mlops-ci runs it: freed pages reused
    load = os.getloadavg()[0]
    results: dict[int, list[dict]] = {25: [], UNIT_COLUMNS: []}
    for _ in range(opts.runs):
        for k in results:
            out = subprocess.run([sys.executable, "-c", CHILD, str(data), str(k)], capture_output=True, text=True,
                                 env=env, check=True).stdout
            results[k].append(json.loads(out))
    print(f"decode {data} ({opts.runs} alternating runs each, load {load:.1f} -> {os.getloadavg()[0]:.1f})")
    for k, runs in results.items():
        cpu = sorted(r["cpu"] for r in runs)
        print(f"{k:2d} columns at a time: CPU {statistics.median(cpu):.2f} s ({cpu[0]:.2f}–{cpu[-1]:.2f}), "
              f"Arrow pool peak {statistics.median(r['pool_mib'] for r in runs):.0f} MiB")


if __name__ == "__main__":
    main()
