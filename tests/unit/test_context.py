"""Run context from real event payloads (each fixture validated against @octokit/openapi-webhooks)."""

import json
import subprocess
from pathlib import Path

import pytest

from mlops_ci.adapters.git import Git
from mlops_ci.github.context import detect, from_github, from_local_git, read_event
from mlops_ci.errors import BadInput
from tests.fakegithub.webhooks import validate_event

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "events"
REPO = "octo-org/churn-model"


def load(name: str, event_name: str) -> dict:
    payload = json.loads((EVENTS / f"{name}.json").read_text())
    validate_event(event_name, payload)  # the fixture is what GitHub would send
    return payload


def env_for(event_name: str, name: str, sha: str = "f" * 40) -> dict:
    return {"GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event_name, "GITHUB_EVENT_PATH": str(EVENTS / f"{name}.json"),
            "GITHUB_REPOSITORY": REPO, "GITHUB_SHA": sha, "GITHUB_REF": "refs/pull/42/merge",
            "GITHUB_API_URL": "https://ghe.example.com/api/v3", "GITHUB_SERVER_URL": "https://ghe.example.com",
            "GITHUB_RUN_ID": "123", "GITHUB_RUN_ATTEMPT": "2", "GITHUB_WORKFLOW": "mlops-pr", "GITHUB_ACTOR": "dev"}


def test_pull_request():
    event = load("pull_request.opened", "pull_request")
    ctx = from_github(env_for("pull_request", "pull_request.opened"), event)
    pr = event["pull_request"]
    assert ctx.pull_request.number == event["number"]
    assert ctx.base_sha == pr["base"]["sha"] and ctx.head_sha == pr["head"]["sha"]  # not the merge commit
    assert not ctx.pull_request.from_fork
    assert ctx.api_url == "https://ghe.example.com/api/v3"
    assert ctx.run_url == f"https://ghe.example.com/{REPO}/actions/runs/123" and ctx.run_attempt == "2"
    assert ctx.default_branch == "main"


@pytest.mark.parametrize("name, event_name", [("pull_request.fork.opened", "pull_request"),
                                              ("pull_request_target.opened", "pull_request_target")])
def test_fork_and_target(name, event_name):
    event = load(name, event_name)
    ctx = from_github(env_for(event_name, name), event)
    assert ctx.pull_request.number == event["number"]
    assert ctx.pull_request.from_fork == (event["pull_request"]["head"]["repo"]["full_name"] != REPO)
    assert ctx.head_sha == event["pull_request"]["head"]["sha"]


def test_push_to_main_and_tag():
    event = load("push.main", "push")
    ctx = from_github(env_for("push", "push.main", sha=event["after"]), event)
    assert (ctx.base_sha, ctx.head_sha) == (event["before"], event["after"])
    assert ctx.pull_request is None
    tag_event = load("push.tag", "push")
    tag = from_github(env_for("push", "push.tag"), tag_event)
    assert tag.details["tag"] == "v1.2.3"


def test_new_branch_push_has_no_base():
    event = {**load("push.main", "push"), "before": "0" * 40, "created": True}
    ctx = from_github(env_for("push", "push.main"), event)
    assert ctx.base_sha is None and ctx.details["created"]


def test_workflow_run_from_a_fork_lists_no_pr():
    event = load("workflow_run.completed", "workflow_run")
    ctx = from_github(env_for("workflow_run", "workflow_run.completed"), event)
    assert ctx.head_sha == event["workflow_run"]["head_sha"]
    assert ctx.pull_request is None  # GitHub leaves pull_requests empty for forks
    assert ctx.details["triggering_event"] == "pull_request"
    assert ctx.details["head_repository"] == event["workflow_run"]["head_repository"]["full_name"]
    same = load("workflow_run.completed.same_repo", "workflow_run")
    ctx = from_github(env_for("workflow_run", "workflow_run.completed.same_repo"), same)
    assert ctx.pull_request.number == same["workflow_run"]["pull_requests"][0]["number"]


def test_dispatch_schedule_and_comment():
    dispatch = from_github(env_for("workflow_dispatch", "workflow_dispatch"), load("workflow_dispatch", "workflow_dispatch"))
    assert dispatch.details["inputs"]["reason"] == "weekly drift exceeded threshold"
    assert dispatch.head_sha == "f" * 40 and dispatch.pull_request is None
    schedule = from_github(env_for("schedule", "schedule"), load("schedule", "schedule"))
    assert schedule.details["schedule"] == "0 6 * * 1" and schedule.repository == REPO
    comment = from_github(env_for("issue_comment", "issue_comment.created"),
                          load("issue_comment.created", "issue_comment"))
    assert comment.pull_request.number == 42 and comment.details["comment_body"] == "/mlops rerun"
    assert comment.details["commenter"] == "mia-maintainer" and comment.head_sha is None


def test_a_bot_dispatch_names_its_pull_request_through_inputs():
    event = load("workflow_dispatch", "workflow_dispatch")
    head = "a" * 40
    event["inputs"] = {"pr": "42", "sha": head, "command": "report"}
    validate_event("workflow_dispatch", event)
    ctx = from_github(env_for("workflow_dispatch", "workflow_dispatch", sha="b" * 40), event)
    assert ctx.pull_request.number == 42 and ctx.pull_request.head_sha == head
    assert ctx.head_sha == head  # the PR's head, not the default branch's tip the run started from
    assert ctx.sha == "b" * 40
    for bad, key in (({"pr": "main"}, "input pr='main'"), ({"pr": "7", "sha": "abc123"}, "input sha='abc123'")):
        event["inputs"] = bad
        with pytest.raises(BadInput, match=key):
            from_github(env_for("workflow_dispatch", "workflow_dispatch"), event)


def test_detect_reads_the_event_file_and_rejects_bad_ones(tmp_path):
    ctx = detect(env_for("pull_request", "pull_request.opened"))
    assert ctx.mode == "github" and ctx.pull_request.number == 42
    bad = tmp_path / "event.json"
    bad.write_text("{not json")
    with pytest.raises(BadInput, match="event.json:1: event payload is not valid JSON"):
        read_event(str(bad))
    with pytest.raises(BadInput, match="missing file"):
        read_event(str(tmp_path / "nope.json"))


def test_local_git_context(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True,
                       env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t",
                            "GIT_COMMITTER_EMAIL": "t@x", "PATH": "/usr/bin:/bin"})

    git("init", "-q", "-b", "main")
    git("commit", "-q", "--allow-empty", "-m", "base")
    base = Git(tmp_path).head()
    git("checkout", "-q", "-b", "feature")
    git("commit", "-q", "--allow-empty", "-m", "change")
    ctx = from_local_git(Git(tmp_path))
    assert ctx.mode == "local" and ctx.branch == "feature" and ctx.default_branch == "main"
    assert ctx.merge_base == base == ctx.base_sha and ctx.head_sha != base
    assert json.loads(json.dumps(ctx.to_dict()))["branch"] == "feature"


def test_context_command_outside_git_is_exit_2(tmp_path, capsys):
    from mlops_ci.cli import main

    assert main(["context", "-C", str(tmp_path)]) == 2
    assert "is not inside a git repository" in capsys.readouterr().err
