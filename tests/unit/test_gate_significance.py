"""Paired bootstrap and McNemar: exact where they can be, reproducible, honest about coverage."""

import math
import time
from fractions import Fraction
from statistics import NormalDist

import numpy as np
import pytest

from mlops_ci.gate.config import GateConfig, PredictionColumns, SignificanceDefaults, SignificanceSpec
from mlops_ci.gate.evaluate import ChallengerData, ChampionData, evaluate_gate
from mlops_ci.gate.metricfns import point, prepare, weighted_auc
from mlops_ci.gate.predictions import PredictionsError, pair, to_columns
from mlops_ci.gate.significance import (MCNEMAR_EXACT_BELOW, decide, evaluate_significance, mcnemar,
                                        paired_bootstrap)

COLS = PredictionColumns()


def make_predictions(n=2000, seed=0, lift=0.0, rounding=4):
    """Binormal scores: AUC = Φ(mu/√2); the challenger's signal is `lift` stronger."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    a = 1 / (1 + np.exp(-(y * 1.0 + rng.normal(0, 1, n) - 0.5)))
    b = 1 / (1 + np.exp(-(y * (1.0 + lift) + rng.normal(0, 1, n) - 0.5)))
    ids = np.arange(n)
    champion = {"row_id": ids, "y_true": y, "y_score": a.round(rounding), "y_pred": (a >= 0.5).astype(int)}
    challenger = {"row_id": ids, "y_true": y, "y_score": b.round(rounding), "y_pred": (b >= 0.5).astype(int)}
    return champion, challenger


def exact_mcnemar(b: int, c: int) -> float:
    """Two-sided exact p-value by enumerating every outcome at least as extreme (Fractions, no scipy)."""
    n = b + c
    if n == 0:
        return 1.0
    probs = [Fraction(math.comb(n, k), 2 ** n) for k in range(n + 1)]
    observed = probs[b]
    return float(min(Fraction(1), sum(p for p in probs if p <= observed)))


@pytest.mark.parametrize("b, c", [(0, 0), (0, 1), (1, 1), (3, 9), (9, 3), (0, 12), (5, 6), (10, 14), (2, 20)])
def test_mcnemar_exact_below_25_matches_enumeration(b, c):
    p, method = mcnemar(b, c)
    assert p == pytest.approx(exact_mcnemar(b, c), rel=1e-12, abs=1e-15)
    assert ("exact" in method) or b + c == 0


def test_mcnemar_exact_and_chi2_match_scipy():
    from scipy import stats

    for b, c in [(3, 9), (7, 17), (0, 24)]:
        assert b + c < MCNEMAR_EXACT_BELOW
        assert mcnemar(b, c)[0] == pytest.approx(stats.binomtest(b, b + c, 0.5).pvalue, rel=1e-9)
    for b, c in [(20, 30), (100, 140), (1001, 893), (12, 13)]:
        p, method = mcnemar(b, c)
        stat = (abs(b - c) - 1) ** 2 / (b + c)
        assert "chi²" in method and p == pytest.approx(stats.chi2.sf(stat, 1), rel=1e-9)


def test_auc_matches_sklearn_with_ties_and_weights():
    from sklearn.metrics import roc_auc_score

    champion, _ = make_predictions(3000, rounding=2)  # heavy ties
    y, s = champion["y_true"], champion["y_score"]
    auc = weighted_auc(s, y)
    assert point(auc, len(y)) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    rng = np.random.default_rng(3)
    w = rng.integers(0, 4, len(y)).astype(float)
    rows = np.repeat(np.arange(len(y)), w.astype(int))
    assert auc(w[None, :])[0] == pytest.approx(roc_auc_score(y[rows], s[rows]), abs=1e-12)
    assert auc.draws(rows[None, :])[0] == pytest.approx(roc_auc_score(y[rows], s[rows]), abs=1e-12)


@pytest.mark.parametrize("fn", ["accuracy", "precision", "recall", "f1", "log_loss", "brier"])
def test_point_estimates_match_sklearn(fn):
    from sklearn import metrics

    champion, _ = make_predictions(1500)
    y, s, p = champion["y_true"], champion["y_score"], champion["y_pred"]
    expected = {"accuracy": metrics.accuracy_score(y, p), "precision": metrics.precision_score(y, p),
                "recall": metrics.recall_score(y, p), "f1": metrics.f1_score(y, p),
                "log_loss": metrics.log_loss(y, s), "brier": metrics.brier_score_loss(y, s)}[fn]
    assert point(prepare(fn, champion, COLS, "x"), len(y)) == pytest.approx(expected, rel=1e-9)


def test_regression_metrics():
    cols = {"row_id": np.arange(4), "y_true": np.array([1.0, 2, 3, 4]), "y_pred": np.array([1.5, 2, 2, 4])}
    assert point(prepare("mae", cols, COLS, "x"), 4) == pytest.approx(0.375)
    assert point(prepare("mse", cols, COLS, "x"), 4) == pytest.approx(0.3125)
    assert point(prepare("rmse", cols, COLS, "x"), 4) == pytest.approx(math.sqrt(0.3125))


@pytest.mark.parametrize("fn", ["accuracy", "auc", "f1", "log_loss"])
def test_bootstrap_is_reproducible_with_a_seed(fn):
    champion, challenger = make_predictions(800, lift=0.3)
    paired = pair(champion, challenger, COLS)
    spec = SignificanceSpec(metric_fn=fn, resamples=500, seed=7)
    first = evaluate_significance(fn, spec, SignificanceDefaults(), paired, COLS)
    again = evaluate_significance(fn, spec, SignificanceDefaults(), paired, COLS)
    other = evaluate_significance(fn, spec.model_copy(update={"seed": 8}), SignificanceDefaults(), paired, COLS)
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)
    assert (first.ci_low, first.ci_high) != (other.ci_low, other.ci_high)
    assert first.ci_low <= first.difference <= first.ci_high


def test_collapsed_rows_give_the_same_distribution_as_row_resampling():
    """Accuracy is bootstrapped over distinct joint rows (multinomial); compare with plain row resampling."""
    champion, challenger = make_predictions(4000, lift=0.2)
    paired = pair(champion, challenger, COLS)
    fast = evaluate_significance("accuracy", SignificanceSpec(metric_fn="accuracy", resamples=4000),
                                 SignificanceDefaults(), paired, COLS)
    a = prepare("accuracy", paired.champion, COLS, "a")
    b = prepare("accuracy", paired.challenger, COLS, "b")
    slow = paired_bootstrap(a, b, paired.n, resamples=4000, seed=1)
    assert fast.difference == pytest.approx(slow.difference, abs=1e-12)
    width = slow.high - slow.low
    assert fast.ci_low == pytest.approx(slow.low, abs=0.08 * width)
    assert fast.ci_high == pytest.approx(slow.high, abs=0.08 * width)


def test_bootstrap_coverage_of_a_known_accuracy_difference():
    """~95% of 95% intervals contain the true difference (0.75 − 0.70 = 0.05)."""
    rng = np.random.default_rng(42)
    n, trials, hits = 400, 200, 0
    for t in range(trials):
        y = np.ones(n, dtype=int)
        a = (rng.random(n) < 0.70).astype(int)
        b = (rng.random(n) < 0.75).astype(int)
        ids = np.arange(n)
        paired = pair({"row_id": ids, "y_true": y, "y_pred": a}, {"row_id": ids, "y_true": y, "y_pred": b}, COLS)
        r = evaluate_significance("accuracy", SignificanceSpec(metric_fn="accuracy", resamples=1000, seed=t),
                                  SignificanceDefaults(), paired, COLS)
        hits += r.ci_low <= 0.05 <= r.ci_high
    assert 0.89 <= hits / trials <= 0.99


def test_bootstrap_coverage_of_a_known_auc_difference():
    """Binormal model: AUC = Φ(mu/√2); the interval of the paired difference covers the truth ~95% of the time."""
    phi = NormalDist().cdf
    truth = phi(1.5 / math.sqrt(2)) - phi(1.0 / math.sqrt(2))
    rng = np.random.default_rng(5)
    n, trials, hits = 300, 80, 0
    for t in range(trials):
        y = rng.integers(0, 2, n)
        a, b = y * 1.0 + rng.normal(0, 1, n), y * 1.5 + rng.normal(0, 1, n)
        ids = np.arange(n)
        paired = pair({"row_id": ids, "y_true": y, "y_score": a}, {"row_id": ids, "y_true": y, "y_score": b}, COLS)
        r = evaluate_significance("auc", SignificanceSpec(metric_fn="auc", resamples=500, seed=t),
                                  SignificanceDefaults(), paired, COLS)
        hits += r.ci_low <= truth <= r.ci_high
    assert 0.85 <= hits / trials <= 1.0


def test_bootstrap_speed_10k_rows_2000_resamples():
    champion, challenger = make_predictions(10_000, lift=0.2, rounding=6)
    paired = pair(champion, challenger, COLS)
    timings = {}
    for fn in ("accuracy", "auc"):
        start = time.perf_counter()
        evaluate_significance(fn, SignificanceSpec(metric_fn=fn), SignificanceDefaults(), paired, COLS)
        timings[fn] = time.perf_counter() - start
    # generous bounds: the CI machine is shared; measured ~0.02 s and ~0.5 s on an idle core
    assert timings["accuracy"] < 0.5, timings
    assert timings["auc"] < 4.0, timings


@pytest.mark.parametrize("require, direction, low, high, ok", [
    ("improvement", "higher", 0.01, 0.05, True), ("improvement", "higher", -0.01, 0.05, False),
    ("improvement", "lower", -0.05, -0.01, True), ("improvement", "lower", -0.05, 0.0, False),
    ("no_regression", "higher", -0.05, 0.01, True), ("no_regression", "higher", -0.05, -0.01, False),
    ("no_regression", "lower", -0.01, 0.05, True), ("no_regression", "lower", 0.01, 0.05, False),
])
def test_decision_rule(require, direction, low, high, ok):
    assert decide(require, direction, low, high) is ok


def test_mcnemar_decision_through_the_gate():
    n = 200
    y = np.ones(n, dtype=int)
    champ = np.r_[np.ones(150), np.zeros(50)].astype(int)
    chall = np.r_[np.ones(150), np.ones(30), np.zeros(20)].astype(int)  # b=30, c=0
    ids = np.arange(n)
    cfg = GateConfig.model_validate({"rules": [{"metric": "accuracy", "significance": {"test": "mcnemar"}}]})
    verdict = evaluate_gate(cfg, ChampionData({}, "c", {"row_id": ids, "y_true": y, "y_pred": champ}),
                            ChallengerData({}, "pr", {"row_id": ids, "y_true": y, "y_pred": chall}))
    assert verdict.conclusion == "success", verdict.results
    sig = verdict.significance[0]
    assert sig.discordant == {"b": 30, "c": 0} and sig.p_value < 1e-6 and sig.difference == pytest.approx(0.15)
    assert sig.ci_low < 0.15 < sig.ci_high
    reverse = evaluate_gate(cfg, ChampionData({}, "c", {"row_id": ids, "y_true": y, "y_pred": chall}),
                            ChallengerData({}, "pr", {"row_id": ids, "y_true": y, "y_pred": champ}))
    assert reverse.conclusion == "failure" and "is not significant" in reverse.failures[0].reason


def test_significance_in_the_verdict_reports_the_interval():
    champion, challenger = make_predictions(3000, lift=0.6)
    cfg = GateConfig.model_validate({"rules": [{"metric": "auc", "direction": "higher", "min_delta": 0.0,
                                                "significance": {"require": "improvement", "resamples": 500}}]})
    verdict = evaluate_gate(cfg, ChampionData({"auc": 0.7}, "champ", champion),
                            ChallengerData({"auc": 0.75}, "pr", challenger))
    assert verdict.conclusion == "success", verdict.results
    sig = verdict.significance[0]
    assert sig.test == "bootstrap" and sig.resamples == 500 and sig.seed == 0 and 0 < sig.ci_low < sig.ci_high
    row = [r for r in verdict.results if r.check == "significance"][0]
    assert "95% CI" in row.reason and row.delta == sig.difference


def test_rows_are_joined_by_id_not_position():
    champion, challenger = make_predictions(500)
    shuffled = {k: v[::-1].copy() for k, v in challenger.items()}
    a = evaluate_significance("auc", SignificanceSpec(metric_fn="auc", resamples=200), SignificanceDefaults(),
                              pair(champion, challenger, COLS), COLS)
    b = evaluate_significance("auc", SignificanceSpec(metric_fn="auc", resamples=200), SignificanceDefaults(),
                              pair(champion, shuffled, COLS), COLS)
    assert (a.ci_low, a.ci_high, a.difference) == (b.ci_low, b.ci_high, b.difference)


@pytest.mark.parametrize("mutate, needle", [
    (lambda d: {k: v[:-3] for k, v in d.items()}, "not on the same rows"),
    (lambda d: {**d, "row_id": np.r_[d["row_id"][:-1], 0]}, "repeat"),
    (lambda d: {**d, "y_true": 1 - d["y_true"]}, "differs between champion and challenger"),
    (lambda d: {k: v for k, v in d.items() if k != "row_id"}, "no column 'row_id'"),
])
def test_rows_that_do_not_match_are_an_error(mutate, needle):
    champion, challenger = make_predictions(100)
    with pytest.raises(PredictionsError, match=needle):
        pair(champion, mutate(challenger), COLS)


def test_mismatched_rows_fail_the_significance_row_closed():
    champion, challenger = make_predictions(100)
    cfg = GateConfig.model_validate({"rules": [{"metric": "auc", "direction": "higher", "min_delta": 0,
                                                "significance": "improvement"}]})
    verdict = evaluate_gate(cfg, ChampionData({"auc": 0.7}, "c", champion),
                            ChallengerData({"auc": 0.8}, "pr", {k: v[:50] for k, v in challenger.items()}))
    assert verdict.conclusion == "failure"
    assert [r.check for r in verdict.failures] == ["significance"]
    assert "not on the same rows" in verdict.failures[0].reason


def test_missing_predictions_fail_unless_optional_and_no_champion_follows_policy():
    rule = {"metric": "auc", "direction": "higher", "significance": "improvement"}
    champion, challenger = make_predictions(100)
    cfg = GateConfig.model_validate({"rules": [rule]})
    v = evaluate_gate(cfg, ChampionData({"auc": 0.7}, "c"), ChallengerData({"auc": 0.8}, "pr", challenger))
    assert v.conclusion == "failure" and "champion has no per-example predictions" in v.failures[0].reason
    cfg = GateConfig.model_validate({"rules": [dict(rule, optional=True)]})
    v = evaluate_gate(cfg, ChampionData({"auc": 0.7}, "c"), ChallengerData({"auc": 0.8}, "pr", challenger))
    assert v.results[0].skipped
    v = evaluate_gate(cfg, None, ChallengerData({"auc": 0.8}, "pr", challenger))
    assert v.conclusion == "success" and v.results[0].reason == "no champion yet"


def test_table_shapes_are_accepted():
    pd = pytest.importorskip("pandas")
    records = [{"row_id": 1, "y_true": 1, "y_score": 0.9}, {"row_id": 2, "y_true": 0, "y_score": 0.2}]
    frame = pd.DataFrame(records)
    columnar = {"row_id": [1, 2], "y_true": [1, 0], "y_score": [0.9, 0.2]}
    structured = np.array([(1, 1, 0.9), (2, 0, 0.2)], dtype=[("row_id", int), ("y_true", int), ("y_score", float)])
    csv_strings = [{"row_id": "1", "y_true": "1", "y_score": "0.9"}, {"row_id": "2", "y_true": "0", "y_score": "0.2"}]
    for shape in (records, frame, columnar, structured, csv_strings):
        cols = to_columns(shape)
        assert list(cols["row_id"]) == [1, 2] and list(cols["y_score"]) == [0.9, 0.2]
    with pytest.raises(PredictionsError):
        to_columns([1, 2, 3])
    with pytest.raises(PredictionsError):
        to_columns({"a": [1, 2], "b": [1]})


def test_prediction_column_falls_back_to_score_threshold():
    ids = np.arange(4)
    cols = {"row_id": ids, "y_true": np.array([1, 0, 1, 0]), "y_score": np.array([0.9, 0.6, 0.4, 0.1])}
    assert point(prepare("accuracy", cols, COLS, "x"), 4) == 0.5
    assert point(prepare("accuracy", cols, COLS.model_copy(update={"threshold": 0.65}), "x"), 4) == 0.75


def test_auc_undefined_on_single_class_is_an_error():
    ids = np.arange(50)
    data = {"row_id": ids, "y_true": np.ones(50, dtype=int), "y_score": np.linspace(0, 1, 50)}
    with pytest.raises(ValueError, match="undefined"):
        evaluate_significance("auc", SignificanceSpec(metric_fn="auc", resamples=100), SignificanceDefaults(),
                              pair(data, data, COLS), COLS)


def test_empty_scores_are_an_error_not_a_silent_skew():
    champion, challenger = make_predictions(200)
    challenger["y_score"] = challenger["y_score"].astype(float)
    challenger["y_score"][5] = np.nan
    with pytest.raises(PredictionsError, match="1 empty or non-finite"):
        evaluate_significance("auc", SignificanceSpec(metric_fn="auc", resamples=100), SignificanceDefaults(),
                              pair(champion, challenger, COLS), COLS)
