"""`mlops-ci monitor` (the drift bot) on real data files, against the fake GitHub and a real MLflow server."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.integration.events_helpers import BOT, actions_env, read_outputs, schedule, summary

pytestmark = pytest.mark.integration

MODEL = "churn-model"  # the repository name: the default model name
LABEL = "mlops:drift"
MARKER = f"<!-- mlops-ci:drift-issue id={MODEL} -->"


def table(seed: int, drift: bool, n: int = 3000) -> pa.Table:
    rng = np.random.default_rng(seed)
    shift = 0.6 if drift else 0.0
    p = [0.2, 0.3, 0.5] if drift else [0.5, 0.3, 0.2]
    return pa.table({"tenure": rng.normal(shift, 1, n), "spend": rng.gamma(2, 2, n) + 3 * shift,
                     "calls": rng.normal(2 * shift, 1, n),
                     "plan": pa.array(rng.choice(["basic", "pro", "team"], n, p=p))})


@pytest.fixture
def project(tmp_path) -> Path:
    """A repository with a training profile and a production-data folder the tests fill."""
    root = tmp_path / "repo"
    (root / "prod").mkdir(parents=True)
    pq.write_table(table(1, drift=False), root / "train.parquet")
    proc = cli(["profile", "build", "train.parquet", "-o", "reference-profile.json"], {}, root)
    assert proc.returncode == 0, proc.stderr
    return root


def production(project: Path, drift: bool, seed: int = 7) -> None:
    pq.write_table(table(seed, drift), project / "prod" / "today.parquet")


def cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLOPS_CI_", "RUNNER_"))}
    return subprocess.run([sys.executable, "-m", "mlops_ci", *args], cwd=cwd, env={**clean, **env},
                          capture_output=True, text=True, timeout=300)


def monitor(fake, project: Path, tmp_path: Path, run_id: str, *args: str, **env: str):
    environ = actions_env(fake, tmp_path, "schedule", schedule(), run_id=run_id, **env)
    return cli(["monitor", "--current", "prod/*.parquet", *args], environ, project)


def configure(project: Path, extra: str = "") -> None:
    (project / ".mlops-ci.yml").write_text(f"monitor:\n  reference: reference-profile.json\n{extra}")


def drift_issues(fake, state: str | None = None):
    return fake.issues(state=state, labels=[LABEL])


def test_drift_on_two_consecutive_runs_updates_one_issue(fake_github, project, tmp_path):
    configure(project, "  retrain_workflow: retrain.yml\n")
    production(project, drift=True)
    first = monitor(fake_github, project, tmp_path, "101")
    assert first.returncode == 0, first.stderr
    (issue,) = drift_issues(fake_github)
    assert issue.state == "open" and issue.title == f"Data drift in production: {MODEL}"
    assert issue.body.startswith(MARKER) and "| Reference | `reference-profile.json` |" in issue.body
    assert "🔴 Data drift: **dataset drift**" in issue.body
    out = read_outputs(tmp_path)
    assert (out["issue-action"], out["issue-number"], out["drifting"], out["retrain"]) == \
        ("open", str(issue.number), "true", "dispatched")
    (dispatch,) = fake_github.dispatches("retrain.yml")
    assert dispatch.ref == "main" and dispatch.inputs["drift-issue"] == str(issue.number)
    assert "Retraining dispatched" in fake_github.comments(issue.number)[0].body
    assert "🔭 mlops-ci drift monitor" in summary(tmp_path) and "dataset drift" in summary(tmp_path)

    rerun = monitor(fake_github, project, tmp_path, "101")  # the opening job re-run: nothing new to say
    assert rerun.returncode == 0, rerun.stderr
    assert len(fake_github.comments(issue.number)) == 1 and len(fake_github.dispatches()) == 1
    first_body = fake_github.issue(issue.number).body

    production(project, drift=True, seed=8)
    second = monitor(fake_github, project, tmp_path, "102")
    assert second.returncode == 0, second.stderr
    (same,) = drift_issues(fake_github)
    assert same.number == issue.number and same.state == "open"
    assert same.body != first_body and "run 102" in same.body
    persists = [c.body for c in fake_github.comments(issue.number) if "Drift persists" in c.body]
    assert len(persists) == 1 and "<!-- mlops-ci:drift-run id=102 -->" in persists[0]
    assert read_outputs(tmp_path)["issue-action"] == "update"
    assert len(fake_github.dispatches()) == 1, "retraining is dispatched when drift starts, not on every run"

    again = monitor(fake_github, project, tmp_path, "102")  # a re-run of the same job
    assert again.returncode == 0
    assert len([c for c in fake_github.comments(issue.number) if "Drift persists" in c.body]) == 1
    assert all(c.user == BOT for c in fake_github.comments(issue.number))


def test_drift_gone_closes_the_issue_with_a_comment(fake_github, project, tmp_path):
    configure(project)
    production(project, drift=True)
    assert monitor(fake_github, project, tmp_path, "201").returncode == 0
    (issue,) = drift_issues(fake_github)

    production(project, drift=False)
    proc = monitor(fake_github, project, tmp_path, "202")
    assert proc.returncode == 0, proc.stderr
    closed = fake_github.issue(issue.number)
    assert closed.state == "closed" and closed.state_reason == "completed"
    assert "✅ Drift is gone" in fake_github.comments(issue.number)[-1].body
    assert read_outputs(tmp_path)["issue-action"] == "close"

    assert monitor(fake_github, project, tmp_path, "203").returncode == 0
    assert read_outputs(tmp_path)["issue-action"] == "none"
    assert len(drift_issues(fake_github)) == 1 and fake_github.dispatches() == []

    production(project, drift=True)  # drift comes back: a new issue, the closed one stays closed
    assert monitor(fake_github, project, tmp_path, "204").returncode == 0
    assert [i.state for i in drift_issues(fake_github)] == ["closed", "open"]


def test_other_issues_with_the_label_are_left_alone_and_duplicates_are_closed(fake_github, project, tmp_path):
    configure(project)
    production(project, drift=True)
    someone = fake_github.add_issue("Investigate drift by hand", body="notes", labels=[LABEL], user="mia-maintainer")
    oldest = fake_github.add_issue("drift", body=f"{MARKER}\nold", labels=[LABEL], user=BOT)
    newer = fake_github.add_issue("drift", body=f"{MARKER}\nraced", labels=[LABEL], user=BOT)
    assert monitor(fake_github, project, tmp_path, "301").returncode == 0
    assert fake_github.issue(someone.number).state == "open" and fake_github.issue(someone.number).body == "notes"
    assert fake_github.issue(oldest.number).state == "open"
    assert fake_github.issue(newer.number).state == "closed"
    assert f"Duplicate of #{oldest.number}" in fake_github.comments(newer.number)[0].body


def test_fail_on_drift_and_a_failed_retrain_dispatch_exit_1(fake_github, project, tmp_path):
    configure(project, "  retrain_workflow: retrain.yml\n  retrain_ref: no-such-branch\n")
    production(project, drift=True)
    proc = monitor(fake_github, project, tmp_path, "401", "--fail-on-drift")
    assert proc.returncode == 1
    (issue,) = drift_issues(fake_github)
    note = fake_github.comments(issue.number)[0].body
    assert "Retraining dispatch of `retrain.yml` on `no-such-branch` failed" in note
    assert read_outputs(tmp_path)["retrain"] == "failed"


def test_the_champions_reference_profile_comes_from_mlflow(fake_github, project, tmp_path, mlflow_server):
    from mlops_ci.registry.mlflow_registry import Registry

    model = f"churn-{uuid.uuid4().hex[:8]}"
    registry = Registry(mlflow_server.url)
    run_id = registry.log_run(model, run_name="main", params={}, metrics={"auc": 0.8}, tags={},
                              artifacts=[(project / "reference-profile.json", "reference")])
    version = registry.create_version(model, run_id, "model", tags={})
    registry.set_alias(model, "champion", version)
    (project / ".mlops-ci.yml").write_text(f"mlflow:\n  model_name: {model}\n")
    production(project, drift=True)

    proc = monitor(fake_github, project, tmp_path, "501", MLFLOW_TRACKING_URI=mlflow_server.url)
    assert proc.returncode == 0, proc.stderr
    (issue,) = drift_issues(fake_github)
    assert f"MLflow `{model}` v{version} (@champion), `reference/reference-profile.json`" in issue.body
    assert issue.title == f"Data drift in production: {model}"

    production(project, drift=False)
    assert monitor(fake_github, project, tmp_path, "502", MLFLOW_TRACKING_URI=mlflow_server.url).returncode == 0
    assert fake_github.issue(issue.number).state == "closed"

    missing = monitor(fake_github, project, tmp_path, "503", "--alias", "nope",
                      MLFLOW_TRACKING_URI=mlflow_server.url)
    assert missing.returncode == 2 and "no version with alias @nope" in missing.stderr


def test_without_production_data_configured_it_is_bad_input(fake_github, project, tmp_path):
    environ = actions_env(fake_github, tmp_path, "schedule", schedule())
    proc = cli(["monitor"], environ, project)
    assert proc.returncode == 2 and "monitor.current" in proc.stderr


def test_outside_actions_the_issue_is_written_locally(project, tmp_path):
    configure(project)
    production(project, drift=True)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "-c", "commit.gpgsign=false"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "data"]):
        subprocess.run(git + args, cwd=project, check=True, capture_output=True)
    proc = cli(["monitor", "--current", "prod/today.parquet"], {}, project)
    assert proc.returncode == 0, proc.stderr
    body = (project / ".mlops-ci" / "out" / "drift-issue.md").read_text()
    assert body.startswith(MARKER.replace(MODEL, "repo")) and "dataset drift" in body
