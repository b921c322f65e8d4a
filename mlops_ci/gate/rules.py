"""Native rule checks: floors, ceilings and comparisons with the champion on metric values.

Pure arithmetic on two flat ``{metric: value}`` dicts; every check yields a
:class:`RuleResult` that says what was compared and why it passed or failed,
because a red gate that cannot explain itself gets disabled.

Semantics (``improvement`` = challenger − champion when higher is better,
champion − challenger when lower is better; ``ref`` = |champion|):

=================  =======================================================
``min: m``         challenger >= m            (no champion needed)
``max: m``         challenger <= m            (no champion needed)
``min_delta: d``   improvement >= d   (``"2%"``: improvement >= 0.02·ref)
``max_regression`` −improvement <= r  (``"1%"``: −improvement <= 0.01·ref)
``min_ratio: k``   higher: challenger >= k·champion; lower: k·challenger <=
                   champion; needs champion > 0
=================  =======================================================

Comparisons that follow arithmetic forgive float rounding (relative 1e-9),
so ``min_delta: 0.05`` passes from 0.80 to 0.85. The checks are monotone (a
challenger at least as good never fails where a worse one passes, as long as
floors go with higher-is-better and ceilings with lower-is-better) and
symmetric under negation (a lower-is-better metric negated and declared
higher-is-better gives the same verdict, ``max: m`` becoming ``min: -m``);
the property tests hold the code to both.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Optional, Sequence

from mlops_ci.gate.config import NATIVE_KEYS, Rule, parse_amount
from mlops_ci.gate.results import RuleResult, fmt, fmt_signed

DirectionOf = Callable[[str], Optional[str]]
#: Comparisons after arithmetic forgive float rounding: 0.85 − 0.80 is 0.04999999999999993, and a user who
#: wrote ``min_delta: 0.05`` means it to pass. (``mode: mlflow`` keeps MLflow's exact float behaviour.)
REL_TOL, ABS_TOL = 1e-9, 1e-12


def at_least(a: float, b: float) -> bool:
    """``a >= b``, or equal up to rounding of the arithmetic that produced them."""
    return a >= b or math.isclose(a, b, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def metric_value(metrics: Mapping[str, Any], key: str) -> tuple[bool, Optional[float], Optional[str]]:
    """``(present, value, problem)``: a value is usable only when it is a finite real number."""
    if key not in metrics:
        return False, None, None
    raw = metrics[key]
    if isinstance(raw, str):
        return True, None, f"is {raw!r}, not a number"
    try:
        value = float(raw)  # ints, booleans (0/1, as the metrics parser reads them), numpy scalars, Decimal
    except (TypeError, ValueError):
        return True, None, f"is {raw!r}, not a number"
    if not math.isfinite(value):
        return True, value, f"is {value}; expected a finite number"
    return True, value, None


def resolve_direction(rule: Rule, direction_of: Optional[DirectionOf]) -> Optional[str]:
    """The rule's own direction, else the caller's (config `metrics.direction` and name heuristics)."""
    better = rule.better()
    if better is None and direction_of is not None:
        better = direction_of(rule.metric)
    return better if better in ("higher", "lower") else None


def no_champion_result(rule: Rule, index: Optional[int], check: str, text: str, challenger: Optional[float],
                       on_no_champion: str) -> RuleResult:
    """A check that needs a champion when there is none: pass or fail as `gate.on_no_champion` says."""
    ok = on_no_champion == "pass"
    reason = "no champion yet" if ok else "no champion yet (gate.on_no_champion: fail)"
    return RuleResult(rule.metric, check, text, None, challenger, None, ok, reason, skipped=ok, rule_index=index,
                      direction=rule.better())


def describe(rule: Rule, check: str, direction: Optional[str]) -> str:
    """Human text of one check, in terms of the table's Δ (challenger − champion) column."""
    if check == "min":
        return f"≥ {fmt(rule.min)}"
    if check == "max":
        return f"≤ {fmt(rule.max)}"
    if check == "min_ratio":
        assert rule.min_ratio is not None
        return (f"≥ {fmt(rule.min_ratio)} × champion" if direction != "lower"
                else f"≤ champion / {fmt(rule.min_ratio)}")
    raw = rule.min_delta if check == "min_delta" else rule.max_regression
    assert raw is not None
    amount, relative = parse_amount(raw)
    if check == "max_regression":
        amount = -amount
    if direction == "lower":
        amount = -amount
    unit = "% of champion" if relative else ""
    shown = fmt_signed(amount * 100 if relative else amount)
    op = "≤" if direction == "lower" else "≥"
    label = "" if check == "min_delta" else " (max regression)"
    return f"Δ {op} {shown}{unit}{label}"


def evaluate_rule(rule: Rule, champion: Optional[Mapping[str, Any]], challenger: Mapping[str, Any], *,
                  index: Optional[int] = None, on_no_champion: str = "pass",
                  direction_of: Optional[DirectionOf] = None, precision: Optional[int] = None) -> list[RuleResult]:
    """The native checks of one rule (significance is evaluated elsewhere: it needs predictions).

    ``precision`` (``metrics.precision``) is how many decimals measured values get in the reasons;
    thresholds from the config are shown as written.
    """
    checks = [k for k in NATIVE_KEYS if getattr(rule, k) is not None]
    if not checks:
        return []
    direction = resolve_direction(rule, direction_of)
    texts = {c: describe(rule, c, direction) for c in checks}
    present, chall, problem = metric_value(challenger, rule.metric)
    shown: Optional[float] = None  # the champion's value, shown on every row for context
    if champion is not None:
        _, value, value_problem = metric_value(champion, rule.metric)
        shown = None if value_problem else value

    def row(check: str, passed: bool, reason: str, skipped: bool = False) -> RuleResult:
        usable = chall is not None and shown is not None and not problem
        delta = chall - shown if usable else None  # type: ignore[operator]
        return RuleResult(rule.metric, check, texts.get(check, "; ".join(texts.values())), shown, chall, delta,
                          passed, reason, skipped=skipped, rule_index=index, direction=direction)

    if not present:
        if rule.optional:
            return [row("missing", True, "missing from the challenger's metrics (optional: skipped)", skipped=True)]
        return [row("missing", False, "missing from the challenger's metrics")]
    if problem:
        return [row("invalid", False, f"challenger value {problem}")]
    assert chall is not None

    results: list[RuleResult] = []
    for check in checks:
        if check == "min":
            assert rule.min is not None
            ok = chall >= rule.min
            results.append(row(check, ok, f"{fmt(chall, precision=precision)} {'≥' if ok else '<'} {fmt(rule.min)}"
                               + ("" if ok else " (floor)")))
            continue
        if check == "max":
            assert rule.max is not None
            ok = chall <= rule.max
            results.append(row(check, ok, f"{fmt(chall, precision=precision)} {'≤' if ok else '>'} {fmt(rule.max)}"
                               + ("" if ok else " (ceiling)")))
            continue
        if champion is None:
            results.append(no_champion_result(rule, index, check, texts[check], chall, on_no_champion))
            continue
        if direction is None:
            results.append(row(check, False, f"direction unknown for '{rule.metric}': set `direction: higher|lower` "
                               f"on the rule or in metrics.direction"))
            continue
        c_present, champ, c_problem = metric_value(champion, rule.metric)
        if not c_present:
            if rule.optional:
                results.append(row(check, True, "missing from the champion's metrics (optional: skipped)",
                                   skipped=True))
            else:
                results.append(row(check, False, "missing from the champion's metrics"))
            continue
        if c_problem:
            results.append(row(check, False, f"champion value {c_problem}"))
            continue
        assert champ is not None
        ok, reason = _compare(rule, check, direction, champ, chall, precision)
        results.append(row(check, ok, reason))
    return results


def _compare(rule: Rule, check: str, direction: str, champ: float, chall: float,
             precision: Optional[int] = None) -> tuple[bool, str]:
    """One comparative check on finite values: ``(passed, reason)``."""
    def num(value: float) -> str:
        return fmt(value, precision=precision)

    def signed(value: float) -> str:
        return fmt_signed(value, precision)

    higher = direction == "higher"
    improvement = chall - champ if higher else champ - chall
    delta = chall - champ
    if check == "min_ratio":
        k = rule.min_ratio
        assert k is not None
        if champ <= 0:
            return False, f"min_ratio needs a positive champion value, got {num(champ)}"
        ok = at_least(chall, k * champ) if higher else at_least(champ, k * chall)
        ratio = chall / champ
        need = f"≥ {fmt(k)}" if higher else f"≤ {fmt(1 / k)}"
        return ok, f"challenger/champion = {num(ratio)} {'meets' if ok else 'fails'} {need}"
    raw = rule.min_delta if check == "min_delta" else rule.max_regression
    assert raw is not None
    amount, relative = parse_amount(raw)
    required = amount * abs(champ) if relative else amount
    of = f" ({fmt(amount * 100)}% of {num(abs(champ))})" if relative else ""
    if check == "min_delta":
        ok = at_least(improvement, required)
        verb = "better" if improvement >= 0 else "worse"
        return ok, (f"Δ {signed(delta)}: {verb} by {num(abs(improvement))}, "
                    f"{'meets' if ok else 'short of'} required improvement {num(required)}{of}")
    regression = -improvement
    ok = at_least(required, regression)
    if regression <= 0:
        return ok, f"Δ {signed(delta)}: no regression (allowed {num(required)}{of})"
    return ok, (f"Δ {signed(delta)}: worse by {num(regression)}, "
                f"{'within' if ok else 'beyond'} allowed regression {num(required)}{of}")


def evaluate_rules(rules: Sequence[Rule], champion: Optional[Mapping[str, Any]], challenger: Mapping[str, Any], *,
                   on_no_champion: str = "pass", direction_of: Optional[DirectionOf] = None,
                   precision: Optional[int] = None) -> list[RuleResult]:
    """Every native check of every rule, in config order."""
    results: list[RuleResult] = []
    for i, rule in enumerate(rules):
        results.extend(evaluate_rule(rule, champion, challenger, index=i, on_no_champion=on_no_champion,
                                     direction_of=direction_of, precision=precision))
    return results
