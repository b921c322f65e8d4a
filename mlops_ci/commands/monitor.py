"""`mlops-ci monitor`: the scheduled drift bot — production data against the champion's training profile.

The story: find the reference (the profile stored with the model version
behind the `champion` alias in MLflow, or a local profile); run the same drift
and contract checks as `mlops-ci drift` on the production data; show the
result in the job summary; then keep ONE issue per model in step with it —
open it (and optionally dispatch retraining) when drift starts, edit it and
comment while it persists, close it with a comment when drift is gone (see
:mod:`mlops_ci.bots.drift_issue`). Outside GitHub Actions the issue that would be
opened is written to `.mlops-ci/out/drift-issue.md` instead.

Exit codes: 0 whether or not there is drift (the issue is the alarm), 1 with
`--fail-on-drift` when there is, or when the retraining dispatch failed; 2 for
bad input (no production data, no reference profile).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mlops_ci.commands import config_option, option, project_option
from mlops_ci.errors import BadInput, MlopsError

if TYPE_CHECKING:
    from mlops_ci.github.api import GitHub
    from mlops_ci.bots.drift_issue import DriftFacts
    from mlops_ci.workspace import Workspace


class MonitorFailed(MlopsError):
    exit_code = 1


@click.command()
@project_option()
@config_option()
@option("--current", "-c", default=None, help="Production data: Parquet/CSV file, directory or glob "
        "(default: monitor.current, then drift.current).")
@option("--reference", "-r", default=None, help="Reference profile JSON on disk (default: monitor.reference, else "
        "the profile stored with the model version behind --alias in MLflow).")
@option("--model-name", default=None, help="Registered model (default: config mlflow.model_name / repo name).")
@option("--alias", default=None, help="Registry alias of the model in production (default: monitor.alias, "
        "champion).")
@option("--github-token", default=None, help="Token with issues: write (and actions: write to dispatch "
        "retraining). Default: $GITHUB_TOKEN.")
@option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
        help="Directory for drift.json, drift.md, drift.html (default: the run's output directory).")
@option("--fail-on-drift/--no-fail-on-drift", default=False, show_default=True,
        help="Exit 1 when production data drifts (the issue is opened/updated either way).")
def monitor(project_dir: str, config_path: str | None, current: str | None, reference: str | None,
            model_name: str | None, alias: str | None, github_token: str | None, out_dir: str | None,
            fail_on_drift: bool) -> None:
    """Drift of production data vs the champion's reference; keeps one `mlops:drift` issue."""
    from mlops_ci.github.checks import now
    from mlops_ci.drift.job import resolve_in_project, run_drift, write_outputs
    from mlops_ci.registry.register import model_name_for
    from mlops_ci.drift import markdown
    from mlops_ci.bots.drift_issue import facts_from
    from mlops_ci.workspace import open_workspace

    ws = open_workspace(project_dir, config_path, os.environ)
    rt, ctx, cfg, drift_cfg = ws.runtime, ws.context, ws.config.monitor, ws.config.drift
    rt.mask(github_token)
    current = current or cfg.current or drift_cfg.current
    if not current:
        raise BadInput("no production data to check: set monitor.current (or drift.current) in .mlops-ci.yml, "
                       "or pass --current")
    name = model_name_for(ws, model_name)
    ref_path, ref_label = reference_profile(ws, name, reference or cfg.reference, alias or cfg.alias)

    started = time.perf_counter()
    current_path = current if os.path.isabs(current) else resolve_in_project(project_dir, current)
    report = run_drift(ref_path, current_path, drift=drift_cfg, contracts=ws.config.contracts, repo=project_dir)
    files = write_outputs(report, Path(out_dir) if out_dir else rt.out_dir, columns_shown=drift_cfg.columns_shown,
                          pictures=drift_cfg.pictures)
    section = markdown.render(report, columns_shown=drift_cfg.columns_shown, pictures=drift_cfg.pictures,
                              max_chars=40_000)
    facts = facts_from(report, model=name, reference=ref_label, current=current, when=now(), run_id=ctx.run_id,
                       run_url=ctx.run_url)

    if ctx.in_github:
        from mlops_ci.github.api import GitHub

        result = sync_issue(GitHub.from_env(ws.env, ctx.repository, github_token, rt), ws, facts, section)
    else:
        result = _local_issue(ws, facts, section)
    for key, value in {"dataset-drift": str(report.dataset_drift).lower(), "drifting": str(facts.drifting).lower(),
                       "drift-share": f"{report.drift_share:.4f}", "drifted-columns": str(report.n_drifted),
                       "report-json": str(files["json"]), **result}.items():
        rt.set_output(key, value)
    issue = f"#{result['issue-number']}" if result.get("issue-number") else "no issue"
    rt.append_summary(f"## 🔭 mlops-ci drift monitor: `{name}`\n\nReference: {ref_label} · production data: "
                      f"`{current}` · issue: {result['issue-action']} ({issue})\n\n{section}")
    click.echo(f"mlops-ci monitor: {name}: {'drift' if facts.drifting else 'no drift'}; issue "
               f"{result['issue-action']} ({issue}) in {time.perf_counter() - started:.1f}s", err=True)
    if result.get("retrain") == "failed":
        raise MonitorFailed("the retraining dispatch failed; see the drift issue's comment")
    if fail_on_drift and facts.drifting:
        from mlops_ci.drift.job import failure_message

        raise MonitorFailed(failure_message(report) or "production data drifts",
                            hint=f"Full report: {files['html']}")


def reference_profile(ws: "Workspace", name: str, local: str | None, alias: str) -> tuple[str, str]:
    """(profile path, how to describe it): a local file, or the champion's artifact downloaded from MLflow."""
    if local:
        path = local if os.path.isabs(local) else str(ws.root / local)
        if not os.path.isfile(path):
            raise BadInput(f"reference profile {local}: file not found (monitor.reference / --reference)")
        return path, f"`{local}`"
    from mlops_ci.registry.mlflow_registry import Registry, temp_dir

    if ws.config.registry.mode != "mlflow":
        raise BadInput(f"registry.mode is {ws.config.registry.mode}: set monitor.reference to a profile JSON")
    artifact = ws.config.monitor.profile_artifact
    registry = Registry(ws.mlflow_tracking_uri(), ws.config.mlflow.registry_uri)
    record = registry.by_alias(name, alias)
    if record is None:
        raise BadInput(f"model {name} has no version with alias @{alias} (monitor.alias)",
                       hint="Register and promote a model first, or set monitor.reference to a profile JSON.")
    path = registry.download(record.run_id, artifact, temp_dir()) if record.run_id else None
    if path is None or not path.is_file():
        raise BadInput(f"{name} v{record.version} (@{alias}) has no artifact {artifact} (monitor.profile_artifact)",
                       hint="Build the profile with `mlops-ci profile build` before `mlops-ci register`, or set "
                            "monitor.reference.")
    return str(path), f"MLflow `{name}` v{record.version} (@{alias}), `{artifact}`"


def sync_issue(gh: "GitHub", ws: "Workspace", facts: "DriftFacts", section: str) -> dict[str, str]:
    """Open, update or close this model's drift issue as :func:`mlops_ci.bots.drift_issue.plan` says."""
    from mlops_ci.bots.drift_issue import (
        OpenIssue, already_reported, first_run, ours, plan, render_body, render_close, render_duplicate,
        render_update, run_marker, since, title,
    )
    from mlops_ci.report.model import same_content

    cfg = ws.config.monitor
    mine = ours([OpenIssue(int(i["number"]), i.get("body") or "") for i in gh.issues(labels=[cfg.label])],
                facts.model)
    todo = plan(mine, facts.drifting, cfg.retrain_on)
    out = {"issue-action": todo.action, "issue-number": str(todo.issue or ""), "issue-url": "", "retrain": "no"}
    if todo.action == "open":
        body = render_body(facts, section, facts.when, facts.run_id)
        issue = gh.create_issue(title(cfg.title, facts.model), body, [cfg.label])
        out.update({"issue-number": str(issue["number"]), "issue-url": str(issue.get("html_url") or "")})
        if cfg.retrain_workflow:
            out["retrain"], note = _retrain(gh, ws, int(issue["number"]), facts)
            gh.create_issue_comment(int(issue["number"]), note)
    elif todo.action in ("update", "close") and todo.issue is not None:
        number, existing = todo.issue, next(i.body for i in mine if i.number == todo.issue)
        comments = [c.body for c in gh.issue_comments(number)]
        marker = run_marker(facts.run_id)
        commented = bool(marker) and any(marker in c for c in comments)
        if todo.action == "update":
            commented = already_reported(existing, comments, facts.run_id)
            body = render_body(facts, section, since(existing, facts.when), first_run(existing))
            if not same_content(existing, body):
                gh.update_issue(number, body=body)
            note = None
            if todo.retrain and cfg.retrain_workflow and not commented:
                out["retrain"], note = _retrain(gh, ws, number, facts)
            if not commented:
                gh.create_issue_comment(number, render_update(facts, note))
        else:
            if not commented:
                gh.create_issue_comment(number, render_close(facts))
            gh.update_issue(number, state="closed", state_reason="completed")
        for dup in todo.duplicates:
            gh.create_issue_comment(dup, render_duplicate(number))
            gh.update_issue(dup, state="closed", state_reason="not_planned")
    return out


def _retrain(gh: "GitHub", ws: "Workspace", issue: int, facts: "DriftFacts") -> tuple[str, str]:
    """Dispatch the retraining workflow; ("dispatched"|"failed", a sentence for the issue)."""
    from mlops_ci.github.api import GitHubError

    cfg, ctx = ws.config.monitor, ws.context
    workflow = str(cfg.retrain_workflow)
    ref = cfg.retrain_ref or ctx.default_branch or gh.repo_info().get("default_branch") or "main"
    inputs = {"reason": f"data drift: {facts.n_drifted} of {facts.n_tested} columns ({facts.drift_share:.0%})",
              "drift-issue": str(issue)} if cfg.retrain_inputs else None
    try:
        gh.dispatch_workflow(workflow, ref, inputs)
    except GitHubError as exc:
        ws.runtime.annotate("error", f"retraining dispatch failed: {exc.message}", title="mlops-ci monitor")
        return "failed", f"⚠️ Retraining dispatch of `{workflow}` on `{ref}` failed: {exc.message[:500]}\n"
    url = f"{ctx.server_url}/{ctx.repository}/actions/workflows/{workflow}"
    return "dispatched", f"🔁 Retraining dispatched: [`{workflow}`]({url}) on `{ref}`.\n"


def _local_issue(ws: "Workspace", facts: "DriftFacts", section: str) -> dict[str, Any]:
    """No GitHub here: write what would be posted, as every command does locally."""
    from mlops_ci.bots.drift_issue import render_body

    if not facts.drifting:
        return {"issue-action": "none", "issue-number": "", "issue-url": "", "retrain": "no"}
    path = ws.runtime.write_file("drift-issue.md", render_body(facts, section, facts.when))
    click.echo(f"mlops-ci monitor: not in GitHub Actions; the drift issue is in {path}", err=True)
    return {"issue-action": "local", "issue-number": "", "issue-url": str(path), "retrain": "no"}
