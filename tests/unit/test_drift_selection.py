"""The `auto` rule picks Evidently's tests, and the verdicts match an exact (scipy, raw data) Evidently reference."""

import numpy as np
import pandas as pd
import pytest

from mlops_ci.drift.config import ColumnRule, DriftConfig, TypeRule
from mlops_ci.drift.selection import auto_method
from tests.unit.drift_helpers import drift_of
from tests.unit.drift_reference import evidently_verdicts


def dataset(n: int, seed: int, drift: bool) -> pd.DataFrame:
    """Mixed columns: shifted and stable numerics, low-cardinality ints, binary, categoricals, IDs."""
    rng = np.random.default_rng(seed)
    shift = 0.25 if drift else 0.0
    cat_p = [0.3, 0.5, 0.2] if drift else [0.5, 0.3, 0.2]
    return pd.DataFrame({
        "shifted": rng.normal(10 + shift * 3, 3, n),
        "stable": rng.gamma(2.0, 3.0, n),
        "wide_shift": rng.lognormal(0.5 * drift, 1.0, n),
        "few_float": rng.choice([0.0, 0.5, 1.0, 1.5], n, p=[0.4, 0.3, 0.2, 0.1] if not drift else [0.2, 0.3, 0.2, 0.3]),
        "small_int": rng.integers(0, 6 if not drift else 7, n),
        "many_int": rng.integers(0, 1000, n),
        "binary": rng.random(n) < (0.3 if not drift else 0.45),
        "plan": pd.Categorical(rng.choice(["a", "b", "c"], n, p=cat_p)),
        "region": rng.choice(["eu", "us", "apac", "latam"], n),
        "user_id": [f"u{seed}-{i}" for i in range(n)],
    })


@pytest.mark.parametrize("n_ref,n_cur", [(600, 400), (1000, 1500), (5000, 3000), (40_000, 20_000)])
@pytest.mark.parametrize("drift", [False, True])
def test_same_tests_and_verdicts_as_evidently(n_ref, n_cur, drift):
    ref = dataset(n_ref, 1, False)
    cur = dataset(n_cur, 2, drift)
    expected, dataset_drift = evidently_verdicts(ref, cur)
    report = drift_of(ref, cur)
    ours = {c.name: c for c in report.columns if c.status == "tested"}
    assert set(ours) == set(expected)  # user_id: > 50% distinct (Evidently: text) -> not tested
    for name, (method, score, drifted) in expected.items():
        col = ours[name]
        assert col.test == method, name
        assert col.drifted == drifted, (name, method, score, col.score)
        if method in ("jensenshannon", "chi2", "ztest"):  # value counts: exact
            assert col.score == pytest.approx(score, rel=1e-9, abs=1e-12), name
        elif method == "ks":
            assert col.score == pytest.approx(score, rel=1e-6, abs=1e-9), name  # small reference: exact
        else:
            assert col.score == pytest.approx(score, abs=0.003), name
    assert report.dataset_drift == dataset_drift
    skipped = {c.name: c.reason for c in report.columns if c.status != "tested"}
    assert "user_id" in skipped and "distinct" in skipped["user_id"]


def test_auto_rule_table():
    assert auto_method("numeric", 1000, None) == "ks"
    assert auto_method("numeric", 1000, 5) == "chi2"
    assert auto_method("numeric", 1000, 2) == "ztest"
    assert auto_method("categorical", 500, 3) == "chi2"
    assert auto_method("categorical", 500, 2) == "ztest"
    assert auto_method("numeric", 1001, None) == "wasserstein"
    assert auto_method("numeric", 1001, 5) == "jensenshannon"
    assert auto_method("numeric", 1001, 6) == "wasserstein"
    assert auto_method("categorical", 1001, 2) == "jensenshannon"


def test_overrides_per_column_per_type_and_globally():
    ref, cur = dataset(3000, 3, False), dataset(3000, 4, True)
    config = DriftConfig(
        method="psi",
        numeric=TypeRule(method="ks"),
        columns={"stable": ColumnRule(method="wasserstein", threshold=0.5), "wide_*": ColumnRule(ignore=True),
                 "many_int": ColumnRule(type="categorical")},
        ignore=["user_id"])
    report = drift_of(ref, cur, config)
    by = {c.name: c for c in report.columns}
    assert by["shifted"].test == "ks" and by["shifted"].p_value is not None  # type rule beats global
    assert by["stable"].test == "wasserstein" and by["stable"].threshold == 0.5  # column rule beats type
    assert by["region"].test == "psi"  # global method for categoricals
    assert by["wide_shift"].status == "ignored" and by["user_id"].status == "ignored"
    assert by["many_int"].status == "skipped" and "too many distinct" in by["many_int"].reason
    assert by["plan"].test == "psi" and by["plan"].drifted


def test_psi_on_numeric_bins_like_evidently_and_quantile_bins_on_request():
    ref, cur = dataset(20_000, 5, False), dataset(20_000, 6, True)
    from tests.unit.drift_reference import apply_test

    expected, _ = apply_test("psi", ref["shifted"], cur["shifted"], "num")
    report = drift_of(ref, cur, DriftConfig(method="psi"))
    col = next(c for c in report.columns if c.name == "shifted")
    assert col.statistic == pytest.approx(expected, rel=0.05)
    quantile = drift_of(ref, cur, DriftConfig.model_validate({"method": "psi", "psi": {"binning": "quantile",
                                                                                        "bins": 10}}))
    q = next(c for c in quantile.columns if c.name == "shifted")
    assert 0 < q.statistic < col.statistic * 1.5  # deciles: the textbook PSI
