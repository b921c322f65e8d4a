"""`mode: mlflow` agrees with MLflow's own `validate_evaluation_results`, quirks included."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_ci.gate.config import GateConfig
from mlops_ci.gate.evaluate import ChallengerData, ChampionData, evaluate_gate

mlflow = pytest.importorskip("mlflow")  # ~3 s, paid once for this module
from mlflow.models import MetricThreshold  # noqa: E402
from mlflow.models.evaluation import EvaluationResult  # noqa: E402


def mlflow_passes(rules: list[dict], candidate: dict, baseline) -> bool:
    thresholds = {}
    for r in rules:
        thresholds[r["metric"]] = MetricThreshold(
            threshold=r.get("threshold"), min_absolute_change=r.get("min_absolute_change"),
            min_relative_change=r.get("min_relative_change"), greater_is_better=r["greater_is_better"])
    try:
        mlflow.validate_evaluation_results(
            thresholds, EvaluationResult(candidate, {}),
            EvaluationResult(baseline, {}) if baseline is not None else None)
    except Exception:  # ModelValidationFailedException, or MLflow's own KeyError/TypeError crashes
        return False
    return True


def ours(rules: list[dict], candidate: dict, baseline, policy: str = "fail"):
    cfg = GateConfig.model_validate({"mode": "mlflow", "on_no_champion": policy, "rules": rules})
    champion = None if baseline is None else ChampionData(baseline, "baseline")
    return evaluate_gate(cfg, champion, ChallengerData(candidate))


def agree(rules, candidate, baseline):
    verdict = ours(rules, candidate, baseline)
    expected = mlflow_passes(rules, candidate, baseline)
    assert (verdict.conclusion == "success") is expected, (rules, candidate, baseline, verdict.results)
    return verdict


@pytest.mark.parametrize("rule, cand, base, ok", [
    ({"threshold": 0.8}, 0.8, 0.5, True),
    ({"threshold": 0.8}, 0.79, 0.5, False),
    ({"min_absolute_change": 0.05}, 0.86, 0.8, True),
    ({"min_absolute_change": 0.05}, 0.84, 0.8, False),
    ({"min_relative_change": 0.05}, 0.841, 0.8, True),
    ({"min_relative_change": 0.05}, 0.8399, 0.8, False),
    ({"min_relative_change": 0.05}, -0.95, -1.0, True),  # |baseline|: a negative R2 improving
])
def test_basic_checks_higher_is_better(rule, cand, base, ok):
    rules = [{"metric": "m", "greater_is_better": True, **rule}]
    assert (agree(rules, {"m": cand}, {"m": base}).conclusion == "success") is ok


def test_lower_is_better():
    rules = [{"metric": "loss", "greater_is_better": False, "threshold": 1.0, "min_absolute_change": 0.1}]
    assert agree(rules, {"loss": 0.5}, {"loss": 0.6}).conclusion == "success"
    assert agree(rules, {"loss": 0.55}, {"loss": 0.6}).conclusion == "failure"


def test_quirk_exact_improvements_can_fail_on_float_rounding():
    # 0.8 + 0.05 == 0.8500000000000001 and (0.84 - 0.8) / 0.8 == 0.0499999…: MLflow fails both, and so do we
    rules = [{"metric": "m", "greater_is_better": True, "min_absolute_change": 0.05}]
    assert agree(rules, {"m": 0.85}, {"m": 0.8}).conclusion == "failure"
    rules = [{"metric": "m", "greater_is_better": True, "min_relative_change": 0.05}]
    assert agree(rules, {"m": 0.84}, {"m": 0.8}).conclusion == "failure"


@pytest.mark.parametrize("cand, ok", [(0.0, False), (1e-10, True), (5e-11, False), (0.3, True)])
def test_quirk_zero_baseline_relative_change_only_needs_to_beat_by_1e_10(cand, ok):
    rules = [{"metric": "m", "greater_is_better": True, "min_relative_change": 0.5}]
    verdict = agree(rules, {"m": cand}, {"m": 0.0})
    assert (verdict.conclusion == "success") is ok
    assert "baseline is 0" in verdict.results[0].reason


def test_quirk_threshold_only_rule_fails_when_baseline_lacks_the_metric():
    rules = [{"metric": "a", "greater_is_better": True, "threshold": 0.5}]
    verdict = agree(rules, {"a": 0.9}, {"b": 1.0})
    assert verdict.conclusion == "failure" and "KeyError" in verdict.failures[0].reason
    # ...but not when the baseline has no metrics at all
    assert agree(rules, {"a": 0.9}, {}).conclusion == "success"


def test_quirk_zero_relative_change_with_no_baseline_metric_crashes_mlflow():
    rules = [{"metric": "a", "greater_is_better": True, "min_relative_change": 0.0}]
    verdict = agree(rules, {"a": 0.9}, {})
    assert verdict.conclusion == "failure" and "TypeError" in verdict.failures[0].reason


def test_missing_candidate_and_missing_baseline():
    rules = [{"metric": "a", "greater_is_better": True, "threshold": 0.5, "min_absolute_change": 0.1}]
    v = agree(rules, {}, {"a": 0.5})
    assert "candidate model" in v.failures[0].reason
    v = agree(rules, {"a": 0.9}, {})
    assert [(r.check, r.passed) for r in v.results] == [("threshold", True), ("min_absolute_change", False)]
    assert "baseline model" in v.failures[0].reason


def test_no_champion_policy_pass_skips_comparisons_but_keeps_thresholds():
    rules = [{"metric": "a", "greater_is_better": True, "threshold": 0.5, "min_absolute_change": 0.1}]
    v = ours(rules, {"a": 0.9}, None, policy="pass")
    assert v.conclusion == "success" and v.results[1].skipped and "no champion yet" in v.results[1].reason
    assert ours(rules, {"a": 0.4}, None, policy="pass").conclusion == "failure"
    assert agree(rules, {"a": 0.9}, None).conclusion == "failure"  # policy fail == MLflow with baseline_result=None


def test_nan_candidate_fails_closed_where_mlflow_would_pass():
    rules = [{"metric": "a", "greater_is_better": True, "min_relative_change": 0.1}]
    assert mlflow_passes(rules, {"a": float("nan")}, {"a": 0.5})  # MLflow: nan < 0.1 is False -> "passes"
    assert ours(rules, {"a": float("nan")}, {"a": 0.5}).conclusion == "failure"


NAMES = ["m0", "m1", "m2"]
number = st.one_of(
    st.sampled_from([0, 0.0, 1.0, -1.0, 0.5, 0.25, 2.0, 1e-10, -1e-10, 3]),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
)


@st.composite
def mlflow_rule(draw, metric):
    rule = {"metric": metric, "greater_is_better": draw(st.booleans())}
    if draw(st.booleans()):
        rule["threshold"] = draw(number)
    if draw(st.booleans()):
        rule["min_absolute_change"] = draw(st.one_of(st.sampled_from([0.5, 1.0, 0.25, 1e-10]),
                                                     st.floats(1e-9, 1e3, allow_nan=False)))
    if draw(st.booleans()) or len(rule) == 2:
        rule["min_relative_change"] = draw(st.one_of(st.sampled_from([0.0, 0.1, 0.5, 1.0]),
                                                     st.floats(0, 1, allow_nan=False)))
    return rule


@st.composite
def mlflow_case(draw):
    metrics = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
    rules = [draw(mlflow_rule(m)) for m in metrics]
    # each metric present on each side most of the time, so missing-metric paths and value paths both get hit
    candidate = {m: draw(number) for m in NAMES if draw(st.integers(0, 9)) < 8}
    baseline = None if draw(st.integers(0, 9)) < 2 else {m: draw(number) for m in NAMES if draw(st.integers(0, 9)) < 6}
    if baseline is not None and draw(st.booleans()):
        # values near each other: where the comparisons are decided by the last bit
        for k in list(baseline):
            if k in candidate:
                candidate[k] = baseline[k] + draw(st.sampled_from([0.0, 0.5, 1.0, -0.5, 1e-10, -1e-10]))
    for rule in rules:  # thresholds near the candidate's value half of the time
        if "threshold" in rule and rule["metric"] in candidate and draw(st.booleans()):
            rule["threshold"] = candidate[rule["metric"]] + draw(st.sampled_from([0.0, 1e-10, -1e-10, 0.5]))
    return rules, candidate, baseline


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mlflow_case())
def test_agrees_with_mlflow_validate_evaluation_results(case):
    rules, candidate, baseline = case
    agree(rules, candidate, baseline)
