"""Approval rules of the fork guard: one approval covers one exact commit, by a writer, verified."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mlops_ci import approvals
from mlops_ci.approvals import Approval, decide, from_comments, from_label_event, record_line
from mlops_ci.chatops import done

OLD, HEAD = "a" * 40, "b" * 40
BOT = "github-actions[bot]"


@dataclass
class C:
    id: int
    body: str
    author: str | None


def bot_record(reply_to: int, sha: str, by: str, comment: int | None = None) -> str:
    return done("approved").body(reply_to, "approve", by).replace(
        "\n", "\n" + record_line(sha, by, comment if comment is not None else reply_to) + "\n", 1)


def test_explicit_full_sha_in_a_comment_is_an_approval() -> None:
    found = from_comments([C(1, f"/mlops approve {HEAD}", "mia")])
    assert found == [Approval(HEAD, "mia", "comment", 1)]


def test_a_short_sha_in_a_comment_alone_is_not_enough() -> None:
    """Seven hex digits can be brute-forced by a fork author; only the bot may expand them (at approval time)."""
    assert from_comments([C(1, f"/mlops approve {HEAD[:12]}", "mia")]) == []


def test_a_bot_record_is_verified_against_the_comment_it_cites() -> None:
    comments = [C(10, "/mlops approve", "mia"), C(11, bot_record(10, HEAD, "mia"), BOT)]
    assert from_comments(comments) == [Approval(HEAD, "mia", "bot record", 10)]


@pytest.mark.parametrize("comments", [
    # forged by a user: not a trusted author
    [C(10, "/mlops approve", "mia"), C(11, bot_record(10, HEAD, "mia"), "mallory")],
    # cites a comment that does not exist on this PR
    [C(11, bot_record(10, HEAD, "mia"), BOT)],
    # names another approver than the cited comment's author
    [C(10, "/mlops approve", "mallory"), C(11, bot_record(10, HEAD, "mia"), BOT)],
    # the cited comment is not an approve command
    [C(10, "/mlops rerun", "mia"), C(11, bot_record(10, HEAD, "mia"), BOT)],
    # the cited comment approved another commit than recorded
    [C(10, f"/mlops approve {OLD[:8]}", "mia"), C(11, bot_record(10, HEAD, "mia"), BOT)],
    # the record does not open the comment (e.g. text a PR smuggled into a report)
    [C(10, "/mlops approve", "mia"), C(11, "## Report\n" + bot_record(10, HEAD, "mia"), BOT)],
    # reply-to and comment= disagree
    [C(10, "/mlops approve", "mia"), C(12, "/mlops approve", "mia"), C(11, bot_record(10, HEAD, "mia", 12), BOT)],
])
def test_records_that_do_not_verify_are_ignored(comments: list[C]) -> None:
    assert from_comments(comments) == []


def test_bots_cannot_approve_by_comment() -> None:
    assert from_comments([C(1, f"/mlops approve {HEAD}", "evil[bot]")]) == []


def test_custom_trusted_bot() -> None:
    comments = [C(10, "/mlops approve", "mia"), C(11, bot_record(10, HEAD, "mia"), "mlops-app[bot]")]
    assert from_comments(comments) == []
    assert len(from_comments(comments, trusted_bots=["mlops-app[bot]"])) == 1


def test_label_event_approves_the_snapshot_head_only_for_the_approval_label() -> None:
    assert from_label_event("labeled", "MLOPS:approved", "mia", "User", HEAD.upper()) == Approval(HEAD, "mia", "label")
    assert from_label_event("labeled", "bug", "mia", "User", HEAD) is None
    assert from_label_event("synchronize", "mlops:approved", "mia", "User", HEAD) is None
    assert from_label_event("labeled", "mlops:approved", "some-bot[bot]", "Bot", HEAD) is None
    assert from_label_event("labeled", "ok", "mia", "User", HEAD, approval_label="ok") is not None


def test_writer_approving_the_head_passes() -> None:
    verdict = decide(HEAD, [Approval(HEAD, "Mia", "comment", 1)], {"mia": "write"})
    assert verdict.allowed and verdict.approval.by == "Mia" and "approved by @Mia" in verdict.reason


@pytest.mark.parametrize("permission", ["read", "none", "triage"])
def test_approval_by_someone_without_write_access_is_refused(permission: str) -> None:
    verdict = decide(HEAD, [Approval(HEAD, "rob", "label")], {"rob": permission})
    assert not verdict.allowed
    assert "without write access" in verdict.reason and "@rob" in verdict.reason
    assert verdict.unauthorised == [Approval(HEAD, "rob", "label")]


def test_approval_of_an_older_commit_is_refused() -> None:
    verdict = decide(HEAD, [Approval(OLD, "mia", "bot record", 3)], {"mia": "admin"})
    assert not verdict.allowed
    assert "older commits" in verdict.reason and OLD[:12] in verdict.reason and "new push revokes" in verdict.reason
    assert verdict.stale == [Approval(OLD, "mia", "bot record", 3)]


def test_no_approval_at_all() -> None:
    verdict = decide(HEAD, [], {})
    assert not verdict.allowed and "not approved by a maintainer" in verdict.reason


def test_one_writer_among_readers_is_enough() -> None:
    found = [Approval(HEAD, "rob", "comment", 1), Approval(HEAD, "ada", "comment", 2)]
    verdict = decide(HEAD, found, {"rob": "read", "ada": "admin"})
    assert verdict.allowed and verdict.approval.by == "ada"


def test_approvers_of_lists_each_login_of_the_head_once() -> None:
    found = [Approval(HEAD, "mia", "comment"), Approval(HEAD, "MIA", "label"), Approval(OLD, "rob", "comment")]
    assert approvals.approvers_of(HEAD, found) == ["mia"]


def test_record_line_refuses_what_it_could_not_parse_back() -> None:
    with pytest.raises(ValueError):
        record_line(HEAD[:12], "mia", 1)
    with pytest.raises(ValueError):
        record_line(HEAD, "mia --> <!--", 1)


def test_how_to_approve_names_the_full_sha_and_the_label() -> None:
    text = approvals.how_to_approve(HEAD, "/mlops", "mlops:approved")
    assert f"/mlops approve {HEAD}" in text and "mlops:approved" in text
