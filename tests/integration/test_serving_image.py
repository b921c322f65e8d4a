"""`mlops-ci build` / `deploy` / `rollback` with a real Docker engine and registry (127.0.0.1:5000).

One image is built per session from the trained churn example (``churn_image``);
the tests deploy it, break it on purpose and roll back, and read what GitHub
saw through the fake API.
"""

from __future__ import annotations

import json
import threading
import time

import docker.errors
import pytest
import requests

from tests.services.churn_image import MODEL, SERVICE, build, outputs, retrain

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("docker")]


def service_url(repo, environment: str) -> str:
    import yaml

    cfg = yaml.safe_load((repo.root / ".mlops-ci.yml").read_text())
    return f"http://127.0.0.1:{cfg['deploy']['environments'][environment]['port']}"


@pytest.fixture
def clean_services(docker_engine):
    """Containers of the test model are removed before and after each test."""
    client = docker_engine.client()

    def clean() -> None:
        for c in client.containers.list(all=True, filters={"label": "io.mlops-ci.service"}):
            if c.name.startswith(SERVICE):
                c.remove(force=True)

    clean()
    yield client
    clean()


def test_build_push_and_pull_by_digest(docker_engine, churn_image, churn_repo):
    client = docker_engine.client()
    assert churn_image.ref.startswith(f"{churn_image.repository}@sha256:")
    assert churn_image.sha in churn_image.outputs["tags"]
    # the registry has the commit tag pointing at the same digest
    digest = churn_image.ref.split("@", 1)[1]
    assert client.images.get_registry_data(f"{churn_image.repository}:{churn_image.sha}").id == digest

    # the demo model goes out on ONNX Runtime (its conversion matched the pickle), under 200 MB in all
    result = json.loads((churn_image.root / ".mlops-ci" / "out" / "build.json").read_text())
    assert result["runtime"] == "onnx" and result["runtime-note"].startswith("ONNX Runtime; parity with the pickle")
    assert client.images.get(churn_image.ref).attrs["Size"] <= 200_000_000, result["size-bytes"]
    assert result["parity-case"].startswith("150 rows of `data/prepared/holdout.parquet`")
    assert churn_image.outputs["tags"] == "\n".join(result["tags"])  # one per line, not a Python list

    # a second build of the same commit reuses the engine's layer cache (labels change, layers do not)
    again = build(churn_repo, docker_engine, churn_image.repository)
    assert again.returncode == 0, again.stderr
    result = json.loads((churn_repo.root / ".mlops-ci" / "out" / "build.json").read_text())
    assert result["cached-steps"] >= 8, result

    # pull by digest into a clean engine state: same manifest, labels intact
    client.images.remove(client.images.get(churn_image.ref).id, force=True)
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(churn_image.ref)
    pulled = client.images.pull(churn_image.repository, tag=digest)
    assert churn_image.ref in pulled.attrs["RepoDigests"]
    labels = pulled.labels
    assert labels["org.opencontainers.image.revision"] == churn_image.sha
    assert labels["io.mlops-ci.model.name"] == MODEL
    assert labels["io.mlops-ci.model.version"] == f"git-{churn_image.sha[:7]}"
    assert labels["io.mlops-ci.metrics.digest"].startswith("sha256:")
    assert labels["org.opencontainers.image.version"] == ""  # not the base image's recipe hash
    config = pulled.attrs["Config"]
    assert config["User"] == "10001:10001"
    assert config["Healthcheck"]["Test"][0] == "CMD"


def test_deploy_answers_with_parity_and_rejects_bad_input(churn_repo, churn_image, clean_services, docker_engine):
    proc = churn_repo.mlops("deploy", "--environment", "staging", "--image", churn_image.ref, env=docker_engine.env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = (churn_repo.root / ".mlops-ci" / "out" / "summary.md").read_text()
    assert "parity 150/150 rows" in summary
    out = outputs(churn_repo)
    url = service_url(churn_repo, "staging")
    assert out["url"] == url and out["serving-image"] == churn_image.ref

    health = requests.get(f"{url}/health", timeout=5)
    assert health.status_code == 200
    assert health.headers["X-Model-Name"] == MODEL
    bad = requests.post(f"{url}/predict", json={"instances": [{"tenure_months": "twelve"}]}, timeout=5)
    assert bad.status_code == 422
    body = bad.json()
    assert any(e.startswith("instances[0].tenure_months:") for e in body["errors"])
    assert any(e == "instances[0].contract: Field required" for e in body["errors"])
    assert body["model"]["name"] == MODEL
    metrics = requests.get(f"{url}/metrics", timeout=5).text
    assert 'mlops_serving_requests_total{path="/predict",method="POST",status="422"} 1' in metrics
    assert "mlops_serving_request_duration_seconds_bucket" in metrics
    assert f'mlops_serving_model_info{{name="{MODEL}",version="git-{churn_image.sha[:7]}"}} 1' in metrics


def _broken_image(repo, services, good_ref: str) -> str:
    """An image whose model file is corrupt: the server starts, /health never turns 200."""
    repo.write("broken/Dockerfile", f"""\
        FROM {good_ref}
        USER 0
        RUN ["python", "-c", "import pathlib; [p.write_bytes(b'not a model') for p in pathlib.Path('/opt/model').glob('model.*')]"]
        USER 10001:10001
        """)
    proc = build(repo, services, f"{services.registry}/{MODEL}-broken", "--dockerfile", "broken/Dockerfile")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return outputs(repo)["image-ref"]


def github_env(fake, tmp_path, sha: str, event: str = "push") -> dict[str, str]:
    out = tmp_path / "gh"
    out.mkdir(exist_ok=True)
    event_path = out / "event.json"
    event_path.write_text(json.dumps({"ref": "refs/heads/main", "after": sha, "before": "0" * 40,
                                      "repository": {"full_name": fake.repo, "default_branch": "main"}}))
    return {**fake.env(), "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event, "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_SHA": sha, "GITHUB_REF": "refs/heads/main", "GITHUB_RUN_ID": "4242",
            "GITHUB_OUTPUT": str(out / "output"), "GITHUB_STEP_SUMMARY": str(out / "summary")}


def test_broken_image_is_rolled_back_and_github_sees_it(churn_repo, churn_image, clean_services, docker_engine,
                                                        fake_github, tmp_path):
    sha = churn_repo.sh("git", "rev-parse", "HEAD").stdout.strip()
    env = {**docker_engine.env, **github_env(fake_github, tmp_path, sha)}
    good = churn_repo.mlops("deploy", "-e", "staging", "--image", churn_image.ref, env=env)
    assert good.returncode == 0, good.stdout + good.stderr
    broken = _broken_image(churn_repo, docker_engine, churn_image.ref)

    failed = churn_repo.mlops("deploy", "-e", "staging", "--image", broken, env=env)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "the model failed to load" in failed.stderr and "INVALID_PROTOBUF" in failed.stderr
    # the previous container never stopped answering, with the previous model
    url = service_url(churn_repo, "staging")
    assert requests.get(f"{url}/health", timeout=5).status_code == 200
    assert clean_services.containers.get(f"{SERVICE}-staging").labels["io.mlops-ci.image"] == churn_image.ref
    summary = (tmp_path / "gh" / "summary").read_text()
    assert "**Rolled back**: yes" in summary and "INVALID_PROTOBUF" in summary

    deployments = fake_github.deployments(environment="staging")
    assert len(deployments) == 2
    first, second = sorted(deployments, key=lambda d: d.id)
    assert first.payload["image"] == churn_image.ref and second.payload["image"] == broken
    assert second.payload["previous_image"] == churn_image.ref
    assert [s.state for s in first.statuses] == ["in_progress", "success"]
    assert first.statuses[-1].environment_url == url
    assert [s.state for s in second.statuses] == ["in_progress", "failure"]
    assert "health check failed" in second.statuses[-1].description
    assert first.sha == sha and first.production_environment is False


def test_never_ready_image_times_out_then_rollback_restores_previous(churn_repo, churn_image, clean_services,
                                                                     docker_engine):
    churn_repo.write("silent/Dockerfile", f"""\
        FROM {churn_image.ref}
        ENTRYPOINT ["python", "-c", "import time; time.sleep(3600)"]
        """)
    proc = build(churn_repo, docker_engine, f"{docker_engine.registry}/{MODEL}-silent", "--dockerfile",
                 "silent/Dockerfile")
    assert proc.returncode == 0, proc.stderr
    silent = outputs(churn_repo)["image-ref"]
    env = docker_engine.env
    first = churn_repo.mlops("deploy", "-e", "production", "--image", churn_image.ref, env=env)
    assert first.returncode == 0, first.stderr
    failed = churn_repo.mlops("deploy", "-e", "production", "--image", silent, "--health-timeout", "4", env=env)
    assert failed.returncode == 1
    assert "not healthy after 4 s" in failed.stderr
    url = service_url(churn_repo, "production")
    assert requests.get(f"{url}/health", timeout=5).json()["status"] == "ok"

    # a second good image, then `rollback` goes back to the first one
    again = build(churn_repo, docker_engine, churn_image.repository, "--tag", "second")
    assert again.returncode == 0, again.stderr
    second = outputs(churn_repo)["image-ref"]
    assert second != churn_image.ref
    replaced = churn_repo.mlops("deploy", "-e", "production", "--image", second, env=env)
    assert replaced.returncode == 0, replaced.stderr
    back = churn_repo.mlops("rollback", "-e", "production", env=env)
    assert back.returncode == 0, back.stdout + back.stderr
    assert outputs(churn_repo)["serving-image"] == churn_image.ref
    current = clean_services.containers.get(f"{SERVICE}-production")
    assert current.labels["io.mlops-ci.image"] == churn_image.ref
    assert requests.get(f"{url}/health", timeout=5).status_code == 200


def test_deploy_refuses_a_mutable_tag(churn_repo, docker_engine):
    proc = churn_repo.mlops("deploy", "-e", "staging", "--image", f"{docker_engine.registry}/{MODEL}:latest",
                            env=docker_engine.env)
    assert proc.returncode == 2
    assert "pinned by digest" in proc.stderr and "Traceback" not in proc.stderr


class Probe(threading.Thread):
    """A client calling /predict on the stable port 20 times a second over one keep-alive connection."""

    def __init__(self, url: str, row: dict) -> None:
        super().__init__(daemon=True)
        self.url, self.row = url, row
        self.versions: dict[str, int] = {}
        self.order: list[str] = []
        self.failures: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        session = requests.Session()
        while not self.halt.is_set():
            started = time.monotonic()
            try:
                resp = session.post(f"{self.url}/predict", json={"instances": [self.row]}, timeout=5)
                if resp.status_code == 200:
                    version = resp.headers["X-Model-Version"]
                    self.versions[version] = self.versions.get(version, 0) + 1
                    if not self.order or self.order[-1] != version:
                        self.order.append(version)
                else:
                    self.failures.append(f"HTTP {resp.status_code}: {resp.text[:200]}")
            except requests.RequestException as exc:
                self.failures.append(f"{exc.__class__.__name__}: {exc}")
            self.halt.wait(max(0.0, 0.05 - (time.monotonic() - started)))

    def stop(self) -> "Probe":
        self.halt.set()
        self.join(10)
        return self


def _one_row(repo, url: str) -> dict:
    import pandas as pd

    fields = [f["name"] for f in requests.get(f"{url}/schema", timeout=5).json()["fields"]]
    row = pd.read_parquet(repo.root / "data" / "prepared" / "holdout.parquet")[fields].iloc[0].to_dict()
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}


def test_replace_then_rollback_to_another_model_without_a_failed_request(churn_repo, churn_image, clean_services,
                                                                         docker_engine):
    """Deploy A, deploy B (another model, another commit), `rollback` at B's checkout → A serves again, exit 0;
    a 20 req/s client on the stable port sees every answer, across both switches."""
    env = docker_engine.env
    first = churn_repo.mlops("deploy", "-e", "staging", "--image", churn_image.ref, env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    version_a = f"git-{churn_image.sha[:7]}"
    sha_b = retrain(churn_repo)
    built = build(churn_repo, docker_engine, churn_image.repository)
    assert built.returncode == 0, built.stdout + built.stderr
    image_b = outputs(churn_repo)["image-ref"]
    url = service_url(churn_repo, "staging")
    probe = Probe(url, _one_row(churn_repo, url))
    probe.start()
    try:
        replaced = churn_repo.mlops("deploy", "-e", "staging", "--image", image_b, env=env)
        assert replaced.returncode == 0, replaced.stdout + replaced.stderr
        back = churn_repo.mlops("rollback", "-e", "staging", env=env)
        assert back.returncode == 0, back.stdout + back.stderr
    finally:
        probe.stop()
    assert probe.failures == []
    assert probe.order == [version_a, f"git-{sha_b[:7]}", version_a] and min(probe.versions.values()) > 0
    result = json.loads((churn_repo.root / ".mlops-ci" / "out" / "deploy-staging.json").read_text())
    assert result["serving_image"] == churn_image.ref and result["previous_image"] == image_b
    # parity was checked, against A's own predictions (baked into A's image), not the checkout's (B's)
    assert result["smoke"]["ok"] and result["smoke"]["agreed"] == result["smoke"]["checked"] == 150
    assert result["smoke"]["source"] == "the predictions recorded in the image at build time"
    assert clean_services.containers.get(f"{SERVICE}-staging").labels["io.mlops-ci.image"] == churn_image.ref
    assert clean_services.containers.get(f"{SERVICE}-staging-previous").status == "exited"
    assert requests.get(f"{url}/health", timeout=5).json()["model"]["version"] == version_a


def _custom_image(repo, services, name: str, dockerfile: str) -> str:
    repo.write(f"{name}/Dockerfile", dockerfile)
    proc = build(repo, services, f"{services.registry}/{MODEL}-{name}", "--dockerfile", f"{name}/Dockerfile")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return outputs(repo)["image-ref"]


def test_a_crash_looping_candidate_fails_at_its_first_exit(churn_repo, churn_image, clean_services, docker_engine):
    crashing = _custom_image(churn_repo, docker_engine, "crash", f"""\
        FROM {churn_image.ref}
        ENTRYPOINT ["python", "-c", "import sys; sys.exit(3)"]
        """)
    env = docker_engine.env
    good = churn_repo.mlops("deploy", "-e", "staging", "--image", churn_image.ref, env=env)
    assert good.returncode == 0, good.stdout + good.stderr
    failed = churn_repo.mlops("deploy", "-e", "staging", "--image", crashing, "--health-timeout", "600", env=env)
    assert failed.returncode == 1
    # the exit itself ended the wait (not the 600 s health timeout), with the exit code
    assert "health check failed: the container exited with code 3" in failed.stderr
    assert f"{churn_image.ref} still serving" in failed.stderr
    names = [c.name for c in clean_services.containers.list(all=True) if c.name.startswith(SERVICE)]
    assert f"{SERVICE}-staging-candidate" not in names
    assert requests.get(f"{service_url(churn_repo, 'staging')}/health", timeout=5).status_code == 200


def test_a_deploy_that_stops_early_leaves_no_candidate(churn_repo, churn_image, clean_services, docker_engine):
    """An image without a parity case needs the checkout's files; without them it is an exit 2, before any
    container starts; and a failure inside the target after the candidate started removes it too."""
    from mlops_ci.adapters.docker_engine import DockerEngine
    from mlops_ci.deploy.docker_target import DockerTarget

    env = docker_engine.env
    bare = _custom_image(churn_repo, docker_engine, "bare", f"""\
        FROM {churn_image.ref}
        USER 0
        RUN ["python", "-c", "import os; os.remove('/opt/model/smoke.json')"]
        USER 10001:10001
        """)
    assert churn_repo.mlops("deploy", "-e", "staging", "--image", churn_image.ref, env=env).returncode == 0
    (churn_repo.root / "eval" / "predictions.csv").rename(churn_repo.root / "eval" / "moved.csv")
    missing = churn_repo.mlops("deploy", "-e", "staging", "--image", bare, env=env)
    assert missing.returncode == 2, missing.stdout + missing.stderr
    assert "eval/predictions.csv: file not found" in missing.stderr
    names = [c.name for c in clean_services.containers.list(all=True) if c.name.startswith(SERVICE)]
    assert f"{SERVICE}-staging-candidate" not in names

    def smoke_that_breaks(url: str):
        assert requests.get(f"{url}/health", timeout=5).status_code == 200  # the candidate was up
        raise RuntimeError("the smoke check itself failed")

    engine = DockerEngine.from_env(env)
    target = DockerTarget(engine, service=f"{SERVICE}-staging", environment="staging",
                          port=int(service_url(churn_repo, "staging").rsplit(":", 1)[1]), host_address="127.0.0.1",
                          health_timeout=60)
    with pytest.raises(RuntimeError, match="the smoke check itself failed"):
        target.deploy(bare, smoke_that_breaks)
    assert engine.container(f"{SERVICE}-staging-candidate") is None
    assert target.current_image() == churn_image.ref


def test_a_container_that_fails_after_the_switch_is_switched_back_by_the_watch(churn_repo, churn_image,
                                                                             clean_services, docker_engine):
    """Healthy as a candidate, failing once it takes proxied traffic: the watch (not the 120 s health timeout)
    sees three failed probes in a row and the proxy goes back to the previous container, which never stopped."""
    churn_repo.write("flaky/serve.py", """\
        # /health is 200 until the first request that came through the front proxy (not from the
        # network's gateway, where the deploy's own probes arrive), then 500 for ever.
        import http.server, json, socket, struct
        def gateway():
            for line in open("/proc/net/route").read().splitlines()[1:]:
                parts = line.split()
                if parts[1] == "00000000":
                    return socket.inet_ntoa(struct.pack("<L", int(parts[2], 16)))
        GATEWAY, broken = gateway(), []
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_GET(self):
                if self.client_address[0] not in (GATEWAY, "127.0.0.1"):
                    broken.append(self.client_address[0])
                status = 500 if broken else 200
                body = json.dumps({"status": "ok" if status == 200 else "broken", "model": {"version": "flaky"}})
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())
            def log_message(self, *args):
                pass
        http.server.ThreadingHTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
        """)
    flaky = _custom_image(churn_repo, docker_engine, "flaky", f"""\
        FROM {churn_image.ref}
        COPY flaky/serve.py /opt/flaky.py
        ENTRYPOINT ["python", "/opt/flaky.py"]
        """)
    env = docker_engine.env
    assert churn_repo.mlops("deploy", "-e", "staging", "--image", churn_image.ref, env=env).returncode == 0
    url = service_url(churn_repo, "staging")
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            try:
                requests.get(f"{url}/health", timeout=2)
            except requests.RequestException:
                pass
            stop.wait(0.05)

    client = threading.Thread(target=traffic, daemon=True)
    client.start()
    try:
        failed = churn_repo.mlops("deploy", "-e", "staging", "--image", flaky, "--no-smoke",
                                  "--health-timeout", "120", env=env)
    finally:
        stop.set()
        client.join(5)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "health check failed after the switch: HTTP 500 on 3 health probes in a row" in failed.stderr
    assert f"rolled back to {churn_image.ref}" in failed.stderr
    result = json.loads((churn_repo.root / ".mlops-ci" / "out" / "deploy-staging.json").read_text())
    assert result["rolled_back"] and result["serving_image"] == churn_image.ref and "rollback_s" in result["timings"]
    assert requests.get(f"{url}/health", timeout=5).json()["model"]["version"] == f"git-{churn_image.sha[:7]}"
    names = [c.name for c in clean_services.containers.list(all=True) if c.name.startswith(SERVICE)]
    assert f"{SERVICE}-staging-candidate" not in names
