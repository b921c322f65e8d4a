"""What each gate check found: plain, JSON-ready records shared by every part of the gate.

Kept apart from the code that computes them so the verdict (and whoever reads
`gate.json` later, e.g. `promote` re-checking a version) can load results
without importing numpy. Non-finite numbers become ``None`` in JSON: GitHub
and most JSON parsers reject ``NaN``, and the reason text still says what the
value was.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping, Optional, TypeVar

from mlops_ci.numfmt import at_precision, significant

T = TypeVar("T")


def finite_or_none(value: Any) -> Any:
    """``NaN``/``inf`` -> ``None`` so the record stays strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def fmt(value: Optional[float], digits: int = 6, precision: Optional[int] = None) -> str:
    """Short human form of a number: ``precision`` decimals (``metrics.precision``) when given, else 6
    significant digits; plain decimals with thousands separators, never ``5e+07`` (see mlops_ci.numfmt)."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if precision is not None:
        return at_precision(value, precision)
    return significant(value, digits)


def fmt_signed(value: Optional[float], precision: Optional[int] = None) -> str:
    """Like :func:`fmt` with an explicit ``+`` for positive numbers (deltas)."""
    if value is None:
        return "—"
    text = fmt(value, precision=precision)
    return text if text.startswith("-") or text == "0" or not math.isfinite(value) else "+" + text


def _from_mapping(cls: type[T], data: Mapping[str, Any]) -> T:
    """Build a dataclass from a dict, ignoring keys from newer writers (forward compatible)."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class RuleResult:
    """One check of one rule: a row of the verdict table.

    ``check`` names the kind (``min``, ``max_regression``, ``threshold``,
    ``significance``, ``fairness``, ``missing``, ``error`` …), ``rule`` is the
    human text of the requirement, ``delta`` is challenger − champion (raw, not
    direction-adjusted), ``skipped`` marks a pass that checked nothing (optional
    metric missing, no champion yet).
    """

    metric: str
    check: str
    rule: str
    champion: Optional[float]
    challenger: Optional[float]
    delta: Optional[float]
    passed: bool
    reason: str
    skipped: bool = False
    rule_index: Optional[int] = None
    direction: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        return {k: finite_or_none(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "RuleResult":
        return _from_mapping(cls, data)


@dataclass
class SignificanceResult:
    """A paired test of challenger vs champion on the same rows, with its interval."""

    metric: str
    metric_fn: str
    test: str
    require: str
    alpha: float
    n_rows: int
    champion_value: Optional[float]
    challenger_value: Optional[float]
    difference: Optional[float]
    ci_low: Optional[float]
    ci_high: Optional[float]
    confidence: float
    passed: bool
    reason: str
    p_value: Optional[float] = None
    resamples: Optional[int] = None
    seed: Optional[int] = None
    discordant: Optional[dict[str, int]] = None
    method: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: finite_or_none(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SignificanceResult":
        return _from_mapping(cls, data)


@dataclass
class FairnessResult:
    """Selection rate per group and the disparate-impact ratio (lowest rate / highest rate)."""

    group_column: str
    min_ratio: float
    ratio: Optional[float]
    passed: bool
    reason: str
    rates: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    worst_group: Optional[str] = None
    best_group: Optional[str] = None
    ignored_groups: list[str] = field(default_factory=list)
    champion_ratio: Optional[float] = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rates"] = {k: finite_or_none(v) for k, v in self.rates.items()}
        return {k: finite_or_none(v) for k, v in data.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FairnessResult":
        return _from_mapping(cls, data)
