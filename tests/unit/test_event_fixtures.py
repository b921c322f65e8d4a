"""Event payload fixtures match GitHub's published webhook schemas and tell one consistent story."""

from __future__ import annotations

import copy
import json

import pytest

from tests.fakegithub import events
from tests.fakegithub.webhooks import EventInvalid, event_errors, validate_event, webhook_name

ALL = sorted(events.FIXTURES)


def test_every_fixture_file_is_listed() -> None:
    assert sorted(p.name for p in events.EVENTS_DIR.glob("*.json")) == ALL


@pytest.mark.parametrize("filename", ALL)
def test_fixture_matches_github_schema(filename: str) -> None:
    validate_event(events.event_name(filename), events.load(filename))


@pytest.mark.parametrize("filename", ALL)
def test_fixture_file_is_up_to_date(filename: str) -> None:
    """The committed JSON is what the builder produces (regenerate: python -m tests.fakegithub.events)."""
    assert events.load(filename) == json.loads(json.dumps(events.FIXTURES[filename][1]()))


def test_webhook_selection() -> None:
    assert webhook_name("pull_request", {"action": "synchronize"}) == "pull-request-synchronize"
    assert webhook_name("pull_request_target", {"action": "opened"}) == "pull-request-opened"
    assert webhook_name("push", {}) == "push"
    assert webhook_name("workflow_run", {"action": "completed"}) == "workflow-run-completed"
    assert webhook_name("workflow_dispatch", {}) == "workflow-dispatch"
    with pytest.raises(EventInvalid, match="no webhook schema"):
        webhook_name("not_an_event", {})


def test_a_broken_payload_is_caught() -> None:
    payload = copy.deepcopy(events.load("pull_request.opened.json"))
    del payload["pull_request"]["head"]["sha"]
    payload["pull_request"]["created_at"] = "yesterday"
    payload["number"] = "42"
    errors = event_errors("pull_request", payload)
    assert any("'sha' is a required property" in e for e in errors)
    assert any("'yesterday' is not a 'date-time'" in e for e in errors)
    assert any("number" in e and "not of type 'integer'" in e for e in errors)
    with pytest.raises(EventInvalid):
        validate_event("pull_request", payload)


def test_a_broken_schedule_is_caught() -> None:
    assert event_errors("schedule", {"schedule": "every monday"})
    assert event_errors("schedule", {"schedule": "0 6 * * 1", "workflow": "drift.yml"})
    assert event_errors("schedule", events.load("schedule.json")) == []


def test_fixtures_tell_one_story() -> None:
    opened = events.load("pull_request.opened.json")
    sync = events.load("pull_request.synchronize.json")
    fork = events.load("pull_request.fork.opened.json")
    target = events.load("pull_request_target.opened.json")
    run = events.load("workflow_run.completed.json")
    same_repo_run = events.load("workflow_run.completed.same_repo.json")
    comment = events.load("issue_comment.created.json")
    push, tag = events.load("push.main.json"), events.load("push.tag.json")
    dispatch = events.load("workflow_dispatch.json")

    every = [opened, sync, fork, target, run, comment, push, tag, dispatch]
    assert {e["repository"]["full_name"] for e in every} == {events.REPO}
    assert len({e["repository"]["id"] for e in every}) == 1

    assert opened["pull_request"]["head"]["sha"] == sync["before"] == events.PR_BEFORE_SHA
    assert sync["pull_request"]["head"]["sha"] == sync["after"] == events.PR_HEAD_SHA
    assert opened["pull_request"]["base"]["sha"] == push["before"] == events.BASE_SHA
    assert fork["pull_request"]["head"]["repo"]["fork"] is True
    assert fork["pull_request"]["head"]["repo"]["full_name"] != fork["repository"]["full_name"]
    assert target["pull_request"] == fork["pull_request"]
    assert run["workflow_run"]["event"] == "pull_request"
    assert run["workflow_run"]["head_sha"] == fork["pull_request"]["head"]["sha"]
    assert run["workflow_run"]["pull_requests"] == []  # runs from forks list no PRs on GitHub
    assert [p["number"] for p in same_repo_run["workflow_run"]["pull_requests"]] == [events.PR_NUMBER]
    assert comment["comment"]["body"] == "/mlops rerun" and "pull_request" in comment["issue"]
    assert comment["issue"]["number"] == events.PR_NUMBER
    assert push["ref"] == "refs/heads/main" and tag["ref"] == "refs/tags/v1.2.3"
    assert push["after"] == tag["after"] == events.MERGE_SHA and tag["created"] is True
    assert dispatch["workflow"] == ".github/workflows/retrain.yml"


def test_seeded_fake_agrees_with_the_events(fake_github) -> None:  # noqa: ANN001 - fixture
    import requests

    events.seed_fake(fake_github)
    s = requests.Session()
    s.headers["Authorization"] = f"token {fake_github.token}"
    api = f"{fake_github.url}/repos/{events.REPO}"
    pr = s.get(f"{api}/pulls/{events.FORK_PR_NUMBER}").json()
    fork_event = events.load("pull_request.fork.opened.json")["pull_request"]
    assert (pr["head"]["sha"], pr["head"]["repo"]["full_name"]) == \
        (fork_event["head"]["sha"], fork_event["head"]["repo"]["full_name"])
    run = s.get(f"{api}/actions/runs/{events.RUN_ID}").json()
    assert run["head_sha"] == events.load("workflow_run.completed.json")["workflow_run"]["head_sha"]
    found = s.get(f"{api}/commits/{events.FORK_HEAD_SHA}/pulls").json()
    assert [p["number"] for p in found] == [events.FORK_PR_NUMBER]
