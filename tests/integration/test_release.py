"""Build once, promote by digest: register → build from the registry → staging → tag → `mlops-ci release`.

Real MLflow server, real Docker engine and registry, GitHub through the fake API.
"""

from __future__ import annotations

import json

import pytest
import requests
from mlflow import MlflowClient

from tests.services.churn_image import MODEL, SERVICE, outputs

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("docker")]


def tag_env(fake, tmp_path, sha: str, tag: str, run: str = "1") -> dict[str, str]:
    out = tmp_path / f"gh-{tag}-{run}"
    out.mkdir()
    event = out / "event.json"
    event.write_text(json.dumps({"ref": f"refs/tags/{tag}", "after": sha, "before": "0" * 40, "created": True,
                                 "repository": {"full_name": fake.repo, "default_branch": "main"}}))
    return {**fake.env(), "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(event),
            "GITHUB_SHA": sha, "GITHUB_REF": f"refs/tags/{tag}", "GITHUB_RUN_ID": "99",
            "GITHUB_OUTPUT": str(out / "output"), "GITHUB_STEP_SUMMARY": str(out / "summary")}


def gh_outputs(env) -> dict[str, str]:
    lines = open(env["GITHUB_OUTPUT"]).read().splitlines()
    return {ln.split("=", 1)[0]: ln.split("=", 1)[1] for ln in lines if "=" in ln and "<<" not in ln}


@pytest.fixture
def cleanup(docker_engine):
    client = docker_engine.client()
    yield
    for c in client.containers.list(all=True, filters={"label": "io.mlops-ci.service"}):
        if c.name.startswith(SERVICE):
            c.remove(force=True)


def test_release_promotes_the_staging_image_by_digest(churn_repo, docker_engine, mlflow_server, fake_github,
                                                      tmp_path, cleanup):
    repo = churn_repo
    mlflow = {"MLFLOW_TRACKING_URI": mlflow_server.url}
    repo.dvc("init", "-q")
    sha = repo.commit("dvc init")
    registered = repo.mlops("register", env=mlflow)
    assert registered.returncode == 0, registered.stderr
    version = outputs(repo)["model-version"]

    repository = f"{docker_engine.registry}/{MODEL}-release"
    built = repo.mlops("build", "--repository", repository, "--base-image", docker_engine.base_image, "--model",
                       f"models:/{MODEL}@challenger", env={**docker_engine.env, **mlflow})
    assert built.returncode == 0, built.stdout + built.stderr
    image = outputs(repo)["image-ref"]
    assert outputs(repo)["model-version"] == version
    client = MlflowClient(mlflow_server.url)
    assert client.get_model_version(MODEL, version).tags["mlops-ci.image"] == image

    env = {**docker_engine.env, **mlflow}
    staging = repo.mlops("deploy", "-e", "staging", "--image", image, env=env)
    assert staging.returncode == 0, staging.stdout + staging.stderr

    repo.sh("git", "tag", "v1.0.0", sha)
    first_run = tag_env(fake_github, tmp_path, sha, "v1.0.0")
    release = repo.mlops("release", "--repository", repository, env={**env, **first_run})
    assert release.returncode == 0, release.stdout + release.stderr
    out = gh_outputs(first_run)
    assert out["image"] == image and out["serving-image"] == image  # the very digest staging ran
    # the version tag points at the same digest: promoted, not rebuilt
    registry_client = docker_engine.client()
    assert registry_client.images.get_registry_data(f"{repository}:1.0.0").id == image.split("@", 1)[1]
    prod_url = out["url"]
    assert requests.get(f"{prod_url}/health", timeout=5).json()["model"]["version"] == version

    assert client.get_model_version_by_alias(MODEL, "production").version == version
    tags = client.get_model_version(MODEL, version).tags
    assert tags["mlops-ci.deployed.production.image"] == image
    assert tags["mlops-ci.deployed.staging.image"] == image

    (prod,) = fake_github.deployments(environment="production")
    assert prod.sha == sha and prod.production_environment is True
    assert [s.state for s in prod.statuses] == ["in_progress", "success"]
    assert prod.statuses[-1].environment_url == prod_url
    (rel,) = fake_github.releases()
    assert rel.tag_name == "v1.0.0" and rel.name == f"{MODEL} v1.0.0"
    assert f"`{image}`" in rel.body and f"version **{version}**" in rel.body
    assert "| auc |" in rel.body and "- git sha: " + sha in rel.body

    # re-running the job updates the same release instead of failing on the existing tag
    again = repo.mlops("release", "--repository", repository, "--no-smoke",
                       env={**env, **tag_env(fake_github, tmp_path, sha, "v1.0.0", run="2")})
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(fake_github.releases()) == 1


def test_release_of_a_commit_that_was_never_built_fails_clearly(churn_repo, docker_engine, fake_github, tmp_path):
    sha = churn_repo.commit("never built")
    churn_repo.sh("git", "tag", "v9.9.9", sha)
    proc = churn_repo.mlops("release", "--repository", f"{docker_engine.registry}/{MODEL}-release",
                            env={**docker_engine.env, **tag_env(fake_github, tmp_path, sha, "v9.9.9")})
    assert proc.returncode == 1
    assert f":{sha} in the registry: the tagged commit was never built" in proc.stderr
    assert fake_github.deployments() == [] and fake_github.releases() == []
    bad = churn_repo.mlops("release", "--tag", "not-a-version", env=docker_engine.env)
    assert bad.returncode == 2 and "release tag" in bad.stderr
