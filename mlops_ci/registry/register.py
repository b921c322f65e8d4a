"""Registering what the pipeline on main produced as a new model version, with its lineage.

The story: read what the pipeline produced (metrics, params, the model pickle, holdout
predictions, the drift reference profile); write an MLflow model directory with explicit
requirements (nothing inferred); log one run carrying all of it; create a model version tagged
with its lineage (commit, PR, workflow run, dvc.lock stage hashes, data hashes) and point an alias
(``challenger``) at it. With ``registry.mode: git-tags`` the same facts go into an annotated tag.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.errors import MlopsError

if TYPE_CHECKING:
    from mlops_ci.workspace import Workspace


def model_name_for(ws: "Workspace", explicit: str | None) -> str:
    if explicit or ws.config.mlflow.model_name:
        return str(explicit or ws.config.mlflow.model_name)
    repo = ws.context.repository
    return repo.split("/", 1)[1] if repo else ws.root.name


def register_model(ws: "Workspace", *, model_name: str | None = None, alias: str = "challenger",
                   model_path: str | None = None, pr_number: int | None = None) -> dict[str, Any]:
    from mlops_ci.adapters.dvc import WORKSPACE
    from mlops_ci.registry.mlflow_registry import Registry, temp_dir
    from mlops_ci.registry.lineage import lineage_tags, pr_from_commit_message
    from mlops_ci.registry.model_dir import DEFAULT_REQUIREMENTS, pinned, write_sklearn_model

    ws.require_git()
    ws.dvc.require_pipeline()
    cfg = ws.config.registry
    name = model_name_for(ws, model_name)
    ctx = ws.context
    if cfg.mode == "git-tags":
        return register_git_tag(ws, name, pr_number)

    sha = ctx.head_sha or ws.git.head()
    registry = Registry(ws.mlflow_tracking_uri(), ws.config.mlflow.registry_uri)
    again = registry.version_for_commit(name, sha)
    if again is not None:  # a re-run of the same job: the same version, its alias set again
        registry.set_alias(name, alias, again.version)
        return {"model-name": name, "model-version": again.version, "run-id": again.run_id or "",
                "model-uri": f"models:/{name}/{again.version}", "alias": alias, "lineage": again.tags,
                "tracking-uri": _public_uri(ws.mlflow_tracking_uri()), "reused": True}

    metric_files = ws.dvc.read_metrics(WORKSPACE, ws.config.metrics.files, ws.config.metrics.ignore,
                                       missing_ok=True)
    metrics = _flat(metric_files)
    params = _flat(ws.dvc.read_params(WORKSPACE), default_file="params.yaml")

    model_file = ws.dvc_root / (model_path or cfg.model_path)
    model_dir = write_sklearn_model(model_file, temp_dir() / "model",
                                    pinned(cfg.pip_requirements or DEFAULT_REQUIREMENTS),
                                    extra_files=[ws.dvc_root / p for p in cfg.extra_files])
    artifacts: list[tuple[Path, str]] = [(model_dir, "model")]
    if cfg.predictions and (ws.dvc_root / cfg.predictions).is_file():
        artifacts.append((ws.dvc_root / cfg.predictions, "predictions"))
    profile = _reference_profile(ws)
    if profile is not None:
        artifacts.append((profile, "reference"))

    if pr_number is None:
        pr_number = ctx.pull_request.number if ctx.pull_request else pr_from_commit_message(
            ws.git.try_out("log", "-1", "--format=%B") or "")
    lock, dvc_files = _pipeline_state(ws)
    tags = lineage_tags(sha=sha, repository=ctx.repository, pr_number=pr_number, run_url=ctx.run_url,
                        lock=lock, dvc_files=dvc_files)
    tags.update(cost_tags(ws.runtime.out_dir))  # what training cost, when repro ran in this job

    experiment = ws.config.mlflow.experiment or name
    run_id = registry.log_run(experiment, run_name=f"{name}@{sha[:7]}", params=params, metrics=metrics,
                              tags={**tags, "mlflow.source.git.commit": sha}, artifacts=artifacts)
    version = registry.create_version(name, run_id, "model", tags)
    registry.set_alias(name, alias, version)
    return {"model-name": name, "model-version": version, "run-id": run_id,
            "model-uri": f"models:/{name}/{version}", "alias": alias, "lineage": tags,
            "tracking-uri": _public_uri(ws.mlflow_tracking_uri())}


def cost_tags(out_dir: Path) -> dict[str, str]:
    """``mlops-ci.cost.*`` tags (GPU-hours, wall time, amount) from the repro.json of this job, if any."""
    path = out_dir / "repro.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8")).get("cost")
        if not isinstance(data, dict):
            return {}
        from mlops_ci.cost.estimate import from_dict, registry_tags

        return registry_tags(from_dict(data))
    except (ValueError, KeyError, TypeError):
        return {}


def _pipeline_state(ws: "Workspace") -> tuple[Any, dict[str, Any]]:
    """dvc.lock and the .dvc files: the stage hashes and data md5s the lineage tags record."""
    from mlops_ci.yamlsource import safe_load

    lock_bytes = ws.dvc.read(None, "dvc.lock")
    dvc_files = {str(p.relative_to(ws.dvc_root)): safe_load(p.read_bytes(), str(p), ".dvc file") or {}
                 for p in ws.dvc_root.rglob("*.dvc") if ".dvc" not in p.parent.parts and p.is_file()}
    return (safe_load(lock_bytes, "dvc.lock", "lock file") if lock_bytes else None), dvc_files


def _flat(per_file: dict[str, dict[str, Any]], default_file: str | None = None) -> dict[str, Any]:
    """Merge ``{file: {key: v}}``; keys are prefixed with their file only when ambiguous or not default."""
    counts: dict[str, int] = {}
    for values in per_file.values():
        for key in values:
            counts[key] = counts.get(key, 0) + 1
    out = {}
    for file, values in per_file.items():
        for key, value in values.items():
            plain = counts[key] == 1 and (default_file is None or file == default_file)
            out[key if plain else f"{file}:{key}"] = value
    return out


def _reference_profile(ws: "Workspace") -> Path | None:
    """The drift profile of the training data, stored with the version for the scheduled drift job.

    Found where configured or where `mlops-ci profile build` writes; else built now from
    `drift.reference` (one streaming pass); else the version goes without one, and says so.
    """
    from mlops_ci.drift.job import DEFAULT_PROFILE_NAME, build_reference_profile
    from mlops_ci.drift.profile import write

    configured = ws.config.registry.reference_profile
    if configured:
        path = ws.dvc_root / configured
        if path.is_file():
            return path
        ws.runtime.annotate("warning", f"registry.reference_profile '{configured}': no such file; the version "
                                       "is registered without a drift reference profile", title="mlops-ci register")
        return None
    built = ws.runtime.out_dir / DEFAULT_PROFILE_NAME  # where `mlops-ci profile build` writes by default
    if built.is_file():
        return built
    drift = ws.config.drift
    if drift.reference:
        try:
            profile = build_reference_profile(str(ws.dvc_root / drift.reference), bins=drift.bins,
                                              top_k=drift.top_k, max_categories=drift.max_categories)
        except MlopsError as exc:
            ws.runtime.annotate("warning", f"drift.reference '{drift.reference}': no profile built ({exc}); the "
                                           "version is registered without one", title="mlops-ci register")
            return None
        built.parent.mkdir(parents=True, exist_ok=True)
        write(profile, str(built))
        return built
    ws.runtime.annotate("warning", "no drift reference profile to store with the version: set drift.reference "
                                   "(the training data) or registry.reference_profile in .mlops-ci.yml, so the "
                                   "scheduled drift job has something to compare with", title="mlops-ci register")
    return None


def _public_uri(uri: str) -> str:
    from mlops_ci.redact import redact

    return redact(uri)


def register_git_tag(ws: "Workspace", name: str, pr_number: int | None) -> dict[str, Any]:
    """GTO-style: an annotated tag `<name>@vX.Y.Z` on HEAD whose message holds metrics and lineage."""
    from mlops_ci.adapters.dvc import WORKSPACE
    from mlops_ci.errors import BadInput
    from mlops_ci.registry.git_tags import next_version, valid_model_name, version_tag
    from mlops_ci.registry.lineage import lineage_tags, pr_from_commit_message

    if not valid_model_name(name):
        raise BadInput(f"model name '{name}': only letters, digits, '.', '_' and '-' can be used in a git tag")
    git = ws.git
    sha = git.head()
    existing = [t for t in (git.try_out("tag", "--points-at", sha) or "").split() if t.startswith(f"{name}@v")]
    if existing:
        tag = existing[0]
    else:
        tags = (git.try_out("tag", "--list", f"{name}@v*") or "").split()
        tag = version_tag(name, next_version(tags, name))
        if pr_number is None:
            pr_number = pr_from_commit_message(git.try_out("log", "-1", "--format=%B") or "")
        metrics = _flat(ws.dvc.read_metrics(WORKSPACE, ws.config.metrics.files, ws.config.metrics.ignore,
                                            missing_ok=True))
        lock, dvc_files = _pipeline_state(ws)
        lineage = lineage_tags(sha=sha, repository=ws.context.repository, pr_number=pr_number,
                               run_url=ws.context.run_url, lock=lock, dvc_files=dvc_files)
        lineage.update(cost_tags(ws.runtime.out_dir))
        message = json.dumps({"model": name, "metrics": metrics, "lineage": lineage}, indent=1, sort_keys=True)
        git.run("-c", "user.name=mlops-ci", "-c", "user.email=mlops-ci@users.noreply.github.com",
                "tag", "--annotate", tag, "--message", message, sha)
        if ws.context.in_github and git.try_out("remote", "get-url", "origin"):
            git.run("push", "origin", f"refs/tags/{tag}")
    return {"model-name": name, "model-version": tag.split("@", 1)[1], "run-id": "", "model-uri": f"git:{tag}",
            "alias": "challenger", "lineage": {"mlops-ci.git_sha": sha}, "tracking-uri": "git-tags"}
