"""Parameter files and what a change did to them.

DVC stages declare the parameters they depend on (``params:`` in dvc.yaml);
the report shows which of them changed between the base and the head. Pure:
content in, diff out; the DVC adapter fetches the files at each revision.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Mapping

import yaml

from mlops_ci.errors import BadInput
from mlops_ci.limits import check_size, digits_error, nesting_error, too_deep
from mlops_ci.metrics import file_format, flatten
from mlops_ci.yamlsource import safe_load, yaml_problem

DEFAULT_PARAMS_FILE = "params.yaml"
ParamStatus = Literal["modified", "added", "deleted", "unchanged"]


def declared_params(pipeline: Mapping[str, Any]) -> dict[str, set[str] | None]:
    """``{file: keys}`` referenced by stages (``None`` = the whole file, as DVC's ``- file.yaml:`` form)."""
    out: dict[str, set[str] | None] = {}

    def want(file: str, keys: Iterable[str] | None) -> None:
        if keys is None or file in out and out[file] is None:
            out[file] = None
            return
        out.setdefault(file, set()).update(keys)  # type: ignore[union-attr]

    for stage in (pipeline.get("stages") or {}).values():
        if not isinstance(stage, dict):
            continue
        body = stage.get("do", stage)
        for entry in body.get("params") or []:
            if isinstance(entry, str):
                if "${" not in entry:
                    want(DEFAULT_PARAMS_FILE, [entry])
            elif isinstance(entry, dict):
                for file, keys in entry.items():
                    want(str(file), None if not keys else [str(k) for k in keys])
    return out


def merge_declared(parts: Iterable[Mapping[str, set[str] | None]]) -> dict[str, set[str] | None]:
    out: dict[str, set[str] | None] = {}
    for part in parts:
        for file, keys in part.items():
            if keys is None or (file in out and out[file] is None):
                out[file] = None
            else:
                out.setdefault(file, set()).update(keys)  # type: ignore[union-attr]
    return out


def parse_params(content: bytes, path: str, *, where: str | None = None) -> dict[str, Any]:
    """Flattened ``{dotted.key: value}`` of a YAML/JSON/TOML params file.

    The format comes from ``path``'s suffix; ``where`` (default: ``path``) is how
    messages name the file, e.g. ``params.toml (at 8f111d6ebc73)``. The caps of
    :mod:`mlops_ci.limits` apply, as to metrics files.
    """
    suffix = file_format(path)
    path = where or path
    check_size(len(content), path, "params file")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput(f"{path}: params file is not UTF-8 text") from None
    kind = {"json": "JSON", "toml": "TOML"}.get(suffix, "YAML")
    try:
        if kind == "JSON":
            data = json.loads(text)
        elif kind == "TOML":
            data = tomllib.loads(text)
        else:
            data = safe_load(text, path, "params file")
        if kind != "YAML" and too_deep(data):
            raise nesting_error(path, "params file")
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        detail = yaml_problem(exc)[1] if isinstance(exc, yaml.YAMLError) else " ".join(str(exc).split())
        raise BadInput(f"{path}: params file is not valid {kind} ({detail})") from None
    except RecursionError:  # JSON/TOML parsers recurse per nesting level
        raise nesting_error(path, "params file") from None
    except ValueError as exc:  # int("<more than 4300 digits>") inside json/tomllib
        if "digits" in str(exc):
            raise digits_error(path, "params file") from None
        raise
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadInput(f"{path}: expected a mapping of parameters, got {type(data).__name__}")
    return flatten(data)


def select(params: Mapping[str, Any], keys: set[str] | None) -> dict[str, Any]:
    """Keep declared keys (a declared group ``train`` keeps ``train.*``)."""
    if keys is None:
        return dict(params)
    return {k: v for k, v in params.items() if any(k == w or k.startswith(w + ".") for w in keys)}


@dataclass(frozen=True)
class ParamChange:
    path: str
    name: str
    old: Any
    new: Any
    old_present: bool = True
    new_present: bool = True

    @property
    def status(self) -> ParamStatus:
        if not self.old_present:
            return "added"
        if not self.new_present:
            return "deleted"
        return "unchanged" if self.old == self.new else "modified"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "name": self.name, "old": self.old, "new": self.new, "status": self.status}


@dataclass
class ParamsDiff:
    base_label: str
    head_label: str
    changes: list[ParamChange] = field(default_factory=list)

    @property
    def changed(self) -> list[ParamChange]:
        return [c for c in self.changes if c.status != "unchanged"]

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base_label, "head": self.head_label, "params": [c.to_dict() for c in self.changes]}


def diff_params(old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]], *,
                base_label: str, head_label: str) -> ParamsDiff:
    changes = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path, {}), new.get(path, {})
        for name in sorted(set(before) | set(after)):
            changes.append(ParamChange(path, name, before.get(name), after.get(name),
                                       name in before, name in after))
    return ParamsDiff(base_label, head_label, changes)
