"""What one report leaves behind in a job: the full report and PNGs for the artifact, the job
summary, step outputs, and the bounded comment body."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlops_ci.github.actions import Runtime
    from mlops_ci.report.assemble import AssembledReport


def write_outputs(rt: "Runtime", built: "AssembledReport") -> str:
    """Full report and PNGs for the artifact, the summary, and the bounded comment body (returned)."""
    from mlops_ci.report.model import COMMENT_LIMIT

    body = built.report.render(COMMENT_LIMIT)
    full = built.report.render(limit=10 * 1024 * 1024)
    for plot in built.plots:
        if plot.png:
            rt.write_file(f"plots/{plot.filename}", plot.png)
    rt.write_file("report.md", full)
    rt.write_file("report.json", json.dumps(built.data, indent=2, default=str) + "\n")
    comment_path = rt.write_file("comment.md", body)
    rt.append_summary(built.report.render(limit=10 * 1024 * 1024, summary=True))
    rt.set_output("report-path", str(comment_path))
    rt.set_output("status", built.report.status)
    return body
