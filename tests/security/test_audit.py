"""`mlops-ci audit` against the fake GitHub: the settings that keep fork PR code off the GPU runner.

The CLI runs in a subprocess, as in a workflow step (GITHUB_ACTIONS=true, summary and outputs
files); the fake validates every request and response against GitHub's OpenAPI description and
answers the settings endpoints only to tokens GitHub would answer (an admin; runner groups: an
organization owner). Each test ends with ``fake.assert_clean()``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

import pytest

from tests.fakegithub.fake import FakeGitHub

pytestmark = pytest.mark.integration

ORG = "octo-org"
GATE = "mlops-ci / gate"
ACTIONS_APP_ID = 15368


def workflow(fake: FakeGitHub, ref: str = "refs/heads/main", file: str = "mlops-pr.yml") -> str:
    return f"{fake.repo}/.github/workflows/{file}@{ref}"


def seed_safe(fake: FakeGitHub) -> None:
    """A public organization repository set up as docs/security.md says."""
    fake.set_fork_pr_approval("all_external_contributors")
    group = fake.add_runner_group(ORG, "gpu", visibility="selected", selected_repositories=[fake.repo],
                                  allows_public_repositories=True, restricted_to_workflows=True,
                                  selected_workflows=[workflow(fake)])
    fake.add_self_hosted_runner("gpu-1", org=ORG, group_id=group.id)
    fake.add_self_hosted_runner("cpu-1", ("self-hosted", "linux", "x64"), org=ORG)  # Default group: closed to public
    fake.add_self_hosted_runner("cpu-2", ("self-hosted", "linux", "x64"))  # a repository runner without the label
    fake.set_workflow_permissions("read", can_approve_pull_request_reviews=False)
    fake.protect_branch(checks=[GATE, "lint"], app_id=ACTIONS_APP_ID)


def run(fake: FakeGitHub, tmp_path: Path, *args: str, token: str | None = None, **extra: str
        ) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLOPS_CI_", "RUNNER_"))}
    summary, output = tmp_path / "summary.md", tmp_path / "output"
    summary.write_text("")
    output.write_text("")
    env = {**clean, **fake.env(token or fake.admin_token), "GITHUB_ACTIONS": "true",
           "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(output), **extra}
    return subprocess.run([sys.executable, "-m", "mlops_ci", "audit", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def table(stdout: str) -> dict[str, tuple[str, str]]:
    """The table's rows: setting -> (now, verdict)."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("setting "))  # after ::add-mask:: lines
    rows = {}
    for line in lines[start + 2:]:
        if not line.strip():
            break
        item, now, verdict = (cell.strip() for cell in line.split(" | "))
        rows[item] = (now, verdict)
    return rows


def unsafe_items(stdout: str) -> set[str]:
    return {item for item, (_, verdict) in table(stdout).items() if verdict == "UNSAFE"}


@pytest.fixture
def fake(fake_github: FakeGitHub) -> FakeGitHub:
    seed_safe(fake_github)
    return fake_github


def test_a_safe_repository_exits_0(fake: FakeGitHub, tmp_path: Path) -> None:
    proc = run(fake, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = table(proc.stdout)
    assert set(rows) == {"Fork PR approval policy", "Repository self-hosted runners", "Runner group gpu",
                         "Default GITHUB_TOKEN permissions", "GITHUB_TOKEN may approve pull requests",
                         f"Required check {GATE} on main"}
    assert {verdict for _, verdict in rows.values()} == {"safe"}
    assert rows["Runner group gpu"][0].startswith("1 runner(s) labelled gpu; restricted to ")
    assert rows[f"Required check {GATE} on main"][0] == "required by branch protection"
    assert "safe (0 unsafe, 0 not checked, 6 safe)" in proc.stdout
    summary = (tmp_path / "summary.md").read_text()
    assert "## ✅ mlops-ci audit: `octo-org/churn-model`" in summary and "| setting | now | verdict |" in summary
    assert "unsafe=0" in (tmp_path / "output").read_text()
    assert not fake.writes(), "the audit only reads"
    assert {r.login for r in fake.requests} == {"octo-org-admin"}
    fake.assert_clean()


def _policy(fake: FakeGitHub) -> None:
    fake.set_fork_pr_approval("first_time_contributors")


def _repo_gpu_runner(fake: FakeGitHub) -> None:
    fake.add_self_hosted_runner("repo-gpu", ("self-hosted", "linux", "x64", "gpu"))


def _unrestricted_group(fake: FakeGitHub) -> None:
    fake.runner_group(ORG, 2).restricted_to_workflows = False


def _group_entry_on_a_branch(fake: FakeGitHub) -> None:
    fake.runner_group(ORG, 2).selected_workflows.append(workflow(fake, "refs/heads/dev"))


def _group_entry_at_a_tag(fake: FakeGitHub) -> None:
    fake.runner_group(ORG, 2).selected_workflows = [workflow(fake, "refs/tags/v1")]


def _default_group_opened_to_public(fake: FakeGitHub) -> None:
    group = fake.runner_group(ORG, 1)  # Default, unrestricted; now with a GPU runner and open to public repos
    group.allows_public_repositories = True
    fake.add_self_hosted_runner("gpu-default", org=ORG, group_id=1)


def _write_token(fake: FakeGitHub) -> None:
    fake.set_workflow_permissions("write")


def _token_approves(fake: FakeGitHub) -> None:
    fake.set_workflow_permissions("read", can_approve_pull_request_reviews=True)


def _unprotected(fake: FakeGitHub) -> None:
    fake.actions_settings().protections.clear()


def _other_checks_only(fake: FakeGitHub) -> None:
    fake.protect_branch(checks=["lint"])


def _ruleset_in_evaluate_mode(fake: FakeGitHub) -> None:
    fake.actions_settings().protections.clear()
    fake.add_ruleset("gate (trial)", [GATE], enforcement="evaluate")


@pytest.mark.parametrize("break_it, item, words", [
    (_policy, "Fork PR approval policy", "first_time_contributors"),
    (_repo_gpu_runner, "Repository self-hosted runners", "repo-gpu"),
    (_unrestricted_group, "Runner group gpu", "all workflows"),
    (_group_entry_on_a_branch, "Runner group gpu", "refs/heads/dev"),
    (_group_entry_at_a_tag, "Runner group gpu", "refs/tags/v1"),
    (_default_group_opened_to_public, "Runner group Default", "public repositories allowed"),
    (_write_token, "Default GITHUB_TOKEN permissions", "write"),
    (_token_approves, "GITHUB_TOKEN may approve pull requests", "true"),
    (_unprotected, f"Required check {GATE} on main", "not protected"),
    (_other_checks_only, f"Required check {GATE} on main", "lint"),
    (_ruleset_in_evaluate_mode, f"Required check {GATE} on main", "not protected"),
], ids=lambda v: v.__name__.strip("_") if callable(v) else None)
def test_each_unsafe_setting_fails_and_is_named(fake: FakeGitHub, tmp_path: Path, break_it: Callable, item: str,
                                                words: str) -> None:
    with fake.state.lock:
        break_it(fake)
    proc = run(fake, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert unsafe_items(proc.stdout) == {item}, proc.stdout
    assert words in table(proc.stdout)[item][0] + proc.stdout.split(f"\n{item}: UNSAFE", 1)[1]
    assert f"\n{item}: UNSAFE\n" in proc.stdout and "  fix: " in proc.stdout
    summary = (tmp_path / "summary.md").read_text()
    assert "⛔" in summary and "### What to change" in summary  # the summary part is lifted to start at h2
    assert not fake.writes()
    fake.assert_clean()


def test_an_active_ruleset_is_enough(fake: FakeGitHub, tmp_path: Path) -> None:
    with fake.state.lock:
        fake.actions_settings().protections.clear()
        fake.add_ruleset("protect main", [GATE], other_rules=["deletion", "non_fast_forward"])
    proc = run(fake, tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert table(proc.stdout)[f"Required check {GATE} on main"] == ("required by a ruleset", "safe")
    fake.assert_clean()


def test_write_only_token_reports_not_checked_and_strict_fails(fake: FakeGitHub, tmp_path: Path) -> None:
    proc = run(fake, tmp_path, token=fake.token)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = table(proc.stdout)
    assert {v for _, v in rows.values()} == {"not checked (needs repository Administration: read)",
                                             "not checked (needs organization Self-hosted runners: read)"}
    assert "Resource not accessible by integration" in proc.stdout
    assert "incomplete (0 unsafe, 6 not checked, 0 safe)" in proc.stdout
    assert "Request GET" not in proc.stderr  # expected 403s are not logged as failures
    strict = run(fake, tmp_path, "--strict", token=fake.token)
    assert strict.returncode == 1 and "--strict" in strict.stdout
    assert fake.count("GET", "/repos/octo-org/churn-model/actions/permissions/workflow", status=403) == 2
    fake.assert_clean()


def test_a_ruleset_is_readable_with_a_write_token(fake: FakeGitHub, tmp_path: Path) -> None:
    fake.add_ruleset("protect main", [GATE])
    proc = run(fake, tmp_path, token=fake.token)
    assert table(proc.stdout)[f"Required check {GATE} on main"] == ("required by a ruleset", "safe")
    assert proc.returncode == 0
    fake.assert_clean()


def test_repository_admin_without_organization_rights(fake: FakeGitHub, tmp_path: Path) -> None:
    token = "ghp_repoAdminNotOrgOwner000000000000000000"
    fake.add_token(token, "rita-repo-admin", "admin", kind="pat")
    fake.set_permission("rita-repo-admin", "admin")
    proc = run(fake, tmp_path, "--json", token=token)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # stdout is the JSON document; in Actions, cli.main may put ::add-mask:: lines before it
    data = json.loads("\n".join(line for line in proc.stdout.splitlines() if not line.startswith("::")))
    assert not [line for line in proc.stdout.splitlines() if line.startswith("::") and "add-mask" not in line]
    verdicts = {f["item"]: (f["verdict"], f["needs"]) for f in data["findings"]}
    assert verdicts["Organization runner groups"] == ("unknown", "organization Self-hosted runners: read")
    # the repository's own settings were read; a strict policy stays safe whatever the groups hold
    assert verdicts["Fork PR approval policy"] == ("safe", None)
    assert data["ok"] is True and data["counts"] == {"unsafe": 0, "unknown": 1, "safe": 5}
    fake.assert_clean()


def test_token_and_labels_from_the_environment(fake: FakeGitHub, tmp_path: Path) -> None:
    fake.add_self_hosted_runner("repo-a100", ("self-hosted", "A100"))
    assert run(fake, tmp_path).returncode == 0  # not labelled gpu
    proc = run(fake, tmp_path, token=fake.token, MLOPS_CI_GITHUB_TOKEN=fake.admin_token,
               MLOPS_CI_RUNNER_LABEL="gpu a100")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert unsafe_items(proc.stdout) == {"Repository self-hosted runners"}
    assert "repo-a100" in table(proc.stdout)["Repository self-hosted runners"][0]
    fake.assert_clean()


def test_a_user_account_has_no_runner_groups(fake_github_factory: Callable[..., FakeGitHub], tmp_path: Path) -> None:
    fake = fake_github_factory(repo="mona/churn-model")
    fake.add_self_hosted_runner("laptop-gpu")
    fake.protect_branch(checks=[GATE])
    proc = run(fake, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rows = table(proc.stdout)
    assert rows["Organization runner groups"] == ("none: mona is a user account", "safe")
    assert unsafe_items(proc.stdout) == {"Repository self-hosted runners", "Fork PR approval policy"}
    assert "runner groups exist only in organizations" in proc.stdout
    assert fake.count(path_prefix="/orgs/") == 0
    fake.assert_clean()


def test_a_private_repository_reports_its_fork_pr_workflow_settings(fake: FakeGitHub, tmp_path: Path) -> None:
    with fake.state.lock:
        fake.set_private()
        fake.set_fork_pr_approval("first_time_contributors")
        fake.set_private_fork_pr_workflows(run_workflows_from_fork_pull_requests=True,
                                           require_approval_for_fork_pr_workflows=True,
                                           send_secrets_and_variables=True)
    proc = run(fake, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert unsafe_items(proc.stdout) == {"Fork PR workflows (private repository)"}
    assert "secrets and variables" in proc.stdout
    with fake.state.lock:
        fake.set_private_fork_pr_workflows(send_secrets_and_variables=False)
    proc = run(fake, tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert table(proc.stdout)["Fork PR approval policy"][1] == "safe"  # approval is required by the private setting
    fake.assert_clean()


def test_a_default_branch_with_a_slash(fake: FakeGitHub, tmp_path: Path) -> None:
    with fake.state.lock:
        repo = fake.state.repo(fake.repo)
        repo.default_branch = "release/v1"
        repo.refs["release/v1"] = repo.refs["main"]
        fake.runner_group(ORG, 2).selected_workflows = [workflow(fake, "refs/heads/release/v1")]
        fake.protect_branch("release/v1", checks=[GATE])
    proc = run(fake, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert table(proc.stdout)[f"Required check {GATE} on release/v1"] == ("required by branch protection", "safe")
    assert fake.count("GET", "/repos/octo-org/churn-model/branches/release%2Fv1/protection", status=200) == 1
    assert fake.count("GET", "/repos/octo-org/churn-model/rules/branches/release%2Fv1", status=200) == 1
    fake.assert_clean()
