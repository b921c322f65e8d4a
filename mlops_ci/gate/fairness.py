"""Four-fifths rule: does the model select one group much less often than another?

The selection rate of a group is the share of its rows predicted positive.
The disparate-impact ratio is the lowest group's rate over the highest
group's; the EEOC's "four-fifths rule" flags a ratio below 0.8
(`min_ratio`, configurable). Computed on the challenger's per-example
predictions (the champion's ratio, when its predictions are there, is shown
for comparison but does not decide). Groups smaller than `min_group_size` are
listed but not compared, because a group of three rows can swing the ratio
from 0 to 1 on its own. When no group selects anyone the ratio is 1 (no group
is favoured), as in the example project's own metric.

A fairness metric the pipeline already writes (the example's
``fairness.disparate_impact``) needs no predictions: gate it as a plain rule,
``{metric: fairness.disparate_impact, min: 0.8}``. Latency and model size are
plain rules too (``{metric: latency_p95_ms, direction: lower, max: 50,
max_regression: "10%"}``); see docs/gate.md.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from mlops_ci.gate.config import FairnessRule, PredictionColumns
from mlops_ci.gate.predictions import Columns, predicted_positive, require, to_columns
from mlops_ci.gate.results import FairnessResult, fmt


def selection_rates(columns: Columns, rule: FairnessRule, cols: PredictionColumns,
                    side: str) -> tuple[dict[str, float], dict[str, int]]:
    """Share of rows predicted positive, and row count, per group (group keys as strings)."""
    groups = require(columns, rule.group_column, side, "the fairness group column")
    selected = predicted_positive(columns, cols, side).astype(np.float64)
    keys, inverse = np.unique(groups.astype(str), return_inverse=True)
    counts = np.bincount(inverse, minlength=len(keys))
    chosen = np.bincount(inverse, weights=selected, minlength=len(keys))
    rates = {str(k): float(chosen[i] / counts[i]) for i, k in enumerate(keys)}
    return rates, {str(k): int(counts[i]) for i, k in enumerate(keys)}


def disparate_impact(rates: dict[str, float]) -> tuple[float, Optional[str], Optional[str]]:
    """``(min rate / max rate, worst group, best group)``; 1.0 when nobody is selected."""
    if not rates:
        return 1.0, None, None
    worst = min(rates, key=lambda g: (rates[g], g))
    best = max(rates, key=lambda g: (rates[g], g))
    if rates[best] <= 0:
        return 1.0, worst, best
    return rates[worst] / rates[best], worst, best


def evaluate_fairness(rule: FairnessRule, challenger: Any, cols: PredictionColumns,
                      champion: Any = None) -> FairnessResult:
    """The four-fifths check of one group column on the challenger's predictions."""
    columns = to_columns(challenger, "challenger")
    rates, counts = selection_rates(columns, rule, cols, "challenger")
    ignored = sorted(g for g, n in counts.items() if n < rule.min_group_size)
    compared = {g: r for g, r in rates.items() if g not in ignored}
    champion_ratio: Optional[float] = None
    if champion is not None:
        try:
            c_rates, c_counts = selection_rates(to_columns(champion, "champion"), rule, cols, "champion")
            champion_ratio = disparate_impact({g: r for g, r in c_rates.items()
                                               if c_counts[g] >= rule.min_group_size})[0]
        except ValueError:
            champion_ratio = None  # informational only
    if len(compared) < 2:
        reason = (f"fewer than 2 groups in '{rule.group_column}' with at least {rule.min_group_size} rows "
                  f"({len(rates)} group(s) in all): nothing to compare")
        return FairnessResult(rule.group_column, rule.min_ratio, None, True, reason, rates, counts,
                              ignored_groups=ignored, champion_ratio=champion_ratio)
    ratio, worst, best = disparate_impact(compared)
    assert worst is not None and best is not None
    ok = ratio >= rule.min_ratio
    if compared[best] <= 0:
        reason = "no group is selected at all: ratio 1"
    else:
        reason = (f"selection rate of '{worst}' {fmt(compared[worst], 4)} / '{best}' {fmt(compared[best], 4)} "
                  f"= {fmt(ratio, 4)} {'≥' if ok else '<'} {fmt(rule.min_ratio)}")
    if ignored:
        reason += f"; {len(ignored)} group(s) under {rule.min_group_size} rows not compared"
    return FairnessResult(rule.group_column, rule.min_ratio, ratio, ok, reason, rates, counts, worst, best,
                          ignored, champion_ratio)
