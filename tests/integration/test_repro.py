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
    assert "| prepare | ran |" in (dvc_repo.root / ".mlops-ci" / "out" / "summary.md").read_text()

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


# -- no stage can hang the runner: time limits, leftovers, heartbeats --------------------------------

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

#: A training stage that hangs: it starts a worker in a session of its own (as a daemon would) and a
#: plain child, records their pids, says where it is, and waits forever.
HANG = """\
import os, subprocess, sys, time
worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open("pids.txt", "w").write(f"{os.getpid()} {worker.pid} {child.pid}")
print("epoch 1 of 100: waiting for the GPU", flush=True)
time.sleep(600)
"""

#: A stage that leaves a process running (holding the output open) and exits; it also prints
#: Latin-1 bytes and reads its standard input.
LEAVE = """\
import subprocess, sys
server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open("pids.txt", "w").write(str(server.pid))
sys.stdout.buffer.write(b"caf\\xe9 au lait\\n")
print("stdin:", repr(sys.stdin.read()), flush=True)
"""


def pipeline(tmp_path: Path, stages: dict[str, str], files: dict[str, str], config: str = "") -> DvcRepo:
    from tests.integration.dvcrepo import DvcRepo as Repo

    root = tmp_path / "repo"
    root.mkdir()
    repo = Repo(root, tmp_path / "stage-log")
    repo.sh("git", "init", "-q", "-b", "main")
    repo.dvc("init", "-q")
    repo.write("dvc.yaml", "stages:\n" + "".join(f"  {name}:\n    cmd: {cmd}\n" for name, cmd in stages.items()))
    for path, text in {**files, ".gitignore": ".mlops-ci/\n", ".mlops-ci.yml": config}.items():
        repo.write(path, text)
    repo.commit("pipeline")
    return repo


def mlops(repo: DvcRepo, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`mlops-ci` with a safety net: a regression that hangs again fails the test instead of the suite."""
    return subprocess.run([sys.executable, "-m", "mlops_ci", *args], cwd=repo.root, env={**repo.env, **(env or {})},
                          capture_output=True, text=True, timeout=300)


def gone(pid: int) -> bool:
    """Ended: no such process, or a zombie waiting for whoever adopted it to reap it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True


def test_stage_over_its_limit_is_stopped_with_every_process_it_started(tmp_path):
    repo = pipeline(tmp_path, {"prepare": "echo ready", "train": "python hang.py"}, {"hang.py": HANG},
                    "repro:\n  stage_timeout: {train: 2, '*': 120}\n  heartbeat: 0.5\n")
    proc = mlops(repo, "repro", "--no-pull", "--no-push")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert ("dvc repro stopped: stage 'train' exceeded its time limit of 2 s (repro.stage_timeout): stopped it and "
            "every process it started") in proc.stderr
    assert "  | epoch 1 of 100: waiting for the GPU" in proc.stderr, "the last output lines come with the error"
    assert "⏳ mlops-ci: stage 'train' running for" in proc.stdout, "the heartbeat showed the stuck stage"
    assert "Traceback" not in proc.stderr
    for pid in map(int, (repo.root / "pids.txt").read_text().split()):
        assert gone(pid), f"process {pid} of the stage survived the stop"

    record = repro_record(repo)
    assert record["stopped"]["stage"] == "train" and record["stopped"]["limit_s"] == 2
    assert record["stopped"]["tail"][-1] == "epoch 1 of 100: waiting for the GPU"
    assert [(s["name"], s["status"]) for s in record["stages"]] == [("prepare", "ran"), ("train", "failed")]
    assert "over its time limit of 2 s (repro.stage_timeout)" in record["stages"][1]["detail"]

    report = mlops(repo, "report", "--no-plots")
    assert report.returncode == 0, report.stderr
    body = (repo.root / ".mlops-ci" / "out" / "comment.md").read_text()
    assert "- ⛔ **Stopped**: stage 'train' exceeded its time limit of 2 s" in body
    assert "failed at train (time limit)" in body


def test_stage_timeout_flag_replaces_the_config(tmp_path):
    repo = pipeline(tmp_path, {"train": "python hang.py"}, {"hang.py": HANG}, "repro:\n  stage_timeout: {train: 600}\n")
    proc = mlops(repo, "repro", "--no-pull", "--no-push", env={"MLOPS_CI_STAGE_TIMEOUT": "5"})
    assert proc.returncode == 1
    assert "stage 'train' exceeded its time limit of 5 s (--stage-timeout)" in proc.stderr
    assert all(gone(int(pid)) for pid in (repo.root / "pids.txt").read_text().split())

    bad = mlops(repo, "repro", "--stage-timeout", "soon")
    assert bad.returncode == 2 and "--stage-timeout" in bad.stderr


def test_processes_a_stage_leaves_behind_no_longer_hang_repro(tmp_path):
    # Before: DVC finished, but `mlops-ci repro` read the output until the server it left ended.
    repo = pipeline(tmp_path, {"serve": "python leave.py"}, {"leave.py": LEAVE})
    proc = mlops(repo, "repro", "--no-pull", "--no-push")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    server = int((repo.root / "pids.txt").read_text())
    assert gone(server)
    assert f"a stage left processes running after `dvc repro` ended; they held its output open and were stopped: " \
           f"{server} " in proc.stdout
    assert repro_record(repo)["leftovers"][0].startswith(f"{server} ")
    assert "caf\ufffd au lait" in proc.stdout, "undecodable bytes are replaced, not a crash"
    assert "stdin: ''" in proc.stdout, "stages read an empty standard input instead of waiting on one"


def test_heartbeat_names_the_running_stage_while_it_is_silent(tmp_path):
    repo = pipeline(tmp_path, {"wait": "python wait.py"},
                    {"wait.py": "import os, time\nwhile not os.path.exists('go'):\n    time.sleep(0.05)\n"},
                    "repro:\n  heartbeat: 0.5\n")
    proc = subprocess.Popen([sys.executable, "-m", "mlops_ci", "repro", "--no-pull", "--no-push"], cwd=repo.root,
                            env={**repo.env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, text=True)
    safety = threading.Timer(300, proc.kill)
    safety.start()
    try:
        seen = []
        for line in proc.stdout:  # the stage only ends once the test has seen a heartbeat for it
            seen.append(line)
            if line.startswith("⏳ mlops-ci: stage 'wait' running for"):
                (repo.root / "go").write_text("")
        assert proc.wait() == 0, "".join(seen)
    finally:
        safety.cancel()
    assert (repo.root / "go").exists()
    assert os.path.exists(repo.root / ".mlops-ci" / "out" / "repro.json")
