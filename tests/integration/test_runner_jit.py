"""`mlops-ci runner jit` against the fake GitHub (requests and responses validated against GitHub's OpenAPI)."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def jit(fake, *args: str, token: str | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLOPS_CI_", "GH_"))}
    env.update(GITHUB_API_URL=fake.url, GITHUB_REPOSITORY=fake.repo, MLOPS_CI_GITHUB_TOKEN=token or fake.admin_token,
               **extra)
    return subprocess.run([sys.executable, "-m", "mlops_ci", "runner", "jit", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_prints_only_the_config_and_registers_the_labels(fake_github):
    proc = jit(fake_github, "--labels", "self-hosted,linux,x64", "--labels", "gpu", "--name", "gpu-box-1",
               "--runner-group-id", "2")
    assert proc.returncode == 0, proc.stderr
    (runner,) = fake_github.runners()
    assert proc.stdout == runner.encoded_jit_config + "\n"
    assert (runner.name, runner.labels, runner.runner_group_id, runner.work_folder) == (
        "gpu-box-1", ["self-hosted", "linux", "x64", "gpu"], 2, "_work")
    assert json.loads(base64.b64decode(proc.stdout).decode().replace("'", '"'))["name"] == "gpu-box-1"
    assert "registered JIT runner 'gpu-box-1'" in proc.stderr and f"repository {fake_github.repo}" in proc.stderr
    assert runner.encoded_jit_config not in proc.stderr
    (request,) = fake_github.writes("/repos/")
    assert request.path == f"/repos/{fake_github.repo}/actions/runners/generate-jitconfig"


def test_output_file_is_private_and_stdout_stays_empty(fake_github, tmp_path):
    target = tmp_path / "jitconfig"
    target.write_text("stale")
    target.chmod(0o644)
    proc = jit(fake_github, "--labels", "self-hosted gpu", "--output", str(target))
    assert proc.returncode == 0, proc.stderr
    (runner,) = fake_github.runners()
    assert target.read_text() == runner.encoded_jit_config + "\n" and proc.stdout == ""
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert re.fullmatch(r"[A-Za-z0-9._-]+-[0-9a-f]{8}", runner.name), "default name: <hostname>-<random>"


def test_in_actions_the_config_and_token_are_masked_on_stderr(fake_github):
    proc = jit(fake_github, "--labels", "gpu", GITHUB_ACTIONS="true")
    assert proc.returncode == 0, proc.stderr
    (runner,) = fake_github.runners()
    assert f"::add-mask::{runner.encoded_jit_config}" in proc.stderr
    assert f"::add-mask::{fake_github.admin_token}" in proc.stderr
    assert proc.stdout == runner.encoded_jit_config + "\n", "workflow commands must not pollute stdout"


def test_organization_runner(fake_github):
    org = fake_github.repo.split("/")[0]
    proc = jit(fake_github, "--labels", "self-hosted,gpu", "--org", org, "--name", "org-box")
    assert proc.returncode == 0, proc.stderr
    assert [r.name for r in fake_github.runners()] == ["org-box"]
    assert fake_github.writes(f"/orgs/{org}/actions/runners/generate-jitconfig")
    assert f"for organization {org}" in proc.stderr


def test_token_without_admin_rights_gets_a_hint(fake_github):
    proc = jit(fake_github, "--labels", "gpu", token=fake_github.token)
    assert proc.returncode == 1
    assert "failed with 403" in proc.stderr and "Administration: write" in proc.stderr
    assert fake_github.runners() == [] and proc.stdout == ""


def test_duplicate_name_is_explained(fake_github):
    assert jit(fake_github, "--labels", "gpu", "--name", "same").returncode == 0
    proc = jit(fake_github, "--labels", "gpu", "--name", "same")
    assert proc.returncode == 1 and "already exists: pick another --name" in proc.stderr


def test_unknown_org_is_explained(fake_github):
    proc = jit(fake_github, "--labels", "gpu", "--org", "no-such-org")
    assert proc.returncode == 1 and "organization no-such-org not found" in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["--name", "x"], "Missing option '--labels'"),
    (["--labels", "gpu", "--org", "o", "--repo", "o/r"], "give one of them, not both"),
    (["--labels", "gpu", "--runner-group-id", "0"], "--runner-group-id"),
    (["--labels", "gpu", "--output", "/nonexistent-dir/cfg"], "does not exist"),
])
def test_bad_input_is_exit_2_and_calls_nothing(fake_github, args, message):
    proc = jit(fake_github, *args)
    assert proc.returncode == 2 and message in proc.stderr
    assert fake_github.runners() == []
