"""The event payload fixtures in ``tests/fixtures/events/``: one story, one repository.

Why generated: the payloads must agree with each other (same repository ids,
the PR head SHA of ``pull_request`` is the one ``workflow_run`` ran on, the
merge commit pushed to ``main`` is the one tagged ``v1.2.3``) and with what the
fake serves. They are rendered by the fake's own :class:`Renderer` from one
seeded :class:`State` (URLs as on api.github.com), checked against
``@octokit/openapi-webhooks``, and written as static JSON; tests read the
files. Regenerate with ``python -m tests.fakegithub.events``.

The story (``octo-org/churn-model``, default branch ``main`` at ``BASE_SHA``):
PR #42 ``feature/better-features`` by maintainer ``mia-maintainer`` (opened at
``PR_BEFORE_SHA``, synchronized to ``PR_HEAD_SHA``); PR #43 from the fork
``outside-contrib/churn-model`` at ``FORK_HEAD_SHA``; its ``pull_request`` run
completes (``workflow_run``, which — as on GitHub for forks — lists no pull
requests); ``/mlops rerun`` is commented on #42; #42 merges as ``MERGE_SHA``
(push to ``main``), which is tagged ``v1.2.3``; a weekly ``schedule`` and a
``workflow_dispatch`` of ``retrain.yml`` complete the set.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from tests.fakegithub.records import Issue, Pull
from tests.fakegithub.render import Renderer
from tests.fakegithub.state import BOT_LOGIN, DEFAULT_REPO, MAIN_SHA, State

EVENTS_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "events"
REPO = DEFAULT_REPO
BASE_SHA = MAIN_SHA
PR_NUMBER, FORK_PR_NUMBER = 42, 43
PR_BEFORE_SHA = "4e1243bd22c66e76c2ba9eddc1f91394e57f9f83"
PR_HEAD_SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
PR_HEAD_REF = "feature/better-features"
FORK_OWNER = "outside-contrib"
FORK_HEAD_SHA = "c5b97d5ae6c19d5c5df71a34c7fbeeda2479ccbc"
FORK_HEAD_REF = "fix-leaky-feature"
MERGE_SHA = "9a1e3f04c1b8a5d3f4e6b2c7d8e9f0a1b2c3d4e5"
TAG = "v1.2.3"
ZERO_SHA = "0" * 40
MAINTAINER = "mia-maintainer"
RUN_ID, COMMENT_ID = 9_876_543_210, 2_024_112_301
TIME = "2024-11-23T10:00:00Z"


def _world() -> tuple[State, Renderer]:
    state = State()
    state.add_repo(REPO, created_at="2024-01-15T09:30:00Z")
    state.repo(REPO).refs.update({"main": BASE_SHA, PR_HEAD_REF: PR_HEAD_SHA})
    state.add_repo(f"{FORK_OWNER}/churn-model", fork=True, parent=REPO).refs[FORK_HEAD_REF] = FORK_HEAD_SHA
    state.permissions[(REPO, MAINTAINER)] = "write"
    for login in (MAINTAINER, FORK_OWNER, BOT_LOGIN):
        state.user(login)
    state.add_issue(REPO, "Add rolling-window churn features", MAINTAINER, PR_NUMBER, is_pull=True,
                    body="Adds 30/60/90-day activity windows.", labels=["model"], created_at=TIME, updated_at=TIME)
    state.pulls[(REPO, PR_NUMBER)] = Pull(
        REPO, PR_NUMBER, 2_110_000_042, "PR_kwDOLx0AAc5-mTAq", PR_HEAD_SHA, BASE_SHA, PR_HEAD_REF, "main", REPO,
        MAINTAINER, "Add rolling-window churn features", "Adds 30/60/90-day activity windows.",
        created_at=TIME, updated_at=TIME)
    state.add_issue(REPO, "Fix leakage in tenure feature", FORK_OWNER, FORK_PR_NUMBER, is_pull=True,
                    body="tenure used the label date.", created_at=TIME, updated_at=TIME)
    state.pulls[(REPO, FORK_PR_NUMBER)] = Pull(
        REPO, FORK_PR_NUMBER, 2_110_000_043, "PR_kwDOLx0AAc5-mTAr", FORK_HEAD_SHA, BASE_SHA, FORK_HEAD_REF, "main",
        f"{FORK_OWNER}/churn-model", FORK_OWNER, "Fix leakage in tenure feature", "tenure used the label date.",
        author_association="FIRST_TIME_CONTRIBUTOR", created_at=TIME, updated_at=TIME)
    return state, Renderer(state, "https://api.github.com", "https://github.com")


def _webhook_repo(r: Renderer, full_name: str) -> dict[str, Any]:
    repo = r.repository(full_name)
    repo.pop("parent", None), repo.pop("source", None)
    return {**repo, "custom_properties": {}}


def _pr_event(action: str, number: int, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    state, r = _world()
    pull = state.pulls[(REPO, number)]
    if action == "opened" and number == PR_NUMBER:
        pull.head_sha = PR_BEFORE_SHA
    pr = r.pull(pull)
    pr["head"]["repo"] = _webhook_repo(r, pull.head_repo)
    pr["base"]["repo"] = _webhook_repo(r, REPO)
    return {"action": action, "number": number, "pull_request": pr, **(extra or {}),
            "repository": _webhook_repo(r, REPO), "organization": _org(r), "sender": r.user(pull.user)}


def _org(r: Renderer) -> dict[str, Any]:
    owner = r.state.user(REPO.split("/")[0])
    api = f"{r.api}/orgs/{owner.login}"
    return {"login": owner.login, "id": owner.id, "node_id": owner.node_id, "url": api,
            "repos_url": f"{api}/repos", "events_url": f"{api}/events", "hooks_url": f"{api}/hooks",
            "issues_url": f"{api}/issues", "members_url": f"{api}/members{{/member}}",
            "public_members_url": f"{api}/public_members{{/member}}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{owner.id}?v=4", "description": "Octo ML team"}


def _push(ref: str, before: str, after: str, created: bool) -> dict[str, Any]:
    state, r = _world()
    repo = _webhook_repo(r, REPO)
    # Push payloads carry epoch seconds for these two, as GitHub sends them.
    repo.update({"created_at": 1705311000, "pushed_at": 1732356000, "stargazers": 0, "master_branch": "main",
                 "organization": REPO.split("/")[0]})
    commit = {"id": MERGE_SHA, "tree_id": "4b825dc642cb6eb9a060e54bf8d69288fbee4904", "distinct": True,
              "message": f"Merge pull request #{PR_NUMBER} from {REPO.split('/')[0]}/{PR_HEAD_REF}\n\n"
                         "Add rolling-window churn features",
              "timestamp": "2024-11-23T11:00:00Z", "url": f"https://github.com/{REPO}/commit/{MERGE_SHA}",
              "author": {"name": "Mia Maintainer", "email": "mia@octo-org.example", "username": MAINTAINER},
              "committer": {"name": "GitHub", "email": "noreply@github.com", "username": "web-flow"},
              "added": [], "removed": [], "modified": ["src/features.py", "dvc.lock", "metrics.json"]}
    compare = (f"https://github.com/{REPO}/compare/{before[:12]}...{after[:12]}" if not created
               else f"https://github.com/{REPO}/compare/{ref.rsplit('/', 1)[-1]}")
    return {"ref": ref, "before": before, "after": after, "repository": repo,
            "pusher": {"name": MAINTAINER, "email": "mia@octo-org.example"}, "organization": _org(r),
            "sender": r.user(MAINTAINER), "created": created, "deleted": False, "forced": False,
            "base_ref": "refs/heads/main" if created else None, "compare": compare,
            "commits": [] if created else [commit], "head_commit": commit}


def _workflow_run(same_repo: bool) -> dict[str, Any]:
    state, r = _world()
    number = PR_NUMBER if same_repo else FORK_PR_NUMBER
    pull = state.pulls[(REPO, number)]
    run = state.add_run(REPO, pull.head_sha, id=RUN_ID, name="mlops-ci PR", path=".github/workflows/mlops-pr.yml",
                        workflow_id=118_811_881, head_branch=pull.head_ref, event="pull_request",
                        actor=pull.user, run_number=57, head_repo=pull.head_repo,
                        # GitHub lists no pull requests for runs triggered from forks.
                        pull_numbers=[number] if same_repo else [], created_at=TIME,
                        updated_at="2024-11-23T10:07:31Z")
    wr = r.workflow_run(run)
    wr["repository"] = _webhook_repo(r, REPO)
    wr["head_repository"] = _webhook_repo(r, pull.head_repo)
    wr["head_commit"]["author"] = {"name": pull.user, "email": f"{pull.user}@users.noreply.github.com"}
    wr.pop("referenced_workflows", None)
    workflow = {"id": run.workflow_id, "node_id": "W_kwDOLx0AAc4HFQYJ", "name": run.name, "path": run.path,
                "state": "active", "created_at": "2024-02-01T12:00:00Z", "updated_at": "2024-02-01T12:00:00Z",
                "url": f"{r.api}/repos/{REPO}/actions/workflows/{run.workflow_id}",
                "html_url": f"https://github.com/{REPO}/blob/main/{run.path}",
                "badge_url": f"https://github.com/{REPO}/workflows/mlops-ci%20PR/badge.svg"}
    return {"action": "completed", "workflow_run": wr, "workflow": workflow,
            "repository": _webhook_repo(r, REPO), "organization": _org(r), "sender": r.user(pull.user)}


def _issue_comment() -> dict[str, Any]:
    state, r = _world()
    c = state.add_comment(REPO, "issue", "/mlops rerun", MAINTAINER, issue_number=PR_NUMBER,
                          created_at="2024-11-23T10:30:00Z", updated_at="2024-11-23T10:30:00Z")
    state.comments.pop(c.id)
    c.id = COMMENT_ID
    state.comments[c.id] = c
    comment = r.comment(c)
    comment.pop("minimized", None)
    issue: Issue = state.issue(REPO, PR_NUMBER)
    payload_issue = r.issue(issue)
    payload_issue["comments"] = 1
    return {"action": "created", "issue": payload_issue, "comment": comment,
            "repository": _webhook_repo(r, REPO), "organization": _org(r), "sender": r.user(MAINTAINER)}


def _dispatch() -> dict[str, Any]:
    _, r = _world()
    return {"inputs": {"reason": "weekly drift exceeded threshold", "force": "false"}, "ref": "refs/heads/main",
            "workflow": ".github/workflows/retrain.yml", "repository": _webhook_repo(r, REPO),
            "organization": _org(r), "sender": r.user(MAINTAINER)}


#: file name → (Actions event name, builder)
FIXTURES: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
    "pull_request.opened.json": ("pull_request", lambda: _pr_event("opened", PR_NUMBER)),
    "pull_request.synchronize.json": ("pull_request", lambda: _pr_event(
        "synchronize", PR_NUMBER, {"before": PR_BEFORE_SHA, "after": PR_HEAD_SHA})),
    "pull_request.fork.opened.json": ("pull_request", lambda: _pr_event("opened", FORK_PR_NUMBER)),
    "pull_request_target.opened.json": ("pull_request_target", lambda: _pr_event("opened", FORK_PR_NUMBER)),
    "push.main.json": ("push", lambda: _push("refs/heads/main", BASE_SHA, MERGE_SHA, False)),
    "push.tag.json": ("push", lambda: _push(f"refs/tags/{TAG}", ZERO_SHA, MERGE_SHA, True)),
    "workflow_run.completed.json": ("workflow_run", lambda: _workflow_run(same_repo=False)),
    "workflow_run.completed.same_repo.json": ("workflow_run", lambda: _workflow_run(same_repo=True)),
    "workflow_dispatch.json": ("workflow_dispatch", _dispatch),
    "issue_comment.created.json": ("issue_comment", _issue_comment),
    "schedule.json": ("schedule", lambda: {"schedule": "0 6 * * 1", "workflow": ".github/workflows/drift.yml"}),
}


def event_name(filename: str) -> str:
    return FIXTURES[filename][0]


def load(filename: str) -> dict[str, Any]:
    """A fixture as a dict (from the committed file)."""
    return json.loads((EVENTS_DIR / filename).read_text())


def seed_fake(fake: Any) -> None:
    """Put the story's pull requests and refs into a :class:`FakeGitHub` so API calls agree with the events."""
    fake.set_ref("main", BASE_SHA)
    fake.set_permission(MAINTAINER, "write")
    fake.add_pull(PR_NUMBER, PR_HEAD_SHA, BASE_SHA, PR_HEAD_REF, user=MAINTAINER,
                  title="Add rolling-window churn features", labels=["model"])
    fake.add_pull(FORK_PR_NUMBER, FORK_HEAD_SHA, BASE_SHA, FORK_HEAD_REF, from_fork=True, user=FORK_OWNER,
                  title="Fix leakage in tenure feature", author_association="FIRST_TIME_CONTRIBUTOR")
    fake.set_ref(TAG, MERGE_SHA)
    fake.add_workflow_run(FORK_HEAD_SHA, id=RUN_ID, name="mlops-ci PR", path=".github/workflows/mlops-pr.yml",
                          head_branch=FORK_HEAD_REF, head_repo=f"{FORK_OWNER}/churn-model", actor=FORK_OWNER)


def write_all() -> list[Path]:
    from tests.fakegithub.webhooks import validate_event

    EVENTS_DIR.mkdir(parents=True, exist_ok=True)
    out = []
    for name, (event, build) in FIXTURES.items():
        payload = build()
        validate_event(event, payload)
        path = EVENTS_DIR / name
        path.write_text(json.dumps(payload, indent=2) + "\n")
        out.append(path)
    return out


if __name__ == "__main__":
    for p in write_all():
        print(p)
