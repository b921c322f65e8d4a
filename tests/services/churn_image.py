"""The bundled churn example, trained once per session, and its serving image built once.

``churn_template``  a trained copy of examples/churn (data, model, holdout predictions) in a git repo,
                    with the build/deploy settings the docker tests use (free ports, short timeouts)
``churn_repo``      a fresh copy of it for one test (a :class:`tests.integration.dvcrepo.DvcRepo`)
``churn_image``     the image `mlops-ci build` made from it, pushed to the test registry:
                    ``.ref`` (repo@sha256:…), ``.repository``, ``.sha``, ``.outputs``, ``.root``
``retrain``         commit a retrained model (another learning rate) in a churn repository: a *different* model
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.dvcrepo import DvcRepo

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "churn"
MODEL = "churn-it"
#: Containers are named per pytest-xdist worker, so that tests on two workers (should the
#: "docker" xdist group not keep them on one) never stop each other's services.
SERVICE = f"{MODEL}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"


def free_port() -> int:
    """A free port for a *stable* service port, below the kernel's ephemeral range.

    A port the kernel hands out for ``bind(0)`` can be handed out again to any other
    process of the suite (a fake server, a test uvicorn) before the deploy publishes
    it; ports below ``ip_local_port_range`` are never given out that way.
    """
    try:
        low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.Random()
    for _ in range(200):
        port = rng.randint(max(1024, low - 12000), low - 1)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def deploy_settings(staging: int, production: int, health_timeout: int = 30) -> str:
    return f"""
mlflow:
  model_name: {MODEL}
build:
  sample: data/prepared/holdout.parquet
deploy:
  service: {SERVICE}
  health_timeout: {health_timeout}
  environments:
    staging: {{port: {staging}}}
    production: {{port: {production}}}
  smoke:
    id_column: customer_id
    max_rows: 150
"""


@pytest.fixture(scope="session")
def churn_template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("churn") / "repo"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("data", "models", "eval", ".mlops-ci",
                                                                  "__pycache__", "metrics.json"))
    repo = DvcRepo(root, root / ".stage-log")
    for cmd in (["src/generate.py", "--rows", "1200", "--seed", "5", "--out", "data/customers.csv"],
                ["src/prepare.py"], ["src/train.py"], ["src/evaluate.py"]):
        repo.sh(sys.executable, *cmd)
    # the test settings replace the example's own mlflow/build/deploy sections (a key twice is an error)
    import yaml

    config = yaml.safe_load((root / ".mlops-ci.yml").read_text(encoding="utf-8"))
    config.update(yaml.safe_load(deploy_settings(free_port(), free_port())))
    (root / ".mlops-ci.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    # The trained outputs are committed here so each copy is self-contained (no `dvc pull` needed).
    (root / ".gitignore").write_text(".mlops-ci/\n__pycache__/\n.stage-log\n")
    repo.sh("git", "init", "-q", "-b", "main")
    repo.commit("churn example, trained")
    return root


@pytest.fixture
def churn_repo(churn_template: Path, tmp_path: Path) -> DvcRepo:
    root = tmp_path / "churn"
    shutil.copytree(churn_template, root, symlinks=True)
    return DvcRepo(root, root / ".stage-log")


@dataclass
class BuiltImage:
    ref: str
    repository: str
    sha: str
    outputs: dict
    seconds: float
    root: Path  # the repository it was built from (its .mlops-ci/out/build.json)


def build(repo: DvcRepo, services, repository: str, *extra: str) -> subprocess.CompletedProcess:
    return repo.mlops("build", "--repository", repository, "--base-image", services.base_image, *extra,
                      env=services.env)


def outputs(repo: DvcRepo) -> dict:
    return json.loads((repo.root / ".mlops-ci" / "out" / "outputs.json").read_text())


@pytest.fixture(scope="session")
def churn_image(docker_engine, churn_template: Path, tmp_path_factory) -> BuiltImage:
    root = tmp_path_factory.mktemp("churn-build") / "repo"
    shutil.copytree(churn_template, root, symlinks=True)
    repo = DvcRepo(root, root / ".stage-log")
    repository = f"{docker_engine.registry}/{MODEL}"
    proc = build(repo, docker_engine, repository)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = outputs(repo)
    build_json = json.loads((root / ".mlops-ci" / "out" / "build.json").read_text())
    return BuiltImage(out["image-ref"], repository, repo.sh("git", "rev-parse", "HEAD").stdout.strip(), out,
                      build_json["seconds"], root)


def retrain(repo: DvcRepo, learning_rate: float = 0.3) -> str:
    """Train another model in ``repo`` (same data, another learning rate), evaluate it, commit; returns the SHA."""
    params = (repo.root / "params.yaml").read_text(encoding="utf-8")
    (repo.root / "params.yaml").write_text(params.replace("learning_rate: 0.1", f"learning_rate: {learning_rate}"),
                                           encoding="utf-8")
    for stage in ("src/train.py", "src/evaluate.py"):
        repo.sh(sys.executable, stage)
    return repo.commit(f"retrain with learning_rate {learning_rate}")
