"""Champion–challenger gate: pure domain code (data in, a :class:`GateVerdict` out).

Modules: ``config`` (the `gate:` section, pydantic only), ``rules`` (native
checks), ``mlflow_compat`` (MLflow `MetricThreshold` semantics), ``significance``
and ``metricfns`` (paired bootstrap, McNemar), ``fairness`` (four-fifths rule),
``predictions`` (per-example tables, paired by row id), ``verdict`` (JSON,
Markdown, annotations), ``evaluate`` (the entry point).

Names are resolved lazily so that importing ``mlops_ci.gate.config`` (which the
root config does) costs only pydantic; numpy is loaded only when predictions
are used.
"""

from importlib import import_module
from typing import Any

_EXPORTS = {
    "GateConfig": "config", "Rule": "config", "SignificanceSpec": "config", "FairnessRule": "config",
    "PredictionColumns": "config", "SignificanceDefaults": "config",
    "RuleResult": "results", "SignificanceResult": "results", "FairnessResult": "results",
    "GateVerdict": "verdict", "render_markdown": "verdict", "annotation_specs": "verdict", "annotations": "verdict",
    "batch_annotations": "verdict", "headline": "verdict",
    "ChampionData": "evaluate", "ChallengerData": "evaluate", "evaluate_gate": "evaluate",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mlops_ci.gate' has no attribute {name!r}")
    return getattr(import_module(f"mlops_ci.gate.{module}"), name)
