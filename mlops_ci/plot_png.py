"""Base-vs-head plots as PNG files for the report artifact (matplotlib, imported only here).

Same colours as the Mermaid charts (:mod:`mlops_ci.plot_render`); where a PNG can do
more, it does: the base line is dashed and each field has its own marker, so the lines
stay apart in greyscale and for colour-blind readers. Confusion-matrix counts are
written in white or black, whichever contrasts more with the cell's colour (black on
the darkest blue was 1.65:1).
"""

from __future__ import annotations

import io
from typing import Sequence

from mlops_ci.plot_render import BACKGROUND, INK, Series, heading, lines
from mlops_ci.plots import PlotSpec

MARKERS = ("o", "s", "^", "D", "v")


def _pyplot():  # noqa: ANN202 - matplotlib.pyplot, imported lazily
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png_lines(spec: PlotSpec, series: Sequence[Series]) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100, facecolor=BACKGROUND)
    try:
        keys: list[str] = []
        for line in lines(series):
            if not line.xs:
                continue
            if line.series.key not in keys:
                keys.append(line.series.key)
            marker = MARKERS[keys.index(line.series.key) % len(MARKERS)]
            ax.plot(line.xs, line.ys, label=line.series.label, color=line.color, marker=marker,
                    markevery=max(1, len(line.xs) // 10), markersize=4,
                    linestyle="--" if line.series.side == "base" else "-")
        ax.set_title(heading(spec), color=INK)
        ax.set_xlabel(spec.x_label or spec.x or "step")
        ax.set_ylabel(spec.y_label or "value")
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        return _save(fig)
    finally:
        plt.close(fig)


def _luminance(rgba: Sequence[float]) -> float:
    """WCAG relative luminance of an RGB(A) colour with channels in 0…1."""
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgba[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def label_color(rgba: Sequence[float]) -> str:
    """White or black text, whichever has the higher contrast with a cell of colour ``rgba``."""
    lum = _luminance(rgba)
    return "white" if (1.05 / (lum + 0.05)) > ((lum + 0.05) / 0.05) else "black"


def png_confusion(spec: PlotSpec, panels: list[tuple[str, dict[tuple[str, str], int]]]) -> bytes:
    plt = _pyplot()
    labels = sorted({k for _, counts in panels for pair in counts for k in pair})
    fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 3.6), dpi=100, squeeze=False,
                             facecolor=BACKGROUND)
    try:
        for ax, (title, counts) in zip(axes[0], panels):
            grid = [[counts.get((a, p), 0) for p in labels] for a in labels]
            image = ax.imshow(grid, cmap="Blues")
            for i, row in enumerate(grid):
                for j, value in enumerate(row):
                    ax.text(j, i, f"{value:,}", ha="center", va="center", fontsize=9,
                            color=label_color(image.cmap(image.norm(value))))
            ax.set_xticks(range(len(labels)), labels)
            ax.set_yticks(range(len(labels)), labels)
            ax.set_xlabel("predicted")
            ax.set_ylabel("actual")
            ax.set_title(title)
        fig.suptitle(heading(spec))
        fig.tight_layout()
        return _save(fig)
    finally:
        plt.close(fig)


def _save(fig) -> bytes:  # noqa: ANN001 - matplotlib Figure, imported lazily
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
