"""Which model the challenger is measured against, and where that answer came from.

In order: the registered model's `champion` alias in MLflow (its run's metrics
and, if logged, its holdout predictions); in git-tag mode the newest
`<model>#prod#N` tag; else the base branch's metrics through DVC; else none
(the first model). The verdict states the source, because "better than what?"
is the first question anyone asks of a gate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.adapters.dvc import WORKSPACE

if TYPE_CHECKING:
    from mlops_ci.workspace import Workspace

log = logging.getLogger(__name__)


@dataclass
class Champion:
    metrics: dict[str, float]
    source: str
    kind: str  # "mlflow", "git-tag", "base-branch"
    predictions: Path | None = None
    version: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def flat_metrics(per_file: dict[str, dict[str, float]]) -> dict[str, float]:
    counts: dict[str, int] = {}
    for values in per_file.values():
        for key in values:
            counts[key] = counts.get(key, 0) + 1
    return {(k if counts[k] == 1 else f"{f}:{k}"): v for f, values in per_file.items() for k, v in values.items()}


def resolve_champion(ws: "Workspace", model_name: str, base_rev: str | None, *, use_registry: bool = True,
                     download_dir: Path | None = None) -> Champion | None:
    """The champion, or None for the first model. Registry errors propagate (the gate fails closed)."""
    cfg = ws.config
    if use_registry and cfg.registry.mode == "mlflow" and _registry_configured(ws):
        from mlops_ci.registry.mlflow_registry import Registry

        registry = Registry(ws.mlflow_tracking_uri(), cfg.mlflow.registry_uri)
        record = registry.by_alias(model_name, "champion")
        if record is not None:
            predictions = None
            if record.run_id and download_dir is not None:
                folder = registry.download(record.run_id, "predictions", download_dir)
                if folder is not None:
                    files = sorted(folder.glob("*.csv")) if folder.is_dir() else [folder]
                    predictions = files[0] if files else None
            return Champion(record.metrics, f"MLflow model `{model_name}` {record.how} (version {record.version})",
                            "mlflow", predictions, record.version, {"run_id": record.run_id})
    if cfg.registry.mode == "git-tags":
        champion = _from_git_tags(ws, model_name)
        if champion is not None:
            return champion
    if base_rev and base_rev != WORKSPACE:
        metrics = flat_metrics(ws.dvc.read_metrics(base_rev, cfg.metrics.files, cfg.metrics.ignore))
        if metrics:
            predictions = None
            if cfg.registry.predictions:
                content = ws.dvc.read(base_rev, cfg.registry.predictions)
                if content is not None and download_dir is not None:
                    download_dir.mkdir(parents=True, exist_ok=True)
                    predictions = download_dir / "base-predictions.csv"
                    predictions.write_bytes(content)
            return Champion(metrics, f"base branch metrics at `{base_rev[:7]}` (no registered champion)",
                            "base-branch", predictions, base_rev)
    return None


def _registry_configured(ws: "Workspace") -> bool:
    """Only ask MLflow when one is configured; the embedded store is only trusted when it exists."""
    if ws.config.mlflow.tracking_uri or ws.env.get("MLFLOW_TRACKING_URI"):
        return True
    return (ws.root / ".mlops-ci" / "mlflow.db").is_file()


def _from_git_tags(ws: "Workspace", model_name: str) -> Champion | None:
    from mlops_ci.registry.git_tags import stage_tags

    tags = (ws.git.try_out("tag", "--list", f"{model_name}#prod#*") or "").split()
    promoted = stage_tags(tags, model_name, "prod")
    if not promoted:
        return None
    tag = promoted[-1][1]
    sha = ws.git.resolve(f"refs/tags/{tag}")
    if not sha:
        return None
    metrics = flat_metrics(ws.dvc.read_metrics(sha, ws.config.metrics.files, ws.config.metrics.ignore))
    return Champion(metrics, f"git tag `{tag}` ({sha[:7]})", "git-tag", None, tag)
