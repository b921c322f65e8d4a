"""One comment per report, however often and however concurrently we publish.

The policy, independent of where comments live (a PR, an issue, a commit):
find our comments by their hidden marker; update the oldest in place (no
write at all when the body is unchanged); if none exists, create one, then
look again — two jobs racing may both have created one — and delete every
duplicate but the oldest. ``recreate`` and ``append`` modes post a new
comment instead, deleting or keeping (optionally minimizing) the old ones.

"Ours" means: the body *starts* with the marker AND the comment was written by
the identity our token acts as. The marker is public and predictable, so a
marker alone proves nothing — anyone (a fork author) can post it, and editing
or deleting "their" report would hand them our report. Who we are: an explicit
login if the caller has one; otherwise it is resolved lazily, only when a
comment carrying the marker exists (a first run needs no extra call, and the
comment we create tells us the truth for the race check that follows).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Literal, Protocol, Union

from mlops_ci.github.api import Comment, GitHubError
from mlops_ci.report.model import same_content

log = logging.getLogger(__name__)

Mode = Literal["update", "recreate", "append"]
#: Login of the token's identity, or a callable returning it (called at most once, only when needed).
Author = Union[str, Callable[[], "str | None"], None]
#: Who ``GITHUB_TOKEN`` writes as — the fallback when nothing better is known.
DEFAULT_AUTHOR = "github-actions[bot]"

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


class _Identity:
    """Resolves the token's login once, on first use."""

    def __init__(self, author: Author) -> None:
        self._source, self._login = author, None if callable(author) or author is None else author

    def login(self) -> str:
        if self._login is None:
            found = self._source() if callable(self._source) else None
            self._login = found or DEFAULT_AUTHOR
            log.debug("sticky comment: our comments are those by %s", self._login)
        return self._login

    def learn(self, created: Comment) -> None:
        """The comment we just created was written by us: its author is authoritative."""
        if created.author:
            self._login = created.author


def _carries(comment: Comment, marker: str) -> bool:
    return comment.body.lstrip().startswith(marker)


def _by(comment: Comment, login: str) -> bool:
    return bool(comment.author) and (comment.author or "").casefold() == login.casefold()


def _ours(thread: CommentThread, marker: str, who: _Identity) -> list[Comment]:
    marked = [c for c in thread.list() if _carries(c, marker)]
    if not marked:
        return []  # nothing to tell apart: no need to know who we are
    login = who.login()
    mine, foreign = [c for c in marked if _by(c, login)], [c for c in marked if not _by(c, login)]
    if foreign:
        log.warning("sticky comment: ignoring %d comment(s) carrying our marker but not written by %s "
                    "(ids %s)", len(foreign), login, ", ".join(str(c.id) for c in foreign))
    return sorted(mine, key=lambda c: (c.created_at, c.id))


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
            hide_previous: bool = False, author: Author = None) -> PublishResult:
    """Post ``body`` under ``marker``; only comments written by ``author`` (our token's login) are touched."""
    if not body.lstrip().startswith(marker):
        body = f"{marker}\n{body}"
    who = _Identity(author)
    existing = _ours(thread, marker, who)

    if mode == "update" and existing:
        keep, extra = existing[0], existing[1:]
        deleted = [c.id for c in extra if _delete_quietly(thread, c.id)]
        if same_content(keep.body, body):
            return PublishResult("unchanged", keep, deleted)
        return PublishResult("updated", thread.edit(keep.id, body), deleted)

    created = thread.create(body)
    who.learn(created)
    if mode == "update":
        return _settle_race(thread, created, body, marker, who)

    result = PublishResult("recreated" if mode == "recreate" else "appended", created)
    for old in existing:
        if hide_previous:
            if old.node_id and thread.minimize(old):
                result.minimized.append(old.id)
        elif mode == "recreate" and _delete_quietly(thread, old.id):
            result.deleted.append(old.id)
    return result


def _settle_race(thread: CommentThread, created: Comment, body: str, marker: str, who: _Identity
                 ) -> PublishResult:
    """After creating: if another job created one too, keep only the oldest, with our body."""
    mine = _ours(thread, marker, who)
    if not created.author and all(c.id != created.id for c in mine):
        mine = sorted([*mine, created], key=lambda c: (c.created_at, c.id))  # ours, whoever GitHub says wrote it
    if len(mine) <= 1:
        return PublishResult("created", created)
    keep, extra = mine[0], mine[1:]
    deleted = [c.id for c in extra if _delete_quietly(thread, c.id)]
    log.info("sticky comment: %d duplicate(s) from a concurrent run removed", len(extra))
    if keep.id == created.id or same_content(keep.body, body):
        return PublishResult("created" if keep.id == created.id else "unchanged", keep, deleted)
    return PublishResult("updated", thread.edit(keep.id, body), deleted)
