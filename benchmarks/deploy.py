"""Serving image and deploy benchmarks: image size vs `mlflow models build-docker`, build cold/warm,
deploy-to-healthy, rollback.

    bash scripts/docker-services.sh        # dockerd + registry (prints DOCKER_HOST=…)
    DOCKER_HOST=… .venv/bin/python benchmarks/deploy.py [--skip-mlflow]

One trained copy of examples/churn (1,200 rows, HistGradientBoosting) is built with `mlops-ci build`
on the locally built slim base (scripts/base-image.sh). The peer is MLflow's own image for the same
model directory: `mlflow models generate-dockerfile` writes the Dockerfile `build-docker` would
build (FROM python:<ver>-slim, nginx, `pip install mlflow`, the model's requirements); no public
registry is reachable here, so its base is a local stand-in for python:3.11-slim (Debian bookworm
minbase + python3 + pip) and the size of that stand-in is reported separately, so the figure for
MLflow's own layers does not depend on it. Results go to benchmarks/.work/deploy.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORK = ROOT / "benchmarks" / ".work" / "deploy"
PY = sys.executable
MB = 1_000_000


def sh(*cmd: str, cwd: Path | None = None, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(cmd), cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def timed(*cmd: str, cwd: Path, env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = sh(*cmd, cwd=cwd, env=env)
    return time.perf_counter() - start, proc


def project(registry: str, staging: int, production: int) -> Path:
    from tests.integration.dvcrepo import DvcRepo
    from tests.services.churn_image import EXAMPLE, deploy_settings

    root = WORK / "churn"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("data", "models", "eval", ".mlops-ci", "__pycache__"))
    repo = DvcRepo(root, root / ".log")
    for cmd in (["src/generate.py", "--rows", "1200", "--seed", "5", "--out", "data/customers.csv"],
                ["src/prepare.py"], ["src/train.py"], ["src/evaluate.py"]):
        repo.sh(PY, *cmd)
    with open(root / ".mlops-ci.yml", "a", encoding="utf-8") as fh:
        fh.write(deploy_settings(staging, production, health_timeout=60))
    (root / ".gitignore").write_text(".mlops-ci/\n__pycache__/\n.log\n")
    repo.sh("git", "init", "-q", "-b", "main")
    repo.commit("bench")
    return root


def outputs(root: Path) -> dict:
    return json.loads((root / ".mlops-ci" / "out" / "outputs.json").read_text())


def image_size(client, ref: str) -> int:
    return int(client.images.get(ref).attrs["Size"])


def mlflow_stand_in_base(client, tag: str) -> str:
    """python:3.11-slim is not reachable here: Debian minbase + python3 + pip, with this host's CA bundle."""
    try:
        client.images.get(tag)
        return tag
    except Exception:  # noqa: BLE001 - docker.errors.ImageNotFound
        pass
    sources = next((p for p in ("/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list")
                    if Path(p).is_file()), None)
    with tempfile.TemporaryDirectory() as tmp:
        tar = Path(tmp) / "rootfs.tar"
        sh("mmdebstrap", "--quiet", "--variant=minbase", "--include=python3,python3-pip,python3-venv,ca-certificates",
           "--format=tar", "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
           "--customize-hook=ln -sf /usr/bin/python3 \"$1\"/usr/local/bin/python",
           "--customize-hook=cp /etc/ssl/certs/ca-certificates.crt \"$1\"/etc/ssl/certs/ca-certificates.crt",
           "bookworm", str(tar), *([sources] if sources else []))
        sh("docker", "import", "--change", "ENV PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore",
           "--change", "ENV PATH=/usr/local/bin:/usr/bin:/bin", str(tar), tag)
    return tag


def mlflow_image(client, model_file: Path, base: str) -> dict:
    """Build the Dockerfile MLflow generates for the same model, on the stand-in base, with host networking."""
    from mlops_ci.registry_model import DEFAULT_REQUIREMENTS, pinned, write_sklearn_model

    out = WORK / "mlflow"
    shutil.rmtree(out, ignore_errors=True)
    model_dir = write_sklearn_model(model_file, out / "model", pinned(DEFAULT_REQUIREMENTS))
    sh(str(Path(PY).parent / "mlflow"), "models", "generate-dockerfile", "-m", str(model_dir), "-d",
       str(out / "context"), "--env-manager", "local", env={"MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"})
    dockerfile = (out / "context" / "Dockerfile").read_text()
    first = dockerfile.splitlines()[[ln.startswith("FROM ") for ln in dockerfile.splitlines()].index(True)]
    (out / "context" / "Dockerfile").write_text(dockerfile.replace(first, f"FROM {base}", 1))
    hosts = {}
    for line in Path("/etc/hosts").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.startswith("#") and not parts[0].startswith("127."):
            hosts.update({name: parts[0] for name in parts[1:]})
    start = time.perf_counter()
    image, _ = client.images.build(path=str(out / "context"), tag="bench/mlflow-build-docker:latest",
                                   network_mode="host", extra_hosts=hosts or None, rm=True, forcerm=True)
    seconds = time.perf_counter() - start
    return {"size": int(image.attrs["Size"]), "build_s": seconds, "replaced_from": first}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-mlflow", action="store_true")
    args = parser.parse_args()
    import docker

    from tests.services.churn_image import free_port

    WORK.mkdir(parents=True, exist_ok=True)
    client = docker.from_env(timeout=900)
    base = sh("bash", str(ROOT / "scripts" / "base-image.sh")).stdout.strip().splitlines()[-1]
    registry = os.environ.get("MLOPS_CI_REGISTRY_ADDR", "127.0.0.1:5000")
    root = project(registry, free_port(), free_port())
    cli = [PY, "-m", "mlops_ci"]
    repository = f"{registry}/bench-churn"
    env = {"MLOPS_CI_DEBUG": ""}
    results: dict = {"base_image": base, "base_size": image_size(client, base)}

    cold_s, _ = timed(*cli, "build", "--repository", repository, "--base-image", base, "--no-cache", cwd=root, env=env)
    first = outputs(root)["image-ref"]
    warm_s, _ = timed(*cli, "build", "--repository", repository, "--base-image", base, "--tag", "warm", cwd=root,
                      env=env)
    second = outputs(root)["image-ref"]
    results.update(build_cold_s=round(cold_s, 1), build_warm_s=round(warm_s, 1),
                   image_size=image_size(client, first))

    for name in ("bench-churn-staging", "bench-churn-staging-previous", "churn-it-staging", "churn-it-staging-previous"):
        try:
            client.containers.get(name).remove(force=True)
        except docker.errors.NotFound:
            pass
    first_deploy_s, _ = timed(*cli, "deploy", "-e", "staging", "--image", first, cwd=root)
    deploy_s, _ = timed(*cli, "deploy", "-e", "staging", "--image", second, cwd=root)
    timings = json.loads((root / ".mlops-ci" / "out" / "deploy-staging.json").read_text())["timings"]
    rollback_s, _ = timed(*cli, "rollback", "-e", "staging", "--no-smoke", cwd=root)
    rb = json.loads((root / ".mlops-ci" / "out" / "deploy-staging.json").read_text())["timings"]
    results.update(first_deploy_s=round(first_deploy_s, 2), deploy_s=round(deploy_s, 2), deploy_timings=timings,
                   rollback_s=round(rollback_s, 2), rollback_timings=rb)
    for name in ("churn-it-staging", "churn-it-staging-previous"):
        try:
            client.containers.get(name).remove(force=True)
        except docker.errors.NotFound:
            pass

    if not args.skip_mlflow:
        stand_in = mlflow_stand_in_base(client, "bench/python-slim-stand-in:3.11")
        peer = mlflow_image(client, root / "models" / "model.pkl", stand_in)
        results["mlflow"] = {**peer, "stand_in_base_size": image_size(client, stand_in)}
    (WORK / "deploy.json").write_text(json.dumps(results, indent=2) + "\n")

    print(f"base image {results['base_size'] / MB:.0f} MB; our image {results['image_size'] / MB:.0f} MB")
    print(f"build cold {cold_s:.1f} s (no layer cache, wheels cached on the host), warm {warm_s:.1f} s")
    print(f"deploy to healthy (candidate + smoke + switch) {deploy_s:.2f} s wall; target timings {timings}")
    print(f"rollback {rollback_s:.2f} s wall; target timings {rb}")
    if "mlflow" in results:
        m = results["mlflow"]
        own = m["size"] - m["stand_in_base_size"]
        print(f"mlflow image {m['size'] / MB:.0f} MB on a {m['stand_in_base_size'] / MB:.0f} MB stand-in base "
              f"({own / MB:.0f} MB of its own layers), built in {m['build_s']:.0f} s; "
              f"ratio ours/mlflow {results['image_size'] / m['size']:.2f}")


if __name__ == "__main__":
    main()
