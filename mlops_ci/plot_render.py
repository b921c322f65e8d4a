"""Drawing base-vs-head plots: Mermaid for the PR comment, PNG for the artifact.

The comment must show a picture without an external image host (CML uploads
to a public one by default), so line plots become Mermaid ``xychart-beta``
blocks, which GitHub renders inline; confusion matrices become a table. PNGs
(matplotlib, imported only here) go to the artifact for full resolution.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from mlops_ci.plots import PlotSpec
from mlops_ci.render import table

#: Mermaid's xychart draws series in palette order: base grey, head blue.
BASE_COLOR, HEAD_COLOR = "#9e9e9e", "#1f77b4"
MERMAID_POINTS = 21


@dataclass
class Series:
    label: str  # e.g. "main: tpr"
    xs: list[float]
    ys: list[float]
    side: str  # "base" or "head"


def _resample(series: Series, grid: list[float]) -> list[float]:
    import numpy as np

    order = np.argsort(series.xs, kind="stable")
    xs, ys = np.asarray(series.xs)[order], np.asarray(series.ys)[order]
    return [float(v) for v in np.interp(grid, xs, ys)]


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def mermaid_xychart(spec: PlotSpec, series: list[Series], points: int = MERMAID_POINTS) -> str:
    """A fenced ``mermaid`` block; all series resampled onto one shared x grid."""
    drawable = [s for s in series if len(s.xs) >= 2]
    if not drawable:
        return ""
    lo = min(min(s.xs) for s in drawable)
    hi = max(max(s.xs) for s in drawable)
    if hi == lo:
        return ""
    grid = [lo + (hi - lo) * i / (points - 1) for i in range(points)]
    lines = [_resample(s, grid) for s in drawable]
    y_lo = min(min(v) for v in lines)
    y_hi = max(max(v) for v in lines)
    if 0 < y_lo:  # positive quantities (rates, losses) read best from zero
        y_lo = 0.0
    if y_hi == y_lo:
        y_hi = y_lo + 1
    palette = ", ".join(BASE_COLOR if s.side == "base" else HEAD_COLOR for s in drawable)
    title = (spec.title or spec.id).replace('"', "'")
    x_label = (spec.x_label or spec.x or "step").replace('"', "'")
    y_label = (spec.y_label or ", ".join(sorted({f for fs in spec.y.values() for f in fs})) or "value").replace('"', "'")
    body = [
        "```mermaid",
        '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "' + palette + '"}}}}%%',
        "xychart-beta",
        f'    title "{title}"',
        f'    x-axis "{x_label}" {_fmt(lo)} --> {_fmt(hi)}',
        f'    y-axis "{y_label}" {_fmt(y_lo)} --> {_fmt(y_hi)}',
    ]
    body.extend(f"    line [{', '.join(_fmt(v) for v in values)}]" for values in lines)
    body.append("```")
    legend = " · ".join(f"{'grey' if s.side == 'base' else 'blue'}: {s.label}" for s in drawable)
    return "\n".join(body) + f"\n\n<sub>{legend}</sub>"


def confusion_table(base: dict[tuple[str, str], int], head: dict[tuple[str, str], int],
                    base_label: str, head_label: str) -> str:
    """Head counts per (actual, predicted) cell with the change from base."""
    labels = sorted({k for pair in (*base, *head) for k in pair})
    if not labels:
        return ""
    rows = []
    for actual in labels:
        row: list[object] = [f"**{actual}**"]
        for predicted in labels:
            now, before = head.get((actual, predicted), 0), base.get((actual, predicted), 0)
            delta = now - before
            row.append(f"{now}" + (f" ({delta:+d})" if base and delta else ""))
        rows.append(row)
    header = ["actual \\ predicted", *labels]
    note = f"\n\n<sub>{head_label} counts; in brackets the change from {base_label}</sub>" if base else ""
    return table(header, rows, ["left"] + ["right"] * len(labels)) + note


def png_lines(spec: PlotSpec, series: list[Series]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    try:
        for s in series:
            ax.plot(s.xs, s.ys, label=s.label, color=BASE_COLOR if s.side == "base" else HEAD_COLOR,
                    linestyle="--" if s.side == "base" else "-")
        ax.set_title(spec.title or spec.id)
        ax.set_xlabel(spec.x_label or spec.x or "step")
        ax.set_ylabel(spec.y_label or "value")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        return _save(fig)
    finally:
        plt.close(fig)


def png_confusion(spec: PlotSpec, panels: list[tuple[str, dict[tuple[str, str], int]]]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = sorted({k for _, counts in panels for pair in counts for k in pair})
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.6), dpi=100, squeeze=False)
    try:
        for ax, (title, counts) in zip(axes[0], panels):
            grid = [[counts.get((a, p), 0) for p in labels] for a in labels]
            ax.imshow(grid, cmap="Blues")
            for i, row in enumerate(grid):
                for j, value in enumerate(row):
                    ax.text(j, i, str(value), ha="center", va="center", fontsize=9)
            ax.set_xticks(range(len(labels)), labels)
            ax.set_yticks(range(len(labels)), labels)
            ax.set_xlabel("predicted")
            ax.set_ylabel("actual")
            ax.set_title(title)
        fig.suptitle(spec.title or spec.id)
        fig.tight_layout()
        return _save(fig)
    finally:
        plt.close(fig)


def _save(fig) -> bytes:  # noqa: ANN001 - matplotlib Figure, imported lazily
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
