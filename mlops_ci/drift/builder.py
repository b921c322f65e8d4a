"""Streaming construction of a reference :class:`~mlops_ci.drift.profile.Profile`.

The builder never holds more than one record batch and a few MB of counters per
column, whatever the row count. It makes one pass for exact counts, moments,
categories and the coarse 16-bit histogram, then usually one (rarely two or
three) more pass(es) over the numeric columns only, refining the histogram where
the data is dense (see :mod:`mlops_ci.drift.histogram`).

Each pass is ``new_state`` → ``update`` per batch → ``merge`` of partial states →
``advance``. Partial states are plain picklable objects and their merge is an
exact sum, so a distributed engine (:mod:`mlops_ci.drift.distributed`) can run
``update`` on partitions and get the very profile the single-machine path gets.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlops_ci.drift import histogram as H
from mlops_ci.drift.profile import (CategoricalStats, ColumnProfile, Histogram, Kind, NumericStats, Profile,
                                    merge_distinct, top_values)

#: ``columns`` to read (None: all) -> record batches. Must be re-iterable: one call per pass.
BatchSource = Callable[[Sequence[str] | None], Iterable[pa.RecordBatch]]


@dataclass(frozen=True)
class BuildOptions:
    bins: int = 1000
    top_k: int = 1000
    #: beyond this many distinct values a categorical column is "high cardinality" (an ID): not tested
    max_categories: int = 100_000
    #: numeric columns keep exact value counts up to this many distinct values (type rules need them)
    distinct_cap: int = 64
    threads: int = 2
    #: refinement passes reuse the sorted values of pass 1 while they fit in this many bytes (else re-read)
    cache_bytes: int = 256 << 20


#: Field metadata a reader puts on a column whose type it could not infer (a CSV column empty in the
#: first block is read as text). If such a column turns out to hold no value at all, its profile is the
#: one of a null-typed column (dtype ``null``, kind ``empty``): "no value", not "a string column".
UNTYPED_KEY = b"mlops_ci.untyped"


def untyped_columns(schema: pa.Schema) -> set[str]:
    """Columns whose type was guessed by the reader rather than declared (see :data:`UNTYPED_KEY`)."""
    return {f.name for f in schema if pa.types.is_null(f.type) or (f.metadata and UNTYPED_KEY in f.metadata)}


def all_null_column(name: str, rows: int) -> ColumnProfile:
    """The profile of a column without a single value: the same whatever the file format."""
    return ColumnProfile(name=name, dtype="null", kind="empty", numeric=NumericStats(nulls=rows))


def column_kind(t: pa.DataType) -> Kind:
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "numeric"
    if (pa.types.is_boolean(t) or pa.types.is_string(t) or pa.types.is_large_string(t)
            or pa.types.is_dictionary(t) or getattr(pa.types, "is_string_view", lambda _: False)(t)):
        return "categorical"
    if pa.types.is_temporal(t):
        return "datetime"
    if pa.types.is_null(t):
        return "empty"
    return "unsupported"


def numeric_values(arr: pa.Array) -> tuple[np.ndarray, int, int, int, int]:
    """Finite float64 values (a copy, -0.0 folded onto +0.0) of a numeric/temporal array, and its
    null/NaN/+inf/-inf counts."""
    nulls = arr.null_count
    if nulls:
        arr = pc.drop_null(arr)
    t = arr.type
    if pa.types.is_temporal(t):
        arr = arr.cast(pa.int32() if t.bit_width == 32 else pa.int64())
    elif pa.types.is_decimal(t):
        arr = arr.cast(pa.float64())
    values = np.asarray(_to_numpy(arr), dtype=np.float64)
    finite = np.isfinite(values)
    nan = posinf = neginf = 0
    if not finite.all():
        nan = int(np.isnan(values).sum())
        posinf = int(np.count_nonzero(values == np.inf))
        neginf = int(values.size - finite.sum()) - nan - posinf
        values = values[finite]
    return values + 0.0, nulls, nan, posinf, neginf  # -0.0 -> +0.0: equal values get equal keys


_NUMPY_TYPES = {pa.int8(): np.int8, pa.int16(): np.int16, pa.int32(): np.int32, pa.int64(): np.int64,
                pa.uint8(): np.uint8, pa.uint16(): np.uint16, pa.uint32(): np.uint32, pa.uint64(): np.uint64,
                pa.float16(): np.float16, pa.float32(): np.float32, pa.float64(): np.float64}


def _to_numpy(arr: pa.Array) -> np.ndarray:
    """A view of a null-free primitive array's buffer (pyarrow's to_numpy imports pandas: 0.5 s)."""
    dtype = _NUMPY_TYPES.get(arr.type)
    if dtype is None or arr.null_count:
        return arr.to_numpy(zero_copy_only=False)
    width = np.dtype(dtype).itemsize
    return np.frombuffer(arr.buffers()[1], dtype=dtype, count=len(arr), offset=arr.offset * width)


def value_counts(arr: pa.Array) -> tuple[dict[Any, int], int]:
    """Counts of the non-null values of a categorical array, and its null count."""
    vc = pc.value_counts(arr)
    values = vc.field("values").to_pylist()
    counts = vc.field("counts").to_pylist()
    return {v: c for v, c in zip(values, counts) if v is not None}, arr.null_count


def bin_threshold(count: int, bins: int) -> float:
    """Most values a bin may hold. Up to ``bins`` values every distinct value gets its own bin:
    small references (where Evidently uses KS and chi-square) are then described exactly."""
    return count / bins if count > bins else 0.5


# --------------------------------------------------------------------------- partial states
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
    distinct_values: np.ndarray | None = field(default_factory=lambda: np.zeros(0))
    distinct_counts: np.ndarray | None = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def add(self, s: np.ndarray, nulls: int, nan: int, posinf: int, neginf: int, cap: int) -> None:
        """Fold in a batch's finite values (any order) and its null/NaN/inf counts."""
        self.nulls += nulls
        self.nan += nan
        self.posinf += posinf
        self.neginf += neginf
        if s.size == 0:
            return
        mean_b = float(s.mean())
        d = s - mean_b
        m2_b = float(np.einsum("i,i->", d, d))  # not np.dot: BLAS threads cost more than they save here
        self._combine(int(s.size), mean_b, m2_b)
        self.min = min(self.min, float(s.min()))
        self.max = max(self.max, float(s.max()))
        if self.distinct_values is not None:
            if np.unique(s[: 4 * cap]).size > cap:  # a continuous column: known from its first values
                self.distinct_values = self.distinct_counts = None
            else:
                values, counts = np.unique(s, return_counts=True)
                self.distinct_values, self.distinct_counts = merge_distinct(
                    self.distinct_values, self.distinct_counts, values, counts, cap)

    def _combine(self, n_b: int, mean_b: float, m2_b: float) -> None:
        n = self.count + n_b
        delta = mean_b - self.mean
        self.mean += delta * n_b / n
        self.m2 += m2_b + delta * delta * self.count * n_b / n
        self.count = n

    def merge(self, other: "NumericState", cap: int) -> "NumericState":
        out = NumericState(nulls=self.nulls + other.nulls, nan=self.nan + other.nan,
                           posinf=self.posinf + other.posinf, neginf=self.neginf + other.neginf,
                           min=min(self.min, other.min), max=max(self.max, other.max),
                           count=self.count, mean=self.mean, m2=self.m2)
        if other.count:
            out._combine(other.count, other.mean, other.m2)
        out.distinct_values, out.distinct_counts = merge_distinct(
            self.distinct_values, self.distinct_counts, other.distinct_values, other.distinct_counts, cap)
        return out

    def stats(self) -> NumericStats:
        empty = self.count == 0
        return NumericStats(count=self.count, nulls=self.nulls, nan=self.nan, posinf=self.posinf,
                            neginf=self.neginf, min=math.nan if empty else self.min,
                            max=math.nan if empty else self.max, mean=math.nan if empty else self.mean,
                            m2=self.m2, distinct_values=self.distinct_values, distinct_counts=self.distinct_counts)


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


@dataclass
class PassState:
    rows: int = 0
    numeric: dict[str, NumericState] = field(default_factory=dict)
    categorical: dict[str, CategoricalState] = field(default_factory=dict)
    levels: dict[str, H.DenseLevel] = field(default_factory=dict)


# --------------------------------------------------------------------------- the builder
class ProfileBuilder:
    """Drives the passes; holds the merged results and the refinement plans between passes."""

    def __init__(self, schema: pa.Schema, options: BuildOptions = BuildOptions(), source: str | None = None) -> None:
        self.options = options
        self.source = source
        self.dtypes = {f.name: str(f.type) for f in schema}
        self.kinds: dict[str, Kind] = {f.name: column_kind(f.type) for f in schema}
        self.untyped = untyped_columns(schema)
        self.pass_no = 0
        self.rows = 0
        self.numeric: dict[str, NumericState] = {}
        self.categorical: dict[str, CategoricalState] = {}
        self.plans: dict[str, H.LevelPlan] = {}
        self.leaves: dict[str, list[tuple[int, H.LevelCounts]]] = {}
        #: sorted finite values of pass 1 per numeric column, while they fit in options.cache_bytes
        self.cache: dict[str, list[np.ndarray]] | None = {n: [] for n in self._numeric_names()} \
            if options.cache_bytes > 0 else None
        self._cached = 0

    def __getstate__(self) -> dict[str, Any]:
        """What a worker needs (schema, options, plans): results stay on the driver."""
        state = dict(self.__dict__)
        state.update(leaves={}, numeric={}, categorical={}, cache=None)
        return state

    def _numeric_names(self) -> list[str]:
        return [n for n, k in self.kinds.items() if k in ("numeric", "datetime")]

    def columns_needed(self) -> list[str]:
        if self.pass_no == 0:
            return [n for n, k in self.kinds.items() if k in ("numeric", "datetime", "categorical")]
        return list(self.plans)

    def new_state(self) -> PassState:
        state = PassState()
        if self.pass_no == 0:
            state.numeric = {n: NumericState() for n in self._numeric_names()}
            state.categorical = {n: CategoricalState() for n, k in self.kinds.items() if k == "categorical"}
            state.levels = {n: H.DenseLevel.empty(H.root_plan()) for n in self._numeric_names()}
        else:
            state.levels = {n: H.DenseLevel.empty(plan) for n, plan in self.plans.items()}
        return state

    def update(self, state: PassState, batch: pa.RecordBatch, pool: ThreadPoolExecutor | None = None) -> None:
        """Fold one record batch into ``state`` (columns in parallel when a pool is given)."""
        if self.pass_no == 0:
            state.rows += batch.num_rows
        names = list(state.levels) + list(state.categorical)
        if pool is None:
            for name in names:
                self._update_column(state, name, batch.column(name))
        else:
            for _ in pool.map(lambda n: self._update_column(state, n, batch.column(n)), names):
                pass
        if self.cache is not None and self.pass_no == 0:
            self._cached += sum(c[-1].nbytes for c in self.cache.values() if c)
            if self._cached > self.options.cache_bytes:
                self.cache = None

    def _update_column(self, state: PassState, name: str, arr: pa.Array) -> None:
        if name in state.categorical:
            state.categorical[name].add(arr, self.options.max_categories)
            return
        s, nulls, nan, posinf, neginf = numeric_values(arr)
        if name in state.numeric:
            state.numeric[name].add(s, nulls, nan, posinf, neginf, self.options.distinct_cap)
        self._count(state, name, s)

    def _count(self, state: PassState, name: str, s: np.ndarray) -> None:
        state.levels[name].add(s, H.float_keys(s, normalized=True))
        cache = self.cache
        if cache is not None and self.pass_no == 0:
            cache[name].append(s)

    def replay(self, state: PassState, pool: ThreadPoolExecutor | None = None) -> bool:
        """Run a refinement pass from the cached sorted values of pass 1; False when nothing is cached."""
        cache = self.cache
        if cache is None or self.pass_no == 0:
            return False

        def one(name: str) -> None:
            for s in cache[name]:
                self._count(state, name, s)

        if pool is None:
            for name in state.levels:
                one(name)
        else:
            for _ in pool.map(one, list(state.levels)):
                pass
        return True

    def merge(self, a: PassState, b: PassState) -> PassState:
        cap = self.options.distinct_cap
        return PassState(
            rows=a.rows + b.rows,
            numeric={n: a.numeric[n].merge(b.numeric[n], cap) for n in a.numeric},
            categorical={n: a.categorical[n].merge(b.categorical[n], self.options.max_categories)
                         for n in a.categorical},
            levels={n: a.levels[n].merge(b.levels[n]) for n in a.levels})

    def advance(self, state: PassState) -> bool:
        """Take a pass's merged state; True when another pass (refinement) is needed."""
        if self.pass_no == 0:
            self.rows = state.rows
            self.numeric = state.numeric
            self.categorical = state.categorical
        plans: dict[str, H.LevelPlan] = {}
        for name, level in state.levels.items():
            threshold = bin_threshold(self.numeric[name].count, self.options.bins)
            plan, leaves = H.next_plan(level.sparse(), level.plan, threshold)
            self.leaves.setdefault(name, []).append((level.plan.child_bits, leaves))
            if plan is not None:
                plans[name] = plan
        self.plans = plans
        self.pass_no += 1
        if not plans:
            self.cache = None
        return bool(plans)

    def result(self) -> Profile:
        columns: dict[str, ColumnProfile] = {}
        for name, kind in self.kinds.items():
            col = ColumnProfile(name=name, dtype=self.dtypes[name], kind=kind)
            if name in self.numeric:
                num = self.numeric[name]
                col.numeric = num.stats()
                if num.count:
                    grid = H.group_leaves(self.leaves.get(name, []), bin_threshold(num.count, self.options.bins),
                                          num.max)
                    col.numeric.histogram = Histogram(grid.edges, grid.counts, grid.sums, grid.atoms)
            elif name in self.categorical:
                col.categorical = self.categorical[name].stats(self.options.top_k)
            if kind == "empty" or (name in self.untyped and col.nulls == self.rows):
                col = all_null_column(name, self.rows)
            columns[name] = col
        from mlops_ci import __version__

        return Profile(rows=self.rows, columns=columns, bins=self.options.bins, top_k=self.options.top_k,
                       source=self.source, created_by=f"mlops-ci {__version__}")


def prefetch(batches: Iterable[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
    """Read ahead in a background thread: Parquet decoding overlaps the counting of the previous batch."""
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def run() -> None:
        try:
            for batch in batches:
                if stop.is_set():
                    return
                q.put(batch)
            q.put(done)
        except BaseException as exc:  # re-raised in the consumer (BadInput from the adapter, ...)
            q.put(exc)

    thread = threading.Thread(target=run, name="mlops-ci-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.05)


def build_profile(source: BatchSource, schema: pa.Schema, options: BuildOptions = BuildOptions(),
                  name: str | None = None) -> Profile:
    """Profile of everything ``source`` yields: one pass, plus refinement passes over numeric columns."""
    builder = ProfileBuilder(schema, options, source=name)
    pool = ThreadPoolExecutor(options.threads) if options.threads > 1 else None
    try:
        while True:
            state = builder.new_state()
            if not builder.replay(state, pool):
                for batch in prefetch(source(builder.columns_needed())):
                    builder.update(state, batch, pool)
            if not builder.advance(state):
                return builder.result()
    finally:
        if pool is not None:
            pool.shutdown()
