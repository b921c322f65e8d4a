"""`mlops-ci gate`: the champion–challenger verdict, as a check run branch protection can require.

The story: in Actions, create the check `mlops-ci / gate` on the PR head at
once, so it exists whatever happens next; reach the verdict
(:func:`mlops_ci.gate_runner.run_gate`: the base commit's rules, this change's
metrics against the champion); complete the check with the verdict, a
table of every rule and annotations on the metric and params lines involved.
Any error on the way completes the check as `failure` with the reason —
never a pass, never a missing check. Locally the verdict goes to gate.json.
Exit codes: 0 pass (or neutral), 1 gate failed, 2 bad input or config.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlops_ci.commands import config_option, option, project_option
from mlops_ci.errors import BadInput
from mlops_ci.redact import describe

if TYPE_CHECKING:
    from mlops_ci.github.checks import CheckRun
    from mlops_ci.gate.verdict import GateVerdict
    from mlops_ci.workspace import Workspace

CHECK_NAME = "mlops-ci / gate"


@click.command()
@project_option()
@config_option()
@option("--champion-metrics", type=click.Path(dir_okay=False, path_type=Path), default=None,
        help="Champion metrics file (skips registry / base-branch resolution).")
@option("--challenger-metrics", type=click.Path(dir_okay=False, path_type=Path), default=None,
        help="Challenger metrics file (default: the DVC metrics in the working tree).")
@option("--champion-predictions", type=click.Path(dir_okay=False, path_type=Path), default=None,
        help="Champion per-example holdout predictions (CSV) for significance / fairness rules.")
@option("--challenger-predictions", type=click.Path(dir_okay=False, path_type=Path), default=None,
        help="Challenger per-example predictions (default: config registry.predictions in the working tree).")
@option("--base", default=None, help="Base revision whose metrics are the champion when no registry has one.")
@option("--model-name", default=None, help="Registered model to read alias `champion` of.")
@option("--check/--no-check", "publish_check", default=None,
        help="Report the check run (default: yes in Actions, no locally).")
@option("--check-name", default=CHECK_NAME, show_default=True,
        help="Name of the check run (what branch protection requires).")
@option("--github-token", default=None, help="Token with `checks: write` (default: $GITHUB_TOKEN).")
@option("--repro-outcome", default=None,
        help="Outcome of the job's repro step (`steps.<repro>.outcome`): anything but success fails the gate "
             "without judging metrics the pipeline did not produce.")
def gate(project_dir: str, config_path: str | None, champion_metrics: Path | None, challenger_metrics: Path | None,
         champion_predictions: Path | None, challenger_predictions: Path | None, base: str | None,
         model_name: str | None, publish_check: bool | None, check_name: str, github_token: str | None,
         repro_outcome: str | None) -> None:
    """Evaluate the champion–challenger gate and report it as a check run."""
    from mlops_ci.gate_runner import run_gate
    from mlops_ci.workspace import open_workspace

    env = dict(os.environ)
    in_github = env.get("GITHUB_ACTIONS") == "true"
    check = _start_check(env, check_name, github_token) if (publish_check if publish_check is not None
                                                             else in_github) else None
    # Everything after the check exists runs under this guard, publishing included: an error
    # anywhere completes the check as failure with the reason (fail closed), never leaves it
    # in progress.
    try:
        ws = open_workspace(project_dir, config_path, env)
        verdict = run_gate(ws, champion_metrics=champion_metrics, challenger_metrics=challenger_metrics,
                           champion_predictions=champion_predictions, challenger_predictions=challenger_predictions,
                           base=base, model_name=model_name, repro_outcome=repro_outcome)
        _finish(ws, verdict, check)
    except Exception as exc:
        _fail_check(check, exc)
        _failure_outputs(project_dir, env, exc)
        if check is None:
            _record_failure(project_dir, env, exc)
        raise
    if not verdict.passed:
        raise click.exceptions.Exit(1)


def _record_failure(project_dir: str, env: dict[str, str], exc: BaseException) -> None:
    """Without a check run (a fork's run, local mode) the failure is still a verdict in gate.json.

    A fork's report artifact carries gate.json to the publishing job, which reports the check:
    an error must travel as a failing verdict, not as no verdict at all.
    """
    from mlops_ci.gate.verdict import GateVerdict
    from mlops_ci.github.actions import Runtime

    reason = describe(exc)
    try:
        Runtime.detect(project_dir, env).write_file("gate.json", GateVerdict.from_error(reason).to_json() + "\n")
    except Exception as write_error:  # noqa: BLE001 - the original error matters more
        click.echo(f"mlops-ci: could not write gate.json: {describe(write_error)}", err=True)


def _fail_check(check: "CheckRun | None", exc: BaseException) -> None:
    """Complete the check as failure with the reason; the original error is what the caller re-raises."""
    if check is None:
        return
    reason = describe(exc)
    try:
        check.fail(reason)
    except Exception as publish_error:  # noqa: BLE001 - the original error matters more; say why the check is stuck
        click.echo(f"mlops-ci: could not complete the check {check.name!r} as failure: "
                   f"{describe(publish_error)}", err=True)


def _start_check(env: dict[str, str], name: str, token: str | None) -> "CheckRun":
    from mlops_ci.github.api import GitHub
    from mlops_ci.github.checks import CheckRun
    from mlops_ci.github.context import detect

    ctx = detect(env)
    sha = ctx.head_sha or ctx.sha
    if not sha:
        raise BadInput("no commit to attach the check to: this event has no head SHA")
    check = CheckRun(GitHub.from_env(env, ctx.repository, token), name, sha, ctx.run_url)
    check.start()
    return check


def _finish(ws: "Workspace", verdict: "GateVerdict", check: "CheckRun | None") -> None:
    from mlops_ci import gate_runner
    from mlops_ci.adapters.dvc import WORKSPACE
    from mlops_ci.github.checks import CheckOutcome
    from mlops_ci.gate.verdict import annotations, render_markdown

    summary = render_markdown(verdict)
    rt = ws.runtime

    def outputs() -> None:
        # Only once the check says the same: a step output `conclusion=success` next to a check
        # that could not be completed would let a later step treat the gate as passed.
        rt.set_output("conclusion", verdict.conclusion)
        rt.set_output("title", verdict.title)
        rt.set_output("verdict-path", str(rt.out_dir / "gate.json"))

    rt.append_summary(summary)
    click.echo(f"gate: {verdict.conclusion} — {verdict.title}")
    click.echo(f"champion: {verdict.champion_source}")
    if check is None:
        outputs()
        # "In Actions" comes from the runtime (GITHUB_ACTIONS), not from ws.context: that runs git
        # detection, which fails outside a git repository or in one without commits.
        if not rt.in_github:
            click.echo(f"verdict written to {rt.out_dir / 'gate.json'}", err=True)
        return
    notes: list[dict] = []
    if not verdict.passed:
        try:
            files = ws.dvc.read_metrics(WORKSPACE, ws.config.metrics.files, ws.config.metrics.ignore)
            changed = _changed_params(ws)
            notes = annotations(verdict, gate_runner.metric_locations(ws, files),
                                gate_runner.param_locations(ws, changed))
        except Exception as exc:  # noqa: BLE001 - annotations are a nicety: complete the check without them
            click.echo(f"mlops-ci: gate annotations skipped: {describe(exc)}", err=True)
            notes = []
    check.complete(CheckOutcome(verdict.conclusion, verdict.title, summary, annotations=tuple(notes)))
    outputs()
    rt.set_output("check-url", check.html_url or "")


def _failure_outputs(project_dir: str, env: dict[str, str], exc: BaseException) -> None:
    """The step's outputs after an error: `conclusion=failure` and the reason, never a stale success."""
    from mlops_ci.github.actions import Runtime

    try:
        rt = Runtime.detect(project_dir, env)
        rt.set_output("conclusion", "failure")
        rt.set_output("title", f"Gate error: {describe(exc).splitlines()[0][:200]}")
    except Exception as write_error:  # noqa: BLE001 - the original error matters more
        click.echo(f"mlops-ci: could not write the gate's step outputs: {describe(write_error)}", err=True)


def _changed_params(ws: "Workspace") -> list[tuple[str, str]]:
    from mlops_ci.adapters.dvc import WORKSPACE
    from mlops_ci.params import diff_params

    base = ws.base_revision(None)
    declared = ws.dvc.declared_params(base, WORKSPACE)
    diff = diff_params(ws.dvc.read_params(base, declared), ws.dvc.read_params(WORKSPACE, declared),
                       base_label="base", head_label="head")
    return [(c.path, c.name) for c in diff.changed]

