"""A command that needs an extra that is not installed: exit 2 and one line saying what to install.

The modules are made unimportable in the child process (``sys.modules[name] = None``, which is what
Python reports as ModuleNotFoundError), the rest is the real CLI on a real DVC repository.
(tests/integration/test_packaged_demo.py does the same for the demo with a wheel really installed
without its extras.)
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration

BLOCK = "import sys\nfor name in sys.argv[1].split(','):\n    sys.modules[name] = None\n" \
        "from mlops_ci.cli import main\nsys.exit(main(sys.argv[2:]))\n"


def without(repo, modules: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCK, modules, *args], cwd=repo.root,
                          env={**repo.env, **(env or {})}, capture_output=True, text=True, timeout=300)


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.fixture
def trained(dvc_repo, tmp_path):
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.8}))
    dvc_repo.write(".mlops-ci.yml", "gate:\n  rules:\n    - metric: auc\n      direction: higher\n      min: 0.5\n")
    dvc_repo.commit("trained")
    return dvc_repo, {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}


def test_gate_reading_an_mlflow_champion_without_mlflow(trained):
    repo, env = trained
    line = one_line(without(repo, "mlflow", "gate", env=env))
    assert "needs 'mlflow', which is not installed" in line and 'pip install "mlops-ci[mlflow]"' in line
    # fail closed: the verdict on record is a failure, never a pass
    verdict = json.loads((repo.root / ".mlops-ci" / "out" / "gate.json").read_text())
    assert verdict["conclusion"] == "failure"


@pytest.mark.parametrize(("modules", "args", "extra"), [
    ("mlflow", ("register",), "mlflow"),
    ("mlflow", ("promote",), "mlflow"),
    ("docker", ("build",), "docker"),
    ("sklearn,mlflow", ("demo",), "example,mlflow"),
    ("sklearn", ("demo",), "example"),
])
def test_every_command_names_the_extra(trained, tmp_path, modules, args, extra):
    repo, env = trained
    if args == ("demo",):
        args = ("demo", "--workdir", str(tmp_path / "demo"))
    line = one_line(without(repo, modules, *args, env=env))
    assert line.startswith("mlops-ci: error: ") and f'pip install "mlops-ci[{extra}]"' in line, line
    assert not (tmp_path / "demo").exists()
