"""`evaluate_gate`: config + champion + challenger in, one :class:`GateVerdict` out. Never raises on data.

The gate is a required check: if it crashed, the check would go missing and
block every merge; if it passed on an error, a broken model would ship. So
every failure inside evaluation becomes a *failing* verdict that carries the
reason (fail closed): a whole-gate error becomes a single error row, and an
error in one significance test or fairness rule fails that row only, so the
other rows still tell the reviewer what they need. Bad configuration is not
handled here: it is rejected when `.mlops-ci.yml` is validated (exit code 2).

numpy is imported only when predictions are actually used (significance,
fairness), keeping a metrics-only gate fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Union

from mlops_ci.gate.config import FairnessRule, GateConfig, Rule
from mlops_ci.gate.mlflow_compat import evaluate_mlflow_rules
from mlops_ci.gate.results import FairnessResult, RuleResult, SignificanceResult, fmt
from mlops_ci.gate.rules import evaluate_rules, no_champion_result
from mlops_ci.gate.verdict import NO_CHAMPION, GateVerdict
from mlops_ci.redact import describe

DirectionOf = Callable[[str], Optional[str]]


@dataclass
class ChampionData:
    """The model to beat: flat metrics, optional per-example predictions, and where it came from.

    ``source`` is shown verbatim, e.g. "MLflow model `churn` alias champion (version 3)" or
    "base branch metrics at `abc1234`". ``predictions``: a pandas DataFrame, ``{column: values}``,
    a list of row dicts, or a numpy structured array.
    """

    metrics: Mapping[str, Any]
    source: str
    predictions: Any = None


@dataclass
class ChallengerData:
    """The model under review (this pull request's pipeline outputs)."""

    metrics: Mapping[str, Any]
    source: str = "this change"
    predictions: Any = None


def evaluate_gate(config: Union[GateConfig, Mapping[str, Any]], champion: Optional[ChampionData],
                  challenger: ChallengerData, *, direction_of: Optional[DirectionOf] = None,
                  precision: Optional[int] = None) -> GateVerdict:
    """Evaluate every rule; ``champion=None`` is the first model ("no champion yet").

    ``direction_of(metric)`` supplies a direction for rules that give none (the
    caller passes ``metrics.direction`` + name heuristics); a mapping config is
    validated first and a bad one raises pydantic's ``ValidationError``. ``precision`` is
    ``metrics.precision``: the decimals measured values get in the verdict's table and reasons.
    """
    cfg = config if isinstance(config, GateConfig) else GateConfig.model_validate(config)
    source = champion.source if champion is not None else NO_CHAMPION
    try:
        verdict = _evaluate(cfg, champion, challenger, direction_of, precision)
    except Exception as exc:  # noqa: BLE001 - fail closed, by design
        verdict = GateVerdict.from_error(describe(exc), champion_source=source, mode=cfg.mode,
                                         challenger_source=getattr(challenger, "source", ""))
    verdict.precision = precision
    return verdict


def _evaluate(cfg: GateConfig, champion: Optional[ChampionData], challenger: ChallengerData,
              direction_of: Optional[DirectionOf], precision: Optional[int] = None) -> GateVerdict:
    source = champion.source if champion is not None else NO_CHAMPION
    common: dict[str, Any] = {"champion_source": source, "mode": cfg.mode, "challenger_source": challenger.source,
                              "has_champion": champion is not None}
    if not cfg.enabled:
        return GateVerdict.from_results([], neutral_reason="Gate disabled (gate.enabled: false); nothing was checked",
                                        **common)
    if cfg.is_empty():
        return GateVerdict.from_results([], **common)
    champ_metrics = dict(champion.metrics) if champion is not None else None
    chall_metrics = dict(challenger.metrics)
    if cfg.mode == "mlflow":
        results = evaluate_mlflow_rules(cfg.rules, champ_metrics, chall_metrics, on_no_champion=cfg.on_no_champion)
    else:
        results = evaluate_rules(cfg.rules, champ_metrics, chall_metrics, on_no_champion=cfg.on_no_champion,
                                 direction_of=direction_of, precision=precision)
    significance: list[SignificanceResult] = []
    paired: dict[str, Any] = {}
    for i, rule in enumerate(cfg.rules):
        if rule.significance is not None:
            results.append(_significance_row(cfg, rule, i, champion, challenger, paired, significance))
    fairness: list[FairnessResult] = []
    for rule in cfg.fairness:
        results.append(_fairness_row(cfg, rule, champion, challenger, fairness))
    return GateVerdict.from_results(results, significance=significance, fairness=fairness, **common)


def significance_text(cfg: GateConfig, rule: Rule) -> str:
    spec = rule.significance
    assert spec is not None
    alpha = spec.alpha if spec.alpha is not None else cfg.significance.alpha
    what = "improvement significant" if spec.require == "improvement" else "no significant regression"
    return f"{what} at α={fmt(alpha)} ({spec.test}, {spec.metric_fn})"


def _significance_row(cfg: GateConfig, rule: Rule, index: int, champion: Optional[ChampionData],
                      challenger: ChallengerData, paired: dict[str, Any],
                      out: list[SignificanceResult]) -> RuleResult:
    text = significance_text(cfg, rule)

    def row(passed: bool, reason: str, skipped: bool = False) -> RuleResult:
        return RuleResult(rule.metric, "significance", text, None, None, None, passed, reason, skipped=skipped,
                          rule_index=index, direction=rule.better())

    if champion is None:
        return no_champion_result(rule, index, "significance", text, None, cfg.on_no_champion)
    for side, data in (("challenger", challenger), ("champion", champion)):
        if data.predictions is None:
            why = f"the {side} has no per-example predictions; a paired test needs both models' predictions"
            return row(True, why + " (optional: skipped)", skipped=True) if rule.optional else row(False, why)
    try:
        from mlops_ci.gate.predictions import pair
        from mlops_ci.gate.significance import evaluate_significance

        if "pair" not in paired:
            try:
                paired["pair"] = pair(champion.predictions, challenger.predictions, cfg.predictions)
            except Exception as exc:  # noqa: BLE001 - remembered so every significance row reports it
                paired["pair"] = exc
        if isinstance(paired["pair"], Exception):
            raise paired["pair"]
        assert rule.significance is not None
        result = evaluate_significance(rule.metric, rule.significance, cfg.significance, paired["pair"],
                                       cfg.predictions)
    except Exception as exc:  # noqa: BLE001 - this row fails closed; the others still report
        return row(False, f"significance test not possible: {exc}")
    out.append(result)
    return RuleResult(rule.metric, "significance", text, result.champion_value, result.challenger_value,
                      result.difference, result.passed, result.reason, rule_index=index, direction=rule.better())


def _fairness_row(cfg: GateConfig, rule: FairnessRule, champion: Optional[ChampionData],
                  challenger: ChallengerData, out: list[FairnessResult]) -> RuleResult:
    metric = f"disparate impact ({rule.group_column})"
    text = f"≥ {fmt(rule.min_ratio)} (four-fifths rule)"

    def row(passed: bool, reason: str, skipped: bool = False) -> RuleResult:
        return RuleResult(metric, "fairness", text, None, None, None, passed, reason, skipped=skipped,
                          direction="higher")

    if challenger.predictions is None:
        why = "the challenger has no per-example predictions"
        return row(True, why + " (optional: skipped)", skipped=True) if rule.optional else row(False, why)
    try:
        from mlops_ci.gate.fairness import evaluate_fairness
        from mlops_ci.gate.predictions import to_columns

        if rule.optional and rule.group_column not in to_columns(challenger.predictions, "challenger"):
            return row(True, f"no column '{rule.group_column}' in the predictions (optional: skipped)", skipped=True)
        result = evaluate_fairness(rule, challenger.predictions, cfg.predictions,
                                   champion.predictions if champion is not None else None)
    except Exception as exc:  # noqa: BLE001 - fail closed for this row
        return row(False, f"fairness check not possible: {exc}")
    out.append(result)
    delta = (result.ratio - result.champion_ratio
             if result.ratio is not None and result.champion_ratio is not None else None)
    return RuleResult(metric, "fairness", text, result.champion_ratio, result.ratio, delta, result.passed,
                      result.reason, direction="higher")
