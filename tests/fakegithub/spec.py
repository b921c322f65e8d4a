"""GitHub's pinned OpenAPI description, cut down to what the fake implements.

Why a subset: the full ``@octokit/openapi`` document is 13 MB with ~1,000
operations; openapi-core walks it lazily but its spec validation and first
lookups over the whole thing take tens of seconds. The fake implements ~35
operations, so we keep only those paths plus the transitive closure of their
``$ref``s (a few hundred KB) and cache that JSON under ``.cache/fakegithub/``,
keyed by the package version and the route list: a new pin or a new route
invalidates it automatically. The openapi-core objects are built once per
process (``functools.cache``) — i.e. once per test session.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

REPO_ROOT = Path(__file__).resolve().parents[2]
OCTOKIT = REPO_ROOT / "tests" / "npm" / "node_modules" / "@octokit"
REST_SPEC = OCTOKIT / "openapi" / "generated" / "api.github.com.json"
CACHE_DIR = Path(os.environ.get("FAKEGITHUB_CACHE_DIR", REPO_ROOT / ".cache" / "fakegithub"))
#: Bump when the subsetting logic changes, so stale caches are not reused.
SUBSET_FORMAT = 3
#: Error schemas the validator needs for error statuses an operation does not document.
EXTRA_SCHEMAS = ("basic-error", "validation-error", "validation-error-simple")
SPEC_SERVER = "https://api.github.com"


class SpecMissing(RuntimeError):
    """The pinned descriptions are not installed: run ``bash scripts/test-deps.sh``."""


def _package_version(package: str) -> str:
    manifest = OCTOKIT / package / "package.json"
    if not manifest.exists():
        raise SpecMissing(f"{manifest} not found — run `bash scripts/test-deps.sh` to install "
                          "GitHub's pinned API descriptions")
    return str(json.loads(manifest.read_text())["version"])


def cache_key(operations: Iterable[tuple[str, str]]) -> str:
    """Hash of what determines the subset: package version, format, routes."""
    ops = sorted({(m.lower(), p) for m, p in operations})
    blob = json.dumps([_package_version("openapi"), SUBSET_FORMAT, ops]).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def _refs(node: Any) -> Iterable[str]:
    """Every local ``$ref`` string below ``node``."""
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            ref = cur.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/"):
                yield ref
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)


def _strip_examples(node: Any) -> Any:
    """Drop ``examples`` of media-type and parameter objects (pure documentation, a large share of
    the refs); a dict is such an object when it also has a ``schema`` key, which keeps schema
    properties that happen to be called ``examples`` intact."""
    if isinstance(node, dict):
        return {k: _strip_examples(v) for k, v in node.items()
                if not (k == "examples" and "schema" in node)}
    if isinstance(node, list):
        return [_strip_examples(v) for v in node]
    return node


def _null_in_nullable_enums(node: Any) -> Any:
    """Add ``None`` to the ``enum`` of ``nullable: true`` schemas.

    GitHub's description says ``{"type": "string", "nullable": true, "enum": [...]}`` for fields
    it really returns as ``null`` (``issue.state_reason``, ``check-run.conclusion``…). OpenAPI 3.0.3
    reads "nullable adds null to the allowed values", but openapi-schema-validator applies ``enum``
    strictly and would reject GitHub's own answers; this keeps the fake answering ``null`` as
    GitHub does instead of bending the payloads.
    """
    if isinstance(node, dict):
        out = {k: _null_in_nullable_enums(v) for k, v in node.items()}
        if out.get("nullable") is True and isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
        return out
    if isinstance(node, list):
        return [_null_in_nullable_enums(v) for v in node]
    return node


def extract_subset(full: dict[str, Any], operations: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """The document restricted to ``operations`` ((method, path template) pairs) and their refs."""
    paths: dict[str, dict[str, Any]] = {}
    for method, template in operations:
        item = full["paths"].get(template)
        if item is None or method.lower() not in item:
            raise KeyError(f"{method.upper()} {template} is not in GitHub's OpenAPI description")
        out = paths.setdefault(template, {k: v for k, v in item.items() if k in ("parameters", "servers")})
        out[method.lower()] = item[method.lower()]
    paths = _strip_examples(paths)
    components: dict[str, dict[str, Any]] = {}
    pending = list(_refs(paths)) + [f"#/components/schemas/{n}" for n in EXTRA_SCHEMAS]
    while pending:
        ref = pending.pop()
        _, _, kind, name = ref.split("/", 3)
        if name in components.get(kind, {}):
            continue
        obj = _strip_examples(full["components"][kind][name])
        components.setdefault(kind, {})[name] = obj
        pending.extend(_refs(obj))
    return _null_in_nullable_enums({"openapi": full["openapi"], "info": full["info"],
                                    "servers": full.get("servers", []), "paths": paths, "components": components})


def load_subset(operations: Iterable[tuple[str, str]]) -> tuple[dict[str, Any], bool]:
    """The cached subset for ``operations`` (built and written when missing). Returns (doc, was_cached)."""
    ops = list(operations)
    path = CACHE_DIR / f"api.github.com-{_package_version('openapi')}-{cache_key(ops)}.json"
    if path.exists():
        try:
            return json.loads(path.read_text()), True
        except ValueError:
            pass  # a torn write from a killed session: rebuild
    if not REST_SPEC.exists():
        raise SpecMissing(f"{REST_SPEC} not found — run `bash scripts/test-deps.sh`")
    subset = extract_subset(json.loads(REST_SPEC.read_text()), ops)
    # Prove the cut-down document is still a valid OpenAPI 3.0 description (no dangling $ref):
    # ~1 s, paid only when the cache is (re)built.
    from openapi_spec_validator import validate

    validate(subset)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(subset, separators=(",", ":")))
    os.replace(tmp, path)  # atomic: parallel (xdist) workers never read half a file
    return subset, False


@dataclass
class LoadedSpec:
    """The openapi-core application plus what it took to build it (reported by the tests)."""

    doc: dict[str, Any]
    openapi: Any  # openapi_core.OpenAPI
    cached: bool
    load_seconds: float
    build_seconds: float


def build(operations: Iterable[tuple[str, str]]) -> LoadedSpec:
    """Load (or extract) the subset and build openapi-core's validators for it."""
    from openapi_core import Config, OpenAPI

    t0 = time.perf_counter()
    doc, cached = load_subset(operations)
    t1 = time.perf_counter()
    # The subset was spec-validated when it was extracted; skipping it here keeps warm starts fast.
    app = OpenAPI.from_dict(doc, config=Config(spec_validator_cls=None))
    # Touch the lazily created validators now so the first request is not the slow one.
    _ = app.request_validator, app.response_validator
    t2 = time.perf_counter()
    return LoadedSpec(doc, app, cached, t1 - t0, t2 - t1)


@functools.cache
def _build_cached(ops: tuple[tuple[str, str], ...]) -> LoadedSpec:
    return build(ops)


def get_spec(operations: Iterable[tuple[str, str]]) -> LoadedSpec:
    """The process-wide :class:`LoadedSpec` for ``operations`` (built on first use)."""
    return _build_cached(tuple(sorted({(m.lower(), p) for m, p in operations})))
