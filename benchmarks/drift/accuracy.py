"""How far the normed Wasserstein distance from profiles is from the exact one (the table in docs/drift.md).

    .venv/bin/python benchmarks/drift/accuracy.py --samples 10

For each distribution and size: reference and current samples (current shifted by 0.25),
the reference profiled and the current binned on its grid as `mlops-ci drift` does
(bins = 1000), and |ours - scipy.stats.wasserstein_distance / std| — the worst of
``--samples`` seeds per cell. The threshold it is compared with is 0.1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from mlops_ci.drift import stats as S  # noqa: E402
from mlops_ci.drift.engine import grid  # noqa: E402
from tests.unit.drift_helpers import current_of, profile_of  # noqa: E402
from tests.unit.test_drift_stats import sample  # noqa: E402

KINDS = [("normal", "normal"), ("offset", "N(1e6, 1)"), ("lognormal", "lognormal"), ("spiky", "spiky"),
         ("discrete", "discrete"), ("heavy_tail", "t(1.5) heavy tail")]


def error(kind: str, n: int, seed: int) -> float:
    rng = np.random.default_rng(seed)
    ref, cur = sample(kind, n, rng, 0.0), sample(kind, n, rng, 0.25)
    reference = profile_of(pd.DataFrame({"x": ref}))
    current, _ = current_of(pd.DataFrame({"x": cur}), reference)
    w, _ = S.wasserstein(grid(reference.columns["x"].numeric, current.columns["x"].numeric))
    ours = S.wasserstein_normed(w, reference.columns["x"].numeric.std)
    return abs(ours - stats.wasserstein_distance(ref, cur) / max(float(np.std(ref)), 0.001))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--sizes", type=lambda s: [int(float(x)) for x in s.split(",")], default=[2000, 20000, 200000])
    opts = parser.parse_args()
    print("| n (each side) | " + " | ".join(title for _, title in KINDS) + " |")
    print("|---" * (len(KINDS) + 1) + "|")
    for n in opts.sizes:
        worst = [max(error(kind, n, seed) for seed in range(opts.samples)) for kind, _ in KINDS]
        print(f"| {n:,} | " + " | ".join("0" if e == 0 else f"{e:.1e}" for e in worst) + " |", flush=True)


if __name__ == "__main__":
    main()
