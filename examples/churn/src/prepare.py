"""prepare: clean the raw data and split it into train and holdout (stratified, seeded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from common import CATEGORICAL, ID, NUMERIC, TARGET, params


def stratified_split(labels: np.ndarray, test_size: float, seed: int) -> np.ndarray:
    """Boolean mask of holdout rows, the same share of each class (no scikit-learn import needed)."""
    rng = np.random.default_rng(seed)
    holdout = np.zeros(len(labels), dtype=bool)
    for value in np.unique(labels):
        idx = np.flatnonzero(labels == value)
        rng.shuffle(idx)
        holdout[idx[: int(round(len(idx) * test_size))]] = True
    return holdout


def main() -> None:
    p = params("prepare")
    raw = pd.read_csv("data/customers.csv")
    frame = raw.dropna(subset=[TARGET]).drop_duplicates(subset=[ID])
    frame = frame[[ID, *NUMERIC, *CATEGORICAL, TARGET]]
    for column in NUMERIC:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").fillna(frame[column].median())
    holdout = stratified_split(frame[TARGET].to_numpy(), p["test_size"], p["seed"])
    out = Path("data/prepared")
    out.mkdir(parents=True, exist_ok=True)
    frame[~holdout].to_parquet(out / "train.parquet", index=False)
    frame[holdout].to_parquet(out / "holdout.parquet", index=False)
    print(f"prepare: {int((~holdout).sum())} train rows, {int(holdout.sum())} holdout rows")


if __name__ == "__main__":
    main()
