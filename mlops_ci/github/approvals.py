"""Fork-PR approvals: which commit a maintainer let run on the self-hosted runners.

Pure: the guard, the bot and `publish` fetch the commit's statuses and the
approver's permission; this module decides. The rule is *one approval, one
commit, one unforgeable record*:

* a maintainer comments ``/mlops approve <40-hex sha>`` naming the commit they
  reviewed. Short SHAs are refused (a fork authors both commits and can grind a
  colliding prefix), and so is a bare ``approve`` (it would bind to whatever the
  head is when the bot gets round to it, and a fork can push in between);
* the bot, running from the default branch, accepts it only if that SHA *is*
  the PR's head when it processes the comment, and records the approval as a
  **commit status** (context :data:`APPROVAL_CONTEXT`) on that SHA. Creating a
  status needs a write token; a fork's `pull_request` token is read-only, and
  the job that runs an approved fork's code gets only read permissions — so no
  fork code ever holds a token that could write one. A PR comment, a label or
  the bot's reply text, by contrast, can be produced or quoted by others;
* the record is believed only when its creator is a trusted bot login, its
  state is ``success`` (the newest status of that context wins, so a later
  ``failure`` revokes it), and the approver it names still has write access.

A new push is a new SHA, with no status: it never inherits an approval.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from mlops_ci.bots.chatops import DEFAULT_PREFIX, WRITE_PERMISSIONS

APPROVAL_CONTEXT = "mlops-ci / fork approval"
DEFAULT_TRUSTED_BOTS = ("github-actions[bot]",)
_LOGIN = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})"
FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
_DESCRIPTION = re.compile(rf"^approved by @(?P<by>{_LOGIN}) \(comment (?P<comment>\d{{1,20}})\)$")


@dataclass(frozen=True)
class Approval:
    sha: str
    by: str
    comment_id: int | None = None
    #: The status's link: the approving comment.
    url: str | None = None


@dataclass
class GuardVerdict:
    allowed: bool
    reason: str
    approval: Approval | None = None


def is_full_sha(value: str | None) -> bool:
    return bool(value) and FULL_SHA.match(value or "") is not None


def status_description(by: str, comment_id: int) -> str:
    """The approval record's description (GitHub allows 140 characters; a login has at most 39)."""
    if not re.fullmatch(_LOGIN, by):
        raise ValueError(f"not a user login: {by!r}")
    return f"approved by @{by} (comment {int(comment_id)})"


def from_statuses(sha: str, statuses: Sequence[Mapping[str, Any]],
                  trusted_bots: Iterable[str] = DEFAULT_TRUSTED_BOTS) -> Approval | None:
    """The approval the statuses of ``sha`` carry (newest trusted record first), or None.

    ``statuses`` is the API's list for the commit, newest first. Statuses of the approval context
    by anyone but a trusted bot are ignored (a same-repository workflow could post one; it is not
    the bot's record), and the newest trusted one decides: ``success`` approves, anything else
    (``failure`` written on revocation) does not.
    """
    trusted = {b.lower() for b in trusted_bots}
    for status in statuses:
        if status.get("context") != APPROVAL_CONTEXT:
            continue
        creator = str(((status.get("creator") or {}).get("login")) or "")
        if creator.lower() not in trusted:
            continue
        if status.get("state") != "success":
            return None
        m = _DESCRIPTION.match(str(status.get("description") or ""))
        if m is None:
            return None
        return Approval(sha.lower(), m.group("by"), int(m.group("comment")), status.get("target_url"))
    return None


def decide(head_sha: str, approval: Approval | None, permission: str | None) -> GuardVerdict:
    """Allowed when a trusted record approves exactly ``head_sha`` and its approver has write access now.

    ``permission`` is the API's ``permission`` of the approver (admin, write, read, none), looked up
    when the decision is made, so approvals of someone who lost access die with it.
    """
    head = head_sha.lower()
    if approval is None or approval.sha != head:
        return GuardVerdict(False, f"commit {head[:12]} of a fork PR is not approved by a maintainer")
    if (permission or "none") not in WRITE_PERMISSIONS:
        return GuardVerdict(False, f"commit {head[:12]} was approved by @{approval.by}, who no longer has write "
                                   f"access (permission `{permission or 'none'}`)", approval)
    return GuardVerdict(True, f"commit {head[:12]} approved by @{approval.by}", approval)


def how_to_approve(head_sha: str, prefix: str = DEFAULT_PREFIX) -> str:
    """What a maintainer does next, in Markdown (job summaries, error hints, bot replies)."""
    return (f"A maintainer (write, maintain or admin) who has reviewed exactly commit `{head_sha}` approves it by "
            f"commenting `{prefix} approve {head_sha}` on the pull request: the bot records the approval on "
            "that commit and starts its run on the self-hosted runners from the default branch's workflow.")


def judge(gh: Any, sha: str, trusted_bots: tuple[str, ...]) -> "GuardVerdict":
    """The bot's approval status on ``sha``, its approver's permission now, and the decision."""
    approval = from_statuses(sha, gh.commit_statuses(sha), trusted_bots or ("github-actions[bot]",))
    permission = gh.collaborator_permission(approval.by) if approval is not None else None
    return decide(sha, approval, permission)
