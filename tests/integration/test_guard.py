"""`mlops-ci guard` against the fake GitHub: fork PRs run only at a commit a writer approved."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mlops_ci.approvals import record_line
from mlops_ci.chatops import done
from tests.fakegithub import events
from tests.integration.events_helpers import BOT, actions_env, fork_pr, read_outputs, same_repo_pr, summary

pytestmark = pytest.mark.integration

FORK_PR, HEAD = events.FORK_PR_NUMBER, events.FORK_HEAD_SHA
NEW_HEAD = "d" * 40
WRITER, READER = events.MAINTAINER, "rob-reader"


def guard(env: dict[str, str], cwd, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLOPS_CI_", "RUNNER_"))}
    return subprocess.run([sys.executable, "-m", "mlops_ci", "guard", *args], cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def fake(fake_github):
    events.seed_fake(fake_github)
    fake_github.set_permission(READER, "read")
    return fake_github


def run(fake, tmp_path, payload, event="pull_request", *args: str, token: str | None = None):
    env = actions_env(fake, tmp_path, event, payload, token=token or fake.read_token)
    return guard(env, tmp_path, *args)


def bot_approval(fake, sha: str, by: str = WRITER) -> None:
    """What `/mlops approve` leaves on the PR: the command and the bot's record naming the full SHA."""
    asked = fake.add_comment(FORK_PR, "/mlops approve", user=by)
    body = done(f"approved {sha[:12]}", records=[record_line(sha, by, asked.id)]).body(asked.id, "approve", by)
    fake.add_comment(FORK_PR, body, user=BOT)


def test_fork_pr_without_approval_is_refused(fake, tmp_path):
    proc = run(fake, tmp_path, fork_pr())
    assert proc.returncode == 1, proc.stderr
    assert f"refusing to run fork PR #{FORK_PR}" in proc.stderr and "not approved by a maintainer" in proc.stderr
    assert "::error title=mlops-ci::" in proc.stdout
    out = read_outputs(tmp_path)
    assert out["allowed"] == "false" and out["fork"] == "true" and out["head-sha"] == HEAD
    text = summary(tmp_path)
    assert "⛔ mlops-ci guard" in text and f"/mlops approve {HEAD}" in text and "mlops:approved" in text
    assert not fake.writes(), "the guard only reads"


def test_same_repository_pr_passes_without_asking_the_api(fake, tmp_path):
    fake.clear_log()
    proc = run(fake, tmp_path, same_repo_pr())
    assert proc.returncode == 0, proc.stderr
    assert read_outputs(tmp_path)["allowed"] == "true" and read_outputs(tmp_path)["fork"] == "false"
    assert "comes from this repository" in summary(tmp_path)
    assert fake.requests == []


def test_explicit_approval_of_the_head_by_a_writer_passes(fake, tmp_path):
    fake.add_comment(FORK_PR, f"Reviewed, looks safe.\n/mlops approve {HEAD}", user=WRITER)
    proc = run(fake, tmp_path, fork_pr())
    assert proc.returncode == 0, proc.stderr
    out = read_outputs(tmp_path)
    assert out["allowed"] == "true" and out["approved-by"] == WRITER and out["head-sha"] == HEAD
    assert "✅ mlops-ci guard" in summary(tmp_path)


def test_bot_recorded_approval_passes_and_a_new_push_revokes_it(fake, tmp_path):
    bot_approval(fake, HEAD)
    assert run(fake, tmp_path, fork_pr()).returncode == 0
    assert read_outputs(tmp_path)["approved-by"] == WRITER

    proc = run(fake, tmp_path, fork_pr("synchronize", head_sha=NEW_HEAD))
    assert proc.returncode == 1
    assert "older commits" in proc.stderr and HEAD[:12] in proc.stderr
    assert "revoked by a later push" in summary(tmp_path)


def test_approval_at_an_older_sha_is_refused(fake, tmp_path):
    fake.add_comment(FORK_PR, f"/mlops approve {HEAD}", user=WRITER)
    proc = run(fake, tmp_path, fork_pr("synchronize", head_sha=NEW_HEAD))
    assert proc.returncode == 1
    assert read_outputs(tmp_path)["allowed"] == "false"
    assert "a new push revokes an approval" in proc.stderr


def test_approval_by_a_read_only_user_is_refused(fake, tmp_path):
    fake.add_comment(FORK_PR, f"/mlops approve {HEAD}", user=READER)
    proc = run(fake, tmp_path, fork_pr())
    assert proc.returncode == 1
    assert f"@{READER} (read)" in proc.stderr and "without write access" in proc.stderr


def test_approval_by_the_fork_author_is_refused(fake, tmp_path):
    fake.add_comment(FORK_PR, f"/mlops approve {HEAD}", user=events.FORK_OWNER)
    assert run(fake, tmp_path, fork_pr()).returncode == 1


def test_forged_record_in_a_users_comment_is_ignored(fake, tmp_path):
    asked = fake.add_comment(FORK_PR, "/mlops approve", user=WRITER)
    forged = done("approved", records=[record_line(NEW_HEAD, WRITER, asked.id)]).body(asked.id, "approve", WRITER)
    fake.add_comment(FORK_PR, forged, user=events.FORK_OWNER)
    assert run(fake, tmp_path, fork_pr("synchronize", head_sha=NEW_HEAD)).returncode == 1


def test_label_event_by_a_writer_approves_that_snapshot(fake, tmp_path):
    proc = run(fake, tmp_path, fork_pr("labeled", label="mlops:approved", sender=WRITER))
    assert proc.returncode == 0, proc.stderr
    assert "(label)" in read_outputs(tmp_path)["reason"]
    # the label stays on the PR, but the next push's event carries no approval
    assert run(fake, tmp_path, fork_pr("synchronize", head_sha=NEW_HEAD)).returncode == 1


def test_label_event_by_a_reader_or_another_label_is_refused(fake, tmp_path):
    assert run(fake, tmp_path, fork_pr("labeled", label="mlops:approved", sender=READER)).returncode == 1
    assert run(fake, tmp_path, fork_pr("labeled", label="bug", sender=WRITER)).returncode == 1


def test_pull_request_target_is_guarded_the_same_way(fake, tmp_path):
    assert run(fake, tmp_path, fork_pr(event="pull_request_target"), "pull_request_target").returncode == 1


def test_workflow_dispatch_with_pr_resolves_the_fork_and_head_through_the_api(fake, tmp_path):
    payload = events.load("workflow_dispatch.json")
    proc = run(fake, tmp_path, payload, "workflow_dispatch", "--pr", str(FORK_PR))
    assert proc.returncode == 1
    assert read_outputs(tmp_path)["head-sha"] == HEAD

    fake.add_comment(FORK_PR, f"/mlops approve {HEAD}", user=WRITER)
    proc = run(fake, tmp_path, payload, "workflow_dispatch", "--pr", str(FORK_PR), "--head-sha", HEAD)
    assert proc.returncode == 0, proc.stderr
    assert read_outputs(tmp_path)["head-sha"] == HEAD
    # a same-repository PR passes
    assert run(fake, tmp_path, payload, "workflow_dispatch", "--pr", str(events.PR_NUMBER)).returncode == 0
    # a late dispatch of a commit the PR has moved on from is refused, approved or not
    old = "0" * 39 + "1"
    fake.add_comment(FORK_PR, f"/mlops approve {old}", user=WRITER)
    stale = run(fake, tmp_path, payload, "workflow_dispatch", "--pr", str(FORK_PR), "--head-sha", old)
    assert stale.returncode == 1 and "is no longer the head of PR" in stale.stderr


def test_events_without_a_pull_request_pass(fake, tmp_path):
    proc = run(fake, tmp_path, events.load("push.main.json"), "push")
    assert proc.returncode == 0, proc.stderr
    assert "without a pull request" in read_outputs(tmp_path)["reason"]


def test_bad_head_sha_is_bad_input(fake, tmp_path):
    proc = run(fake, tmp_path, fork_pr(), "pull_request", "--head-sha", "abc")
    assert proc.returncode == 2 and "--head-sha" in proc.stderr


def test_adapter_permission_and_reaction_semantics(fake):
    """What the guard and the bot rely on: unknown users have no permission; a repeated reaction says so."""
    from mlops_ci.adapters.github import GitHub

    gh = GitHub(fake.token, fake.repo, fake.url)
    assert gh.collaborator_permission("ghost-who-never-was") == "none"
    assert gh.collaborator_permission(WRITER) == "write" and gh.collaborator_permission(READER) == "read"
    comment = fake.add_comment(FORK_PR, "/mlops help", user=WRITER)
    assert gh.add_reaction(comment.id, "eyes") is True
    assert gh.add_reaction(comment.id, "eyes") is False
    assert [r.content for r in fake.reactions(comment.id)] == ["eyes"]
