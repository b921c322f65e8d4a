"""Every Mermaid chart the report can draw parses and shows every series, in mermaid 11 and 12, light and dark.

The charts are produced the way the report produces them — plot files (CSV) read through
``render_plots`` — from data drawn by Hypothesis: 1 to 100,000 points, values from 1e-9 to
1e9 in size, negative, flat, with NaN and ±infinity sprinkled in. Each batch is rendered in
headless Chromium by mermaid's own browser bundle; the SVG must hold exactly the series
that have two or more finite points, each with all its points, in its own colour, with the
chart's white background and a legend naming every series.
"""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlops_ci.plot_render import BACKGROUND, MERMAID_POINTS, Series, mermaid_xychart
from mlops_ci.plots import PlotSpec, plot_specs
from mlops_ci.report.plots_section import plots_section, render_plots
from tests.render.markdown_checks import problems
from tests.render.mermaid_page import VERSIONS, MermaidPage, block_source

#: one browser per module: its tests share a worker under `--dist loadgroup`
pytestmark = pytest.mark.xdist_group("render-mermaid")

THEMES = ("default", "dark")
EXPONENT = re.compile(r"\d[eE][+-]?\d")  # 2e+04, 1e-05: not a number to mermaid


@pytest.fixture(scope="module")
def pages(browser, tmp_path_factory):
    work = tmp_path_factory.mktemp("mermaid")
    return [MermaidPage(browser, package, work) for package in VERSIONS]


def check(pages, blocks: list[str], expected: list[list[str]]) -> None:
    """Each block renders in every version and theme with exactly the ``expected`` series (their labels)."""
    for page in pages:
        for theme in THEMES:
            results = page.render(blocks, theme)
            for block, want, got in zip(blocks, expected, results):
                where = f"mermaid {page.version} ({theme}):\n{block[:3000]}"
                assert got["ok"], f"{got.get('error')}\n{where}"
                plots = got["plots"]
                assert len(plots) == len(want), where
                assert all(p["points"] == MERMAID_POINTS and p["finite"] for p in plots), (plots, where)
                assert len({p["stroke"] for p in plots}) == len(plots), (plots, where)  # a colour per line
                assert got["background"] == BACKGROUND, where
                assert got["legend"] == want, where
    assert not [e for p in pages for e in p.page.console_errors], [p.page.console_errors for p in pages]


def test_the_review_cases_render(pages):
    """The cases that broke: 20,000 steps, learning rates, a tiny ROC value, NaN, inf, negatives, odd titles."""
    xs = list(range(0, 20001, 1000))
    nan, inf = float("nan"), float("inf")
    cases = [
        (PlotSpec("loss", {"l.csv": ["loss"]}, x="step"),
         [Series("main: loss", xs, [1 / (1 + x / 1000) for x in xs], "base"),
          Series("PR: loss", xs, [0.9 / (1 + x / 1000) for x in xs], "head")]),
        (PlotSpec("grad", {"g.csv": ["grad"]}, x="step"),
         [Series("PR: grad", [0, 1, 2, 3], [1e-5, 2e-5, 4e-5, 3e-5], "head")]),
        (PlotSpec("roc", {"r.json": ["tpr"]}, x="fpr"),
         [Series("main: tpr", [0, 0.1, 1], [2e-5, 0.35, 1], "base"), Series("PR: tpr", [0, 0.1, 1], [0, 0.4, 1], "head")]),
        (PlotSpec("v", {"v.csv": ["val_loss"]}, x="epoch"),
         [Series("main: val_loss", [0, 1, 2, 3], [1.0, nan, 0.5, 0.4], "base"),
          Series("PR: val_loss", [0, 1, 2, 3], [0.9, 0.7, inf, 0.3], "head")]),
        (PlotSpec("ll", {"ll.csv": ["ll"]}, x="step"),
         [Series("PR: ll", [0, 1, 2], [-3, -2, -1.5], "head")]),
        (PlotSpec("odd", {"o.csv": ["y"]}, x="step", title='Loss "train" [fold #1]; 50%% <b>', y_label='a "b" %% c'),
         [Series('PR: y "quoted" %% <i>', [0, 1], [0, 1], "head")]),
        (PlotSpec("four", {"loss.csv": ["train_loss", "val_loss"]}, x="epoch"),
         [Series(f"{side}: {f}", [0, 1, 2], [1, 0.5, 0.25], "base" if side == "main" else "head", field=f)
          for f in ("train_loss", "val_loss") for side in ("main", "PR")]),
        (PlotSpec("huge", {"h.csv": ["bytes"]}, x="step"),
         [Series("PR: bytes", [0, 1e9], [5e7, -3e9], "head")]),
        (PlotSpec("long", {"t.csv": ["loss"]}, x="step"),
         [Series("main: loss", list(range(100_000)), [1 / (1 + i) for i in range(100_000)], "base"),
          Series("PR: loss", list(range(100_000)), [nan if i % 97 == 0 else 2 / (2 + i) for i in range(100_000)],
                 "head")]),
    ]
    blocks, expected = [], []
    for spec, series in cases:
        markdown = mermaid_xychart(spec, series)
        assert not EXPONENT.search(markdown) and "nan," not in markdown.lower()
        blocks += block_source(markdown)
        expected.append([" ".join(s.label.replace('"', "'").replace("<", "‹").replace(">", "›").split())
                         .replace("%%", "% %") for s in series if _drawable(s.xs, s.ys)])
    check(pages, blocks, expected)


def _drawable(xs, ys) -> bool:
    finite = [x for x, y in zip(xs, ys) if math.isfinite(x) and math.isfinite(y)]
    return len(finite) >= 2 and min(finite) < max(finite)


BAD = st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity"])


@st.composite
def chart_case(draw):
    """Plot files for one chart: a CSV per side, 1–2 y fields, values of any size and sign, some not finite."""
    # mostly short and medium logs; one chart in ten is a 100,000-step training log
    n = draw(st.integers(0, 9).flatmap(lambda k: st.just(100_000) if k == 0 else
                                       st.one_of(st.integers(1, 60), st.integers(61, 20_000))))
    fields = ["loss", "val_loss"][: draw(st.integers(1, 2))]
    x_step = 10.0 ** draw(st.integers(-9, 9))
    x_start = draw(st.sampled_from([0.0, -1.0, 1.0, 1e3]))
    sides = draw(st.sampled_from([("base", "head"), ("head",), ("base",)]))
    files = {}
    for side in sides:
        columns = {"step": [x_start + i * x_step for i in range(n)]}
        for k, field in enumerate(fields):
            scale = draw(st.sampled_from([-1.0, 1.0])) * 10.0 ** draw(st.integers(-9, 9))
            shape = draw(st.sampled_from(["decay", "rise", "wave", "flat"]))
            values = [scale * {"decay": 1 / (1 + i), "rise": i / max(1, n - 1), "wave": math.sin(i / 7 + k),
                               "flat": 1.0}[shape] for i in range(n)]
            columns[field] = values
        text = {name: [repr(v) for v in vals] for name, vals in columns.items()}
        for column, at, bad in draw(st.lists(st.tuples(st.sampled_from(["step", *fields]), st.integers(0, n - 1),
                                                       BAD), max_size=4)):
            text[column][at] = bad
        rows = ["step," + ",".join(fields)] + [",".join(text[c][i] for c in ["step", *fields]) for i in range(n)]
        files[side] = "\n".join(rows) + "\n"
    return fields, files


def expected_labels(fields, files) -> list[str]:
    """The series that must be drawn, worked out from the CSV text independently of the code under test."""
    labels = []
    for side, label in (("base", "main"), ("head", "PR")):
        if side not in files:
            continue
        lines = files[side].splitlines()[1:]
        for k, field in enumerate(fields):
            xs, ys = [], []
            for line in lines:
                parts = line.split(",")
                xs.append(float(parts[0]))
                ys.append(float(parts[k + 1]))
            if _drawable(xs, ys):
                labels.append(f"{label}: {field}")
    return labels


@settings(max_examples=10, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.data_too_large, HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(batch=st.lists(chart_case(), min_size=4, max_size=4))
def test_any_plot_data_renders_as_a_chart_with_every_finite_series(pages, batch):
    blocks, expected = [], []
    for fields, files in batch:
        spec = plot_specs({"plots": [{"train.csv": {"x": "step", "y": fields}}]})[0]
        by_rev = {"base-rev": files.get("base"), "head-rev": files.get("head")}
        plots = render_plots([spec], lambda rev, path: (by_rev[rev] or "").encode() or None,
                             [("base", "base-rev", "main"), ("head", "head-rev", "PR")], with_png=False)
        want = expected_labels(fields, files)
        markdown = plots[0].markdown
        if not want:
            assert markdown == "" and plots[0].problem, markdown
            continue
        body = plots_section(plots).body
        assert problems(body, first_heading=None) == [], body[:2000]
        assert not EXPONENT.search(markdown), markdown[:2000]
        blocks += block_source(markdown)
        expected.append(want)
    check(pages, blocks, expected)
