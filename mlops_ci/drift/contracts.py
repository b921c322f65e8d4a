"""Data contracts: Great Expectations-style checks on current data, and schema changes.

The config (:class:`~mlops_ci.drift.config.ContractsConfig`) is normalised into
a flat list of :class:`Check`; the current-data scan
(:mod:`mlops_ci.drift.current`) counts what the checks need in the same single
pass as drift; :func:`evaluate` turns profiles + counters into
:class:`ContractResult` rows with counts and a few example values. Schema
differences between reference and current (missing/new columns, type changes,
NaN/inf appearing) are always reported, at the severities of
``contracts.schema_changes``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from mlops_ci.drift.config import ContractsConfig, Severity
from mlops_ci.drift.profile import ColumnProfile, Profile

CheckKind = Literal["exists", "dtype", "not_null", "between", "in_set", "unique", "row_count"]
EXAMPLES = 5

FAMILIES = {"integer", "float", "number", "string", "boolean", "datetime", "categorical"}


@dataclass(frozen=True)
class Check:
    id: str
    kind: CheckKind
    column: str | None
    severity: Severity
    source: str
    min: float | None = None
    max: float | None = None
    values: tuple[Any, ...] | None = None
    mostly: float = 1.0
    dtype: str | None = None


@dataclass
class Counter:
    """What the scan observed for one check: values looked at, violations, and the first few offenders."""

    total: int = 0
    violations: int = 0
    examples: list[Any] = field(default_factory=list)

    def add(self, total: int, violations: int, examples: list[Any]) -> None:
        """Fold in counts and examples; examples stay distinct (first seen first), at most :data:`EXAMPLES`."""
        self.total += total
        self.violations += violations
        if len(self.examples) >= EXAMPLES:
            return
        seen = {_example_key(x) for x in self.examples}
        for x in examples:
            key = _example_key(x)
            if key not in seen:
                seen.add(key)
                self.examples.append(x)
                if len(self.examples) >= EXAMPLES:
                    return


def _example_key(x: Any) -> Any:
    """Equality of examples: NaN equals NaN, ``inf`` the float equals ``"inf"`` the label."""
    if isinstance(x, float) and not math.isfinite(x):
        return ("float", str(x))
    if x in ("inf", "-inf", "nan"):
        return ("float", x)
    try:
        hash(x)
    except TypeError:
        return ("repr", repr(x))
    return x


@dataclass
class ContractResult:
    check: str
    column: str | None
    severity: Severity
    passed: bool
    message: str
    violations: int = 0
    total: int = 0
    examples: list[Any] = field(default_factory=list)
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "column": self.column, "severity": self.severity, "passed": self.passed,
                "message": self.message, "violations": self.violations, "total": self.total,
                "examples": [_jsonable(x) for x in self.examples], "source": self.source}


def _jsonable(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    return str(x)


def checks_from_config(cfg: ContractsConfig) -> list[Check]:
    out: list[Check] = []
    default = cfg.severity
    if cfg.row_count is not None and (cfg.row_count.min is not None or cfg.row_count.max is not None):
        out.append(Check("rows", "row_count", None, cfg.row_count.severity or default, "contracts.row_count",
                         min=cfg.row_count.min, max=cfg.row_count.max))
    for name, cc in cfg.columns.items():
        sev = cc.severity or default
        src = f"contracts.columns.{name}"
        if cc.required:
            out.append(Check(f"{name}:exists", "exists", name, sev, src))
        if cc.dtype:
            out.append(Check(f"{name}:dtype", "dtype", name, sev, src, dtype=cc.dtype))
        share = 0.0 if not cc.nullable else cc.max_null_share
        if share is not None:
            out.append(Check(f"{name}:not_null", "not_null", name, sev, src, mostly=1.0 - share))
        if cc.min is not None or cc.max is not None:
            out.append(Check(f"{name}:between", "between", name, sev, src, min=cc.min, max=cc.max))
        if cc.allowed is not None:
            out.append(Check(f"{name}:in_set", "in_set", name, sev, src, values=tuple(cc.allowed)))
        if cc.unique:
            out.append(Check(f"{name}:unique", "unique", name, sev, src))
    kinds: dict[str, CheckKind] = {
        "expect_column_to_exist": "exists", "expect_column_values_to_not_be_null": "not_null",
        "expect_column_values_to_be_between": "between", "expect_column_values_to_be_in_set": "in_set",
        "expect_column_values_to_be_unique": "unique", "expect_column_values_to_be_of_type": "dtype",
        "expect_table_row_count_to_be_between": "row_count"}
    for i, exp in enumerate(cfg.expectations):
        kw = exp.kwargs
        kind = kinds[exp.expectation_type]
        lo = kw.get("min_value")
        hi = kw.get("max_value")
        out.append(Check(f"expectations[{i}]", kind, kw.get("column"), exp.effective_severity or default,
                         f"contracts.expectations[{i}] ({exp.expectation_type})",
                         min=lo, max=hi, values=tuple(kw["value_set"]) if "value_set" in kw else None,
                         mostly=float(kw.get("mostly", 1.0)), dtype=kw.get("type_")))
    return out


def family(dtype: str) -> str:
    """Coarse type family of an Arrow type string: what a 'type change' means."""
    d = dtype.lower()
    if d.startswith(("int", "uint")):
        return "integer"
    if d.startswith(("float", "double", "halffloat", "decimal")):
        return "float"
    if d in ("bool", "boolean"):
        return "boolean"
    if d.startswith(("string", "large_string", "utf8", "large_utf8", "string_view")) or \
            (d.startswith("dictionary") and "string" in d):
        return "string"
    if d.startswith(("timestamp", "date", "time", "duration")):
        return "datetime"
    if d == "null":
        return "null"
    return d


def dtype_matches(actual: str, expected: str) -> bool:
    fam = family(actual)
    if fam == "null":  # no value at all (null-typed, or a CSV column left empty): no type to contradict
        return True
    want = expected.lower()
    if want in FAMILIES:
        if want == "number":
            return fam in ("integer", "float")
        if want == "categorical":
            return fam in ("string", "boolean") or actual.lower().startswith("dictionary")
        return fam == want
    aliases = {"str": "string", "utf8": "string", "float": "double", "float64": "double", "bool": "bool"}
    norm = lambda s: aliases.get(s, s)  # noqa: E731
    return norm(actual.lower()) == norm(want)


def comparable(ref: str, cur: str) -> bool:
    """Same family, or integer <-> float (a column of ints gains a NaN and becomes float)."""
    a, b = family(ref), family(cur)
    return a == b or {a, b} == {"integer", "float"} or "null" in (a, b)


def schema_results(reference: Profile | None, current: Profile, cfg: ContractsConfig) -> list[ContractResult]:
    if reference is None:
        return []
    rules = cfg.schema_changes
    out: list[ContractResult] = []
    for name, ref in reference.columns.items():
        cur = current.columns.get(name)
        if cur is None:
            out.append(ContractResult("schema.missing_column", name, rules.missing_column, False,
                                      f"column '{name}' ({ref.dtype}) is in the reference but not in current data",
                                      source="contracts.schema_changes.missing_column"))
            continue
        # a column without a single value has no type to compare (a CSV reader cannot even infer one):
        # it is reported as all null (below), not as a type change
        if _logical(ref.dtype) != _logical(cur.dtype) and not (is_all_null(ref) or is_all_null(cur)):
            same = comparable(ref.dtype, cur.dtype)
            out.append(ContractResult(
                "schema.dtype_change", name, "warn" if same else rules.dtype_change, False,
                f"column '{name}' changed type: {ref.dtype} -> {cur.dtype}"
                + ("" if same else " (different type family: drift not tested)"),
                source="contracts.schema_changes.dtype_change"))
        out.extend(_quality(name, ref, cur, rules.non_finite))
    if rules.new_column != "ignore":
        for name, cur in current.columns.items():
            if name not in reference.columns:
                out.append(ContractResult("schema.new_column", name, rules.new_column, False,
                                          f"column '{name}' ({cur.dtype}) is new: not in the reference",
                                          source="contracts.schema_changes.new_column"))
    return out


def _logical(dtype: str) -> str:
    """Arrow's 64-bit-offset twins are the same data: pandas writes `large_string`, CSV reads `string`."""
    return {"large_string": "string", "large_utf8": "string", "utf8": "string",
            "large_binary": "binary"}.get(dtype, dtype)


def _quality(name: str, ref: ColumnProfile, cur: ColumnProfile, non_finite: str) -> list[ContractResult]:
    out = []
    if non_finite != "ignore" and ref.numeric is not None and cur.numeric is not None:
        if cur.numeric.non_finite and not ref.numeric.non_finite:
            n = cur.numeric
            out.append(ContractResult("schema.non_finite", name, non_finite, False,  # type: ignore[arg-type]
                                      f"column '{name}': {n.nan} NaN, {n.posinf} +inf, {n.neginf} -inf values in "
                                      "current data (none in the reference); they are left out of drift tests",
                                      violations=n.non_finite, total=n.count + n.non_finite,
                                      examples=[x for x, k in (("nan", n.nan), ("inf", n.posinf), ("-inf", n.neginf))
                                                if k], source="contracts.schema_changes.non_finite"))
    if not is_all_null(ref) and not cur.valid and (cur.nulls or cur.kind == "empty"):
        out.append(ContractResult("schema.all_null", name, "warn", False,
                                  f"column '{name}' has no usable value in current data (all null)",
                                  violations=cur.nulls, total=cur.nulls, source="contracts.schema_changes"))
    elif is_all_null(ref) and not is_all_null(cur):
        out.append(ContractResult("schema.all_null", name, "warn", False,
                                  f"column '{name}' has no value in the reference (all null): drift not tested",
                                  violations=ref.nulls, total=ref.nulls, source="contracts.schema_changes"))
    return out


def is_all_null(col: ColumnProfile) -> bool:
    """No value at all: null-typed (Parquet ``null``, or a CSV column that was empty), or nothing but nulls.

    NaN and ±inf are values (reported as non-finite), so a column of NaN is not all null.
    """
    if col.kind == "empty" or family(col.dtype) == "null":
        return True
    if col.numeric is not None:
        return col.numeric.count == 0 and col.numeric.non_finite == 0
    if col.categorical is not None:
        return col.categorical.count == 0
    return False


def evaluate(checks: list[Check], current: Profile, counters: dict[str, Counter]) -> list[ContractResult]:
    """Results of the configured checks, given the current summary and the scan's counters."""
    out = []
    for check in checks:
        col = current.columns.get(check.column) if check.column else None
        if check.kind == "row_count":
            ok = (check.min is None or current.rows >= check.min) and (check.max is None or current.rows <= check.max)
            bounds = f"[{_fmt(check.min, '0')}, {_fmt(check.max, 'inf')}]"
            out.append(_result(check, ok, f"{current.rows:,} rows; expected {bounds}", 0 if ok else 1, current.rows))
            continue
        if col is None:
            if check.kind == "exists":
                out.append(_result(check, False, f"column '{check.column}' is missing from current data", 1, 0))
            else:  # reported once, by the exists check (or allowed: required: false)
                out.append(_result(check, True, f"column '{check.column}' is missing: not checked", 0, 0))
            continue
        if check.kind == "exists":
            out.append(_result(check, True, f"column '{check.column}' exists", 0, current.rows))
        elif check.kind == "dtype":
            ok = dtype_matches(col.dtype, check.dtype or "")
            out.append(_result(check, ok, f"column '{check.column}' is {col.dtype}; expected {check.dtype}",
                               0 if ok else 1, 1))
        elif check.kind == "not_null":
            rows = current.rows
            share = col.nulls / rows if rows else 0.0
            ok = (1.0 - share) >= check.mostly - 1e-12
            out.append(_result(check, ok, f"column '{check.column}': {col.nulls:,} nulls ({share:.2%}); allowed "
                                          f"{1 - check.mostly:.2%}", col.nulls, rows))
        else:
            counter = counters.get(check.id, Counter())
            share_ok = 1.0 - (counter.violations / counter.total if counter.total else 0.0)
            ok = share_ok >= check.mostly - 1e-12
            what = {"between": f"outside [{_fmt(check.min, '-inf')}, {_fmt(check.max, 'inf')}]",
                    "in_set": "not in the allowed set", "unique": "duplicated"}[check.kind]
            msg = f"column '{check.column}': {counter.violations:,} of {counter.total:,} values {what}"
            if check.mostly < 1:
                msg += f" (mostly={check.mostly})"
            out.append(_result(check, ok, msg, counter.violations, counter.total, counter.examples))
    return out


def _result(check: Check, ok: bool, message: str, violations: int, total: int,
            examples: list[Any] | None = None) -> ContractResult:
    return ContractResult(check=check.kind, column=check.column, severity=check.severity, passed=ok, message=message,
                          violations=violations, total=total, examples=list(examples or []), source=check.source)


def _fmt(x: float | None, unbounded: str) -> str:
    if x is None:
        return unbounded
    return f"{x:g}" if isinstance(x, float) else f"{x:,}" if isinstance(x, int) else str(x)
