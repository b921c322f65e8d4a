"""Assemble the PR report from what this job produced.

Sections plug in: metrics and params are computed here from git/DVC; plots are
drawn; run facts come from the repro step's record; results that other steps
left in the output directory (drift, contracts, gate, cost) are picked up by
their section loaders when present. Nothing here talks to GitHub.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_ci.adapters.dvc import WORKSPACE
from mlops_ci.metrics import diff_metrics
from mlops_ci.params import diff_params
from mlops_ci.plots import plot_specs
from mlops_ci.report.facts import RunFacts, load_repro, repro_summary_job, runner_description
from mlops_ci.report.model import Report
from mlops_ci.report.plots_section import RenderedPlot, plots_section, render_plots
from mlops_ci.report.sections import metrics_section, params_section, run_facts_section

if TYPE_CHECKING:
    from mlops_ci.workspace import Workspace


@dataclass
class AssembledReport:
    report: Report
    plots: list[RenderedPlot] = field(default_factory=list)
    data: dict = field(default_factory=dict)


def assemble(ws: "Workspace", *, base: str | None = None, head: str | None = None, report_id: str = "pr",
             all_params: bool = False, with_plots: bool = True, runner_labels: str | None = None,
             title: str = "mlops-ci report") -> AssembledReport:
    from mlops_ci.workspace import short

    ws.require_git()
    ws.dvc.require_pipeline()
    base_rev, head_rev = ws.base_revision(base), ws.head_revision(head)
    base_label, head_label = short(base_rev), ("PR" if head_rev == WORKSPACE else short(head_rev))
    cfg = ws.config.metrics

    repro = load_repro(ws.runtime.out_dir)
    # after a failed pipeline a missing metrics file is what the report is about, not a reason to post nothing
    failed = repro is not None and not repro.ok
    metrics = diff_metrics(ws.dvc.read_metrics(base_rev, cfg.files, cfg.ignore),
                           ws.dvc.read_metrics(head_rev, cfg.files, cfg.ignore, missing_ok=failed),
                           base_label=base_label, head_label=head_label, directions=cfg.direction,
                           ignore=cfg.ignore, precision=cfg.precision, noisy=cfg.noisy)
    declared = ws.dvc.declared_params(base_rev, head_rev)
    params = diff_params(ws.dvc.read_params(base_rev, declared), ws.dvc.read_params(head_rev, declared),
                         base_label=base_label, head_label=head_label)

    ctx = ws.context
    report = Report(title=title, report_id=report_id,
                    footer=_footer(ctx.run_url, base_rev, head_rev, ctx.head_sha))
    report.add(metrics_section(metrics))
    report.add(params_section(params, show_all=all_params))

    plots: list[RenderedPlot] = []
    if with_plots:
        specs = plot_specs(ws.dvc.pipeline_file(head_rev)) or plot_specs(ws.dvc.pipeline_file(base_rev))
        if specs:
            plots = render_plots(specs, ws.dvc.read, [("base", base_rev, base_label), ("head", head_rev, head_label)])
            report.add(plots_section(plots))

    facts = RunFacts(repro=repro,
                     runner=runner_description(ws.env, runner_labels),
                     run_url=ctx.run_url,
                     artifact_url=f"{ctx.run_url}#artifacts" if ctx.run_url else None,
                     mlflow_url=_champion_url(ws.runtime.out_dir),
                     base=f"`{base_rev[:7]}`", head="working tree" if head_rev == WORKSPACE else f"`{head_rev[:7]}`")
    loaded = [s for s in (loader(ws.runtime.out_dir) for loader in section_loaders()) if s is not None]
    # stage timings once per page: the Cost table lists the stages when there is one, and this
    # job's summary already holds the repro step's part when it ran here
    stages_above = repro is not None and repro_summary_job(ws.runtime.out_dir) == ws.runtime.job_key()
    report.add(run_facts_section(facts, stage_table=not any(s.key == "cost" for s in loaded),
                                 stages_above=stages_above))
    for section in loaded:
        if section.key == "cost" and stages_above:
            section.summary_body = ""
        report.add(section)

    data = {"base": base_rev, "head": head_rev, "metrics": metrics.to_dict(), "params": params.to_dict(),
            "plots": [{"id": p.spec.id, "file": p.filename if p.png else None, "problem": p.problem} for p in plots]}
    return AssembledReport(report, plots, data)


def section_loaders() -> tuple:
    """Sections other steps contribute through files in the output directory (gate, drift, …)."""
    from mlops_ci.report.loaders import LOADERS

    return LOADERS


def _champion_url(out_dir: Path) -> str | None:
    """The MLflow page of the champion the gate compared with (gate.json), when it has one."""
    try:
        url = json.loads((out_dir / "gate.json").read_text(encoding="utf-8")).get("champion_url")
    except (OSError, ValueError, AttributeError):
        return None
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else None


def _footer(run_url: str | None, base_rev: str, head_rev: str, head_sha: str | None) -> str:
    from mlops_ci.report.model import volatile

    parts = ["Generated by [mlops-ci](https://github.com/org/mlops-ci)"]
    if run_url:
        parts.append(volatile(f"[workflow run]({run_url})"))
    parts.append(f"base `{base_rev[:7]}`")
    parts.append("head: working tree" if head_rev == WORKSPACE else f"head `{head_rev[:7]}`")
    if head_sha and head_rev == WORKSPACE:
        parts.append(f"commit `{head_sha[:7]}`")
    return " · ".join(parts)
