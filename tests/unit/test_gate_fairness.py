"""Four-fifths rule on a group column of the per-example predictions."""

import numpy as np
import pytest

from mlops_ci.gate.config import FairnessRule, GateConfig, PredictionColumns
from mlops_ci.gate.evaluate import ChallengerData, ChampionData, evaluate_gate
from mlops_ci.gate.fairness import disparate_impact, evaluate_fairness

COLS = PredictionColumns()


def table(groups_and_selected):
    """[(group, n_rows, n_selected), …] -> columnar predictions."""
    group, pred = [], []
    for g, n, k in groups_and_selected:
        group += [g] * n
        pred += [1] * k + [0] * (n - k)
    return {"row_id": np.arange(len(group)), "y_pred": np.array(pred), "segment": np.array(group)}


@pytest.mark.parametrize("selected_b, ok", [(40, True), (39, False), (50, True)])
def test_four_fifths_boundary(selected_b, ok):
    # a selects 50/100, b selects selected_b/100: ratio = selected_b / 50
    result = evaluate_fairness(FairnessRule(group_column="segment"), table([("a", 100, 50), ("b", 100, selected_b)]),
                               COLS)
    assert result.passed is ok
    assert result.ratio == pytest.approx(selected_b / 50)
    assert result.worst_group == ("b" if selected_b < 50 else "a")
    assert result.rates == {"a": 0.5, "b": selected_b / 100} and result.counts == {"a": 100, "b": 100}


def test_configurable_ratio_and_small_groups_ignored():
    data = table([("a", 100, 50), ("b", 100, 45), ("tiny", 3, 0)])
    strict = evaluate_fairness(FairnessRule(group_column="segment", min_ratio=0.95), data, COLS)
    assert not strict.passed  # tiny (rate 0) counts: ratio 0
    assert strict.ratio == 0
    ignored = evaluate_fairness(FairnessRule(group_column="segment", min_ratio=0.85, min_group_size=10), data, COLS)
    assert ignored.passed and ignored.ratio == pytest.approx(0.9) and ignored.ignored_groups == ["tiny"]
    assert "not compared" in ignored.reason


def test_nobody_selected_is_ratio_one_and_one_group_is_nothing_to_compare():
    assert disparate_impact({"a": 0.0, "b": 0.0})[0] == 1.0
    res = evaluate_fairness(FairnessRule(group_column="segment"), table([("a", 10, 0), ("b", 10, 0)]), COLS)
    assert res.passed and res.ratio == 1.0 and "no group is selected" in res.reason
    res = evaluate_fairness(FairnessRule(group_column="segment"), table([("a", 10, 5)]), COLS)
    assert res.passed and res.ratio is None and "nothing to compare" in res.reason


def test_selection_from_scores_when_no_prediction_column():
    data = {"row_id": np.arange(4), "y_score": np.array([0.9, 0.1, 0.8, 0.7]), "segment": np.array(list("aabb"))}
    res = evaluate_fairness(FairnessRule(group_column="segment"), data, COLS)
    assert res.rates == {"a": 0.5, "b": 1.0} and not res.passed


def test_matches_the_example_projects_metric():
    """examples/churn/src/evaluate.py::disparate_impact: min rate / max rate over np.unique groups."""
    rng = np.random.default_rng(0)
    groups = rng.choice(["consumer", "smb", "enterprise"], 1000)
    pred = (rng.random(1000) < np.where(groups == "smb", 0.3, 0.4)).astype(int)
    rates = [pred[groups == g].mean() for g in np.unique(groups)]
    expected = min(rates) / max(rates)
    res = evaluate_fairness(FairnessRule(group_column="segment"), {"row_id": np.arange(1000), "y_pred": pred,
                                                                  "segment": groups}, COLS)
    assert res.ratio == pytest.approx(expected, rel=1e-12)


def test_through_the_gate_with_champion_ratio_and_fail_closed_on_missing_column():
    cfg = GateConfig.model_validate({"fairness": [{"group_column": "segment"}]})
    champ = table([("a", 100, 50), ("b", 100, 48)])
    chall = table([("a", 100, 50), ("b", 100, 30)])
    verdict = evaluate_gate(cfg, ChampionData({}, "c", champ), ChallengerData({}, "pr", chall))
    assert verdict.conclusion == "failure"
    row = verdict.results[0]
    assert row.check == "fairness" and row.metric == "disparate impact (segment)"
    assert row.challenger == pytest.approx(0.6) and row.champion == pytest.approx(0.96)
    assert verdict.fairness[0].worst_group == "b"

    cfg = GateConfig.model_validate({"fairness": [{"group_column": "region"}]})
    verdict = evaluate_gate(cfg, None, ChallengerData({}, "pr", chall))
    assert verdict.conclusion == "failure" and "no column 'region'" in verdict.failures[0].reason
    cfg = GateConfig.model_validate({"fairness": [{"group_column": "region", "optional": True}]})
    assert evaluate_gate(cfg, None, ChallengerData({}, "pr", chall)).results[0].skipped
    verdict = evaluate_gate(GateConfig.model_validate({"fairness": {"group_column": "segment"}}), None,
                            ChallengerData({}, "pr", None))
    assert verdict.conclusion == "failure" and "no per-example predictions" in verdict.failures[0].reason


def test_fairness_metric_from_the_metrics_file_is_a_plain_rule():
    cfg = GateConfig.model_validate({"rules": [{"metric": "fairness.disparate_impact", "min": 0.8}]})
    assert evaluate_gate(cfg, None, ChallengerData({"fairness.disparate_impact": 0.79})).conclusion == "failure"
    assert evaluate_gate(cfg, None, ChallengerData({"fairness.disparate_impact": 0.8})).conclusion == "success"
