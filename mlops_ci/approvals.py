"""Fork-PR approvals: which commit a maintainer let run on self-hosted runners.

Pure: the guard command fetches the comments, the event and the approvers'
permissions; this module decides. The rule is *one approval, one commit*: an
approval names a full head SHA, so any new push (a new head) is unapproved
until someone with write access approves again.

Three ways to approve, all tied to an exact SHA:

1. ``/mlops approve <40-hex sha>`` commented by a writer — the SHA is in the
   comment itself, so the guard can verify it without the bot;
2. ``/mlops approve`` (or a short SHA) handled by the bot, which resolves the
   PR's head at that moment and replies with a hidden *approval record*
   naming the full SHA (see :func:`record_line`). The guard trusts a record
   only if (a) its author is a trusted bot login, (b) it opens the comment in
   the strict format below, (c) the ``/mlops approve`` comment it cites exists
   on the same PR, was written by the approver it names and, if it gave a
   SHA, that SHA is a prefix of the recorded one;
3. the ``labeled`` event of label ``mlops:approved``: its payload is a snapshot
   taken when the label was added, so the approval covers exactly the head SHA
   in that payload, by the ``sender`` who added it. A later push runs with a
   ``synchronize`` payload and is not covered; the label must be re-applied.

In every case the approver's permission is checked through the API when the
guard runs (not when they approved), so a removed collaborator's approvals die.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from mlops_ci.chatops import DEFAULT_PREFIX, WRITE_PERMISSIONS, CommentLike, is_bot, parse

DEFAULT_LABEL = "mlops:approved"
DEFAULT_TRUSTED_BOTS = ("github-actions[bot]",)
_LOGIN = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
_RECORD = re.compile(
    r"\A<!-- mlops-ci:bot reply-to=(?P<reply>\d+) command=approve -->\n"
    rf"<!-- mlops-ci:approval sha=(?P<sha>[0-9a-f]{{40}}) by=(?P<by>{_LOGIN}) comment=(?P<comment>\d+) -->\n")


@dataclass(frozen=True)
class Approval:
    sha: str
    by: str
    #: "comment" (explicit SHA), "bot record" (the bot's reply) or "label" (the labeled event)
    via: str
    comment_id: int | None = None


@dataclass
class GuardVerdict:
    allowed: bool
    reason: str
    approval: Approval | None = None
    #: Approvals for other commits than the head (a push since revoked them).
    stale: list[Approval] = field(default_factory=list)
    #: Approvals of the head by people without write access.
    unauthorised: list[Approval] = field(default_factory=list)


def record_line(sha: str, by: str, comment_id: int) -> str:
    """The hidden line the bot writes (right after its reply marker) when it records an approval."""
    if not _FULL_SHA.match(sha):
        raise ValueError(f"approval needs a full lower-case SHA, got {sha!r}")
    if not re.fullmatch(_LOGIN, by):
        raise ValueError(f"not a user login: {by!r}")
    return f"<!-- mlops-ci:approval sha={sha} by={by} comment={int(comment_id)} -->"


def from_comments(comments: Sequence[CommentLike], *, trusted_bots: Iterable[str] = DEFAULT_TRUSTED_BOTS,
                  prefix: str = DEFAULT_PREFIX) -> list[Approval]:
    """Every approval the PR's comments carry, whatever commit it names (oldest first)."""
    trusted = {b.lower() for b in trusted_bots}
    by_id = {int(c.id): c for c in comments}
    out: list[Approval] = []
    for c in comments:
        author = c.author or ""
        if author.lower() in trusted:
            record = _verified_record(c, by_id, prefix)
            if record is not None:
                out.append(record)
            continue
        if is_bot(author, None):
            continue
        command = parse(c.body, prefix)
        if command and command.name == "approve" and not command.error and command.sha \
                and _FULL_SHA.match(command.sha):
            out.append(Approval(command.sha, author, "comment", int(c.id)))
    return out


def _verified_record(c: CommentLike, by_id: Mapping[int, CommentLike], prefix: str) -> Approval | None:
    m = _RECORD.match(c.body or "")
    if m is None:
        return None
    cited = by_id.get(int(m.group("comment")))
    if cited is None or int(m.group("reply")) != int(cited.id):
        return None
    if (cited.author or "").lower() != m.group("by").lower():
        return None
    command = parse(cited.body, prefix)
    if command is None or command.name != "approve" or command.error:
        return None
    if command.sha and not m.group("sha").startswith(command.sha):
        return None
    return Approval(m.group("sha"), m.group("by"), "bot record", int(cited.id))


def from_label_event(action: str | None, label: str | None, sender: str | None, sender_type: str | None,
                     head_sha: str | None, approval_label: str = DEFAULT_LABEL) -> Approval | None:
    """The approval carried by a ``labeled`` pull-request event, if it is the approval label."""
    if action != "labeled" or not label or not sender or not head_sha:
        return None
    if label.lower() != approval_label.lower() or is_bot(sender, sender_type):
        return None
    return Approval(head_sha.lower(), sender, "label")


def approvers_of(head_sha: str, approvals: Iterable[Approval]) -> list[str]:
    """Logins whose permission must be looked up to judge ``head_sha`` (each once)."""
    seen: dict[str, str] = {}
    for a in approvals:
        if a.sha == head_sha.lower():
            seen.setdefault(a.by.lower(), a.by)
    return list(seen.values())


def decide(head_sha: str, approvals: Sequence[Approval], permissions: Mapping[str, str]) -> GuardVerdict:
    """Allowed when someone with write, maintain or admin approved exactly ``head_sha``.

    ``permissions`` maps lower-case logins to the API's ``permission`` value
    (admin, write, read, none); a missing login counts as ``none``.
    """
    head = head_sha.lower()
    current = [a for a in approvals if a.sha == head]
    stale = [a for a in approvals if a.sha != head]
    unauthorised = []
    for a in current:
        if permissions.get(a.by.lower(), "none") in WRITE_PERMISSIONS:
            return GuardVerdict(True, f"commit {head[:12]} approved by @{a.by} ({a.via})", a, stale)
        unauthorised.append(a)
    if unauthorised:
        who = ", ".join(sorted({f"@{a.by} ({permissions.get(a.by.lower(), 'none')})" for a in unauthorised}))
        reason = f"commit {head[:12]} was approved only by users without write access: {who}"
    elif stale:
        older = ", ".join(sorted({a.sha[:12] for a in stale}))
        reason = (f"commit {head[:12]} is not approved: the approvals on this PR are for older commits ({older}); "
                  "a new push revokes an approval")
    else:
        reason = f"commit {head[:12]} of a fork PR is not approved by a maintainer"
    return GuardVerdict(False, reason, None, stale, unauthorised)


def how_to_approve(head_sha: str, prefix: str = DEFAULT_PREFIX, label: str = DEFAULT_LABEL) -> str:
    """What a maintainer does next, in Markdown (shown in the job summary and the error hint)."""
    return (f"A maintainer (write, maintain or admin) who has reviewed commit `{head_sha}` can approve it by "
            f"commenting `{prefix} approve {head_sha}` and re-running this job, or by adding the label "
            f"`{label}` (remove and re-add it after each new push).")
