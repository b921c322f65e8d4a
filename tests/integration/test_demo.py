"""The README's main job: `mlops-ci demo` on the bundled example, end to end."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_demo_writes_the_pr_report(tmp_path):
    workdir = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLOPS_CI_", "MLFLOW_"))}
    proc = subprocess.run([sys.executable, "-m", "mlops_ci", "demo", "--workdir", str(workdir)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = workdir / ".mlops-ci" / "out"
    assert proc.stdout.strip().splitlines()[-1] == str(out)  # the last line is the path

    comment = (out / "comment.md").read_text()
    assert comment.startswith("<!-- mlops-ci:report id=local/report -->\n## ")
    for metric in ("auc", "f1", "accuracy"):
        assert f" {metric} |" in comment
    # a timing on a shared machine: marked noisy whenever it moved, never a reason for the headline to warn
    assert " latency_p95_ms |" in comment or "⏱️ latency_p95_ms (noisy) |" in comment
    assert "| train.learning_rate | `0.1` | `0.05` | modified |" in comment
    assert "```mermaid" in comment and "| **1** |" in comment  # ROC chart and confusion table
    assert "| train | ran |" in comment and comment.count("| Stage |") == 1  # stage times once: in Cost
    # rendered by GitHub's parser: clean tables, closed <details>, no literal "###", headings in order
    from tests.render.markdown_checks import problems

    summary = (out / "summary.md").read_text()
    assert problems(comment) == [] and problems(summary) == [], summary
    assert summary.startswith("## DVC pipeline") and summary.count("| Stage |") == 1  # not again in the report part
    for heading in ("### ✅ Gate", "### ✅ Data drift and contracts", "### ℹ️ Plots", "### ✅ Run"):
        assert heading in comment and heading in summary, heading
    assert "## ✅ mlops-ci report" in comment  # the gate passed: its verdict is the headline's, ⚠️ only on Metrics
    assert (out / "plots" / "eval-plots-roc.png").read_bytes()[:4] == b"\x89PNG"

    # the gate ran against the champion that main's CI registered and promoted in the embedded MLflow
    gate = json.loads((out / "gate.json").read_text())
    assert gate["conclusion"] == "success", gate
    assert "champion" in gate["champion_source"] and "churn" in gate["champion_source"]
    assert "### " in comment and "Gate" in comment and "latency_p95_ms" in comment
    assert (workdir / ".mlops-ci" / "mlflow.db").is_file() and not (workdir / "mlruns").exists()

    # drift of the PR's data against main's: the shifted columns flagged, no dataset drift, contracts pass
    drift = json.loads((out / "drift.json").read_text())
    flagged = {c["name"] for c in drift["columns"] if c["drifted"]}
    assert {"monthly_charges", "data_usage_gb", "satisfaction_score"} <= flagged, flagged
    assert drift["dataset_drift"] is False and drift["contracts"]
    assert "Data drift and contracts" in comment and "`monthly_charges`" in comment
    assert "Current: `data/customers.csv` (6,000 rows)" in comment  # named as in the repository, not the temp dir
    assert "**Cost**: ≈ " in comment and "CPU only" in comment
    assert (out / "drift.html").stat().st_size < 200_000

    # the champion carries its training data's drift profile (what the scheduled drift job compares against)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{workdir / '.mlops-ci' / 'mlflow.db'}")
    champion = client.get_model_version_by_alias("churn", "champion")
    assert [a.path for a in client.list_artifacts(champion.run_id, "reference")] == [
        "reference/reference-profile.json"]
    record = json.loads((out / "repro.json").read_text())
    assert record["ok"] and [s["name"] for s in record["stages"]] == ["prepare", "train", "evaluate"]

    # the sandbox is a real repository: main was trained by "CI", the PR branch changed data and params
    git = lambda *a: subprocess.run(["git", *a], cwd=workdir, capture_output=True, text=True).stdout  # noqa: E731
    assert git("branch", "--show-current").strip() == "demo/new-data"
    assert "data/customers.csv.dvc" in git("diff", "--name-only", "main")
    assert "metrics.json" in git("show", "--name-only", "main")
    assert (workdir / ".mlops-ci" / "dvc-remote" / "runs").is_dir()  # run-cache was pushed

    # the demo comment as GitHub shows it, light and dark, kept for a human look (.cache/render/)
    from tests.render.browser import Browser
    from tests.render.conftest import ARTIFACTS
    from tests.render.github_page import screenshot

    browser = Browser()
    try:
        for theme in ("light", "dark"):
            shown = screenshot(comment, ARTIFACTS / f"demo-comment-{theme}.png", dark=theme == "dark", browser=browser)
            assert shown == {"charts": 1, "errors": [], "console_errors": []}, shown
    finally:
        browser.close()

    # bad --workdir: not empty
    again = subprocess.run([sys.executable, "-m", "mlops_ci", "demo", "--workdir", str(workdir)], env=env,
                           capture_output=True, text=True)
    assert again.returncode == 2 and "must be empty" in again.stderr
