"""The profile of a dataset: what drift and contracts need, never raw rows.

A :class:`Profile` describes a reference (training) dataset and is stored with
the champion model or tracked by DVC; current data is summarised into the same
classes (binned on the reference's grid). Kilobytes to a few MB whatever the
row count: per numeric column exact counts and moments plus a fine histogram
(:mod:`mlops_ci.drift.histogram`), per categorical column the top-K value
counts plus "other".

Serialised as JSON (optionally gzip): numeric arrays as base64 of
little-endian bytes, so values round-trip exactly and the file stays small.
The ``format``/``version`` header is checked on load: a profile from an
incompatible version is refused with a message that says what to do.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from mlops_ci.errors import BadInput

FORMAT = "mlops-ci/drift-profile"
#: Bump on any change a previous reader would misread; readers accept <= their own.
VERSION = 1

Kind = Literal["numeric", "categorical", "datetime", "empty", "unsupported"]


@dataclass
class Histogram:
    """Buckets ``edges[i-1] < x <= edges[i]`` (+ one overflow bucket): counts and sums of values."""

    edges: np.ndarray
    counts: np.ndarray
    sums: np.ndarray
    #: per bin (without overflow): the bin is a single value (exact); None for current data
    atoms: np.ndarray | None = None
    #: per edge: values exactly equal to it (current data binned on a reference grid), for exact KS
    at_edges: np.ndarray | None = None

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def max_bin_share(self) -> float:
        """Largest share of values inside one non-atom bin: the KS error bound of this grid."""
        if self.total == 0 or self.edges.size == 0:
            return 0.0
        inner = self.counts[:-1] if self.atoms is None else self.counts[:-1][~self.atoms]
        return float(inner.max() / self.total) if inner.size else 0.0


@dataclass
class NumericStats:
    """Exact counts and moments of the finite values, plus the histogram."""

    count: int = 0  # finite values
    nulls: int = 0
    nan: int = 0
    posinf: int = 0
    neginf: int = 0
    min: float = math.nan
    max: float = math.nan
    mean: float = math.nan
    m2: float = 0.0  # sum of squared deviations from the mean, in units of m2_scale**2
    #: a power of two, 1.0 unless the values are so large (beyond ~1e144) that squares would overflow
    m2_scale: float = 1.0
    #: exact value counts while the column has few distinct values (None beyond the cap)
    distinct_values: np.ndarray | None = field(default_factory=lambda: np.zeros(0))
    distinct_counts: np.ndarray | None = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    histogram: Histogram | None = None

    @property
    def std(self) -> float:
        """Population standard deviation (ddof=0, as numpy and Evidently use)."""
        return math.sqrt(self.m2 / self.count) * self.m2_scale if self.count else math.nan

    @property
    def non_finite(self) -> int:
        return self.nan + self.posinf + self.neginf

    @property
    def n_distinct(self) -> int | None:
        return None if self.distinct_values is None else int(self.distinct_values.size)


@dataclass
class CategoricalStats:
    """Value counts: the top-K values exactly, the rest lumped into ``other``."""

    count: int = 0  # non-null values
    nulls: int = 0
    values: list[Any] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    other: int = 0
    cardinality: int | None = 0  # None: more distinct values than were tracked (high cardinality)

    @property
    def high_cardinality(self) -> bool:
        return self.cardinality is None

    def as_dict(self) -> dict[Any, int]:
        return dict(zip(self.values, self.counts))


@dataclass
class ColumnProfile:
    name: str
    dtype: str
    kind: Kind
    numeric: NumericStats | None = None
    categorical: CategoricalStats | None = None

    @property
    def nulls(self) -> int:
        stats = self.numeric or self.categorical
        return stats.nulls if stats is not None else 0

    @property
    def valid(self) -> int:
        """Values a test can use: finite numbers, or non-null categories."""
        if self.numeric is not None:
            return self.numeric.count
        if self.categorical is not None:
            return self.categorical.count
        return 0


@dataclass
class Profile:
    rows: int
    columns: dict[str, ColumnProfile]
    bins: int = 1000
    top_k: int = 1000
    source: str | None = None
    created_by: str = ""
    version: int = VERSION
    #: fingerprints of the partitions a merged profile was made of (empty: this profile is one partition)
    parts: tuple[str, ...] = ()

    def column(self, name: str) -> ColumnProfile | None:
        return self.columns.get(name)

    def partitions(self) -> tuple[str, ...]:
        """The partitions this profile describes: its own fingerprint, or those it was merged from."""
        return self.parts or (fingerprint(self),)


# --------------------------------------------------------------------------- serialisation
def _arr(a: np.ndarray | None) -> dict[str, str] | None:
    if a is None:
        return None
    a = np.ascontiguousarray(a)
    dtype = a.dtype.newbyteorder("<") if a.dtype.byteorder not in ("|", "<") else a.dtype
    return {"dtype": dtype.str, "b64": base64.b64encode(a.astype(dtype, copy=False).tobytes()).decode("ascii")}


def _unarr(d: dict[str, str] | None) -> np.ndarray | None:
    if d is None:
        return None
    return np.frombuffer(base64.b64decode(d["b64"]), dtype=np.dtype(d["dtype"])).copy()


def _num(x: float) -> float | str:
    return x if math.isfinite(x) else str(x)


def _unnum(x: float | str) -> float:
    return float(x)


def _m2_fields(n: NumericStats) -> dict[str, Any]:
    """``m2`` as readers of version 1 expect it; rescaled moments of huge values in extra fields.

    A reader that does not know ``m2_scale`` sees ``m2: "inf"`` — the overflow it would have
    computed itself — rather than a rescaled number it would misread as the real one.
    """
    if n.m2_scale == 1.0:
        return {"m2": _num(n.m2)}
    return {"m2": "inf", "m2_scaled": _num(n.m2), "m2_scale": n.m2_scale}


def to_dict(profile: Profile) -> dict[str, Any]:
    from mlops_ci import __version__

    cols = []
    for col in profile.columns.values():
        entry: dict[str, Any] = {"name": col.name, "dtype": col.dtype, "kind": col.kind}
        if col.numeric is not None:
            n = col.numeric
            entry["numeric"] = {
                "count": n.count, "nulls": n.nulls, "nan": n.nan, "posinf": n.posinf, "neginf": n.neginf,
                "min": _num(n.min), "max": _num(n.max), "mean": _num(n.mean), **_m2_fields(n),
                "distinct_values": _arr(n.distinct_values), "distinct_counts": _arr(n.distinct_counts),
                "histogram": None if n.histogram is None else {
                    "edges": _arr(n.histogram.edges), "counts": _arr(n.histogram.counts),
                    "sums": _arr(n.histogram.sums), "atoms": _arr(n.histogram.atoms),
                    "at_edges": _arr(n.histogram.at_edges)},
            }
        if col.categorical is not None:
            c = col.categorical
            entry["categorical"] = {"count": c.count, "nulls": c.nulls, "values": c.values, "counts": c.counts,
                                    "other": c.other, "cardinality": c.cardinality}
        cols.append(entry)
    out = {"format": FORMAT, "version": profile.version, "created_by": profile.created_by or f"mlops-ci {__version__}",
           "rows": profile.rows, "bins": profile.bins, "top_k": profile.top_k, "source": profile.source,
           "columns": cols}
    if profile.parts:  # an optional key: readers of version 1 that predate it ignore it
        out["parts"] = list(profile.parts)
    return out


def fingerprint(profile: Profile) -> str:
    """What identifies a partition's profile: a hash of its content (not of who wrote it, nor when).

    The same data profiled twice — the same file passed twice to ``profile merge``, or rebuilt
    by another mlops-ci version — has the same fingerprint; that is how a merge refuses to count
    a partition twice.
    """
    import hashlib

    data = to_dict(replace(profile, parts=()))
    data.pop("created_by", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def from_dict(data: Any, where: str = "profile") -> Profile:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BadInput(f"{where}: not an mlops-ci drift profile (expected a JSON object with \"format\": \"{FORMAT}\")",
                       hint="Build one with `mlops-ci profile build DATA -o PROFILE.json`.")
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION or version < 1:
        raise BadInput(
            f"{where}: profile format version {version!r} (written by {data.get('created_by', 'an unknown tool')}) "
            f"is not supported; this mlops-ci reads versions 1 to {VERSION}",
            hint="Upgrade mlops-ci, or rebuild the reference profile with this version: "
                 "`mlops-ci profile build DATA -o PROFILE.json`.")
    try:
        columns: dict[str, ColumnProfile] = {}
        for entry in data["columns"]:
            col = ColumnProfile(name=entry["name"], dtype=entry["dtype"], kind=entry["kind"])
            if entry.get("numeric") is not None:
                n = entry["numeric"]
                h = n.get("histogram")
                col.numeric = NumericStats(
                    count=int(n["count"]), nulls=int(n["nulls"]), nan=int(n["nan"]), posinf=int(n["posinf"]),
                    neginf=int(n["neginf"]), min=_unnum(n["min"]), max=_unnum(n["max"]), mean=_unnum(n["mean"]),
                    m2=_unnum(n.get("m2_scaled", n["m2"])), m2_scale=float(n.get("m2_scale", 1.0)),
                    distinct_values=_unarr(n.get("distinct_values")),
                    distinct_counts=_unarr(n.get("distinct_counts")),
                    histogram=None if h is None else Histogram(_unarr(h["edges"]), _unarr(h["counts"]),
                                                               _unarr(h["sums"]), _unarr(h.get("atoms")),
                                                               _unarr(h.get("at_edges"))))
            if entry.get("categorical") is not None:
                c = entry["categorical"]
                col.categorical = CategoricalStats(count=int(c["count"]), nulls=int(c["nulls"]), values=list(c["values"]),
                                                   counts=[int(x) for x in c["counts"]], other=int(c["other"]),
                                                   cardinality=c.get("cardinality"))
            columns[col.name] = col
        return Profile(rows=int(data["rows"]), columns=columns, bins=int(data.get("bins", 1000)),
                       top_k=int(data.get("top_k", 1000)), source=data.get("source"),
                       created_by=str(data.get("created_by", "")), version=version,
                       parts=tuple(str(p) for p in data.get("parts") or ()))
    except (KeyError, TypeError, ValueError) as exc:
        raise BadInput(f"{where}: damaged drift profile ({type(exc).__name__}: {exc})",
                       hint="Rebuild it with `mlops-ci profile build`.") from None


def dumps(profile: Profile) -> bytes:
    return json.dumps(to_dict(profile), separators=(",", ":")).encode("utf-8")


def write(profile: Profile, path: str) -> None:
    data = dumps(profile)
    if path.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    with open(path, "wb") as fh:
        fh.write(data)


def loads(raw: bytes, where: str = "profile") -> Profile:
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadInput(f"{where}: not a JSON drift profile ({exc})") from None
    except (RecursionError, ValueError):  # nested too deep for the parser / an integer past 4300 digits
        raise BadInput(f"{where}: not a JSON drift profile (nested too deeply or a number too long)") from None
    return from_dict(data, where)


def looks_like_profile(head: bytes) -> bool:
    """Sniff the first bytes of a file: a (gzipped) JSON object is a profile candidate."""
    return head[:2] == b"\x1f\x8b" or head.lstrip()[:1] == b"{"


# --------------------------------------------------------------------------- merging (helpers; see merge.py)
def combine_moments(n_a: int, mean_a: float, m2_a: float, scale_a: float, n_b: int, mean_b: float, m2_b: float,
                    scale_b: float) -> tuple[int, float, float, float]:
    """Chan et al.'s pairwise update of (count, mean, m2, scale); ``m2`` is in units of ``scale**2``.

    The result takes the larger of the two scales (powers of two), so squared deviations of
    values near the top of the float range are never formed unscaled.
    """
    if n_b == 0:
        return n_a, mean_a, m2_a, scale_a
    if n_a == 0:
        return n_b, mean_b, m2_b, scale_b
    n = n_a + n_b
    scale = max(scale_a, scale_b)
    delta = mean_b / scale - mean_a / scale
    m2 = m2_a * (scale_a / scale) ** 2 + m2_b * (scale_b / scale) ** 2 + delta * delta * n_a * n_b / n
    mean = mean_a + (delta * n_b / n) * scale
    return n, mean, m2, scale


def merge_distinct(va: np.ndarray | None, ca: np.ndarray | None, vb: np.ndarray | None, cb: np.ndarray | None,
                   cap: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Exact value counts of both sides, or (None, None) beyond ``cap`` distinct values (sort-based:
    ``np.unique`` would import ``numpy.ma``, ~7 ms of start-up)."""
    if va is None or vb is None or ca is None or cb is None:
        return None, None
    values = np.concatenate([va, vb])
    counts = np.concatenate([ca, cb]).astype(np.int64)
    if values.size == 0:
        return values.astype(np.float64), counts
    order = np.argsort(values, kind="stable")
    values, counts = values[order], counts[order]
    starts = np.flatnonzero(np.concatenate(([True], values[1:] != values[:-1])))
    if starts.size > cap:
        return None, None
    return values[starts], np.add.reduceat(counts, starts).astype(np.int64)


def top_values(counts: dict[Any, int], top_k: int) -> tuple[list[Any], list[int], int]:
    """The ``top_k`` most frequent values (ties by value, so the order is deterministic) and the rest."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], str(type(kv[0]).__name__), str(kv[0])))
    head = ordered[:top_k]
    return [k for k, _ in head], [int(v) for _, v in head], int(sum(v for _, v in ordered[top_k:]))
