"""Section builders: domain results in, report sections out (pure)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_ci import render
from mlops_ci.metrics import MetricDiff
from mlops_ci.report.model import Section

if TYPE_CHECKING:
    from mlops_ci.repro import ReproResult

ORDER = {"gate": 10, "metrics": 20, "params": 30, "drift": 40, "contracts": 45, "plots": 50, "run": 80, "cost": 85}


def metrics_section(diff: MetricDiff, *, title: str = "Metrics") -> Section:
    status = "warn" if diff.regressions else ("pass" if diff.changed else "info")

    def shrink(room: int) -> str:
        # ~70 characters per row is typical; search down until the table fits.
        rows = max(1, room // 70)
        while rows >= 1:
            text = render.metrics_table(diff, limit=rows)
            if len(text) <= room:
                return text
            rows = rows * 3 // 4 if rows > 4 else rows - 1
        return f"… {len(diff.changes)} metrics (see the job summary / report artifact)"

    return Section(key="metrics", title=title, body=render.metrics_table(diff), summary=render.headline(diff),
                   status=status, order=ORDER["metrics"], shrink=shrink)


def pipeline_section(result: "ReproResult", *, title: str = "Pipeline run") -> Section:
    ran, cached = result.names("ran"), result.names("cached") + result.names("unchanged")
    if not result.ok:
        summary = f"failed at {', '.join(result.failed) or 'an unnamed stage'}"
    else:
        summary = f"{len(ran)} stage(s) ran, {len(cached)} reused from cache, {result.seconds:.1f} s"
    return Section(key="run", title=title, body=render.repro_table(result), summary=summary,
                   status="pass" if result.ok else "fail", order=ORDER["run"])
