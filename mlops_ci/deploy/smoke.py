"""Smoke parity: the deployed service must predict what the pipeline predicted offline.

The pipeline's evaluate stage wrote per-row holdout predictions; the same rows
sent to ``/predict`` must come back with the same scores (within a tolerance
for float formatting) and labels. A mismatch means the image does not serve
the model that was evaluated — wrong pickle, different library versions,
different preprocessing — and the deploy is rolled back. Pure: rows and
expectations in, a verdict out; the HTTP calls live in the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence


@dataclass
class SmokeCase:
    ids: list[Any]
    rows: list[dict[str, Any]]
    expected: list[dict[str, Any]]  # {"score": float?, "label": Any?} per row


@dataclass
class SmokeResult:
    ok: bool
    checked: int
    agreed: int
    reason: str
    mismatches: list[str] = field(default_factory=list)

    @property
    def agreement(self) -> float:
        return self.agreed / self.checked if self.checked else 0.0


def build_case(sample: Sequence[Mapping[str, Any]], predictions: Sequence[Mapping[str, Any]], *, id_column: str,
               predictions_id_column: str, features: Iterable[str], score_column: str | None,
               label_column: str | None, max_rows: int) -> SmokeCase:
    """Join sample rows with offline predictions on the row id; keep the first ``max_rows`` that match."""
    wanted = list(features)
    by_id: dict[str, Mapping[str, Any]] = {str(p.get(predictions_id_column)): p for p in predictions}
    ids, rows, expected = [], [], []
    for row in sample:
        key = str(row.get(id_column))
        pred = by_id.get(key)
        if pred is None:
            continue
        exp: dict[str, Any] = {}
        if score_column and pred.get(score_column) is not None:
            exp["score"] = float(pred[score_column])
        if label_column and pred.get(label_column) is not None:
            exp["label"] = pred[label_column]
        if not exp:
            continue
        ids.append(row.get(id_column))
        rows.append({name: _json_value(row.get(name)) for name in wanted})
        expected.append(exp)
        if len(rows) >= max_rows:
            break
    return SmokeCase(ids, rows, expected)


def compare(case: SmokeCase, served: Sequence[Mapping[str, Any]], *, tolerance: float, min_agreement: float,
            threshold: float = 0.5) -> SmokeResult:
    """Row-by-row parity of served predictions with the offline ones."""
    if not case.rows:
        return SmokeResult(False, 0, 0, "no sample row has an offline prediction to compare with "
                                        "(check deploy.smoke id columns)")
    if len(served) != len(case.rows):
        return SmokeResult(False, len(case.rows), 0,
                           f"sent {len(case.rows)} rows, the service answered {len(served)} predictions")
    agreed, mismatches = 0, []
    for row_id, exp, got in zip(case.ids, case.expected, served):
        problem = _mismatch(exp, got, tolerance, threshold)
        if problem is None:
            agreed += 1
        elif len(mismatches) < 5:
            mismatches.append(f"row {row_id}: {problem}")
    checked = len(case.rows)
    ok = agreed / checked >= min_agreement
    reason = (f"parity {agreed}/{checked} rows" + ("" if ok else f", below the required {min_agreement:.0%}"))
    return SmokeResult(ok, checked, agreed, reason, mismatches)


def _mismatch(expected: Mapping[str, Any], got: Mapping[str, Any], tolerance: float, threshold: float) -> str | None:
    score = got.get("score")
    if "score" in expected:
        if score is None:
            return "the service returned no score"
        if not math.isclose(float(score), expected["score"], abs_tol=tolerance, rel_tol=0):
            return f"score {float(score):.6f} != offline {expected['score']:.6f}"
    if "label" in expected:
        # A score on the decision threshold may legitimately round either way.
        if score is not None and abs(float(score) - threshold) <= tolerance:
            return None
        if str(got.get("prediction")) != str(expected["label"]):
            return f"label {got.get('prediction')!r} != offline {expected['label']!r}"
    return None


def _json_value(value: Any) -> Any:
    """numpy/pandas scalars to JSON; NaN to null (the schema says whether null is allowed)."""
    item = getattr(value, "item", None)
    if callable(item):
        value = item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
