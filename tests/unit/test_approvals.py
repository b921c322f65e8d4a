"""Which commit a maintainer approved for the self-hosted runners: the bot's commit status, nothing else."""

from __future__ import annotations

import pytest

from mlops_ci.github.approvals import (
    APPROVAL_CONTEXT, Approval, decide, from_statuses, how_to_approve, is_full_sha, status_description,
)

HEAD = "c5b97d5ae6c19d5c5df71a34c7fbeeda2479ccbc"
BOT = "github-actions[bot]"


def status(state="success", by="mia", comment=7, creator=BOT, context=APPROVAL_CONTEXT, description=None):
    return {"state": state, "context": context, "creator": {"login": creator},
            "description": description if description is not None else status_description(by, comment),
            "target_url": f"https://github.com/o/r/pull/1#issuecomment-{comment}"}


def test_the_bots_success_status_approves_the_commit_it_is_on():
    found = from_statuses(HEAD, [status()])
    assert found == Approval(HEAD, "mia", 7, "https://github.com/o/r/pull/1#issuecomment-7")
    assert decide(HEAD, found, "write").allowed


@pytest.mark.parametrize("record", [
    status(creator="octocat"),                    # a user (or a same-repo workflow's PAT) posting the context
    status(creator="evil-app[bot]"),              # another App
    status(context="mlops-ci / approval (fake)"),
    status(state="pending"),
    status(description="approved by everyone"),
    status(description="approved by @mia (comment 7) and @eve"),
], ids=["user", "other-bot", "other-context", "pending", "free-text", "trailing-text"])
def test_anything_but_the_bots_exact_record_approves_nothing(record):
    assert from_statuses(HEAD, [record]) is None


def test_the_newest_trusted_record_decides_so_a_failure_revokes():
    assert from_statuses(HEAD, [status(state="failure"), status()]) is None      # newest first
    assert from_statuses(HEAD, [status(creator="octocat", state="failure"), status()]) is not None


def test_an_app_identity_can_be_the_trusted_bot():
    record = status(creator="mlops-app[bot]")
    assert from_statuses(HEAD, [record]) is None
    assert from_statuses(HEAD, [record], trusted_bots=["mlops-app[bot]"]) is not None


def test_the_approver_must_have_write_access_now():
    found = from_statuses(HEAD, [status()])
    for permission in ("read", "none", None):
        verdict = decide(HEAD, found, permission)
        assert not verdict.allowed and "no longer has write access" in verdict.reason
    assert decide(HEAD, found, "admin").allowed


def test_an_approval_never_covers_another_commit():
    found = from_statuses(HEAD, [status()])
    verdict = decide("d" * 40, found, "write")
    assert not verdict.allowed and "not approved" in verdict.reason


def test_records_and_shas_are_strict():
    assert is_full_sha(HEAD) and not is_full_sha(HEAD[:12]) and not is_full_sha(HEAD.upper())
    with pytest.raises(ValueError):
        status_description("mia --> <!--", 1)
    assert len(status_description("a" * 39, 10**19)) <= 140  # GitHub's limit for a description


def test_how_to_approve_names_the_full_sha():
    assert f"/mlops approve {HEAD}" in how_to_approve(HEAD)
