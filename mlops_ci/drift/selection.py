"""Which test for which column: Evidently's ``auto`` rule, then the config's overrides.

Evidently 0.7 ``DataDriftPreset`` (``Dataset.from_pandas`` type inference, then
``get_stattest``'s default), reproduced so that verdicts are comparable:

Column type (from current data):
  * float → numeric; integer → categorical if it has <= 10 distinct values, else numeric;
  * bool, dictionary/category → categorical;
  * string → categorical, unless more than half of its values are distinct (Evidently: text —
    not tested here, reported as ID-like);
  * datetime → not tested.

Test, after dropping nulls, NaN and ±inf (``n_ref`` = reference values left,
``n_values`` = distinct values of reference and current together):
  * ``n_ref <= 1000``: numeric → chi² if 2 < n_values <= 5, Z-test if n_values <= 2, else KS;
    categorical → chi² if n_values > 2, else Z-test;
  * ``n_ref > 1000``: numeric → Jensen–Shannon if n_values <= 5, else Wasserstein (normed);
    categorical → Jensen–Shannon.

Thresholds: KS p <= 0.05, chi² and Z p < 0.05, Wasserstein >= 0.1, Jensen–Shannon >= 0.1,
PSI >= 0.1; the dataset drifts when the share of drifted columns is >= 0.5.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from mlops_ci.drift.config import DEFAULT_THRESHOLDS, ColumnRule, DriftConfig
from mlops_ci.drift.profile import ColumnProfile

INTEGER_AS_CATEGORICAL = 10  # Evidently 0.7: INTEGER_CARDINALITY_LIMIT
SMALL_REFERENCE = 1000
FEW_VALUES = 5


@dataclass(frozen=True)
class Choice:
    column_type: str | None  # numeric | categorical | None (not tested)
    method: str | None
    threshold: float | None
    reason: str
    #: the test that was asked for but does not apply to this column (reported, so no column goes
    #: untested silently: `--method ks` on a categorical column)
    not_applicable: str | None = None


def column_rule(config: DriftConfig, name: str) -> ColumnRule | None:
    """The per-column override: an exact name wins over the first matching glob."""
    if name in config.columns:
        return config.columns[name]
    for pattern, rule in config.columns.items():
        if fnmatch.fnmatchcase(name, pattern):
            return rule
    return None


def is_ignored(config: DriftConfig, name: str) -> bool:
    rule = column_rule(config, name)
    return (rule is not None and rule.ignore) or any(fnmatch.fnmatchcase(name, p) for p in config.ignore)


def infer_type(cur: ColumnProfile) -> tuple[str | None, str]:
    """Evidently's type inference on current data: (type, why)."""
    dtype = cur.dtype.lower()
    if cur.kind == "datetime":
        return None, "datetime column: not tested (as in Evidently)"
    if cur.kind in ("empty", "unsupported"):
        return None, f"{cur.dtype} column: not tested"
    if cur.kind == "numeric":
        n = cur.numeric
        if dtype.startswith(("int", "uint")) and n is not None and n.n_distinct is not None \
                and n.n_distinct <= INTEGER_AS_CATEGORICAL:
            return "categorical", f"integer with <= {INTEGER_AS_CATEGORICAL} distinct values"
        return "numeric", "numeric dtype"
    c = cur.categorical
    if c is None:
        return None, "no values"
    if c.high_cardinality:
        return None, "high cardinality (likely an ID or free text): not tested"
    if dtype in ("string", "large_string", "string_view", "utf8") and c.count and (c.cardinality or 0) > 0.5 * c.count:
        return None, "more than half of the values are distinct (text or ID): not tested"
    return "categorical", "categorical dtype"


def n_values(ref: ColumnProfile, cur: ColumnProfile, column_type: str) -> int | None:
    """Distinct values of both sides together; None when there are more than the profile tracks."""
    if column_type == "numeric" or (ref.numeric is not None and cur.numeric is not None):
        rv = ref.numeric.distinct_values if ref.numeric else None
        cv = cur.numeric.distinct_values if cur.numeric else None
        if rv is None or cv is None:
            return None
        return len(set(rv.tolist()) | set(cv.tolist()))
    rc, cc = ref.categorical, cur.categorical
    if rc is None or cc is None or rc.high_cardinality or cc.high_cardinality:
        return None
    keys = set(rc.values) | set(cc.values)
    return len(keys) + (1 if rc.other or cc.other else 0)


def auto_method(column_type: str, n_ref: int, values: int | None) -> str:
    few = values is not None and values <= FEW_VALUES
    if n_ref <= SMALL_REFERENCE:
        if column_type == "numeric" and not few:
            return "ks"
        return "chi2" if values is None or values > 2 else "ztest"
    if column_type == "numeric":
        return "jensenshannon" if few else "wasserstein"
    return "jensenshannon"


def choose(config: DriftConfig, ref: ColumnProfile, cur: ColumnProfile) -> Choice:
    rule = column_rule(config, cur.name)
    if rule is not None and rule.type is not None:
        column_type: str | None = rule.type
        why = f"type set by drift.columns.{cur.name}.type"
        if column_type == "numeric" and cur.kind == "categorical":
            return Choice(None, None, None, "a categorical column cannot be tested as numeric")
        if column_type == "categorical" and cur.kind == "numeric" and (
                cur.numeric is None or cur.numeric.distinct_values is None):
            return Choice(None, None, None, "too many distinct values to test as categorical")
    else:
        column_type, why = infer_type(cur)
    if column_type is None:
        return Choice(None, None, None, why)
    method = None
    threshold = None
    if rule is not None and rule.method and rule.method != "auto":
        method = rule.method
    type_rule = config.numeric if column_type == "numeric" else config.categorical
    if method is None and type_rule.method != "auto":
        method = type_rule.method
    if method is None and config.method != "auto":
        method = config.method
    values = n_values(ref, cur, column_type)
    if method is None:
        method = auto_method(column_type, ref.valid, values)
        why += f"; auto: {ref.valid:,} reference values, {values if values is not None else 'many'} distinct"
    if method in ("ks", "wasserstein") and column_type == "categorical":
        return Choice(column_type, None, None, f"{method} needs a numeric column: this categorical column is "
                      "not tested", not_applicable=method)
    if method == "ztest" and values is not None and values > 2:
        return Choice(column_type, None, None, f"Z-test needs a binary column ({values} distinct values): "
                      "not tested", not_applicable=method)
    if rule is not None and rule.threshold is not None:
        threshold = rule.threshold
    elif type_rule.threshold is not None:
        threshold = type_rule.threshold
    else:
        threshold = getattr(config.thresholds, method, DEFAULT_THRESHOLDS[method])
    return Choice(column_type, method, threshold, why)
