"""Plots for the report: each DVC plot drawn for base and head.

The comment gets Mermaid charts and confusion tables (no image host needed);
the PNGs are returned for the artifact. File access comes in as a ``read``
callable, so this stays testable without a repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from mlops_ci.errors import BadInput
from mlops_ci.plot_png import png_confusion, png_lines
from mlops_ci.plot_render import Series, confusion_table, heading, mermaid_xychart
from mlops_ci.plots import PlotSpec, confusion_counts, default_y, numeric_series, parse_rows
from mlops_ci.report.model import Section

Reader = Callable[[str, str], "bytes | None"]


@dataclass
class RenderedPlot:
    spec: PlotSpec
    markdown: str
    png: bytes | None
    filename: str
    problem: str | None = None


def render_plots(specs: list[PlotSpec], read: Reader, sides: list[tuple[str, str, str]],
                 with_png: bool = True) -> list[RenderedPlot]:
    """``sides`` = [(side, revision, label)] e.g. [("base", sha, "main"), ("head", "workspace", "PR")]."""
    out = []
    for spec in specs:
        try:
            out.append(_render(spec, read, sides, with_png))
        except BadInput as exc:
            out.append(RenderedPlot(spec, "", None, f"{spec.slug}.png", problem=exc.message))
    return out


def _render(spec: PlotSpec, read: Reader, sides: list[tuple[str, str, str]], with_png: bool) -> RenderedPlot:
    rows_by_side: dict[str, dict[str, list[dict]]] = {}
    for side, rev, _ in sides:
        for file in spec.files:
            content = read(rev, file)
            if content is not None:
                rows_by_side.setdefault(side, {})[file] = parse_rows(content, file)
    filename = f"{spec.slug}.png"
    if not rows_by_side:
        return RenderedPlot(spec, "", None, filename, problem="no data at either revision")
    labels = {side: label for side, _, label in sides}

    if spec.is_confusion:
        actual, predicted = spec.x or "actual", _first_y(spec) or "predicted"
        counts = {side: confusion_counts(rows, actual, predicted)
                  for side, files in rows_by_side.items() for rows in files.values()}
        md = confusion_table(counts.get("base", {}), counts.get("head", {}), labels.get("base", "base"),
                             labels.get("head", "head"))
        png = png_confusion(spec, [(labels[s], counts[s]) for s, _, _ in sides if s in counts]) if with_png else None
        return RenderedPlot(spec, md, png, filename)

    series: list[Series] = []
    for side, _, _ in sides:
        for file, rows in rows_by_side.get(side, {}).items():
            x = spec.x_field(file)
            for y in spec.y.get(file) or default_y(rows, x):
                xs, ys = numeric_series(rows, x, y)
                if xs:
                    series.append(Series(f"{labels[side]}: {y}", xs, ys, side, field=y))
    md = mermaid_xychart(spec, series)
    png = png_lines(spec, series) if with_png and series else None
    return RenderedPlot(spec, md, png, filename, problem=None if md else "no numeric data to draw")


def _first_y(spec: PlotSpec) -> str | None:
    for fields in spec.y.values():
        if fields:
            return fields[0]
    return None


def _heading(spec: PlotSpec) -> str:
    """The plot's name, and the file it comes from when that is not already its name."""
    name = heading(spec).replace("<", "‹").replace(">", "›")
    if name == spec.id:
        return name
    code = f"`` {spec.id} ``" if "`" in spec.id else f"`{spec.id}`"
    return f"{name} <sub>{code}</sub>"


def plots_section(plots: list[RenderedPlot], artifact_hint: str = "PNG files in the report artifact") -> Section:
    drawn = [p for p in plots if p.markdown]
    blocks = [f"#### {_heading(p.spec)}\n\n{p.markdown}" for p in drawn]
    problems = [f"- `{p.spec.id}`: {p.problem}" for p in plots if p.problem]
    if problems:
        blocks.append("Not drawn:\n" + "\n".join(problems))
    body = "\n\n".join(blocks) if blocks else "_No plots declared in dvc.yaml._"
    if drawn:
        body += f"\n\n<sub>{artifact_hint}</sub>"

    def shrink(room: int) -> str:
        kept = []
        for block in blocks:
            if len("\n\n".join(kept + [block])) > room - 80:
                break
            kept.append(block)
        rest = len(blocks) - len(kept)
        return "\n\n".join(kept) + (f"\n\n… {rest} more plot(s) in the report artifact" if rest else "")

    summary = f"{len(drawn)} plot(s)" if plots else "none"
    return Section(key="plots", title="Plots", body=body, summary=summary, order=50, shrink=shrink,
                   folded=len(drawn) > 2)
