"""`mlops-ci report` in local mode: everything lands in .mlops-ci/out/, nothing is posted."""

import json

import pytest

pytestmark = pytest.mark.integration

PLOTS = """
plots:
  - roc.json:
      x: fpr
      y: tpr
      title: ROC
  - confusion.csv:
      template: confusion
      x: actual
      y: predicted
"""


def write_eval(repo, tpr_mid, confusion_rows):
    repo.write("roc.json", json.dumps([{"fpr": 0, "tpr": 0}, {"fpr": 0.5, "tpr": tpr_mid}, {"fpr": 1, "tpr": 1}]))
    repo.write("confusion.csv", "actual,predicted\n" + "\n".join(f"{a},{p}" for a, p in confusion_rows) + "\n")


def test_local_report_has_metrics_params_plots_and_run_facts(dvc_repo):
    dvc_repo.write("dvc.yaml", dvc_repo.root.joinpath("dvc.yaml").read_text() + PLOTS)
    write_eval(dvc_repo, 0.6, [(0, 0), (1, 0), (1, 1)])
    assert dvc_repo.mlops("repro", "--no-push").returncode == 0
    base = dvc_repo.commit("base")
    dvc_repo.sh("git", "checkout", "-q", "-b", "pr")
    dvc_repo.write("params.yaml", "prepare:\n  scale: 2.0\ntrain:\n  bias: 0.3\n")
    write_eval(dvc_repo, 0.8, [(0, 0), (1, 1), (1, 1)])
    assert dvc_repo.mlops("repro", "--no-push").returncode == 0

    proc = dvc_repo.mlops("report")
    assert proc.returncode == 0, proc.stderr
    out = dvc_repo.root / ".mlops-ci" / "out"
    body = (out / "comment.md").read_text()
    assert body.startswith("<!-- mlops-ci:report id=local/report -->")
    assert f"| 🟢 auc | 0.75 | 0.8 | +0.05 (+6.7%) |" in body
    assert "| train.bias | `0.25` | `0.3` | modified |" in body
    assert "prepare.scale" not in body  # unchanged params are hidden by default
    assert "```mermaid" in body and "xychart-beta" in body
    assert "| **1** | 1 (+1) | 2 (+1) |" not in body  # sanity: cells are per (actual, predicted)
    assert "| **1** | 0 (-1) | 2 (+1) |" in body
    assert "| train | ran |" in body and "Per stage: see **Cost** below." in body  # stage times once, in Cost
    assert (out / "plots" / "roc.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / "plots" / "confusion.png").exists()
    data = json.loads((out / "report.json").read_text())
    assert data["base"] == base and data["head"] == "workspace"
    assert "not posted: local run" in proc.stderr

    all_params = dvc_repo.mlops("report", "--all", "--no-plots")
    assert "prepare.scale" in (out / "comment.md").read_text() and all_params.returncode == 0
    assert "```mermaid" not in (out / "comment.md").read_text()


def test_bad_target_is_exit_2(dvc_repo):
    proc = dvc_repo.mlops("report", "--target", "pull/3")
    assert proc.returncode == 2 and "--target pull/3: expected" in proc.stderr
