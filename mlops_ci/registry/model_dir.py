"""An MLflow model directory written directly, without `mlflow.sklearn.log_model`.

`log_model` infers pip requirements by importing and tracing the model (~7 s
here) and imports scikit-learn (~3 s). We know what the model needs, so we
write the same layout MLflow would — MLmodel with the `sklearn` and
`python_function` flavors, the pickle, explicit requirements — and
`mlflow.pyfunc.load_model` reads it like any other.
"""

from __future__ import annotations

import json
import platform
import shutil
import uuid
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Iterable

import yaml

from mlops_ci.errors import BadInput

#: What a scikit-learn model needs at serving time (pinned to this environment's versions).
DEFAULT_REQUIREMENTS = ("scikit-learn", "numpy", "pandas", "scipy", "cloudpickle")


def pinned(names: Iterable[str]) -> list[str]:
    out = []
    for name in names:
        if any(op in name for op in "=<>~!"):
            out.append(name)
            continue
        try:
            out.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(name)
    return out


def write_sklearn_model(model_file: Path, dst: Path, requirements: list[str], *,
                        serialization: str = "cloudpickle", extra_files: Iterable[Path] = ()) -> Path:
    """Lay out ``dst`` as an MLflow sklearn model; returns ``dst``."""
    if not model_file.is_file():
        raise BadInput(f"{model_file}: model file not found",
                       hint="Set `registry.model_path` in .mlops-ci.yml to the pickle your pipeline writes.")
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_file, dst / "model.pkl")
    for extra in extra_files:
        if extra.is_file():
            shutil.copyfile(extra, dst / extra.name)
    mlflow_version = _version("mlflow")
    python = platform.python_version()
    reqs = [f"mlflow=={mlflow_version}", *requirements] if mlflow_version else list(requirements)
    (dst / "requirements.txt").write_text("\n".join(reqs) + "\n", encoding="utf-8")
    (dst / "python_env.yaml").write_text(yaml.safe_dump(
        {"python": python, "build_dependencies": ["pip"], "dependencies": ["-r requirements.txt"]}), encoding="utf-8")
    (dst / "conda.yaml").write_text(yaml.safe_dump(
        {"channels": ["conda-forge"], "dependencies": [f"python={python}", "pip", {"pip": reqs}],
         "name": "mlflow-env"}), encoding="utf-8")
    size = (dst / "model.pkl").stat().st_size
    mlmodel = {
        "flavors": {
            "python_function": {"env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
                                "loader_module": "mlflow.sklearn", "model_path": "model.pkl",
                                "predict_fn": "predict", "python_version": python},
            "sklearn": {"code": None, "pickled_model": "model.pkl", "serialization_format": serialization,
                        "sklearn_version": _version("scikit-learn")},
        },
        "mlflow_version": mlflow_version,
        "model_size_bytes": size,
        "model_uuid": uuid.uuid4().hex,
        "utc_time_created": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f"),
    }
    (dst / "MLmodel").write_text(yaml.safe_dump(mlmodel, sort_keys=False), encoding="utf-8")
    (dst / "mlops-ci.json").write_text(json.dumps({"written_by": "mlops-ci", "requirements": reqs}) + "\n")
    return dst


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
