"""The gate as a required check, run by act against the fake GitHub and a real MLflow server.

A worse challenger fails the check with annotations on the metric and params lines; a better one
passes; an unreachable MLflow completes the check as a failure with the reason; a repository with no
metrics at all still gets the check (a required check must never hang at "Expected").
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from tests.e2e.act_harness import CHECKOUT, ActRepo
from tests.e2e.test_pr_flow import PIPELINE, pr_payload

REPOSITORY = "octo-org/churn-model"
PR = 42
CHECK = "mlops-ci / gate"

WORKFLOW = f"""\
name: mlops-gate
on: pull_request
permissions:
  contents: read
  checks: write
jobs:
  gate:
    runs-on: [self-hosted, gpu]
    env:
      MLFLOW_TRACKING_URI: ${{{{ vars.MLFLOW_TRACKING_URI }}}}
      MLFLOW_HTTP_REQUEST_MAX_RETRIES: "0"
      MLFLOW_HTTP_REQUEST_TIMEOUT: "5"
    steps:
      - uses: {CHECKOUT}  # v4.2.2
        with:
          persist-credentials: false
          fetch-depth: 0
      - id: repro
        uses: ./actions/repro
      - id: gate
        uses: ./actions/gate
"""

RULES = """\
mlflow:
  model_name: {model}
gate:
  rules:
    - metric: auc
      direction: higher
      max_regression: 0.01
    - metric: latency_p95_ms
      direction: lower
      max: 50
"""


def make_repo(tmp_path, model: str, files: dict[str, str] | None = None) -> tuple[ActRepo, str]:
    """The toy pipeline with the gate workflow committed, so the event's SHAs are the ones act checks out."""
    base_files = {**PIPELINE, ".github/workflows/e2e.yml": WORKFLOW, "params.yaml": "train:\n  lr: 0.1\n",
                  ".mlops-ci.yml": RULES.format(model=model),
                  "metrics.json": json.dumps({"auc": 0.8, "latency_p95_ms": 12.0}), **(files or {})}
    base_files = {k: v for k, v in base_files.items() if v is not None}
    repo = ActRepo.create(tmp_path / "repo", base_files, repository=REPOSITORY)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=repo.path, check=True)
    return repo, repo.commit("dvc init")


def register_champion(url: str, model: str, metrics: dict[str, float]) -> str:
    """What main's CI leaves behind: a registered version with its metrics, alias `champion`."""
    from mlops_ci.registry.mlflow_registry import Registry

    registry = Registry(url)
    run_id = registry.log_run(model, run_name="main", params={"train.lr": 0.1}, metrics=metrics, tags={},
                              artifacts=[])
    version = registry.create_version(model, run_id, "model", tags={})
    registry.set_alias(model, "champion", version)
    return version


def run_gate(runner, repo: ActRepo, fake, base: str, head: str, tracking_uri: str):
    if (fake.repo, PR) not in fake.state.pulls:
        fake.add_pull(PR, head_sha=head, base_sha=base, head_ref="feature/lr")
    return runner.run(repo, WORKFLOW, event="pull_request", payload=pr_payload(base, head),
                      env={"GITHUB_API_URL": fake.url, "GITHUB_GRAPHQL_URL": fake.graphql_url},
                      vars={"MLFLOW_TRACKING_URI": tracking_uri}, secrets={"GITHUB_TOKEN": fake.token})


def test_worse_model_fails_and_better_model_passes_against_the_mlflow_champion(
        seeded_runner, fake_github, mlflow_server, tmp_path):
    model = f"churn-{uuid.uuid4().hex[:8]}"
    version = register_champion(mlflow_server.url, model, {"auc": 0.82, "latency_p95_ms": 12.0})
    repo, base = make_repo(tmp_path, model)
    repo.git("checkout", "-q", "-b", "feature/lr")

    repo.write({"params.yaml": "train:\n  lr: 0.05\n"})  # the toy pipeline's auc is 0.7 + lr: 0.75
    worse = repo.commit("lower the learning rate")
    result = run_gate(seeded_runner, repo, fake_github, base, worse, mlflow_server.url)
    assert result.returncode != 0
    gate = result.step("gate")
    assert gate.outputs["conclusion"] == "failure"
    assert repo.head == worse
    (check,) = fake_github.check_runs(worse, CHECK)
    assert check.status == "completed" and check.conclusion == "failure"
    assert f"alias champion (version {version})" in check.summary and "auc" in check.title
    paths = {(n["path"], n["annotation_level"]) for n in check.annotations}
    assert ("metrics.json", "failure") in paths and ("params.yaml", "warning") in paths

    repo.write({"params.yaml": "train:\n  lr: 0.15\n"})  # auc 0.85 > 0.82
    better = repo.commit("raise the learning rate")
    result = run_gate(seeded_runner, repo, fake_github, base, better, mlflow_server.url)
    result.assert_ok()
    assert result.step("gate").outputs["conclusion"] == "success"
    (check,) = fake_github.check_runs(better, CHECK)
    assert check.conclusion == "success" and not check.annotations
    assert "0.82" in check.summary and "0.85" in check.summary


def test_mlflow_down_fails_the_check_with_the_reason(seeded_runner, fake_github, tmp_path):
    repo, base = make_repo(tmp_path, "churn")
    repo.git("checkout", "-q", "-b", "feature/lr")
    repo.write({"params.yaml": "train:\n  lr: 0.15\n"})
    head = repo.commit("raise the learning rate")
    result = run_gate(seeded_runner, repo, fake_github, base, head, "http://127.0.0.1:9")
    assert result.returncode != 0
    (check,) = fake_github.check_runs(head, CHECK)
    assert check.status == "completed" and check.conclusion == "failure"
    assert "MLflow" in check.summary


@pytest.mark.parametrize("config", ["", "gate:\n  rules: []\n"])
def test_no_rules_at_all_still_reports_the_check_and_fails_it(seeded_runner, fake_github, tmp_path, config):
    """No metrics in the pipeline and no rules on the base: the required check still completes — as a failure,
    since a required check that checks nothing would pass any model."""
    files = {"dvc.yaml": "stages:\n  train:\n    cmd: python3 train.py\n    deps: [train.py]\n    outs: [model.txt]\n",
             "metrics.json": None, ".mlops-ci.yml": config}
    repo, base = make_repo(tmp_path, "churn", files)
    repo.git("checkout", "-q", "-b", "feature/lr")
    repo.write({"params.yaml": "train:\n  lr: 0.15\n"})
    head = repo.commit("raise the learning rate")
    result = run_gate(seeded_runner, repo, fake_github, base, head, "")
    assert result.step("gate").outcome == "failure"
    (check,) = fake_github.check_runs(head, CHECK)
    assert check.status == "completed" and check.conclusion == "failure"
    assert check.title.startswith("No gate rules on the base branch")
