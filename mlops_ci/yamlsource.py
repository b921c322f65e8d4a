"""YAML loading that remembers where every key came from.

Validation errors must name the file, the line and the key. PyYAML's safe loader
throws positions away, so we compose the node tree ourselves and keep a map
from key path (``("gate", "rules", 0, "metric")``) to 1-based line numbers.
Duplicate keys, which YAML silently collapses, are reported as errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from mlops_ci.errors import ConfigError

Path_ = tuple[Any, ...]


@dataclass
class LocatedDocument:
    data: Any
    file: str
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        """Line of the deepest known ancestor of ``path`` (unknown keys point at their parent)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


def yaml_problem(exc: "yaml.YAMLError") -> tuple[int | None, str]:
    """(1-based line, one-line problem) of a YAML error: PyYAML's own text spans several lines."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        return (mark.line + 1 if mark else None), " ".join(str(exc.problem or exc.context or exc).split())
    return None, " ".join(str(exc).split())


def load_yaml(text: str, file: str) -> LocatedDocument:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise ConfigError(f"{file}:{line}: not valid YAML: {exc.problem or exc}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}", file=file) from None
    if root is None:
        return LocatedDocument({}, file, {(): 1})
    lines: dict[Path_, int] = {}
    data = _construct(root, (), lines, file)
    return LocatedDocument(data, file, lines)


def _construct(node: yaml.Node, path: Path_, lines: dict[Path_, int], file: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if key in out:
                line = key_node.start_mark.line + 1
                dotted = ".".join(str(p) for p in (*path, key))
                raise ConfigError(f"{file}:{line}: key '{dotted}' appears twice; YAML would silently keep only the last one",
                                  file=file, line=line, key=dotted)
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _construct(value_node, (*path, key), lines, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, i), lines, file) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()
