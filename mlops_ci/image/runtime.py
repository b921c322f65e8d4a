"""What the generated serving image carries besides the wheels: its runtime and its parity case.

The runtime: ONNX Runtime when the model converts (skl2onnx) *and* the
converted model answers like the pickle on the sample rows — every class
probability within ``deploy.smoke.tolerance``, the same labels — else the
pickle with the full scientific stack. ``build.runtime`` forces either side;
forcing ``onnx`` on a model that does not convert exactly is an error.

The parity case: up to ``deploy.smoke.max_rows`` rows of the smoke sample with
the offline predictions of the commit being built, stored in the image so that
every later deploy of that digest — a rollback from another checkout included —
checks the service against *its own* evaluated predictions.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.errors import BadInput
from mlops_ci.serving.schema import Field

if TYPE_CHECKING:
    from mlops_ci.registry.model_source import ModelSource
    from mlops_ci.workspace import Workspace

#: Sample rows the two runtimes are compared on (the first N of build.sample).
PARITY_ROWS = 2000


@dataclass
class RuntimeChoice:
    runtime: str  # "onnx" | "sklearn"
    note: str  # why, for the summary
    onnx_model: bytes | None = None
    classes: list[Any] | None = None


def choose_runtime(ws: "Workspace", model_file: Path, fields: list[Field], name: str, version: str) -> RuntimeChoice:
    from mlops_ci.image.onnx_export import ConversionFailed, to_onnx
    from mlops_ci.image.spec import runtime_parity
    from mlops_ci.serving.model import LoadedModel, ModelInfo

    requested = ws.config.build.runtime
    if requested == "sklearn":
        return RuntimeChoice("sklearn", "build.runtime is sklearn: the pickle with its own requirements")
    with open(model_file, "rb") as fh:
        estimator = pickle.load(fh)  # noqa: S301 - the user's own model, about to be baked into their image
    classes = [_plain(c) for c in getattr(estimator, "classes_", [])] or None
    info = ModelInfo(name=name, version=version, fields=fields, runtime="onnx", classes=classes)
    tolerance = ws.config.deploy.smoke.tolerance
    try:
        rows = _sample_rows(ws, fields)
        if not rows:
            raise ConversionFailed("no sample rows to compare the runtimes on (set build.sample)")
        data = to_onnx(estimator, fields)
        from mlops_ci.serving.onnx_model import OnnxModel

        parity = runtime_parity(LoadedModel(estimator, info).predict(rows),
                                OnnxModel.from_bytes(data, info).predict(rows), tolerance)
    except ConversionFailed as exc:
        return _fallback(requested, str(exc))
    except ImportError as exc:
        return _fallback(requested, f"ONNX Runtime is not installed on the build host ({exc.name})")
    if not parity.ok:
        return _fallback(requested, f"the converted model does not answer like the pickle: {parity.detail} "
                                    f"(tolerance {tolerance:g})")
    return RuntimeChoice("onnx", f"ONNX Runtime; parity with the pickle on {parity.detail} "
                                 f"(tolerance {tolerance:g})", data, classes)


def _fallback(requested: str, why: str) -> RuntimeChoice:
    if requested == "onnx":
        raise BadInput(f"build.runtime onnx: {why}", hint="Set build.runtime: auto to fall back to the pickle.")
    return RuntimeChoice("sklearn", f"the pickle with its own requirements ({why})")


def _sample_rows(ws: "Workspace", fields: list[Field]) -> list[dict[str, Any]]:
    from mlops_ci.deploy.smoke import _json_value
    from mlops_ci.registry.model_source import read_table

    sample = ws.config.build.sample or ws.config.deploy.smoke.sample
    if not sample:
        return []
    frame = read_table(ws.dvc_root / sample).head(PARITY_ROWS)
    names = [f.name for f in fields]
    return [{n: _json_value(row.get(n)) for n in names} for row in frame.to_dict("records")]


def parity_document(ws: "Workspace", source: "ModelSource", fields: list[Field],
                    sha: str) -> tuple[dict[str, Any] | None, str]:
    """(the parity case to bake in, or None; a line for the summary saying which or why not)."""
    from mlops_ci.deploy.run import checkout_tables, parity_case
    from mlops_ci.deploy.smoke import case_document

    cfg = ws.config.deploy.smoke
    if not ws.config.build.embed_parity or not cfg.enabled:
        return None, "not embedded (build.embed_parity or deploy.smoke.enabled is false)"
    sample_path = cfg.sample or ws.config.build.sample
    predictions_path = cfg.predictions or ws.config.registry.predictions
    if not (sample_path and predictions_path and cfg.id_column):
        return None, "not embedded: set deploy.smoke.id_column (and build.sample, registry.predictions)"
    if source.registered and source.revision != sha:
        return None, (f"not embedded: {source.uri} was trained at commit {(source.revision or '?')[:12]}, the "
                      f"checkout's predictions are those of {sha[:12]}")
    sample, preds = checkout_tables(ws, sample_path, predictions_path)
    case = parity_case(ws, sample, preds, [f.name for f in fields])
    if not case.rows:
        raise BadInput(f"deploy.smoke: no row of {sample_path} has a prediction in {predictions_path} "
                       f"(joined on {cfg.id_column} = {cfg.predictions_id_column})")
    return (case_document(case, revision=sha, sample=sample_path, predictions=predictions_path),
            f"{len(case.rows)} rows of `{sample_path}` with their predictions in `{predictions_path}` (commit "
            f"{sha[:12]})")


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)
    return item() if callable(item) else value
