"""One comment per report, however often and however concurrently we publish.

The policy, independent of where comments live (a PR, an issue, a commit):
find our comments by their hidden marker; update the oldest in place (no
write at all when the body is unchanged); if none exists, create one, then
look again — two jobs racing may both have created one — and delete every
duplicate but the oldest. ``recreate`` and ``append`` modes post a new
comment instead, deleting or keeping (optionally minimizing) the old ones.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal, Protocol

from mlops_ci.adapters.github import Comment, GitHubError
from mlops_ci.report.model import same_content

log = logging.getLogger(__name__)

Mode = Literal["update", "recreate", "append"]

class CommentThread(Protocol):
    def list(self) -> list[Comment]: ...
    def create(self, body: str) -> Comment: ...
    def edit(self, comment_id: int, body: str) -> Comment: ...
    def delete(self, comment_id: int) -> None: ...
    def minimize(self, comment: Comment) -> bool: ...


@dataclass
class PublishResult:
    action: Literal["created", "updated", "unchanged", "recreated", "appended"]
    comment: Comment
    deleted: list[int] = field(default_factory=list)
    minimized: list[int] = field(default_factory=list)


def _ours(thread: CommentThread, marker: str) -> list[Comment]:
    return sorted((c for c in thread.list() if marker in c.body), key=lambda c: (c.created_at, c.id))


def _delete_quietly(thread: CommentThread, comment_id: int) -> bool:
    """Delete; a 404 means a racing job already removed it, which is what we wanted."""
    try:
        thread.delete(comment_id)
        return True
    except GitHubError as exc:
        if " 404" in str(exc):
            return False
        raise


def publish(thread: CommentThread, body: str, marker: str, mode: Mode = "update",
            hide_previous: bool = False) -> PublishResult:
    if marker not in body:
        body = f"{marker}\n{body}"
    existing = _ours(thread, marker)

    if mode == "update" and existing:
        keep, extra = existing[0], existing[1:]
        deleted = [c.id for c in extra if _delete_quietly(thread, c.id)]
        if same_content(keep.body, body):
            return PublishResult("unchanged", keep, deleted)
        return PublishResult("updated", thread.edit(keep.id, body), deleted)

    created = thread.create(body)
    if mode == "update":
        return _settle_race(thread, created, body, marker)

    result = PublishResult("recreated" if mode == "recreate" else "appended", created)
    for old in existing:
        if hide_previous:
            if old.node_id and thread.minimize(old):
                result.minimized.append(old.id)
        elif mode == "recreate" and _delete_quietly(thread, old.id):
            result.deleted.append(old.id)
    return result


def _settle_race(thread: CommentThread, created: Comment, body: str, marker: str) -> PublishResult:
    """After creating: if another job created one too, keep only the oldest, with our body."""
    mine = _ours(thread, marker)
    if len(mine) <= 1:
        return PublishResult("created", created)
    keep, extra = mine[0], mine[1:]
    deleted = [c.id for c in extra if _delete_quietly(thread, c.id)]
    log.info("sticky comment: %d duplicate(s) from a concurrent run removed", len(extra))
    if keep.id == created.id or same_content(keep.body, body):
        return PublishResult("created" if keep.id == created.id else "unchanged", keep, deleted)
    return PublishResult("updated", thread.edit(keep.id, body), deleted)
