"""Converting a fitted scikit-learn classifier to ONNX with skl2onnx, on the build host.

Only the conversion lives here; whether the image uses it is decided by
comparing what the two runtimes predict (:func:`mlops_ci.image.spec.runtime_parity`).
The graph gets one input per column for a model fitted on a DataFrame
(numbers as float32 — what tree ensembles compare in anyway —, strings as
strings), or one float matrix for a model fitted on an array; ``zipmap`` off,
so probabilities come back as a plain matrix.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

from mlops_ci.serving.schema import Field


class ConversionFailed(Exception):
    """The model cannot be served through ONNX Runtime (the reason is shown, the build falls back)."""


def to_onnx(estimator: Any, fields: Sequence[Field]) -> bytes:
    try:
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    except ImportError:
        raise ConversionFailed("skl2onnx is not installed on the build host (pip install 'mlops-ci[docker]')") \
            from None
    if getattr(estimator, "classes_", None) is None or not callable(getattr(estimator, "predict_proba", None)):
        raise ConversionFailed(f"{type(estimator).__name__} is not a classifier with predict_proba")
    if any(f.type == "boolean" for f in fields):
        raise ConversionFailed("boolean inputs are not converted")
    if getattr(estimator, "feature_names_in_", None) is not None:
        inputs = [(f.name, StringTensorType([None, 1]) if f.type == "string" else FloatTensorType([None, 1]))
                  for f in fields]
    elif all(f.type in ("number", "integer") for f in fields):
        inputs = [("input", FloatTensorType([None, len(fields)]))]
    else:
        raise ConversionFailed("a model fitted on an array with string inputs is not converted")
    try:
        with _ints_not_bools():
            # a fixed graph name (the default is a random uuid): the same model gives the same bytes, and the
            # image layer that holds it comes from the build cache
            model = convert_sklearn(estimator, name="mlops-ci", initial_types=inputs,
                                    options={id(estimator): {"zipmap": False}})
    except Exception as exc:  # noqa: BLE001 - any converter error means "serve the pickle"
        raise ConversionFailed(f"skl2onnx: {exc.__class__.__name__}: {str(exc).splitlines()[0][:200]}") from None
    return model.SerializeToString()


@contextlib.contextmanager
def _ints_not_bools() -> Iterator[None]:
    """skl2onnx passes numpy booleans in integer-list attributes (a tree's missing-value routing), which
    protobuf 5+ refuses ("Expected an int, got a boolean"); the same values as 0/1 are what ONNX means."""
    import numpy as np
    import skl2onnx.common._container as container

    original = container.make_node

    def make_node(*args: Any, **attrs: Any) -> Any:
        for key, value in attrs.items():
            if isinstance(value, (list, tuple)) and any(isinstance(v, (bool, np.bool_)) for v in value):
                attrs[key] = [int(v) for v in value]
        return original(*args, **attrs)

    container.make_node = make_node
    try:
        yield
    finally:
        container.make_node = original
