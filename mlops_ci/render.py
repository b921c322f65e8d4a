"""Markdown building blocks shared by the report, the summary and the CLI.

Pure string functions. Numbers are shown with the configured decimals; tables
escape pipes so a metric called ``a|b`` cannot break the layout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from mlops_ci.metrics import MetricChange, MetricDiff
from mlops_ci.numfmt import at_precision

if TYPE_CHECKING:
    from mlops_ci.pipeline.repro import ReproResult

STATUS_ICON = {
    "improved": "🟢", "regressed": "🔴", "changed": "🔵", "unchanged": "⚪", "added": "🆕", "removed": "➖",
}
#: A timing that moved on a shared runner: shown, marked, never a warning by itself.
NOISY_ICON = "⏱️"


def cell(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def table(header: Sequence[str], rows: Iterable[Sequence[object]], align: Sequence[str] | None = None) -> str:
    align = align or ["left"] * len(header)
    marks = {"left": "---", "right": "---:", "center": ":---:"}
    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "|" + "|".join(marks[a] for a in align) + "|"]
    lines.extend("| " + " | ".join(cell(c) for c in row) + " |" for row in rows)
    return "\n".join(lines)


def fmt_number(value: float | None, precision: int) -> str:
    """``precision`` decimals, thousands separated, never scientific (a tiny value keeps one digit)."""
    return at_precision(value, precision)


def fmt_delta(change: MetricChange, precision: int) -> str:
    """The change; one below the precision is still shown (0.9833 → 0.9834 must not read "0")."""
    if change.abs_change is None:
        return "—"
    if change.abs_change == 0 or (change.status == "unchanged"
                                  and fmt_number(change.old, precision) == fmt_number(change.new, precision)):
        return "0"
    text = at_precision(change.abs_change, precision, signed=True)
    if change.status == "unchanged":
        return text
    if change.rel_change is not None:
        text += f" ({change.rel_change * 100:+.1f}%)"
    return text


def metric_rows(changes: Iterable[MetricChange], precision: int, show_path: bool) -> list[list[str]]:
    rows = []
    for c in changes:
        noisy = c.noisy and c.status in ("improved", "regressed")
        row = [f"{NOISY_ICON if noisy else STATUS_ICON[c.status]} {c.name}" + (" (noisy)" if noisy else ""),
               fmt_number(c.old, precision), fmt_number(c.new, precision), fmt_delta(c, precision)]
        if show_path:
            row.insert(1, f"`{c.path}`")
        rows.append(row)
    return rows


def metrics_table(diff: MetricDiff, *, only_changed: bool = False, limit: int | None = None) -> str:
    """The metric diff as a Markdown table, most important changes first when cut."""
    changes = diff.changed if only_changed else list(diff.changes)
    if not changes:
        return "_No metrics found._" if not diff.changes else "_No metric changed._"
    show_path = len({c.path for c in diff.changes}) > 1
    extra = 0
    if limit is not None and len(changes) > limit:
        ordered = sorted(changes, key=lambda c: (c.status != "regressed", -c.magnitude))
        keep = set(map(id, ordered[:limit]))
        extra = len(changes) - limit
        changes = [c for c in changes if id(c) in keep]
    header = ["Metric", diff.base_label, diff.head_label, "Change"]
    align = ["left", "right", "right", "right"]
    if show_path:
        header.insert(1, "File")
        align.insert(1, "left")
    text = table(header, metric_rows(changes, diff.precision, show_path), align)
    if any(c.noisy and c.status in ("improved", "regressed") for c in changes):
        text += (f"\n\n{NOISY_ICON} _noisy: a timing measured on a shared runner moves with the machine's load; "
                 "it does not make this report warn (the gate still applies its rules). Measure it several times "
                 "and report the median (`metrics.noisy` in .mlops-ci.yml)._")
    if extra:
        text += f"\n\n… and {extra} more (see the job summary / report artifact)"
    return text


def headline(diff: MetricDiff) -> str:
    if not diff.changes:
        return "No metrics to compare."
    changed = diff.changed
    if not changed:
        return f"All {len(diff.changes)} metrics unchanged."
    counts: dict[str, int] = {}
    for c in changed:
        counts[c.status] = counts.get(c.status, 0) + 1
    noisy = len(diff.noisy_regressions)
    counts["regressed"] = counts.get("regressed", 0) - noisy
    parts = [f"{counts[s]} {s}" for s in ("improved", "regressed", "changed", "added", "removed") if counts.get(s)]
    if noisy:
        parts.append(f"{noisy} noisy timing{'s' if noisy > 1 else ''} slower")
    return f"{len(changed)} of {len(diff.changes)} metrics changed: " + ", ".join(parts) + "."


def repro_table(result: "ReproResult", volatile: Callable[[str], str] = lambda text: text) -> str:
    """Per-stage status and wall time of one `dvc repro` (``volatile`` marks the timings)."""
    if not result.stages:
        return "_No stages reported by DVC._"
    icons = {"ran": "▶️ ran", "cached": "♻️ run-cache", "unchanged": "✔️ up to date", "failed": "❌ failed",
             "skipped": "⏭️ skipped"}
    rows = [[s.name, icons[s.status], volatile(f"{s.seconds:.1f} s")] for s in result.stages]
    header, align = ["Stage", "Status", "Wall time"], ["left", "left", "right"]
    if any(s.gpu for s in result.stages):  # sampled on a GPU runner (mlops_ci.runners.gpu_usage)
        for row, s in zip(rows, result.stages):
            util = s.gpu.util_mean_pct if s.gpu else None
            row.append("—" if util is None else volatile(f"{util:.0f} %"))
        header, align = header + ["GPU util (mean)"], align + ["right"]
    return table(header, rows, align) + "\n\n" + repro_counts(result, volatile)


def repro_counts(result: "ReproResult", volatile: Callable[[str], str] = lambda text: text) -> str:
    """One line: how many stages ran or were reused, and the total wall time."""
    ran = len(result.names("ran"))
    reused = len(result.names("cached")) + len(result.names("unchanged"))
    return f"{ran} stage(s) ran, {reused} reused, total {volatile(f'{result.seconds:.1f} s')}."
