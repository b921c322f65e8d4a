"""Event payloads for the guard, bot and drift-bot tests: the committed fixtures, varied, re-validated.

Every variant is checked against GitHub's webhook schema (``validate_event``) before a test uses
it, so a test can never pass on a payload GitHub would not send.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from tests.fakegithub import events
from tests.fakegithub.webhooks import validate_event

BOT = "github-actions[bot]"


def fork_pr(action: str = "opened", head_sha: str = events.FORK_HEAD_SHA, event: str = "pull_request",
            label: str | None = None, sender: str | None = None) -> dict[str, Any]:
    """PR #43 from the fork ``outside-contrib/churn-model``, as ``action`` (opened/synchronize/labeled)."""
    payload = copy.deepcopy(events.load("pull_request.fork.opened.json"))
    payload["action"] = action
    payload["pull_request"]["head"]["sha"] = head_sha
    if action == "synchronize":
        payload.update(before=events.FORK_HEAD_SHA, after=head_sha)
    if label is not None:
        payload["label"] = {"id": 7_000_001, "node_id": "LA_kwDOLx0AAc8AAAABaq2Tlw",
                            "url": f"https://api.github.com/repos/{events.REPO}/labels/{label}", "name": label,
                            "color": "0e8a16", "default": False, "description": "approved for self-hosted runners"}
    if sender is not None:
        payload["sender"] = {**payload["sender"], "login": sender, "id": 5_000_000 + len(sender),
                             "node_id": f"U_kgDO{len(sender):08d}", "type": "User",
                             "html_url": f"https://github.com/{sender}",
                             "url": f"https://api.github.com/users/{sender}"}
    validate_event(event, payload)
    return payload


def same_repo_pr() -> dict[str, Any]:
    payload = copy.deepcopy(events.load("pull_request.opened.json"))
    validate_event("pull_request", payload)
    return payload


def issue_comment(body: str, *, user: str = events.MAINTAINER, comment_id: int = events.COMMENT_ID,
                  number: int = events.PR_NUMBER, is_pull: bool = True, user_type: str = "User",
                  action: str = "created") -> dict[str, Any]:
    """An ``issue_comment`` event: ``body`` by ``user`` on PR (or issue) ``number``."""
    payload = copy.deepcopy(events.load("issue_comment.created.json"))
    payload["action"] = action
    if action == "edited":
        payload["changes"] = {"body": {"from": "/mlops help"}}
    comment, issue = payload["comment"], payload["issue"]
    comment.update(body=body, id=comment_id, html_url=comment["html_url"].rsplit("-", 1)[0] + f"-{comment_id}",
                   url=comment["url"].rsplit("/", 1)[0] + f"/{comment_id}")
    user_obj = {**comment["user"], "login": user, "type": user_type, "id": 6_000_000 + len(user),
                "html_url": f"https://github.com/{user}", "url": f"https://api.github.com/users/{user}"}
    comment["user"] = user_obj
    payload["sender"] = user_obj
    issue["number"] = number
    for key in ("url", "html_url", "comments_url", "events_url", "labels_url"):
        if key in issue:
            issue[key] = issue[key].replace(f"/{events.PR_NUMBER}", f"/{number}")
    if not is_pull:
        issue.pop("pull_request", None)
    elif "pull_request" in issue:
        for key in ("url", "html_url", "diff_url", "patch_url"):
            issue["pull_request"][key] = issue["pull_request"][key].replace(f"/{events.PR_NUMBER}", f"/{number}")
    validate_event("issue_comment", payload)
    return payload


def schedule() -> dict[str, Any]:
    payload = copy.deepcopy(events.load("schedule.json"))
    validate_event("schedule", payload)
    return payload


def actions_env(fake: Any, tmp_path: Path, event_name: str, payload: dict[str, Any], *, token: str | None = None,
                run_id: str = "4242", **extra: str) -> dict[str, str]:
    """The environment of a step on a runner: GITHUB_* pointing at the fake, outputs and summary files."""
    out = tmp_path / "gha"
    out.mkdir(exist_ok=True)
    event_path = out / f"event-{event_name}.json"
    event_path.write_text(json.dumps(payload))
    for name in ("output", "summary"):
        (out / name).write_text("")
    return {**fake.env(token), "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_path), "GITHUB_SHA": events.BASE_SHA, "GITHUB_RUN_ID": run_id,
            "GITHUB_RUN_ATTEMPT": "1", "GITHUB_WORKFLOW": "mlops", "GITHUB_ACTOR": "mia-maintainer",
            "GITHUB_OUTPUT": str(out / "output"), "GITHUB_STEP_SUMMARY": str(out / "summary"), **extra}


def read_outputs(tmp_path: Path) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` as a dict (multi-line heredoc values included)."""
    lines = (tmp_path / "gha" / "output").read_text().splitlines()
    out: dict[str, str] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and "=" not in line.split("<<", 1)[0]:
            name, delim = line.split("<<", 1)
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1:j])
            i = j + 1
            continue
        name, _, value = line.partition("=")
        out[name] = value
        i += 1
    return out


def summary(tmp_path: Path) -> str:
    return (tmp_path / "gha" / "summary").read_text()
