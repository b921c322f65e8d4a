import json

import pytest

from mlops_ci.errors import BadInput
from mlops_ci.plot_png import label_color, png_confusion, png_lines
from mlops_ci.plot_render import (BACKGROUND, INK, PALETTE, Series, confusion_table, decimals, heading,
                                  mermaid_xychart, number, scale_exponent)
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
    assert 'x-axis "fpr" 0 --> 1' in text and text.count("    line \"") == 2
    assert 'line "main: tpr" [0, 0.3, 0.6, 0.8, 1]' in text  # base at 0, .25, .5, .75, 1
    assert '"plotColorPalette": "#0a3069, #2f81f7"' in text and '"showLegend": true' in text
    assert "dark blue line: main: tpr · blue line: PR: tpr" in text
    assert "title" not in text.split("xychart-beta")[1]  # the heading above names the chart; no repeat
    assert mermaid_xychart(spec, [Series("x", [1], [1], "head")]) == ""


def contrast(a: str, b: str) -> float:
    def lum(color: str) -> float:
        rgb = [int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b_ = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b_

    high, low = sorted((lum(a), lum(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_every_line_colour_stands_out_from_the_chart_and_from_its_other_side():
    assert contrast(INK, BACKGROUND) >= 7
    heads = []
    for head, base, head_name, base_name in PALETTE:
        assert contrast(head, BACKGROUND) >= 3 and contrast(base, BACKGROUND) >= 3, (head, base)
        assert contrast(head, base) >= 3, (head_name, base_name)
        heads.append(head)
    assert len(set(heads)) == len(PALETTE)  # one hue per field
    spec = plot_specs(PIPELINE)[0]
    two_fields = [Series(f"{side}: {f}", [0, 1], [0, 1], side, field=f) for f in ("train", "val")
                  for side in ("main", "PR")]
    for s in two_fields:
        s.side = "base" if s.label.startswith("main") else "head"
    text = mermaid_xychart(spec, two_fields)
    assert '"plotColorPalette": "#0a3069, #2f81f7, #3d1300, #d4650a"' in text  # 4 lines, 4 colours


def test_numbers_are_plain_decimals_scaled_by_powers_of_a_thousand():
    assert scale_exponent(0, 20000) == 0 and scale_exponent(0, 4e-5) == -6 and scale_exponent(-3e9, 1) == 9
    assert decimals(0, 1) == 3 and decimals(0, 20000) == 0 and decimals(0, 0.00004) == 8
    assert number(-0.0000001, 3) == "0" and number(20000.0, 0) == "20000" and number(0.5, 3) == "0.5"
    spec = plot_specs(PIPELINE)[0]
    text = mermaid_xychart(spec, [Series("PR: lr", [0, 1e9], [1e-5, 4e-5], "head")])
    assert 'x-axis "fpr (× 10⁹)" 0 --> 1' in text and 'y-axis "tpr (× 10⁻⁶)" 0 --> 40' in text
    assert "e+" not in text and "e-" not in text.replace("line", "")


def test_nan_and_infinity_are_left_out_and_said_so():
    spec = plot_specs(PIPELINE)[0]
    nan, inf = float("nan"), float("inf")
    text = mermaid_xychart(spec, [Series("main: v", [0, 1, 2, 3], [1.0, nan, 0.5, 0.4], "base"),
                                  Series("PR: v", [0, 1, 2, 3], [0.9, 0.7, 0.5, inf], "head"),
                                  Series("PR: w", [0, 1], [nan, 1.0], "head")], points=4)
    assert "nan" not in text.lower().replace("nan/", "") and "inf," not in text
    assert 'line "main: v" [1, 0.75, 0.5, 0.4]' in text  # interpolated over the finite points only
    assert "main: v: 1 NaN/infinite value(s) left out" in text
    assert "PR: w: not drawn (fewer than 2 finite points)" in text and text.count("    line ") == 2


def test_plot_headings_are_names_not_paths():
    specs = {s.id: s for s in plot_specs(PIPELINE)}
    assert heading(specs["eval/plots/roc.json"]) == "ROC"
    assert heading(specs["eval/plots/confusion.csv"]) == "confusion"


def test_confusion_table_shows_head_counts_and_change():
    rows_base = [{"actual": a, "predicted": p} for a, p in [(0, 0), (0, 0), (1, 0), (1, 1)]]
    rows_head = [{"actual": a, "predicted": p} for a, p in [(0, 0), (0, 0), (1, 1), (1, 1)]]
    base, head = confusion_counts(rows_base, "actual", "predicted"), confusion_counts(rows_head, "actual", "predicted")
    text = confusion_table(base, head, "main", "PR")
    assert "| **1** | 0 (-1) | 2 (+1) |" in text
    assert "| **0** | 2 | 0 |" in text


def test_confusion_change_between_holdouts_of_different_size_is_a_rate():
    base = {("0", "0"): 80, ("0", "1"): 20, ("1", "0"): 10, ("1", "1"): 90}  # 200 rows
    head = {("0", "0"): 160, ("0", "1"): 40, ("1", "0"): 30, ("1", "1"): 170}  # 400 rows: same rates for class 0
    text = confusion_table(base, head, "main", "PR")
    assert "| **0** | 160 | 40 |" in text  # twice the counts, same share: no change shown
    assert "| **1** | 30 (+5.0 pp) | 170 (-5.0 pp) |" in text
    assert "holdouts differ in size (200 rows at main, 400 at PR)" in text


def test_confusion_counts_are_readable_on_every_cell():
    assert label_color((0.03, 0.19, 0.42, 1.0)) == "white"  # Blues' darkest, #08306b
    assert label_color((0.97, 0.98, 1.0, 1.0)) == "black"


def test_png_output_is_a_png():
    spec = plot_specs(PIPELINE)[0]
    data = png_lines(spec, [Series("PR", [0, 1], [0, 1], "head")])
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    conf = png_confusion(plot_specs(PIPELINE)[1], [("main", {("0", "0"): 3}), ("PR", {("0", "0"): 2, ("1", "0"): 1})])
    assert conf[:4] == b"\x89PNG"
