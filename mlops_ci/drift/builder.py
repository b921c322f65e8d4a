"""Streaming construction of a reference :class:`~mlops_ci.drift.profile.Profile`.

The builder never holds more than a few record batches and a few MB of counters
per column, whatever the row count. It makes one pass for exact counts, moments,
categories and the coarse 16-bit histogram, then usually one (rarely two or
three) more pass(es) over the numeric columns only, refining the histogram where
the data is dense (see :mod:`mlops_ci.drift.histogram`). Each batch's numeric
values are sorted once (:func:`mlops_ci.drift.states.numeric_values`); while
they fit in ``cache_bytes``, the refinement passes count those sorted values
again instead of reading and decoding the files a second time.

Each pass is ``new_state`` → ``update`` per batch → ``merge`` of partial states →
``advance``; :func:`mlops_ci.drift.scan.run_pass` runs it on every core.
Partial states are plain picklable objects and their merge is an exact sum, so
a distributed engine (:mod:`mlops_ci.drift.distributed`) can run ``update`` on
partitions and get the very profile the single-machine path gets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from mlops_ci.drift import histogram as H
from mlops_ci.drift.profile import ColumnProfile, Histogram, Kind, NumericStats, Profile
from mlops_ci.drift.scan import (BatchSource, counts_rows, default_threads, no_cycle_collection,  # noqa: F401
                                  ordered, run_pass)
from mlops_ci.drift.states import CategoricalState, NumericState, numeric_values  # noqa: F401 - re-exported


@dataclass(frozen=True)
class BuildOptions:
    bins: int = 1000
    top_k: int = 1000
    #: beyond this many distinct values a categorical column is "high cardinality" (an ID): not tested
    max_categories: int = 100_000
    #: numeric columns keep exact value counts up to this many distinct values (type rules need them)
    distinct_cap: int = 64
    #: worker threads of a pass (default: every core available, at most 8)
    threads: int = field(default_factory=default_threads)
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


@dataclass
class PassState:
    rows: int = 0
    numeric: dict[str, NumericState] = field(default_factory=dict)
    categorical: dict[str, CategoricalState] = field(default_factory=dict)
    levels: dict[str, H.Level] = field(default_factory=dict)
    #: pass 1 on one machine: each batch's sorted finite values per numeric column, in data order
    cache: list[dict[str, np.ndarray]] | None = None
    cached_bytes: int = 0


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
        #: sorted finite values of pass 1, batch by batch, while they fit in options.cache_bytes
        self.cache: list[dict[str, np.ndarray]] | None = None

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
            state.levels = {n: H.Level(H.root_plan()) for n in self._numeric_names()}
            if self.options.cache_bytes > 0:
                state.cache = []
        else:
            state.levels = {n: H.Level(plan) for n, plan in self.plans.items()}
        return state

    def update(self, state: PassState, batch: pa.RecordBatch) -> None:
        """Fold one record batch (all the columns needed, or some of them: see ``scan.counts_rows``)."""
        if self.pass_no == 0 and counts_rows(batch, self.columns_needed()):
            state.rows += batch.num_rows
        present = set(batch.schema.names)
        kept: dict[str, np.ndarray] = {}
        for name, level in state.levels.items():
            if name not in present:
                continue
            s, nulls, nan, posinf, neginf = numeric_values(batch.column(name))
            total = level.add_sorted(s)
            if name in state.numeric:  # pass 1: the root level counted every value, so `total` is their sum
                state.numeric[name].add(s, nulls, nan, posinf, neginf, self.options.distinct_cap, total)
            kept[name] = s
        for name, cat in state.categorical.items():
            if name in present:
                cat.add(batch.column(name), self.options.max_categories)
        if state.cache is not None:
            state.cache.append(kept)
            state.cached_bytes += sum(a.nbytes for a in kept.values())
            if state.cached_bytes > self.options.cache_bytes:
                state.cache = None

    def count_cached(self, state: PassState, values: dict[str, np.ndarray]) -> None:
        """A refinement pass over one cached batch of pass 1 (sorted already: nothing is read or sorted)."""
        for name, level in state.levels.items():
            if name in values:
                level.add_sorted(values[name])

    def merge(self, a: PassState, b: PassState) -> PassState:
        """``a`` then ``b``, exactly (``a`` is consumed: its histogram arrays are reused)."""
        cap = self.options.distinct_cap
        cache = None
        if a.cache is not None and b.cache is not None and a.cached_bytes + b.cached_bytes <= self.options.cache_bytes:
            cache = a.cache + b.cache
        return PassState(
            rows=a.rows + b.rows,
            numeric={n: a.numeric[n].merge(b.numeric[n], cap) for n in a.numeric},
            categorical={n: a.categorical[n].merge(b.categorical[n], self.options.max_categories)
                         for n in a.categorical},
            levels={n: a.levels[n].merge(b.levels[n]) for n in a.levels},
            cache=cache, cached_bytes=a.cached_bytes + b.cached_bytes if cache is not None else 0)

    def advance(self, state: PassState) -> bool:
        """Take a pass's merged state; True when another pass (refinement) is needed."""
        if self.pass_no == 0:
            self.rows = state.rows
            self.numeric = state.numeric
            self.categorical = state.categorical
            self.cache = state.cache
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


def bin_threshold(count: int, bins: int) -> float:
    """Most values a bin may hold. Up to ``bins`` values every distinct value gets its own bin:
    small references (where Evidently uses KS and chi-square) are then described exactly."""
    return count / bins if count > bins else 0.5


def build_profile(source: BatchSource, schema: pa.Schema, options: BuildOptions = BuildOptions(),
                  name: str | None = None) -> Profile:
    """Profile of everything ``source`` yields: one pass, plus refinement passes over numeric columns.

    Every pass runs on ``options.threads`` threads (:func:`mlops_ci.drift.scan.run_pass`); a
    refinement pass counts the cached sorted values of pass 1 when they fit in memory.
    """
    builder = ProfileBuilder(schema, options, source=name)
    while True:
        cache = builder.cache
        if builder.pass_no > 0 and cache is not None:
            state = builder.new_state()

            def replay(values: dict[str, np.ndarray]) -> PassState:
                part = builder.new_state()
                builder.count_cached(part, values)
                return part

            with no_cycle_collection():
                for part in ordered(replay, cache, options.threads):
                    state = builder.merge(state, part)
        else:
            state = run_pass(source, builder.columns_needed(), builder.new_state, builder.update, builder.merge,
                             options.threads)
        if not builder.advance(state):
            return builder.result()
