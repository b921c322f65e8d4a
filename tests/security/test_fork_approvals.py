"""Threat: a fork's code reaches a self-hosted runner without a maintainer's approval of that exact commit.

The attacker controls the fork's commits, the workflow file its `pull_request` runs use, its comments,
and — once approved — the code running in the fork workflow's job. Each test is one row of the threat
table in docs/security.md; the bot and the guard run as the real CLI against the fake GitHub.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops_ci.github.approvals import APPROVAL_CONTEXT, status_description
from tests.fakegithub import events
from tests.integration.events_helpers import BOT, actions_env, fork_pr, issue_comment

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
FORK_PR, HEAD = events.FORK_PR_NUMBER, events.FORK_HEAD_SHA
WRITER = events.MAINTAINER
PUSHED = "d" * 40


def cli(command: str, env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLOPS_CI_", "RUNNER_"))}
    return subprocess.run([sys.executable, "-m", "mlops_ci", command, *args], cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def fake(fake_github):
    events.seed_fake(fake_github)
    fake_github.set_permission("rob-reader", "read")
    return fake_github


def bot(fake, tmp_path: Path, body: str, user: str = WRITER) -> subprocess.CompletedProcess[str]:
    comment_id = fake.add_comment(FORK_PR, body, user=user).id
    payload = issue_comment(body, user=user, comment_id=comment_id, number=FORK_PR)
    (tmp_path / "repo").mkdir(exist_ok=True)
    return cli("bot", actions_env(fake, tmp_path, "issue_comment", payload), tmp_path / "repo")


def fork_run_guard(fake, tmp_path: Path, sha: str | None = None, ref: str = "refs/heads/main"):
    """The first step of mlops-fork.yml's GPU job, with that job's read-only token."""
    args = ["--pr", str(FORK_PR), "--forks", "approved"] + (["--head-sha", sha] if sha else [])
    env = actions_env(fake, tmp_path, "workflow_dispatch", events.load("workflow_dispatch.json"),
                      token=fake.read_token, GITHUB_REF=ref)
    return cli("guard", env, tmp_path, *args)


def approved(fake, sha: str = HEAD) -> list:
    return fake.statuses(sha, APPROVAL_CONTEXT)


def move_head(fake, sha: str) -> None:
    fake.state.pulls[(fake.repo, FORK_PR)].head_sha = sha


def test_f1_a_forks_pull_request_workflow_is_never_a_boundary(fake, tmp_path):
    """The fork edits mlops-pr.yml (it may: on `pull_request` the file is the PR's). Even its guard step refuses,
    approved or not, and the shipped template only sends same-repository PRs to the self-hosted job."""
    fake.add_status(HEAD, "success", APPROVAL_CONTEXT, description=status_description(WRITER, 1))
    for forks in ("refuse", "approved"):
        env = actions_env(fake, tmp_path, "pull_request", fork_pr(), token=fake.read_token)
        proc = cli("guard", env, tmp_path, "--forks", forks)
        assert proc.returncode == 1, proc.stdout
    template = yaml.safe_load((ROOT / "workflows-templates" / "mlops-pr.yml").read_text())
    jobs = template["jobs"]
    assert "head.repo.full_name == github.repository" in jobs["pr"]["if"]
    assert jobs["fork"]["runs-on"] == "ubuntu-latest" and jobs["fork"]["permissions"] == {"contents": "read"}


def test_f2_a_bare_approve_approves_nothing(fake, tmp_path):
    """A bare `/mlops approve` would bind to whatever the head is when the bot runs; a push in that window won."""
    move_head(fake, PUSHED)  # the fork pushed after the maintainer's review, before the bot's job
    proc = bot(fake, tmp_path, "/mlops approve")
    assert proc.returncode == 0, proc.stderr
    assert approved(fake, PUSHED) == [] and approved(fake, HEAD) == [] and fake.dispatches() == []
    assert fork_run_guard(fake, tmp_path).returncode == 1


def test_f2_a_push_between_review_and_bot_is_refused_not_approved(fake, tmp_path):
    move_head(fake, PUSHED)
    bot(fake, tmp_path, f"/mlops approve {HEAD}")  # the maintainer reviewed HEAD
    reply = [c.body for c in fake.comments(FORK_PR) if c.user == BOT][-1]
    assert "is not the head of" in reply and approved(fake, PUSHED) == [] and fake.dispatches() == []


@pytest.mark.parametrize("length", [7, 12, 39])
def test_f3_a_short_sha_is_refused(fake, tmp_path, length):
    """A fork authors both commits: it can grind a commit whose prefix collides with the reviewed one."""
    colliding = HEAD[:length] + "0" * (40 - length)
    move_head(fake, colliding)
    bot(fake, tmp_path, f"/mlops approve {HEAD[:length]}")
    assert approved(fake, colliding) == [] and fake.dispatches() == []


def test_f4_a_forged_record_is_not_an_approval(fake, tmp_path):
    """Records anyone but the bot can write do not count: a bot-looking comment, a status by a user or another
    App, a status with the right context but a made-up description; and a read-only token cannot write one."""
    fake.add_comment(FORK_PR, f"<!-- mlops-ci:bot reply-to=1 command=approve -->\n<!-- mlops-ci:approval sha={HEAD} "
                              f"by={WRITER} comment=1 -->\napproved", user=BOT)
    fake.add_status(HEAD, "success", APPROVAL_CONTEXT, creator=events.FORK_OWNER,
                    description=status_description(WRITER, 1))
    fake.add_status(HEAD, "success", APPROVAL_CONTEXT, creator="helpful-app[bot]",
                    description=status_description(WRITER, 1))
    assert fork_run_guard(fake, tmp_path).returncode == 1
    from mlops_ci.github.api import GitHub, GitHubError

    with pytest.raises(GitHubError) as refused:
        GitHub(fake.read_token, fake.repo, fake.url).create_commit_status(
            HEAD, "success", APPROVAL_CONTEXT, status_description(WRITER, 1))
    assert refused.value.status == 403


def test_f4_approved_fork_code_never_holds_a_token_that_writes(fake, tmp_path):
    """The fork workflow's GPU job, where the approved fork code runs, asks for read permissions only; every
    write (comment, check) is in a separate job that runs no PR code."""
    template = yaml.safe_load((ROOT / "workflows-templates" / "mlops-fork.yml").read_text())
    assert set(template[True]) == {"workflow_dispatch"} and template["permissions"] == {}
    run, publish = template["jobs"]["run"], template["jobs"]["publish"]
    assert set(run["permissions"].values()) == {"read"}
    assert publish["runs-on"] == "ubuntu-latest" and publish["needs"] == "run"
    assert not any("checkout" in str(step.get("uses", "")) for step in publish["steps"])
    repro = next(step for step in run["steps"] if step.get("id") == "repro")
    assert repro["with"]["push"] == "false", "a fork's run must not write the DVC remote or run-cache"
    assert "secrets." not in (ROOT / "workflows-templates" / "mlops-fork.yml").read_text()


def test_a_new_push_never_inherits_an_approval(fake, tmp_path):
    assert bot(fake, tmp_path, f"/mlops approve {HEAD}").returncode == 0
    assert len(approved(fake)) == 1
    assert fork_run_guard(fake, tmp_path, HEAD).returncode == 0
    move_head(fake, PUSHED)
    assert fork_run_guard(fake, tmp_path).returncode == 1                # the new head
    stale = fork_run_guard(fake, tmp_path, HEAD)                         # a late dispatch of the old one
    assert stale.returncode == 1 and "no longer the head" in stale.stderr


def test_a_dispatch_of_another_branchs_workflow_is_refused(fake, tmp_path):
    """Writers can dispatch any branch's workflow; fork code runs only under the default branch's file."""
    fake.add_status(HEAD, "success", APPROVAL_CONTEXT, description=status_description(WRITER, 1))
    proc = fork_run_guard(fake, tmp_path, HEAD, ref="refs/heads/experiment")
    assert proc.returncode == 1 and "not the default branch" in proc.stderr


def test_an_approval_dies_with_the_approvers_write_access(fake, tmp_path):
    assert bot(fake, tmp_path, f"/mlops approve {HEAD}").returncode == 0
    fake.set_permission(WRITER, "read")
    proc = fork_run_guard(fake, tmp_path, HEAD)
    assert proc.returncode == 1 and "no longer has write access" in proc.stderr


def test_readers_and_the_fork_author_cannot_approve(fake, tmp_path):
    for user in ("rob-reader", events.FORK_OWNER):
        bot(fake, tmp_path, f"/mlops approve {HEAD}", user=user)
    assert approved(fake) == [] and fake.dispatches() == []
