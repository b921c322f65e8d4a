"""The README's main-job command on a fresh checkout: `bash scripts/demo.sh` creates its own venv.

The suite otherwise runs in the `dev` venv, which has every extra installed; this is the one
test that proves the runtime profile the README promises is enough for the main job.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def fresh_checkout(dst: Path) -> Path:
    """The repository's files as a clone would have them: tracked and not-ignored, no .venv."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        src = ROOT / name
        if src.is_symlink():  # as git checks links out (mlops_ci/examples -> ../examples)
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.readlink(src), dst / name)
        elif src.is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / name, follow_symlinks=False)
    return dst


@pytest.mark.skipif(os.environ.get("CI") != "true" and os.environ.get("MLOPS_CI_E2E_REAL_INSTALL") != "1",
                    reason="a real install takes about a minute; runs in CI, locally with MLOPS_CI_E2E_REAL_INSTALL=1")
def test_demo_script_on_a_fresh_checkout(tmp_path):
    checkout = fresh_checkout(tmp_path / "checkout")
    workdir = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITHUB_", "MLOPS_CI_", "MLFLOW_", "VIRTUAL_ENV", "PYTHON"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if "/.venv/" not in p + "/")
    proc = subprocess.run(["bash", "scripts/demo.sh", "--workdir", str(workdir)], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    out = workdir / ".mlops-ci" / "out"
    assert proc.stdout.strip().splitlines()[-1] == str(out)
    comment = (out / "comment.md").read_text()
    assert comment.startswith("<!-- mlops-ci:report id=local/report -->\n## ")
    assert "Gate" in comment and "Data drift and contracts" in comment and "| train |" in comment
    assert (checkout / ".venv" / ".installed-runtime").is_file()
