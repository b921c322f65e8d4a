import json

import pytest

from mlops_ci.errors import BadInput
from mlops_ci.plot_render import Series, confusion_table, mermaid_xychart, png_confusion, png_lines
from mlops_ci.plots import confusion_counts, default_y, numeric_series, parse_rows, plot_specs

PIPELINE = {
    "stages": {"evaluate": {"cmd": "x", "plots": ["eval/importance.csv", {"eval/pr.json": {"x": "recall", "y": "precision"}}]}},
    "plots": [
        {"eval/plots/roc.json": {"x": "fpr", "y": "tpr", "template": "simple", "title": "ROC"}},
        {"eval/plots/confusion.csv": {"template": "confusion", "x": "actual", "y": "predicted"}},
        {"Precision-Recall": {"x": "recall", "y": {"eval/a.json": "precision", "eval/b.json": ["precision"]}}},
        "eval/loss.tsv",
    ],
}


def test_plot_specs_cover_all_dvc_forms():
    specs = {s.id: s for s in plot_specs(PIPELINE)}
    assert specs["eval/plots/roc.json"].y == {"eval/plots/roc.json": ["tpr"]}
    assert specs["eval/plots/roc.json"].x == "fpr" and specs["eval/plots/roc.json"].title == "ROC"
    assert specs["eval/plots/confusion.csv"].is_confusion
    assert specs["Precision-Recall"].files == ["eval/a.json", "eval/b.json"]
    assert specs["eval/loss.tsv"].y == {"eval/loss.tsv": []}
    assert "eval/pr.json" in specs and specs["eval/pr.json"].x == "recall"
    assert specs["Precision-Recall"].slug == "precision-recall"


def test_rows_from_every_format():
    records = [{"fpr": 0, "tpr": 0}, {"fpr": 1, "tpr": 1}]
    assert parse_rows(json.dumps(records).encode(), "a.json") == records
    assert parse_rows(json.dumps({"roc": records}).encode(), "a.json") == records
    assert parse_rows(json.dumps({"fpr": [0, 1], "tpr": [0, 1]}).encode(), "a.json") == records
    assert parse_rows(b"fpr,tpr\n0,0\n1,1\n", "a.csv") == [{"fpr": "0", "tpr": "0"}, {"fpr": "1", "tpr": "1"}]
    assert parse_rows(b"- {fpr: 0, tpr: 0}\n", "a.yaml") == [{"fpr": 0, "tpr": 0}]
    with pytest.raises(BadInput, match="a.json: expected a list of records"):
        parse_rows(b'{"a": 1, "b": 2}', "a.json")


def test_numeric_series_and_defaults():
    rows = [{"step": "1", "loss": "0.5"}, {"step": "2", "loss": "bad"}, {"step": "3", "loss": "0.3"}]
    assert numeric_series(rows, "step", "loss") == ([1.0, 3.0], [0.5, 0.3])
    assert numeric_series(rows, None, "loss") == ([0.0, 2.0], [0.5, 0.3])
    assert default_y(rows, "step") == ["loss"]


def test_mermaid_chart_resamples_both_sides_onto_one_grid():
    spec = plot_specs(PIPELINE)[0]
    base = Series("main: tpr", [0, 0.5, 1], [0, 0.6, 1], "base")
    head = Series("PR: tpr", [0, 0.2, 1], [0, 0.7, 1], "head")
    text = mermaid_xychart(spec, [base, head], points=5)
    assert text.startswith("```mermaid") and "xychart-beta" in text
    assert 'x-axis "fpr" 0 --> 1' in text and text.count("    line [") == 2
    assert "line [0, 0.3, 0.6, 0.8, 1]" in text  # base at 0, .25, .5, .75, 1
    assert "#9e9e9e, #1f77b4" in text and "grey: main: tpr" in text
    assert mermaid_xychart(spec, [Series("x", [1], [1], "head")]) == ""


def test_confusion_table_shows_head_counts_and_change():
    rows_base = [{"actual": a, "predicted": p} for a, p in [(0, 0), (0, 0), (1, 0), (1, 1)]]
    rows_head = [{"actual": a, "predicted": p} for a, p in [(0, 0), (0, 0), (1, 1), (1, 1)]]
    base, head = confusion_counts(rows_base, "actual", "predicted"), confusion_counts(rows_head, "actual", "predicted")
    text = confusion_table(base, head, "main", "PR")
    assert "| **1** | 0 (-1) | 2 (+1) |" in text
    assert "| **0** | 2 | 0 |" in text


def test_png_output_is_a_png():
    spec = plot_specs(PIPELINE)[0]
    data = png_lines(spec, [Series("PR", [0, 1], [0, 1], "head")])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    conf = png_confusion(plot_specs(PIPELINE)[1], [("main", {("0", "0"): 3}), ("PR", {("0", "0"): 2, ("1", "0"): 1})])
    assert conf[:4] == b"\x89PNG"
