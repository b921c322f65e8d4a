"""Section builders: domain results in, report sections out (pure)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlops_ci import render
from mlops_ci.metrics import MetricDiff
from mlops_ci.report.model import Section

if TYPE_CHECKING:
    from mlops_ci.params import ParamChange, ParamsDiff
    from mlops_ci.report.facts import RunFacts
    from mlops_ci.pipeline.repro import ReproResult

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


def params_section(diff: "ParamsDiff", *, show_all: bool = False) -> Section:
    changes = diff.changes if show_all else diff.changed
    n = len(diff.changed)
    summary = f"{n} changed" if n else "unchanged"
    if not changes:
        body = "_No parameter changed._" if diff.changes else "_No parameters declared in dvc.yaml._"
        return Section(key="params", title="Parameters", body=body, summary=summary, order=ORDER["params"])

    def rows(items: list["ParamChange"]) -> list[list[str]]:
        show_path = len({c.path for c in diff.changes}) > 1
        out = []
        for c in items:
            old = "—" if not c.old_present else f"`{c.old!r}`" if isinstance(c.old, str) else f"`{c.old}`"
            new = "—" if not c.new_present else f"`{c.new!r}`" if isinstance(c.new, str) else f"`{c.new}`"
            name = f"{c.path}: {c.name}" if show_path else c.name
            out.append([name, old, new, c.status])
        return out

    def as_table(items: list["ParamChange"], extra: int = 0) -> str:
        text = render.table(["Param", diff.base_label, diff.head_label, ""], rows(items))
        return text + (f"\n\n… and {extra} more (see the job summary / report artifact)" if extra else "")

    def shrink(room: int) -> str:
        n_rows = max(1, room // 60)
        while n_rows >= 1:
            text = as_table(changes[:n_rows], len(changes) - n_rows)
            if len(text) <= room:
                return text
            n_rows = n_rows * 3 // 4 if n_rows > 4 else n_rows - 1
        return f"… {len(changes)} parameters (see the job summary / report artifact)"

    return Section(key="params", title="Parameters", body=as_table(changes), summary=summary,
                   order=ORDER["params"], shrink=shrink, folded=len(changes) > 20)


def run_facts_section(facts: "RunFacts", *, stage_table: bool = True, stages_above: bool = False) -> Section:
    """Stages, runner and links. Stage timings appear once per page: ``stage_table=False`` when the
    Cost section's table lists the stages; ``stages_above`` when this job's summary already shows
    them (the `mlops-ci repro` part), so the summary copy points there instead."""
    from mlops_ci.report.model import volatile

    lines = []
    stages = ""
    if facts.repro is not None:
        stages = (render.repro_table(facts.repro, volatile=volatile) if stage_table
                  else render.repro_counts(facts.repro, volatile) + " Per stage: see **Cost** below.")
        lines.append(stages)
        lines.append("")
        if facts.repro.stopped is not None:  # mlops-ci stopped a stage over its time limit
            lines += [f"- ⛔ **Stopped**: {facts.repro.stopped.message}", ""]
        if facts.repro.leftovers:
            lines += [f"- ⚠️ **Left running by a stage** (stopped after `dvc repro` ended): "
                      f"{len(facts.repro.leftovers)} process(es), e.g. `{facts.repro.leftovers[0]}`", ""]
    details = [("Runner", facts.runner), ("Workflow run", facts.run_url), ("Report artifact", facts.artifact_url),
               ("MLflow champion", facts.mlflow_url), ("Base", facts.base), ("Head", facts.head)]
    lines.extend(f"- **{name}**: {volatile(value) if name in ('Runner', 'Workflow run', 'Report artifact') else value}"
                 for name, value in details if value)
    status = "info"
    summary = ""
    if facts.repro is not None:
        ran = facts.repro.names("ran")
        reused = facts.repro.names("cached") + facts.repro.names("unchanged")
        status = "pass" if facts.repro.ok else "fail"
        summary = (f"{len(ran)} stage(s) ran, {len(reused)} reused, {volatile(f'{facts.repro.seconds:.1f} s')}"
                   if facts.repro.ok else f"failed at {', '.join(facts.repro.failed) or 'an unnamed stage'}"
                   + (" (time limit)" if facts.repro.stopped else ""))
    body = "\n".join(lines) or "_No run facts._"
    in_summary = body.replace(stages, "Stages, their times and cost: in the **DVC pipeline** part above.", 1) \
        if stages and stages_above else None
    return Section(key="run", title="Run", body=body, summary=summary, status=status, order=ORDER["run"],
                   summary_body=in_summary)
