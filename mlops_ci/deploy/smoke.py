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

from mlops_ci.serving import PARITY_FILE


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


#: Where the serving image keeps its parity case (written by `mlops-ci build`).
CASE_FILE = PARITY_FILE


def case_document(case: SmokeCase, *, revision: str | None, sample: str, predictions: str) -> dict[str, Any]:
    """The parity case as baked into the image: the rows and the offline predictions of the commit it was built from.

    Stored with the image so that any later deploy of that digest — a rollback to
    it months later from another checkout — compares the service with *its own*
    evaluated predictions, not with those of whatever commit is checked out.
    """
    return {"version": 1, "revision": revision, "sample": sample, "predictions": predictions,
            "ids": [_json_value(i) for i in case.ids], "rows": case.rows, "expected": case.expected}


def case_from_document(doc: Mapping[str, Any]) -> SmokeCase:
    """The case back from :func:`case_document`; ValueError when the document is not one."""
    if not isinstance(doc, Mapping) or doc.get("version") != 1:
        raise ValueError("not a parity case (version 1)")
    ids, rows, expected = doc.get("ids"), doc.get("rows"), doc.get("expected")
    if not (isinstance(ids, list) and isinstance(rows, list) and isinstance(expected, list)) \
            or not len(ids) == len(rows) == len(expected):
        raise ValueError("a parity case needs lists ids, rows and expected of one length")
    return SmokeCase(list(ids), [dict(r) for r in rows], [dict(e) for e in expected])


@dataclass(frozen=True)
class ParitySource:
    source: str  # "image" | "checkout" | "skip"
    reason: str


def choose_parity_source(*, embedded: bool, image_revision: str | None, checkout_sha: str | None,
                         checkout_configured: bool, rollback: bool) -> ParitySource:
    """Which offline predictions a deployed image must reproduce.

    The image's own case when it carries one; else the checkout's files, but only
    when they are the image's (built from the checked-out commit) — or, for a
    plain deploy of an image that does not say where it came from, as before.
    A rollback to an image from another commit without a case is not compared
    with the wrong predictions: parity is skipped, and the reason says so.
    """
    if embedded:
        return ParitySource("image", "the predictions recorded in the image at build time")
    short = (image_revision or "?")[:12]
    if image_revision and checkout_sha and image_revision == checkout_sha:
        if checkout_configured:
            return ParitySource("checkout", f"the checkout's predictions (the image was built from {short})")
        return ParitySource("skip", "the image carries no parity case and deploy.smoke has no files to compare with")
    if image_revision is None and not rollback and checkout_configured:
        return ParitySource("checkout", "the checkout's predictions (the image does not say which commit it serves)")
    if not checkout_configured:
        return ParitySource("skip", "the image carries no parity case and deploy.smoke has no files to compare with")
    return ParitySource("skip", f"the image carries no parity case and was built from commit {short}, not from the "
                                f"checked-out {(checkout_sha or '?')[:12]}: its predictions are not here to compare with")
