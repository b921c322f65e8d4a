"""What the fake stores: one small dataclass per GitHub object.

Tests inspect these directly (``fake.comments(7)[0].body``), so they hold the
facts a test asserts on, not GitHub's JSON; :mod:`tests.fakegithub.render`
turns them into schema-valid payloads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


def now_iso() -> str:
    """GitHub's timestamp format (seconds, UTC, ``Z``)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Token:
    token: str
    login: str
    #: "read" (a fork PR's GITHUB_TOKEN), "write" (GITHUB_TOKEN), "admin" (repo admin PAT/App).
    scope: str = "write"
    #: "app" (GITHUB_TOKEN / installation token) or "pat"; only App tokens may write check runs.
    kind: str = "app"


@dataclass
class User:
    login: str
    id: int
    node_id: str
    type: str = "User"  # "User", "Bot" or "Organization"


@dataclass
class Repo:
    owner: str
    name: str
    id: int
    node_id: str
    private: bool = False
    default_branch: str = "main"
    fork: bool = False
    parent: str | None = None
    #: Branch and tag names → commit SHA (what refs and deployments resolve against).
    refs: dict[str, str] = field(default_factory=dict)
    created_at: str = "2024-01-15T09:30:00Z"

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass
class Label:
    id: int
    node_id: str
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class Reaction:
    id: int
    node_id: str
    content: str
    user: str
    created_at: str = field(default_factory=now_iso)


@dataclass
class Issue:
    """An issue or the issue side of a pull request (they share numbers and comments)."""

    repo: str
    number: int
    id: int
    node_id: str
    title: str
    user: str
    body: str | None = None
    state: str = "open"
    state_reason: str | None = None
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    is_pull: bool = False
    locked: bool = False
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)
    closed_at: str | None = None


@dataclass
class Pull:
    repo: str
    number: int
    id: int
    node_id: str
    head_sha: str
    base_sha: str
    head_ref: str
    base_ref: str
    head_repo: str
    user: str
    title: str
    body: str | None = None
    state: str = "open"
    draft: bool = False
    merged: bool = False
    merge_commit_sha: str | None = None
    author_association: str | None = None
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)

    @property
    def from_fork(self) -> bool:
        return self.head_repo != self.repo


@dataclass
class Comment:
    """An issue/PR comment (``kind="issue"``) or a commit comment (``kind="commit"``)."""

    id: int
    node_id: str
    repo: str
    kind: str
    body: str
    user: str
    issue_number: int | None = None
    commit_id: str | None = None
    path: str | None = None
    line: int | None = None
    position: int | None = None
    #: Set by GraphQL minimizeComment, lowercase like GitHub reports it ("outdated").
    minimized_reason: str | None = None
    reactions: list[Reaction] = field(default_factory=list)
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)

    @property
    def is_minimized(self) -> bool:
        return self.minimized_reason is not None


@dataclass
class CheckRun:
    id: int
    node_id: str
    repo: str
    name: str
    head_sha: str
    check_suite_id: int
    status: str = "queued"
    conclusion: str | None = None
    started_at: str | None = None
    completed_at: str | None = None
    details_url: str | None = None
    external_id: str | None = None
    title: str | None = None
    summary: str | None = None
    text: str | None = None
    annotations: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    #: Every accepted write (create + updates), for tests that check batching.
    updates: int = 0


@dataclass
class DeploymentStatus:
    id: int
    node_id: str
    state: str
    creator: str
    description: str = ""
    environment: str = ""
    target_url: str = ""
    log_url: str = ""
    environment_url: str = ""
    created_at: str = field(default_factory=now_iso)


@dataclass
class Deployment:
    id: int
    node_id: str
    repo: str
    sha: str
    ref: str
    task: str
    environment: str
    creator: str
    payload: Any = field(default_factory=dict)
    description: str | None = None
    transient_environment: bool = False
    production_environment: bool = False
    statuses: list[DeploymentStatus] = field(default_factory=list)
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)

    @property
    def state(self) -> str | None:
        """Latest status state, like the Deployments UI shows."""
        return self.statuses[-1].state if self.statuses else None


@dataclass
class Release:
    id: int
    node_id: str
    repo: str
    tag_name: str
    target_commitish: str
    author: str
    name: str | None = None
    body: str | None = None
    draft: bool = False
    prerelease: bool = False
    created_at: str = field(default_factory=now_iso)
    published_at: str | None = None


@dataclass
class Dispatch:
    repo: str
    workflow_id: str
    ref: str
    inputs: dict[str, Any]
    actor: str
    run_id: int | None = None
    created_at: str = field(default_factory=now_iso)


@dataclass
class WorkflowRun:
    id: int
    node_id: str
    repo: str
    name: str
    path: str
    workflow_id: int
    head_sha: str
    head_branch: str | None
    event: str
    actor: str
    run_number: int
    status: str = "completed"
    conclusion: str | None = "success"
    head_repo: str | None = None
    pull_numbers: list[int] = field(default_factory=list)
    run_attempt: int = 1
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)


@dataclass
class JitRunner:
    id: int
    name: str
    runner_group_id: int
    labels: list[str]
    work_folder: str
    encoded_jit_config: str


@dataclass
class CommitStatus:
    """A commit status (``POST /repos/{o}/{r}/statuses/{sha}``): the creator is the token's login."""

    id: int
    node_id: str
    repo: str
    sha: str
    state: str
    context: str
    creator: str
    description: str | None = None
    target_url: str | None = None
    created_at: str = field(default_factory=now_iso)
