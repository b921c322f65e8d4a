"""YAML loading that remembers where every key came from, and that a hostile file cannot blow up.

Validation errors must name the file, the line and the key. PyYAML's safe loader
throws positions away, so we compose the node tree ourselves and keep a map
from key path (``("gate", "rules", 0, "metric")``) to 1-based line numbers.
Duplicate keys, which YAML silently collapses, are reported as errors.

Every YAML file the package reads comes from a repository a pull request controls, so
every read goes through :class:`BoundedLoader` (here via :func:`load_yaml` and
:func:`safe_load`): a ~1 KB "billion laughs" document expands, through aliases, to
hundreds of millions of values that later code (flattening, validation) walks one by
one; 50,000 nested brackets overflow PyYAML's recursive composer; a 5,000-digit
integer raises Python's int-conversion ValueError. The loader counts values as
composed, aliases at their expanded size, and refuses past the caps of
:mod:`mlops_ci.limits` with an error that names the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from mlops_ci.errors import BadInput, ConfigError
from mlops_ci.limits import MAX_INPUT_BYTES, MAX_NESTING, MAX_NODES, check_size, int_digits_limit

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


class Refused(yaml.MarkedYAMLError):
    """A document the loader will not build: too large once expanded, too deep, a giant integer."""

    def __init__(self, problem: str, mark: "yaml.Mark | None") -> None:
        super().__init__(problem=problem, problem_mark=mark)


class BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with caps on nesting, expanded size and integer digits.

    Composition is where the counting happens: a node adds one, an alias adds the full
    expanded size of the node it names (known once that node is complete: an alias to a
    node that contains it is recursive and refused). The counter therefore reaches
    :data:`~mlops_ci.limits.MAX_NODES` after composing a few hundred nodes of an alias
    bomb, before anything is expanded. Depth is checked on the way down, well before
    Python's recursion limit (the composer uses three frames per level).
    """

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._depth = 0
        self._expanded = 0
        self._aliases = 0
        self._sizes: dict[int, int] = {}

    def _grow(self, amount: int, mark: "yaml.Mark | None") -> None:
        self._expanded += amount
        if self._expanded > MAX_NODES:
            if self._aliases:
                raise Refused(f"its aliases expand to more than {MAX_NODES:,} values (expansion too large; "
                              "an alias bomb?)", mark)
            raise Refused(f"more than {MAX_NODES:,} values", mark)

    def compose_node(self, parent: Any, index: Any) -> Any:
        mark = self.peek_event().start_mark
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
            size = self._sizes.get(id(node))
            if size is None:
                raise Refused("an alias refers to a node that contains it (recursive alias)", mark)
            self._aliases += 1
            self._grow(size, mark)
            return node
        self._depth += 1
        if self._depth > MAX_NESTING:
            raise Refused(f"nested more than {MAX_NESTING} levels deep", mark)
        before = self._expanded
        self._grow(1, mark)
        node = super().compose_node(parent, index)
        self._depth -= 1
        self._sizes[id(node)] = self._expanded - before
        return node

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # Python refuses int("<more than 4300 digits>")
            raise Refused(f"an integer with more than {int_digits_limit()} digits", node.start_mark) from None


BoundedLoader.add_constructor("tag:yaml.org,2002:int", BoundedLoader.construct_yaml_int)


def _line(exc: yaml.MarkedYAMLError) -> int | None:
    mark = exc.problem_mark or exc.context_mark
    return mark.line + 1 if mark else None


def _text(content: str | bytes, file: str, what: str) -> str:
    check_size(len(content), file, what)
    if isinstance(content, bytes):
        try:
            return content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadInput(f"{file}: {what} is not UTF-8 text") from None
    return content


def safe_load(content: str | bytes, file: str, what: str = "YAML file") -> Any:
    """``yaml.safe_load`` within the caps of :mod:`mlops_ci.limits`.

    A refused document (too large, expanding too far, too deep, a giant integer) or a
    file that is not UTF-8 raises :class:`BadInput` naming ``file``, and the line when
    known; a plain syntax error raises ``yaml.YAMLError`` as ``yaml.safe_load`` does, so
    callers keep their own wording for those.
    """
    text = _text(content, file, what)
    loader = BoundedLoader(text)
    try:
        return loader.get_single_data()
    except Refused as exc:
        line = _line(exc)
        raise BadInput(f"{file}{f':{line}' if line else ''}: {what} refused: {exc.problem}") from None
    except RecursionError:  # backstop: the depth cap should make this unreachable
        raise BadInput(f"{file}: {what} refused: nested too deeply to parse") from None
    finally:
        loader.dispose()


def load_yaml(text: str, file: str) -> LocatedDocument:
    if len(text) > MAX_INPUT_BYTES:
        check_size(len(text.encode("utf-8")), file, "config file")
    loader = BoundedLoader(text)
    try:
        root = loader.get_single_node()
    except Refused as exc:
        line = _line(exc)
        raise ConfigError(f"{file}:{line}: refused: {exc.problem}", file=file, line=line) from None
    except yaml.MarkedYAMLError as exc:
        line = _line(exc)
        raise ConfigError(f"{file}:{line}: not valid YAML: {exc.problem or exc}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}", file=file) from None
    except RecursionError:  # backstop: the depth cap should make this unreachable
        raise ConfigError(f"{file}: refused: nested too deeply to parse", file=file) from None
    if root is None:
        loader.dispose()
        return LocatedDocument({}, file, {(): 1})
    lines: dict[Path_, int] = {}
    try:
        data = _construct(root, (), lines, file, loader)
    except Refused as exc:
        line = _line(exc)
        raise ConfigError(f"{file}:{line}: refused: {exc.problem}", file=file, line=line) from None
    except yaml.MarkedYAMLError as exc:  # e.g. a merge key (<<), which this loader does not support
        line = _line(exc)
        raise ConfigError(f"{file}:{line}: not valid YAML here: {exc.problem or exc}", file=file, line=line) from None
    finally:
        loader.dispose()
    return LocatedDocument(data, file, lines)


def _construct(node: yaml.Node, path: Path_, lines: dict[Path_, int], file: str, loader: BoundedLoader) -> Any:
    """Plain data from a composed tree (aliases are shared nodes: the composer bounded their expansion)."""
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node, loader)
            if key in out:
                line = key_node.start_mark.line + 1
                dotted = ".".join(str(p) for p in (*path, key))
                raise ConfigError(f"{file}:{line}: key '{dotted}' appears twice; YAML would silently keep only the last one",
                                  file=file, line=line, key=dotted)
            lines[(*path, key)] = key_node.start_mark.line + 1
            out[key] = _construct(value_node, (*path, key), lines, file, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, i), lines, file, loader) for i, item in enumerate(node.value)]
    return _scalar(node, loader)


def _scalar(node: yaml.Node, loader: BoundedLoader) -> Any:
    """A scalar (or a key that is a collection) through the safe constructors, one loader per document."""
    return loader.construct_object(node, deep=True)
