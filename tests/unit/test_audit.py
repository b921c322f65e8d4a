"""The audit's decisions: which settings let fork PR code reach a self-hosted GPU runner."""

from __future__ import annotations

import dataclasses
import json

import pytest

from mlops_ci.audit import (
    NEEDS_ORG_RUNNERS, NEEDS_REGISTERED_RUNNER, NEEDS_REPO_ADMIN, SAFE, UNKNOWN, UNSAFE, AuditReport, Finding,
    PrivateForkSettings, RepoSettings, Runner, RunnerGroup, Unread, WorkflowPermissions, audit, group_from_api,
    protection_checks_from_api, render_markdown, render_text, ruleset_checks_from_api, runner_from_api,
    runners_available,
)

REPO = "octo-org/churn-model"
PINNED = f"{REPO}/.github/workflows/mlops-pr.yml@refs/heads/main"
GPU = Runner("gpu-1", ("self-hosted", "linux", "x64", "gpu"), 7)
CPU = Runner("cpu-1", ("self-hosted", "linux", "x64"), 8)
DENIED = Unread(NEEDS_REPO_ADMIN, 403, "Resource not accessible by integration")
ORG_DENIED = Unread(NEEDS_ORG_RUNNERS, 403, "Resource not accessible by personal access token")


def gpu_group(**kw) -> RunnerGroup:
    base = dict(id=2, name="gpu", visibility="selected", allows_public_repositories=True,
                restricted_to_workflows=True, selected_workflows=(PINNED,), runners=(GPU,))
    return RunnerGroup(**{**base, **kw})


def safe_settings(**kw) -> RepoSettings:
    """A public organization repository set up as docs/security.md says."""
    base = dict(repository=REPO, private=False, owner_type="Organization", default_branch="main",
                approval_policy="all_external_contributors", private_fork_prs=None, runners=(),
                runner_groups=(gpu_group(),),
                workflow_permissions=WorkflowPermissions("read", False),
                protection_checks=("mlops-ci / gate",), ruleset_checks=())
    return RepoSettings(**{**base, **kw})


def finding(report: AuditReport, item_start: str) -> Finding:
    found = [f for f in report.findings if f.item.startswith(item_start)]
    assert len(found) == 1, [f.item for f in report.findings]
    return found[0]


def test_a_safe_repository_passes() -> None:
    report = audit(safe_settings())
    assert [f.verdict for f in report.findings] == [SAFE] * len(report.findings)
    assert report.ok and report.exit_code == 0
    assert [f.item for f in report.findings] == [
        "Fork PR approval policy", "Repository self-hosted runners", "Runner group `gpu`",
        "Default GITHUB_TOKEN permissions", "GITHUB_TOKEN may approve pull requests",
        "Required check `mlops-ci / gate` on `main`"]


# -- 1. fork PR approval ---------------------------------------------------------------------------
@pytest.mark.parametrize("policy", ["first_time_contributors", "first_time_contributors_new_to_github"])
def test_a_weak_approval_policy_is_unsafe_with_self_hosted_runners(policy: str) -> None:
    report = audit(safe_settings(approval_policy=policy))
    f = finding(report, "Fork PR approval policy")
    assert f.verdict == UNSAFE and policy in f.now
    assert "runs-on: [self-hosted, gpu]" in f.why and "guard" in f.why
    assert "fork-pr-contributor-approval" in f.fix and "all_external_contributors" in f.fix
    assert "Settings → Actions → General" in f.fix
    assert report.exit_code == 1


def test_a_weak_policy_without_any_self_hosted_runner_is_safe_but_says_so() -> None:
    s = safe_settings(approval_policy="first_time_contributors", owner_type="User", runner_groups=None,
                      repository="mona/churn-model")
    f = finding(audit(s), "Fork PR approval policy")
    assert f.verdict == SAFE and "No self-hosted runner" in f.why and "set it now" in f.why


@pytest.mark.parametrize("overrides", [
    {"runners": DENIED, "runner_groups": ()},  # repository runners not readable
    {"runner_groups": ORG_DENIED},  # runner groups not readable
    {"runner_groups": (gpu_group(runners=()),)},  # an empty group: an idle scale set is not listed
])
def test_a_weak_policy_is_unsafe_when_runners_cannot_be_ruled_out(overrides: dict) -> None:
    s = safe_settings(approval_policy="first_time_contributors", **overrides)
    assert runners_available(s) is None
    f = finding(audit(s), "Fork PR approval policy")
    assert f.verdict == UNSAFE and "could not be ruled out" in f.why


def test_a_weak_policy_with_a_registered_runner_is_plainly_unsafe() -> None:
    s = safe_settings(approval_policy="first_time_contributors", runner_groups=(), runners=(CPU,))
    assert runners_available(s) is True
    f = finding(audit(s), "Fork PR approval policy")
    assert f.verdict == UNSAFE and "could not be ruled out" not in f.why


def test_an_unreadable_approval_policy_is_not_checked() -> None:
    report = audit(safe_settings(approval_policy=DENIED))
    f = finding(report, "Fork PR approval policy")
    assert f.verdict == UNKNOWN and f.needs == NEEDS_REPO_ADMIN
    assert f.verdict_text() == "not checked (needs repository Administration: read)"
    assert "403" in f.why and report.exit_code == 0
    assert dataclasses.replace(report, strict=True).exit_code == 1


# -- 1b. private repositories ------------------------------------------------------------------------
def private(**flags: bool) -> PrivateForkSettings:
    base = dict(run_workflows_from_fork_pull_requests=True, send_write_tokens_to_workflows=False,
                send_secrets_and_variables=False, require_approval_for_fork_pr_workflows=True)
    return PrivateForkSettings(**{**base, **flags})


def test_private_repository_with_fork_workflows_off_is_safe_even_with_a_weak_policy() -> None:
    s = safe_settings(private=True, approval_policy="first_time_contributors",
                      private_fork_prs=private(run_workflows_from_fork_pull_requests=False))
    report = audit(s)
    assert finding(report, "Fork PR workflows (private").verdict == SAFE
    assert finding(report, "Fork PR approval policy").verdict == SAFE
    assert report.ok


@pytest.mark.parametrize("flags, words", [
    ({"require_approval_for_fork_pr_workflows": False}, "without an administrator's approval"),
    ({"send_secrets_and_variables": True}, "secrets and variables"),
    ({"send_write_tokens_to_workflows": True}, "write `GITHUB_TOKEN`"),
])
def test_private_fork_workflow_settings_that_are_unsafe(flags: dict, words: str) -> None:
    s = safe_settings(private=True, private_fork_prs=private(**flags))
    f = finding(audit(s), "Fork PR workflows (private")
    assert f.verdict == UNSAFE and words in f.why and "fork-pr-workflows-private-repos" in f.fix


def test_private_fork_settings_not_readable() -> None:
    s = safe_settings(private=True, private_fork_prs=DENIED, approval_policy=DENIED)
    report = audit(s)
    assert finding(report, "Fork PR workflows (private").verdict == UNKNOWN
    assert finding(report, "Fork PR approval policy").verdict == UNKNOWN


def test_public_repository_has_no_private_fork_row() -> None:
    assert not [f for f in audit(safe_settings()).findings if "private" in f.item]


# -- 2. runners and runner groups ------------------------------------------------------------------------
def test_repository_runners_with_the_gpu_label_are_unsafe_in_a_public_repository() -> None:
    f = finding(audit(safe_settings(runners=(GPU, CPU))), "Repository self-hosted runners")
    assert f.verdict == UNSAFE and "gpu-1" in f.now and "cpu-1" not in f.now
    assert "no workflow restriction" in f.why and "actions/runners/{runner_id}" in f.fix


def test_repository_runners_of_a_user_account_say_there_are_no_groups() -> None:
    s = safe_settings(runners=(GPU,), owner_type="User", runner_groups=None, repository="mona/churn-model")
    report = audit(s)
    assert finding(report, "Repository self-hosted runners").verdict == UNSAFE
    assert "runner groups exist only in organizations" in finding(report, "Repository self-hosted runners").fix
    groups = finding(report, "Organization runner groups")
    assert groups.verdict == SAFE and "user account" in groups.now


def test_repository_runners_in_a_private_repository_are_safe() -> None:
    f = finding(audit(safe_settings(runners=(GPU,), private=True, private_fork_prs=private())),
                "Repository self-hosted runners")
    assert f.verdict == SAFE and "private" in f.why


def test_runner_labels_match_case_insensitively_and_any_of_several() -> None:
    a100 = Runner("big", ("self-hosted", "A100"))
    assert audit(safe_settings(runners=(a100,))).ok
    report = audit(safe_settings(runners=(a100,)), runner_labels=("gpu", "a100"))
    assert finding(report, "Repository self-hosted runners").verdict == UNSAFE
    assert finding(audit(safe_settings(runners=(Runner("x", ("GPU",)),))),
                   "Repository self-hosted runners").verdict == UNSAFE


def test_repository_runners_not_readable() -> None:
    f = finding(audit(safe_settings(runners=DENIED)), "Repository self-hosted runners")
    assert f.verdict == UNKNOWN and f.needs == NEEDS_REPO_ADMIN


def test_an_unrestricted_gpu_group_is_unsafe() -> None:
    f = finding(audit(safe_settings(runner_groups=(gpu_group(restricted_to_workflows=False),))), "Runner group")
    assert f.verdict == UNSAFE and "all workflows" in f.now and "Not restricted" in f.why
    assert "public repositories" in f.why  # it also allows public repositories
    assert "PATCH /orgs/octo-org/actions/runner-groups/2" in f.fix and "restricted_to_workflows" in f.fix
    assert "@refs/heads/main" in f.fix


def test_an_unrestricted_gpu_group_of_a_private_repository_is_unsafe_too() -> None:
    s = safe_settings(private=True, private_fork_prs=private(),
                      runner_groups=(gpu_group(restricted_to_workflows=False, allows_public_repositories=False),))
    f = finding(audit(s), "Runner group")
    assert f.verdict == UNSAFE and "public repositories" not in f.why


@pytest.mark.parametrize("entry, words", [
    (f"{REPO}/.github/workflows/mlops-pr.yml@refs/heads/dev", "not the default branch"),
    (f"{REPO}/.github/workflows/mlops-pr.yml@refs/tags/v1", "a tag"),
    (f"{REPO}/.github/workflows/mlops-pr.yml@main", "short name"),
    (f"{REPO}/.github/workflows/mlops-pr.yml@{'a' * 40}", "a commit"),
    (f"{REPO}/.github/workflows/mlops-pr.yml", "no ref"),
    (f"{REPO}/scripts/x.yml@refs/heads/main", "not a workflow file"),
])
def test_selected_workflows_must_be_pinned_to_the_default_branch(entry: str, words: str) -> None:
    f = finding(audit(safe_settings(runner_groups=(gpu_group(selected_workflows=(PINNED, entry)),))), "Runner group")
    assert f.verdict == UNSAFE and words in f.why and entry in f.why and PINNED not in f.why


def test_a_default_branch_other_than_main() -> None:
    entry = f"{REPO}/.github/workflows/mlops-pr.yml@refs/heads/trunk"
    s = safe_settings(default_branch="trunk", runner_groups=(gpu_group(selected_workflows=(entry,)),),
                      protection_checks=("mlops-ci / gate",))
    assert audit(s).ok
    assert finding(audit(safe_settings(default_branch="trunk")), "Runner group").verdict == UNSAFE


def test_entries_of_other_repositories_are_listed_not_judged() -> None:
    other = "octo-org/shared/.github/workflows/gpu.yml@refs/tags/v2"
    f = finding(audit(safe_settings(runner_groups=(gpu_group(selected_workflows=(PINNED, other)),))), "Runner group")
    assert f.verdict == SAFE and other in f.why
    only_other = finding(audit(safe_settings(runner_groups=(gpu_group(selected_workflows=(other,)),))), "Runner group")
    assert only_other.verdict == SAFE and "no workflow of this repository" in only_other.why


def test_groups_without_gpu_runners_or_closed_to_public_repositories_are_summarised() -> None:
    groups = (gpu_group(id=3, name="cpu", restricted_to_workflows=False, runners=(CPU,)),
              gpu_group(id=4, name="closed", restricted_to_workflows=False, allows_public_repositories=False),
              gpu_group(id=5, name="private-only", restricted_to_workflows=False, visibility="private"))
    report = audit(safe_settings(runner_groups=groups))
    f = finding(report, "Organization runner groups")
    assert f.verdict == SAFE and "none holds runners labelled `gpu`" in f.now and "2 listed but closed" in f.now
    assert report.ok


def test_an_empty_unrestricted_group_cannot_be_judged_by_label() -> None:
    f = finding(audit(safe_settings(runner_groups=(gpu_group(restricted_to_workflows=False, runners=()),))),
                "Runner group")
    assert f.verdict == UNKNOWN and f.needs == NEEDS_REGISTERED_RUNNER and "ARC" in f.why


def test_an_empty_group_restricted_to_pinned_workflows_is_fine() -> None:
    report = audit(safe_settings(runner_groups=(gpu_group(runners=()),)))
    assert finding(report, "Organization runner groups").verdict == SAFE and report.ok


def test_runner_groups_not_readable() -> None:
    report = audit(safe_settings(runner_groups=ORG_DENIED))
    f = finding(report, "Organization runner groups")
    assert f.verdict == UNKNOWN and f.needs == NEEDS_ORG_RUNNERS
    one = finding(audit(safe_settings(runner_groups=(gpu_group(runners=ORG_DENIED),))), "Runner group")
    assert one.verdict == UNKNOWN


# -- 3. workflow token ----------------------------------------------------------------------------------------
def test_write_default_token_is_unsafe() -> None:
    report = audit(safe_settings(workflow_permissions=WorkflowPermissions("write", False)))
    f = finding(report, "Default GITHUB_TOKEN permissions")
    assert f.verdict == UNSAFE and "`write`" in f.now and "actions/permissions/workflow" in f.fix
    assert finding(report, "GITHUB_TOKEN may approve").verdict == SAFE


def test_token_that_can_approve_pull_requests_is_unsafe() -> None:
    f = finding(audit(safe_settings(workflow_permissions=WorkflowPermissions("read", True))),
                "GITHUB_TOKEN may approve")
    assert f.verdict == UNSAFE and "can_approve_pull_request_reviews" in f.fix


def test_workflow_permissions_not_readable() -> None:
    report = audit(safe_settings(workflow_permissions=DENIED))
    assert finding(report, "Default GITHUB_TOKEN").verdict == UNKNOWN
    assert finding(report, "GITHUB_TOKEN may approve").verdict == UNKNOWN


# -- 4. required gate check -------------------------------------------------------------------------------------
def test_gate_required_by_a_ruleset_only() -> None:
    f = finding(audit(safe_settings(protection_checks=None, ruleset_checks=("mlops-ci / gate",))), "Required check")
    assert f.verdict == SAFE and f.now == "required by a ruleset"


def test_unprotected_branch_is_unsafe() -> None:
    f = finding(audit(safe_settings(protection_checks=None)), "Required check")
    assert f.verdict == UNSAFE and "not protected" in f.now
    assert "branches/main/protection/required_status_checks" in f.fix and "rulesets" in f.fix


def test_protection_that_requires_other_checks_is_unsafe() -> None:
    f = finding(audit(safe_settings(protection_checks=("lint",), ruleset_checks=("test",))), "Required check")
    assert f.verdict == UNSAFE and "`lint`" in f.now and "`test`" in f.now


def test_another_check_name() -> None:
    s = safe_settings(protection_checks=("ml / gate",))
    assert finding(audit(s), "Required check").verdict == UNSAFE
    f = finding(audit(s, check_name="ml / gate"), "Required check")
    assert f.verdict == SAFE and f.item == "Required check `ml / gate` on `main`"


def test_protection_not_readable() -> None:
    f = finding(audit(safe_settings(protection_checks=DENIED)), "Required check")
    assert f.verdict == UNKNOWN and f.needs == NEEDS_REPO_ADMIN
    rules = finding(audit(safe_settings(protection_checks=DENIED, ruleset_checks=("mlops-ci / gate",))),
                    "Required check")
    assert rules.verdict == SAFE


# -- report, rendering, parsing ------------------------------------------------------------------------------------
def test_strict_fails_on_not_checked_items_only() -> None:
    s = safe_settings(workflow_permissions=DENIED)
    assert audit(s).exit_code == 0 and "incomplete" in audit(s).headline()
    assert audit(s, strict=True).exit_code == 1 and "--strict" in audit(s, strict=True).headline()


def test_text_table_lists_every_item_and_details_the_unsafe_ones() -> None:
    report = audit(safe_settings(approval_policy="first_time_contributors", protection_checks=DENIED))
    text = render_text(report)
    lines = text.splitlines()
    assert lines[0].split(" | ")[0].strip() == "setting" and lines[0].endswith("verdict")
    assert any(line.startswith("Fork PR approval policy ") and line.endswith("UNSAFE") for line in lines)
    assert "Fork PR approval policy: UNSAFE" in text and "  fix: Settings" in text
    assert "not checked (needs repository Administration: read)" in text
    assert "`" not in text
    assert lines[-1] == report.headline() and "UNSAFE (1 unsafe, 1 not checked, 4 safe)" in lines[-1]


def test_markdown_is_a_table_with_escaped_cells() -> None:
    s = safe_settings(protection_checks=("a|b",))
    md = render_markdown(audit(s))
    assert "| setting | now | verdict |" in md and "⛔ **unsafe**" in md and "a\\|b" in md
    assert "#### What to change" in md and "- Fix:" in md
    assert "#### What to change" not in render_markdown(audit(safe_settings()))


def test_json_carries_every_finding() -> None:
    data = json.loads(json.dumps(audit(safe_settings(runners=(GPU,)), strict=True).to_json()))
    assert data["ok"] is False and data["strict"] is True and data["counts"]["unsafe"] == 1
    assert {"item", "now", "verdict", "why", "fix", "needs"} <= set(data["findings"][0])


def test_parsing_api_answers() -> None:
    assert protection_checks_from_api({"required_status_checks": {
        "contexts": ["lint", "mlops-ci / gate"], "checks": [{"context": "mlops-ci / gate", "app_id": 15368},
                                                              {"context": "test", "app_id": None}]}}) \
        == ("lint", "mlops-ci / gate", "test")
    assert protection_checks_from_api({"url": "x"}) == ()
    assert ruleset_checks_from_api([
        {"type": "deletion"},
        {"type": "required_status_checks", "parameters": {"required_status_checks": [{"context": "mlops-ci / gate"}],
                                                          "strict_required_status_checks_policy": False}},
    ]) == ("mlops-ci / gate",)
    runner = runner_from_api({"id": 3, "name": "r", "labels": [{"name": "self-hosted"}, {"name": "gpu"}]})
    assert runner == Runner("r", ("self-hosted", "gpu"), 3)
    group = group_from_api({"id": 2, "name": "g", "visibility": "all", "allows_public_repositories": True,
                            "restricted_to_workflows": True, "selected_workflows": [PINNED], "default": False,
                            "inherited": False}, (runner,))
    assert group == gpu_group(name="g", visibility="all", runners=(runner,))
