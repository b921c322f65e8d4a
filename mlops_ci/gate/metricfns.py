"""Metrics recomputed from per-example predictions, for many bootstrap resamples at once.

A bootstrap resample is represented by how many times each row was drawn, so
one resample is a weight vector and a batch of B resamples is a ``B × n``
count matrix ``W``. Every metric here maps ``W`` to ``B`` values with a few
matrix operations: accuracy-like metrics are one matrix–vector product, and
AUC is the Mann–Whitney statistic computed on the rows pre-sorted by score,
with weights (``O(B·n)``, no per-resample sort). The point estimate is the
same function on a single all-ones row, so the interval and the reported
value can never disagree about what the metric is.

Zero denominators give 0 (scikit-learn's default for precision/recall/f1);
AUC with one class only in a resample is NaN and that resample is dropped.
"""

from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from mlops_ci.gate.config import PredictionColumns
from mlops_ci.gate.predictions import Columns, binary, correct, numeric, predicted_positive, require

LOG_LOSS_EPS = 1e-15


class WeightedMetric:
    """A metric as a function of row weights: ``metric(W)`` gives one value per row of ``W``.

    ``values`` is set when the metric is the plain mean of per-row
    contributions (accuracy, log loss, …): the bootstrap then only needs the
    per-row differences, which is much faster than building count matrices.
    ``draws`` computes the metric straight from a ``B × n`` matrix of drawn
    row indices (AUC), skipping the count matrix.
    """

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray], values: Optional[np.ndarray] = None,
                 draws: Optional[Callable[[np.ndarray], np.ndarray]] = None) -> None:
        self.fn, self.values, self.draws = fn, values, draws

    def __call__(self, w: np.ndarray) -> np.ndarray:
        return self.fn(w)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


def _mean(values: np.ndarray) -> WeightedMetric:
    v = values.astype(np.float64)
    return WeightedMetric(lambda w: (w @ v) / w.sum(axis=1), v)


def weighted_auc(score: np.ndarray, positive: np.ndarray) -> WeightedMetric:
    """ROC AUC (ties count one half, as in scikit-learn) under row weights or bootstrap draws.

    Rows are grouped once by distinct score (G groups, ascending) and coded
    ``2·group + label``. A resample then reduces to one ``bincount`` of those
    codes: negative weight ``N_g`` and positive weight ``P_g`` per group. With
    cumulative weight ``C_g``, the positives' midranks give the Mann–Whitney
    statistic ``U = Σ P_g·C_g − ½ Σ P_g·(N_g+P_g) + ½ P − P(P+1)/2`` and
    AUC = ``U / (P·N)``: no per-resample sort, ``O(n + G)`` per resample.
    """
    s = score.astype(np.float64)
    _, group = np.unique(s, return_inverse=True)
    group = group.ravel()
    n_groups = int(group.max()) + 1 if len(group) else 0
    code = 2 * group.astype(np.int64) + (positive.astype(np.int64) != 0)

    def from_counts(cnt: np.ndarray) -> np.ndarray:
        cnt = cnt.reshape(len(cnt), n_groups, 2)
        neg, pos = cnt[:, :, 0], cnt[:, :, 1]
        wg = neg + pos
        cw = np.cumsum(wg, axis=1)
        p_total = pos.sum(axis=1)
        n_total = cw[:, -1] - p_total
        r1 = np.einsum("ij,ij->i", pos, cw) - 0.5 * np.einsum("ij,ij->i", pos, wg) + 0.5 * p_total
        u = r1 - p_total * (p_total + 1) / 2
        den = p_total * n_total
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den > 0, u / np.where(den > 0, den, 1.0), np.nan)

    def weighted(w: np.ndarray) -> np.ndarray:
        cnt = np.empty((len(w), 2 * n_groups))
        for i, row in enumerate(w):
            cnt[i] = np.bincount(code, weights=row, minlength=2 * n_groups)
        return from_counts(cnt)

    def drawn(idx: np.ndarray) -> np.ndarray:
        codes = code[idx]
        cnt = np.empty((len(idx), 2 * n_groups))
        for i, row in enumerate(codes):
            cnt[i] = np.bincount(row, minlength=2 * n_groups)
        return from_counts(cnt)

    return WeightedMetric(weighted, draws=drawn)


def prepare(fn: str, columns: Columns, cols: PredictionColumns, side: str) -> WeightedMetric:
    """The weighted form of metric ``fn`` on one model's predictions."""
    if fn in ("accuracy", "error_rate"):
        ok = correct(columns, cols, side)
        return _mean(ok) if fn == "accuracy" else _mean(1 - ok)
    if fn in ("precision", "recall", "f1"):
        y = binary(require(columns, cols.label, side, "the ground truth"), cols.positive_label).astype(np.float64)
        p = predicted_positive(columns, cols, side).astype(np.float64)
        tp_v = y * p
        if fn == "precision":
            return WeightedMetric(lambda w: _ratio(w @ tp_v, w @ p))
        if fn == "recall":
            return WeightedMetric(lambda w: _ratio(w @ tp_v, w @ y))
        return WeightedMetric(lambda w: _ratio(2 * (w @ tp_v), (w @ p) + (w @ y)))
    if fn in ("auc", "log_loss", "brier"):
        y = binary(require(columns, cols.label, side, "the ground truth"), cols.positive_label)
        score = numeric(columns, cols.score, side, f"{fn} needs predicted probabilities")
        if fn == "auc":
            return weighted_auc(score, y)
        if fn == "brier":
            return _mean((score - y) ** 2)
        p = np.clip(score, LOG_LOSS_EPS, 1 - LOG_LOSS_EPS)
        return _mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)))
    if fn in ("mae", "mse", "rmse"):
        label = numeric(columns, cols.label, side, "the ground truth")
        name = cols.prediction if cols.prediction in columns else cols.score
        pred = numeric(columns, name, side, f"{fn} needs predicted values")
        if fn == "mae":
            return _mean(np.abs(pred - label))
        mse = _mean((pred - label) ** 2)
        return mse if fn == "mse" else WeightedMetric(lambda w: np.sqrt(mse(w)))
    raise ValueError(f"unknown metric function {fn!r}")


def point(metric: WeightedMetric, n: int, multiplicity: Optional[np.ndarray] = None) -> float:
    """The metric on the data as it is: every row weight 1 (or each distinct row weighted by its count)."""
    w = np.ones((1, n)) if multiplicity is None else multiplicity.astype(np.float64)[None, :]
    return float(metric(w)[0])
