"""The result of a drift + contracts run, and its JSON form (the artifact other jobs read).

JSON shape (``drift.json``), stable across versions of the same ``version``::

    {"format": "mlops-ci/drift-report", "version": 1,
     "dataset_drift": bool, "drift_share": float, "drift_share_threshold": float,
     "n_tested": int, "n_drifted": int, "failed": bool,
     "reference": {"source", "rows"}, "current": {"source", "rows"},
     "columns": [{"name", "type", "test", "statistic", "p_value", "threshold", "drifted",
                  "score", "severity", "status", "reason", "dtype", "error_bound",
                  "reference": {...}, "current": {...}, "histogram": {...}}],
     "contracts": [{"check", "column", "severity", "passed", "message", "violations",
                    "total", "examples", "source"}]}

``statistic`` is the test's statistic (KS D, normed Wasserstein distance, JS
distance, PSI, chi², z); ``p_value`` is null for distances; ``score`` is what
``threshold`` is compared with (the p-value for tests, the statistic for
distances), as in Evidently's ``drift_score``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from mlops_ci.drift.contracts import ContractResult

FORMAT = "mlops-ci/drift-report"
VERSION = 1

#: What ``statistic`` is, per test (the p-value of KS, chi² and Z is ``p_value``, labelled as such).
TEST_NAMES = {"ks": "KS statistic", "wasserstein": "Wasserstein distance (normed)",
              "jensenshannon": "Jensen-Shannon distance", "psi": "PSI", "chi2": "chi-square statistic",
              "ztest": "Z statistic"}


@dataclass
class ColumnDrift:
    name: str
    type: str | None
    test: str | None
    statistic: float | None = None
    p_value: float | None = None
    threshold: float | None = None
    drifted: bool = False
    status: str = "tested"  # tested | skipped | ignored
    reason: str | None = None
    dtype: str | None = None
    error_bound: float | None = None
    reference: dict[str, Any] = field(default_factory=dict)
    current: dict[str, Any] = field(default_factory=dict)
    #: display histogram: {"kind": "numeric"|"categorical", "labels"|"edges": [...], "reference": [...], "current": [...]}
    histogram: dict[str, Any] | None = None

    @property
    def score(self) -> float | None:
        return self.p_value if self.p_value is not None else self.statistic

    @property
    def severity(self) -> float:
        """How far past (>1) or below (<1) its threshold the column is: the sort key of reports."""
        if self.status != "tested" or self.threshold is None or self.score is None or math.isnan(self.score):
            return 0.0
        if self.p_value is not None:
            p = max(self.p_value, 1e-300)
            return math.log(p) / math.log(self.threshold) if p < 1 else 0.0
        return self.score / self.threshold

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "test": self.test, "statistic": _f(self.statistic),
                "p_value": _f(self.p_value), "threshold": self.threshold, "drifted": self.drifted,
                "score": _f(self.score), "severity": _f(self.severity), "status": self.status,
                "reason": self.reason, "dtype": self.dtype, "error_bound": _f(self.error_bound),
                "reference": _clean(self.reference), "current": _clean(self.current),
                "histogram": _clean(self.histogram)}


@dataclass
class DriftReport:
    dataset_drift: bool
    drift_share: float
    drift_share_threshold: float
    columns: list[ColumnDrift]
    contracts: list[ContractResult] = field(default_factory=list)
    reference: dict[str, Any] = field(default_factory=dict)
    current: dict[str, Any] = field(default_factory=dict)
    fail_on_drift: bool = True

    @property
    def tested(self) -> list[ColumnDrift]:
        return [c for c in self.columns if c.status == "tested"]

    @property
    def drifted(self) -> list[ColumnDrift]:
        """Drifted columns, worst first."""
        return sorted((c for c in self.columns if c.drifted), key=lambda c: -c.severity)

    @property
    def n_tested(self) -> int:
        return len(self.tested)

    @property
    def n_drifted(self) -> int:
        return sum(1 for c in self.columns if c.drifted)

    @property
    def contract_errors(self) -> list[ContractResult]:
        return [r for r in self.contracts if not r.passed and r.severity == "error"]

    @property
    def contract_warnings(self) -> list[ContractResult]:
        return [r for r in self.contracts if not r.passed and r.severity == "warn"]

    @property
    def failed(self) -> bool:
        """What the exit code says: drift (when configured to fail) or any contract error."""
        return (self.dataset_drift and self.fail_on_drift) or bool(self.contract_errors)

    def to_dict(self) -> dict[str, Any]:
        ordered = sorted(self.columns, key=lambda c: (not c.drifted, c.status != "tested", -c.severity, c.name))
        return {"format": FORMAT, "version": VERSION, "dataset_drift": self.dataset_drift,
                "drift_share": _f(self.drift_share), "drift_share_threshold": self.drift_share_threshold,
                "n_tested": self.n_tested, "n_drifted": self.n_drifted, "failed": self.failed,
                "fail_on_drift": self.fail_on_drift,
                "contract_errors": len(self.contract_errors), "contract_warnings": len(self.contract_warnings),
                "reference": _clean(self.reference), "current": _clean(self.current),
                "columns": [c.to_dict() for c in ordered], "contracts": [r.to_dict() for r in self.contracts]}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)


def from_dict(data: dict[str, Any]) -> DriftReport:
    """Read ``drift.json`` back (e.g. the PR report reading the drift job's artifact)."""
    if data.get("format") != FORMAT or int(data.get("version", 0)) > VERSION:
        raise ValueError(f"not a drift report this version reads (format {data.get('format')!r}, "
                         f"version {data.get('version')!r})")
    columns = [ColumnDrift(name=c["name"], type=c.get("type"), test=c.get("test"), statistic=_u(c.get("statistic")),
                           p_value=_u(c.get("p_value")), threshold=c.get("threshold"), drifted=bool(c.get("drifted")),
                           status=c.get("status", "tested"), reason=c.get("reason"), dtype=c.get("dtype"),
                           error_bound=_u(c.get("error_bound")), reference=c.get("reference") or {},
                           current=c.get("current") or {}, histogram=c.get("histogram"))
               for c in data.get("columns", [])]
    contracts = [ContractResult(check=r["check"], column=r.get("column"), severity=r["severity"], passed=r["passed"],
                                message=r["message"], violations=r.get("violations", 0), total=r.get("total", 0),
                                examples=r.get("examples", []), source=r.get("source", ""))
                 for r in data.get("contracts", [])]
    return DriftReport(dataset_drift=bool(data["dataset_drift"]), drift_share=float(_u(data["drift_share"]) or 0.0),
                       drift_share_threshold=float(data.get("drift_share_threshold", 0.5)), columns=columns,
                       contracts=contracts, reference=data.get("reference") or {}, current=data.get("current") or {},
                       fail_on_drift=bool(data.get("fail_on_drift", True)))


def _f(x: float | None) -> float | str | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf" if x < 0 else "nan")


def _u(x: Any) -> float | None:
    return None if x is None else float(x)


def _clean(obj: Any) -> Any:
    """JSON-safe copy: non-finite floats as strings, numpy scalars as Python ones."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return _f(obj)
    if hasattr(obj, "item"):
        return _clean(obj.item())
    return str(obj)
