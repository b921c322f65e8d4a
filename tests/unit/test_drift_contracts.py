"""Data contracts: native and Great Expectations-style checks, schema changes, severities."""

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pydantic import ValidationError

from mlops_ci.drift.config import ContractsConfig
from mlops_ci.drift.contracts import checks_from_config, dtype_matches, family
from tests.unit.drift_helpers import drift_of


def frames():
    rng = np.random.default_rng(0)
    n = 5000
    ref = pd.DataFrame({"id": np.arange(n), "age": rng.integers(18, 90, n).astype(float),
                        "plan": rng.choice(["basic", "pro"], n), "score": rng.normal(size=n),
                        "gone": rng.normal(size=n)})
    cur = ref.drop(columns=["gone"]).copy()
    cur.loc[:9, "age"] = [-1, 150, 151, 152, 153, 154, 155, 156, 157, 158]
    cur.loc[:4, "plan"] = "legacy"
    cur.loc[100:104, "id"] = 7  # duplicates
    cur.loc[200:299, "score"] = np.nan
    cur["extra"] = 1.0
    return ref, cur


def by_check(report):
    return {(r.check, r.column): r for r in report.contracts}


def test_native_column_checks_count_violations_with_examples():
    ref, cur = frames()
    contracts = ContractsConfig.model_validate({
        "row_count": {"min": 10, "max": 4000},
        "columns": {
            "age": {"min": 0, "max": 120, "dtype": "float"},
            "plan": {"allowed": ["basic", "pro"], "severity": "warn"},
            "id": {"unique": True, "nullable": False, "dtype": "integer"},
            "score": {"max_null_share": 0.01},
            "missing": {"required": True},
            "optional": {"required": False, "min": 0},
        }})
    report = drift_of(ref, cur, contracts=contracts)
    r = by_check(report)
    age = r[("between", "age")]
    assert not age.passed and age.violations == 10 and age.total == 5000
    assert age.examples[:2] == [-1.0, 158.0]  # the most extreme on each side
    plan = r[("in_set", "plan")]
    assert not plan.passed and plan.severity == "warn" and plan.violations == 5
    assert plan.examples == ["legacy"]  # five offenders, one distinct value
    ident = r[("unique", "id")]
    assert not ident.passed and ident.violations == 6 and ident.examples == [7.0]  # 5 new copies + the original 7
    assert r[("not_null", "id")].passed
    assert r[("dtype", "id")].passed and r[("dtype", "age")].passed
    score = r[("not_null", "score")]
    assert not score.passed and score.violations == 100
    assert not r[("exists", "missing")].passed
    assert r[("between", "optional")].passed  # not required: absence is fine
    rows = r[("row_count", None)]
    assert not rows.passed and "5,000 rows" in rows.message
    assert {c.column for c in report.contract_errors} >= {"age", "id", "score", "missing", "gone"}
    assert report.failed


def test_schema_changes_are_always_reported():
    ref, cur = frames()
    cur["age"] = cur["age"].astype(str)  # number -> string: a type change across families
    report = drift_of(ref, cur)
    r = by_check(report)
    assert r[("schema.missing_column", "gone")].severity == "error"
    assert r[("schema.new_column", "extra")].severity == "warn"
    change = r[("schema.dtype_change", "age")]
    assert change.severity == "error" and "different type family" in change.message
    age = next(c for c in report.columns if c.name == "age")
    assert age.status == "skipped" and "type changed" in age.reason
    ints = drift_of(ref.assign(k=1), cur.assign(k=1.5))  # int -> float: same family, a warning only
    assert by_check(ints)[("schema.dtype_change", "k")].severity == "warn"


def test_nan_and_inf_appearing_and_all_null_columns_are_reported():
    ref = pa.table({"x": np.arange(2000, dtype=float), "y": np.arange(2000, dtype=float)})
    x = np.arange(2000, dtype=float)
    x[:3] = [np.nan, np.inf, -np.inf]
    cur = pa.table({"x": x, "y": pa.nulls(2000, pa.float64())})
    report = drift_of(ref, cur)
    r = by_check(report)
    nf = r[("schema.non_finite", "x")]
    assert nf.violations == 3 and nf.severity == "warn" and "NaN" in nf.message
    assert r[("schema.all_null", "y")].severity == "warn"
    y = next(c for c in report.columns if c.name == "y")
    assert y.status == "skipped" and "no usable value" in y.reason
    assert next(c for c in report.columns if c.name == "x").status == "tested"  # on the finite values


def test_great_expectations_suite_items():
    ref, cur = frames()
    contracts = ContractsConfig.model_validate({"severity": "warn", "expectations": [
        {"expectation_type": "expect_column_values_to_be_between",
         "kwargs": {"column": "age", "min_value": 0, "max_value": 120, "mostly": 0.99}},
        {"expectation_type": "expect_column_values_to_be_in_set",
         "kwargs": {"column": "plan", "value_set": ["basic", "pro"]}, "meta": {"severity": "error"}},
        {"expectation_type": "expect_column_values_to_not_be_null", "kwargs": {"column": "score", "mostly": 0.95}},
        {"expectation_type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}},
        {"expectation_type": "expect_column_values_to_be_of_type", "kwargs": {"column": "plan", "type_": "string"}},
        {"expectation_type": "expect_column_to_exist", "kwargs": {"column": "nope"}},
    ]})
    results = [r for r in drift_of(ref, cur, contracts=contracts).contracts if r.source.startswith("contracts.exp")]
    assert [r.passed for r in results] == [True, False, True, True, True, False]
    assert [r.severity for r in results] == ["warn", "error", "warn", "warn", "warn", "warn"]


def test_contract_config_is_validated():
    with pytest.raises(ValidationError, match="unsupported expectation_type"):
        ContractsConfig.model_validate({"expectations": [{"expectation_type": "expect_magic", "kwargs": {}}]})
    with pytest.raises(ValidationError, match="needs kwargs value_set"):
        ContractsConfig.model_validate({"expectations": [{"expectation_type": "expect_column_values_to_be_in_set",
                                                          "kwargs": {"column": "a"}}]})
    with pytest.raises(ValidationError, match="min .* is greater than max"):
        ContractsConfig.model_validate({"columns": {"a": {"min": 3, "max": 1}}})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ContractsConfig.model_validate({"columns": {"a": {"minimum": 3}}})
    assert [c.kind for c in checks_from_config(ContractsConfig.model_validate({"columns": {"a": {}}}))] == ["exists"]


def test_dtype_families():
    assert family("int64") == "integer" and family("double") == "float" and family("large_string") == "string"
    assert family("dictionary<values=string, indices=int32, ordered=0>") == "string"
    assert dtype_matches("int32", "number") and dtype_matches("double", "float64")
    assert dtype_matches("dictionary<values=string, indices=int32, ordered=0>", "categorical")
    assert not dtype_matches("string", "integer")


def test_examples_are_distinct_in_order_up_to_the_limit():
    n = 3000
    ref = pd.DataFrame({"cat": ["x", "y"] * (n // 2), "v": np.linspace(0, 10, n)})
    cur = ref.copy()
    cur.loc[:9, "cat"] = ["z", "z", "z", "w", "z", "w", "a", "b", "c", "d"]  # 6 distinct offenders
    cur.loc[:11, "v"] = [-3.0, -3.0, -3.0, -2.0, -2.0, -1.0, 20.0, 20.0, 30.0, 30.0, 30.0, 40.0]
    contracts = ContractsConfig.model_validate({"columns": {"cat": {"allowed": ["x", "y"]},
                                                            "v": {"min": 0, "max": 15}}})
    r = by_check(drift_of(ref, cur, contracts=contracts))
    cat = r[("in_set", "cat")]
    assert cat.violations == 10 and cat.examples == ["z", "w", "a", "b", "c"]  # first seen first, at most 5
    v = r[("between", "v")]
    assert v.violations == 12 and v.examples == [-3.0, -2.0, -1.0, 40.0, 30.0]  # most extreme first, each once


def test_examples_stay_distinct_across_batches():
    from tests.unit.drift_helpers import current_of, profile_of

    ref = pd.DataFrame({"cat": ["x", "y"] * 1000})
    cur = pd.DataFrame({"cat": ["z", "x"] * 1000})
    contracts = ContractsConfig.model_validate({"columns": {"cat": {"allowed": ["x", "y"]}}})
    _, counters = current_of(cur, profile_of(ref), contracts, batch_rows=100)
    (counter,) = counters.values()
    assert counter.violations == 1000 and counter.examples == ["z"]


def test_unique_counts_duplicated_infinities_but_not_nan():
    n = 2000
    ref = pd.DataFrame({"k": np.arange(n, dtype=float)})
    contracts = ContractsConfig.model_validate({"columns": {"k": {"unique": True}}})
    cur = ref.copy()
    cur.loc[:9, "k"] = np.inf  # ten +inf: nine duplicates of the first, all ten counted as duplicated
    r = by_check(drift_of(ref, cur, contracts=contracts))[("unique", "k")]
    assert not r.passed and r.violations == 10 and r.total == n and r.to_dict()["examples"] == ["inf"]
    cur = ref.copy()
    cur.loc[:1, "k"] = [np.inf, -np.inf]  # one of each: distinct values, no duplicate
    assert by_check(drift_of(ref, cur, contracts=contracts))[("unique", "k")].passed
    k = np.arange(n, dtype=float)
    k[:10] = np.nan  # NaN is "no value", like a null: not counted, not a duplicate
    cur_nan = pa.table({"k": k})  # pandas would turn NaN into nulls on the way to Arrow
    assert cur_nan.column("k").null_count == 0
    r = by_check(drift_of(ref, cur_nan, contracts=contracts))[("unique", "k")]
    assert r.passed and r.total == n - 10


def test_large_string_is_not_a_type_change():
    """pandas writes text to Parquet as large_string; the same column from CSV reads as string."""
    plans = np.random.default_rng(3).choice(["basic", "pro"], 3000)
    ref = pa.table({"plan": pa.array(plans, pa.string())})
    cur = pa.table({"plan": pa.array(plans, pa.large_string())})
    assert not [r for r in drift_of(ref, cur).contracts if r.check == "schema.dtype_change"]
