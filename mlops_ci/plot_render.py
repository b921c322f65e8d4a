"""Drawing base-vs-head plots for the PR comment: Mermaid line charts and confusion tables.

The comment must show a picture without an external image host (CML uploads to a
public one by default), so line plots become Mermaid ``xychart-beta`` blocks, which
GitHub renders inline; confusion matrices become a table. PNGs for the artifact are
drawn by :mod:`mlops_ci.plot_png` with the same colours.

A chart that does not parse shows as an error box instead of the plot, so everything
written into the block is checked against Mermaid's grammar (tested by rendering it in
a browser): numbers are plain decimals (``2e+04`` is not a number to Mermaid), scaled
by a power of 1,000 named in the axis title when they are very large or very small;
NaN and infinities are dropped and the chart says so; strings lose the characters that
would end them early (``"``, ``%%``).

Colours: the chart carries its own white background and dark ink in GitHub's light
and dark themes alike, so each colour is chosen once against a known background. Every
line has at least 3:1 contrast with that background; a field's base line (dark) and PR
line (bright) have at least 3:1 with each other; fields differ by hue. (3:1 between
*every* pair of lines is impossible on one background beyond two lines: luminance has
room for only two steps of 3:1 below white.)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Sequence

from mlops_ci.plots import PlotSpec
from mlops_ci.render import table

BACKGROUND, INK = "#ffffff", "#1f2328"
#: Per y field: (PR line, base line, their names in words). PR colours are GitHub's
#: "emphasis" shades; base colours the darkest shade of the same hue.
PALETTE: tuple[tuple[str, str, str, str], ...] = (
    ("#2f81f7", "#0a3069", "blue", "dark blue"),
    ("#d4650a", "#3d1300", "orange", "dark brown"),
    ("#2da44e", "#04260f", "green", "dark green"),
    ("#a371f7", "#2e1461", "purple", "dark purple"),
    ("#e5534b", "#4c0014", "red", "dark red"),
)
MERMAID_POINTS = 21
#: Decimals never exceed this in a chart: past it a value is noise of the float arithmetic.
MAX_DECIMALS = 12
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass
class Series:
    label: str  # e.g. "main: tpr"
    xs: list[float]
    ys: list[float]
    side: str  # "base" or "head"
    field: str = ""  # the y field ("tpr"); lines of one field share a hue. Default: the label after ": "

    @property
    def key(self) -> str:
        return self.field or self.label.rsplit(": ", 1)[-1]


@dataclass
class Line:
    """A series as drawn: its colour, and what was left out of it."""

    series: Series
    color: str
    color_name: str
    xs: list[float]
    ys: list[float]
    dropped: int  # NaN / ±inf points left out


def heading(spec: PlotSpec) -> str:
    """What a plot is called: its title, else its file's name without directories and suffix."""
    if spec.title:
        return " ".join(str(spec.title).split())
    name = spec.id.replace("\\", "/").rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return stem or spec.id


def colours(series: Sequence[Series]) -> list[tuple[str, str]]:
    """(hex, name) per series: one hue per y field, dark for the base side, bright for the PR."""
    fields: list[str] = []
    out = []
    for s in series:
        if s.key not in fields:
            fields.append(s.key)
        head, base, head_name, base_name = PALETTE[fields.index(s.key) % len(PALETTE)]
        out.append((base, base_name) if s.side == "base" else (head, head_name))
    return out


def lines(series: Sequence[Series]) -> list[Line]:
    """Every series with its colour and only its finite points (a NaN in a training log is common)."""
    out = []
    for s, (color, name) in zip(series, colours(series)):
        xs, ys = [], []
        for x, y in zip(s.xs, s.ys):
            if math.isfinite(x) and math.isfinite(y):
                xs.append(float(x))
                ys.append(float(y))
        out.append(Line(s, color, name, xs, ys, len(s.xs) - len(xs)))
    return out


def drawable(line: Line) -> bool:
    return len(line.xs) >= 2 and min(line.xs) < max(line.xs)


def _resample(line: Line, grid: list[float]) -> list[float]:
    import numpy as np

    order = np.argsort(line.xs, kind="stable")
    xs, ys = np.asarray(line.xs)[order], np.asarray(line.ys)[order]
    return [float(v) for v in np.interp(grid, xs, ys)]


def scale_exponent(lo: float, hi: float) -> int:
    """A power of 1,000 to divide an axis by so its numbers read plainly (0 for 0.001 … 999,999)."""
    top = max(abs(lo), abs(hi))
    if top == 0 or 1e-3 <= top < 1e6:
        return 0
    return 3 * math.floor(math.log10(top) / 3)


def decimals(lo: float, hi: float) -> int:
    """Enough decimals for about four significant digits across the axis span."""
    span = hi - lo
    if span <= 0:
        return 0
    return max(0, min(MAX_DECIMALS, 3 - math.floor(math.log10(span))))


def number(value: float, places: int) -> str:
    """A number as Mermaid's grammar takes it: ``-?digits(.digits)?``, never an exponent or ``-0``."""
    text = f"{value:.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def text(value: str) -> str:
    """A string Mermaid keeps whole: no quote to end it, no ``%%`` to start a comment, no markup."""
    cleaned = " ".join(str(value).split()).replace('"', "'").replace("<", "‹").replace(">", "›")
    while "%%" in cleaned:
        cleaned = cleaned.replace("%%", "% %")
    return cleaned


def axis_title(label: str, exponent: int) -> str:
    return text(label) + (f" (× 10{str(exponent).translate(_SUPERSCRIPT)})" if exponent else "")


def _init_directive(palette: list[str]) -> str:
    theme = {"backgroundColor": BACKGROUND, "titleColor": INK, "legendTextColor": INK,
             **{f"{axis}Axis{part}Color": INK for axis in "xy" for part in ("Label", "Title", "Tick", "Line")},
             "plotColorPalette": ", ".join(palette)}
    return "%%{init: " + json.dumps({"themeVariables": {"xyChart": theme}, "xyChart": {"showLegend": True}}) + "}%%"


def mermaid_xychart(spec: PlotSpec, series: list[Series], points: int = MERMAID_POINTS) -> str:
    """A fenced ``mermaid`` block (every drawable series resampled onto one shared x grid), a legend
    line in words, and a note on whatever was left out; "" when nothing can be drawn."""
    all_lines = lines(series)
    drawn = [line for line in all_lines if drawable(line)]
    if not drawn:
        return ""
    lo, hi = min(min(d.xs) for d in drawn), max(max(d.xs) for d in drawn)
    grid = [lo + (hi - lo) * i / (points - 1) for i in range(points)]
    values = [_resample(d, grid) for d in drawn]
    y_lo, y_hi = min(min(v) for v in values), max(max(v) for v in values)
    if 0 < y_lo:  # positive quantities (rates, losses) read best from zero
        y_lo = 0.0
    if y_hi == y_lo:
        y_hi = y_lo + 1
    x_exp, y_exp = scale_exponent(lo, hi), scale_exponent(y_lo, y_hi)
    x_lo, x_hi = lo / 10 ** x_exp, hi / 10 ** x_exp
    y_lo, y_hi = y_lo / 10 ** y_exp, y_hi / 10 ** y_exp
    x_places, y_places = decimals(x_lo, x_hi), decimals(y_lo, y_hi)
    if number(x_lo, x_places) == number(x_hi, x_places):
        x_places = MAX_DECIMALS
    x_label = spec.x_label or spec.x or "step"
    y_label = spec.y_label or ", ".join(sorted({f for fs in spec.y.values() for f in fs})) or "value"
    body = [
        "```mermaid",
        _init_directive([d.color for d in drawn]),
        "xychart-beta",
        f'    x-axis "{axis_title(x_label, x_exp)}" {number(x_lo, x_places)} --> {number(x_hi, x_places)}',
        f'    y-axis "{axis_title(y_label, y_exp)}" {number(y_lo, y_places)} --> {number(y_hi, y_places)}',
    ]
    for d, ys in zip(drawn, values):
        shown = ", ".join(number(v / 10 ** y_exp, y_places) for v in ys)
        body.append(f'    line "{text(d.series.label)}" [{shown}]')
    body.append("```")
    legend = " · ".join(f"{d.color_name} line: {d.series.label}" for d in drawn)
    return "\n".join(body) + f"\n\n<sub>{legend}</sub>" + _left_out(all_lines)


def _left_out(all_lines: list[Line]) -> str:
    notes = []
    for line in all_lines:
        if not drawable(line):
            notes.append(f"{line.series.label}: not drawn (fewer than 2 finite points)")
        elif line.dropped:
            notes.append(f"{line.series.label}: {line.dropped:,} NaN/infinite value(s) left out")
    return f"\n\n<sub>{' · '.join(notes)}</sub>" if notes else ""


def confusion_table(base: dict[tuple[str, str], int], head: dict[tuple[str, str], int],
                    base_label: str, head_label: str) -> str:
    """Head counts per (actual, predicted) cell with the change from base.

    When the two holdouts differ in size, a count difference mixes "the model changed" with
    "there are more rows", so the change is shown as a rate instead: of the rows of that
    actual class, how many percentage points more (or fewer) land in the cell.
    """
    labels = sorted({k for pair in (*base, *head) for k in pair})
    if not labels:
        return ""
    same_size = sum(base.values()) == sum(head.values())
    rows = []
    for actual in labels:
        row: list[object] = [f"**{actual}**"]
        head_total = sum(head.get((actual, p), 0) for p in labels)
        base_total = sum(base.get((actual, p), 0) for p in labels)
        for predicted in labels:
            now, before = head.get((actual, predicted), 0), base.get((actual, predicted), 0)
            if not base:
                row.append(f"{now:,}")
            elif same_size:
                row.append(f"{now:,}" + (f" ({now - before:+,})" if now != before else ""))
            else:
                rate_now = now / head_total if head_total else 0.0
                rate_before = before / base_total if base_total else 0.0
                points = round((rate_now - rate_before) * 100, 1)
                row.append(f"{now:,}" + (f" ({points:+.1f} pp)" if points else ""))
        rows.append(row)
    header = ["actual \\ predicted", *labels]
    if not base:
        note = ""
    elif same_size:
        note = f"\n\n<sub>{head_label} counts; in brackets the change from {base_label}</sub>"
    else:
        note = (f"\n\n<sub>{head_label} counts; the holdouts differ in size ({sum(base.values()):,} rows at "
                f"{base_label}, {sum(head.values()):,} at {head_label}), so in brackets the change in the share of "
                "each actual class's rows, in percentage points</sub>")
    return table(header, rows, ["left"] + ["right"] * len(labels)) + note
