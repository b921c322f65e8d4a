"""`mlops-ci metrics diff`: DVC metrics at two revisions, side by side."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import click

from mlops_ci.commands import config_option, option, project_option

if TYPE_CHECKING:
    from mlops_ci.metrics import MetricDiff
    from mlops_ci.workspace import Workspace


@click.group()
def metrics() -> None:
    """Compare DVC metrics between revisions."""


@metrics.command()
@project_option()
@config_option()
@option("--base", default=None, help="Revision to compare against. Default: the PR base, the push's previous "
        "commit, or (locally) the merge-base with the default branch.")
@option("--head", default=None, help="Revision with the change. Default: the working tree (after repro).")
@option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True,
        help="Output: a Markdown table, or JSON for scripts.")
@option("--precision", type=click.IntRange(0, 12), default=None, help="Decimals shown (default: from config, 4).")
@option("--all", "show_all", is_flag=True, help="Also list unchanged metrics.")
@option("--summary/--no-summary", default=None, help="Append the table to the job summary (default: on in Actions).")
def diff(project_dir: str, config_path: str | None, base: str | None, head: str | None, fmt: str,
         precision: int | None, show_all: bool, summary: bool | None) -> None:
    """Show old, new, absolute and relative change of every metric."""
    from mlops_ci import render
    from mlops_ci.workspace import open_workspace

    ws = open_workspace(project_dir, config_path, os.environ)
    result = compute_diff(ws, base, head, precision)
    base_rev, head_rev = result.base_label, result.head_label

    if fmt == "json":
        text = json.dumps(result.to_dict(), indent=2)
    else:
        text = f"{render.headline(result)}\n\n{render.metrics_table(result, only_changed=not show_all)}"
    click.echo(text)

    rt = ws.runtime
    rt.set_output("changed", str(len(result.changed)))
    rt.set_output("regressed", str(len(result.regressions)))
    rt.set_output("json", json.dumps(result.to_dict()))
    if summary if summary is not None else rt.in_github:
        rt.append_summary(f"### Metrics: {base_rev} → {head_rev}\n\n"
                          f"{render.headline(result)}\n\n{render.metrics_table(result, only_changed=not show_all)}\n")


def compute_diff(ws: "Workspace", base: str | None = None, head: str | None = None,
                 precision: int | None = None) -> "MetricDiff":
    """Metrics at the base revision vs the head (default: the working tree)."""
    from mlops_ci.metrics import diff_metrics
    from mlops_ci.workspace import short

    ws.require_git()
    ws.dvc.require_pipeline()
    cfg = ws.config.metrics
    base_rev = ws.base_revision(base)
    head_rev = ws.head_revision(head)
    return diff_metrics(
        ws.dvc.read_metrics(base_rev, cfg.files, cfg.ignore),
        ws.dvc.read_metrics(head_rev, cfg.files, cfg.ignore),
        base_label=short(base_rev), head_label=short(head_rev),
        directions=cfg.direction, ignore=cfg.ignore,
        precision=cfg.precision if precision is None else precision, noisy=cfg.noisy,
    )
