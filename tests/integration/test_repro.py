"""`mlops-ci repro` against real DVC in temp git repos."""

import json
import shutil

import pytest

from tests.integration.dvcrepo import DvcRepo

pytestmark = pytest.mark.integration


def repro_record(repo: DvcRepo) -> dict:
    return json.loads((repo.root / ".mlops-ci" / "out" / "repro.json").read_text())


def test_repro_runs_times_and_pushes(dvc_repo, tmp_path):
    proc = dvc_repo.mlops("repro")
    assert proc.returncode == 0, proc.stderr
    record = repro_record(dvc_repo)
    assert [(s["name"], s["status"]) for s in record["stages"]] == [
        ("prepare", "ran"), ("train", "ran"), ("evaluate", "ran")]
    assert all(s["seconds"] > 0 for s in record["stages"])
    assert record["push"]["status"] == "ok"
    assert any((tmp_path / "remote" / "runs").rglob("*")), "run-cache was not pushed"
    outputs = json.loads((dvc_repo.root / ".mlops-ci" / "out" / "outputs.json").read_text())
    assert outputs["stages-ran"] == "prepare train evaluate"
    assert "| prepare | ▶️ ran |" in (dvc_repo.root / ".mlops-ci" / "out" / "summary.md").read_text()

    # Nothing changed: a second run reproduces nothing.
    assert dvc_repo.mlops("repro").returncode == 0
    assert [s["status"] for s in repro_record(dvc_repo)["stages"]] == ["unchanged"] * 3
    assert dvc_repo.stages_run() == ["prepare", "train", "evaluate"]


def test_second_ci_run_retrains_nothing_thanks_to_the_run_cache(dvc_repo, tmp_path):
    """CI on a fresh runner: empty DVC cache, no outputs, dvc.lock not committed.

    Stages whose outputs are all DVC-cached come back from the run-cache. A stage
    with a `cache: false` output (evaluate's metrics.json) is re-run: DVC does not
    push uncached outputs, so the run-cache cannot restore them (treeverse/dvc#5749).
    """
    assert dvc_repo.mlops("repro").returncode == 0
    assert dvc_repo.stages_run() == ["prepare", "train", "evaluate"]
    expected = dvc_repo.metrics()

    fresh = tmp_path / "fresh-clone"
    dvc_repo.sh("git", "clone", "-q", str(dvc_repo.root), str(fresh))
    clone = DvcRepo(fresh, dvc_repo.log)
    assert not (fresh / "model.txt").exists() and not (fresh / ".dvc" / "cache").exists()

    proc = clone.mlops("repro")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert [(s["name"], s["status"]) for s in repro_record(clone)["stages"]] == [
        ("prepare", "cached"), ("train", "cached"), ("evaluate", "ran")]
    assert dvc_repo.stages_run() == ["prepare", "train", "evaluate", "evaluate"], "training was re-executed"
    assert clone.metrics() == expected and (fresh / "model.txt").exists()


def test_changed_params_rerun_only_downstream(dvc_repo):
    assert dvc_repo.mlops("repro").returncode == 0
    dvc_repo.write("params.yaml", "prepare:\n  scale: 2.0\ntrain:\n  bias: 0.3\n")
    assert dvc_repo.mlops("repro", "--no-push").returncode == 0
    assert [(s["name"], s["status"]) for s in repro_record(dvc_repo)["stages"]] == [
        ("prepare", "unchanged"), ("train", "ran"), ("evaluate", "ran")]


def test_missing_remote_only_warns(tmp_path):
    from tests.integration.dvcrepo import make_repo

    repo = make_repo(tmp_path / "r", None, tmp_path / "log")
    proc = repo.mlops("repro")
    assert proc.returncode == 0, proc.stderr
    assert "no DVC remote is configured" in proc.stderr + proc.stdout
    notes = (repo.root / ".mlops-ci" / "out" / "annotations.jsonl").read_text()
    assert "no DVC remote" in notes and '"warning"' in notes


def test_unreachable_remote_pull_warns_and_push_fails(dvc_repo, tmp_path):
    shutil.rmtree(tmp_path / "remote")
    dvc_repo.dvc("remote", "modify", "storage", "url", "/proc/definitely/not/writable")
    proc = dvc_repo.mlops("repro")
    assert proc.returncode == 1
    assert "dvc push to remote 'storage' failed" in proc.stderr
    # the pipeline itself still ran and was recorded
    assert [s["status"] for s in repro_record(dvc_repo)["stages"]] == ["ran", "ran", "ran"]


def test_failing_stage_is_named(dvc_repo):
    proc = dvc_repo.mlops("repro", env={"FAIL_TRAIN": "1"})
    assert proc.returncode == 1
    assert "dvc repro failed at stage 'train'" in proc.stderr
    assert "exited with 1" in proc.stderr
    assert "Traceback" not in proc.stderr
    record = repro_record(dvc_repo)
    assert not record["ok"] and record["stages"][-1] == {**record["stages"][-1], "name": "train", "status": "failed"}


def test_targets_force_and_env_options(dvc_repo):
    assert dvc_repo.mlops("repro", "--no-push").returncode == 0
    proc = dvc_repo.mlops("repro", env={"MLOPS_CI_TARGET": "prepare", "MLOPS_CI_FORCE": "true",
                                        "MLOPS_CI_PUSH": "false"})
    assert proc.returncode == 0, proc.stderr
    assert [(s["name"], s["status"]) for s in repro_record(dvc_repo)["stages"]] == [("prepare", "ran")]


def test_missing_dvc_yaml_is_bad_input(tmp_path):
    from tests.integration.dvcrepo import DvcRepo

    (tmp_path / "empty").mkdir()
    repo = DvcRepo(tmp_path / "empty", tmp_path / "log")
    proc = repo.mlops("repro")
    assert proc.returncode == 2
    assert "dvc.yaml: no dvc.yaml here" in proc.stderr and "Traceback" not in proc.stderr
