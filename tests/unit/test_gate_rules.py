"""Native rules: each check kind, relative amounts, missing metrics, no champion; monotone and symmetric."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_ci.gate.config import GateConfig, Rule
from mlops_ci.gate.evaluate import ChallengerData, ChampionData, evaluate_gate
from mlops_ci.gate.rules import evaluate_rule, evaluate_rules


def run(rule: dict, champion, challenger, **kw):
    return evaluate_rule(Rule.model_validate(rule), champion, challenger, index=0, **kw)


def one(rule: dict, champion, challenger, **kw):
    results = run(rule, champion, challenger, **kw)
    assert len(results) == 1, results
    return results[0]


@pytest.mark.parametrize("value, ok", [(0.79, False), (0.8, True), (0.81, True)])
def test_min_floor(value, ok):
    r = one({"metric": "auc", "min": 0.8}, None, {"auc": value})
    assert r.passed is ok and r.check == "min" and r.rule == "≥ 0.8" and not r.skipped


@pytest.mark.parametrize("value, ok", [(49.9, True), (50, True), (50.1, False)])
def test_max_ceiling(value, ok):
    r = one({"metric": "latency_p95_ms", "max": 50}, {"latency_p95_ms": 10}, {"latency_p95_ms": value})
    assert r.passed is ok and r.champion == 10  # the champion is shown for context
    assert ("ceiling" in r.reason) is not ok


@pytest.mark.parametrize("direction, champ, chall, ok", [
    ("higher", 0.80, 0.83, True), ("higher", 0.80, 0.81, False), ("higher", 0.80, 0.78, False),
    ("lower", 40, 30, True), ("lower", 40, 39.99, False), ("lower", 40, 45, False),
])
def test_min_delta_absolute(direction, champ, chall, ok):
    r = one({"metric": "m", "direction": direction, "min_delta": 0.02 if direction == "higher" else 5},
            {"m": champ}, {"m": chall})
    assert r.passed is ok
    assert r.delta == pytest.approx(chall - champ) and r.champion == champ and r.challenger == chall


def test_exact_improvements_pass_despite_float_rounding():
    # 0.85 - 0.80 == 0.04999999999999993 in floats; MLflow mode fails this, native mode must not
    assert one({"metric": "auc", "direction": "higher", "min_delta": 0.05}, {"auc": 0.80}, {"auc": 0.85}).passed
    assert one({"metric": "auc", "direction": "higher", "min_delta": "5%"}, {"auc": 0.80}, {"auc": 0.84}).passed
    assert one({"metric": "lat", "direction": "lower", "max_regression": 0.1}, {"lat": 0.2}, {"lat": 0.3}).passed
    assert not one({"metric": "auc", "direction": "higher", "min_delta": 0.05}, {"auc": 0.80}, {"auc": 0.8499}).passed


def test_min_delta_relative_uses_champion_magnitude():
    rule = {"metric": "r2", "direction": "higher", "min_delta": "10%"}
    assert one(rule, {"r2": 0.5}, {"r2": 0.56}).passed
    assert not one(rule, {"r2": 0.5}, {"r2": 0.54}).passed
    # negative champion: 10% of |-0.5| = 0.05 improvement needed, still in the better direction
    assert one(rule, {"r2": -0.5}, {"r2": -0.44}).passed
    assert not one(rule, {"r2": -0.5}, {"r2": -0.46}).passed
    assert "10% of 0.5" in one(rule, {"r2": -0.5}, {"r2": -0.46}).reason


def test_negative_min_delta_tolerates_a_small_loss():
    rule = {"metric": "auc", "direction": "higher", "min_delta": -0.01}
    assert one(rule, {"auc": 0.8}, {"auc": 0.795}).passed
    assert not one(rule, {"auc": 0.8}, {"auc": 0.785}).passed


@pytest.mark.parametrize("allowance, chall, ok", [
    ("10%", 43.9, True), ("10%", 44.0, True), ("10%", 44.1, False), (5, 45, True), (5, 45.5, False),
    ("0%", 40, True), ("0%", 40.01, False),
])
def test_max_regression_lower_is_better(allowance, chall, ok):
    r = one({"metric": "lat", "direction": "lower", "max_regression": allowance}, {"lat": 40.0}, {"lat": chall})
    assert r.passed is ok, r.reason


def test_max_regression_higher_is_better_relative():
    rule = {"metric": "auc", "direction": "higher", "max_regression": "1%"}
    assert one(rule, {"auc": 0.9}, {"auc": 0.8911}).passed
    assert not one(rule, {"auc": 0.9}, {"auc": 0.8909}).passed
    assert "no regression" in one(rule, {"auc": 0.9}, {"auc": 0.95}).reason


def test_max_regression_with_zero_champion_relative_means_no_regression_at_all():
    rule = {"metric": "errors", "direction": "lower", "max_regression": "50%"}
    assert one(rule, {"errors": 0}, {"errors": 0}).passed
    assert not one(rule, {"errors": 0}, {"errors": 1}).passed


@pytest.mark.parametrize("direction, champ, chall, ok", [
    ("higher", 0.80, 0.792, True), ("higher", 0.80, 0.791, False),
    ("lower", 100, 101, True), ("lower", 100, 102, False),
])
def test_min_ratio(direction, champ, chall, ok):
    r = one({"metric": "m", "direction": direction, "min_ratio": 0.99}, {"m": champ}, {"m": chall})
    assert r.passed is ok, r.reason


def test_min_ratio_needs_a_positive_champion():
    r = one({"metric": "m", "direction": "higher", "min_ratio": 0.99}, {"m": 0.0}, {"m": 1.0})
    assert not r.passed and "positive champion" in r.reason


def test_one_result_per_check_in_config_order():
    results = run({"metric": "lat", "direction": "lower", "max": 50, "max_regression": "10%", "min_ratio": 0.9},
                  {"lat": 40}, {"lat": 42})
    assert [r.check for r in results] == ["max", "max_regression", "min_ratio"]
    assert all(r.passed for r in results) and all(r.rule_index == 0 for r in results)


def test_missing_on_challenger_fails_with_reason_unless_optional():
    r = one({"metric": "auc", "min": 0.5, "min_delta": 0.1, "direction": "higher"}, {"auc": 0.8}, {})
    assert not r.passed and r.check == "missing" and "challenger" in r.reason
    assert r.rule == "≥ 0.5; Δ ≥ +0.1"
    r = one({"metric": "auc", "min": 0.5, "optional": True}, {"auc": 0.8}, {})
    assert r.passed and r.skipped and "optional" in r.reason


def test_missing_on_champion_fails_comparisons_only():
    results = run({"metric": "auc", "direction": "higher", "min": 0.5, "min_delta": 0.01}, {"other": 1}, {"auc": 0.9})
    assert [(r.check, r.passed) for r in results] == [("min", True), ("min_delta", False)]
    assert "champion" in results[1].reason
    results = run({"metric": "auc", "direction": "higher", "min_delta": 0.01, "optional": True}, {}, {"auc": 0.9})
    assert results[0].passed and results[0].skipped


@pytest.mark.parametrize("policy, ok", [("pass", True), ("fail", False)])
def test_no_champion_follows_policy_but_floors_still_apply(policy, ok):
    results = run({"metric": "auc", "direction": "higher", "min": 0.7, "min_delta": 0.02}, None, {"auc": 0.6},
                  on_no_champion=policy)
    assert [r.passed for r in results] == [False, ok]
    assert "no champion yet" in results[1].reason and results[1].skipped is ok


@pytest.mark.parametrize("value, needle", [(float("nan"), "finite"), (math.inf, "finite"), ("high", "not a number"),
                                           (None, "not a number")])
def test_non_finite_or_non_numeric_values_fail(value, needle):
    r = one({"metric": "auc", "min": 0.5}, None, {"auc": value})
    assert not r.passed and needle in r.reason
    r = run({"metric": "auc", "direction": "higher", "min_delta": 0.1}, {"auc": value}, {"auc": 0.9})[0]
    assert not r.passed and needle in r.reason


def test_booleans_count_as_0_and_1_like_the_metrics_parser():
    assert one({"metric": "converged", "min": 1}, None, {"converged": True}).passed


def test_direction_from_caller_and_unknown_direction():
    rule = {"metric": "val_loss", "min_delta": 0.1}
    r = one(rule, {"val_loss": 1.0}, {"val_loss": 0.8}, direction_of=lambda m: "lower" if "loss" in m else None)
    assert r.passed and r.rule == "Δ ≤ -0.1"
    r = one(rule, {"val_loss": 1.0}, {"val_loss": 0.8})
    assert not r.passed and "direction unknown" in r.reason


def test_gate_level_no_champion_title_and_policy():
    rule = {"metric": "auc", "direction": "higher", "min": 0.7, "min_delta": 0.02}
    cfg = GateConfig.model_validate({"rules": [rule]})
    verdict = evaluate_gate(cfg, None, ChallengerData({"auc": 0.8}))
    assert verdict.conclusion == "success" and "no champion yet" in verdict.title
    assert verdict.champion_source == "no champion yet"
    cfg = cfg.model_copy(update={"on_no_champion": "fail"})
    assert evaluate_gate(cfg, None, ChallengerData({"auc": 0.8})).conclusion == "failure"


# -- properties ---------------------------------------------------------------------------------------

METRICS = ["m0", "m1", "m2"]
values = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
amount = st.one_of(st.floats(0, 10, allow_nan=False), st.sampled_from(["0%", "1%", "10%", "50%"]))


@st.composite
def native_rule(draw, metric, *, ratio=True, monotone_bounds=True):
    direction = draw(st.sampled_from(["higher", "lower"]))
    rule = {"metric": metric, "direction": direction, "optional": draw(st.booleans())}
    if draw(st.booleans()):
        bound = draw(values)
        if monotone_bounds:  # floors go with higher-is-better, ceilings with lower-is-better
            rule["min" if direction == "higher" else "max"] = bound
        else:
            rule[draw(st.sampled_from(["min", "max"]))] = bound
    if draw(st.booleans()):
        rule["min_delta"] = draw(st.one_of(st.floats(-5, 5, allow_nan=False), st.sampled_from(["-1%", "2%", "0%"])))
    if draw(st.booleans()):
        rule["max_regression"] = draw(amount)
    if ratio and draw(st.booleans()):
        rule["min_ratio"] = draw(st.floats(0.01, 2))
    if len(rule) == 3:
        rule["min_delta"] = 0.0
    return rule


@st.composite
def scenario(draw, **kw):
    rules = [draw(native_rule(m, **kw)) for m in draw(st.lists(st.sampled_from(METRICS), min_size=1, max_size=4))]
    champion = draw(st.one_of(st.none(), st.dictionaries(st.sampled_from(METRICS), values)))
    worse = draw(st.dictionaries(st.sampled_from(METRICS), values))
    policy = draw(st.sampled_from(["pass", "fail"]))
    return rules, champion, worse, policy


def outcome(rules, champion, challenger, policy):
    return evaluate_rules([Rule.model_validate(r) for r in rules], champion, challenger, on_no_champion=policy)


@settings(max_examples=300, deadline=None)
@given(scenario(), st.data())
def test_monotone_a_better_challenger_never_fails_where_a_worse_one_passes(case, data):
    rules, champion, worse, policy = case
    directions = {r["metric"]: r["direction"] for r in rules}
    better = {}
    for metric, value in worse.items():
        step = data.draw(st.floats(0, 100, allow_nan=False))
        # a metric under rules of both directions can only stay equal to be "at least as good" for all
        direction = {r["direction"] for r in rules if r["metric"] == metric}
        if len(direction) > 1:
            step = 0.0
        better[metric] = value + step if directions.get(metric, "higher") == "higher" else value - step
    before = outcome(rules, champion, worse, policy)
    after = outcome(rules, champion, better, policy)
    assert len(before) == len(after)
    for b, a in zip(before, after):
        assert a.passed or not b.passed, (b, a)


def _mirror(rule):
    """A lower-is-better rule as the same rule on the negated metric, higher-is-better."""
    out = dict(rule, direction="higher")
    out.pop("min", None)
    out.pop("max", None)
    if "max" in rule:
        out["min"] = -rule["max"]
    if "min" in rule:
        out["max"] = -rule["min"]
    return out


@settings(max_examples=300, deadline=None)
@given(scenario(ratio=False, monotone_bounds=False))
def test_direction_symmetry_negating_a_lower_metric_and_flipping_direction(case):
    rules, champion, challenger, policy = case
    lower = [dict(r, direction="lower") for r in rules]
    mirrored = [_mirror(r) for r in lower]
    neg = lambda d: None if d is None else {k: -v for k, v in d.items()}  # noqa: E731
    a = outcome(lower, champion, challenger, policy)
    b = outcome(mirrored, neg(champion), neg(challenger), policy)
    swap = {"min": "max", "max": "min"}
    assert sorted((r.metric, swap.get(r.check, r.check), r.passed) for r in a) == \
        sorted((r.metric, r.check, r.passed) for r in b)
    cfg = lambda rs: GateConfig.model_validate({"rules": rs, "on_no_champion": policy})  # noqa: E731
    champ = lambda d: None if d is None else ChampionData(d, "c")  # noqa: E731
    assert evaluate_gate(cfg(lower), champ(champion), ChallengerData(challenger)).conclusion == \
        evaluate_gate(cfg(mirrored), champ(neg(champion)), ChallengerData(neg(challenger))).conclusion
