"""Small real DVC projects in temp git repos, for integration tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "DVC_NO_ANALYTICS": "1"}

PIPELINE = """\
stages:
  prepare:
    cmd: python prepare.py
    deps: [prepare.py, data.csv]
    params: [prepare.scale]
    outs: [prepared.csv]
  train:
    cmd: python train.py
    deps: [train.py, prepared.csv]
    params: [train.bias]
    outs: [model.txt]
  evaluate:
    cmd: python evaluate.py
    deps: [evaluate.py, model.txt]
    params: [train.bias]
    metrics:
    - metrics.json:
        cache: false
"""

PREPARE = """\
import os, yaml
scale = yaml.safe_load(open("params.yaml"))["prepare"]["scale"]
rows = [float(x) * scale for x in open("data.csv").read().split()]
open("prepared.csv", "w").write("\\n".join(map(str, rows)))
open(os.environ["STAGE_LOG"], "a").write("prepare\\n")
"""

TRAIN = """\
import os, yaml
if os.environ.get("FAIL_TRAIN"):
    raise SystemExit("training diverged")
bias = yaml.safe_load(open("params.yaml"))["train"]["bias"]
rows = [float(x) for x in open("prepared.csv").read().split()]
open("model.txt", "w").write(str(sum(rows) / len(rows) + bias))
open(os.environ["STAGE_LOG"], "a").write("train\\n")
"""

EVALUATE = """\
import json, os, yaml
bias = yaml.safe_load(open("params.yaml"))["train"]["bias"]
mean = float(open("model.txt").read())
json.dump({"auc": round(0.5 + bias, 4), "loss": round(1 / (1 + mean), 4), "nested": {"f1": 0.5}},
          open("metrics.json", "w"))
open(os.environ["STAGE_LOG"], "a").write("evaluate\\n")
"""


class DvcRepo:
    def __init__(self, root: Path, log: Path) -> None:
        self.root = root
        self.log = log
        self.env = {**os.environ, **GIT_ENV, "STAGE_LOG": str(log),
                    "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        for key in list(self.env):
            if key.startswith(("GITHUB_", "MLOPS_CI_")):
                del self.env[key]

    def sh(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(list(args), cwd=self.root, env=self.env, capture_output=True, text=True)
        if check and proc.returncode != 0:
            raise AssertionError(f"{args} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def dvc(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.sh(sys.executable, "-m", "dvc", *args)

    def mlops(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "mlops_ci", *args], cwd=self.root,
                              env={**self.env, **(env or {})}, capture_output=True, text=True)
        return proc

    def write(self, path: str, text: str) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))

    def commit(self, message: str) -> str:
        self.sh("git", "add", "--all")
        self.sh("git", "commit", "-q", "--allow-empty", "-m", message)
        return self.sh("git", "rev-parse", "HEAD").stdout.strip()

    def stages_run(self) -> list[str]:
        return self.log.read_text().split() if self.log.exists() else []

    def metrics(self) -> dict:
        return json.loads((self.root / "metrics.json").read_text())


def make_repo(root: Path, remote: Path | None, log: Path) -> DvcRepo:
    root.mkdir(parents=True, exist_ok=True)
    repo = DvcRepo(root, log)
    repo.sh("git", "init", "-q", "-b", "main")
    repo.dvc("init", "-q")
    if remote is not None:
        remote.mkdir(parents=True, exist_ok=True)
        repo.dvc("remote", "add", "-d", "storage", str(remote))
    repo.write("dvc.yaml", PIPELINE)
    repo.write("params.yaml", "prepare:\n  scale: 2.0\ntrain:\n  bias: 0.25\n")
    repo.write("prepare.py", PREPARE)
    repo.write("train.py", TRAIN)
    repo.write("evaluate.py", EVALUATE)
    repo.write("data.csv", "1\n2\n3\n4\n")
    repo.write(".gitignore", ".mlops-ci/\n")
    repo.commit("pipeline")
    return repo
