"""`mlops-ci gate` on two metrics files needs no git: not in a plain folder, not in a repo without commits."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

RULES = "gate:\n  rules:\n    - metric: auc\n      direction: higher\n      min_delta: 0.0\n"


def run_gate(cwd, *args):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "MLOPS_CI_", "MLFLOW_", "GIT_"))}
    env["GIT_CEILING_DIRECTORIES"] = str(cwd.parent)  # never find a repository above the temp folder
    return subprocess.run([sys.executable, "-m", "mlops_ci", "gate", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(params=["plain folder", "repo without commits"])
def folder(request, tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    if request.param == "repo without commits":
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    (root / ".mlops-ci.yml").write_text(RULES)
    (root / "champion.json").write_text(json.dumps({"auc": 0.80}))
    (root / "good.json").write_text(json.dumps({"auc": 0.85}))
    (root / "bad.json").write_text(json.dumps({"auc": 0.70}))
    return root


def verdict(root):
    return json.loads((root / ".mlops-ci" / "out" / "gate.json").read_text())


def test_two_metrics_files_pass_and_fail_without_git(folder):
    ok = run_gate(folder, "--champion-metrics", "champion.json", "--challenger-metrics", "good.json")
    assert ok.returncode == 0, ok.stderr
    assert "git" not in ok.stderr
    assert verdict(folder)["conclusion"] == "success"

    failed = run_gate(folder, "--champion-metrics", "champion.json", "--challenger-metrics", "bad.json")
    assert failed.returncode == 1, failed.stderr
    assert "git" not in failed.stderr
    assert "gate: failure" in failed.stdout
    assert verdict(folder)["conclusion"] == "failure"


def test_challenger_file_alone_has_no_champion_without_git(folder):
    proc = run_gate(folder, "--challenger-metrics", "bad.json")
    assert proc.returncode == 0, proc.stderr
    assert "no champion" in verdict(folder)["champion_source"]
