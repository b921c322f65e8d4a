"""`gate.mode: mlflow`: MLflow's `MetricThreshold` semantics, reproduced exactly and without MLflow.

Teams moving from `mlflow.validate_evaluation_results` keep their thresholds
and get the same answers, without importing mlflow (3 s) in the gate. The
reference is `mlflow/models/evaluation/validation.py::_validate` of mlflow
3.17; the property tests run both on generated cases and require agreement.

For a candidate value ``c``, baseline ``b`` and ``greater_is_better`` (``≥``
when true, ``≤`` when false; ``±`` is ``+`` when true, ``−`` when false):

=======================  ====================================================
``threshold: t``         ``c ≥ t`` (or ``c ≤ t``)
``min_absolute_change``  ``Decimal(c) ≥ Decimal(b ± a)`` — the sum is a float
``min_relative_change``  ``(c − b)/|b| ≥ r`` (or ``(b − c)/|b| ≥ r``); when
                         ``b == 0``: ``c ≥ 0 + 1e-10`` (or ``c ≤ 0 − 1e-10``)
=======================  ====================================================

MLflow's quirks, kept (each one fails the gate exactly where MLflow would
fail or crash):

* **Zero baseline.** The relative check degrades to "beat the baseline by
  1e-10", whatever ``r`` is.
* **Baseline with other metrics but not this one.** MLflow evaluates
  ``baseline_metrics[name]`` for *every* rule and raises ``KeyError`` — even
  for a threshold-only rule that needs no baseline. Reproduced as a failure.
* **min_relative_change: 0.0** is falsy, so MLflow's "missing baseline" guard
  does not fire; with no baseline at all it then computes ``c − None`` and
  raises ``TypeError``. Reproduced as a failure.
* ``min_relative_change`` must lie in [0, 1] (no "at least 2× better"), and
  ``min_absolute_change`` must be > 0 (no tolerated regression: use native
  ``max_regression`` for that).
* A candidate missing the metric fails the rule and the threshold is not
  checked; a missing baseline fails the comparisons but the threshold is.

Deliberate deviations (fail closed):

* **NaN/inf** values fail the rule. MLflow would *pass* ``min_relative_change``
  with a NaN candidate (``nan < r`` is false) and crash on ``Decimal('NaN')``
  comparisons.
* **No champion at all** follows ``gate.on_no_champion``: ``fail`` is exactly
  MLflow's ``baseline_result=None`` behaviour (comparisons fail, thresholds
  apply); the default ``pass`` skips the comparisons with "no champion yet".
* YAML integers are accepted for ``min_relative_change`` (MLflow insists on a
  float: ``1`` must be written ``1.0``); the value is the same.
"""

from __future__ import annotations

import operator
from decimal import Decimal
from typing import Any, Mapping, Optional, Sequence

from mlops_ci.gate.config import Rule
from mlops_ci.gate.results import RuleResult, fmt
from mlops_ci.gate.rules import metric_value, no_champion_result

ZERO_BASELINE_EPSILON = 1e-10


def describe(rule: Rule, check: str) -> str:
    """The check in MLflow's vocabulary."""
    gib = rule.better() == "higher"
    if check == "threshold":
        return f"{'≥' if gib else '≤'} {fmt(rule.threshold)} (threshold)"
    if check == "min_absolute_change":
        return f"Δ {'≥ +' if gib else '≤ -'}{fmt(rule.min_absolute_change)} (min_absolute_change)"
    if check == "min_relative_change":
        assert rule.min_relative_change is not None
        pct = fmt(rule.min_relative_change * 100)
        return f"Δ {'≥ +' if gib else '≤ -'}{pct}% of |baseline| (min_relative_change)"
    return check


def evaluate_mlflow_rule(rule: Rule, champion: Optional[Mapping[str, Any]], challenger: Mapping[str, Any], *,
                         index: Optional[int] = None, on_no_champion: str = "pass") -> list[RuleResult]:
    """One rule the way `_validate` treats one `MetricThreshold`; ``champion=None`` means no champion."""
    gib = rule.better() == "higher"
    direction = "higher" if gib else "lower"
    checks = [k for k in ("threshold", "min_absolute_change", "min_relative_change") if getattr(rule, k) is not None]
    if not checks:
        return []
    name = rule.metric
    texts = {c: describe(rule, c) for c in checks}
    present, cand, problem = metric_value(challenger, name)
    champ_value: Optional[float] = None

    def row(check: str, passed: bool, reason: str, skipped: bool = False) -> RuleResult:
        delta = cand - champ_value if cand is not None and champ_value is not None and not problem else None
        return RuleResult(name, check, texts.get(check, "; ".join(texts.values())), champ_value, cand, delta,
                          passed, reason, skipped=skipped, rule_index=index, direction=direction)

    if not present:
        return [row("missing", False, f"metric {name} was missing from the evaluation result of the candidate model")]
    if problem:
        return [row("invalid", False, f"candidate value {problem} (MLflow's NaN handling is not reproduced: "
                    f"the gate fails closed)")]
    assert cand is not None
    comparator = operator.ge if gib else operator.le
    add = operator.add if gib else operator.sub
    results: list[RuleResult] = []
    comparisons = [c for c in checks if c != "threshold"]

    if champion is not None and name in champion:
        _, shown, shown_problem = metric_value(champion, name)
        champ_value = None if shown_problem else shown
    if "threshold" in checks:
        ok = comparator(cand, rule.threshold)
        results.append(row("threshold", ok, f"candidate {fmt(cand)} {'meets' if ok else 'fails'} threshold "
                           f"{fmt(rule.threshold)}"))
    if champion is None:
        results.extend(no_champion_result(rule, index, c, texts[c], cand, on_no_champion) for c in comparisons)
        return results

    baseline_metrics = champion
    if baseline_metrics and name not in baseline_metrics:
        # `baseline_metrics[metric_name] if baseline_metrics else None` raises before any check.
        results.append(row("baseline", False, f"the champion has metrics but not {name}: MLflow's validator raises "
                           f"KeyError here (even for a threshold-only rule), so the gate fails"))
        return results
    if not comparisons:
        return results
    if (rule.min_relative_change or rule.min_absolute_change) and name not in baseline_metrics:
        results.extend(row(c, False, f"metric {name} was missing from the evaluation result of the baseline model")
                       for c in comparisons)
        return results
    if name not in baseline_metrics:
        # min_relative_change == 0.0 is falsy: MLflow skips the guard above and computes `candidate - None`.
        results.append(row("min_relative_change", False, f"the champion has no {name} and min_relative_change is 0.0: "
                           f"MLflow's validator raises TypeError here, so the gate fails"))
        return results
    _, base, base_problem = metric_value(baseline_metrics, name)
    if base_problem:
        results.extend(row(c, False, f"baseline value {base_problem}") for c in comparisons)
        return results
    assert base is not None

    if rule.min_absolute_change is not None:
        target = add(base, rule.min_absolute_change)
        ok = comparator(Decimal(cand), Decimal(target))
        results.append(row("min_absolute_change", ok, f"candidate {fmt(cand)} {'meets' if ok else 'fails'} baseline "
                           f"{fmt(base)} {'+' if gib else '-'} {fmt(rule.min_absolute_change)} = {fmt(target)}"))
    if rule.min_relative_change is not None:
        r = rule.min_relative_change
        if base == 0:
            target = add(base, ZERO_BASELINE_EPSILON)
            ok = comparator(Decimal(cand), Decimal(target))
            results.append(row("min_relative_change", ok, f"baseline is 0, so (as in MLflow) the relative check only "
                               f"asks to beat it by 1e-10: candidate {fmt(cand)} {'does' if ok else 'does not'}"))
        else:
            change = (cand - base) / abs(base) if gib else (base - cand) / abs(base)
            ok = not (change < r)
            results.append(row("min_relative_change", ok, f"relative change {fmt(change * 100)}% "
                               f"{'meets' if ok else 'is below'} {fmt(r * 100)}% of |baseline| {fmt(abs(base))}"))
    return results


def evaluate_mlflow_rules(rules: Sequence[Rule], champion: Optional[Mapping[str, Any]],
                          challenger: Mapping[str, Any], *, on_no_champion: str = "pass") -> list[RuleResult]:
    """All rules of a `mode: mlflow` gate; the gate passes iff `validate_evaluation_results` would."""
    results: list[RuleResult] = []
    for i, rule in enumerate(rules):
        results.extend(evaluate_mlflow_rule(rule, champion, challenger, index=i, on_no_champion=on_no_champion))
    return results
