"""Rendering: JSON shape, bounded Markdown, small standalone HTML, config validation."""

import json

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from mlops_ci.drift import html, markdown
from mlops_ci.drift.config import DriftConfig
from mlops_ci.drift.report import from_dict
from tests.unit.drift_helpers import drift_of


@pytest.fixture(scope="module")
def report():
    rng = np.random.default_rng(0)
    n = 20_000
    ref = pd.DataFrame({f"n{i}": rng.normal(0, 1, n) for i in range(6)} | {"cat": rng.choice(list("abc"), n)})
    cur = pd.DataFrame({f"n{i}": rng.normal(0.5 if i < 4 else 0, 1, n) for i in range(6)}
                       | {"cat": rng.choice(list("abc"), n, p=[0.6, 0.3, 0.1])})
    ref["odd | `name`"] = rng.normal(size=n)
    cur["odd | `name`"] = rng.normal(2, 1, n)
    return drift_of(ref, cur)


def test_json_has_the_documented_shape(report):
    data = json.loads(report.to_json())
    assert data["dataset_drift"] is True and data["drift_share"] == pytest.approx(6 / 8)
    assert data["n_tested"] == 8 and data["n_drifted"] == 6
    col = data["columns"][0]
    for key in ("name", "type", "test", "statistic", "p_value", "threshold", "drifted"):
        assert key in col
    assert col["drifted"] and col["p_value"] is None and col["test"] == "wasserstein"
    assert isinstance(data["contracts"], list)
    again = from_dict(data)
    assert again.n_drifted == report.n_drifted and again.drifted[0].name == report.drifted[0].name


def test_markdown_lists_the_worst_first_with_pictures_and_escapes_names(report):
    text = markdown.render(report, columns_shown=3, pictures=2)
    assert text.startswith("### 🔴 Data drift: **dataset drift** — 6 of 8 columns drifted")
    rows = [line for line in text.splitlines() if line.startswith("| `") or line.startswith("| ``")]
    assert rows[0].startswith("| `` odd \\| `name` `` |")  # the most drifted, escaped for a table cell
    assert "… and 3 more drifted column(s)" in text
    assert text.count("```text") == 2 and "ref ▁" in text and "cur " in text


def test_markdown_is_bounded(report):
    import dataclasses

    many = dataclasses.replace(report, columns=report.columns * 400)  # 3,200 columns
    text = markdown.render(many, max_chars=5000)
    assert len(text) <= 5000 and "drift" in text


def test_html_is_standalone_small_and_escaped(report):
    page = html.render(report)
    assert page.startswith("<!doctype html>") and "<script" not in page
    from mlops_ci.drift.report import ColumnDrift

    evil = html.render(type(report)(False, 0.0, 0.5, [ColumnDrift("<b>x</b>", None, None, status="skipped",
                                                                   reason="<script>")]))
    assert "<b>x</b>" not in evil and "&lt;b&gt;x&lt;/b&gt;" in evil and "&lt;script&gt;" in evil
    assert page.count("<svg") == len(report.columns)
    assert len(page.encode()) < 60_000


def test_drift_config_validation():
    cfg = DriftConfig.model_validate({"method": "auto", "columns": {"id_*": {"ignore": True}}, "drift_share": 0.3})
    assert cfg.thresholds.wasserstein == 0.1 and cfg.bins == 1000
    with pytest.raises(ValidationError):
        DriftConfig.model_validate({"method": "magic"})
    with pytest.raises(ValidationError):
        DriftConfig.model_validate({"drift_share": 0})
    with pytest.raises(ValidationError):
        DriftConfig.model_validate({"bins": 10})
    with pytest.raises(ValidationError):
        DriftConfig.model_validate({"unknown": 1})
    schema = DriftConfig.model_json_schema()
    assert "Evidently" in schema["properties"]["method"]["description"]


def test_display_range_stays_within_the_data():
    """The inline picture's axis spans the data, not the profile's far tail buckets (a regression)."""
    import numpy as np
    import pandas as pd

    from mlops_ci.drift.job import run_drift

    rng = np.random.default_rng(3)
    ref = pd.DataFrame({"charges": np.clip(rng.normal(65, 18, 5000), 15, 150)})
    cur = pd.DataFrame({"charges": np.clip(rng.normal(70, 18, 6000), 15, 150)})
    column = run_drift(ref, cur).columns[0]
    edges = column.histogram["edges"]
    assert 14 <= edges[0] and edges[-1] <= 151, edges[:3]


def test_markdown_labels_the_statistic_and_the_p_value():
    """Issue 14: "K-S p-value 0.151" printed the statistic; now each number has its own name."""
    rng = np.random.default_rng(5)
    report = drift_of(pd.DataFrame({"x": rng.normal(0, 1, 400)}), pd.DataFrame({"x": rng.normal(0.4, 1, 500)}))
    (col,) = report.columns
    assert col.test == "ks" and col.drifted and col.p_value < 0.05 < col.statistic
    text = markdown.render(report)
    assert f"— KS statistic {markdown.num(col.statistic)}, p-value {markdown.num(col.p_value)}" in text
    assert f"| KS | {markdown.num(col.statistic)} (p-value {markdown.num(col.p_value)}) |" in text
    assert "K-S p-value" not in text and "p=" not in text
    page = html.render(report)
    assert "p-value " in page and "p=" not in page


def test_a_forced_test_says_which_columns_it_did_not_test():
    """Issue 14: `--method ks` leaves categorical columns untested — in plain sight, not only in a fold."""
    from mlops_ci.drift.config import DriftConfig

    rng = np.random.default_rng(6)
    n = 3000
    ref = pd.DataFrame({"x": rng.normal(0, 1, n), "plan": rng.choice(list("abc"), n), "tier": rng.choice(list("xy"), n)})
    cur = pd.DataFrame({"x": rng.normal(1, 1, n), "plan": rng.choice(list("abc"), n), "tier": rng.choice(list("xy"), n)})
    report = drift_of(ref, cur, DriftConfig(method="ks"))
    skipped = {c.name: c for c in report.columns if c.status == "skipped"}
    assert set(skipped) == {"plan", "tier"} and all(c.test == "ks" for c in skipped.values())
    assert report.n_tested == 1 and report.columns[0].test == "ks"
    text = markdown.render(report)
    line = "⚠️ KS does not apply to 2 categorical column(s), not tested: `plan`, `tier`"
    assert line in text and text.index(line) < text.index("<details>")
    assert "⚠️" not in markdown.render(drift_of(ref, cur))  # the default rule tests every column
