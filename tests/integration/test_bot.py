"""`mlops-ci bot` against the fake GitHub (and a real MLflow server for `/mlops promote`)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.fakegithub import events
from tests.integration.events_helpers import BOT, actions_env, issue_comment, read_outputs, summary

pytestmark = pytest.mark.integration

PR, FORK_PR = events.PR_NUMBER, events.FORK_PR_NUMBER
WRITER, READER = events.MAINTAINER, "rob-reader"


def cli(command: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLOPS_CI_", "RUNNER_"))}
    return subprocess.run([sys.executable, "-m", "mlops_ci", command], cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def fake(fake_github):
    events.seed_fake(fake_github)
    fake_github.set_permission(READER, "read")
    return fake_github


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    return root


def comment(fake, project, tmp_path, body: str, *, user: str = WRITER, number: int = PR, is_pull: bool = True,
            user_type: str = "User", seed: bool = True, action: str = "created", **env: str):
    """Put the comment on the fake (so it can be reacted to), then run the bot on its event."""
    comment_id = fake.add_comment(number, body, user=user).id if seed else 7_777_777
    payload = issue_comment(body, user=user, comment_id=comment_id, number=number, is_pull=is_pull,
                            user_type=user_type, action=action)
    proc = cli("bot", actions_env(fake, tmp_path, "issue_comment", payload, **env), project)
    return proc, comment_id


def reactions(fake, comment_id: int) -> list[tuple[str, str]]:
    return [(r.content, r.user) for r in fake.reactions(comment_id)]


def replies(fake, number: int = PR) -> list[str]:
    return [c.body for c in fake.comments(number) if c.user == BOT]


def test_rerun_by_a_writer_dispatches_reacts_and_replies(fake, project, tmp_path):
    proc, cid = comment(fake, project, tmp_path, "/mlops rerun")
    assert proc.returncode == 0, proc.stderr
    (dispatch,) = fake.dispatches()
    assert (dispatch.workflow_id, dispatch.ref) == ("mlops-pr.yml", "main")
    assert dispatch.inputs == {"pr": str(PR), "sha": events.PR_HEAD_SHA, "command": "rerun"}
    assert reactions(fake, cid) == [("eyes", BOT), ("rocket", BOT)]
    (reply,) = replies(fake)
    assert reply.startswith(f"<!-- mlops-ci:bot reply-to={cid} command=rerun -->\n@{WRITER} 🚀 dispatched")
    assert f"for #{PR} at `{events.PR_HEAD_SHA[:7]}`" in reply
    assert read_outputs(tmp_path)["outcome"] == "done"
    assert "`rerun`: done" in summary(tmp_path)


def test_duplicate_delivery_of_the_same_comment_is_handled_once(fake, project, tmp_path):
    body = "/mlops report"
    cid = fake.add_comment(PR, body, user=WRITER).id
    env = actions_env(fake, tmp_path, "issue_comment", issue_comment(body, comment_id=cid))
    first, second = cli("bot", env, project), cli("bot", env, project)
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert len(fake.dispatches()) == 1 and len(replies(fake)) == 1
    assert reactions(fake, cid) == [("eyes", BOT), ("rocket", BOT)]
    assert read_outputs(tmp_path)["outcome"] == "duplicate"
    assert "already handled" in second.stdout


def test_permission_denied_is_refused_with_a_reply_and_no_dispatch(fake, project, tmp_path):
    proc, cid = comment(fake, project, tmp_path, "/mlops rerun", user=READER)
    assert proc.returncode == 0, proc.stderr
    assert fake.dispatches() == []
    assert reactions(fake, cid) == [("eyes", BOT), ("confused", BOT)]
    (reply,) = replies(fake)
    assert "needs write, maintain or admin permission" in reply and "yours is `read`" in reply
    assert read_outputs(tmp_path)["outcome"] == "refused"


@pytest.mark.parametrize("user, user_type, body", [
    ("dependabot[bot]", "Bot", "/mlops rerun"),
    ("renovate", "Bot", "/mlops promote"),
    (BOT, "Bot", "<!-- mlops-ci:bot reply-to=1 command=help -->\n/mlops rerun"),
    (WRITER, "User", "<!-- mlops-ci:bot reply-to=1 command=help -->\n/mlops rerun"),
    (WRITER, "User", "Shall we `/mlops rerun` after lunch?"),
])
def test_bots_own_comments_and_chatter_are_ignored_without_any_api_call(fake, project, tmp_path, user, user_type,
                                                                        body):
    fake.clear_log()
    proc, _ = comment(fake, project, tmp_path, body, user=user, user_type=user_type, seed=False)
    assert proc.returncode == 0, proc.stderr
    assert fake.requests == []
    assert read_outputs(tmp_path)["outcome"] == "ignored"


def test_edited_comments_are_not_commands(fake, project, tmp_path):
    fake.clear_log()
    proc, _ = comment(fake, project, tmp_path, "/mlops rerun", seed=False, action="edited")
    assert proc.returncode == 0 and fake.requests == []


def test_pr_commands_on_a_plain_issue_are_ignored(fake, project, tmp_path):
    issue = fake.add_issue("Weekly retrain", user=WRITER)
    fake.clear_log()
    proc, _ = comment(fake, project, tmp_path, "/mlops approve", number=issue.number, is_pull=False, seed=False)
    assert proc.returncode == 0
    assert fake.requests == []
    assert read_outputs(tmp_path)["outcome"] == "ignored"
    assert "needs a pull request" in proc.stdout


def test_unknown_command_is_answered_with_help(fake, project, tmp_path):
    proc, cid = comment(fake, project, tmp_path, "/mlops deploy production")
    assert proc.returncode == 0, proc.stderr
    (reply,) = replies(fake)
    assert "I don't know `/mlops deploy`" in reply and "`/mlops approve <sha>`" in reply
    assert reactions(fake, cid) == [("eyes", BOT), ("confused", BOT)]
    assert read_outputs(tmp_path)["outcome"] == "unknown"


def test_help_is_open_to_everyone(fake, project, tmp_path):
    proc, cid = comment(fake, project, tmp_path, "/mlops help", user="random-visitor")
    assert proc.returncode == 0, proc.stderr
    assert fake.count("GET", f"/repos/{fake.repo}/collaborators") == 0
    assert "`/mlops rerun`" in replies(fake)[0] and reactions(fake, cid)[-1] == ("rocket", BOT)


def test_bad_arguments_are_refused_with_the_usage(fake, project, tmp_path):
    proc, cid = comment(fake, project, tmp_path, "/mlops rerun everything")
    assert proc.returncode == 0
    assert "takes no arguments" in replies(fake)[0] and fake.dispatches() == []
    assert reactions(fake, cid)[-1] == ("confused", BOT)


def test_a_failing_dispatch_is_reported_and_fails_the_job(fake, project, tmp_path):
    (project / ".mlops-ci.yml").write_text("bot:\n  ref: no-such-branch\n")
    proc, cid = comment(fake, project, tmp_path, "/mlops rerun")
    assert proc.returncode == 1
    (reply,) = replies(fake)
    assert "💥 `/mlops rerun` failed" in reply and "422" in reply
    assert reactions(fake, cid)[-1] == ("confused", BOT)
    assert read_outputs(tmp_path)["outcome"] == "failed"


def approval_statuses(fake, sha: str = events.FORK_HEAD_SHA):
    from mlops_ci.github.approvals import APPROVAL_CONTEXT

    return fake.statuses(sha, APPROVAL_CONTEXT)


def test_approve_of_the_full_head_records_a_status_and_starts_the_fork_workflow(fake, project, tmp_path):
    head = events.FORK_HEAD_SHA
    proc, cid = comment(fake, project, tmp_path, f"Reviewed.\n/mlops approve {head}", number=FORK_PR)
    assert proc.returncode == 0, proc.stderr
    (status,) = approval_statuses(fake)
    assert (status.state, status.creator, status.description) == ("success", BOT, f"approved by @{WRITER} (comment {cid})")
    (dispatch,) = fake.dispatches()
    assert (dispatch.workflow_id, dispatch.ref) == ("mlops-fork.yml", "main")
    assert dispatch.inputs == {"pr": str(FORK_PR), "sha": head, "command": "rerun"}
    (reply,) = replies(fake, FORK_PR)
    assert f"approved commit `{head}`" in reply and "A new push needs a new approval" in reply

    env = actions_env(fake, tmp_path, "workflow_dispatch", events.load("workflow_dispatch.json"),
                      token=fake.read_token, GITHUB_REF="refs/heads/main")
    env.update(MLOPS_CI_PR=str(FORK_PR), MLOPS_CI_HEAD_SHA=head, MLOPS_CI_FORKS="approved")
    guard = cli("guard", env, project)
    assert guard.returncode == 0, guard.stderr
    assert read_outputs(tmp_path)["approved-by"] == WRITER


@pytest.mark.parametrize("body", ["/mlops approve", f"/mlops approve {events.FORK_HEAD_SHA[:7]}",
                                  f"/mlops approve {events.FORK_HEAD_SHA[:39]}"],
                         ids=["bare", "short", "39-hex"])
def test_approve_without_the_full_sha_is_refused_and_names_the_head(fake, project, tmp_path, body):
    proc, cid = comment(fake, project, tmp_path, body, number=FORK_PR)
    assert proc.returncode == 0
    (reply,) = replies(fake, FORK_PR)
    assert "full 40-character SHA" in reply and f"/mlops approve {events.FORK_HEAD_SHA}" in reply
    assert approval_statuses(fake) == [] and fake.dispatches() == []
    assert reactions(fake, cid)[-1] == ("confused", BOT)


def test_approve_of_a_commit_that_is_no_longer_the_head_is_refused(fake, project, tmp_path):
    proc, cid = comment(fake, project, tmp_path, "/mlops approve " + "1" * 40, number=FORK_PR)
    assert proc.returncode == 0
    assert "is not the head of" in replies(fake, FORK_PR)[0]
    assert approval_statuses(fake) == [] and approval_statuses(fake, "1" * 40) == []
    assert reactions(fake, cid)[-1] == ("confused", BOT)


def test_approve_by_a_reader_is_refused(fake, project, tmp_path):
    comment(fake, project, tmp_path, f"/mlops approve {events.FORK_HEAD_SHA}", number=FORK_PR, user=READER)
    assert "needs write" in replies(fake, FORK_PR)[0]
    assert approval_statuses(fake) == [] and fake.dispatches() == []


def test_rerun_of_a_fork_pr_goes_to_the_fork_workflow_only_once_approved(fake, project, tmp_path):
    from mlops_ci.github.approvals import APPROVAL_CONTEXT, status_description

    proc, _ = comment(fake, project, tmp_path, "/mlops rerun", number=FORK_PR)
    assert proc.returncode == 0 and fake.dispatches() == []
    assert "is not approved" in replies(fake, FORK_PR)[0]

    fake.add_status(events.FORK_HEAD_SHA, "success", APPROVAL_CONTEXT, description=status_description(WRITER, 1))
    proc, _ = comment(fake, project, tmp_path, "/mlops report", number=FORK_PR)
    assert proc.returncode == 0, proc.stderr
    (dispatch,) = fake.dispatches()
    assert dispatch.workflow_id == "mlops-fork.yml" and dispatch.inputs["command"] == "report"


def test_promote_moves_the_champion_in_a_real_mlflow_server(fake, project, tmp_path, mlflow_server):
    from mlflow import MlflowClient

    from mlops_ci.registry.mlflow_registry import Registry

    model = f"churn-{uuid.uuid4().hex[:8]}"
    registry = Registry(mlflow_server.url)

    def version(auc: float, alias: str) -> str:
        run_id = registry.log_run(model, run_name=alias, params={}, metrics={"auc": auc}, tags={}, artifacts=[])
        v = registry.create_version(model, run_id, "model", tags={})
        registry.set_alias(model, alias, v)
        return v

    champion, challenger = version(0.80, "champion"), version(0.85, "challenger")
    (project / ".mlops-ci.yml").write_text(
        f"mlflow:\n  model_name: {model}\ngate:\n  rules:\n    - metric: auc\n      direction: higher\n"
        "      max_regression: 0.01\n")
    proc, cid = comment(fake, project, tmp_path, "/mlops promote", MLFLOW_TRACKING_URI=mlflow_server.url)
    assert proc.returncode == 0, proc.stderr
    client = MlflowClient(mlflow_server.url)
    assert client.get_model_version_by_alias(model, "champion").version == challenger
    tags = client.get_model_version(model, challenger).tags
    assert tags["mlops-ci.promoted.champion.by"] == WRITER
    assert tags["mlops-ci.promoted.champion.why"] == f"/mlops promote by @{WRITER} on #{PR}"
    assert f"{model} v{challenger} is now @champion (was v{champion}" in replies(fake)[0]
    assert reactions(fake, cid)[-1] == ("rocket", BOT)

    worse = version(0.70, "challenger")
    proc, cid = comment(fake, project, tmp_path, "/mlops promote", MLFLOW_TRACKING_URI=mlflow_server.url)
    assert proc.returncode == 0, proc.stderr
    assert f"not promoting {model} v{worse}" in replies(fake)[-1]
    assert reactions(fake, cid)[-1] == ("confused", BOT)
    assert client.get_model_version_by_alias(model, "champion").version == challenger
