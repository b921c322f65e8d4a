"""`mlops-ci publish DIR`: post what a fork PR's run left as an artifact, and report its gate check.

Runs in a job that holds a write token and never runs the PR's code: the
default branch's fork workflow (`mlops-fork.yml`, after its read-only GPU job)
or a `workflow_run` job. Everything in DIR is hostile (see
:mod:`mlops_ci.report.payload` and :mod:`mlops_ci.report.untrusted`). The
story: know which commit and PR the run was for *before* reading the artifact,
so even an unreadable one ends in a failing check rather than a check that is
"Expected" forever; read and validate the payload; check it is for the very
commit the run built, that this commit is still the head of the PR it names and
comes from the right repository; post it defused and labelled as the fork's,
as one sticky comment that is updated in place; and complete the
`mlops-ci / gate` check from its verdict — believed only for a commit the bot
recorded as approved, its conclusion recomputed from the rows, and never on a
commit that is also another pull request's head.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import click

from mlops_ci.commands import option
from mlops_ci.commands.guard import approval_trust_options
from mlops_ci.errors import BadInput
from mlops_ci.redact import describe

if TYPE_CHECKING:
    from mlops_ci.github.api import GitHub
    from mlops_ci.github.approvals import GuardVerdict
    from mlops_ci.gate.verdict import GateVerdict
    from mlops_ci.report.payload import Payload
    from mlops_ci.github.sticky import PublishResult


@click.command()
@click.argument("directory", type=click.Path(path_type=Path), envvar="MLOPS_CI_DIRECTORY")
@option("--github-token", default=None, help="Token with pull-requests: write and checks: write "
        "(default: $GITHUB_TOKEN).")
@option("--head-sha", default=None, help="Commit the run built: the fork workflow's `sha` input (default: the "
        "workflow_run event's head_sha).")
@option("--pr", "pr_number", type=click.IntRange(min=1), default=None,
        help="Pull request the run was for: the fork workflow's `pr` input. The payload must name the same.")
@option("--comment-author", default=None,
        help="Login the token comments as (e.g. 'my-app[bot]'); only its comments are ever edited or deleted. "
             "Default: asked from GitHub for a personal token, else github-actions[bot].")
@option("--check-name", default="mlops-ci / gate", show_default=True,
        help="Check run that reports the gate verdict carried in DIRECTORY (needs checks: write).")
@approval_trust_options
def publish(directory: Path, github_token: str | None, head_sha: str | None, pr_number: int | None,
            comment_author: str | None, check_name: str, trusted_bots: tuple[str, ...], command_prefix: str) -> None:
    """Post the report in DIRECTORY (written by `report --to-artifact` in a fork's run) to its pull request."""
    from mlops_ci.github.api import GitHub
    from mlops_ci.github.comments import IssueThread
    from mlops_ci.github.approvals import is_full_sha
    from mlops_ci.github.comments import comment_author_of
    from mlops_ci.report.model import COMMENT_LIMIT, marker
    from mlops_ci.report.payload import read_payload
    from mlops_ci.report.untrusted import fit, fork_banner, neutralise
    from mlops_ci.github.sticky import publish as publish_sticky
    from mlops_ci.workspace import open_workspace

    ws = open_workspace(".", None, os.environ)
    rt, ctx = ws.runtime, ws.context
    rt.mask(github_token)
    built = (head_sha or (ctx.head_sha if ctx.event_name == "workflow_run" else None) or "").lower()
    if not is_full_sha(built):
        raise BadInput("cannot tell which commit the run built: pass --head-sha (the fork workflow's `sha` "
                       "input), or run this on `workflow_run`")
    head_repo = ctx.details.get("head_repository") if ctx.event_name == "workflow_run" else None
    if ctx.event_name == "workflow_run" and not head_repo:
        raise BadInput("the workflow_run event names no head repository: cannot tell whose run this was; "
                       "refusing to post (fail closed)")
    gh = GitHub.from_env(ws.env, ctx.repository, github_token, rt)
    check = _GateCheck(gh, rt, ctx, check_name, built, trusted_bots, command_prefix)

    try:
        payload = read_payload(directory)
        _matches(directory, payload, built, pr_number, ctx.repository)
    except BadInput as exc:
        check.unreadable(pr_number, head_repo, exc.render())
        raise
    number = int(payload.pull_request)  # type: ignore[arg-type]
    pr = gh.pull(number)
    pr_head = str((pr.get("head") or {}).get("sha") or "").lower()
    if pr.get("state") != "open" or pr_head != built:
        rt.annotate("notice", f"PR #{number} has moved on to {pr_head[:7]} (or is closed); the report for "
                              f"{built[:7]} is stale and was not posted", title="mlops-ci publish")
        rt.set_output("comment-action", "skipped")
        return
    actual_repo = ((pr.get("head") or {}).get("repo") or {}).get("full_name")
    if head_repo and actual_repo != head_repo:
        raise BadInput(f"PR #{number} comes from {actual_repo}, but the triggering run was for {head_repo}; "
                       "refusing to post")

    approval = check.approval()
    banner = fork_banner(built, approval.approval.by if approval.allowed and approval.approval else None)
    mark = marker(payload.marker_id)
    body = payload.body.lstrip()
    body = body[len(mark):].lstrip("\n") if body.startswith(mark) else body  # the marker is ours to add
    text = f"{mark}\n" + fit(banner, neutralise(body), COMMENT_LIMIT - len(mark) - 1)
    result = publish_sticky(IssueThread(gh, number), text, mark, "update", False,  # never append nor recreate
                            author=comment_author_of(gh, ws.env, comment_author))
    _announce(rt, result)
    if payload.gate is not None:
        check.report(number, payload.gate)


def _matches(directory: Path, payload: "Payload", built: str, pr_number: int | None, repository: str | None) -> None:
    """The payload is for the commit the run built, the PR the run was started for, and this repository."""
    if payload.head_sha != built:
        raise BadInput(f"{directory}: the payload is for commit {str(payload.head_sha)[:12]} but the run built "
                       f"{built[:12]}; refusing to post it")
    if payload.pull_request is None:
        raise BadInput(f"{directory}: the payload names no pull request")
    if pr_number is not None and payload.pull_request != pr_number:
        raise BadInput(f"{directory}: the payload is for PR #{payload.pull_request}, but the run was started for "
                       f"#{pr_number}; refusing to post it")
    if repository and payload.repository and payload.repository != repository:
        raise BadInput(f"{directory}: the payload is for {payload.repository}, this run is in {repository}")


class _GateCheck:
    """The `mlops-ci / gate` check a fork's read-only token could not create, reported by the trusted job."""

    def __init__(self, gh: "GitHub", rt: Any, ctx: Any, name: str, sha: str, trusted_bots: tuple[str, ...],
                 prefix: str) -> None:
        self.gh, self.rt, self.ctx, self.name, self.sha = gh, rt, ctx, name, sha
        self.trusted_bots, self.prefix = trusted_bots, prefix
        self._approval: "GuardVerdict | None" = None
        run_id = ctx.details.get("triggering_run_id")
        self.run_url = (f"{ctx.server_url}/{ctx.repository}/actions/runs/{run_id}" if run_id and ctx.repository
                        else ctx.run_url)

    def approval(self) -> "GuardVerdict":
        from mlops_ci.github.approvals import judge

        if self._approval is None:
            self._approval = judge(self.gh, self.sha, self.trusted_bots)
        return self._approval

    def _target(self, number: int | None, head_repo: str | None) -> tuple[int | None, str | None]:
        """(the PR the check may go on, or None with the reason it may not go anywhere)."""
        heads = [p for p in self.gh.open_pulls() if str((p.get("head") or {}).get("sha") or "").lower() == self.sha]
        if number is None:
            mine = [p for p in heads if not head_repo or ((p.get("head") or {}).get("repo") or {}).get("full_name")
                    == head_repo]
            if len(mine) != 1:
                return None, f"commit {self.sha[:12]} is the head of {len(mine)} open pull requests from that repository"
            number = int(mine[0]["number"])
        others = sorted(int(p["number"]) for p in heads if int(p["number"]) != number)
        if others:
            listed = ", ".join(f"#{n}" for n in others)
            return None, (f"commit {self.sha[:12]} is also the head of {listed}: a fork's run reports no check on "
                          "another pull request's commit")
        if not any(int(p["number"]) == number for p in heads):
            return None, f"commit {self.sha[:12]} is not the head of an open PR #{number}"
        return number, None

    def _complete(self, conclusion: str, title: str, summary: str) -> None:
        from mlops_ci.github.checks import CheckOutcome, CheckRun

        CheckRun(self.gh, self.name, self.sha, self.run_url).complete(CheckOutcome(conclusion, title, summary))
        self.rt.set_output("check-conclusion", conclusion)
        click.echo(f"check {self.name!r}: {conclusion} — {title}")

    def _skip(self, why: str) -> None:
        self.rt.annotate("warning", f"no {self.name!r} check reported: {why}", title="mlops-ci publish")
        self.rt.set_output("check-conclusion", "")

    def unreadable(self, number: int | None, head_repo: str | None, reason: str) -> None:
        """The artifact could not be read: the check fails with the reason (never stays "Expected")."""
        try:
            target, why = self._target(number, head_repo)
            if target is None:
                self._skip(why or "")
                return
            self._complete("failure", "The fork pull request's run left no readable report",
                           f"`mlops-ci publish` could not use the run's artifact, so the gate fails closed:\n\n"
                           f"```\n{reason[:4000].replace('```', chr(39) * 3)}\n```")
        except Exception as exc:  # noqa: BLE001 - the artifact's error is the one to exit with
            click.echo(f"mlops-ci: could not report the failing check: {describe(exc)}", err=True)

    def report(self, number: int, gate: Mapping[str, Any]) -> None:
        """The verdict, if the commit is approved and the verdict reads as one; a failing check otherwise."""
        from mlops_ci.gate.verdict import render_markdown

        target, why = self._target(number, None)
        if target is None:
            self._skip(why or "")
            return
        approval = self.approval()
        if not approval.allowed:
            self._complete("failure", f"Not approved: the fork's gate verdict for {self.sha[:12]} is not trusted",
                           f"{approval.reason}.\n\nA fork pull request's run can report any verdict, so it counts "
                           f"only for a commit a maintainer approved: review commit `{self.sha}`, then comment "
                           f"`{self.prefix} approve {self.sha}`.")
            return
        try:
            verdict = recomputed(gate)
            summary = render_markdown(verdict)
        except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
            self._complete("failure", "The fork pull request's run left a gate verdict that cannot be read",
                           f"The verdict could not be read, so the gate fails closed: {describe(exc)}")
            return
        where = f"[the fork pull request's run]({self.run_url})" if self.run_url else "the fork pull request's run"
        provenance = (f"> Evaluated in {where} on commit `{self.sha[:12]}` ({approval.reason}); reported here by "
                      "`mlops-ci publish`, because a fork's token cannot create check runs. The conclusion is "
                      "recomputed from the rows below.\n\n")
        self._complete(verdict.conclusion, verdict.title, provenance + summary)


def recomputed(gate: Mapping[str, Any]) -> "GateVerdict":
    """A fork's verdict re-derived from its rows: the conclusion and title it states are ignored.

    A fork could write ``"conclusion": "success"`` over failing rows, or a neutral "nothing to
    gate": from a fork only rows that were checked and passed count. Success needs at least one
    row that passed and none that failed; anything else fails.
    """
    from mlops_ci.gate.verdict import GateVerdict

    stated = GateVerdict.from_dict(gate)
    verdict = GateVerdict.from_results(stated.results, champion_source=stated.champion_source, mode=stated.mode,
                                       challenger_source=stated.challenger_source, significance=stated.significance,
                                       fairness=stated.fairness, has_champion=True)
    verdict.policy_source, verdict.proposed_policy = stated.policy_source, stated.proposed_policy
    if verdict.conclusion == "neutral":
        verdict.conclusion = "failure"
        verdict.title = f"Gate failed: a fork's run passed no check ({verdict.title})"[:200]
    return verdict


def _announce(rt, result: "PublishResult") -> None:  # noqa: ANN001
    rt.set_output("comment-id", str(result.comment.id))
    rt.set_output("comment-url", result.comment.html_url or "")
    rt.set_output("comment-action", result.action)
    click.echo(f"comment {result.action}: {result.comment.html_url or result.comment.id}")
