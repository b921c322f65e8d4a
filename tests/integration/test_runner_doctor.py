"""`mlops-ci runner doctor` as a GPU job runs it: a fake nvidia-smi on the PATH replays real outputs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.test_gha_runtime import parse_output_file

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nvidia-smi"


def doctor(tmp_path: Path, *args: str, scenario: str | None = None, github: bool = False,
           project: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the doctor with only a fake nvidia-smi (or none) on the PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLOPS_CI_", "RUNNER_"))}
    env.update(PATH=fake_path(tmp_path, scenario), FAKE_NVIDIA_SMI=str(FIXTURES / (scenario or "none")),
               MLOPS_CI_OUT_DIR=str(tmp_path / "out"))
    if github:
        env.update(GITHUB_ACTIONS="true", GITHUB_OUTPUT=str(tmp_path / "output"),
                   GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"))
    project = project or tmp_path / "project"
    project.mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "mlops_ci", "runner", "doctor", "-C", str(project), *args],
                          env=env, capture_output=True, text=True, timeout=120)


def fake_path(tmp_path: Path, scenario: str | None) -> str:
    """A PATH with the fake nvidia-smi (when ``scenario``) and the tools it uses, and no real nvidia-smi."""
    bin_dir, tools = tmp_path / "bin", tmp_path / "tools"
    bin_dir.mkdir(exist_ok=True)
    tools.mkdir(exist_ok=True)
    for tool in ("bash", "cat", "sleep"):
        if not (tools / tool).exists():
            (tools / tool).symlink_to(shutil.which(tool))
    if scenario:
        shutil.copy(FIXTURES / "fake-nvidia-smi", bin_dir / "nvidia-smi")
    return f"{bin_dir}{os.pathsep}{tools}"


def dvc_project(root: Path, config: str = "") -> Path:
    (root / ".dvc" / "cache" / "files" / "md5" / "ab").mkdir(parents=True)
    (root / ".dvc" / "cache" / "files" / "md5" / "ab" / "cdef").write_bytes(b"x" * 1000)
    (root / ".dvc" / "config").write_text(config)
    return root


def test_gpu_job_on_a_gpu_runner(tmp_path):
    project = dvc_project(tmp_path / "project")
    proc = doctor(tmp_path, "--labels", "self-hosted,linux,gpu", scenario="t4-x4", github=True, project=project)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] and data["gpu_required"] and data["gpu"]["count"] == 4
    assert data["labels"] == ["self-hosted", "linux", "gpu"]
    assert data["dvc_cache"]["source"] == "default" and data["dvc_cache"]["writable"]
    assert data["dvc_cache"]["files"] == 1 and data["dvc_cache"]["size_bytes"] == 1000
    assert json.loads((tmp_path / "out" / "doctor.json").read_text()) == data  # what repro reads
    outputs = parse_output_file((tmp_path / "output").read_text())
    assert outputs["gpu-count"] == "4" and outputs["cuda-version"] == "12.4" and outputs["ok"] == "true"
    summary = (tmp_path / "summary.md").read_text()
    assert "## ✅ Runner doctor: 4 × Tesla T4" in summary  # a summary part starts at h2
    assert "| 2 | Tesla T4 | 14,021 / 15,360 MiB | 100 % |" in summary


@pytest.mark.parametrize("scenario, expected", [
    (None, "nvidia-smi not found on the PATH"),
    ("driver-not-loaded", "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver"),
    ("version-mismatch", "Driver/library version mismatch"),
    ("no-devices", "No devices were found"),
    ("a100-mig-empty", "MIG mode is enabled but no MIG instance was created"),
])
def test_gpu_job_without_a_usable_gpu_fails_fast(tmp_path, scenario, expected):
    proc = doctor(tmp_path, "--labels", "self-hosted gpu-a100", scenario=scenario, github=True)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    data = json.loads(proc.stdout.split("\n::", 1)[0])
    assert not data["ok"] and data["gpu"]["count"] == 0
    (problem,) = data["problems"]
    assert "this job needs one (runner label 'gpu-a100')" in problem and expected in problem
    assert "::error title=mlops-ci::runner doctor: no usable GPU" in proc.stdout
    assert expected in proc.stderr and "stopped before doing any work" in proc.stderr
    assert "❌ Runner doctor: no GPU — 1 problem(s)" in (tmp_path / "summary.md").read_text()


def test_require_gpu_flag_without_gpu_labels(tmp_path):
    assert doctor(tmp_path, scenario=None).returncode == 0  # a CPU job on a CPU runner: fine
    proc = doctor(tmp_path, "--require-gpu", scenario=None)
    assert proc.returncode == 1 and "(--require-gpu)" in proc.stderr


def test_cpu_job_on_a_broken_gpu_box_only_warns(tmp_path):
    proc = doctor(tmp_path, "--labels", "self-hosted,no-gpu", scenario="driver-not-loaded")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] and not data["gpu_required"] and "kernel driver is not loaded" in data["warnings"][0]


def test_one_lost_gpu_of_two_warns_and_counts_one(tmp_path):
    proc = doctor(tmp_path, "--require-gpu", scenario="gpu-lost")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["gpu"]["count"] == 1 and "GPU 1 (unreachable GPU) is not usable: nvidia-smi: Unable to determine" in data["warnings"][0]


def test_hung_nvidia_smi_times_out(tmp_path):
    from mlops_ci.runners import nvidia

    path = fake_path(tmp_path, "hang")
    probe = nvidia.probe_gpus({"PATH": path, "FAKE_NVIDIA_SMI": str(FIXTURES / "hang")}, timeout=0.5)
    assert probe.count == 0 and "did not answer within" in probe.error


def test_disk_and_cache_problems(tmp_path):
    custom = tmp_path / "shared-cache"
    project = dvc_project(tmp_path / "project", f"[core]\n    remote = storage\n[cache]\n    dir = {custom}\n"
                                                "    shared = group\n")
    (project / ".dvc" / "config.local").write_text("[cache]\n    dir = ../local-cache\n")
    proc = doctor(tmp_path, project=project, scenario="a100-x1")
    data = json.loads(proc.stdout)
    assert data["dvc_cache"]["path"] == str((project / "local-cache").resolve())
    assert data["dvc_cache"]["source"] == ".dvc/config.local" and not data["dvc_cache"]["exists"]
    assert data["dvc_cache"]["writable"], "a cache DVC will create is judged by its parent directory"

    proc = doctor(tmp_path, "--min-free-gb", "1000000", project=project, scenario="a100-x1")
    assert proc.returncode == 1 and "free on the workspace disk" in proc.stderr and "--min-free-gb" in proc.stderr

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    proc = doctor(tmp_path, "--dvc-cache", str(blocker / "cache"), project=project, scenario="a100-x1")
    assert proc.returncode == 1 and "is not writable" in proc.stderr


def test_not_a_dvc_project_skips_the_cache(tmp_path):
    proc = doctor(tmp_path, scenario="a100-x1")
    assert proc.returncode == 0 and json.loads(proc.stdout)["dvc_cache"] is None


def test_bad_project_dir_is_exit_2(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "mlops_ci", "runner", "doctor", "-C", str(tmp_path / "nope")],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 2 and "no such directory" in proc.stderr


def test_cache_of_a_dvc_project_in_a_subdirectory(tmp_path):
    project = tmp_path / "project"
    dvc_project(project / "ml")
    (project / ".mlops-ci.yml").write_text("project:\n  dvc_root: ml\n")
    proc = doctor(tmp_path, project=project, scenario="a100-x1")
    assert proc.returncode == 0, proc.stderr
    cache = json.loads(proc.stdout)["dvc_cache"]
    assert cache["path"] == str((project / "ml" / ".dvc" / "cache").resolve()) and cache["files"] == 1

    (project / ".mlops-ci.yml").write_text("project:\n  dvc_rot: ml\n")
    bad = doctor(tmp_path, project=project, scenario="a100-x1")
    assert bad.returncode == 2 and "did you mean 'dvc_root'" in bad.stderr


# -- the kernel log's Xid reports, and an nvidia-smi that even SIGKILL cannot stop -----------------

KERNEL_LOGS = FIXTURES.parent / "kernel-log"


def doctor_with_dmesg(tmp_path: Path, log: str, *args: str) -> subprocess.CompletedProcess[str]:
    path = fake_path(tmp_path, "t4-x4")
    shutil.copy(KERNEL_LOGS / "fake-dmesg", tmp_path / "bin" / "dmesg")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLOPS_CI_", "RUNNER_"))}
    env.update(PATH=path, FAKE_NVIDIA_SMI=str(FIXTURES / "t4-x4"), MLOPS_CI_OUT_DIR=str(tmp_path / "out"),
               FAKE_DMESG=log if log == "denied" else str(KERNEL_LOGS / log),
               GITHUB_ACTIONS="true", GITHUB_OUTPUT=str(tmp_path / "output"),
               GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"))
    (tmp_path / "project").mkdir(exist_ok=True)
    return subprocess.run([sys.executable, "-m", "mlops_ci", "runner", "doctor", "-C", str(tmp_path / "project"),
                           "--min-free-gb", "0", *args], env=env, capture_output=True, text=True, timeout=120)


def test_xid_errors_in_the_kernel_log_are_reported(tmp_path):
    proc = doctor_with_dmesg(tmp_path, "xid.txt", "--labels", "gpu")
    assert proc.returncode == 0, proc.stderr  # the GPUs answer now: a warning, not a failure
    data = json.loads(proc.stdout.split("\n::", 1)[0])
    assert [e["code"] for e in data["kernel_log"]["xid"]] == [13, 43, 79] and data["kernel_log"]["readable"]
    fatal = next(w for w in data["warnings"] if "Xid 79" in w)
    assert fatal.startswith("kernel log: the GPU at PCI:0000:3b:00 logged Xid 79 (the GPU has fallen off the bus)")
    assert fatal.endswith("it needs a reset (or the machine a reboot) before it can be trusted")
    assert any(w.startswith("kernel log: 2 other Xid error(s) since boot (Xid 13 × 1, Xid 43 × 1)")
               for w in data["warnings"])
    assert "::warning title=runner doctor::kernel log: the GPU at PCI:0000:3b:00 logged Xid 79" in proc.stdout
    assert "- **Kernel log**: 3 Xid error(s) since boot" in (tmp_path / "summary.md").read_text()


def test_an_unreadable_kernel_log_is_a_note_not_a_warning(tmp_path):
    proc = doctor_with_dmesg(tmp_path, "denied", "--labels", "gpu")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout.split("\n::", 1)[0])
    assert data["kernel_log"] == {"readable": False, "note": "dmesg: read kernel buffer failed: Operation not "
                                  "permitted", "xid": [], "uptime_s": data["kernel_log"]["uptime_s"]}
    assert data["warnings"] == []
    assert "- **Kernel log**: not readable (dmesg: read kernel buffer failed: Operation not permitted): Xid errors " \
           "not checked" in (tmp_path / "summary.md").read_text()
    (tmp_path / "cpu").mkdir()
    no_driver = doctor(tmp_path / "cpu", scenario=None)
    assert json.loads(no_driver.stdout)["kernel_log"] is None, "no NVIDIA driver: no Xid to look for"


class StuckInTheDriver:
    """An nvidia-smi in uninterruptible sleep: it ignores SIGKILL, so waiting for it never ends.

    No test can put a real process in that state (it takes a wedged GPU driver), so this stands in
    for `subprocess.Popen` with the two calls that block.
    """

    def __init__(self, *args, **kwargs):
        self.killed = False

    def communicate(self, timeout=None):
        raise subprocess.TimeoutExpired("nvidia-smi", timeout)

    def kill(self):
        self.killed = True

    def wait(self, timeout=None):
        if timeout is None:
            raise AssertionError("waited on an unkillable process without a timeout: the doctor would hang")
        raise subprocess.TimeoutExpired("nvidia-smi", timeout)


def test_nvidia_smi_stuck_in_the_driver_is_left_behind_not_waited_for():
    from mlops_ci.runners import nvidia

    text, code = nvidia._run("/usr/bin/nvidia-smi", ("--query-gpu=name",), {}, 0.1, popen=StuckInTheDriver)
    assert code is None
    assert text == ("nvidia-smi --query-gpu=name did not answer within 0 s (GPU or driver hung); it could not even "
                    "be killed (stuck in the driver): the GPU needs a reset or the machine a reboot")
