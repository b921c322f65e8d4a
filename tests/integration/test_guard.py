"""`mlops-ci guard` against the fake GitHub: fork code runs only in the default branch's fork workflow,
at a commit the bot recorded as approved by someone who still has write access."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mlops_ci.github.approvals import APPROVAL_CONTEXT, status_description
from tests.fakegithub import events
from tests.integration.events_helpers import actions_env, fork_pr, read_outputs, same_repo_pr, summary

pytestmark = pytest.mark.integration

FORK_PR, HEAD = events.FORK_PR_NUMBER, events.FORK_HEAD_SHA
NEW_HEAD = "d" * 40
WRITER, READER = events.MAINTAINER, "rob-reader"
DEFAULT_REF = {"GITHUB_REF": "refs/heads/main"}


def guard(env: dict[str, str], cwd, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLOPS_CI_", "RUNNER_"))}
    return subprocess.run([sys.executable, "-m", "mlops_ci", "guard", *args], cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def fake(fake_github):
    events.seed_fake(fake_github)
    fake_github.set_permission(READER, "read")
    return fake_github


def run(fake, tmp_path, payload, event="pull_request", *args: str, token: str | None = None, **env: str):
    return guard(actions_env(fake, tmp_path, event, payload, token=token or fake.read_token, **env), tmp_path, *args)


def dispatch(fake, tmp_path, *args: str, ref: str = "refs/heads/main"):
    """The fork workflow's guard step: a workflow_dispatch from the default branch with pr/sha inputs."""
    return run(fake, tmp_path, events.load("workflow_dispatch.json"), "workflow_dispatch", "--forks", "approved",
               *args, GITHUB_REF=ref)


def approve(fake, sha: str = HEAD, by: str = WRITER, creator: str = "github-actions[bot]", state: str = "success"):
    """What `/mlops approve <sha>` leaves behind: the bot's commit status on exactly that commit."""
    fake.add_status(sha, state, APPROVAL_CONTEXT, creator=creator, description=status_description(by, 77))


def test_an_approved_head_runs_in_the_fork_workflow(fake, tmp_path):
    approve(fake)
    proc = dispatch(fake, tmp_path, "--pr", str(FORK_PR), "--head-sha", HEAD)
    assert proc.returncode == 0, proc.stderr
    out = read_outputs(tmp_path)
    assert (out["allowed"], out["fork"], out["head-sha"], out["approved-by"]) == ("true", "true", HEAD, WRITER)
    assert out["base-sha"] == events.BASE_SHA and out["pr"] == str(FORK_PR)
    assert "✅ mlops-ci guard" in summary(tmp_path)
    assert not fake.writes(), "the guard only reads"


def test_an_unapproved_head_is_refused_with_how_to_approve(fake, tmp_path):
    proc = dispatch(fake, tmp_path, "--pr", str(FORK_PR))
    assert proc.returncode == 1
    assert f"refusing to run fork PR #{FORK_PR}" in proc.stderr and "not approved by a maintainer" in proc.stderr
    assert "::error title=mlops-ci::" in proc.stdout
    assert read_outputs(tmp_path)["allowed"] == "false"
    assert f"/mlops approve {HEAD}" in summary(tmp_path)


def test_same_repository_pr_passes_without_asking_the_api(fake, tmp_path):
    fake.clear_log()
    proc = run(fake, tmp_path, same_repo_pr())
    assert proc.returncode == 0, proc.stderr
    assert read_outputs(tmp_path)["allowed"] == "true" and read_outputs(tmp_path)["fork"] == "false"
    assert "comes from this repository" in summary(tmp_path)
    assert fake.requests == []


def test_a_job_holding_write_permissions_refuses_forks_even_when_approved(fake, tmp_path):
    approve(fake)
    proc = run(fake, tmp_path, events.load("workflow_dispatch.json"), "workflow_dispatch", "--pr", str(FORK_PR),
               **DEFAULT_REF)  # --forks defaults to refuse
    assert proc.returncode == 1 and "holds write permissions" in proc.stderr


@pytest.mark.parametrize("event", ["pull_request", "pull_request_target"])
def test_a_pull_request_event_never_runs_fork_code_approved_or_not(fake, tmp_path, event):
    approve(fake)
    proc = run(fake, tmp_path, fork_pr(event=event), event, "--forks", "approved")
    assert proc.returncode == 1 and "the workflow file is the fork's own" in proc.stderr


def test_approval_by_someone_without_write_access_is_refused(fake, tmp_path):
    approve(fake, by=READER)
    proc = dispatch(fake, tmp_path, "--pr", str(FORK_PR))
    assert proc.returncode == 1 and "no longer has write access" in proc.stderr


def test_workflow_dispatch_resolves_the_head_and_refuses_a_superseded_commit(fake, tmp_path):
    approve(fake)
    assert dispatch(fake, tmp_path, "--pr", str(FORK_PR)).returncode == 0
    assert read_outputs(tmp_path)["head-sha"] == HEAD
    old = "0" * 39 + "1"
    approve(fake, sha=old)
    stale = dispatch(fake, tmp_path, "--pr", str(FORK_PR), "--head-sha", old)
    assert stale.returncode == 1 and "is no longer the head of PR" in stale.stderr
    assert dispatch(fake, tmp_path, "--pr", str(events.PR_NUMBER)).returncode == 0  # same-repository PR


def test_events_without_a_pull_request_pass(fake, tmp_path):
    proc = run(fake, tmp_path, events.load("push.main.json"), "push")
    assert proc.returncode == 0, proc.stderr
    assert "without a pull request" in read_outputs(tmp_path)["reason"]


def test_bad_head_sha_is_bad_input(fake, tmp_path):
    proc = run(fake, tmp_path, fork_pr(), "pull_request", "--head-sha", "abc")
    assert proc.returncode == 2 and "--head-sha" in proc.stderr


def test_adapter_permission_status_and_reaction_semantics(fake):
    """What the guard and the bot rely on: unknown users have no permission; statuses are attributed to their
    creator; a read-only token cannot write one; a repeated reaction says so."""
    from mlops_ci.github.api import GitHub, GitHubError

    gh = GitHub(fake.token, fake.repo, fake.url)
    assert gh.collaborator_permission("ghost-who-never-was") == "none"
    assert gh.collaborator_permission(WRITER) == "write" and gh.collaborator_permission(READER) == "read"
    gh.create_commit_status(HEAD, "success", APPROVAL_CONTEXT, status_description(WRITER, 1))
    (status,) = gh.commit_statuses(HEAD)
    assert status["creator"]["login"] == "github-actions[bot]" and status["context"] == APPROVAL_CONTEXT
    with pytest.raises(GitHubError) as refused:
        GitHub(fake.read_token, fake.repo, fake.url).create_commit_status(HEAD, "success", APPROVAL_CONTEXT, "x")
    assert refused.value.status == 403
    comment = fake.add_comment(FORK_PR, "/mlops help", user=WRITER)
    assert gh.add_reaction(comment.id, "eyes") is True
    assert gh.add_reaction(comment.id, "eyes") is False
    fake.assert_clean()
