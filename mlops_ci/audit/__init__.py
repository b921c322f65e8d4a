"""Which repository settings let fork PR code reach a self-hosted runner: the audit's decisions.

`mlops-ci guard` cannot be the security boundary on `pull_request`: GitHub runs the workflow file
of the PR's merge commit, which a fork controls, so a fork can delete the guard step or add its
own `runs-on: [self-hosted, gpu]` job. What does stop it lives in the repository's and the
organization's settings:

1. the fork PR approval policy ("Require approval for all outside collaborators"), and for a
   private repository its fork PR workflow settings;
2. where the GPU runners are: repository-level runners serve every workflow (no restriction is
   possible), an organization runner group can be restricted to selected workflows pinned to the
   default branch, which a PR cannot change;
3. the default `GITHUB_TOKEN` permissions (read) and whether Actions may approve pull requests;
4. branch protection or a ruleset that requires the `mlops-ci / gate` check on the default branch.

This module is pure: it takes what :mod:`mlops_ci.github.settings` read (plain values;
:class:`Unread` where GitHub would not show a setting to this token) and returns one
:class:`Finding` per item, each with what the setting is now, a verdict, why it matters and how to
fix it (the GitHub UI path and the API call).

``settings`` holds what is judged, ``checks`` the decisions, ``render`` the table and Markdown.
Pure: no I/O; may import only the standard library.
"""

from __future__ import annotations

from mlops_ci.audit.checks import (
    audit, fork_pr_approval, private_fork_prs, repository_runners, required_gate_check, runner_groups,
    runners_available, workflow_permissions,
)
from mlops_ci.audit.render import render_markdown, render_text
from mlops_ci.audit.settings import (
    APPROVAL_POLICIES, AuditReport, DEFAULT_CHECK_NAME, DEFAULT_RUNNER_LABELS, Finding, NEEDS_ORG_RUNNERS,
    NEEDS_REGISTERED_RUNNER, NEEDS_REPO_ADMIN, PrivateForkSettings, RepoSettings, Runner, RunnerGroup, SAFE,
    STRICT_APPROVAL, UNKNOWN, UNSAFE, Unread, Verdict, WorkflowPermissions, group_from_api,
    protection_checks_from_api, ruleset_checks_from_api, runner_from_api,
)
