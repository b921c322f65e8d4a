"""actions/setup, run by act: install once, reuse the cache, put mlops-ci on the PATH.

The cache is seeded with the dev venv (``<tool cache>/mlops-ci/<version>/venv`` -> .venv), so
no test pays for a real install, except ``test_real_install_from_source`` which is opt-in
(MLOPS_CI_E2E_REAL_INSTALL=1; about 10-20 s here with uv, everything downloaded from the index).
The reinstall paths (broken cache, concurrent jobs) run the real script, the real installer (the
pinned uv, fetched by pip with --require-hashes) and a real wheel build of mlops-ci, with one stand-in: the ``python`` input is a wrapper whose ``-m venv``
creates a venv that also sees the dev venv's site-packages, and ``pip-args: --no-deps`` -
so "installing" takes seconds instead of minutes.
"""

from __future__ import annotations

import json
import os
import re
import sys
import sysconfig
from pathlib import Path

import pytest

from mlops_ci import __version__
from tests.e2e.act_harness import CHECKOUT, DEV_VENV, REPO_ROOT, ActRunner

SETUP_WORKFLOW = f"""\
name: setup
on:
  push:
  workflow_dispatch:
permissions:
  contents: read
jobs:
  setup:
    runs-on: [self-hosted, gpu]
    steps:
      - uses: {CHECKOUT}  # v4.2.2
        with:
          persist-credentials: false
      - id: setup
        uses: ./actions/setup
      - id: version
        shell: bash
        run: |
          mlops-ci version --json | tee version.json
          echo "json=$(tr -d '\\n' < version.json)" >> "$GITHUB_OUTPUT"
          echo "which=$(command -v mlops-ci)" >> "$GITHUB_OUTPUT"
"""


def _setup_job(with_: dict[str, str], name: str = "setup") -> str:
    lines = "".join(f"          {k}: {json.dumps(v)}\n" for k, v in with_.items())
    return f"""\
  {name}:
    runs-on: ubuntu-latest
    steps:
      - uses: {CHECKOUT}  # v4.2.2
        with:
          persist-credentials: false
      - id: setup
        uses: ./actions/setup
        with:
{lines}      - id: run
        shell: bash
        run: mlops-ci version
"""


def _workflow(*jobs: str) -> str:
    return "on: push\npermissions:\n  contents: read\njobs:\n" + "".join(jobs)


def write_fake_python(directory: Path, real: Path | None = None) -> Path:
    """A `python3` for the setup action whose venvs see the dev venv's packages (see module doc).

    Every venv it creates is listed in ``<directory>/venvs-created``. ``real`` is the interpreter
    behind it (default: the one running the tests).
    """
    if real is None:
        real = Path(sys._base_executable if hasattr(sys, "_base_executable") else sys.executable)
    site_packages = sysconfig.get_paths()["purelib"]
    script = directory / "bin" / "python3"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(f"""#!/bin/bash
# test stand-in: `-m venv DIR` makes a real venv whose site-packages also sees the dev venv
if [ "$1" = -m ] && [ "$2" = venv ]; then
  "{real}" -m venv --without-pip "$3" || exit
  echo "import site; site.addsitedir('{site_packages}')" > "$3/lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages/_e2e_dev_venv.pth"
  echo "$3" >> "{directory}/venvs-created"
  exit 0
fi
exec "{real}" "$@"
""")
    script.chmod(0o755)
    return script


@pytest.fixture
def fake_python(tmp_path: Path) -> Path:
    """A `python` for the setup action whose venvs see the dev venv's packages (see module doc)."""
    return write_fake_python(tmp_path)


def test_setup_reuses_seeded_cache_and_puts_mlops_ci_on_path(seeded_runner: ActRunner, act_repo):
    repo = act_repo()
    result = seeded_runner.run(repo, SETUP_WORKFLOW).assert_ok()

    setup = result.step("setup")
    assert setup.outcome == "success"
    assert setup.outputs["version"] == __version__
    assert setup.outputs["cache-hit"] == "true"
    assert setup.outputs["python-path"] == str(DEV_VENV.resolve() / "bin" / "python")
    assert Path(setup.outputs["python-path"]).is_file()
    assert setup.paths == [str(DEV_VENV.resolve() / "bin")]
    assert setup.env["MLOPS_CI_SETUP_VERSION"] == __version__
    # versions in the log and in the job summary
    assert "cache-hit=true: reusing" in setup.log
    assert "mlops-ci setup: installing" not in setup.log
    assert f"mlops-ci {__version__}" in setup.log and "\ndvc " in setup.log
    assert f"### mlops-ci {__version__}" in setup.summary
    assert "| dvc |" in setup.summary and "| python |" in setup.summary
    assert result.job("setup").summary == setup.summary

    version = result.step("version")
    assert json.loads(version.outputs["json"]) == {"mlops-ci": __version__}
    assert version.outputs["which"] == str(DEV_VENV.resolve() / "bin" / "mlops-ci")
    assert result.annotations == []

    # a second run on the same runner reuses the cache again, and act runs take seconds
    again = seeded_runner.run(repo, SETUP_WORKFLOW, event="workflow_dispatch").assert_ok()
    assert again.step("setup").outputs["cache-hit"] == "true"
    assert "installing" not in again.step("setup").log
    assert again.duration_s < 60


def test_setup_twice_in_a_job_is_a_no_op(seeded_runner: ActRunner, act_repo):
    workflow = SETUP_WORKFLOW.replace(
        "      - id: version\n",
        "      - id: again\n        uses: ./actions/setup\n      - id: version\n")
    result = seeded_runner.run(act_repo(), workflow).assert_ok()
    again = result.step("again")
    assert "already set up in this job" in again.log
    assert again.outputs["version"] == __version__
    assert again.outputs["cache-hit"] == "true"
    assert again.summary == ""  # the versions table is written once per job
    assert result.step("setup").summary


def test_actions_that_set_up_themselves_reuse_the_jobs_setup(seeded_runner: ActRunner, act_repo):
    if not (REPO_ROOT / "action.yml").is_file():
        pytest.skip("no umbrella action.yml yet")
    workflow = SETUP_WORKFLOW.replace(
        "      - id: version\n",
        "      - id: umbrella\n        uses: ./\n        with:\n          command: version\n"
        "      - id: version\n")
    result = seeded_runner.run(act_repo(), workflow).assert_ok()
    umbrella = result.step("umbrella")
    assert "already set up in this job" in umbrella.log
    assert umbrella.outputs["version"] == __version__
    assert umbrella.log.rstrip().endswith(__version__)  # `mlops-ci version` ran


def test_broken_cache_is_reinstalled_then_reused(act_runner: ActRunner, act_repo, fake_python: Path,
                                                 tmp_path: Path):
    cache = tmp_path / "toolkit-cache"
    broken = cache / __version__ / "venv"  # a half-installed venv: interpreter there, no toolkit
    (broken / "bin").mkdir(parents=True)
    (broken / "bin" / "python").symlink_to(sys.executable)
    workflow = _workflow(_setup_job({"python": str(fake_python), "cache-dir": str(cache),
                                     "pip-args": "--no-deps"}))
    repo = act_repo()

    first = act_runner.run(repo, workflow, timeout=300).assert_ok()
    setup = first.step("setup")
    assert setup.outputs["cache-hit"] == "false"
    assert "reinstalling mlops-ci" in setup.log and "broken or incomplete" in setup.log
    assert broken.is_symlink() and broken.resolve().name.startswith("venv-")
    assert setup.outputs["venv-path"] == str(broken.resolve())
    assert (broken / ".mlops-ci-setup").read_text().startswith(f"version={__version__}\n")
    assert "installed" in setup.summary
    # the venv's own mlops-ci is what the next step runs
    assert first.step("run").log.strip() == __version__

    second = act_runner.run(repo, workflow, timeout=300).assert_ok()
    assert second.step("setup").outputs["cache-hit"] == "true"
    assert "installing" not in second.step("setup").log
    assert second.step("setup").outputs["venv-path"] == setup.outputs["venv-path"]
    assert len((tmp_path / "venvs-created").read_text().splitlines()) == 1
    built = Path(setup.outputs["venv-path"]).name
    assert sorted(p.name for p in (cache / __version__).iterdir() if p.name.startswith("venv-")) == \
        [built, f"{built}.manifest-sha256", f"{built}.uv-cache"]  # the venv, its manifest's digest, uv's cache
    assert "[3/4] installed" in setup.log and "with uv" in setup.log  # one line per phase

    # the same version from other sources (a moved @v1 tag): the venv built from the old ones is replaced
    stamp = Path(setup.outputs["venv-path"]) / ".mlops-ci-setup"
    assert re.search(r"^source=[0-9a-f]{16}$", stamp.read_text(), re.M)
    stamp.chmod(0o644)  # a built venv is read-only
    stamp.write_text(re.sub(r"^source=.*$", "source=0123456789abcdef", stamp.read_text(), flags=re.M))
    third = act_runner.run(repo, workflow, timeout=300).assert_ok()
    assert third.step("setup").outputs["cache-hit"] == "false"
    assert "was built from other mlops-ci sources" in third.step("setup").log
    assert third.step("setup").outputs["venv-path"] != setup.outputs["venv-path"]


def test_concurrent_jobs_install_once(act_runner: ActRunner, act_repo, fake_python: Path, tmp_path: Path):
    cache = tmp_path / "shared-cache"
    with_ = {"python": str(fake_python), "cache-dir": str(cache), "pip-args": "--no-deps"}
    workflow = _workflow(_setup_job(with_, "one"), _setup_job(with_, "two"))
    result = act_runner.run(act_repo(), workflow, timeout=300,
                            extra_args=["--concurrent-jobs", "2"]).assert_ok()

    steps = {j: result.step("setup", job=j) for j in ("one", "two")}
    hits = sorted(s.outputs["cache-hit"] for s in steps.values())
    assert hits == ["false", "true"], result.describe()
    [waiter] = [s for s in steps.values() if s.outputs["cache-hit"] == "true"]
    assert "another job is installing" in waiter.log  # it waited on the lock, then reused
    assert len((tmp_path / "venvs-created").read_text().splitlines()) == 1
    venvs = {result.step("setup", job=j).outputs["venv-path"] for j in ("one", "two")}
    assert len(venvs) == 1


def test_setup_reports_a_bad_interpreter(act_runner: ActRunner, act_repo, tmp_path: Path):
    workflow = _workflow(_setup_job({"python": "/nonexistent/python3", "cache-dir": str(tmp_path / "c")}))
    result = act_runner.run(act_repo(), workflow)
    assert not result.ok
    assert result.step("setup").outcome == "failure"
    assert result.step("run").outcome == "skipped"
    [error] = [a for a in result.annotations if a.level == "error"]
    assert error.title == "mlops-ci setup"
    assert "'/nonexistent/python3' not found" in error.message


def test_failed_install_leaves_no_debris(act_runner: ActRunner, act_repo, tmp_path: Path):
    cache = tmp_path / "cache"
    workflow = _workflow(_setup_job({"version": "99.0.0", "cache-dir": str(cache),
                                     "pip-args": "--no-index --find-links /nonexistent"}))
    result = act_runner.run(act_repo(), workflow, timeout=300)
    setup = result.step("setup")
    assert setup.outcome == "failure"
    assert "from the package index" in setup.log  # a version other than the checkout's
    assert "--find-links" not in setup.log  # pip-args are never echoed
    [error] = [a for a in result.annotations if a.level == "error"]
    assert "pip install of mlops-ci 99.0.0 failed" in error.message
    assert sorted(p.name for p in (cache / "99.0.0").iterdir()) == [".lock"]


@pytest.mark.skipif(os.environ.get("CI") != "true" and os.environ.get("MLOPS_CI_E2E_REAL_INSTALL") != "1",
                    reason="a real install takes about a minute; runs in CI, locally with MLOPS_CI_E2E_REAL_INSTALL=1")
def test_real_install_from_source(act_runner: ActRunner, act_repo):
    result = act_runner.run(act_repo(), SETUP_WORKFLOW, timeout=600).assert_ok()
    setup = result.step("setup")
    assert setup.outputs["cache-hit"] == "false"
    assert "installing mlops-ci" in setup.log
    assert Path(setup.outputs["venv-path"]).parent == act_runner.toolkit_cache / __version__
    assert json.loads(result.step("version").outputs["json"]) == {"mlops-ci": __version__}
    again = act_runner.run(act_repo(), SETUP_WORKFLOW, timeout=120).assert_ok()
    assert again.step("setup").outputs["cache-hit"] == "true"
