"""`mlops-ci guard`: the first step of a self-hosted job — decide whether its pull request's code may run here.

Put it FIRST in the job, before `actions/checkout`: it reads only the event
payload and the GitHub API, never the repository, so nothing a fork controls
(not even `.mlops-ci.yml`) can influence it — which is why its settings are
options and action inputs only.

The story: find the pull request this job would run (the event's, or `--pr`
for a `workflow_dispatch` from the ChatOps bot); let same-repository PRs
through; for a fork, refuse outright in a job that holds write permissions
(`--forks refuse`) and on any `pull_request` event (there the workflow file is
the fork's own, so this step is advice, not a boundary); otherwise accept only
a dispatch from the default branch of a commit that is still the PR's head and
carries the bot's approval status, by someone who still has write access.
Refusals exit 1 with the reason in the log, an annotation and the job summary.

GitHub's settings are the real boundary (docs/security.md): "Require approval for
all outside collaborators", self-hosted runner groups limited to the default
branch's workflows, ephemeral runners. `mlops-ci audit` checks them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Callable, Mapping

import click

from mlops_ci.commands import option
from mlops_ci.errors import BadInput, MlopsError

if TYPE_CHECKING:
    from mlops_ci.github.approvals import GuardVerdict
    from mlops_ci.github.context import RunContext
    from mlops_ci.github.actions import Runtime


class GuardRefused(MlopsError):
    """A fork PR's commit that may not run in this job (exit 1)."""

    exit_code = 1


def approval_trust_options(command: Callable) -> Callable:
    """Whose approvals count: shared by `guard` (may a commit run?) and `publish` (does its verdict count?),
    which must agree."""
    command = option("--command-prefix", default="/mlops", show_default=True,
                     help="ChatOps prefix shown in 'how to approve' messages.")(command)
    return option("--trusted-bot", "trusted_bots", multiple=True, default=("github-actions[bot]",),
                  show_default=True, help="Login of the bot whose approval statuses are trusted (repeatable; "
                  "space-separated in the env var). Use your App's '<slug>[bot]' when the bot runs with an App token.")(command)


@click.command()
@option("--github-token", default=None, help="Token that can read the pull request and its commit statuses "
        "(default: $GITHUB_TOKEN; read permissions are enough).")
@option("--pr", "pr_number", type=click.IntRange(min=1), default=None,
        help="Pull request the job will run (for workflow_dispatch jobs; default: the event's pull request).")
@option("--head-sha", default=None, help="Commit the job will check out (with --pr; default: the PR's current "
        "head). Check out `steps.<guard>.outputs.head-sha` so the job runs exactly what was judged.")
@option("--forks", type=click.Choice(["approved", "refuse"]), default="refuse", show_default=True,
        help="What a fork PR gets: `refuse` in jobs that hold write permissions (the PR template); `approved` "
        "in the default branch's fork workflow, which runs a commit the bot recorded as approved.")
@approval_trust_options
def guard(github_token: str | None, pr_number: int | None, head_sha: str | None, forks: str,
          trusted_bots: tuple[str, ...], command_prefix: str) -> None:
    """Refuse to run a fork PR's code here unless this job may and a maintainer approved that exact commit."""
    from mlops_ci.github.approvals import is_full_sha
    from mlops_ci.github.context import from_github, read_event
    from mlops_ci.github.actions import Runtime

    env = dict(os.environ)
    rt = Runtime.detect(".", env)
    rt.mask(github_token)
    if head_sha is not None and not is_full_sha(head_sha.lower()):
        raise BadInput(f"--head-sha {head_sha[:50]!r}: expected a full 40-character commit SHA")
    if env.get("GITHUB_ACTIONS") != "true":
        _finish(rt, allowed=True, fork=False, sha=head_sha or "", reason="not running in GitHub Actions: "
                "no pull request to guard")
        return
    event = read_event(env.get("GITHUB_EVENT_PATH"))
    ctx = from_github(env, event)
    target = _target(ctx, env, github_token, pr_number, head_sha)
    if target is None:
        _finish(rt, allowed=True, fork=False, sha=head_sha or ctx.sha or "",
                reason=f"`{ctx.event_name}` event without a pull request: no fork code to guard")
        return
    number, sha, base, fork, gh = target
    if not fork:
        _finish(rt, allowed=True, fork=False, sha=sha, pr=number, base=base,
                reason=f"PR #{number} comes from this repository, not a fork")
        return
    verdict = _judge_fork(ctx, event, forks, gh or _client(env, ctx, github_token, rt), sha, trusted_bots,
                          command_prefix)
    _finish(rt, allowed=verdict.allowed, fork=True, sha=sha, pr=number, base=base, reason=verdict.reason,
            verdict=verdict, how=None if verdict.allowed else _how(sha, command_prefix))
    if not verdict.allowed:
        raise GuardRefused(f"refusing to run fork PR #{number} on this runner: {verdict.reason}",
                           hint=_how(sha, command_prefix).replace("`", ""))


def _judge_fork(ctx: "RunContext", event: Mapping[str, Any], forks: str, gh: Any, sha: str,
                trusted_bots: tuple[str, ...], prefix: str) -> "GuardVerdict":
    from mlops_ci.github.approvals import GuardVerdict

    if forks == "refuse":
        return GuardVerdict(False, "this job holds write permissions, so it never runs a fork's code; an approved "
                                   "fork commit runs in the default branch's fork workflow (mlops-fork.yml)")
    if _is_pr_event(ctx):
        return GuardVerdict(False, f"on `{ctx.event_name}` the workflow file is the fork's own, so no approval "
                                   "makes this job safe; approved fork commits run from the default branch "
                                   "(workflow_dispatch of mlops-fork.yml by the ChatOps bot)")
    default = ctx.default_branch or str(((event.get("repository") or {}).get("default_branch")) or "")
    if not default or ctx.ref != f"refs/heads/{default}":
        return GuardVerdict(False, f"this run's workflow comes from `{ctx.ref or 'an unknown ref'}`, not the default "
                                   f"branch `{default or '?'}`: only the default branch's workflow may run fork code")
    from mlops_ci.github.approvals import judge

    return judge(gh, sha, trusted_bots)


def _is_pr_event(ctx: "RunContext") -> bool:
    from mlops_ci.github.context import PR_EVENTS

    return ctx.event_name in PR_EVENTS


def _target(ctx: "RunContext", env: Mapping[str, str], token: str | None, pr_number: int | None,
            head_sha: str | None) -> tuple[int, str, str, bool, Any] | None:
    """(PR number, head SHA to judge, base SHA, from a fork?, API client or None) — None without a PR.

    The base SHA is handed on (output `base-sha`) because a dispatched run's event does not carry
    it, and the report, gate and drift steps compare the head with it.
    """
    from mlops_ci.github.approvals import is_full_sha

    if _is_pr_event(ctx) and ctx.pull_request is not None and pr_number in (None, ctx.pull_request.number):
        pr = ctx.pull_request
        sha = (pr.head_sha or "").lower()
        if not is_full_sha(sha):
            raise BadInput(f"{ctx.event_name} payload: pull_request.head.sha is missing or not a SHA")
        if head_sha and head_sha.lower() != sha:
            raise BadInput(f"--head-sha {head_sha[:12]} is not the head of PR #{pr.number} in this event "
                           f"({sha[:12]})")
        return pr.number, sha, pr.base_sha or "", pr.from_fork, None
    number = pr_number or (ctx.pull_request.number if ctx.pull_request else None)
    if number is None:
        return None
    from mlops_ci.github.actions import Runtime

    gh = _client(env, ctx, token, Runtime.detect(".", env))
    pull = gh.pull(number)
    base_repo = ((pull.get("base") or {}).get("repo") or {}).get("full_name") or ctx.repository
    head_repo = ((pull.get("head") or {}).get("repo") or {}).get("full_name")
    current = str((pull.get("head") or {}).get("sha") or "").lower()
    sha = (head_sha or current).lower()
    if not is_full_sha(sha):
        raise BadInput(f"PR #{number}: cannot tell its head commit")
    if pull.get("state") != "open":
        raise GuardRefused(f"PR #{number} is {pull.get('state')}: not running it")
    if head_sha and sha != current:
        # a late dispatch (or rerun) of an older commit: it would overwrite the PR's report and check
        # with stale results, and an old approval must not let superseded code run
        raise GuardRefused(f"commit {sha[:12]} is no longer the head of PR #{number} (now {current[:12]}): "
                           "not running a superseded commit",
                           hint="Comment `/mlops rerun` again to run the PR's current head.")
    base = str((pull.get("base") or {}).get("sha") or "")
    return number, sha, base, head_repo is None or head_repo != base_repo, gh


def _client(env: Mapping[str, str], ctx: "RunContext", token: str | None, rt: "Runtime") -> Any:
    from mlops_ci.github.api import GitHub

    return GitHub.from_env(env, ctx.repository, token, rt)


def _how(sha: str, prefix: str) -> str:
    from mlops_ci.github.approvals import how_to_approve

    return how_to_approve(sha, prefix)


def _finish(rt: "Runtime", *, allowed: bool, fork: bool, sha: str, reason: str, pr: int | None = None,
            base: str = "", verdict: "GuardVerdict | None" = None, how: str | None = None) -> None:
    """Outputs, job summary and a one-line log, written whether the guard passes or refuses."""
    rt.set_output("allowed", "true" if allowed else "false")
    rt.set_output("fork", "true" if fork else "false")
    rt.set_output("head-sha", sha)
    rt.set_output("pr", str(pr or ""))
    rt.set_output("base-sha", base)
    rt.set_output("approved-by", verdict.approval.by if verdict and verdict.approval and allowed else "")
    rt.set_output("reason", reason)
    icon = "✅" if allowed else "⛔"
    lines = [f"### {icon} mlops-ci guard", "", reason[0].upper() + reason[1:] + "."]
    if how:
        lines += ["", how, "", "> [!CAUTION]", "> Review the diff of exactly this commit first: an approved fork "
                  "PR runs with this runner's access (network, caches, GPU)."]
    rt.append_summary("\n".join(lines) + "\n")
    if not allowed:
        return
    click.echo(f"mlops-ci guard: allowed: {reason}")
