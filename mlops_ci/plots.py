"""DVC plot definitions and their data, for base-vs-head comparisons.

Pure: parse `plots:` from dvc.yaml into :class:`PlotSpec`, and plot files
(JSON/YAML/CSV/TSV) into rows. Drawing lives in :mod:`mlops_ci.plot_render`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import yaml

from mlops_ci.errors import BadInput
from mlops_ci.limits import check_size
from mlops_ci.yamlsource import safe_load

CONFUSION_TEMPLATES = ("confusion", "confusion_normalized")
_DATA_SUFFIXES = (".json", ".yaml", ".yml", ".csv", ".tsv")


@dataclass
class PlotSpec:
    """One plot: ``y`` maps each data file to the fields drawn from it."""

    id: str
    y: dict[str, list[str]]
    x: str | None = None
    x_files: dict[str, str] = field(default_factory=dict)
    template: str = "linear"
    title: str | None = None
    x_label: str | None = None
    y_label: str | None = None

    @property
    def is_confusion(self) -> bool:
        return self.template in CONFUSION_TEMPLATES

    def x_field(self, file: str) -> str | None:
        return self.x_files.get(file, self.x)

    @property
    def files(self) -> list[str]:
        return list(self.y)

    @property
    def slug(self) -> str:
        name = self.id
        for suffix in _DATA_SUFFIXES:
            if name.lower().endswith(suffix):
                name = name[: -len(suffix)]
        return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower() or "plot"


def _is_path(name: str) -> bool:
    return name.lower().endswith(_DATA_SUFFIXES)


def _fields(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _spec(name: str, props: Mapping[str, Any] | None) -> PlotSpec:
    props = dict(props or {})
    y_raw, x_raw = props.get("y"), props.get("x")
    if isinstance(y_raw, dict):
        y = {str(f): _fields(v) for f, v in y_raw.items()}
    else:
        y = {name: _fields(y_raw)}
    x_files = {str(f): str(v) for f, v in x_raw.items()} if isinstance(x_raw, dict) else {}
    return PlotSpec(id=name, y=y, x=None if isinstance(x_raw, dict) or x_raw is None else str(x_raw),
                    x_files=x_files, template=str(props.get("template", "linear")), title=props.get("title"),
                    x_label=props.get("x_label"), y_label=props.get("y_label"))


def plot_specs(pipeline: Mapping[str, Any]) -> list[PlotSpec]:
    """Top-level ``plots:`` plus stage outputs declared under ``plots:``."""
    specs: list[PlotSpec] = []
    for entry in pipeline.get("plots") or []:
        if isinstance(entry, str):
            specs.append(_spec(entry, None))
        elif isinstance(entry, dict):
            for name, props in entry.items():
                specs.append(_spec(str(name), props if isinstance(props, dict) else None))
    for stage in (pipeline.get("stages") or {}).values():
        if not isinstance(stage, dict):
            continue
        for entry in stage.get("do", stage).get("plots") or []:
            name, props = (entry, None) if isinstance(entry, str) else next(iter(entry.items()))
            if "${" in str(name) or not _is_path(str(name)) or any(str(name) in s.y for s in specs):
                continue
            specs.append(_spec(str(name), props if isinstance(props, dict) else None))
    return specs


def parse_rows(content: bytes, path: str) -> list[dict[str, Any]]:
    """Rows of a plot file: a list of records (JSON/YAML, optionally under one key) or a table."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: plot file is not UTF-8 text") from None
    lower = path.lower()
    if lower.endswith((".csv", ".tsv")):
        reader = csv.DictReader(io.StringIO(text), delimiter="\t" if lower.endswith(".tsv") else ",")
        return [dict(row) for row in reader]
    check_size(len(content), path, "plot file")
    try:
        data = json.loads(text) if lower.endswith(".json") else safe_load(text, path, "plot file")
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise BadInput(f"{path}: plot file is not valid ({exc})") from None
    except (RecursionError, ValueError):  # JSON nested too deep for the parser / an integer past 4300 digits
        raise BadInput(f"{path}: plot file is nested too deeply or holds a number too long to read") from None
    if isinstance(data, dict) and len(data) == 1 and isinstance(next(iter(data.values())), list):
        data = next(iter(data.values()))
    if isinstance(data, dict) and data and all(isinstance(v, list) for v in data.values()):
        # column-oriented {"fpr": [...], "tpr": [...]}
        length = min(len(v) for v in data.values())
        data = [{k: v[i] for k, v in data.items()} for i in range(length)]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise BadInput(f"{path}: expected a list of records (or one key holding such a list)")
    return data


def numeric_series(rows: list[dict[str, Any]], x: str | None, y: str) -> tuple[list[float], list[float]]:
    """(xs, ys) with non-numeric rows dropped; x defaults to the row index (DVC's `step`)."""
    xs, ys = [], []
    for index, row in enumerate(rows):
        try:
            yv = float(row[y])
            xv = float(row[x]) if x else float(index)
        except (KeyError, TypeError, ValueError):
            continue
        xs.append(xv)
        ys.append(yv)
    return xs, ys


def default_y(rows: list[dict[str, Any]], x: str | None) -> list[str]:
    """DVC draws the last column when no y is given."""
    if not rows:
        return []
    columns = [c for c in rows[0] if c != x]
    return columns[-1:]


def confusion_counts(rows: list[dict[str, Any]], actual: str, predicted: str) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        if actual in row and predicted in row:
            key = (str(row[actual]), str(row[predicted]))
            counts[key] = counts.get(key, 0) + 1
    return counts
