import json

import pytest

from mlops_ci import render
from mlops_ci.errors import BadInput
from mlops_ci.metrics import diff_metrics, direction_for, flatten, parse_metrics


@pytest.mark.parametrize("path, content", [
    ("m.json", b'{"auc": 0.9, "eval": {"f1": 0.5, "loss": 1}}'),
    ("m.yaml", b"auc: 0.9\neval:\n  f1: 0.5\n  loss: 1\n"),
    ("m.yml", b"auc: 0.9\neval: {f1: 0.5, loss: 1}\n"),
    ("m.toml", b'auc = 0.9\n[eval]\nf1 = 0.5\nloss = 1\n'),
])
def test_formats_flatten_nested_keys(path, content):
    assert parse_metrics(content, path) == {"auc": 0.9, "eval.f1": 0.5, "eval.loss": 1.0}


def test_csv_and_tsv():
    assert parse_metrics(b"auc,f1\n0.9,0.5\n", "m.csv") == {"auc": 0.9, "f1": 0.5}
    assert parse_metrics(b"auc\tf1\n0.9\t0.5\n", "m.tsv") == {"auc": 0.9, "f1": 0.5}
    keyed = parse_metrics(b"split,auc\ntrain,0.95\ntest,0.9\n", "m.csv")
    assert keyed == {"train.auc": 0.95, "test.auc": 0.9}
    indexed = parse_metrics(b"epoch,loss\n1,0.5\n2,0.4\n", "m.csv")
    assert indexed == {"0.epoch": 1.0, "0.loss": 0.5, "1.epoch": 2.0, "1.loss": 0.4}


def test_lists_and_booleans():
    assert parse_metrics(b'{"a": [1, 2]}', "m.json") == {"a.0": 1.0, "a.1": 2.0}
    with pytest.raises(BadInput, match="metric 'ok' is a boolean; expected a number"):  # not silently 1.0
        parse_metrics(b'{"a": [1, 2], "ok": true}', "m.json")
    assert parse_metrics(b'{"a": 1, "ok": true}', "m.json", ignore=["ok"]) == {"a": 1.0}


@pytest.mark.parametrize("path, content, fragment", [
    ("m.json", b'{"auc": 0.9,', "m.json:1: not valid JSON"),
    ("m.json", b'{"auc": NaN}', "m.json: metric 'auc' is NaN; expected a finite number"),
    ("m.json", b'{"auc": Infinity}', "metric 'auc' is Infinity"),
    ("m.json", b'{"model": "xgb"}', "metric 'model' is a string; expected a number"),  # never the value
    ("m.json", b'{"auc": null}', "metric 'auc' is empty (null)"),
    ("m.yaml", b"auc: .nan\n", "expected a finite number"),
    ("m.json", b'[1, 2]', "expected an object"),
    ("m.toml", b'auc = ', "not valid TOML"),
    ("m.json", b'\xff\xfe{', "not UTF-8"),
])
def test_bad_metrics_name_the_file_and_key(path, content, fragment):
    with pytest.raises(BadInput) as info:
        parse_metrics(content, path)
    assert fragment in info.value.render()
    assert info.value.exit_code == 2


def test_ignore_skips_non_numeric_fields():
    assert parse_metrics(b'{"auc": 0.9, "model": "xgb"}', "m.json", ignore=["model"]) == {"auc": 0.9}


def test_direction_config_then_heuristics():
    assert direction_for("auc", {}) == "higher"
    assert direction_for("val_loss", {}) == "lower"
    assert direction_for("latency_p95_ms", {}) == "lower"
    assert direction_for("coverage", {}) is None
    assert direction_for("coverage", {"cov*": "higher"}) == "higher"
    assert direction_for("auc", {"auc": "lower"}) == "lower"


def test_diff_statuses_and_changes():
    old = {"m.json": {"auc": 0.80, "loss": 0.5, "same": 1.0, "gone": 3.0, "zero": 0.0}}
    new = {"m.json": {"auc": 0.85, "loss": 0.6, "same": 1.0, "new": 2.0, "zero": 1.0}}
    diff = diff_metrics(old, new, base_label="main", head_label="pr", precision=4)
    by_name = {c.name: c for c in diff.changes}
    assert by_name["auc"].status == "improved"
    assert by_name["auc"].abs_change == pytest.approx(0.05)
    assert by_name["auc"].rel_change == pytest.approx(0.0625)
    assert by_name["loss"].status == "regressed"
    assert by_name["same"].status == "unchanged"
    assert by_name["gone"].status == "removed" and by_name["new"].status == "added"
    assert by_name["zero"].rel_change is None  # no relative change from zero
    assert [c.name for c in diff.regressions] == ["loss"]
    payload = json.loads(json.dumps(diff.to_dict()))
    assert payload["base"] == "main" and len(payload["metrics"]) == 6


def test_a_slower_timing_is_noisy_not_a_regression_that_counts():
    """A latency measured on a shared runner moves with the neighbours' load: shown, marked, not counted."""
    from mlops_ci.render import headline, metrics_table

    old = {"m.json": {"auc": 0.85, "latency_p95_ms": 1.10, "train_seconds": 40.0}}
    new = {"m.json": {"auc": 0.86, "latency_p95_ms": 1.45, "train_seconds": 38.0}}
    diff = diff_metrics(old, new, base_label="main", head_label="pr")
    by_name = {c.name: c for c in diff.changes}
    assert by_name["latency_p95_ms"].status == "regressed" and by_name["latency_p95_ms"].noisy
    assert not by_name["auc"].noisy
    assert diff.regressions == [] and [c.name for c in diff.noisy_regressions] == ["latency_p95_ms"]
    table = metrics_table(diff)
    assert "⏱️ latency_p95_ms (noisy)" in table and "⏱️ train_seconds (noisy)" in table
    assert "does not make this report warn" in table and "🔴" not in table
    assert headline(diff) == "3 of 3 metrics changed: 2 improved, 1 noisy timing slower."

    strict = diff_metrics(old, new, base_label="main", head_label="pr", noisy=[])
    assert [c.name for c in strict.regressions] == ["latency_p95_ms"]
    assert "noisy" not in metrics_table(strict) and "1 regressed" in headline(strict)


def test_precision_decides_unchanged():
    diff = diff_metrics({"m": {"auc": 0.80001}}, {"m": {"auc": 0.80002}}, base_label="a", head_label="b", precision=4)
    assert diff.changes[0].status == "unchanged"
    diff = diff_metrics({"m": {"auc": 0.80001}}, {"m": {"auc": 0.80002}}, base_label="a", head_label="b", precision=6)
    assert diff.changes[0].status == "improved"


def test_values_disambiguate_duplicate_names():
    diff = diff_metrics({"a.json": {"auc": 1}, "b.json": {"auc": 2, "f1": 3}}, {}, base_label="x", head_label="y")
    assert diff.values("old") == {"a.json:auc": 1, "b.json:auc": 2, "f1": 3}


def test_markdown_table_and_limits():
    old = {"m.json": {f"m{i:04d}": float(i) for i in range(5000)}}
    new = {"m.json": {f"m{i:04d}": float(i) * (1.5 if i % 2 else 1) for i in range(5000)}}
    diff = diff_metrics(old, new, base_label="main", head_label="pr")
    text = render.metrics_table(diff, limit=20)
    assert text.count("\n| ") == 20 and "… and 4980 more" in text
    # the biggest relative changes are the ones kept
    assert "m4999" in text or "m0001" in text
    full = render.metrics_table(diff, only_changed=True)
    assert full.count("\n| ") == 2500  # the odd ones changed
    assert render.headline(diff).startswith("2500 of 5000 metrics changed")


def test_table_escapes_pipes():
    diff = diff_metrics({"m": {"a|b": 1}}, {"m": {"a|b": 2}}, base_label="x", head_label="y")
    assert "a\\|b" in render.metrics_table(diff)


def test_flatten():
    assert flatten({"a": {"b": {"c": 1}}, "d": [5]}) == {"a.b.c": 1, "d.0": 5}


def test_a_non_finite_value_under_an_ignored_key_is_fine():
    assert parse_metrics(b'{"auc": 0.9, "debug": {"ratio": NaN}}', "m.json", ignore=["debug.*"]) == {"auc": 0.9}
