"""The `gate:` section: validation messages a person can act on, and a light import."""

import subprocess
import sys

import pytest
from pydantic import ValidationError

from mlops_ci.gate.config import GateConfig, Rule, parse_amount, resolve_metric_fn


def error_text(data) -> str:
    with pytest.raises(ValidationError) as info:
        GateConfig.model_validate(data)
    return str(info.value)


def test_issue_example_parses_with_defaults():
    cfg = GateConfig.model_validate({"rules": [
        {"metric": "auc", "direction": "higher", "min_delta": 0.02},
        {"metric": "latency_p95_ms", "direction": "lower", "max": 50, "max_regression": "10%"},
    ]})
    assert cfg.mode == "native" and cfg.on_no_champion == "pass"
    assert cfg.rules[1].max_regression == "10%"
    assert parse_amount(cfg.rules[1].max_regression) == (0.1, True)
    assert parse_amount(cfg.rules[0].min_delta) == (0.02, False)
    assert cfg.significance.resamples == 2000 and cfg.predictions.id == "row_id"


@pytest.mark.parametrize("text, expected", [("1%", 0.01), (" 2.5 % ", 0.025), ("-1%", -0.01), (".5%", 0.005)])
def test_percentages(text, expected):
    value, relative = parse_amount(text)
    assert relative and value == pytest.approx(expected)


def test_percentage_in_words_says_what_is_expected():
    msg = error_text({"rules": [{"metric": "auc", "direction": "higher", "max_regression": "ten percent"}]})
    assert "max_regression" in msg and "percentage" in msg and '"1%"' in msg and "'ten percent'" in msg


@pytest.mark.parametrize("rule, needle", [
    ({"metric": "auc"}, "checks nothing"),
    ({"metric": "auc", "min": 0.9, "max": 0.8}, "min (0.9) is above max (0.8)"),
    ({"metric": "auc", "max_regression": -0.1}, "max_regression must be >= 0"),
    ({"metric": "auc", "min": True}, "boolean"),
    ({"metric": "auc", "min": float("nan")}, "finite"),
    ({"metric": "auc", "direction": "sideways", "min": 0.5}, "direction"),
    ({"metric": "auc", "mni": 0.5}, "mni"),
    ({"metric": "auc", "min_ratio": 0}, "min_ratio"),
    ({"metric": "auc", "direction": "lower", "greater_is_better": True, "min": 1}, "contradicts"),
])
def test_rule_errors(rule, needle):
    assert needle in error_text({"rules": [rule]})


def test_mlflow_keys_in_native_mode_point_to_the_mode_and_equivalents():
    msg = error_text({"rules": [{"metric": "auc", "threshold": 0.8, "greater_is_better": True}]})
    assert "gate.mode: mlflow" in msg and "threshold -> min/max" in msg and "rules[0]" in msg


def test_native_keys_in_mlflow_mode():
    msg = error_text({"mode": "mlflow", "rules": [{"metric": "auc", "min_delta": 0.1, "greater_is_better": True}]})
    assert "native-mode keys" in msg and "min_delta" in msg


@pytest.mark.parametrize("rule, needle", [
    ({"metric": "auc", "threshold": 0.8}, "greater_is_better"),
    ({"metric": "auc", "greater_is_better": True, "threshold": 0.8, "optional": True}, "optional"),
    ({"metric": "auc", "greater_is_better": True, "min_relative_change": 1.5}, "less than or equal to 1"),
    ({"metric": "auc", "greater_is_better": True, "min_absolute_change": 0}, "greater than 0"),
])
def test_mlflow_mode_mirrors_metric_threshold_constructor(rule, needle):
    assert needle in error_text({"mode": "mlflow", "rules": [rule]})


def test_mlflow_mode_accepts_direction_as_greater_is_better_and_int_relative_change():
    cfg = GateConfig.model_validate({"mode": "mlflow", "rules": [
        {"metric": "loss", "direction": "lower", "min_relative_change": 1}]})
    assert cfg.rules[0].better() == "lower" and cfg.rules[0].min_relative_change == 1.0


def test_significance_shorthand_and_metric_fn_inference():
    cfg = GateConfig.model_validate({"rules": [
        {"metric": "eval.roc_auc", "direction": "higher", "significance": "improvement"},
        {"metric": "accuracy", "significance": {"test": "mcnemar", "require": "no_regression", "alpha": 0.01}},
        {"metric": "custom", "significance": {"metric_fn": "log_loss"}},
    ]})
    assert cfg.rules[0].significance.metric_fn == "auc"
    assert cfg.rules[1].significance.metric_fn == "accuracy" and cfg.rules[1].significance.alpha == 0.01
    assert cfg.rules[2].significance.metric_fn == "log_loss"


@pytest.mark.parametrize("rule, needle", [
    ({"metric": "custom_score", "significance": "improvement"}, "metric_fn is required"),
    ({"metric": "auc", "significance": {"test": "mcnemar", "metric_fn": "auc"}}, "accuracy only"),
    ({"metric": "auc", "direction": "lower", "significance": "improvement"}, "higher-is-better"),
    ({"metric": "auc", "significance": "better"}, "improvement"),
    ({"metric": "auc", "significance": {"alpha": 0.7}}, "alpha"),
])
def test_significance_errors(rule, needle):
    assert needle in error_text({"rules": [rule]})


def test_fairness_single_mapping_is_a_list_and_defaults_to_four_fifths():
    cfg = GateConfig.model_validate({"fairness": {"group_column": "segment"}})
    assert cfg.fairness[0].min_ratio == 0.8 and not cfg.is_empty()
    assert GateConfig().is_empty()


def test_metric_fn_names():
    assert resolve_metric_fn("test/accuracy_score") == "accuracy"
    assert resolve_metric_fn("rmse") == "rmse"
    assert resolve_metric_fn("latency_p95_ms") is None


def test_json_schema_has_descriptions_and_validates_an_example():
    import jsonschema

    schema = GateConfig.model_json_schema()
    rule = schema["$defs"]["Rule"]["properties"]
    assert "percentage" in rule["max_regression"]["description"]
    assert all("description" in p for name, p in rule.items()), "every rule key is documented for editors"
    example = {"rules": [{"metric": "auc", "direction": "higher", "min_delta": 0.02, "max_regression": "1%"}],
               "fairness": [{"group_column": "segment"}]}
    jsonschema.validate(example, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"rules": [{"metric": "auc", "max_regression": "ten percent"}]}, schema)


def test_rule_check_order():
    rule = Rule(metric="x", direction="higher", min=0, min_delta=0.1, significance={"metric_fn": "auc"})
    assert rule.checks() == ["min", "min_delta", "significance"]


def test_config_module_imports_only_pydantic():
    code = ("import sys, mlops_ci.gate.config, mlops_ci.gate.verdict, mlops_ci.gate.evaluate; "
            "print(sorted(m for m in ('numpy', 'scipy', 'pandas', 'mlflow', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
