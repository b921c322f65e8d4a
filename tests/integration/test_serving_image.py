"""`mlops-ci build` / `deploy` / `rollback` with a real Docker engine and registry (127.0.0.1:5000).

One image is built per session from the trained churn example (``churn_image``);
the tests deploy it, break it on purpose and roll back, and read what GitHub
saw through the fake API.
"""

from __future__ import annotations

import json

import docker.errors
import pytest
import requests

from tests.services.churn_image import MODEL, SERVICE, build, outputs

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
        RUN ["python", "-c", "open('/opt/model/model.pkl', 'wb').write(b'not a pickle')"]
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
    assert "the model failed to load" in failed.stderr and "UnpicklingError" in failed.stderr
    # the previous container never stopped answering, with the previous model
    url = service_url(churn_repo, "staging")
    assert requests.get(f"{url}/health", timeout=5).status_code == 200
    assert clean_services.containers.get(f"{SERVICE}-staging").labels["io.mlops-ci.image"] == churn_image.ref
    summary = (tmp_path / "gh" / "summary").read_text()
    assert "Rolled back: yes" in summary and "UnpicklingError" in summary

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
    text = (churn_repo.root / ".mlops-ci.yml").read_text().replace("health_timeout: 30", "health_timeout: 4")
    churn_repo.write(".mlops-ci.yml", text)
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
    failed = churn_repo.mlops("deploy", "-e", "production", "--image", silent, env=env)
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
