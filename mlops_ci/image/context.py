"""The directory `docker build` receives for the generated Dockerfile.

    Dockerfile
    wheels/        every wheel the image installs, plus pip's own and requirements.txt (the exact list)
    app/mlops_ci/  __init__.py and serving/ — the server, nothing else of mlops-ci
    model/         model.pkl (runtime sklearn) or model.onnx (runtime onnx), serving.json (name, version,
                   schema, runtime, classes), smoke.json (the parity case), the model's side files

Only files, no network: the wheels come from :mod:`mlops_ci.image.wheelhouse`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import mlops_ci
from mlops_ci.image.spec import DockerfileSpec, render_dockerfile
from mlops_ci.serving import PARITY_FILE, SERVING_FILE
from mlops_ci.serving.schema import Field, schema_document

#: Files of the model directory that never go into the image (MLflow environment files).
_SKIP = {"conda.yaml", "python_env.yaml", "requirements.txt", "MLmodel", "mlops-ci.json"}


def write_context(context: Path, *, wheels: Path, requirements: list[str],
                  model_dir: Path, model_name: str, model_version: str, model_uri: str, fields: list[Field],
                  base_image: str, pip_wheel: str, max_batch: int, runtime: str = "sklearn",
                  onnx_model: bytes | None = None, classes: list[Any] | None = None,
                  parity_case: dict[str, Any] | None = None) -> Path:
    """Lay out ``context``; returns the Dockerfile path."""
    from mlops_ci.image.wheelhouse import copy_wheels

    context.mkdir(parents=True, exist_ok=True)
    copy_wheels(wheels, context / "wheels")
    (context / "wheels" / "requirements.txt").write_text("\n".join(requirements) + "\n", encoding="utf-8")

    package = Path(mlops_ci.__file__).parent
    app = context / "app" / "mlops_ci"
    (app / "serving").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(package / "__init__.py", app / "__init__.py")
    for module in sorted((package / "serving").glob("*.py")):
        shutil.copyfile(module, app / "serving" / module.name)

    model = context / "model"
    model.mkdir(parents=True, exist_ok=True)
    skip = _SKIP | ({"model.pkl"} if runtime == "onnx" else set())  # the onnx image cannot read a pickle anyway
    for item in sorted(model_dir.iterdir()):
        if item.is_file() and item.name not in skip:
            shutil.copyfile(item, model / item.name)
    if runtime == "onnx":
        if onnx_model is None:
            raise ValueError("runtime onnx needs the converted model")
        (model / "model.onnx").write_bytes(onnx_model)
    serving = {"model": {"name": model_name, "version": model_version, "source": model_uri, "classes": classes},
               "schema": schema_document(fields), "max_batch": max_batch, "runtime": runtime}
    (model / SERVING_FILE).write_text(json.dumps(serving, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if parity_case is not None:
        (model / PARITY_FILE).write_text(json.dumps(parity_case, sort_keys=True) + "\n", encoding="utf-8")

    dockerfile = context / "Dockerfile"
    dockerfile.write_text(render_dockerfile(DockerfileSpec(base_image=base_image, pip_wheel=pip_wheel,
                                                           runtime=runtime)), encoding="utf-8")
    (context / ".dockerignore").write_text("**/__pycache__\n**/*.pyc\n", encoding="utf-8")
    return dockerfile
