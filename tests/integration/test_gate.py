"""`mlops-ci gate`: local files, the base branch as champion, and the check run through the fake GitHub."""

import json

import pytest

pytestmark = pytest.mark.integration

RULES = """\
gate:
  rules:
    - metric: auc
      direction: higher
      min_delta: 0.0
      max_regression: 0.01
    - metric: loss
      direction: lower
      max: 0.5
"""


def test_local_files_pass_and_fail(dvc_repo, tmp_path):
    dvc_repo.write(".mlops-ci.yml", RULES)
    champion, good, bad = tmp_path / "champion.json", tmp_path / "good.json", tmp_path / "bad.json"
    champion.write_text(json.dumps({"auc": 0.80, "loss": 0.40}))
    good.write_text(json.dumps({"auc": 0.82, "loss": 0.41}))
    bad.write_text(json.dumps({"auc": 0.70, "loss": 0.60}))

    ok = dvc_repo.mlops("gate", "--champion-metrics", str(champion), "--challenger-metrics", str(good))
    assert ok.returncode == 0, ok.stderr
    verdict = json.loads((dvc_repo.root / ".mlops-ci" / "out" / "gate.json").read_text())
    assert verdict["conclusion"] == "success"
    assert verdict["champion_source"] == f"metrics file `{champion}`"

    failed = dvc_repo.mlops("gate", "--champion-metrics", str(champion), "--challenger-metrics", str(bad))
    assert failed.returncode == 1
    verdict = json.loads((dvc_repo.root / ".mlops-ci" / "out" / "gate.json").read_text())
    assert verdict["conclusion"] == "failure"
    assert {r["metric"] for r in verdict["results"] if not r["passed"]} == {"auc", "loss"}
    assert "gate: failure" in failed.stdout


def test_base_branch_is_the_champion_without_a_registry(dvc_repo, tmp_path):
    dvc_repo.write(".mlops-ci.yml", RULES)
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.80, "loss": 0.40}))
    dvc_repo.commit("base")
    dvc_repo.sh("git", "checkout", "-q", "-b", "pr")
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.75, "loss": 0.40}))
    proc = dvc_repo.mlops("gate", env={"MLFLOW_TRACKING_URI": ""})
    assert proc.returncode == 1
    assert "champion: base branch metrics at" in proc.stdout


def test_metrics_the_pipeline_did_not_produce_are_not_judged(dvc_repo):
    """After a failed or skipped repro the checkout's metrics are stale: the gate fails closed."""
    dvc_repo.write(".mlops-ci.yml", RULES)
    dvc_repo.commit("rules")  # --base HEAD: the rules are read from that commit
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.99, "loss": 0.01}))  # committed, looks great
    out = dvc_repo.root / ".mlops-ci" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "repro.json").write_text(json.dumps({"ok": False, "returncode": 1, "seconds": 3.0, "stages": [
        {"name": "prepare", "status": "ran", "seconds": 1.0}, {"name": "train", "status": "failed", "seconds": 2.0}]}))
    env = {"MLFLOW_TRACKING_URI": ""}
    failed = dvc_repo.mlops("gate", "--base", "HEAD", env=env)
    assert failed.returncode == 1, failed.stderr
    verdict = json.loads((out / "gate.json").read_text())
    assert verdict["conclusion"] == "failure" and "the pipeline failed at stage train" in verdict["title"]

    (out / "repro.json").unlink()
    skipped = dvc_repo.mlops("gate", "--base", "HEAD", "--repro-outcome", "skipped", env=env)
    assert skipped.returncode == 1 and "ended `skipped`" in json.loads((out / "gate.json").read_text())["title"]
    ok = dvc_repo.mlops("gate", "--base", "HEAD", "--repro-outcome", "success", env=env)
    assert ok.returncode == 0, ok.stderr


def test_no_champion_passes_with_the_reason(dvc_repo):
    dvc_repo.write(".mlops-ci.yml", RULES)
    dvc_repo.commit("rules")  # --base HEAD: the rules are read from that commit
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.80, "loss": 0.40}))
    proc = dvc_repo.mlops("gate", "--base", "HEAD", env={"MLFLOW_TRACKING_URI": ""})
    assert proc.returncode == 0, proc.stderr
    verdict = json.loads((dvc_repo.root / ".mlops-ci" / "out" / "gate.json").read_text())
    assert "no champion" in verdict["champion_source"]


def test_bad_config_is_exit_2(dvc_repo):
    dvc_repo.write(".mlops-ci.yml", "gate:\n  rules:\n    - metric: auc\n      max_regression: ten percent\n")
    proc = dvc_repo.mlops("gate")
    assert proc.returncode == 2
    assert ".mlops-ci.yml:4: key 'gate.rules.0.max_regression'" in proc.stderr
    # without a check run (a fork's run) the error still becomes a failing verdict for the artifact
    verdict = json.loads((dvc_repo.root / ".mlops-ci" / "out" / "gate.json").read_text())
    assert verdict["conclusion"] == "failure" and "gate.rules.0.max_regression" in verdict["title"]


# -- the check run ------------------------------------------------------------------------------

def gh_env(fake, tmp_path, repo, head, base):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "opened", "number": 5, "repository": {"full_name": fake.repo},
                                 "pull_request": {"number": 5, "head": {"sha": head, "repo": {"full_name": fake.repo}},
                                                  "base": {"sha": base, "repo": {"full_name": fake.repo}}}}))
    return {**fake.env(), "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request", "GITHUB_EVENT_PATH": str(event),
            "GITHUB_SHA": head, "GITHUB_RUN_ID": "9", "GITHUB_OUTPUT": str(tmp_path / "output"),
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"), "MLFLOW_TRACKING_URI": ""}


@pytest.fixture
def pr(dvc_repo):
    dvc_repo.write(".mlops-ci.yml", RULES)
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.80, "loss": 0.40}, indent=2))
    base = dvc_repo.commit("base")
    dvc_repo.sh("git", "checkout", "-q", "-b", "pr")
    dvc_repo.write("params.yaml", "prepare:\n  scale: 2.0\ntrain:\n  bias: 0.1\n")
    return dvc_repo, base


def test_worse_model_fails_the_check_with_annotations(fake_github, pr, tmp_path):
    repo, base = pr
    repo.write("metrics.json", json.dumps({"auc": 0.70, "loss": 0.40}, indent=2))
    head = repo.commit("worse")
    proc = repo.mlops("gate", env=gh_env(fake_github, tmp_path, repo, head, base))
    assert proc.returncode == 1, proc.stderr
    (check,) = fake_github.check_runs(head, "mlops-ci / gate")
    assert check.status == "completed" and check.conclusion == "failure"
    assert "auc" in check.summary and check.title
    notes = check.annotations
    assert any(n["path"] == "metrics.json" and n["start_line"] == 2 and n["annotation_level"] == "failure"
               for n in notes)
    assert any(n["path"] == "params.yaml" and n["start_line"] == 4 and n["annotation_level"] == "warning"
               for n in notes)


def test_better_model_passes_the_check(fake_github, pr, tmp_path):
    repo, base = pr
    repo.write("metrics.json", json.dumps({"auc": 0.85, "loss": 0.30}, indent=2))
    head = repo.commit("better")
    proc = repo.mlops("gate", env=gh_env(fake_github, tmp_path, repo, head, base))
    assert proc.returncode == 0, proc.stderr
    (check,) = fake_github.check_runs(head, "mlops-ci / gate")
    assert check.conclusion == "success" and not check.annotations
    assert "conclusion=success" in (tmp_path / "output").read_text()


def test_mlflow_down_fails_closed(fake_github, pr, tmp_path):
    repo, base = pr
    repo.write("metrics.json", json.dumps({"auc": 0.85, "loss": 0.30}, indent=2))
    head = repo.commit("better")
    env = {**gh_env(fake_github, tmp_path, repo, head, base), "MLFLOW_TRACKING_URI": "http://127.0.0.1:9",
           "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "2"}
    proc = repo.mlops("gate", env=env)
    assert proc.returncode == 1
    (check,) = fake_github.check_runs(head, "mlops-ci / gate")
    assert check.conclusion == "failure" and "MLflow" in check.summary


def test_no_rules_at_all_still_reports_the_check_as_failing(fake_github, dvc_repo, tmp_path):
    """Nothing configured anywhere: the required check is reported (never "Expected" forever), and fails."""
    base = dvc_repo.sh("git", "rev-parse", "HEAD").stdout.strip()
    proc = dvc_repo.mlops("gate", env=gh_env(fake_github, tmp_path, dvc_repo, base, base))
    assert proc.returncode == 1, proc.stderr
    (check,) = fake_github.check_runs(base, "mlops-ci / gate")
    assert check.status == "completed" and check.conclusion == "failure"
    assert "No gate rules on the base branch" in check.title


def test_bad_config_still_completes_the_check(fake_github, pr, tmp_path):
    repo, base = pr
    repo.write(".mlops-ci.yml", "gate:\n  rulez: []\n")
    head = repo.commit("typo")
    proc = repo.mlops("gate", env=gh_env(fake_github, tmp_path, repo, head, base))
    assert proc.returncode == 2
    (check,) = fake_github.check_runs(head, "mlops-ci / gate")
    assert check.conclusion == "failure" and "rulez" in check.summary
