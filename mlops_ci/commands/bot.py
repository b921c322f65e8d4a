"""`mlops-ci bot`: the ChatOps bot, run by an `issue_comment` workflow on the default branch.

The story: decide from the payload alone whether the comment is a command at
all (edits, bots, our own replies and PR-only commands on issues are ignored
without a single API call); claim the comment with an 👀 reaction — GitHub
answers 200 instead of 201 when our reaction is already there, so a second
delivery of the same comment stops here and every comment is handled once;
check the commenter's permission through the API (only `help` is open to
everyone); do the work; reply with the outcome and end with 🚀 or 😕.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any, Callable

import click

from mlops_ci.commands import config_option, option, project_option
from mlops_ci.errors import BadInput, MlopsError

if TYPE_CHECKING:
    from mlops_ci.github.api import GitHub
    from mlops_ci.bots.chatops import Command, Reply
    from mlops_ci.github.actions import Runtime
    from mlops_ci.workspace import Workspace


class BotCommandFailed(MlopsError):
    """An allowed command failed (exit 1, after the reply was posted)."""

    exit_code = 1


@dataclasses.dataclass
class Request:
    """One command to handle: who asked, where, and the API client to answer with."""

    ws: "Workspace"
    gh: "GitHub"
    command: "Command"
    comment_id: int
    number: int
    author: str
    model_name: str | None

    @property
    def prefix(self) -> str:
        return self.ws.config.bot.prefix


@click.command()
@project_option()
@config_option()
@option("--github-token", default=None, help="Token with issues: write, pull-requests: write (replies, "
        "reactions) and actions: write (dispatches). Default: $GITHUB_TOKEN.")
@option("--model-name", default=None, help="Registered model for `promote` (default: config mlflow.model_name "
        "/ repository name).")
def bot(project_dir: str, config_path: str | None, github_token: str | None, model_name: str | None) -> None:
    """Answer a `/mlops …` comment: rerun, report, promote, approve, help."""
    from mlops_ci.github.api import GitHub
    from mlops_ci.bots.chatops import failed, triage
    from mlops_ci.workspace import open_workspace

    ws = open_workspace(project_dir, config_path, os.environ)
    rt, ctx, cfg = ws.runtime, ws.context, ws.config.bot
    rt.mask(github_token)
    if ctx.event_name != "issue_comment":
        raise BadInput(f"`mlops-ci bot` answers issue_comment events; this run is "
                       f"{ctx.event_name or 'not a GitHub Actions event'}")
    d = ctx.details
    command, why = triage(action=d.get("action"), body=d.get("comment_body"), author=d.get("commenter"),
                          author_type=d.get("commenter_type"), is_pull_request=bool(d.get("is_pull_request")),
                          own_login=cfg.login, prefix=cfg.prefix)
    if command is None:
        _finish(rt, "", "ignored", why)
        return
    if not d.get("comment_id") or not d.get("issue_number") or not d.get("commenter"):
        raise BadInput("issue_comment payload: comment.id, issue.number or comment.user.login is missing")
    gh = GitHub.from_env(ws.env, ctx.repository, github_token, rt)
    req = Request(ws, gh, command, int(d["comment_id"]), int(d["issue_number"]), str(d["commenter"]), model_name)
    if not gh.add_reaction(req.comment_id, "eyes"):
        _finish(rt, command.name, "duplicate", f"comment {req.comment_id} is already handled (the bot's 👀 is on it)")
        return
    try:
        reply = respond(req)
    except Exception as exc:  # still answer the user, then fail the job with the real error
        reply = failed(f"`{cfg.prefix} {command.name}` failed: {_short(exc)}")
        _post(req, reply)
        raise
    posted = _post(req, reply)
    _finish(rt, command.name, reply.outcome, reply.text, posted.html_url or str(posted.id))
    if reply.outcome == "failed":
        raise BotCommandFailed(reply.text)


def respond(req: Request) -> "Reply":
    """Permission first (so a stranger learns nothing else), then the arguments, then the work."""
    from mlops_ci.bots.chatops import may_run, refused

    command = req.command
    if not command.open_to_all:
        permission = req.gh.collaborator_permission(req.author)
        if not may_run(command, permission):
            return refused(f"`{req.prefix} {command.name}` needs write, maintain or admin permission on this "
                           f"repository; yours is `{permission}`. Nothing was done.")
    if command.error:
        return refused(command.error + _usage_hint(req))
    try:
        return HANDLERS[command.name](req)
    except MlopsError as exc:
        from mlops_ci.bots.chatops import failed

        return failed(f"`{req.prefix} {command.name}` failed: {_short(exc)}")


def _usage_hint(req: Request) -> str:
    """For `approve`: name the head to approve, so the fix is one copy-paste after reviewing it."""
    if req.command.name != "approve":
        return ""
    pull = req.gh.pull(req.number)
    head = _head(pull)
    if pull.get("state") != "open" or not head:
        return ""
    return f" The head of #{req.number} is now `{head}`: after reviewing it, comment `{req.prefix} approve {head}`."


def _help(req: Request) -> "Reply":
    from mlops_ci.bots.chatops import Reply, help_text

    text = help_text(req.prefix, req.command.unknown)
    if req.command.unknown:
        return Reply("confused", text, outcome="unknown")
    return Reply("rocket", text, outcome="done")


def _open_pull(req: Request) -> tuple[dict[str, Any] | None, "Reply | None"]:
    from mlops_ci.bots.chatops import refused

    pull = req.gh.pull(req.number)
    if pull.get("state") != "open":
        return None, refused(f"#{req.number} is {pull.get('state')}: nothing to {req.command.name}.")
    return pull, None


def _is_fork(pull: dict[str, Any]) -> bool:
    head_repo = ((pull.get("head") or {}).get("repo") or {}).get("full_name")
    base_repo = ((pull.get("base") or {}).get("repo") or {}).get("full_name")
    return head_repo is None or head_repo != base_repo


def _head(pull: dict[str, Any]) -> str:
    return str((pull.get("head") or {}).get("sha") or "").lower()


def _dispatch(req: Request) -> "Reply":
    """rerun / report: same-repository PRs through the PR workflow; forks only for an approved head, via the
    fork workflow (the PR workflow's job holds write permissions and never runs fork code)."""
    from mlops_ci.bots.chatops import done, refused
    from mlops_ci.github.approvals import judge

    pull, refusal = _open_pull(req)
    if pull is None:
        return refusal  # type: ignore[return-value]
    cfg = req.ws.config.bot
    head = _head(pull)
    name = req.command.name
    workflow = cfg.rerun_workflow if name == "rerun" else cfg.report_workflow
    if _is_fork(pull):
        verdict = judge(req.gh, head, (cfg.login,))
        if not verdict.allowed:
            from mlops_ci.github.approvals import how_to_approve

            return refused(f"#{req.number} comes from a fork and its head `{head[:12]}` is not approved "
                           f"({verdict.reason}). {how_to_approve(head, req.prefix)}")
        workflow = cfg.fork_workflow
    return done(_start(req, workflow, head, name))


def _start(req: Request, workflow: str, head: str, name: str) -> str:
    """Dispatch ``workflow`` on the default branch for the PR's ``head``; the reply's sentence."""
    cfg, ctx = req.ws.config.bot, req.ws.context
    ref = cfg.ref or ctx.default_branch or req.gh.repo_info().get("default_branch") or "main"
    values = {"pr": str(req.number), "sha": head, "command": name, "requested-by": req.author}
    req.gh.dispatch_workflow(workflow, ref, {k: values[k] for k in cfg.dispatch_inputs})
    url = f"{ctx.server_url}/{ctx.repository}/actions/workflows/{workflow}"
    return f"dispatched [`{workflow}`]({url}) on `{ref}` for #{req.number} at `{head[:7]}`."


def _approve(req: Request) -> "Reply":
    """Record a maintainer's approval of exactly the reviewed head, then start its run.

    The SHA must be the full one the maintainer reviewed and still the head now, when the bot acts:
    a fork pushing between the review and this job gets a refusal, not an approval of its new
    commit. The record is a commit status only a write token can create (:mod:`mlops_ci.github.approvals`).
    """
    from mlops_ci.github.approvals import APPROVAL_CONTEXT, status_description
    from mlops_ci.bots.chatops import done, refused

    pull, refusal = _open_pull(req)
    if pull is None:
        return refusal  # type: ignore[return-value]
    head = _head(pull)
    if not _is_fork(pull):
        return done(f"#{req.number} comes from this repository: its runs need no approval.")
    wanted = req.command.sha or ""
    if wanted != head:
        return refused(f"`{wanted[:40]}` is not the head of #{req.number}, which is now `{head}`: review that "
                       f"commit, then comment `{req.prefix} approve {head}`. Nothing was approved.")
    comment_url = f"{req.ws.context.server_url}/{req.ws.context.repository}/pull/{req.number}#issuecomment-{req.comment_id}"
    req.gh.create_commit_status(head, "success", APPROVAL_CONTEXT, status_description(req.author, req.comment_id),
                                comment_url)
    started = _start(req, req.ws.config.bot.fork_workflow, head, "rerun")
    return done(f"approved commit `{head}` of #{req.number} for the self-hosted runners, and {started} "
                "A new push needs a new approval.")


def _promote(req: Request) -> "Reply":
    from mlops_ci.registry.mlflow_registry import Registry
    from mlops_ci.bots.chatops import done, refused
    from mlops_ci.registry.promote import GateRefused, promote_version
    from mlops_ci.registry.register import model_name_for

    ws = req.ws
    if ws.config.registry.mode != "mlflow":
        return refused(f"`{req.prefix} promote` moves MLflow aliases; this repository uses "
                       f"registry.mode `{ws.config.registry.mode}`: run `mlops-ci promote` in a workflow instead.")
    # who promoted is the commenter, not the workflow's actor: the audit trail records them
    as_author = dataclasses.replace(ws, env={**ws.env, "GITHUB_ACTOR": req.author})
    name = model_name_for(ws, req.model_name)
    registry = Registry(ws.mlflow_tracking_uri(), ws.config.mlflow.registry_uri)
    version = req.command.args[0].lstrip("v") if req.command.args else None
    cfg = ws.config.bot
    try:
        result = promote_version(as_author, registry, name, version=version, from_alias=cfg.promote_from,
                                 to_alias=cfg.promote_to, reason=f"{req.prefix} promote by @{req.author} on "
                                 f"#{req.number}", force=False)
    except GateRefused as exc:
        return refused(exc.message)
    return done(str(result["message"]))


HANDLERS: dict[str, Callable[[Request], "Reply"]] = {
    "help": _help, "rerun": _dispatch, "report": _dispatch, "approve": _approve, "promote": _promote,
}


def _post(req: Request, reply: "Reply") -> Any:
    posted = req.gh.create_issue_comment(req.number, reply.body(req.comment_id, req.command.name, req.author))
    req.gh.add_reaction(req.comment_id, reply.reaction)
    return posted


def _short(exc: BaseException) -> str:
    from mlops_ci.redact import describe

    text = describe(exc)  # redacted before it is cut
    return text if len(text) <= 1500 else text[:1500] + "…"


def _finish(rt: "Runtime", command: str, outcome: str, detail: str, reply: str = "") -> None:
    rt.set_output("command", command)
    rt.set_output("outcome", outcome)
    rt.set_output("reply-url", reply)
    head = f"`{command}`: {outcome}" if command else outcome
    rt.append_summary(f"### mlops-ci bot\n\n{head} — {detail}\n")
    click.echo(f"mlops-ci bot: {head}: {detail}")
