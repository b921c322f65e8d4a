"""The verdict: fail-closed evaluation, stable JSON, bounded Markdown, annotation batches."""

import json

import pytest

from mlops_ci.gate.config import GateConfig
from mlops_ci.gate.evaluate import ChallengerData, ChampionData, evaluate_gate
from mlops_ci.gate.results import RuleResult
from mlops_ci.gate.verdict import (SUMMARY_LIMIT, GateVerdict, annotation_specs, batch_annotations, headline,
                                   render_markdown)

ISSUE_RULES = {"rules": [
    {"metric": "auc", "direction": "higher", "min_delta": 0.02},
    {"metric": "latency_p95_ms", "direction": "lower", "max": 50, "max_regression": "10%"},
]}
CHAMPION = ChampionData({"auc": 0.80, "latency_p95_ms": 40.0}, "MLflow model `churn` alias champion (version 3)")


def test_better_model_passes_worse_fails_with_reasons():
    good = evaluate_gate(ISSUE_RULES, CHAMPION, ChallengerData({"auc": 0.83, "latency_p95_ms": 41.0}, "PR #7"))
    assert good.conclusion == "success" and good.exit_code == 0
    assert good.title == "Gate passed: 3 of 3 checks passed (vs MLflow model `churn` alias champion (version 3))"
    bad = evaluate_gate(ISSUE_RULES, CHAMPION, ChallengerData({"auc": 0.81, "latency_p95_ms": 55.0}, "PR #8"))
    assert bad.conclusion == "failure" and bad.exit_code == 1
    assert bad.title.startswith("Gate failed: 3 of 3 checks — auc:")
    assert {(r.metric, r.check) for r in bad.failures} == {("auc", "min_delta"), ("latency_p95_ms", "max"),
                                                           ("latency_p95_ms", "max_regression")}


def test_nothing_to_gate_and_disabled_are_neutral_not_missing():
    v = evaluate_gate(GateConfig(), CHAMPION, ChallengerData({"auc": 1}))
    assert v.conclusion == "neutral" and "Nothing to gate" in v.title and v.passed
    v = evaluate_gate({"enabled": False, **ISSUE_RULES}, CHAMPION, ChallengerData({}))
    assert v.conclusion == "neutral" and "disabled" in v.title


def test_all_checks_skipped_with_a_champion_is_neutral():
    cfg = {"rules": [{"metric": "auc", "min": 0.5, "optional": True}]}
    v = evaluate_gate(cfg, CHAMPION, ChallengerData({}))
    assert v.conclusion == "neutral" and "skipped" in v.title


def test_any_exception_fails_closed_with_the_reason():
    def broken(metric):
        raise RuntimeError("metrics.direction lookup exploded")

    cfg = {"rules": [{"metric": "auc", "min_delta": 0.01}]}
    v = evaluate_gate(cfg, CHAMPION, ChallengerData({"auc": 0.9}), direction_of=broken)
    assert v.conclusion == "failure" and v.title.startswith("Gate error: RuntimeError")
    assert "exploded" in v.error and v.champion_source == CHAMPION.source
    assert "fails closed" in render_markdown(v)


def test_unreadable_metrics_object_fails_closed():
    from collections.abc import Mapping

    class Exploding(Mapping):
        def __getitem__(self, key):
            raise OSError("metrics.json vanished")

        def __iter__(self):
            raise OSError("metrics.json vanished")

        def __len__(self):
            return 1

    v = evaluate_gate(ISSUE_RULES, ChampionData(Exploding(), "base branch metrics (main@abc123)"),
                      ChallengerData({"auc": 1}))
    assert v.conclusion == "failure" and "vanished" in v.title


def test_bad_config_is_not_swallowed():
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        evaluate_gate({"rules": [{"metric": "auc", "max_regression": "ten percent"}]}, None, ChallengerData({}))


def test_json_round_trip_is_stable_and_strict():
    v = evaluate_gate(ISSUE_RULES, CHAMPION, ChallengerData({"auc": float("nan"), "latency_p95_ms": 45.0}, "PR"))
    data = v.to_dict()
    text = json.dumps(data, allow_nan=False)  # NaN became null
    assert list(data)[:4] == ["schema", "conclusion", "title", "champion_source"]
    again = GateVerdict.from_dict(json.loads(text))
    assert again.to_dict() == data and again.conclusion == v.conclusion
    assert v.to_json() == again.to_json()
    assert GateVerdict.from_dict({**data, "future_key": 1, "results": [{**data["results"][0], "new": 2}]}).results
    with pytest.raises(ValueError, match="newer"):
        GateVerdict.from_dict({**data, "schema": 99})


def test_markdown_table_has_every_rule_and_failures_first():
    v = evaluate_gate(ISSUE_RULES, CHAMPION, ChallengerData({"auc": 0.83, "latency_p95_ms": 52.0}))
    md = render_markdown(v)
    assert md.startswith(headline(v)) and headline(v).startswith("## ❌ Gate failed")
    assert "**Champion:** MLflow model `churn` alias champion (version 3)" in md
    assert "| champion | challenger | Δ |" in md
    lines = [line for line in md.splitlines() if line.startswith("| ❌") or line.startswith("| ✅")]
    assert len(lines) == 3 and lines[0].startswith("| ❌ | `latency_p95_ms` | ≤ 50 ")
    assert "| 0.8 | 0.83 | +0.03 |" in md


def test_pipes_and_newlines_in_names_do_not_break_the_table():
    v = GateVerdict.from_results([RuleResult("a|b\nc", "min", "≥ 1", None, 0.0, None, False, "x|y")],
                                 champion_source="none")
    row = [line for line in render_markdown(v).splitlines() if line.startswith("| ❌")][0]
    assert "a\\|b c" in row and "x\\|y" in row


def test_five_thousand_rules_stay_under_the_check_run_limit():
    rules = [{"metric": f"metric_{i:04d}_" + "x" * 40, "direction": "higher", "min": 0.5,
              "min_delta": "1%"} for i in range(5000)]
    champion = {r["metric"]: 0.7 for r in rules}
    challenger = {r["metric"]: (0.6 if i % 7 == 0 else 0.72) for i, r in enumerate(rules)}
    v = evaluate_gate({"rules": rules}, ChampionData(champion, "base branch metrics (main@abc123)"),
                      ChallengerData(challenger))
    assert len(v.results) == 10_000 and v.conclusion == "failure"
    md = render_markdown(v)
    assert len(md) <= SUMMARY_LIMIT and md.startswith(headline(v))
    assert "… and " in md and "more checks" in md
    shown = [line for line in md.splitlines() if line.startswith("| ❌") or line.startswith("| ✅")]
    assert shown and all(line.startswith("| ❌") for line in shown)  # failures come first
    assert len(render_markdown(v, limit=4000)) <= 4000


def test_many_significance_and_fairness_entries_are_bounded_too():
    from mlops_ci.gate.results import FairnessResult, SignificanceResult

    sig = [SignificanceResult(f"m{i}", "auc", "bootstrap", "improvement", 0.05, 100, 0.7, 0.71, 0.01, -0.01, 0.03,
                              0.95, False, "not significant " * 5) for i in range(3000)]
    fair = [FairnessResult(f"g{i}", 0.8, 0.5, False, "too low " * 10) for i in range(3000)]
    v = GateVerdict.from_results([RuleResult("m", "min", "≥ 1", None, 0.0, None, False, "r")] * 3000,
                                 champion_source="c", significance=sig, fairness=fair)
    md = render_markdown(v)
    assert len(md) <= SUMMARY_LIMIT and "### Statistical significance" in md and "### Fairness" in md
    assert md.count("… and ") == 3


def test_error_verdict_is_bounded_even_with_a_huge_traceback():
    v = GateVerdict.from_error("boom\n" + "trace line\n" * 50_000)
    assert len(render_markdown(v)) <= SUMMARY_LIMIT and v.title == "Gate error: boom"


def test_annotations_point_at_metric_and_param_lines():
    v = evaluate_gate(ISSUE_RULES, CHAMPION, ChallengerData({"auc": 0.81, "latency_p95_ms": 55.0}))
    specs = annotation_specs(v, {"auc": ("metrics.json", 2), "latency_p95_ms": ("metrics.json", 7)},
                             {"train.n_estimators": ("params.yaml", 4)})
    assert [(s["path"], s["start_line"], s["annotation_level"]) for s in specs] == [
        ("metrics.json", 2, "failure"), ("metrics.json", 7, "failure"), ("params.yaml", 4, "warning")]
    assert set(specs[0]) == {"path", "start_line", "end_line", "annotation_level", "message", "title"}
    assert "latency_p95_ms ≤ 50" in specs[1]["message"] and "max regression" in specs[1]["message"]
    assert "auc, latency_p95_ms" in specs[2]["message"]
    passing = evaluate_gate(ISSUE_RULES, CHAMPION, ChallengerData({"auc": 0.9, "latency_p95_ms": 40.0}))
    assert annotation_specs(passing, {"auc": ("metrics.json", 2)}, {"p": ("params.yaml", 1)}) == []


def test_annotations_batch_fifty_per_request():
    results = [RuleResult(f"m{i}", "min", "≥ 1", None, 0.0, None, False, "too low") for i in range(120)]
    v = GateVerdict.from_results(results, champion_source="c")
    specs = annotation_specs(v, {f"m{i}": ("metrics.json", i + 1) for i in range(120)})
    batches = batch_annotations(specs)
    assert [len(b) for b in batches] == [50, 50, 20]
    assert [s["start_line"] for b in batches for s in b] == list(range(1, 121))
    assert batch_annotations([]) == []
    long = annotation_specs(GateVerdict.from_results(
        [RuleResult("m" * 400, "min", "≥ 1", None, 0.0, None, False, "r" * 10_000)], champion_source="c"),
        {"m" * 400: ("metrics.json", 0)})[0]
    assert len(long["title"]) <= 255 and len(long["message"]) <= 4000 and long["start_line"] == 1


def test_public_api_is_importable_from_the_package():
    import mlops_ci.gate as gate

    assert gate.evaluate_gate is evaluate_gate and gate.GateConfig is GateConfig
    assert gate.annotation_specs is annotation_specs
    from mlops_ci.gate.verdict import annotations  # the name `mlops-ci gate` imports

    assert annotations is annotation_specs and gate.annotations is annotation_specs
    with pytest.raises(AttributeError):
        gate.nope  # noqa: B018


def test_table_honours_metrics_precision_and_never_writes_scientific_notation():
    rules = {"rules": [{"metric": "size", "direction": "lower", "max": 50_000_000.0},
                       {"metric": "di", "direction": "higher", "max_regression": 0.001}]}
    v = evaluate_gate(rules, ChampionData({"size": 150764, "di": 0.983327}, "champion"),
                      ChallengerData({"size": 116185, "di": 0.98337529}), precision=4)
    md = render_markdown(v)
    assert "| ✅ | `size` | ≤ 50,000,000 | 150,764 | 116,185 | -34,579 | 116,185 ≤ 50,000,000 |" in md
    assert "| 0.9833 | 0.9834 | +0.00005 | Δ +0.00005: no regression (allowed 0.001) |" in md
    assert "e+" not in md and "e-0" not in md
    assert GateVerdict.from_dict(json.loads(v.to_json())).precision == 4  # the report renders it the same later
