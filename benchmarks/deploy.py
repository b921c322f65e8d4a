"""Serving image and deploy benchmarks, side by side with the peers, in one run.

    eval "$(bash scripts/docker-services.sh | sed 's/^/export /')"   # this clone's dockerd + registry
    .venv/bin/python benchmarks/deploy.py [--skip-mlflow] [--skip-mlflow-dockerfile]

One trained copy of examples/churn (1,200 rows, HistGradientBoosting in a ColumnTransformer pipeline),
built on the locally built slim base (scripts/base-image.sh), measured in the same run:

- image size: mlops-ci's ONNX image (the default for this model), the same model served from the
  pickle (`build.runtime: sklearn`), what each venv holds (the largest packages), and two MLflow peers:
  *like for like* — the same base, the same two-stage pip-from-wheel method (test suites pruned, and
  also without pruning), MLflow 3 + the model's requirements, `mlflow models serve` as entrypoint,
  checked to serve — and MLflow's own `generate-dockerfile` (what `build-docker` builds) on a local
  stand-in for python:3.11-slim (no public image registry is reachable here);
- build cold / warm;
- deploy to healthy, replace, rollback (with parity), each with a client calling /predict 20 times a
  second on the stable port through the switch: requests failed, longest gap; side by side with the
  switch the docker target did before the front proxy (stop the old container, start the new one on
  the same port) on the same images;
- fail fast: a crash-looping image (time to the verdict), a container that fails after the switch
  (time from the switch to the automatic rollback);
- the front proxy's cost: /predict latency through it vs straight to the container.

Results go to benchmarks/.work/deploy/deploy.json; `uptime` before and after is recorded there.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
WORK = ROOT / "benchmarks" / ".work" / "deploy"
PY = sys.executable
MB = 1_000_000
SERVICE = "bench-churn"


def sh(*cmd: str, cwd: Path | None = None, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(cmd), cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise SystemExit(f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def timed(*cmd: str, cwd: Path, env: dict | None = None, check: bool = True) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = sh(*cmd, cwd=cwd, env=env, check=check)
    return time.perf_counter() - start, proc


def uptime() -> str:
    return sh("uptime").stdout.strip()


def project(staging: int, production: int) -> Path:
    import yaml

    from tests.integration.dvcrepo import DvcRepo
    from tests.services.churn_image import EXAMPLE, deploy_settings

    root = WORK / "churn"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("data", "models", "eval", ".mlops-ci", "__pycache__",
                                                                 "metrics.json"))
    repo = DvcRepo(root, root / ".log")
    for cmd in (["src/generate.py", "--rows", "1200", "--seed", "5", "--out", "data/customers.csv"],
                ["src/prepare.py"], ["src/train.py"], ["src/evaluate.py"]):
        repo.sh(PY, *cmd)
    config = yaml.safe_load((root / ".mlops-ci.yml").read_text(encoding="utf-8"))
    config.update(yaml.safe_load(deploy_settings(staging, production, health_timeout=120)))  # sections replaced
    config["deploy"]["service"] = SERVICE
    (root / ".mlops-ci.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    (root / ".gitignore").write_text(".mlops-ci/\n__pycache__/\n.log\n")
    repo.sh("git", "init", "-q", "-b", "main")
    repo.commit("bench")
    return root


def outputs(root: Path) -> dict:
    return json.loads((root / ".mlops-ci" / "out" / "outputs.json").read_text())


def deploy_json(root: Path, env: str = "staging") -> dict:
    return json.loads((root / ".mlops-ci" / "out" / f"deploy-{env}.json").read_text())


def cleanup(client) -> None:
    """Everything this benchmark starts is named bench-* (containers, the environment networks)."""
    import docker

    for c in client.containers.list(all=True):
        if c.name.startswith("bench-"):
            c.remove(force=True)
    for n in client.networks.list():
        if n.name.startswith("bench-"):
            try:
                n.remove()
            except docker.errors.APIError:
                pass


def site_packages(client, image: str, top: int = 8) -> dict:
    """What the image's venv holds: total and the largest top-level entries (MB, as `du` counts)."""
    script = ("import os, sys, json\n"
              "root = [p for p in sys.path if p.endswith('site-packages')][0]\n"
              "def size(p):\n"
              "    if os.path.isfile(p): return os.path.getsize(p)\n"
              "    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(p) for f in fs)\n"
              "sizes = {n: size(os.path.join(root, n)) for n in os.listdir(root)}\n"
              "print(json.dumps(sizes))\n")
    out = client.containers.run(image, ["-c", script], entrypoint=["python"], remove=True, network_disabled=True)
    sizes = json.loads(out)
    grouped: dict[str, int] = {}
    for name, value in sizes.items():
        key = name.split("-")[0].split(".")[0] if name.endswith((".dist-info", ".libs")) else name
        key = key.removesuffix(".py").lower().replace("_", "-") if not key.startswith("_") else key
        grouped[key] = grouped.get(key, 0) + value
    largest = sorted(grouped.items(), key=lambda kv: -kv[1])[:top]
    return {"total_mb": round(sum(sizes.values()) / MB, 1), "largest_mb": {k: round(v / MB, 1) for k, v in largest}}


class Probe(threading.Thread):
    """A client calling /predict on ``url`` 20 times a second over one keep-alive connection."""

    def __init__(self, url: str, row: dict) -> None:
        super().__init__(daemon=True)
        self.url, self.row = url, row
        self.ok = 0
        self.failed: list[tuple[float, str]] = []
        self.latencies: list[float] = []
        self.last_ok = self.first_fail = None
        self.longest_gap = 0.0
        self.halt = threading.Event()

    def run(self) -> None:
        import requests

        session = requests.Session()
        previous_ok = None
        while not self.halt.is_set():
            started = time.monotonic()
            try:
                resp = session.post(f"{self.url}/predict", json={"instances": [self.row]}, timeout=5)
                good = resp.status_code == 200
                why = f"HTTP {resp.status_code}"
            except requests.RequestException as exc:
                good, why = False, exc.__class__.__name__
                session = requests.Session()
            now = time.monotonic()
            if good:
                self.ok += 1
                self.latencies.append(now - started)
                if previous_ok is not None:
                    self.longest_gap = max(self.longest_gap, now - previous_ok)
                previous_ok = now
            else:
                self.failed.append((now, why))
            self.halt.wait(max(0.0, 0.05 - (time.monotonic() - started)))

    def stop(self) -> dict:
        self.halt.set()
        self.join(10)
        kinds: dict[str, int] = {}
        for _, why in self.failed:
            kinds[why] = kinds.get(why, 0) + 1
        lat = sorted(self.latencies) or [0.0]
        return {"requests": self.ok + len(self.failed), "failed": len(self.failed), "failures": kinds,
                "longest_gap_s": round(self.longest_gap, 3),
                "p50_ms": round(lat[len(lat) // 2] * 1000, 1), "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 1),
                "max_ms": round(lat[-1] * 1000, 1)}


def one_row(root: Path, url: str) -> dict:
    import pandas as pd
    import requests

    fields = [f["name"] for f in requests.get(f"{url}/schema", timeout=10).json()["fields"]]
    row = pd.read_parquet(root / "data" / "prepared" / "holdout.parquet")[fields].iloc[0].to_dict()
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}


def with_probe(url: str, row: dict, action) -> tuple[object, dict]:
    probe = Probe(url, row)
    probe.start()
    time.sleep(1.0)
    try:
        result = action()
    finally:
        time.sleep(1.0)
        stats = probe.stop()
    return result, stats


def stop_start_switch(client, old: str, new: str, port: int, row: dict) -> dict:
    """The switch before the front proxy, as the docker target did it: stop the old container, start the new
    one on the same port, wait for /health; measured with the same client."""
    from mlops_ci.adapters.service_http import wait_healthy

    name = f"{SERVICE}-stopstart"
    for n in (name, f"{name}-old"):
        try:
            client.containers.get(n).remove(force=True)
        except Exception:  # noqa: BLE001 - docker.errors.NotFound
            pass
    client.containers.run(old, name=name, detach=True, ports={"8080/tcp": ("127.0.0.1", port)})
    url = f"http://127.0.0.1:{port}"
    assert wait_healthy(url, 120).ok

    def switch() -> float:
        started = time.monotonic()
        c = client.containers.get(name)
        c.stop(timeout=10)
        c.rename(f"{name}-old")
        client.containers.run(new, name=name, detach=True, ports={"8080/tcp": ("127.0.0.1", port)})
        wait_healthy(url, 120)
        return time.monotonic() - started

    seconds, stats = with_probe(url, row, switch)
    for n in (name, f"{name}-old"):
        client.containers.get(n).remove(force=True)
    return {"switch_s": round(seconds, 2), **stats}


def proxy_overhead(root: Path, url: str, backend_port: int, row: dict, n: int = 300) -> dict:
    import requests

    def median_ms(target: str) -> float:
        session = requests.Session()
        for _ in range(20):
            session.post(f"{target}/predict", json={"instances": [row]}, timeout=5)
        samples = []
        for _ in range(n):
            started = time.perf_counter()
            session.post(f"{target}/predict", json={"instances": [row]}, timeout=5)
            samples.append(time.perf_counter() - started)
        return round(statistics.median(samples) * 1000, 2)

    direct = median_ms(f"http://127.0.0.1:{backend_port}")
    proxied = median_ms(url)
    return {"direct_p50_ms": direct, "proxied_p50_ms": proxied, "requests_each": n}


def custom_image(root: Path, registry: str, base: str, name: str, dockerfile: str) -> str:
    (root / name).mkdir(exist_ok=True)
    (root / name / "Dockerfile").write_text(dockerfile)
    sh(PY, "-m", "mlops_ci", "build", "--repository", f"{registry}/bench-churn-{name}", "--base-image", base,
       "--dockerfile", f"{name}/Dockerfile", cwd=root)
    return outputs(root)["image-ref"]


FLAKY = """\
import http.server, json, socket, struct
def gateway():
    for line in open("/proc/net/route").read().splitlines()[1:]:
        parts = line.split()
        if parts[1] == "00000000":
            return socket.inet_ntoa(struct.pack("<L", int(parts[2], 16)))
GATEWAY, broken = gateway(), []
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def _answer(self):
        if self.client_address[0] not in (GATEWAY, "127.0.0.1"):
            broken.append(1)
        status = 500 if broken else 200
        body = json.dumps({"status": "ok" if status == 200 else "broken"}).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        self._answer()
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer()
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
"""


def fail_fast(root: Path, registry: str, base: str, good: str, url: str, row: dict) -> dict:
    crash = custom_image(root, registry, base, "crash",
                         f'FROM {good}\nENTRYPOINT ["python", "-c", "import sys; sys.exit(3)"]\n')
    crash_s, proc = timed(PY, "-m", "mlops_ci", "deploy", "-e", "staging", "--image", crash, cwd=root, check=False)
    crash_result = deploy_json(root)
    (root / "flaky").mkdir(exist_ok=True)
    (root / "flaky" / "serve.py").write_text(FLAKY)
    flaky = custom_image(root, registry, base, "flaky",
                         f'FROM {good}\nCOPY flaky/serve.py /opt/flaky.py\nENTRYPOINT ["python", "/opt/flaky.py"]\n')
    (flaky_s, flaky_proc), stats = with_probe(url, row, lambda: timed(
        PY, "-m", "mlops_ci", "deploy", "-e", "staging", "--image", flaky, "--no-smoke", cwd=root, check=False))
    flaky_result = deploy_json(root)
    t = flaky_result["timings"]
    return {"crash_loop": {"rc": proc.returncode, "wall_s": round(crash_s, 2), "reason": crash_result["reason"],
                           "candidate_verdict_s": crash_result["timings"].get("candidate_healthy_s")},
            "post_switch_failure": {"rc": flaky_proc.returncode, "wall_s": round(flaky_s, 2),
                                    "reason": flaky_result["reason"],
                                    "switch_to_rollback_s": round(t.get("watch_s", 0) + t.get("rollback_s", 0), 2),
                                    "probe": stats}}


MLFLOW_DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE} AS deps
COPY wheels/ /tmp/wheels/
RUN ["python3", "-m", "venv", "--without-pip", "/opt/venv"]
RUN ["/opt/venv/bin/python", "/tmp/wheels/PIPWHEEL/pip", "install", "--no-index", "--find-links", "/tmp/wheels", \
     "--no-cache-dir", "--disable-pip-version-check", "--requirement", "/tmp/wheels/requirements.txt"]
RUN PRUNE

FROM ${BASE_IMAGE}
COPY --from=deps /opt/venv /opt/venv
COPY model/ /opt/model/
ENV PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["mlflow", "models", "serve", "-m", "/opt/model", "--env-manager", "local", "-h", "0.0.0.0", "-p", "8080"]
"""


def mlflow_like_for_like(client, root: Path, base: str, prune: bool) -> dict:
    """MLflow serving built the way mlops-ci builds: same base, two stages, pip from the same wheelhouse,
    `mlflow models serve` of the model directory; checked to answer /invocations like the pickle."""
    from mlops_ci.image.wheelhouse import copy_wheels, pip_wheel, wheelhouse
    from mlops_ci.image.spec import prune_script
    from mlops_ci.registry.model_dir import DEFAULT_REQUIREMENTS, pinned, write_sklearn_model

    out = WORK / ("mlflow-lfl" if prune else "mlflow-lfl-unpruned")
    shutil.rmtree(out, ignore_errors=True)
    model_dir = write_sklearn_model(root / "models" / "model.pkl", out / "context" / "model", pinned(DEFAULT_REQUIREMENTS))
    reqs = (model_dir / "requirements.txt").read_text().split()
    wheels = wheelhouse(reqs, "3.11", os.environ, pip_version=None)
    copy_wheels(wheels, out / "context" / "wheels")
    (out / "context" / "wheels" / "requirements.txt").write_text("\n".join(reqs) + "\n")
    prune_step = json.dumps(["/opt/venv/bin/python", "-c", prune_script("sklearn")]) if prune else \
        '["/opt/venv/bin/python", "-c", "pass"]'
    (out / "context" / "Dockerfile").write_text(MLFLOW_DOCKERFILE.replace("PIPWHEEL", pip_wheel(wheels))
                                                 .replace("RUN PRUNE", f"RUN {prune_step}"))
    tag = f"bench/mlflow-like-for-like:{'pruned' if prune else 'unpruned'}"
    start = time.perf_counter()
    image, _ = client.images.build(path=str(out / "context"), tag=tag, buildargs={"BASE_IMAGE": base}, rm=True,
                                   forcerm=True, pull=False)
    seconds = time.perf_counter() - start
    served = serves_like_the_pickle(client, tag, root) if prune else None
    return {"size": int(image.attrs["Size"]), "build_s": round(seconds, 1), "serves_like_the_pickle": served,
            "venv": site_packages(client, tag)}


def serves_like_the_pickle(client, tag: str, root: Path) -> bool:
    import pickle

    import pandas as pd
    import requests

    from mlops_ci.adapters.service_http import wait_healthy

    name = "bench-mlflow-serve"
    try:
        client.containers.get(name).remove(force=True)
    except Exception:  # noqa: BLE001
        pass
    c = client.containers.run(tag, name=name, detach=True, ports={"8080/tcp": ("127.0.0.1", None)})
    c.reload()
    port = int(c.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"])
    try:
        if not wait_healthy(f"http://127.0.0.1:{port}", 180).ok and \
                requests.get(f"http://127.0.0.1:{port}/ping", timeout=5).status_code != 200:
            return False
        model = pickle.loads((root / "models" / "model.pkl").read_bytes())
        frame = pd.read_parquet(root / "data" / "prepared" / "holdout.parquet")[list(model.feature_names_in_)].head(10)
        resp = requests.post(f"http://127.0.0.1:{port}/invocations",
                             json={"dataframe_split": json.loads(frame.to_json(orient="split", index=False))},
                             timeout=60)
        return resp.status_code == 200 and list(resp.json()["predictions"]) == [int(v) for v in model.predict(frame)]
    finally:
        c.remove(force=True)


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


def mlflow_own_dockerfile(client, model_file: Path, base: str) -> dict:
    """Build the Dockerfile MLflow generates for the same model, on the stand-in base, with host networking."""
    from mlops_ci.registry.model_dir import DEFAULT_REQUIREMENTS, pinned, write_sklearn_model

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
    return {"size": int(image.attrs["Size"]), "build_s": round(time.perf_counter() - start, 1),
            "replaced_from": first}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--skip-mlflow", action="store_true", help="leave out both MLflow peers")
    parser.add_argument("--skip-mlflow-dockerfile", action="store_true",
                        help="leave out MLflow's own Dockerfile (it needs the package mirror during the build)")
    args = parser.parse_args()
    import docker
    import yaml

    from tests.services.churn_image import free_port

    WORK.mkdir(parents=True, exist_ok=True)
    client = docker.from_env(timeout=900)
    registry = os.environ.get("MLOPS_CI_REGISTRY_ADDR") or "127.0.0.1:5000"
    base = sh("bash", str(ROOT / "scripts" / "base-image.sh")).stdout.strip().splitlines()[-1]
    results: dict = {"uptime_before": uptime(), "base_image": base, "base_size": int(client.images.get(base).attrs["Size"])}
    cleanup(client)
    root = project(free_port(), free_port())
    cli = [PY, "-m", "mlops_ci"]
    repository = f"{registry}/bench-churn"

    cold_s, _ = timed(*cli, "build", "--repository", repository, "--base-image", base, "--no-cache", cwd=root)
    first = outputs(root)["image-ref"]
    build = json.loads((root / ".mlops-ci" / "out" / "build.json").read_text())
    warm_s, _ = timed(*cli, "build", "--repository", repository, "--base-image", base, "--tag", "warm", cwd=root)
    second = outputs(root)["image-ref"]
    results.update(runtime=build["runtime"], runtime_note=build["runtime-note"], build_cold_s=round(cold_s, 1),
                   build_warm_s=round(warm_s, 1), image_size=int(client.images.get(first).attrs["Size"]),
                   image_venv=site_packages(client, first))
    # the same model served from the pickle (the fallback when the conversion is not exact)
    config = yaml.safe_load((root / ".mlops-ci.yml").read_text())
    config["build"]["runtime"] = "sklearn"
    (root / "sklearn.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    timed(*cli, "build", "--config", "sklearn.yml", "--repository", f"{repository}-sklearn", "--base-image", base,
          "--no-push", cwd=root)
    sk = json.loads((root / ".mlops-ci" / "out" / "build.json").read_text())
    results["sklearn_image_size"] = int(client.images.get(sk["image-id"]).attrs["Size"])
    results["sklearn_venv"] = site_packages(client, sk["image-id"])

    # deploys, with a client on the stable port
    url = "http://127.0.0.1:" + str(config["deploy"]["environments"]["staging"]["port"])
    first_deploy_s, _ = timed(*cli, "deploy", "-e", "staging", "--image", first, cwd=root)
    results["first_deploy"] = {"wall_s": round(first_deploy_s, 2), "timings": deploy_json(root)["timings"]}
    row = one_row(root, url)
    (deploy_s, _), probe = with_probe(url, row, lambda: timed(*cli, "deploy", "-e", "staging", "--image", second,
                                                              cwd=root))
    results["replace"] = {"wall_s": round(deploy_s, 2), "timings": deploy_json(root)["timings"], "probe": probe}
    (rollback_s, _), probe = with_probe(url, row, lambda: timed(*cli, "rollback", "-e", "staging", cwd=root))
    rb = deploy_json(root)
    results["rollback"] = {"wall_s": round(rollback_s, 2), "timings": rb["timings"], "probe": probe,
                           "smoke": rb["smoke"]["reason"]}
    backend = client.containers.get(f"{SERVICE}-staging")
    backend_port = int(backend.attrs["NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"])
    results["proxy_overhead"] = proxy_overhead(root, url, backend_port, row)
    results["stop_start_peer"] = stop_start_switch(client, first, second, free_port(), row)
    results["fail_fast"] = fail_fast(root, registry, base, first, url, row)
    cleanup(client)

    if not args.skip_mlflow:
        results["mlflow_like_for_like"] = mlflow_like_for_like(client, root, base, prune=True)
        results["mlflow_like_for_like_unpruned"] = mlflow_like_for_like(client, root, base, prune=False)
        if not args.skip_mlflow_dockerfile:
            stand_in = mlflow_stand_in_base(client, "bench/python-slim-stand-in:3.11")
            peer = mlflow_own_dockerfile(client, root / "models" / "model.pkl", stand_in)
            results["mlflow_own_dockerfile"] = {**peer, "stand_in_base_size": int(client.images.get(stand_in).attrs["Size"])}
    results["uptime_after"] = uptime()
    (WORK / "deploy.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
