"""`mlops-ci repro`: pull, reproduce, push — and remember what each stage cost.

The work is :func:`mlops_ci.pipeline.run.run_repro`; this command passes the options in and
ends with one line per stage read back from repro.json, after a failed stage too.
"""

from __future__ import annotations

import os
import time

import click

from mlops_ci.commands import config_option, option, project_option


@click.command()
@project_option()
@config_option()
@option("--target", "targets", multiple=True, help="Stage or dvc.yaml to reproduce (repeatable; default: all). "
        "From the environment: space-separated.")
@option("--force", is_flag=True, help="Reproduce even if nothing changed.")
@option("--keep-going", is_flag=True, default=None, help="Continue with independent stages when one fails.")
@option("--pull/--no-pull", default=None, help="dvc pull data and run-cache first (default: from config, on).")
@option("--push/--no-push", default=None, help="dvc push outputs and run-cache afterwards (default: from config, on).")
@option("--remote", default=None, help="DVC remote (default: from config or the project's default remote).")
@option("--push-remote", default=None, help="DVC remote to push to instead of --remote: a remote main never "
        "reads, for pull-request jobs (default: config repro.push_remote, else --remote).")
@option("--stage-timeout", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
        help="Stop a stage (and every process it started) that runs longer, and fail naming it; applies to "
        "every stage and replaces repro.stage_timeout (0: no limit). Default: from config, none.")
def repro(project_dir: str, config_path: str | None, targets: tuple[str, ...], force: bool,
          keep_going: bool | None, pull: bool | None, push: bool | None, remote: str | None,
          push_remote: str | None, stage_timeout: float | None) -> None:
    """Run the DVC pipeline: dvc pull → dvc repro → dvc push, timing each stage.

    A heartbeat line comes at least every repro.heartbeat seconds (60) while DVC runs; on a GPU
    runner the GPUs are sampled and their use lands in repro.json and the report.
    """
    from mlops_ci.pipeline.run import final_summary, run_repro
    from mlops_ci.workspace import open_workspace

    ws = open_workspace(project_dir, config_path, os.environ)
    started = time.time()
    try:
        run_repro(ws, targets=_split(targets), force=force, keep_going=keep_going, pull=pull, push=push,
                  remote=remote, push_remote=push_remote, stage_timeout=stage_timeout, echo=click.echo)
    finally:  # after a failed stage too: the table is what says which one
        click.echo(final_summary(ws.runtime.out_dir / "repro.json", since=started))


def _split(values: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for value in values:
        out.extend(value.split())
    return out
