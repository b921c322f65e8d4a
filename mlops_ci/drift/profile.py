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

from mlops_ci.drift import histogram as H
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
    m2: float = 0.0  # sum of squared deviations from the mean
    #: exact value counts while the column has few distinct values (None beyond the cap)
    distinct_values: np.ndarray | None = field(default_factory=lambda: np.zeros(0))
    distinct_counts: np.ndarray | None = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    histogram: Histogram | None = None

    @property
    def std(self) -> float:
        """Population standard deviation (ddof=0, as numpy and Evidently use)."""
        return math.sqrt(self.m2 / self.count) if self.count else math.nan

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

    def column(self, name: str) -> ColumnProfile | None:
        return self.columns.get(name)


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


def to_dict(profile: Profile) -> dict[str, Any]:
    from mlops_ci import __version__

    cols = []
    for col in profile.columns.values():
        entry: dict[str, Any] = {"name": col.name, "dtype": col.dtype, "kind": col.kind}
        if col.numeric is not None:
            n = col.numeric
            entry["numeric"] = {
                "count": n.count, "nulls": n.nulls, "nan": n.nan, "posinf": n.posinf, "neginf": n.neginf,
                "min": _num(n.min), "max": _num(n.max), "mean": _num(n.mean), "m2": _num(n.m2),
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
    return {"format": FORMAT, "version": profile.version, "created_by": profile.created_by or f"mlops-ci {__version__}",
            "rows": profile.rows, "bins": profile.bins, "top_k": profile.top_k, "source": profile.source,
            "columns": cols}


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
                    m2=_unnum(n["m2"]), distinct_values=_unarr(n.get("distinct_values")),
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
                       created_by=str(data.get("created_by", "")), version=version)
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


# --------------------------------------------------------------------------- merging
def merge_numeric(a: NumericStats, b: NumericStats, bins: int, cap: int) -> NumericStats:
    """Exact for counts, min/max and moments (Chan et al.); histograms as in :func:`merge_histograms`."""
    n = a.count + b.count
    if a.count == 0 or b.count == 0:
        mean, m2 = (b.mean, b.m2) if a.count == 0 else (a.mean, a.m2)
    else:
        delta = b.mean - a.mean
        mean = a.mean + delta * b.count / n
        m2 = a.m2 + b.m2 + delta * delta * a.count * b.count / n
    values, counts = merge_distinct(a.distinct_values, a.distinct_counts, b.distinct_values, b.distinct_counts, cap)
    return NumericStats(
        count=n, nulls=a.nulls + b.nulls, nan=a.nan + b.nan, posinf=a.posinf + b.posinf, neginf=a.neginf + b.neginf,
        min=float(np.fmin(a.min, b.min)), max=float(np.fmax(a.max, b.max)), mean=mean if n else math.nan, m2=m2,
        distinct_values=values, distinct_counts=counts,
        histogram=merge_histograms(a, b, bins))


def merge_distinct(va: np.ndarray | None, ca: np.ndarray | None, vb: np.ndarray | None, cb: np.ndarray | None,
                   cap: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    if va is None or vb is None or ca is None or cb is None:
        return None, None
    values, inverse = np.unique(np.concatenate([va, vb]), return_inverse=True)
    if values.size > cap:
        return None, None
    return values, np.bincount(inverse, weights=np.concatenate([ca, cb]), minlength=values.size).astype(np.int64)


def merge_histograms(a: NumericStats, b: NumericStats, bins: int) -> Histogram | None:
    """Same grid: exact sum. Different grids: both moved onto the union of edges, then regrouped.

    Profiles built on the same layout (what :func:`mlops_ci.drift.builder.build_profile`
    and the distributed builder do for partitions) merge exactly. Otherwise each
    side is interpolated inside its own bins, so the merged CDF is off by at most
    one bin of either input at any point (KS error <= 2/bins).
    """
    ha, hb = a.histogram, b.histogram
    if ha is None or a.count == 0:
        return hb
    if hb is None or b.count == 0:
        return ha
    if ha.edges.shape == hb.edges.shape and np.array_equal(ha.edges, hb.edges):
        atoms = None if ha.atoms is None or hb.atoms is None else ha.atoms & hb.atoms
        return Histogram(ha.edges.copy(), ha.counts + hb.counts, ha.sums + hb.sums, atoms)
    hi = float(np.fmax(a.max, b.max))
    edges = np.union1d(ha.edges, hb.edges)
    ca, sa = H.rebin(ha.edges, ha.counts, ha.sums, a.min, a.max, edges)
    cb, sb = H.rebin(hb.edges, hb.counts, hb.sums, b.min, b.max, edges)
    counts, sums = ca + cb, sa + sb
    return regroup(edges, counts, sums, (a.count + b.count) / bins, hi)


def regroup(edges: np.ndarray, counts: np.ndarray, sums: np.ndarray, threshold: float, hi: float) -> Histogram:
    """Coalesce adjacent buckets while they hold at most ``threshold`` values together."""
    c, s = counts[:-1], sums[:-1]
    keep_edges, keep_c, keep_s = [], [], []
    acc_c, acc_s = 0, 0.0
    for i in range(c.size):
        if acc_c and acc_c + c[i] > threshold:
            keep_edges.append(edges[i - 1])
            keep_c.append(acc_c)
            keep_s.append(acc_s)
            acc_c, acc_s = 0, 0.0
        acc_c += int(c[i])
        acc_s += float(s[i])
    keep_edges.append(min(edges[-1], hi) if edges.size else hi)
    keep_c.append(acc_c)
    keep_s.append(acc_s)
    return Histogram(np.asarray(keep_edges, dtype=np.float64),
                     np.append(np.asarray(keep_c, dtype=np.int64), int(counts[-1])),
                     np.append(np.asarray(keep_s), float(sums[-1])), None)


def merge_categorical(a: CategoricalStats, b: CategoricalStats, top_k: int, max_categories: int) -> CategoricalStats:
    """Exact while both sides kept every value; otherwise the lumped "other" counts add up."""
    if a.high_cardinality or b.high_cardinality:
        return CategoricalStats(count=a.count + b.count, nulls=a.nulls + b.nulls, cardinality=None,
                                other=a.count + b.count)
    merged: dict[Any, int] = dict(zip(a.values, a.counts))
    for v, c in zip(b.values, b.counts):
        merged[v] = merged.get(v, 0) + c
    complete = a.other == 0 and b.other == 0
    cardinality: int | None = len(merged) if complete else max(len(merged), a.cardinality or 0, b.cardinality or 0)
    if cardinality is not None and cardinality > max_categories:
        return CategoricalStats(count=a.count + b.count, nulls=a.nulls + b.nulls, cardinality=None,
                                other=a.count + b.count)
    values, counts, rest = top_values(merged, top_k)
    return CategoricalStats(count=a.count + b.count, nulls=a.nulls + b.nulls, values=values, counts=counts,
                            other=rest + a.other + b.other, cardinality=cardinality)


def top_values(counts: dict[Any, int], top_k: int) -> tuple[list[Any], list[int], int]:
    """The ``top_k`` most frequent values (ties by value, so the order is deterministic) and the rest."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], str(type(kv[0]).__name__), str(kv[0])))
    head = ordered[:top_k]
    return [k for k, _ in head], [int(v) for _, v in head], int(sum(v for _, v in ordered[top_k:]))


def _with_nulls(col: ColumnProfile, nulls: int) -> ColumnProfile:
    """``col`` plus ``nulls`` more null rows (merged with an all-null partition of the same column)."""
    out = replace(col)
    if col.numeric is not None:
        out.numeric = replace(col.numeric, nulls=col.numeric.nulls + nulls)
    elif col.categorical is not None:
        out.categorical = replace(col.categorical, nulls=col.categorical.nulls + nulls)
    else:
        out.numeric = NumericStats(nulls=nulls)
    return out


def merge_profiles(a: Profile, b: Profile, *, max_categories: int = 100_000, distinct_cap: int = 64) -> Profile:
    """The profile of the union of two partitions (see :func:`merge_histograms` for the one approximate part)."""
    if a.bins != b.bins:
        raise BadInput(f"cannot merge profiles built with different resolutions ({a.bins} and {b.bins} bins)")
    if list(a.columns) != list(b.columns):
        missing = sorted(set(a.columns) ^ set(b.columns))
        raise BadInput(f"cannot merge profiles of different schemas (columns only on one side: {', '.join(missing)})")
    columns: dict[str, ColumnProfile] = {}
    for name, ca in a.columns.items():
        cb = b.columns[name]
        if ca.kind == "empty" or cb.kind == "empty":  # a partition where the column had no value at all
            columns[name] = _with_nulls(cb if ca.kind == "empty" else ca, a.rows if ca.kind == "empty" else b.rows)
            continue
        if ca.kind != cb.kind:
            raise BadInput(f"cannot merge profiles: column '{name}' is {ca.kind} ({ca.dtype}) on one side and "
                           f"{cb.kind} ({cb.dtype}) on the other")
        merged = replace(ca)
        if ca.numeric is not None and cb.numeric is not None:
            merged.numeric = merge_numeric(ca.numeric, cb.numeric, a.bins, distinct_cap)
        if ca.categorical is not None and cb.categorical is not None:
            merged.categorical = merge_categorical(ca.categorical, cb.categorical, a.top_k, max_categories)
        columns[name] = merged
    return Profile(rows=a.rows + b.rows, columns=columns, bins=a.bins, top_k=a.top_k,
                   source=a.source if a.source == b.source else None, created_by=a.created_by)
