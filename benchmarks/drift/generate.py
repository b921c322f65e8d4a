"""Benchmark data for drift: 20 numeric + 5 categorical columns, written as Parquet in 1M-row files.

The current side differs from the reference exactly as DESIGN.md's reference
measurements describe: five numeric columns are shifted by 0.25 of their
standard deviation, and one categorical column has its two most frequent values
swapped. Everything else is the same distribution with fresh noise, so a
correct tool flags exactly 6 of 25 columns (share 0.24: no dataset drift).

    python benchmarks/drift/generate.py --rows 1000000 --out benchmarks/.work/drift/1M

writes ``ref/`` and ``cur/`` directories. Deterministic: same rows and seed, same bytes.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CHUNK = 1_000_000
N_NUMERIC = 20
SHIFTED = (0, 4, 8, 12, 16)  # numeric columns shifted by 0.25 sigma in current data
CATEGORIES = [("plan", ["basic", "pro", "team", "enterprise"], [0.5, 0.3, 0.15, 0.05]),
              ("region", ["eu", "us", "apac", "latam", "mea"], [0.35, 0.3, 0.2, 0.1, 0.05]),
              ("channel", [f"ch{i}" for i in range(10)], None),
              ("device", [f"dev{i}" for i in range(20)], None),
              ("segment", [f"seg{i}" for i in range(50)], None)]
SWAPPED = "plan"  # its top-2 frequencies are swapped in current data


def _numeric(i: int, rng: np.random.Generator, n: int) -> tuple[np.ndarray, float]:
    """Column i's values and its standard deviation (for the 0.25-sigma shift)."""
    kind = i % 4
    if kind == 0:
        mu, sigma = 10.0 * i, 1.0 + i
        return rng.normal(mu, sigma, n), sigma
    if kind == 1:
        return rng.lognormal(0.0, 0.5, n), float(np.sqrt((np.exp(0.25) - 1) * np.exp(0.25)))
    if kind == 2:
        shape = 2.0 + i / 10
        return rng.gamma(shape, 3.0, n), float(np.sqrt(shape) * 3.0)
    return rng.uniform(-5.0, 5.0 + i, n), float((10.0 + i) / np.sqrt(12))


def _probabilities(values: list[str], p: list[float] | None) -> np.ndarray:
    if p is not None:
        return np.asarray(p)
    w = 1.0 / np.arange(1, len(values) + 1)  # Zipf-like
    return w / w.sum()


def chunk(rows: int, seed: int, index: int, drift: bool) -> pa.Table:
    rng = np.random.default_rng([seed, index, int(drift)])
    cols: dict[str, pa.Array] = {}
    for i in range(N_NUMERIC):
        values, sigma = _numeric(i, rng, rows)
        if drift and i in SHIFTED:
            values = values + 0.25 * sigma
        cols[f"num_{i:02d}"] = pa.array(values)
    for name, values, p in CATEGORIES:
        probs = _probabilities(values, p)
        if drift and name == SWAPPED:
            probs = probs.copy()
            probs[[0, 1]] = probs[[1, 0]]
        codes = rng.choice(len(values), size=rows, p=probs).astype(np.int32)
        cols[name] = pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(values))
    return pa.table(cols)


def generate(rows: int, out: Path, seed: int = 42, drift: bool = False) -> Path:
    """Write ``rows`` rows under ``out`` as part-NNNNN.parquet files of up to 1M rows."""
    out.mkdir(parents=True, exist_ok=True)
    done, index = 0, 0
    while done < rows:
        n = min(CHUNK, rows - done)
        table = chunk(n, seed, index, drift)
        pq.write_table(table, out / f"part-{index:05d}.parquet", row_group_size=256 * 1024, compression="snappy")
        done += n
        index += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--only", choices=["ref", "cur"], default=None)
    args = parser.parse_args()
    for side, drift in (("ref", False), ("cur", True)):
        if args.only and args.only != side:
            continue
        target = args.out / side
        marker = target / f".complete-{args.rows}-{args.seed}"
        if marker.exists():
            continue
        started = time.perf_counter()
        generate(args.rows, target, seed=args.seed + (0 if side == "ref" else 1), drift=drift)
        marker.touch()
        size = sum(f.stat().st_size for f in target.glob("*.parquet"))
        print(f"{target}: {args.rows:,} rows, {size / 2**20:,.0f} MiB in {time.perf_counter() - started:.1f}s")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
