"""What the audit judges: the repository settings as read from the API, and the findings it returns.

Plain values and small dataclasses; :class:`Unread` stands where GitHub would not show a setting
to this token. The ``*_from_api`` functions map GitHub's JSON onto them.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Literal, Mapping

Verdict = Literal["safe", "unsafe", "unknown"]
SAFE: Verdict = "safe"
UNSAFE: Verdict = "unsafe"
UNKNOWN: Verdict = "unknown"

DEFAULT_CHECK_NAME = "mlops-ci / gate"
DEFAULT_RUNNER_LABELS = ("gpu",)
#: What a token needs to read each group of settings (fine-grained names; classic PATs: `repo`, `admin:org`).
NEEDS_REPO_ADMIN = "repository Administration: read"
NEEDS_ORG_RUNNERS = "organization Self-hosted runners: read"
NEEDS_REGISTERED_RUNNER = "a runner registered in the group, to read its labels"

STRICT_APPROVAL = "all_external_contributors"
APPROVAL_POLICIES = {
    "first_time_contributors_new_to_github": "Require approval for first-time contributors who are new to GitHub",
    "first_time_contributors": "Require approval for first-time contributors",
    "all_external_contributors": "Require approval for all external contributors",
}
_SHA = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Unread:
    """A setting GitHub did not show this token (403/404): the audit cannot judge it."""

    needs: str
    status: int | None = None
    message: str = ""

    def reason(self) -> str:
        said = f"GitHub answered {self.status}" if self.status else "GitHub did not answer"
        return f"{said}{': ' + self.message if self.message else ''}; reading it needs {self.needs}"


@dataclass(frozen=True)
class Runner:
    """A self-hosted runner as the API lists it (labels compared case-insensitively, as GitHub does)."""

    name: str
    labels: tuple[str, ...] = ()
    id: int = 0

    def has_any(self, labels: Iterable[str]) -> bool:
        mine = {label.lower() for label in self.labels}
        return any(label.lower() in mine for label in labels)


@dataclass(frozen=True)
class RunnerGroup:
    """An organization runner group visible to the repository (``GET /orgs/{org}/actions/runner-groups``)."""

    id: int
    name: str
    visibility: str = "all"
    allows_public_repositories: bool = False
    restricted_to_workflows: bool = False
    selected_workflows: tuple[str, ...] = ()
    default: bool = False
    inherited: bool = False
    runners: "tuple[Runner, ...] | Unread" = ()


@dataclass(frozen=True)
class PrivateForkSettings:
    """``GET /repos/{o}/{r}/actions/permissions/fork-pr-workflows-private-repos``."""

    run_workflows_from_fork_pull_requests: bool
    send_write_tokens_to_workflows: bool
    send_secrets_and_variables: bool
    require_approval_for_fork_pr_workflows: bool


@dataclass(frozen=True)
class WorkflowPermissions:
    """``GET /repos/{o}/{r}/actions/permissions/workflow``."""

    default_workflow_permissions: str
    can_approve_pull_request_reviews: bool


@dataclass(frozen=True)
class RepoSettings:
    """Everything the audit reads about one repository.

    ``None`` means "does not apply" (``private_fork_prs`` of a public repository, ``runner_groups``
    of a repository owned by a user); ``protection_checks`` is ``None`` when the branch is not
    protected (GitHub's 404 "Branch not protected"), else the required check names.
    """

    repository: str
    private: bool
    owner_type: str
    default_branch: str
    approval_policy: "str | Unread"
    private_fork_prs: "PrivateForkSettings | Unread | None"
    runners: "tuple[Runner, ...] | Unread"
    runner_groups: "tuple[RunnerGroup, ...] | Unread | None"
    workflow_permissions: "WorkflowPermissions | Unread"
    protection_checks: "tuple[str, ...] | Unread | None"
    ruleset_checks: "tuple[str, ...] | Unread" = ()

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]

    @property
    def is_org(self) -> bool:
        return self.owner_type == "Organization"


@dataclass(frozen=True)
class Finding:
    item: str
    now: str
    verdict: Verdict
    why: str
    fix: str = ""
    #: For ``unknown``: what would let the audit read the setting.
    needs: str | None = None

    def verdict_text(self) -> str:
        if self.verdict == UNKNOWN:
            return f"not checked (needs {self.needs})" if self.needs else "not checked"
        return "UNSAFE" if self.verdict == UNSAFE else "safe"


@dataclass(frozen=True)
class AuditReport:
    repository: str
    findings: tuple[Finding, ...]
    strict: bool = False
    runner_labels: tuple[str, ...] = DEFAULT_RUNNER_LABELS
    check_name: str = DEFAULT_CHECK_NAME

    @property
    def unsafe(self) -> list[Finding]:
        return [f for f in self.findings if f.verdict == UNSAFE]

    @property
    def unknown(self) -> list[Finding]:
        return [f for f in self.findings if f.verdict == UNKNOWN]

    @property
    def ok(self) -> bool:
        return not self.unsafe and not (self.strict and self.unknown)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def headline(self) -> str:
        counts = f"{len(self.unsafe)} unsafe, {len(self.unknown)} not checked, " \
                 f"{len(self.findings) - len(self.unsafe) - len(self.unknown)} safe"
        if self.unsafe:
            return f"mlops-ci audit: {self.repository}: UNSAFE ({counts})"
        if self.unknown:
            tail = " — failing: --strict" if self.strict else ""
            return f"mlops-ci audit: {self.repository}: incomplete ({counts}){tail}"
        return f"mlops-ci audit: {self.repository}: safe ({counts})"

    def to_json(self) -> dict[str, Any]:
        return {"repository": self.repository, "ok": self.ok, "strict": self.strict,
                "runner_labels": list(self.runner_labels), "check_name": self.check_name,
                "counts": {"unsafe": len(self.unsafe), "unknown": len(self.unknown),
                           "safe": len(self.findings) - len(self.unsafe) - len(self.unknown)},
                "findings": [asdict(f) for f in self.findings]}


# -- the decisions ------------------------------------------------------------------------------


def runner_from_api(data: Mapping[str, Any]) -> Runner:
    labels = tuple(str(label.get("name")) for label in data.get("labels") or [] if isinstance(label, Mapping))
    return Runner(str(data.get("name") or ""), labels, int(data.get("id") or 0))


def group_from_api(data: Mapping[str, Any], runners: "tuple[Runner, ...] | Unread") -> RunnerGroup:
    return RunnerGroup(id=int(data.get("id") or 0), name=str(data.get("name") or ""),
                       visibility=str(data.get("visibility") or ""),
                       allows_public_repositories=bool(data.get("allows_public_repositories")),
                       restricted_to_workflows=bool(data.get("restricted_to_workflows")),
                       selected_workflows=tuple(str(w) for w in data.get("selected_workflows") or ()),
                       default=bool(data.get("default")), inherited=bool(data.get("inherited")), runners=runners)


def protection_checks_from_api(data: Mapping[str, Any]) -> tuple[str, ...]:
    """Required check names of a branch protection (``contexts`` and ``checks[].context``)."""
    rsc = data.get("required_status_checks") or {}
    names = [str(x) for x in rsc.get("contexts") or ()]
    names += [str(c.get("context")) for c in rsc.get("checks") or () if isinstance(c, Mapping) and c.get("context")]
    return tuple(dict.fromkeys(names))


def ruleset_checks_from_api(rules: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """Required check names of the active rules for a branch (``GET /repos/{o}/{r}/rules/branches/{b}``)."""
    names = []
    for rule in rules:
        if rule.get("type") != "required_status_checks":
            continue
        for check in (rule.get("parameters") or {}).get("required_status_checks") or ():
            if isinstance(check, Mapping) and check.get("context"):
                names.append(str(check["context"]))
    return tuple(dict.fromkeys(names))
