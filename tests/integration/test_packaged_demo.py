"""The newcomer's path, with no checkout: build the wheel, install it into a fresh venv, run the demo.

`pip install "mlops-ci[all]"` then `mlops-ci demo` must work from any directory: the example ships
inside the wheel. Before the extras are installed, the demo stops at once with one line naming
what to install. After the demo, `mlops-ci repro` in the demo's directory runs the stages with the
venv's interpreter although the venv is not on PATH, and ends with its stage table.

Installs use the pinned uv (actions/setup/get-uv.sh) with the package index and the versions of
requirements.lock; uv's cache lives in the clone's .cache/uv, so later runs download nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "requirements.lock", "mlops-ci.schema.json", "mlops_ci", "examples")


def _run(cmd: list[str], *, env: dict[str, str], cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    """(uv, wheel, a fresh venv with mlops-ci and no extras, the uv environment)."""
    base = tmp_path_factory.mktemp("packaged")
    got = subprocess.run(["bash", str(ROOT / "actions" / "setup" / "get-uv.sh"), str(ROOT / ".cache" / "tools"),
                          str(base), sys.executable], capture_output=True, text=True, timeout=600)
    assert got.returncode == 0, got.stderr
    uv = got.stdout.strip()
    uv_env = {**os.environ, "UV_CACHE_DIR": str(ROOT / ".cache" / "uv"), "UV_NO_CONFIG": "1",
              "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1"}
    uv_env.pop("VIRTUAL_ENV", None)

    src = base / "src"  # a copy: building must not write build/ or *.egg-info into the working tree
    src.mkdir()
    for item in SOURCES:
        if (ROOT / item).is_dir():
            shutil.copytree(ROOT / item, src / item, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / item, src / item, follow_symlinks=False)
    built = _run([uv, "build", "--wheel", "--out-dir", str(base / "dist"), str(src)], env=uv_env, cwd=base)
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (base / "dist").glob("mlops_ci-*.whl")

    venv = base / "venv"
    python = Path(getattr(sys, "_base_executable", sys.executable))
    subprocess.run([str(python), "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    core = _run([uv, "pip", "install", "--python", str(venv / "bin" / "python"), "-c", str(ROOT / "requirements.lock"),
                 str(wheel)], env=uv_env, cwd=base)
    assert core.returncode == 0, core.stderr[-3000:]
    return uv, wheel, venv, uv_env


def newcomer_env(home: Path) -> dict[str, str]:
    """A shell without the venv on PATH and without anything of this checkout."""
    home.mkdir(exist_ok=True)
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}


def test_wheel_ships_the_example_and_the_schema(packaged):
    _, wheel, venv, _ = packaged
    site = next((venv / "lib").glob("python3*/site-packages"))
    example = site / "mlops_ci" / "examples" / "churn"
    for name in ("dvc.yaml", "params.yaml", "demo.yml", ".mlops-ci.yml", "src/train.py", "src/generate.py"):
        assert (example / name).is_file(), name
    assert not (example.parent / "gpu-shapes").exists()  # only what the demo needs
    link = (example / ".mlops-ci.yml").read_text().splitlines()[0].split("$schema=", 1)[1]
    schema = Path(os.path.normpath(example / link))
    assert schema == site / "mlops_ci" / "mlops-ci.schema.json" and not schema.is_symlink()
    assert json.loads(schema.read_text()) == json.loads((ROOT / "mlops-ci.schema.json").read_text())


def test_missing_extras_then_demo_then_repro_without_a_checkout(packaged, tmp_path):
    uv, wheel, venv, uv_env = packaged
    mlops = str(venv / "bin" / "mlops-ci")
    env = newcomer_env(tmp_path / "home")

    # the core alone: --help works, the demo says in one line what to install, and creates nothing
    assert _run([mlops, "--help"], env=env, cwd=tmp_path).returncode == 0
    proc = _run([mlops, "demo", "--workdir", str(tmp_path / "too-early")], env=env, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip().count("\n") == 0, proc.stderr
    assert 'pip install "mlops-ci[example,mlflow]"' in proc.stderr and "'scikit-learn'" in proc.stderr
    assert not (tmp_path / "too-early").exists()

    installed = _run([uv, "pip", "install", "--python", str(venv / "bin" / "python"),
                      "-c", str(ROOT / "requirements.lock"), f"{wheel}[all]"], env=uv_env, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr[-3000:]

    workdir = tmp_path / "demo"
    proc = _run([mlops, "demo", "--workdir", str(workdir)], env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = workdir / ".mlops-ci" / "out"
    assert proc.stdout.strip().splitlines()[-1] == str(out)
    assert json.loads((out / "gate.json").read_text())["conclusion"] == "success"
    assert (out / "comment.md").read_text().startswith("<!-- mlops-ci:report id=local/report -->")
    # the copied example's $schema link names the schema file that shipped with the package
    link = (workdir / ".mlops-ci.yml").read_text().splitlines()[0].split("$schema=", 1)[1]
    assert Path(unquote(urlparse(link).path)).is_file()

    # `repro` in the demo's directory, by the venv's full path (its bin/ is not on PATH): the stages'
    # `python` is the venv's, which has scikit-learn; it ends with the stage table and names repro.json
    assert shutil.which("python", path=env["PATH"]) is None or _run(
        ["python", "-c", "import sklearn"], env=env, cwd=tmp_path).returncode != 0
    proc = _run([mlops, "repro", "--force", "--no-pull", "--no-push"], env=env, cwd=workdir)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    tail = proc.stdout.strip().splitlines()[-6:]
    assert tail[0].split() == ["stage", "status", "time"]
    assert [line.split()[:2] for line in tail[1:4]] == [["prepare", "ran"], ["train", "ran"], ["evaluate", "ran"]]
    assert tail[4].split()[:2] == ["total", "ok"]
    assert tail[5] == f"repro.json: {out / 'repro.json'}"
