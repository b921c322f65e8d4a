"""Where a command runs: a GitHub Actions event, or a developer's git checkout.

Commands need the same few facts either way (which commit is the PR head, what
to compare it with, where to post). :func:`from_github` derives them from the
runner's environment and the event payload; :func:`from_local_git` from a git
checkout. Both return a :class:`RunContext`; nothing here does network I/O.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Protocol

from mlops_ci.errors import BadInput

ZERO_SHA = "0" * 40

#: Events whose payload carries the pull request itself.
PR_EVENTS = ("pull_request", "pull_request_target")


@dataclass
class PullRequestInfo:
    number: int
    base_sha: str | None = None
    head_sha: str | None = None
    base_ref: str | None = None
    head_ref: str | None = None
    head_repository: str | None = None
    from_fork: bool = False


@dataclass
class RunContext:
    mode: str  # "github" or "local"
    repository: str | None = None
    sha: str | None = None
    ref: str | None = None
    event_name: str | None = None
    event_path: str | None = None
    api_url: str = "https://api.github.com"
    server_url: str = "https://github.com"
    graphql_url: str = "https://api.github.com/graphql"
    run_id: str | None = None
    run_attempt: str | None = None
    workflow: str | None = None
    job: str | None = None
    actor: str | None = None
    default_branch: str | None = None
    pull_request: PullRequestInfo | None = None
    #: Commits to compare: base is what the change is measured against.
    base_sha: str | None = None
    head_sha: str | None = None
    #: Event-specific extras (comment for issue_comment, triggering run for workflow_run…).
    details: dict[str, Any] = field(default_factory=dict)
    #: Local mode only.
    branch: str | None = None
    merge_base: str | None = None

    @property
    def in_github(self) -> bool:
        return self.mode == "github"

    @property
    def run_url(self) -> str | None:
        if self.repository and self.run_id:
            return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"
        return None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["run_url"] = self.run_url
        return data


def from_github(env: Mapping[str, str], event: Mapping[str, Any]) -> RunContext:
    """Context of a workflow run, from ``GITHUB_*`` variables and the event payload."""
    name = env.get("GITHUB_EVENT_NAME", "")
    repo_payload = event.get("repository") or {}
    ctx = RunContext(
        mode="github",
        repository=env.get("GITHUB_REPOSITORY") or repo_payload.get("full_name"),
        sha=env.get("GITHUB_SHA"),
        ref=env.get("GITHUB_REF"),
        event_name=name,
        event_path=env.get("GITHUB_EVENT_PATH"),
        api_url=env.get("GITHUB_API_URL", "https://api.github.com").rstrip("/"),
        server_url=env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/"),
        graphql_url=env.get("GITHUB_GRAPHQL_URL", "https://api.github.com/graphql"),
        run_id=env.get("GITHUB_RUN_ID"),
        run_attempt=env.get("GITHUB_RUN_ATTEMPT"),
        workflow=env.get("GITHUB_WORKFLOW"),
        job=env.get("GITHUB_JOB"),
        actor=env.get("GITHUB_ACTOR"),
        default_branch=repo_payload.get("default_branch"),
        head_sha=env.get("GITHUB_SHA"),
    )
    handler = _EVENT_HANDLERS.get(name)
    if handler:
        handler(ctx, event)
    return ctx


def _pull_request(ctx: RunContext, event: Mapping[str, Any]) -> None:
    pr = event.get("pull_request") or {}
    ctx.pull_request = _pr_info(pr, base_repo=(event.get("repository") or {}).get("full_name"))
    ctx.base_sha = ctx.pull_request.base_sha
    # GITHUB_SHA is the merge commit for pull_request; the PR head is what was pushed.
    ctx.head_sha = ctx.pull_request.head_sha or ctx.sha
    ctx.details["action"] = event.get("action")


def _pr_info(pr: Mapping[str, Any], base_repo: str | None) -> PullRequestInfo:
    base, head = pr.get("base") or {}, pr.get("head") or {}
    head_repo = (head.get("repo") or {}).get("full_name")
    base_full = (base.get("repo") or {}).get("full_name") or base_repo
    return PullRequestInfo(
        number=int(pr["number"]),
        base_sha=base.get("sha"), head_sha=head.get("sha"),
        base_ref=base.get("ref"), head_ref=head.get("ref"),
        head_repository=head_repo,
        # A deleted fork has no head repo: treat it as a fork (least trust).
        from_fork=head_repo is None or (base_full is not None and head_repo != base_full),
    )


def _push(ctx: RunContext, event: Mapping[str, Any]) -> None:
    before, after = event.get("before"), event.get("after")
    ctx.base_sha = None if not before or before == ZERO_SHA else before
    ctx.head_sha = after if after and after != ZERO_SHA else ctx.sha
    ctx.details["created"] = bool(event.get("created"))
    ctx.details["deleted"] = bool(event.get("deleted"))
    ref = event.get("ref") or ctx.ref or ""
    if ref.startswith("refs/tags/"):
        ctx.details["tag"] = ref[len("refs/tags/"):]


def _workflow_run(ctx: RunContext, event: Mapping[str, Any]) -> None:
    run = event.get("workflow_run") or {}
    ctx.head_sha = run.get("head_sha") or ctx.sha
    ctx.details.update({
        "triggering_run_id": run.get("id"), "triggering_event": run.get("event"),
        "triggering_conclusion": run.get("conclusion"), "triggering_workflow": run.get("name"),
        "head_repository": (run.get("head_repository") or {}).get("full_name"),
        "head_branch": run.get("head_branch"),
    })
    prs = run.get("pull_requests") or []
    # Fork PRs are not listed here (GitHub leaves the array empty); `publish` then looks
    # the PR up by head SHA and verifies it.
    if prs:
        ctx.pull_request = _pr_info(prs[0], base_repo=ctx.repository)
        ctx.pull_request.head_sha = ctx.pull_request.head_sha or ctx.head_sha
        ctx.pull_request.from_fork = False
        ctx.base_sha = ctx.pull_request.base_sha


def _workflow_dispatch(ctx: RunContext, event: Mapping[str, Any]) -> None:
    """A dispatch names its PR through inputs: `pr` and `sha`, as the ChatOps bot sends them.

    Without this the run would look like a plain run of the default branch: the gate's check
    and the report would land on the default branch's tip instead of the PR's head.
    """
    inputs = dict(event.get("inputs") or {})
    ctx.details["inputs"] = inputs
    number = str(inputs.get("pr") or "").strip().lstrip("#")
    if not number:
        return
    if not number.isdigit() or int(number) < 1:
        raise BadInput(f"workflow_dispatch input pr={inputs.get('pr')!r}: expected a pull request number")
    sha = str(inputs.get("sha") or "").strip().lower()
    if sha and not (len(sha) == 40 and all(c in "0123456789abcdef" for c in sha)):
        raise BadInput(f"workflow_dispatch input sha={inputs.get('sha')!r}: expected a full 40-character commit SHA")
    ctx.pull_request = PullRequestInfo(number=int(number), head_sha=sha or None)
    if sha:
        ctx.head_sha = sha


def _schedule(ctx: RunContext, event: Mapping[str, Any]) -> None:
    ctx.details["schedule"] = event.get("schedule")


def _issue_comment(ctx: RunContext, event: Mapping[str, Any]) -> None:
    issue, comment = event.get("issue") or {}, event.get("comment") or {}
    ctx.details.update({
        "action": event.get("action"),
        "comment_id": comment.get("id"),
        "comment_body": comment.get("body"),
        "commenter": (comment.get("user") or {}).get("login"),
        "commenter_type": (comment.get("user") or {}).get("type"),
        "issue_number": issue.get("number"),
        "is_pull_request": "pull_request" in issue,
    })
    # The payload names the PR but not its commits; commands that need them ask the API.
    if "pull_request" in issue:
        ctx.pull_request = PullRequestInfo(number=int(issue["number"]))
    ctx.head_sha = None


_EVENT_HANDLERS = {
    "pull_request": _pull_request,
    "pull_request_target": _pull_request,
    "push": _push,
    "workflow_run": _workflow_run,
    "workflow_dispatch": _workflow_dispatch,
    "schedule": _schedule,
    "issue_comment": _issue_comment,
}


class _GitLike(Protocol):
    def head(self) -> str: ...
    def branch(self) -> str | None: ...
    def default_branch(self) -> str | None: ...
    def merge_base(self, a: str, b: str) -> str | None: ...
    def resolve(self, rev: str) -> str | None: ...


def from_local_git(git: _GitLike, default_branch: str | None = None) -> RunContext:
    """Context of a developer's checkout: compare HEAD with its merge-base on the default branch."""
    head = git.head()
    default = default_branch or git.default_branch()
    base = None
    if default:
        ref = git.resolve(default) or git.resolve(f"origin/{default}")
        base = git.merge_base(ref, head) if ref else None
    return RunContext(mode="local", sha=head, head_sha=head, branch=git.branch(), default_branch=default,
                      merge_base=base, base_sha=base)


def read_event(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"{path}: GITHUB_EVENT_PATH points to a missing file") from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{path}:{exc.lineno}: event payload is not valid JSON ({exc.msg})") from None


def detect(env: Mapping[str, str], git_factory: Any = None, default_branch: str | None = None) -> RunContext:
    """GitHub context when ``GITHUB_ACTIONS=true``, else the local git one."""
    if env.get("GITHUB_ACTIONS") == "true":
        ctx = from_github(env, read_event(env.get("GITHUB_EVENT_PATH")))
        if default_branch:
            ctx.default_branch = default_branch
        return ctx
    if git_factory is None:
        raise BadInput("not running in GitHub Actions and no git checkout given")
    return from_local_git(git_factory(), default_branch)
