"""Loading the baked-in model and turning validated rows into predictions.

The model directory holds ``serving.json`` (name, version, input schema, the
runtime) and either ``model.pkl`` (a pickled scikit-learn estimator, as the
pipeline wrote it or as MLflow's sklearn flavor stores it: runtime
``sklearn``) or ``model.onnx`` (the same model converted at build time, when it
reproduced the pickle's predictions: runtime ``onnx``, see
:mod:`mlops_ci.serving.onnx_model`). Both answer in the same shape. A model
that cannot be loaded leaves the server up but never ready, so an
orchestrator's health check — not a crash loop — is what stops the rollout.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from mlops_ci.serving import SERVING_FILE
from mlops_ci.serving.schema import Field, parse_schema


@dataclass
class ModelInfo:
    name: str
    version: str
    fields: list[Field]
    source: str = ""
    max_batch: int = 1000
    runtime: str = "sklearn"
    classes: list[Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, model_dir: Path) -> "ModelInfo":
        doc = json.loads((model_dir / SERVING_FILE).read_text(encoding="utf-8"))
        model = doc.get("model") or {}
        return cls(name=str(model.get("name") or "model"), version=str(model.get("version") or "unknown"),
                   fields=parse_schema(doc.get("schema") or {}), source=str(model.get("source") or ""),
                   max_batch=int(doc.get("max_batch") or 1000), runtime=str(doc.get("runtime") or "sklearn"),
                   classes=model.get("classes"))


def load_model(model_dir: Path, info: ModelInfo) -> Any:
    """The model in the runtime ``serving.json`` names: anything with ``predict(rows)``."""
    if info.runtime == "onnx":
        from mlops_ci.serving.onnx_model import OnnxModel

        return OnnxModel.load(model_dir, info)
    return LoadedModel.load(model_dir, info)


def predictions_from_proba(classes: Sequence[Any], proba: Any) -> list[dict[str, Any]]:
    """``{"prediction", "probabilities", "score"?}`` per row of class probabilities (whatever computed them)."""
    out: list[dict[str, Any]] = []
    for row in proba:
        values = [float(p) for p in row]
        best = max(range(len(values)), key=lambda i: values[i])
        item: dict[str, Any] = {"prediction": classes[best],
                                "probabilities": {str(c): p for c, p in zip(classes, values)}}
        if len(classes) == 2:
            item["score"] = values[1]
        out.append(item)
    return out


class LoadedModel:
    """A fitted estimator plus what is needed to feed it rows in training order."""

    def __init__(self, estimator: Any, info: ModelInfo) -> None:
        self.estimator = estimator
        self.info = info
        self.columns = [f.name for f in info.fields]
        names = getattr(estimator, "feature_names_in_", None)
        #: Estimators fitted on a DataFrame select columns by name (a ColumnTransformer does): give them one.
        self.wants_frame = names is not None
        classes = getattr(estimator, "classes_", None)
        self.classes = [_plain(c) for c in classes] if classes is not None else None
        self.has_proba = callable(getattr(estimator, "predict_proba", None)) and self.classes is not None

    @classmethod
    def load(cls, model_dir: Path, info: ModelInfo) -> "LoadedModel":
        with open(model_dir / "model.pkl", "rb") as fh:
            estimator = pickle.load(fh)  # noqa: S301 - the model baked into this image at build time
        if not callable(getattr(estimator, "predict", None)):
            raise TypeError(f"model.pkl holds a {type(estimator).__name__}, which has no predict()")
        return cls(estimator, info)

    def _matrix(self, rows: Sequence[Mapping[str, Any]]) -> Any:
        if self.wants_frame:
            import pandas as pd

            return pd.DataFrame([{c: row.get(c) for c in self.columns} for row in rows], columns=self.columns)
        import numpy as np

        return np.asarray([[row.get(c) for c in self.columns] for row in rows], dtype=float)

    def predict(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """One ``{"prediction", "score"?, "probabilities"?}`` per row, JSON-ready."""
        matrix = self._matrix(rows)
        if self.has_proba:
            assert self.classes is not None
            return predictions_from_proba(self.classes, self.estimator.predict_proba(matrix))
        return [{"prediction": _plain(value)} for value in self.estimator.predict(matrix)]


def _plain(value: Any) -> Any:
    """numpy scalars to Python (JSON) scalars."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value
