"""Serving a scikit-learn model converted to ONNX, with ONNX Runtime and numpy only.

Why: the pickle needs scikit-learn, scipy and pandas at serving time (about
200 MB of the image); ONNX Runtime needs numpy and itself. `mlops-ci build`
converts the model with skl2onnx and keeps the conversion only when it
reproduces the pickle's predictions on the sample rows within the smoke
tolerance — otherwise the image serves the pickle as before.

The converted graph takes one input per column for a model fitted on a
DataFrame (strings as string tensors, numbers as float32), or one float
matrix in schema order for a model fitted on an array. It answers with the
class probabilities (``zipmap`` off); predictions take the most probable
class, the same rule :class:`mlops_ci.serving.model.LoadedModel` uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from mlops_ci.serving.model import predictions_from_proba

if TYPE_CHECKING:
    from mlops_ci.serving.model import ModelInfo

MODEL_FILE = "model.onnx"
#: numpy dtypes of the ONNX tensor types a converted scikit-learn model takes.
_NUMERIC = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(int64)": "int64"}


class OnnxModel:
    def __init__(self, session: Any, info: "ModelInfo") -> None:
        if not info.classes:
            raise ValueError("serving.json: an ONNX classifier needs model.classes")
        self.session = session
        self.info = info
        self.columns = [f.name for f in info.fields]
        self.classes = list(info.classes)
        self.inputs = [(i.name, i.type, i.shape) for i in session.get_inputs()]
        outputs = [o.name for o in session.get_outputs()]
        self.proba_output = "probabilities" if "probabilities" in outputs else outputs[-1]

    @classmethod
    def load(cls, model_dir: Path, info: "ModelInfo") -> "OnnxModel":
        return cls.from_bytes((model_dir / MODEL_FILE).read_bytes(), info)

    @classmethod
    def from_bytes(cls, data: bytes, info: "ModelInfo") -> "OnnxModel":
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # One request's rows are few: a thread pool per request costs more than it saves, and the
        # container's CPU quota is shared with the web server.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        return cls(onnxruntime.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"]),
                   info)

    def feeds(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        import numpy as np

        if len(self.inputs) == 1 and self.inputs[0][0] not in self.columns:  # fitted on an array: one matrix
            name, kind, _shape = self.inputs[0]
            matrix = [[_number(row.get(c)) for c in self.columns] for row in rows]
            return {name: np.asarray(matrix, dtype=_NUMERIC.get(kind, "float32"))}
        feeds = {}
        for name, kind, _shape in self.inputs:
            values = [row.get(name) for row in rows]
            if kind == "tensor(string)":
                feeds[name] = np.asarray(["" if v is None else str(v) for v in values], dtype=object).reshape(-1, 1)
            else:
                feeds[name] = np.asarray([_number(v) for v in values], dtype=_NUMERIC.get(kind, "float32")
                                         ).reshape(-1, 1)
        return feeds

    def predict(self, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        (proba,) = self.session.run([self.proba_output], self.feeds(rows))
        return predictions_from_proba(self.classes, proba)


def _number(value: Any) -> float:
    return float("nan") if value is None else float(value)
