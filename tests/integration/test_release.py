"""Build once, promote by digest: register → build from the registry → staging → tag → `mlops-ci release`.

Real MLflow server, real Docker engine and registry, GitHub through the fake API.
"""

from __future__ import annotations

import json

import docker.errors
import pytest
import requests
from mlflow import MlflowClient

from tests.services.churn_image import MODEL, SERVICE, outputs

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("docker")]


def tag_env(fake, tmp_path, sha: str, tag: str, run: str = "1", ref: str | None = None) -> dict[str, str]:
    """A push of ``tag`` (or of branch ``ref``, for the main workflow's staging deploy) as GitHub Actions sees it."""
    ref = ref or f"refs/tags/{tag}"
    out = tmp_path / f"gh-{tag.replace('/', '-')}-{run}"
    out.mkdir()
    event = out / "event.json"
    event.write_text(json.dumps({"ref": ref, "after": sha, "before": "0" * 40, "created": True,
                                 "repository": {"full_name": fake.repo, "default_branch": "main"}}))
    return {**fake.env(), "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "push", "GITHUB_EVENT_PATH": str(event),
            "GITHUB_SHA": sha, "GITHUB_REF": ref, "GITHUB_RUN_ID": "99",
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
    staging = repo.mlops("deploy", "-e", "staging", "--image", image,
                         env={**env, **tag_env(fake_github, tmp_path, sha, "main", ref="refs/heads/main")})
    assert staging.returncode == 0, staging.stdout + staging.stderr
    # a re-run of the main workflow rebuilds the commit: `<repo>:<sha>` now names a digest staging never ran
    rebuilt = repo.mlops("build", "--repository", repository, "--base-image", docker_engine.base_image, "--model",
                         f"models:/{MODEL}@challenger", env={**docker_engine.env, **mlflow})
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    untested = outputs(repo)["image-ref"]
    registry_client = docker_engine.client()
    assert untested != image and registry_client.images.get_registry_data(f"{repository}:{sha}").id == \
        untested.split("@", 1)[1]

    # a refused release leaves no version tag behind (a commit staging never ran: the next test)
    repo.sh("git", "tag", "other@v2.0.0", sha)
    refused = repo.mlops("release", "--repository", repository,
                         env={**env, **tag_env(fake_github, tmp_path, sha, "other@v2.0.0")})
    assert refused.returncode == 2 and "is for model 'other'" in refused.stderr, refused.stderr
    with pytest.raises(docker.errors.NotFound):
        registry_client.images.get_registry_data(f"{repository}:2.0.0")

    repo.sh("git", "tag", "v1.0.0", sha)
    first_run = tag_env(fake_github, tmp_path, sha, "v1.0.0")
    release = repo.mlops("release", "--repository", repository, env={**env, **first_run})
    assert release.returncode == 0, release.stdout + release.stderr
    out = gh_outputs(first_run)
    assert out["image"] == image and out["serving-image"] == image  # the very digest staging ran, not the rebuild
    # the version tag points at the same digest: promoted, not rebuilt
    assert registry_client.images.get_registry_data(f"{repository}:1.0.0").id == image.split("@", 1)[1]
    assert "(the commit was rebuilt); released the digest staging ran" in open(first_run["GITHUB_STEP_SUMMARY"]).read()
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


def test_release_of_a_commit_staging_never_ran_fails_clearly(churn_repo, docker_engine, fake_github, tmp_path):
    sha = churn_repo.commit("never built")
    churn_repo.sh("git", "tag", "v9.9.9", sha)
    proc = churn_repo.mlops("release", "--repository", f"{docker_engine.registry}/{MODEL}-release",
                            env={**docker_engine.env, **tag_env(fake_github, tmp_path, sha, "v9.9.9")})
    assert proc.returncode == 1
    assert f"commit {sha[:12]} (tag v9.9.9) has no successful deployment to staging" in proc.stderr
    assert fake_github.deployments() == [] and fake_github.releases() == []
    with pytest.raises(docker.errors.NotFound):  # and no version tag
        docker_engine.client().images.get_registry_data(f"{docker_engine.registry}/{MODEL}-release:9.9.9")
    bad = churn_repo.mlops("release", "--tag", "not-a-version", env=docker_engine.env)
    assert bad.returncode == 2 and "release tag" in bad.stderr
