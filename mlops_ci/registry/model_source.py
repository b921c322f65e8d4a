"""Which model goes into the image, and what it expects as input.

A model comes either from the pipeline's output in the checkout (a DVC output
such as ``models/model.pkl``) or from the MLflow registry (``models:/name@alias``
or ``models:/name/3``). Either way the build gets one directory with
``model.pkl``, the model's requirements, its metrics, and a name and version
that every response of the server will carry.

The input schema is inferred here, on the build host, from example rows and
the fitted estimator's ``feature_names_in_``, so the server validates requests
against the columns the model was trained on without guessing at start-up.
"""

from __future__ import annotations

import json
import pickle
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.errors import BadInput
from mlops_ci.serving.schema import Field, SchemaError, infer_fields, parse_schema

if TYPE_CHECKING:
    from mlops_ci.workspace import Workspace

_MODELS_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>[^/]+))$")


@dataclass
class ModelSource:
    directory: Path  # holds model.pkl
    name: str
    version: str
    uri: str  # where it came from: models:/name/3 or the file path
    requirements: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    registered: bool = False  # an MLflow model version we can tag with the image digest
    revision: str | None = None  # the commit a registry version was trained at (its lineage tag), if known


def parse_models_uri(uri: str) -> tuple[str, str | None, str | None]:
    """``models:/name@alias`` → (name, alias, None); ``models:/name/3`` → (name, None, "3")."""
    match = _MODELS_URI.match(uri)
    if not match:
        raise BadInput(f"build.model '{uri}': expected models:/<name>@<alias> or models:/<name>/<version>")
    return match["name"], match["alias"], match["version"]


def from_registry(ws: "Workspace", uri: str, dst: Path) -> ModelSource:
    from mlops_ci.registry.mlflow_registry import Registry

    name, alias, version = parse_models_uri(uri)
    registry = Registry(ws.mlflow_tracking_uri(), ws.config.mlflow.registry_uri)
    record = registry.by_alias(name, alias) if alias else registry.version(name, str(version))
    if record is None or not record.run_id:
        raise BadInput(f"build.model '{uri}': no such model version in the registry")
    artifact = record.source.split("/artifacts/", 1)[1] if "/artifacts/" in record.source else "model"
    downloaded = registry.download(record.run_id, artifact, dst)
    if downloaded is None or not (downloaded / "model.pkl").is_file():
        raise BadInput(f"build.model '{uri}': version {record.version} has no model.pkl under '{artifact}' "
                       "(only scikit-learn pickles are served)")
    reqs_file = downloaded / "requirements.txt"
    reqs = [ln.strip() for ln in reqs_file.read_text().splitlines() if ln.strip()] if reqs_file.is_file() else []
    return ModelSource(downloaded, name, record.version, record.uri, reqs, dict(record.metrics), record.run_id,
                       registered=True, revision=(record.tags or {}).get("mlops-ci.git_sha"))


def from_checkout(ws: "Workspace", path: str, name: str, version: str, dst: Path) -> ModelSource:
    from mlops_ci.adapters.dvc import WORKSPACE
    from mlops_ci.registry.champion import flat_metrics

    model_file = ws.dvc_root / path
    if not model_file.is_file():
        raise BadInput(f"build.model '{path}': {model_file} not found",
                       hint="Run the pipeline (or `dvc pull`) first, or point build.model at models:/<name>@<alias>.")
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_file, dst / "model.pkl")
    for extra in ws.config.registry.extra_files:
        if (ws.dvc_root / extra).is_file():
            shutil.copyfile(ws.dvc_root / extra, dst / Path(extra).name)
    metrics = flat_metrics(ws.dvc.read_metrics(WORKSPACE, ws.config.metrics.files, ws.config.metrics.ignore))
    return ModelSource(dst, name, version, path, [], metrics)


def read_table(path: Path) -> Any:
    """A pandas DataFrame from CSV or Parquet."""
    import pandas as pd

    if not path.is_file():
        raise BadInput(f"{path}: file not found")
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    if path.suffix.lower() in (".csv", ".txt"):
        return pd.read_csv(path)
    raise BadInput(f"{path}: expected a .csv or .parquet file")


def model_features(model_file: Path) -> list[str] | None:
    """The estimator's ``feature_names_in_`` (None when it was fitted on a plain array)."""
    try:
        with open(model_file, "rb") as fh:
            estimator = pickle.load(fh)  # noqa: S301 - the user's own model, about to be baked into their image
    except Exception as exc:  # noqa: BLE001
        raise BadInput(f"{model_file}: cannot be loaded as a pickle here: {exc.__class__.__name__}: {exc}",
                       hint="The build host needs the model's libraries (e.g. scikit-learn) to read its features; "
                            "or give build.schema explicitly.") from None
    names = getattr(estimator, "feature_names_in_", None)
    return [str(n) for n in names] if names is not None else None


def input_schema(ws: "Workspace", model_file: Path) -> list[Field]:
    """Explicit build.schema, else inferred from build.sample and the model's features."""
    cfg = ws.config.build
    try:
        if cfg.schema_file:
            path = ws.root / cfg.schema_file
            if not path.is_file():
                raise BadInput(f"build.schema: {path} not found")
            return parse_schema(json.loads(path.read_text(encoding="utf-8")))
        if not cfg.sample:
            raise BadInput("build.sample is not set: the input schema is inferred from example rows",
                           hint="Set build.sample to a CSV/Parquet file of model inputs (e.g. the holdout split), "
                                "or build.schema to a JSON schema file.")
        frame = read_table(ws.dvc_root / cfg.sample)
        dtypes = {str(c): frame[c].dtype.kind for c in frame.columns}
        nullable = [str(c) for c in frame.columns if frame[c].isna().any()]
        return infer_fields(dtypes, nullable, only=model_features(model_file))
    except SchemaError as exc:
        raise BadInput(f"{cfg.schema_file or cfg.sample}: {exc}") from None
    except ValueError as exc:
        raise BadInput(f"build.schema: {exc}") from None
