"""Where a report's comment goes — the PR, an issue or a commit — and posting it there as the sticky one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from mlops_ci.errors import BadInput
from mlops_ci.github.api import Comment, GitHub

if TYPE_CHECKING:
    from mlops_ci.github.sticky import PublishResult
    from mlops_ci.report.target import Target
    from mlops_ci.workspace import Workspace


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
    from mlops_ci.report.model import marker
    from mlops_ci.github.sticky import publish as publish_sticky

    gh = GitHub.from_env(ws.env, ws.context.repository, token, ws.runtime)
    thread = resolve_thread(gh, ws, target)
    return publish_sticky(thread, body, marker(marker_id), mode, hide_previous,  # type: ignore[arg-type]
                          author=comment_author_of(gh, ws.env))


def resolve_thread(gh: "GitHub", ws: "Workspace", target: "Target"):  # noqa: ANN201 - a CommentThread

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


class IssueThread:
    """Comments of an issue or pull request, as a :class:`mlops_ci.github.sticky.CommentThread`."""

    def __init__(self, gh: GitHub, number: int) -> None:
        self.gh, self.number = gh, number

    def describe(self) -> str:
        return f"{self.gh.repository}#{self.number}"

    def list(self) -> list[Comment]:
        return self.gh.issue_comments(self.number)

    def create(self, body: str) -> Comment:
        return self.gh.create_issue_comment(self.number, body)

    def edit(self, comment_id: int, body: str) -> Comment:
        return self.gh.edit_issue_comment(comment_id, body)

    def delete(self, comment_id: int) -> None:
        self.gh.delete_issue_comment(comment_id)

    def minimize(self, comment: Comment) -> bool:
        return bool(comment.node_id) and self.gh.minimize_comment(comment.node_id or "")


class CommitThread(IssueThread):
    """Comments on a commit (when a push has no pull request)."""

    def __init__(self, gh: GitHub, sha: str) -> None:
        self.gh, self.sha = gh, sha

    def describe(self) -> str:
        return f"{self.gh.repository}@{self.sha[:7]}"

    def list(self) -> list[Comment]:
        return self.gh.commit_comments(self.sha)

    def create(self, body: str) -> Comment:
        return self.gh.create_commit_comment(self.sha, body)

    def edit(self, comment_id: int, body: str) -> Comment:
        return self.gh.edit_commit_comment(comment_id, body)

    def delete(self, comment_id: int) -> None:
        self.gh.delete_commit_comment(comment_id)
