"""Metric files and the difference between two revisions of them.

Pure: this module parses bytes and compares numbers; reading files at a git
revision is the DVC adapter's job. Keys are flattened with dots
(``{"fairness": {"di": 0.9}}`` -> ``fairness.di``) the way DVC shows them.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import json
import math
import tomllib
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Mapping

import yaml

from mlops_ci.errors import BadInput
from mlops_ci.limits import check_size, digits_error, nesting_error, too_deep
from mlops_ci.yamlsource import safe_load, yaml_problem

Direction = Literal["higher", "lower"]
Status = Literal["improved", "regressed", "changed", "unchanged", "added", "removed"]

#: Names that are "lower is better" unless the config says otherwise.
LOWER_IS_BETTER_PATTERNS = ("*loss*", "*error*", "*latency*", "*mse", "*mae", "*rmse", "*_time*", "*duration*",
                            "*size_bytes*", "*_ms", "*seconds*")
#: Names that are "higher is better" unless the config says otherwise.
#: Timings measured on a shared runner: shown, never the reason the headline warns (``metrics.noisy``).
NOISY_PATTERNS = ("*latency*", "*_ms", "*seconds*", "*_time*", "*duration*", "*throughput*", "*qps*")
HIGHER_IS_BETTER_PATTERNS = ("*auc*", "*accuracy*", "*f1*", "*precision*", "*recall*", "*r2*", "*ndcg*",
                             "*disparate_impact*")


def parse_metrics(content: bytes, path: str, ignore: Iterable[str] = (), *,
                  where: str | None = None) -> dict[str, float]:
    """Parse one metrics file into ``{flat.key: number}``; bad content raises :class:`BadInput`.

    The format (JSON, YAML, TOML, CSV, TSV) comes from ``path``'s suffix; ``where``
    (default: ``path``) is how messages name the file, e.g. ``m.json (at 8f111d6ebc73)``.
    Keys matching ``ignore`` are dropped before they are checked, so a file may
    carry non-numeric fields (a model name, a timestamp) when the config says so.

    The file comes from a pull request: it is refused beyond the caps of
    :mod:`mlops_ci.limits` (size, nesting, alias expansion, integer digits), and messages
    name keys and types, never a value read from it (a symlink or a stray path could
    make that value a secret).
    """
    suffix = file_format(path)
    name, path = path, where or path
    check_size(len(content), path, "metrics file")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: metrics file is not UTF-8 text") from None
    try:
        if suffix in ("csv", "tsv"):
            data: Any = _parse_table(text, path, delimiter="\t" if suffix == "tsv" else ",")
        elif suffix == "toml":
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError as exc:
                raise BadInput(f"{path}: not valid TOML ({exc})") from None
        elif suffix == "json":
            try:
                data = json.loads(text)  # NaN/Infinity parse, then _number names the key that holds them
            except json.JSONDecodeError as exc:
                raise BadInput(f"{_at_line(name, path, exc.lineno)}: not valid JSON ({exc.msg})",
                               hint="A DVC metrics file must be a JSON object of numbers.") from None
        else:
            try:
                data = safe_load(text, path, "metrics file")
            except yaml.YAMLError as exc:
                line, problem = yaml_problem(exc)
                raise BadInput(f"{_at_line(name, path, line) if line else path}: not valid YAML ({problem})") from None
        if suffix in ("json", "toml") and too_deep(data):
            raise nesting_error(path, "metrics file")
    except RecursionError:  # JSON/TOML parsers recurse per nesting level
        raise nesting_error(path, "metrics file") from None
    except ValueError as exc:  # int("<more than 4300 digits>") inside json/tomllib
        if "digits" in str(exc):
            raise digits_error(path, "metrics file") from None
        raise
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadInput(f"{path}: expected an object of metric names to numbers, got {type(data).__name__}")
    ignore = list(ignore)
    return {key: _number(value, path, key) for key, value in flatten(data).items() if not is_ignored(key, ignore)}


def file_format(path: str) -> str:
    """The lower-cased suffix of a file's name (``""`` when it has none): what decides how it is parsed."""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def _at_line(name: str, label: str, line: int) -> str:
    """``m.json:3``, or ``m.json:3 (at 8f111d6ebc73)`` when the label is the name plus a revision."""
    if label.startswith(name):
        return f"{name}:{line}{label[len(name):]}"
    return f"{label}:{line}"


def _parse_table(text: str, path: str, delimiter: str) -> dict[str, Any]:
    rows = list(csv.DictReader(io.StringIO(text), delimiter=delimiter))
    if not rows:
        return {}
    if len(rows) == 1:
        return dict(rows[0])
    first = next(iter(rows[0]))
    keyed = all(not _is_number(row[first]) for row in rows)
    out: dict[str, Any] = {}
    for index, row in enumerate(rows):
        prefix = row[first] if keyed else str(index)
        out[prefix] = {k: v for k, v in row.items() if not (keyed and k == first)}
    return out


def _is_number(value: Any) -> bool:
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list):
            out.update(flatten({str(i): v for i, v in enumerate(value)}, name + "."))
        else:
            out[name] = value
    return out


def _number(value: Any, path: str, key: str) -> float:
    """The metric as a float. Messages name the key and the type found, never the value itself."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond float range (up to 4300 digits parse)
            number = math.inf
    elif isinstance(value, str) and _is_number(value.strip()):
        number = float(value)
    else:
        raise BadInput(f"{path}: metric '{key}' is {_kind(value)}; expected a number",
                       hint="List non-numeric fields under `metrics.ignore` in .mlops-ci.yml to skip them.")
    if not math.isfinite(number):
        shown = "NaN" if math.isnan(number) else ("Infinity" if number > 0 else "-Infinity")
        raise BadInput(f"{path}: metric '{key}' is {shown}; expected a finite number",
                       hint="Write finite values (e.g. guard divisions by zero in your evaluate step), or list "
                            "the key under `metrics.ignore` in .mlops-ci.yml.")
    return number


def _kind(value: Any) -> str:
    """What a non-numeric value is, in words (booleans are not 1.0/0.0 metrics: true/false is a flag)."""
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


def direction_for(name: str, configured: Mapping[str, Direction]) -> Direction | None:
    """Configured direction (exact name first, then globs), else the name heuristics."""
    if name in configured:
        return configured[name]
    for pattern, direction in configured.items():
        if fnmatch.fnmatchcase(name, pattern):
            return direction
    lowered = name.lower()
    if any(fnmatch.fnmatchcase(lowered, p) for p in LOWER_IS_BETTER_PATTERNS):
        return "lower"
    if any(fnmatch.fnmatchcase(lowered, p) for p in HIGHER_IS_BETTER_PATTERNS):
        return "higher"
    return None


def is_ignored(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


@dataclass(frozen=True)
class MetricChange:
    path: str
    name: str
    old: float | None
    new: float | None
    direction: Direction | None = None
    precision: int = 4
    #: A timing measured on a shared runner: its change may be the neighbours' load, not the change's.
    noisy: bool = False

    @property
    def abs_change(self) -> float | None:
        return None if self.old is None or self.new is None else self.new - self.old

    @property
    def rel_change(self) -> float | None:
        if self.old is None or self.new is None or self.old == 0:
            return None
        return (self.new - self.old) / abs(self.old)

    @property
    def status(self) -> Status:
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        delta = round(self.new - self.old, self.precision)
        if delta == 0:
            return "unchanged"
        if self.direction is None:
            return "changed"
        better = delta > 0 if self.direction == "higher" else delta < 0
        return "improved" if better else "regressed"

    @property
    def magnitude(self) -> float:
        """How much the change matters, for ordering long tables (relative when possible)."""
        if self.status in ("added", "removed"):
            return math.inf
        rel = self.rel_change
        return abs(rel) if rel is not None else abs(self.abs_change or 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "name": self.name, "old": self.old, "new": self.new,
                "abs_change": self.abs_change, "rel_change": self.rel_change,
                "direction": self.direction, "status": self.status, "noisy": self.noisy}


@dataclass
class MetricDiff:
    base_label: str
    head_label: str
    changes: list[MetricChange] = field(default_factory=list)
    precision: int = 4

    @property
    def changed(self) -> list[MetricChange]:
        return [c for c in self.changes if c.status != "unchanged"]

    @property
    def regressions(self) -> list[MetricChange]:
        """Regressions that count: a noisy timing's is listed by :attr:`noisy_regressions` instead."""
        return [c for c in self.changes if c.status == "regressed" and not c.noisy]

    @property
    def noisy_regressions(self) -> list[MetricChange]:
        return [c for c in self.changes if c.status == "regressed" and c.noisy]

    def values(self, side: Literal["old", "new"]) -> dict[str, float]:
        """Flat ``{name: value}`` for one side; names are made unique with ``path:`` when needed."""
        counts: dict[str, int] = {}
        for c in self.changes:
            counts[c.name] = counts.get(c.name, 0) + 1
        out: dict[str, float] = {}
        for c in self.changes:
            value = c.old if side == "old" else c.new
            if value is not None:
                out[c.name if counts[c.name] == 1 else f"{c.path}:{c.name}"] = value
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base_label, "head": self.head_label, "precision": self.precision,
                "metrics": [c.to_dict() for c in self.changes]}


def diff_metrics(old: Mapping[str, Mapping[str, float]], new: Mapping[str, Mapping[str, float]], *,
                 base_label: str, head_label: str, directions: Mapping[str, Direction] | None = None,
                 ignore: Iterable[str] = (), precision: int = 4,
                 noisy: Iterable[str] = NOISY_PATTERNS) -> MetricDiff:
    """Compare ``{path: {name: value}}`` at two revisions.

    ``noisy``: names or globs of timings measured on a shared runner; their regressions are
    shown and marked, but do not count as :attr:`MetricDiff.regressions` (the gate still judges
    them by its own rules).
    """
    directions = directions or {}
    ignore, noisy = list(ignore), list(noisy)
    changes: list[MetricChange] = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path, {}), new.get(path, {})
        for name in sorted(set(before) | set(after)):
            if is_ignored(name, ignore):
                continue
            changes.append(MetricChange(path, name, before.get(name), after.get(name),
                                        direction_for(name, directions), precision,
                                        noisy=is_ignored(name, noisy)))
    return MetricDiff(base_label, head_label, changes, precision)
