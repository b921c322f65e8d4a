"""Building the serving image once, pushing it, and knowing its digest.

The story: pick the model (the pipeline's output, or a registry version); infer its input
schema; fetch wheels for the image's Python on the host (the build itself needs no network);
generate a two-stage Dockerfile (or take the user's); build with the engine's cache; tag with the
commit SHA (and the version on tag pushes); push; and record ``repo@sha256:…`` and, for registry
models, a lineage tag on the model version. Every later step deploys that digest — nothing is
rebuilt for production.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops_ci.adapters.docker_engine import DockerEngine
    from mlops_ci.workspace import Workspace


def default_repository(ws: "Workspace") -> str | None:
    repo = ws.context.repository
    return f"ghcr.io/{repo.lower()}" if repo else None


def build_image(ws: "Workspace", engine: "DockerEngine", *, repository: str | None = None, model: str | None = None,
                model_name: str | None = None, base_image: str | None = None, dockerfile: str | None = None,
                extra_tags: list[str] | None = None, push: bool = True, no_cache: bool = False) -> dict[str, Any]:
    from mlops_ci.registry.mlflow_registry import temp_dir
    from mlops_ci.image.wheelhouse import pip_wheel, wheelhouse
    from mlops_ci.image.context import write_context
    from mlops_ci.github.checks import now
    from mlops_ci.registry.register import model_name_for
    from mlops_ci.deploy.plan import parse_release_tag
    from mlops_ci.errors import BadInput
    from mlops_ci.image.spec import (ONNX_REQUIREMENTS, SERVING_REQUIREMENTS, image_tags, install_list,
                                     metrics_digest, oci_labels, pinned_reference, serving_requirements,
                                     validate_repository)
    from mlops_ci.registry.model_source import from_checkout, from_registry, input_schema
    from mlops_ci.registry.model_dir import DEFAULT_REQUIREMENTS, pinned

    started = time.monotonic()
    cfg = ws.config.build
    ctx = ws.context
    repo = validate_repository(repository or cfg.repository or default_repository(ws) or "")
    sha = ctx.head_sha or ws.git.head()
    tag_name = ctx.details.get("tag")
    version = None
    if tag_name:
        try:
            version = parse_release_tag(tag_name).version
        except BadInput:
            version = None
    spec = model or cfg.model or ws.config.registry.model_path
    work = temp_dir()
    if spec.startswith("models:/"):
        source = from_registry(ws, spec, work / "model")
    else:
        source = from_checkout(ws, spec, model_name_for(ws, model_name), f"git-{sha[:7]}", work / "model")
    base = base_image or cfg.base_image
    labels = oci_labels(revision=sha, source=f"{ctx.server_url}/{ctx.repository}" if ctx.repository else None,
                        created=now(), version=version, model_name=source.name, model_version=source.version,
                        metrics_digest_value=metrics_digest(source.metrics) if source.metrics else None,
                        base_image=None if (dockerfile or cfg.dockerfile) else base)
    tags = [f"{repo}:{t}" for t in image_tags(sha, version, extra_tags or [])]

    user_dockerfile = dockerfile or cfg.dockerfile
    runtime, runtime_note, case_note = "custom", "your Dockerfile", "not embedded (your Dockerfile)"
    if user_dockerfile:
        path = ws.root / user_dockerfile
        if not path.is_file():
            raise BadInput(f"build.dockerfile: {path} not found")
        context, dockerfile_name = ws.root, str(path.relative_to(ws.root))
    else:
        from mlops_ci.image.runtime import choose_runtime, parity_document

        fields = input_schema(ws, source.directory / "model.pkl")
        case, case_note = parity_document(ws, source, fields, sha)
        choice = choose_runtime(ws, source.directory / "model.pkl", fields, source.name, source.version)
        runtime, runtime_note = choice.runtime, choice.note
        python_version = engine.python_version(base)
        if runtime == "onnx":
            model_reqs = pinned(ONNX_REQUIREMENTS)
        else:
            model_reqs = source.requirements or pinned(cfg.requirements or ws.config.registry.pip_requirements
                                                       or DEFAULT_REQUIREMENTS)
        reqs = serving_requirements(model_reqs, pinned(SERVING_REQUIREMENTS))
        wheels = wheelhouse(reqs, python_version, ws.env, pip_version=_installed("pip"))
        context = work / "context"
        install = install_list([wheel.name for wheel in wheels.glob("*.whl")], runtime)
        write_context(context, wheels=wheels, requirements=install,
                      model_dir=source.directory, model_name=source.name, model_version=source.version,
                      model_uri=source.uri, fields=fields, base_image=base, pip_wheel=pip_wheel(wheels),
                      max_batch=cfg.max_batch, runtime=runtime, onnx_model=choice.onnx_model, classes=choice.classes,
                      parity_case=case)
        dockerfile_name = "Dockerfile"

    cache_from = [ref for ref in cfg.cache_from if _try_pull(engine, ref)]
    with ws.runtime.group(f"docker build {tags[0]}"):
        built = engine.build(context, dockerfile=dockerfile_name, tags=tags, labels=labels,
                             buildargs={"BASE_IMAGE": base} if not user_dockerfile else {}, cache_from=cache_from,
                             on_line=lambda line: print(line, flush=True) if ws.env.get("MLOPS_CI_DEBUG") else None,
                             no_cache=no_cache)
    digest = None
    if push:
        with ws.runtime.group(f"docker push {repo}"):
            for tag in tags:
                digest = engine.push(repo, tag.rsplit(":", 1)[1])
    ref = pinned_reference(repo, digest) if digest else None
    if ref and source.registered:
        from mlops_ci.registry.mlflow_registry import Registry

        Registry(ws.mlflow_tracking_uri(), ws.config.mlflow.registry_uri).set_version_tags(
            source.name, source.version, {"mlops-ci.image": ref, "mlops-ci.image.digest": str(digest),
                                          "mlops-ci.image.built_at": labels["org.opencontainers.image.created"]})
    size = engine.image_size(built.image_id)
    return {"image": repo, "digest": digest, "image-ref": ref, "image-id": built.image_id, "tags": tags,
            "model-name": source.name, "model-version": source.version, "model-uri": source.uri,
            "runtime": runtime, "runtime-note": runtime_note, "parity-case": case_note, "size-bytes": size,
            "labels": labels, "cached-steps": built.cached_steps, "steps": built.total_steps,
            "seconds": round(time.monotonic() - started, 2), "pushed": bool(digest)}


def _installed(dist: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _try_pull(engine: "DockerEngine", ref: str) -> bool:
    from mlops_ci.adapters.docker_engine import DockerError

    try:
        engine.ensure_image(ref)
        return True
    except DockerError:
        return False
