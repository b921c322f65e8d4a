"""The `gate:` section of `.mlops-ci.yml`: what a challenger must do to replace the champion.

The root config (`mlops_ci.config`) embeds :class:`GateConfig` under ``gate:``,
so this module imports pydantic and nothing heavy: `mlops-ci --help` and the
JSON Schema export must not pay for numpy or scipy. Everything that can be
wrong with a rule (a percentage written as words, a native key in MLflow mode,
a significance test on a metric we cannot recompute) is rejected here, at load
time, with a sentence that says what was expected, so evaluation never has to
guess; the gate then only fails for reasons about the *model*.

Two rule dialects, chosen by ``gate.mode``:

* ``native`` (default): ``min``/``max`` floors and ceilings, ``min_delta``,
  ``max_regression`` (absolute or ``"1%"`` of the champion), ``min_ratio``.
* ``mlflow``: ``threshold``/``min_absolute_change``/``min_relative_change``/
  ``greater_is_better`` with MLflow's exact `MetricThreshold` semantics
  (see :mod:`mlops_ci.gate.mlflow_compat`).

Both accept ``significance:`` (paired bootstrap / McNemar on per-example
predictions); ``gate.fairness`` adds four-fifths rules on a group column.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

Direction = Literal["higher", "lower"]
MetricFn = Literal["accuracy", "error_rate", "precision", "recall", "f1", "auc", "log_loss", "brier",
                   "mae", "mse", "rmse"]

#: Direction of each metric function the significance tests can recompute from predictions.
METRIC_FN_DIRECTION: dict[str, Direction] = {
    "accuracy": "higher", "precision": "higher", "recall": "higher", "f1": "higher", "auc": "higher",
    "error_rate": "lower", "log_loss": "lower", "brier": "lower", "mae": "lower", "mse": "lower", "rmse": "lower",
}
#: Common spellings of metric names mapped to the metric function that recomputes them.
METRIC_FN_ALIASES: dict[str, str] = {
    "roc_auc": "auc", "auroc": "auc", "roc_auc_score": "auc", "acc": "accuracy", "accuracy_score": "accuracy",
    "f1_score": "f1", "precision_score": "precision", "recall_score": "recall", "logloss": "log_loss",
    "brier_score": "brier", "brier_score_loss": "brier", "error": "error_rate", "mean_absolute_error": "mae",
    "mean_squared_error": "mse", "root_mean_squared_error": "rmse",
}

NATIVE_KEYS = ("min", "max", "min_delta", "max_regression", "min_ratio")
MLFLOW_KEYS = ("threshold", "min_absolute_change", "min_relative_change")
_PERCENT = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+))\s*%\s*$")
_AMOUNT_HELP = ("a number (an absolute amount in the metric's unit, e.g. 0.01) or a percentage of the "
                "champion's value as a string (e.g. \"1%\")")

PercentStr = Annotated[str, Field(pattern=r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*%\s*$")]
Amount = Union[float, PercentStr]


def parse_amount(value: float | str) -> tuple[float, bool]:
    """``0.01`` -> ``(0.01, False)`` (absolute); ``"1%"`` -> ``(0.01, True)`` (fraction of |champion|)."""
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if match is None:
            raise ValueError(f"expected {_AMOUNT_HELP}, got {value!r}")
        return float(match.group(1)) / 100.0, True
    return float(value), False


def resolve_metric_fn(metric: str) -> str | None:
    """The metric function a metric name denotes (``test.roc_auc`` -> ``auc``), or None."""
    last = re.split(r"[./:]", metric.strip().lower())[-1]
    if last in METRIC_FN_DIRECTION:
        return last
    return METRIC_FN_ALIASES.get(last)


def invalid(message: str) -> PydanticCustomError:
    """A validation error whose text is exactly ``message`` (no "Value error, " prefix): the root config
    prints it after the file, line and key, so it must read as the end of that sentence."""
    return PydanticCustomError("mlops_ci_config", message)


def _finite_number(value: Any, what: str) -> Any:
    """Reject booleans (YAML `yes`) and NaN/inf before pydantic coerces them into floats."""
    if isinstance(value, bool):
        raise invalid(f"expected a number for {what}, got a boolean")
    if isinstance(value, float) and not math.isfinite(value):
        raise invalid(f"expected a finite number for {what}")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class SignificanceSpec(_Model):
    """Opt-in statistical test on per-example predictions of champion and challenger (same rows)."""

    test: Literal["bootstrap", "mcnemar"] = Field(
        "bootstrap", description="`bootstrap`: paired bootstrap confidence interval of the difference "
        "(challenger − champion) of `metric_fn`. `mcnemar`: McNemar's test on the discordant pairs (accuracy only; "
        "exact binomial below 25 discordant pairs, chi² with continuity correction above).")
    require: Literal["improvement", "no_regression"] = Field(
        "improvement", description="`improvement`: the challenger must be significantly better at `alpha` (the "
        "whole (1−alpha) interval on the better side of 0). `no_regression`: it must not be significantly worse.")
    alpha: Optional[float] = Field(None, gt=0, lt=0.5,
                                   description="Significance level; default `gate.significance.alpha`.")
    resamples: Optional[int] = Field(None, ge=100, le=200_000,
                                     description="Bootstrap resamples; default `gate.significance.resamples`.")
    seed: Optional[int] = Field(None, ge=0, description="Bootstrap random seed; default `gate.significance.seed`.")
    metric_fn: Optional[MetricFn] = Field(
        None, description="Metric recomputed on each resample. Default: inferred from the rule's metric name "
        "(`auc`, `test.accuracy`, `f1_score`, …); required when the name says nothing.")

    @model_validator(mode="after")
    def _mcnemar_is_for_accuracy(self) -> "SignificanceSpec":
        if self.test == "mcnemar" and self.metric_fn not in (None, "accuracy", "error_rate"):
            raise invalid(f"test: mcnemar compares per-row correctness, so it tests accuracy only; "
                             f"got metric_fn: {self.metric_fn} (use test: bootstrap for it)")
        return self


class SignificanceDefaults(_Model):
    """Defaults for every rule's `significance:` block."""

    alpha: float = Field(0.05, gt=0, lt=0.5, description="Significance level of the tests.")
    resamples: int = Field(2000, ge=100, le=200_000, description="Paired bootstrap resamples.")
    seed: int = Field(0, ge=0, description="Random seed of the bootstrap: the same inputs give the same interval.")


class PredictionColumns(_Model):
    """Column names of the per-example predictions files (the example project's `eval/predictions.csv`)."""

    id: str = Field("row_id", description="Row identifier; champion and challenger rows are joined on it.")
    label: str = Field("y_true", description="Ground truth.")
    score: str = Field("y_score", description="Predicted probability of the positive class (auc, log_loss, brier).")
    prediction: str = Field("y_pred", description="Predicted label (accuracy, f1, …; fairness) or value (mae, mse, "
                            "rmse). When absent, labels are `score >= threshold`.")
    positive_label: Union[int, str] = Field(1, description="Value of the positive class in label/prediction columns.")
    threshold: float = Field(0.5, ge=0, le=1,
                             description="Decision threshold used when the prediction column is absent.")


class Rule(_Model):
    """One metric, one or more checks. A check that needs the champion is skipped when there is none."""

    metric: str = Field(..., min_length=1, description="Metric key, flattened with dots as DVC shows it "
                        "(e.g. `auc`, `fairness.disparate_impact`, `latency_p95_ms`).")
    direction: Optional[Direction] = Field(
        None, description="Which way is better. Default: `metrics.direction` / name heuristics. Needed by checks "
        "that compare with the champion.")
    description: Optional[str] = Field(None, description="Why this rule exists; shown with failures.")
    optional: bool = Field(False, description="When the metric is missing on either side, skip instead of failing.")
    # native mode
    min: Optional[float] = Field(None, description="Floor: the challenger's value must be >= min (native mode).")
    max: Optional[float] = Field(None, description="Ceiling: the challenger's value must be <= max (native mode).")
    min_delta: Optional[Amount] = Field(
        None, description="Must beat the champion by at least this much in the better direction: a number, or "
        "a percentage of |champion| such as \"2%\". Negative values tolerate a small loss (native mode).")
    max_regression: Optional[Amount] = Field(
        None, description="May be worse than the champion by at most this much: a number, or a percentage of "
        "|champion| such as \"1%\" (native mode).")
    min_ratio: Optional[float] = Field(
        None, gt=0, description="Higher is better: challenger >= min_ratio × champion. Lower is better: "
        "min_ratio × challenger <= champion. Needs a positive champion value (native mode).")
    # mlflow mode
    threshold: Optional[float] = Field(
        None, description="MLflow: candidate >= threshold (greater is better) or <= threshold (mode: mlflow).")
    min_absolute_change: Optional[float] = Field(
        None, gt=0, description="MLflow: candidate >= baseline + change (or <= baseline − change) (mode: mlflow).")
    min_relative_change: Optional[float] = Field(
        None, ge=0, le=1, description="MLflow: relative change vs |baseline| of at least this fraction, 0..1; a "
        "zero baseline only needs to be beaten by 1e-10 (mode: mlflow).")
    greater_is_better: Optional[bool] = Field(
        None, description="MLflow's spelling of direction (true = higher). Required in mode: mlflow unless "
        "`direction` is given.")
    significance: Optional[SignificanceSpec] = Field(
        None, description="Also require a statistically significant improvement (or no significant regression) "
        "on per-example predictions. Shorthand: `significance: improvement`.")

    @field_validator("min", "max", "min_ratio", "threshold", "min_absolute_change", "min_relative_change",
                     mode="before")
    @classmethod
    def _numbers(cls, value: Any, info: Any) -> Any:
        return _finite_number(value, info.field_name)

    @field_validator("min_delta", "max_regression", mode="before")
    @classmethod
    def _amounts(cls, value: Any, info: Any) -> Any:
        if value is None:
            return value
        if isinstance(value, str):
            try:
                parse_amount(value)
            except ValueError:
                raise invalid(f"expected {_AMOUNT_HELP}") from None
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise invalid(f"expected {_AMOUNT_HELP}")
        return _finite_number(value, info.field_name)

    @field_validator("significance", mode="before")
    @classmethod
    def _significance_shorthand(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value not in ("improvement", "no_regression"):
                raise invalid("expected `improvement`, `no_regression` or a mapping "
                              "(test, alpha, require, resamples, seed, metric_fn)")
            return {"require": value}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Rule":
        if not self.checks():
            raise invalid(f"rule for '{self.metric}' checks nothing: give at least one of "
                             f"{', '.join(NATIVE_KEYS + MLFLOW_KEYS)} or significance")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise invalid(f"rule for '{self.metric}': min ({self.min}) is above max ({self.max}); nothing can pass")
        if self.max_regression is not None and parse_amount(self.max_regression)[0] < 0:
            raise invalid(f"rule for '{self.metric}': max_regression must be >= 0 (it is an allowance); "
                             f"to demand an improvement use min_delta")
        if self.direction is not None and self.greater_is_better is not None and \
                (self.direction == "higher") != self.greater_is_better:
            raise invalid(f"rule for '{self.metric}': direction: {self.direction} contradicts "
                             f"greater_is_better: {str(self.greater_is_better).lower()}")
        if self.significance is not None:
            spec = self.significance
            fn = spec.metric_fn or ("accuracy" if spec.test == "mcnemar" else resolve_metric_fn(self.metric))
            if fn is None:
                raise invalid(f"rule for '{self.metric}': significance.metric_fn is required because the metric "
                                 f"name does not say how to recompute it; one of {', '.join(METRIC_FN_DIRECTION)}")
            spec.metric_fn = fn  # type: ignore[assignment]
            better = self.better()
            if better is not None and better != METRIC_FN_DIRECTION[fn]:
                raise invalid(f"rule for '{self.metric}': significance.metric_fn {fn} is "
                                 f"{METRIC_FN_DIRECTION[fn]}-is-better but the rule says {better}-is-better")
        return self

    def better(self) -> Direction | None:
        """The configured direction, from `direction` or `greater_is_better`."""
        if self.direction is not None:
            return self.direction
        if self.greater_is_better is not None:
            return "higher" if self.greater_is_better else "lower"
        return None

    def checks(self) -> list[str]:
        """Names of the checks this rule asks for, in evaluation order."""
        names = [k for k in NATIVE_KEYS + MLFLOW_KEYS if getattr(self, k) is not None]
        return names + (["significance"] if self.significance is not None else [])


class FairnessRule(_Model):
    """Four-fifths rule: every group's selection rate is at least `min_ratio` × the highest group's."""

    group_column: str = Field(..., min_length=1, description="Column of the predictions file holding the group "
                              "(e.g. `segment`).")
    min_ratio: float = Field(0.8, gt=0, le=1, description="Lowest allowed disparate-impact ratio (four-fifths = 0.8).")
    min_group_size: int = Field(1, ge=1, description="Groups with fewer rows are reported but not compared.")
    optional: bool = Field(False, description="Skip instead of failing when the predictions or column are missing.")


class GateConfig(_Model):
    """The `gate:` section: champion–challenger rules, evaluated into one check run."""

    enabled: bool = Field(True, description="When false the check is still reported (neutral), so a required "
                          "check never hangs.")
    mode: Literal["native", "mlflow"] = Field(
        "native", description="`native`: min/max/min_delta/max_regression/min_ratio. `mlflow`: threshold/"
        "min_absolute_change/min_relative_change/greater_is_better with MLflow's exact MetricThreshold semantics.")
    on_no_champion: Literal["pass", "fail"] = Field(
        "pass", description="First model, nothing to compare with: checks that need a champion pass with reason "
        "\"no champion yet\" (`pass`) or fail (`fail`). Floors and ceilings always apply.")
    rules: list[Rule] = Field(default_factory=list, description="Per-metric rules.")
    significance: SignificanceDefaults = Field(default_factory=SignificanceDefaults,
                                               description="Defaults for the rules' `significance:` blocks.")
    predictions: PredictionColumns = Field(default_factory=PredictionColumns,
                                           description="Columns of the per-example predictions files.")
    fairness: list[FairnessRule] = Field(default_factory=list, description="Disparate-impact (four-fifths) rules.")

    @field_validator("fairness", mode="before")
    @classmethod
    def _one_fairness_rule(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @field_validator("rules")
    @classmethod
    def _dialect(cls, rules: list[Rule], info: Any) -> list[Rule]:
        mode = info.data.get("mode", "native")
        for i, rule in enumerate(rules):
            where = f"rules[{i}] (metric '{rule.metric}')"
            if mode == "native":
                foreign = [k for k in MLFLOW_KEYS + ("greater_is_better",) if getattr(rule, k) is not None]
                if foreign:
                    raise invalid(
                        f"{where}: {', '.join(foreign)} belong to `mode: mlflow`; set gate.mode: mlflow, or use the "
                        f"native keys (threshold -> min/max, min_absolute_change -> min_delta, "
                        f"min_relative_change -> min_delta: \"N%\", greater_is_better -> direction)")
            else:
                foreign = [k for k in NATIVE_KEYS if getattr(rule, k) is not None]
                if foreign:
                    raise invalid(f"{where}: {', '.join(foreign)} are native-mode keys; with gate.mode: mlflow use "
                                     f"threshold, min_absolute_change, min_relative_change, greater_is_better")
                if rule.optional:
                    raise invalid(f"{where}: `optional` does not exist in MLflow's MetricThreshold; "
                                     f"use gate.mode: native for optional metrics")
                if rule.better() is None:
                    raise invalid(f"{where}: greater_is_better (or direction) is required in mode: mlflow, "
                                     f"as MetricThreshold requires it")
                if not any(getattr(rule, k) is not None for k in MLFLOW_KEYS) and rule.significance is None:
                    raise invalid(f"{where}: no threshold was specified (threshold, min_absolute_change or "
                                     f"min_relative_change)")
        return rules

    def is_empty(self) -> bool:
        """True when there is nothing to gate (the check is then reported neutral)."""
        return not self.rules and not self.fairness
