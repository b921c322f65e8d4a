"""Per-column partial states of a pass, filled from record batches and merged exactly.

Every numeric batch is turned into one sorted copy of its finite values
(:func:`numeric_values`): numpy's vectorised sort of a 262,144-value batch costs
about as much as two elementwise passes, and once sorted, everything else is a
view or a binary search — NaN and ±inf sit at the ends, min and max are the
first and last values, distinct values are runs, and binning on a grid is one
``searchsorted`` per edge (:func:`mlops_ci.drift.histogram.bin_sorted`). No
step is per row in Python.

Moments are merged with Chan's formula; when values are so large that squared
deviations would overflow a double (beyond ~1e144), they are computed on values
rescaled by a power of two (exact), so the standard deviation stays finite.

``pyarrow.compute`` (~30 ms to import) is only loaded by the Array methods that
need it — nulls to drop, strings to count — never for dictionary or null-free
numeric columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from mlops_ci.drift.profile import CategoricalStats, NumericStats, combine_moments, merge_distinct, top_values

#: Beyond this magnitude a batch's moments are computed on rescaled values (squares would overflow).
BIG = 2.0 ** 480

_NUMPY_TYPES = {pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32, pa.int64(): np.int64,
                pa.uint8(): np.uint8, pa.uint16(): np.uint16, pa.uint32(): np.uint32, pa.uint64(): np.uint64,
                pa.float16(): np.float16, pa.float32(): np.float32, pa.float64(): np.float64}


def to_numpy(arr: pa.Array) -> np.ndarray:
    """A view of a null-free primitive array's buffer (pyarrow's to_numpy imports pandas: 0.5 s)."""
    dtype = _NUMPY_TYPES.get(arr.type)
    if dtype is None or arr.null_count:
        return arr.to_numpy(zero_copy_only=False)
    width = np.dtype(dtype).itemsize
    return np.frombuffer(arr.buffers()[1], dtype=dtype, count=len(arr), offset=arr.offset * width)


def numeric_values(arr: pa.Array) -> tuple[np.ndarray, int, int, int, int]:
    """The finite values of a numeric/temporal array as a *sorted* float64 copy (-0.0 folded onto
    +0.0, so equal values get equal keys), and its null/NaN/+inf/-inf counts."""
    nulls = arr.null_count
    if nulls:
        arr = arr.drop_null()
    t = arr.type
    if pa.types.is_temporal(t):
        arr = arr.cast(pa.int32() if t.bit_width == 32 else pa.int64())
    elif pa.types.is_decimal(t):
        arr = arr.cast(pa.float64())
    raw = to_numpy(arr)
    if raw.dtype == np.float64:
        values = np.sort(raw)  # the one copy
    else:
        values = raw.astype(np.float64)
        values.sort()
    n = values.size
    if n == 0:
        return values, nulls, 0, 0, 0
    nan = posinf = neginf = 0
    lo, hi = 0, n
    if not values[0] > -math.inf:  # -inf first (or all NaN)
        lo = int(np.searchsorted(values, -math.inf, side="right"))
        neginf = lo
    if not values[-1] < math.inf:  # NaN last, +inf just before
        finite_end = int(np.searchsorted(values, math.inf, side="left"))
        inf_end = int(np.searchsorted(values, math.inf, side="right"))
        posinf, nan = inf_end - finite_end, n - inf_end
        hi = finite_end
    finite = values[lo:hi]
    if finite.size and finite[0] <= 0.0 <= finite[-1]:  # -0.0 and +0.0 are interleaved: fold them
        a = int(np.searchsorted(finite, 0.0, side="left"))
        b = int(np.searchsorted(finite, 0.0, side="right"))
        finite[a:b] = 0.0
    return finite, nulls, nan, posinf, neginf


def batch_moments(s: np.ndarray, total: float | None = None) -> tuple[float, float, float]:
    """Mean, sum of squared deviations (in units of ``scale**2``) and ``scale`` of sorted finite values.

    ``total``: their sum when the caller has it already (the bins' sums of the same batch),
    which saves a pass over the values.
    """
    top = max(-float(s[0]), float(s[-1]))
    scale = 1.0
    x = s
    if top > BIG:
        scale = 2.0 ** (math.frexp(top)[1] - 2)  # a power of two: dividing by it is exact
        x = s / scale
        total = None
    mean = float(x.mean()) if total is None or not math.isfinite(total) else total / s.size
    d = x - mean
    m2 = float(np.einsum("i,i->", d, d))  # not np.dot: BLAS threads cost more than they save here
    return mean * scale, m2, scale


def sorted_distinct(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and their counts (runs; no hashing, no np.unique)."""
    if s.size == 0:
        return s[:0].copy(), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    return s[starts].copy(), np.diff(np.append(starts, s.size)).astype(np.int64)


def _surely_more_distinct(s: np.ndarray, cap: int) -> bool:
    """Sorted ``s`` has more than ``cap`` distinct values, seen from an evenly spaced sample of
    ``4 * cap`` of them (a continuous column: settled in a few microseconds). False: count exactly."""
    sample = s[::max(1, s.size // (4 * cap))]
    return int(np.count_nonzero(sample[1:] != sample[:-1])) + 1 > cap


@dataclass
class NumericState:
    count: int = 0
    nulls: int = 0
    nan: int = 0
    posinf: int = 0
    neginf: int = 0
    min: float = math.inf
    max: float = -math.inf
    mean: float = 0.0
    m2: float = 0.0
    #: power of two: the sum of squared deviations is ``m2 * scale**2`` (1.0 unless values are huge)
    scale: float = 1.0
    distinct_values: np.ndarray | None = field(default_factory=lambda: np.zeros(0))
    distinct_counts: np.ndarray | None = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def add(self, s: np.ndarray, nulls: int, nan: int, posinf: int, neginf: int, cap: int,
            total: float | None = None) -> None:
        """Fold in a batch's finite values (sorted, summing to ``total`` if given) and its null/NaN/inf counts."""
        self.nulls += nulls
        self.nan += nan
        self.posinf += posinf
        self.neginf += neginf
        if s.size == 0:
            return
        mean_b, m2_b, scale_b = batch_moments(s, total)
        self.count, self.mean, self.m2, self.scale = combine_moments(
            self.count, self.mean, self.m2, self.scale, int(s.size), mean_b, m2_b, scale_b)
        self.min = min(self.min, float(s[0]))
        self.max = max(self.max, float(s[-1]))
        if self.distinct_values is not None:
            if _surely_more_distinct(s, cap):
                self.distinct_values = self.distinct_counts = None
            else:
                values, counts = sorted_distinct(s)
                self.distinct_values, self.distinct_counts = merge_distinct(
                    self.distinct_values, self.distinct_counts, values, counts, cap)

    def merge(self, other: "NumericState", cap: int) -> "NumericState":
        count, mean, m2, scale = combine_moments(self.count, self.mean, self.m2, self.scale,
                                                 other.count, other.mean, other.m2, other.scale)
        values, counts = merge_distinct(self.distinct_values, self.distinct_counts, other.distinct_values,
                                        other.distinct_counts, cap)
        return NumericState(count=count, nulls=self.nulls + other.nulls, nan=self.nan + other.nan,
                            posinf=self.posinf + other.posinf, neginf=self.neginf + other.neginf,
                            min=min(self.min, other.min), max=max(self.max, other.max), mean=mean, m2=m2,
                            scale=scale, distinct_values=values, distinct_counts=counts)

    def stats(self) -> NumericStats:
        empty = self.count == 0
        return NumericStats(count=self.count, nulls=self.nulls, nan=self.nan, posinf=self.posinf,
                            neginf=self.neginf, min=math.nan if empty else self.min,
                            max=math.nan if empty else self.max, mean=math.nan if empty else self.mean,
                            m2=self.m2, m2_scale=self.scale, distinct_values=self.distinct_values,
                            distinct_counts=self.distinct_counts)


def value_counts(arr: pa.Array) -> tuple[dict[Any, int], int]:
    """Counts of the non-null values of a categorical array, and its null count.

    Dictionary arrays (Parquet's dictionary-encoded strings) are counted on their integer
    codes with one ``bincount``; other types with Arrow's hash kernel.
    """
    if pa.types.is_dictionary(arr.type) and pa.types.is_integer(arr.type.index_type):
        codes = arr.indices
        if codes.null_count:
            codes = codes.drop_null()
        dictionary = arr.dictionary.to_pylist()
        per_code = np.bincount(to_numpy(codes).astype(np.intp, copy=False), minlength=len(dictionary))
        out: dict[Any, int] = {}
        for value, count in zip(dictionary, per_code.tolist()):
            if count and value is not None:
                out[value] = out.get(value, 0) + count
        return out, arr.null_count
    vc = arr.value_counts()
    values = vc.field("values").to_pylist()
    counts = vc.field("counts").to_pylist()
    return {v: c for v, c in zip(values, counts) if v is not None}, arr.null_count


@dataclass
class CategoricalState:
    count: int = 0
    nulls: int = 0
    counts: dict[Any, int] | None = field(default_factory=dict)

    def add(self, arr: pa.Array, cap: int) -> None:
        self.nulls += arr.null_count
        self.count += len(arr) - arr.null_count
        if self.counts is None:
            return
        batch, _ = value_counts(arr)
        for v, c in batch.items():
            self.counts[v] = self.counts.get(v, 0) + c
        if len(self.counts) > cap:
            self.counts = None

    def merge(self, other: "CategoricalState", cap: int) -> "CategoricalState":
        out = CategoricalState(self.count + other.count, self.nulls + other.nulls, None)
        if self.counts is not None and other.counts is not None:
            merged = dict(self.counts)
            for v, c in other.counts.items():
                merged[v] = merged.get(v, 0) + c
            out.counts = merged if len(merged) <= cap else None
        return out

    def stats(self, top_k: int) -> CategoricalStats:
        if self.counts is None:
            return CategoricalStats(count=self.count, nulls=self.nulls, other=self.count, cardinality=None)
        values, counts, other = top_values(self.counts, top_k)
        return CategoricalStats(count=self.count, nulls=self.nulls, values=values, counts=counts, other=other,
                                cardinality=len(self.counts))
