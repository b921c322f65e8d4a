"""Per-example predictions: accept the shapes callers have, pair champion and challenger by row id.

A paired test is only valid on the SAME rows: a champion evaluated on last
month's holdout and a challenger on this month's would make any interval
meaningless. So rows are joined on the id column, and any mismatch (ids on one
side only, duplicates, different ground truth for one id) is an error with
examples, never a silent inner join.

Accepted shapes (no pandas import: DataFrames are recognised by duck typing):
a pandas DataFrame, a mapping ``{column: sequence}``, a sequence of row
mappings (``csv.DictReader`` output), or a numpy structured array.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

import numpy as np

from mlops_ci.gate.config import PredictionColumns

Columns = dict[str, np.ndarray]


class PredictionsError(ValueError):
    """The predictions cannot support the requested test (missing column, rows that do not match)."""


def to_columns(data: Any, side: str = "predictions") -> Columns:
    """Normalise any accepted table shape into ``{column: 1-d array}`` of equal lengths."""
    if data is None:
        raise PredictionsError(f"{side}: no per-example predictions")
    columns: Columns
    if hasattr(data, "columns") and hasattr(data, "to_numpy") and not isinstance(data, Mapping):  # pandas
        columns = {str(c): np.asarray(data[c].to_numpy()) for c in data.columns}
    elif isinstance(data, np.ndarray) and data.dtype.names:
        columns = {name: np.asarray(data[name]) for name in data.dtype.names}
    elif isinstance(data, Mapping):
        columns = {str(k): np.asarray(v) for k, v in data.items()}
    elif isinstance(data, (list, tuple)):
        if data and not all(isinstance(r, Mapping) for r in data):
            raise PredictionsError(f"{side}: expected a table (rows as mappings), got a sequence of "
                                   f"{type(data[0]).__name__}")
        names: list[str] = []
        for r in data:
            names.extend(k for k in r if k not in names)
        missing = [n for n in names if any(n not in r for r in data)]
        if missing:
            raise PredictionsError(f"{side}: some rows lack column(s) {', '.join(map(str, missing[:5]))}")
        columns = {str(n): np.asarray([r[n] for r in data]) for n in names}
    else:
        raise PredictionsError(f"{side}: unsupported predictions type {type(data).__name__}")
    lengths = {len(v) if v.ndim == 1 else -1 for v in columns.values()}
    if -1 in lengths or len(lengths) > 1:
        raise PredictionsError(f"{side}: columns must be one-dimensional and of equal length")
    return {k: _numeric_if_possible(v) for k, v in columns.items()}


def _numeric_if_possible(values: np.ndarray) -> np.ndarray:
    """CSV readers without type inference give strings; numbers are numbers for the metric functions."""
    if values.dtype.kind in "OUS":
        try:
            as_float = values.astype(np.float64)
        except (TypeError, ValueError):
            return values.astype(str) if values.dtype.kind == "O" else values
        if np.all(np.isfinite(as_float)) and np.all(as_float == np.round(as_float)):
            return as_float.astype(np.int64)
        return as_float
    return values


def n_rows(columns: Columns) -> int:
    return len(next(iter(columns.values()))) if columns else 0


def require(columns: Columns, name: str, side: str, why: str) -> np.ndarray:
    if name not in columns:
        raise PredictionsError(f"{side} predictions have no column '{name}' ({why}); columns: "
                               f"{', '.join(sorted(columns)[:20])}")
    return columns[name]


def numeric(columns: Columns, name: str, side: str, why: str) -> np.ndarray:
    """A column as finite floats; empty cells (NaN) would silently skew any metric, so they are an error."""
    values = require(columns, name, side, why)
    try:
        out = values.astype(np.float64)
    except (TypeError, ValueError):
        raise PredictionsError(f"{side} predictions: column '{name}' is not numeric ({why})") from None
    bad = int(np.count_nonzero(~np.isfinite(out)))
    if bad:
        raise PredictionsError(f"{side} predictions: column '{name}' has {bad} empty or non-finite value(s)")
    return out


def binary(values: np.ndarray, positive: Any) -> np.ndarray:
    """``values == positive_label`` as 0/1, tolerant of `1` vs `"1"` vs `1.0`."""
    if values.dtype.kind in "OUS" and not isinstance(positive, str):
        return (values.astype(str) == str(positive)).astype(np.int8)
    if values.dtype.kind in "iufb" and isinstance(positive, str):
        try:
            return (values == float(positive)).astype(np.int8)
        except ValueError:
            return np.zeros(len(values), dtype=np.int8)
    return (values == positive).astype(np.int8)


def predicted_positive(columns: Columns, cols: PredictionColumns, side: str) -> np.ndarray:
    """0/1 "predicted positive": the prediction column, or ``score >= threshold`` when it is absent."""
    if cols.prediction in columns:
        return binary(columns[cols.prediction], cols.positive_label)
    score = numeric(columns, cols.score, side, f"needed as there is no '{cols.prediction}' column")
    return (score >= cols.threshold).astype(np.int8)


def correct(columns: Columns, cols: PredictionColumns, side: str) -> np.ndarray:
    """0/1 per row: prediction equals the label (multi-class aware when a prediction column exists)."""
    label = require(columns, cols.label, side, "the ground truth")
    if label.dtype.kind == "f":
        numeric(columns, cols.label, side, "the ground truth")
    if cols.prediction in columns:
        pred = columns[cols.prediction]
        same = pred == label if pred.dtype.kind == label.dtype.kind or \
            (pred.dtype.kind in "iufb" and label.dtype.kind in "iufb") else pred.astype(str) == label.astype(str)
        return np.asarray(same, dtype=np.int8)
    return (predicted_positive(columns, cols, side) == binary(label, cols.positive_label)).astype(np.int8)


@dataclass
class PairedPredictions:
    """Champion and challenger columns on the same rows, in the same order."""

    ids: np.ndarray
    champion: Columns
    challenger: Columns

    @property
    def n(self) -> int:
        return len(self.ids)


def _ids(columns: Columns, id_column: Optional[str], side: str) -> np.ndarray:
    return require(columns, id_column or "", side, "rows are joined on it; set gate.predictions.id")


def pair(champion: Any, challenger: Any, cols: PredictionColumns) -> PairedPredictions:
    """Join on ``cols.id``; the two sides must hold exactly the same ids, once each, with the same labels."""
    a = to_columns(champion, "champion")
    b = to_columns(challenger, "challenger")
    ids_a, ids_b = _ids(a, cols.id, "champion"), _ids(b, cols.id, "challenger")
    if ids_a.dtype.kind != ids_b.dtype.kind and not (ids_a.dtype.kind in "iu" and ids_b.dtype.kind in "iu"):
        ids_a, ids_b = ids_a.astype(str), ids_b.astype(str)
    for ids, side in ((ids_a, "champion"), (ids_b, "challenger")):
        uniq, counts = np.unique(ids, return_counts=True)
        if len(uniq) != len(ids):
            dups = uniq[counts > 1]
            raise PredictionsError(f"{side} predictions repeat {len(dups)} id(s) in '{cols.id}' "
                                   f"(e.g. {', '.join(map(str, dups[:3]))}); ids must be unique")
    order_a, order_b = np.argsort(ids_a, kind="stable"), np.argsort(ids_b, kind="stable")
    sorted_a, sorted_b = ids_a[order_a], ids_b[order_b]
    if len(sorted_a) != len(sorted_b) or not np.array_equal(sorted_a, sorted_b):
        only_a = np.setdiff1d(sorted_a, sorted_b)
        only_b = np.setdiff1d(sorted_b, sorted_a)
        raise PredictionsError(
            f"champion and challenger predictions are not on the same rows: {len(only_a)} id(s) only in the "
            f"champion's (e.g. {', '.join(map(str, only_a[:3])) or '-'}), {len(only_b)} only in the challenger's "
            f"(e.g. {', '.join(map(str, only_b[:3])) or '-'}); a paired test needs the same holdout")
    champ = {k: v[order_a] for k, v in a.items()}
    chall = {k: v[order_b] for k, v in b.items()}
    if cols.label in champ and cols.label in chall:
        la, lb = champ[cols.label], chall[cols.label]
        same = la == lb if la.dtype.kind == lb.dtype.kind else la.astype(str) == lb.astype(str)
        if not np.all(same):
            bad = sorted_a[~np.asarray(same, dtype=bool)]
            raise PredictionsError(f"'{cols.label}' differs between champion and challenger on {len(bad)} row(s) "
                                   f"(e.g. {cols.id} {', '.join(map(str, bad[:3]))}): not the same holdout")
    return PairedPredictions(sorted_a, champ, chall)
