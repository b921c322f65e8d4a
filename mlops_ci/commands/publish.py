"""`mlops-ci publish DIR`: post a report that a fork PR's run left as an artifact.

Runs in a `workflow_run` job: it has a write token, and it must never run the
PR's code — it only reads the payload, which it treats as untrusted. The
story: read and validate the payload; check that it was built from the very
commit the triggering run built, and that this commit is still the head of the
PR it names; then post it with the same sticky policy as `mlops-ci report`; and when the run evaluated the
gate, report its verdict as the check run the fork's read-only token could not create.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import click

from mlops_ci.commands import option
from mlops_ci.commands.guard import approval_trust_options
from mlops_ci.errors import BadInput

if TYPE_CHECKING:
    from mlops_ci.adapters.github import GitHub
    from mlops_ci.report.payload import Payload
    from mlops_ci.report.target import Target
    from mlops_ci.sticky import PublishResult
    from mlops_ci.workspace import Workspace


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path), envvar="MLOPS_CI_DIRECTORY")
@option("--github-token", default=None, help="Token with pull-requests: write (default: $GITHUB_TOKEN).")
@option("--head-sha", default=None, help="Commit the triggering run built (default: the workflow_run event's).")
@option("--comment-author", default=None,
        help="Login the token comments as (e.g. 'my-app[bot]'); only its comments are ever edited or deleted. "
             "Default: asked from GitHub for a personal token, else github-actions[bot].")
@option("--check-name", default="mlops-ci / gate", show_default=True,
        help="Check run that reports the gate verdict carried in DIRECTORY (needs checks: write).")
@approval_trust_options
def publish(directory: Path, github_token: str | None, head_sha: str | None, comment_author: str | None,
            check_name: str, trusted_bots: tuple[str, ...], command_prefix: str) -> None:
    """Post the report in DIRECTORY (written by `report --to-artifact`) to its pull request."""
    from mlops_ci.adapters.github import GitHub, IssueThread
    from mlops_ci.report.model import marker
    from mlops_ci.report.payload import read_payload
    from mlops_ci.sticky import publish as publish_sticky
    from mlops_ci.workspace import open_workspace

    ws = open_workspace(".", None, os.environ)
    rt, ctx = ws.runtime, ws.context
    rt.mask(github_token)
    payload = read_payload(directory)

    built = head_sha or (ctx.head_sha if ctx.event_name == "workflow_run" else None)
    if not built:
        raise BadInput("cannot tell which commit the triggering run built: run this on `workflow_run`, "
                       "or pass --head-sha")
    if payload.head_sha != built:
        raise BadInput(f"{directory}: the payload is for commit {str(payload.head_sha)[:12]} but the triggering "
                       f"run built {built[:12]}; refusing to post it")
    if payload.pull_request is None:
        raise BadInput(f"{directory}: the payload names no pull request")
    if ctx.repository and payload.repository and payload.repository != ctx.repository:
        raise BadInput(f"{directory}: the payload is for {payload.repository}, this run is in {ctx.repository}")

    gh = GitHub.from_env(ws.env, ctx.repository, github_token, rt)
    pr = gh.pull(payload.pull_request)
    pr_head = (pr.get("head") or {}).get("sha")
    if pr_head != payload.head_sha:
        rt.annotate("notice", f"PR #{payload.pull_request} has moved on to {str(pr_head)[:7]}; the report for "
                              f"{payload.head_sha[:7]} is stale and was not posted", title="mlops-ci publish")
        rt.set_output("comment-action", "skipped")
        return
    expected_repo = ctx.details.get("head_repository")
    actual_repo = ((pr.get("head") or {}).get("repo") or {}).get("full_name")
    if expected_repo and actual_repo and expected_repo != actual_repo:
        raise BadInput(f"PR #{payload.pull_request} comes from {actual_repo}, but the triggering run was for "
                       f"{expected_repo}; refusing to post")

    result = publish_sticky(IssueThread(gh, payload.pull_request), payload.body, marker(payload.marker_id),
                            payload.mode, payload.hide_previous,  # type: ignore[arg-type]
                            author=comment_author_of(gh, ws.env, comment_author))
    _announce(rt, result)
    if payload.gate is not None:
        report_gate(gh, rt, ctx, payload, check_name, trusted_bots, command_prefix)


def report_gate(gh: "GitHub", rt, ctx, payload: "Payload", check_name: str,  # noqa: ANN001
                trusted_bots: tuple[str, ...] = ("github-actions[bot]",), command_prefix: str = "/mlops") -> None:
    """The check run a fork's read-only token could not create, from the verdict its run evaluated.

    A fork controls the workflow its PR runs, so the artifact proves nothing by itself: a fork can
    skip the guard and upload any verdict. It is believed only for a commit a maintainer approved
    through the API-verifiable path (`/mlops approve <sha>` or the bot's record of one) — the same
    approval the guard requires before that commit may run. Otherwise, and when the verdict does
    not read as one, the check fails (never a pass). The verdict is re-rendered from its fields.
    """
    from mlops_ci.checks import CheckOutcome, CheckRun
    from mlops_ci.commands.guard import judge
    from mlops_ci.gate.verdict import GateVerdict, render_markdown

    run_id = ctx.details.get("triggering_run_id")
    run_url = (f"{ctx.server_url}/{ctx.repository}/actions/runs/{run_id}" if run_id and ctx.repository
               else ctx.run_url)
    sha = str(payload.head_sha)
    check = CheckRun(gh, check_name, sha, run_url)
    approval = judge(gh, int(payload.pull_request or 0), sha, {}, "", trusted_bots, command_prefix)
    if not approval.allowed:
        check.complete(CheckOutcome(
            "failure", f"Not approved: the fork's gate verdict for {sha[:12]} is not trusted",
            f"{approval.reason}.\n\nA fork pull request's run can report any verdict, so it counts only for a "
            f"commit a maintainer approved: review commit `{sha}`, comment `{command_prefix} approve {sha}`, "
            "then re-run the pull request's workflow. (The approval label lets the job run but leaves no "
            "record this job can verify.)"))
        rt.set_output("check-conclusion", "failure")
        click.echo(f"check {check_name!r}: failure (commit {sha[:12]} not approved)")
        return
    try:
        verdict = GateVerdict.from_dict(payload.gate or {})
        if verdict.conclusion not in ("success", "failure", "neutral"):
            raise ValueError(f"conclusion {verdict.conclusion!r} is not success, failure or neutral")
        summary = render_markdown(verdict)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        check.fail(f"the fork pull request's run left a gate verdict that cannot be read: "
                   f"{type(exc).__name__}: {exc}")
        rt.set_output("check-conclusion", "failure")
        click.echo(f"check {check_name!r}: failure (unreadable verdict)")
        return
    where = f"[the fork pull request's run]({run_url})" if run_url else "the fork pull request's run"
    provenance = (f"> Evaluated in {where} on commit `{sha[:12]}` ({approval.reason}); reported here by "
                  "`mlops-ci publish`, because a fork's token cannot create check runs.\n\n")
    check.complete(CheckOutcome(verdict.conclusion, verdict.title, provenance + summary))
    rt.set_output("check-conclusion", verdict.conclusion)
    click.echo(f"check {check_name!r}: {verdict.conclusion} — {verdict.title}")


def comment_author_of(gh: "GitHub", env: Mapping[str, str], explicit: str | None = None):  # noqa: ANN201
    """Who our comments are by: ``explicit`` / ``MLOPS_CI_COMMENT_AUTHOR``, else (lazily) ``GET /user``.

    The sticky policy falls back to ``github-actions[bot]`` when neither says (``GITHUB_TOKEN`` cannot
    call ``GET /user``); a GitHub App token should name its ``<app-slug>[bot]`` login explicitly.
    """
    login = (explicit or env.get("MLOPS_CI_COMMENT_AUTHOR") or "").strip()
    return login or gh.viewer_login


def post_comment(ws: "Workspace", *, body: str, marker_id: str, target: "Target", mode: str,
                 hide_previous: bool, token: str | None) -> "PublishResult":
    """Post ``body`` as the sticky comment for ``marker_id`` where ``target`` says."""
    from mlops_ci.adapters.github import GitHub
    from mlops_ci.report.model import marker
    from mlops_ci.sticky import publish as publish_sticky

    gh = GitHub.from_env(ws.env, ws.context.repository, token, ws.runtime)
    thread = resolve_thread(gh, ws, target)
    return publish_sticky(thread, body, marker(marker_id), mode, hide_previous,  # type: ignore[arg-type]
                          author=comment_author_of(gh, ws.env))


def resolve_thread(gh: "GitHub", ws: "Workspace", target: "Target"):  # noqa: ANN201 - a CommentThread
    from mlops_ci.adapters.github import CommitThread, IssueThread

    ctx = ws.context
    if target.kind in ("pr", "issue") and target.number is not None:
        return IssueThread(gh, target.number)
    if target.kind == "commit":
        sha = target.sha or ctx.head_sha
        if not sha:
            raise BadInput("--target commit: no commit SHA in this event; use commit/<sha>")
        return CommitThread(gh, sha)
    if ctx.pull_request is not None:
        return IssueThread(gh, ctx.pull_request.number)
    if target.kind == "pr":
        raise BadInput("--target pr: this event has no pull request; use pr/<number>")
    sha = ctx.head_sha
    if not sha:
        raise BadInput("cannot tell where to comment: no pull request and no commit in this event; pass --target")
    for pull in gh.pulls_for_commit(sha):
        if pull.get("state") == "open" and (pull.get("head") or {}).get("sha") == sha:
            return IssueThread(gh, int(pull["number"]))
    return CommitThread(gh, sha)


def _announce(rt, result: "PublishResult") -> None:  # noqa: ANN001
    rt.set_output("comment-id", str(result.comment.id))
    rt.set_output("comment-url", result.comment.html_url or "")
    rt.set_output("comment-action", result.action)
    click.echo(f"comment {result.action}: {result.comment.html_url or result.comment.id}")
