"""The audit's decisions: one :class:`Finding` per setting that keeps fork PR code off self-hosted runners.

Pure: takes :class:`~mlops_ci.audit.settings.RepoSettings` and returns an
:class:`~mlops_ci.audit.settings.AuditReport`; each finding says what the setting is now, a verdict,
why it matters and how to fix it (the GitHub UI path and the API call).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

from mlops_ci.audit.settings import (
    _SHA, APPROVAL_POLICIES, DEFAULT_CHECK_NAME, DEFAULT_RUNNER_LABELS, NEEDS_REGISTERED_RUNNER, SAFE,
    STRICT_APPROVAL, UNKNOWN, UNSAFE, AuditReport, Finding, PrivateForkSettings, RepoSettings, RunnerGroup, Unread,
)


def audit(settings: RepoSettings, *, runner_labels: Sequence[str] = DEFAULT_RUNNER_LABELS,
          check_name: str = DEFAULT_CHECK_NAME, strict: bool = False) -> AuditReport:
    labels = tuple(runner_labels) or DEFAULT_RUNNER_LABELS
    ctx = _Ctx(settings, labels, check_name)
    findings = [fork_pr_approval(ctx)]
    if settings.private_fork_prs is not None:
        findings.append(private_fork_prs(ctx))
    findings.append(repository_runners(ctx))
    findings += runner_groups(ctx)
    findings += workflow_permissions(ctx)
    findings.append(required_gate_check(ctx))
    return AuditReport(settings.repository, tuple(findings), strict, labels, check_name)


@dataclass(frozen=True)
class _Ctx:
    s: RepoSettings
    labels: tuple[str, ...]
    check_name: str

    @property
    def api(self) -> str:
        return f"/repos/{self.s.repository}"

    @property
    def label_text(self) -> str:
        return " or ".join(f"`{label}`" for label in self.labels)


def _unknown(item: str, unread: Unread, fix: str = "") -> Finding:
    return Finding(item, "unknown", UNKNOWN, unread.reason() + ".", fix, unread.needs)


def _usable_groups(s: RepoSettings) -> list[RunnerGroup]:
    """Groups this repository can send jobs to (GitHub already filters by ``visible_to_repository``;
    a public repository also needs the group to allow public repositories)."""
    if not isinstance(s.runner_groups, tuple):
        return []
    if s.private:
        return list(s.runner_groups)
    return [g for g in s.runner_groups if g.allows_public_repositories and g.visibility != "private"]


def _pinned_problems(s: RepoSettings, group: RunnerGroup) -> tuple[list[str], list[str]]:
    """(problems, entries of other repositories) of a group's selected workflows for this repository."""
    want = f"refs/heads/{s.default_branch}"
    problems, others = [], []
    for entry in group.selected_workflows:
        path, at, ref = entry.rpartition("@")
        if not at:
            path, ref = entry, ""
        parts = path.split("/")
        if len(parts) < 2 or f"{parts[0]}/{parts[1]}".lower() != s.repository.lower():
            others.append(entry)
            continue
        if not path.lower().startswith(f"{s.repository.lower()}/.github/workflows/"):
            problems.append(f"`{entry}`: not a workflow file of this repository")
        elif ref == want:
            continue
        elif not ref:
            problems.append(f"`{entry}`: no ref, so any branch's (or a PR's) version of the file matches")
        elif ref == s.default_branch:
            problems.append(f"`{entry}`: a short name can name a branch or a tag; write `@{want}`")
        elif ref.startswith("refs/tags/"):
            problems.append(f"`{entry}`: a tag, which anyone who can push tags can move to other code")
        elif _SHA.match(ref.lower()):
            problems.append(f"`{entry}`: a commit, not the default branch `{s.default_branch}`")
        else:
            problems.append(f"`{entry}`: ref `{ref}`, not the default branch: its workflow file is whatever "
                            "is pushed there, not what was reviewed and merged")
    return problems, others


def _restricted_ok(s: RepoSettings, group: RunnerGroup) -> bool:
    return group.restricted_to_workflows and not _pinned_problems(s, group)[0]


def runners_available(s: RepoSettings) -> bool | None:
    """Can a job of this repository land on a self-hosted runner? None when it cannot be ruled out.

    Runners that register per job (ARC scale sets, JIT runners) are not listed while idle, so an
    empty group this repository can use does not rule them out.
    """
    unsure = False
    if isinstance(s.runners, Unread):
        unsure = True
    elif s.runners:
        return True
    if isinstance(s.runner_groups, Unread):
        unsure = True
    for group in _usable_groups(s):
        if isinstance(group.runners, Unread) or not group.runners:
            unsure = True
        else:
            return True
    return None if unsure else False


def fork_pr_approval(c: _Ctx) -> Finding:
    s = c.s
    item = "Fork PR approval policy"
    fix = ("Settings → Actions → General → \"Approval for running fork pull request workflows from "
           "contributors\" → \"Require approval for all external contributors\" (\"… all outside collaborators\" "
           "in older UIs); API: "
           f"`PUT {c.api}/actions/permissions/fork-pr-contributor-approval` "
           "with `{\"approval_policy\": \"all_external_contributors\"}`.")
    private_ok = (s.private and isinstance(s.private_fork_prs, PrivateForkSettings)
                  and (not s.private_fork_prs.run_workflows_from_fork_pull_requests
                       or s.private_fork_prs.require_approval_for_fork_pr_workflows))
    if isinstance(s.approval_policy, Unread):
        if private_ok:
            return Finding(item, "unknown (private repository)", SAFE,
                           "This private repository's fork PR workflow settings (next row) do not let a fork's "
                           "workflow run without an administrator's approval.", fix)
        return _unknown(item, s.approval_policy, fix)
    policy = s.approval_policy
    now = f"`{policy}` ({APPROVAL_POLICIES.get(policy, 'unknown policy')})"
    if policy == STRICT_APPROVAL:
        return Finding(item, now, SAFE, "Every fork PR's workflow waits for a maintainer's approval before it "
                       "runs, whatever it changed in .github/workflows.", fix)
    if private_ok:
        return Finding(item, now, SAFE, "This private repository's fork PR workflow settings (next row) do not "
                       "let a fork's workflow run without an administrator's approval.", fix)
    boundary = ("A fork PR's `pull_request` run uses the workflow files of the PR's merge commit, which the "
                "fork controls: it can delete the `mlops-ci guard` step or add a job with "
                f"`runs-on: [self-hosted, {c.labels[0]}]`. Under this policy GitHub asks for approval only "
                "for first-time contributors, so anyone with one merged PR runs code on your self-hosted runners "
                "unreviewed. The guard cannot stop that; this setting can.")
    available = runners_available(s)
    if available is False:
        return Finding(item, now, SAFE, "No self-hosted runner can take this repository's jobs now (no repository "
                       "runner" + (", no runner in a visible runner group" if s.is_org else "") + "), so fork PRs "
                       "only reach GitHub-hosted runners. It becomes unsafe as soon as a self-hosted runner is "
                       "added; set it now.", fix)
    if available is None:
        return Finding(item, now, UNSAFE, boundary + " Self-hosted runners could not be ruled out (runners that "
                       "register per job are not listed while idle, or the runner lists were not readable), so "
                       "they are assumed.", fix)
    return Finding(item, now, UNSAFE, boundary, fix)


def private_fork_prs(c: _Ctx) -> Finding:
    s = c.s
    item = "Fork PR workflows (private repository)"
    fix = ("Settings → Actions → General → \"Fork pull request workflows in private repositories\": uncheck "
           "\"Run workflows from fork pull requests\", or check \"Require approval for fork pull request "
           "workflows\" and leave \"Send write tokens to workflows from fork pull requests\" and \"Send secrets "
           "and variables to workflows from fork pull requests\" unchecked; API: "
           f"`PUT {c.api}/actions/permissions/fork-pr-workflows-private-repos` with "
           "`{\"run_workflows_from_fork_pull_requests\": true, \"send_write_tokens_to_workflows\": false, "
           "\"send_secrets_and_variables\": false, \"require_approval_for_fork_pr_workflows\": true}`.")
    p = s.private_fork_prs
    if isinstance(p, Unread):
        return _unknown(item, p, fix)
    assert p is not None
    if not p.run_workflows_from_fork_pull_requests:
        return Finding(item, "fork PR workflows do not run", SAFE,
                       "Workflows are not run for pull requests from forks of this private repository.", fix)
    now = ", ".join(f"{k}={'true' if v else 'false'}" for k, v in asdict(p).items())
    problems = []
    if p.send_secrets_and_variables:
        problems.append("fork PR workflows receive the repository's secrets and variables")
    if p.send_write_tokens_to_workflows:
        problems.append("fork PR workflows get a write `GITHUB_TOKEN`")
    if not p.require_approval_for_fork_pr_workflows and runners_available(s) is not False:
        problems.append("fork PR workflows run without an administrator's approval, and self-hosted runners "
                        "are (or may be) available to this repository")
    if problems:
        return Finding(item, now, UNSAFE, "A fork's PR controls the workflow it runs: " + "; ".join(problems)
                       + ".", fix)
    return Finding(item, now, SAFE, "Fork PR workflows run only after an administrator approves them, without "
                   "secrets or a write token.", fix)


def repository_runners(c: _Ctx) -> Finding:
    s = c.s
    item = "Repository self-hosted runners"
    move = ("Remove them (Settings → Actions → Runners → the runner → Remove; API: "
            f"`DELETE {c.api}/actions/runners/{{runner_id}}`) and register them in an organization runner group "
            "restricted to selected workflows (`mlops-ci runner jit --org ORG --runner-group-id ID`)")
    fix = move + (", or keep GPU runners away from this public repository: runner groups exist only in "
                  "organizations" if not s.is_org else "") + "."
    if isinstance(s.runners, Unread):
        return _unknown(item, s.runners, fix)
    gpu = [r for r in s.runners if r.has_any(c.labels)]
    if not gpu:
        now = f"{len(s.runners)} runner(s), none labelled {c.label_text}" if s.runners else "none"
        return Finding(item, now, SAFE, f"No repository-level runner carries {c.label_text}.", fix)
    names = ", ".join(f"`{r.name}`" for r in gpu[:5]) + (f" and {len(gpu) - 5} more" if len(gpu) > 5 else "")
    now = f"{len(gpu)} labelled {c.label_text}: {names}"
    if s.private:
        return Finding(item, now, SAFE, "Repository-level runners cannot be restricted to workflows, but this "
                       "repository is private: only people with read access can fork it and open PRs.", fix)
    return Finding(item, now, UNSAFE, "Repository-level runners serve every workflow of the repository, including "
                   "one a fork PR edited or added; GitHub offers no workflow restriction for them, so only the "
                   "fork PR approval policy stands between a fork and these runners.", fix)


def _group_fix(c: _Ctx, group: RunnerGroup) -> str:
    where = ("Enterprise settings → Policies → Actions → Runner groups" if group.inherited
             else "Organization settings → Actions → Runner groups")
    example = f"{c.s.repository}/.github/workflows/<file>.yml@refs/heads/{c.s.default_branch}"
    return (f"{where} → `{group.name}` → Workflow access: \"Selected workflows\", listing only "
            f"`{example}` entries (and untick \"Allow public repositories\" unless this public repository needs "
            f"the group); API: `PATCH /orgs/{c.s.owner}/actions/runner-groups/{group.id}` with "
            f"`{{\"restricted_to_workflows\": true, \"selected_workflows\": [\"{example}\"]}}`. "
            "Only jobs defined in a listed workflow get the group, and a PR cannot change the default branch's "
            "file; run fork PRs' GPU work through `workflow_dispatch` from the default branch (the bot path). "
            "Do not list a reusable (`workflow_call`) workflow: a PR's own workflow could call it at that ref.")


def runner_groups(c: _Ctx) -> list[Finding]:
    s = c.s
    item = "Organization runner groups"
    if s.runner_groups is None:
        return [Finding(item, f"none: `{s.owner}` is a user account", SAFE,
                        "Runner groups exist only in organizations; this repository's self-hosted runners are its "
                        "repository-level runners (previous row), which cannot be restricted to workflows.")]
    if isinstance(s.runner_groups, Unread):
        return [_unknown(item, s.runner_groups,
                         "Use a token that can read the organization's runner groups, and run the audit again.")]
    usable = _usable_groups(s)
    findings: list[Finding] = []
    plain = empty_ok = 0
    for g in usable:
        name = f"Runner group `{g.name}`"
        if isinstance(g.runners, Unread):
            findings.append(_unknown(name, g.runners, _group_fix(c, g)))
            continue
        gpu = [r for r in g.runners if r.has_any(c.labels)]
        if not g.runners:
            if _restricted_ok(s, g):
                empty_ok += 1
                continue
            findings.append(Finding(name, "no runner registered now; " + _restriction_now(g), UNKNOWN,
                                    "Its labels are read from its runners, and runners that register per job (ARC "
                                    "scale sets, JIT runners) are not listed while idle. If GPU jobs run here, it "
                                    "must be restricted to workflows pinned to the default branch.",
                                    _group_fix(c, g), NEEDS_REGISTERED_RUNNER))
            continue
        if not gpu:
            plain += 1
            continue
        findings.append(_judge_group(c, g, len(gpu)))
    if not findings:
        hidden = len(s.runner_groups) - len(usable)
        now = (f"{len(usable)} usable by this repository: none holds runners labelled {c.label_text}"
               + (f" ({empty_ok} empty, restricted)" if empty_ok else "")
               + (f"; {hidden} listed but closed to public repositories" if hidden else ""))
        findings.append(Finding(item, now if usable else "none usable by this repository", SAFE,
                                f"No runner labelled {c.label_text} is reachable through a runner group that is "
                                "open to this repository's workflows."))
    return findings


def _restriction_now(g: RunnerGroup) -> str:
    if not g.restricted_to_workflows:
        return "all workflows" + (", public repositories allowed" if g.allows_public_repositories else "")
    return "restricted to " + (", ".join(f"`{w}`" for w in g.selected_workflows) or "no workflow")


def _judge_group(c: _Ctx, g: RunnerGroup, n_gpu: int) -> Finding:
    s = c.s
    name = f"Runner group `{g.name}`"
    now = f"{n_gpu} runner(s) labelled {c.label_text}; " + _restriction_now(g)
    fix = _group_fix(c, g)
    if not g.restricted_to_workflows:
        why = ("Not restricted to workflows: any workflow of this repository can run on it, including one a fork "
               "PR edited or added (for `pull_request`, GitHub runs the PR's own workflow files).")
        if g.allows_public_repositories:
            why += " It also allows public repositories, so every fork of every public repository it is visible " \
                   "to can reach it."
        return Finding(name, now, UNSAFE, why, fix)
    problems, others = _pinned_problems(s, g)
    if problems:
        return Finding(name, now, UNSAFE, "Restricted to workflows, but not all pinned to "
                       f"`refs/heads/{s.default_branch}`: " + "; ".join(problems) + ".", fix)
    mine = len(g.selected_workflows) - len(others)
    why = (f"Only the listed workflows, as on `{s.default_branch}`, can run on it; a PR cannot change those files."
           if mine else "Restricted to workflows of other repositories only: no workflow of this repository "
           "can use it.")
    if others:
        why += " Entries of other repositories are not judged here: " + ", ".join(f"`{w}`" for w in others) + "."
    return Finding(name, now, SAFE, why, fix)


def workflow_permissions(c: _Ctx) -> list[Finding]:
    s = c.s
    item_default, item_approve = "Default GITHUB_TOKEN permissions", "GITHUB_TOKEN may approve pull requests"
    fix_default = ("Settings → Actions → General → Workflow permissions → \"Read repository contents and packages "
                   f"permissions\"; API: `PUT {c.api}/actions/permissions/workflow` with "
                   "`{\"default_workflow_permissions\": \"read\"}`.")
    fix_approve = ("Settings → Actions → General → Workflow permissions → untick \"Allow GitHub Actions to create "
                   f"and approve pull requests\"; API: `PUT {c.api}/actions/permissions/workflow` with "
                   "`{\"default_workflow_permissions\": \"read\", \"can_approve_pull_request_reviews\": false}`.")
    p = s.workflow_permissions
    if isinstance(p, Unread):
        return [_unknown(item_default, p, fix_default), _unknown(item_approve, p, fix_approve)]
    out = []
    if p.default_workflow_permissions == "read":
        out.append(Finding(item_default, "`read`", SAFE, "A job gets write access only where its workflow asks for "
                           "it with `permissions:`.", fix_default))
    else:
        out.append(Finding(item_default, f"`{p.default_workflow_permissions}`", UNSAFE,
                           "Every job that does not declare `permissions:` gets a token that can push code, edit "
                           "releases and post as the repository; PR code on a self-hosted runner can read the token "
                           "of its job (and of later jobs on a reused runner).", fix_default))
    if p.can_approve_pull_request_reviews:
        out.append(Finding(item_approve, "`true`", UNSAFE, "Any workflow token can approve pull requests, so code "
                           "that gets hold of one can satisfy required reviews on its own PR.", fix_approve))
    else:
        out.append(Finding(item_approve, "`false`", SAFE, "Workflow tokens cannot approve pull requests.",
                           fix_approve))
    return out


def required_gate_check(c: _Ctx) -> Finding:
    s = c.s
    branch, name = s.default_branch, c.check_name
    item = f"Required check `{name}` on `{branch}`"
    fix = (f"Settings → Branches → branch protection rule for `{branch}` → \"Require status checks to pass before "
           f"merging\" → add `{name}`, or Settings → Rules → Rulesets → a branch ruleset targeting `{branch}` → "
           f"\"Require status checks to pass\" → add `{name}`; API: `PATCH {c.api}/branches/{branch}/protection/"
           f"required_status_checks` with `{{\"checks\": [{{\"context\": \"{name}\"}}]}}` (a protected branch), "
           f"`PUT {c.api}/branches/{branch}/protection` (an unprotected one) or `POST {c.api}/rulesets` with a "
           "`required_status_checks` rule.")
    why_needed = ("Without it a PR can merge while the gate fails, or before it ran; the gate is also where a "
                  "fork's unapproved verdict is turned into a failure.")
    protection, rules = s.protection_checks, s.ruleset_checks
    by = []
    if isinstance(protection, tuple) and name in protection:
        by.append("branch protection")
    if isinstance(rules, tuple) and name in rules:
        by.append("a ruleset")
    if by:
        return Finding(item, "required by " + " and ".join(by), SAFE, "A PR cannot merge into "
                       f"`{branch}` until `{name}` succeeded.", fix)
    for unread in (protection, rules):
        if isinstance(unread, Unread):
            return Finding(item, "unknown", UNKNOWN, f"Not required by what this token could read; "
                           f"{unread.reason()}.", fix, unread.needs)
    required = sorted(set(protection or ()) | set(rules if isinstance(rules, tuple) else ()))
    if protection is None and not rules:
        now = "not required: the branch is not protected and no ruleset requires checks"
    else:
        now = "not required (required: " + (", ".join(f"`{r}`" for r in required) or "none") + ")"
    return Finding(item, now, UNSAFE, why_needed, fix)


# -- rendering ----------------------------------------------------------------------------------
