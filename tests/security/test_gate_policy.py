"""Threat: the pull request under review weakens the rules of the gate that judges it.

The attacker controls every file of the PR, `.mlops-ci.yml` included. The rules (gate, drift and
contract pass/fail, metric directions and ignores) therefore come from the base commit; what the
PR proposes is shown and applies after merge.
"""

import json

import pytest

pytestmark = pytest.mark.integration

BASE_RULES = """\
gate:
  rules:
    - metric: auc
      direction: higher
      min: 0.9
"""
NO_ENV = {"MLFLOW_TRACKING_URI": ""}


def verdict_of(repo) -> dict:
    return json.loads((repo.root / ".mlops-ci" / "out" / "gate.json").read_text())


def open_pr(repo, config: str, metrics: dict) -> str:
    repo.sh("git", "checkout", "-q", "-b", "pr")
    repo.write(".mlops-ci.yml", config)
    repo.write("metrics.json", json.dumps(metrics))
    return repo.commit("the pull request")


@pytest.fixture
def base_requires_auc(dvc_repo):
    dvc_repo.write(".mlops-ci.yml", BASE_RULES)
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.95, "loss": 0.3}))
    dvc_repo.commit("base: auc must be at least 0.9")
    return dvc_repo


def test_a_pr_that_empties_the_rules_is_judged_by_the_base_rules(base_requires_auc):
    repo = base_requires_auc
    open_pr(repo, "gate: {rules: []}\n", {"auc": 0.5, "loss": 0.3})

    proc = repo.mlops("gate", "--base", "main", env=NO_ENV)

    assert proc.returncode == 1, proc.stdout + proc.stderr
    verdict = verdict_of(repo)
    assert verdict["conclusion"] == "failure"
    assert [r["metric"] for r in verdict["results"] if not r["passed"]] == ["auc"]
    assert verdict["policy_source"].startswith("`.mlops-ci.yml` at base")
    assert verdict["proposed_policy"] == ["gate.rules"]


def test_a_pr_that_disables_the_gate_is_still_judged(base_requires_auc):
    repo = base_requires_auc
    open_pr(repo, "gate:\n  enabled: false\n", {"auc": 0.5, "loss": 0.3})
    proc = repo.mlops("gate", "--base", "main", env=NO_ENV)
    assert proc.returncode == 1
    assert "gate.enabled" in verdict_of(repo)["proposed_policy"]


def test_a_pr_that_flips_a_metric_direction_or_ignores_it_is_still_judged(base_requires_auc):
    repo = base_requires_auc
    weakened = BASE_RULES.replace("direction: higher", "direction: lower").replace("min: 0.9", "max: 0.9")
    open_pr(repo, weakened + "metrics:\n  ignore: [auc]\n  direction: {auc: lower}\n", {"auc": 0.5, "loss": 0.3})
    proc = repo.mlops("gate", "--base", "main", env=NO_ENV)
    assert proc.returncode == 1
    assert set(verdict_of(repo)["proposed_policy"]) == {"gate.rules", "metrics.direction", "metrics.ignore"}


def test_the_proposed_change_is_shown_to_reviewers_and_a_good_model_still_passes(base_requires_auc):
    repo = base_requires_auc
    stricter = BASE_RULES.replace("min: 0.9", "min: 0.99")
    open_pr(repo, stricter, {"auc": 0.95, "loss": 0.3})
    proc = repo.mlops("gate", "--base", "main", env=NO_ENV)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # the base's 0.9 applies, not the PR's 0.99
    summary = (repo.root / ".mlops-ci" / "out" / "summary.md").read_text()
    assert "Proposed policy change, applies after merge" in summary and "`gate.rules`" in summary


def test_no_rules_on_the_base_fails_and_only_an_explicit_disable_is_neutral(dvc_repo):
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.95}))
    dvc_repo.commit("base without .mlops-ci.yml")
    open_pr(dvc_repo, BASE_RULES, {"auc": 0.95})
    proc = dvc_repo.mlops("gate", "--base", "main", env=NO_ENV)
    assert proc.returncode == 1
    verdict = verdict_of(dvc_repo)
    assert verdict["conclusion"] == "failure" and "No gate rules on the base branch" in verdict["title"]

    dvc_repo.sh("git", "checkout", "-q", "main")
    dvc_repo.write(".mlops-ci.yml", "gate:\n  enabled: false\n")
    dvc_repo.commit("the maintainers switch the gate off on main")
    dvc_repo.sh("git", "checkout", "-q", "pr")
    proc = dvc_repo.mlops("gate", "--base", "main", env=NO_ENV)
    assert proc.returncode == 0
    assert verdict_of(dvc_repo)["conclusion"] == "neutral"


def test_a_pr_cannot_switch_off_drift_failure_or_ignore_the_drifting_column(dvc_repo):
    """drift: fail_on_drift, thresholds and ignored columns come from the base as well."""
    rows = "\n".join(f"{i},{i % 7}" for i in range(400))
    shifted = "\n".join(f"{i + 1000},{i % 7}" for i in range(400))
    dvc_repo.write("reference.csv", "x,k\n" + rows + "\n")
    dvc_repo.write(".mlops-ci.yml", BASE_RULES + "drift:\n  reference: reference.csv\n  current: current.csv\n")
    dvc_repo.write("current.csv", "x,k\n" + rows + "\n")
    dvc_repo.commit("base: drift fails the step")
    dvc_repo.sh("git", "checkout", "-q", "-b", "pr")
    dvc_repo.write("current.csv", "x,k\n" + shifted + "\n")
    dvc_repo.write(".mlops-ci.yml", BASE_RULES + "drift:\n  reference: reference.csv\n  current: current.csv\n"
                   "  fail_on_drift: false\n  ignore: [x]\n  drift_share: 1.0\n")
    dvc_repo.commit("shifted data, drift switched off")

    proc = dvc_repo.mlops("drift", "--base", "main")

    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "dataset drift" in proc.stderr
