"""One streaming pass over current data: binned on the reference grid, with contract counters.

Current data is never profiled on its own grid: each numeric column is counted
in the buckets of the reference histogram (plus geometric tails on both sides
for values outside the reference range), so every statistic compares like with
like and KS stays within ``1/bins`` of exact. Each batch's column is sorted once
(:func:`mlops_ci.drift.states.numeric_values`, cheaper than a binary search per
value), which also gives min/max, range violations and their example values for
free; binning is then two binary searches per edge and one summation.

Like the profile builder, partial states merge exactly, so the pass runs on
every core (:func:`mlops_ci.drift.scan.run_pass`: Parquet row groups decoded
and counted in parallel, folded in order) or across files and workers. It does
strictly less work per value than pass 1 of ``profile build``: no float keys,
no histogram refinement, no cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pyarrow as pa

from mlops_ci.drift import histogram as H
from mlops_ci.drift.builder import BuildOptions, all_null_column, column_kind, untyped_columns
from mlops_ci.drift.scan import BatchSource, counts_rows, run_pass
from mlops_ci.drift.states import CategoricalState, NumericState, numeric_values
from mlops_ci.drift.contracts import EXAMPLES, Check, Counter
from mlops_ci.drift.profile import ColumnProfile, Histogram, Profile


def reference_grid(ref: ColumnProfile | None) -> np.ndarray | None:
    """The extended grid current values of this column are counted on (None: no numeric reference)."""
    if ref is None or ref.numeric is None or ref.numeric.histogram is None or ref.numeric.count == 0:
        return None
    edges, _ = H.extended_edges(ref.numeric.histogram.edges, ref.numeric.min, ref.numeric.max)
    return edges


@dataclass
class CurrentState:
    rows: int = 0
    numeric: dict[str, NumericState] = field(default_factory=dict)
    binned: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    categorical: dict[str, CategoricalState] = field(default_factory=dict)
    counters: dict[str, Counter] = field(default_factory=dict)
    hashes: dict[str, list[np.ndarray]] = field(default_factory=dict)


class CurrentScanner:
    def __init__(self, schema: pa.Schema, reference: Profile | None, checks: Sequence[Check] = (),
                 options: BuildOptions = BuildOptions(), source: str | None = None) -> None:
        self.options = options
        self.source = source
        self.schema = schema
        self.dtypes = {f.name: str(f.type) for f in schema}
        self.types = {f.name: f.type for f in schema}
        self.kinds = {f.name: column_kind(f.type) for f in schema}
        #: types guessed by the reader: a column of them with no value at all is reported as all null
        self.untyped = untyped_columns(schema)
        self.grids: dict[str, np.ndarray] = {}
        for name, kind in self.kinds.items():
            if kind in ("numeric", "datetime") and reference is not None:
                grid = reference_grid(reference.columns.get(name))
                if grid is not None:
                    self.grids[name] = grid
        self.ranges: dict[str, list[Check]] = {}
        self.sets: dict[str, list[tuple[Check, pa.Array]]] = {}
        self.unique: dict[str, Check] = {}
        for check in checks:
            if check.column not in self.kinds:
                continue
            kind = self.kinds[check.column]
            if check.kind == "between" and kind == "numeric":
                self.ranges.setdefault(check.column, []).append(check)
            elif check.kind == "in_set" and kind in ("numeric", "categorical"):
                self.sets.setdefault(check.column, []).append((check, self._value_set(check)))
            elif check.kind == "unique" and kind in ("numeric", "categorical", "datetime"):
                self.unique[check.column] = check

    def _value_set(self, check: Check) -> pa.Array:
        t = self.types[check.column or ""]
        target = t.value_type if pa.types.is_dictionary(t) else t
        values = list(check.values or ())
        try:
            return pa.array(values).cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return pa.array([str(v) for v in values]).cast(target, safe=False)

    def columns_needed(self) -> list[str]:
        return [n for n, k in self.kinds.items() if k in ("numeric", "datetime", "categorical")]

    def new_state(self) -> CurrentState:
        st = CurrentState()
        for name in self.columns_needed():
            if self.kinds[name] == "categorical":
                st.categorical[name] = CategoricalState()
            else:
                st.numeric[name] = NumericState()
                if name in self.grids:
                    size = self.grids[name].size + 1
                    st.binned[name] = (np.zeros(size, dtype=np.int64), np.zeros(size),
                                       np.zeros(size - 1, dtype=np.int64))
        for checks in self.ranges.values():
            for c in checks:
                st.counters[c.id] = Counter()
        for pairs in self.sets.values():
            for c, _ in pairs:
                st.counters[c.id] = Counter()
        for name, c in self.unique.items():
            st.counters[c.id] = Counter()
            st.hashes[name] = []
        return st

    def update(self, st: CurrentState, batch: pa.RecordBatch) -> None:
        """Fold one record batch (all the columns needed, or some of them: see ``scan.counts_rows``)."""
        needed = self.columns_needed()
        if counts_rows(batch, needed):
            st.rows += batch.num_rows
        present = set(batch.schema.names)
        for name in needed:
            if name in present:
                self._update_column(st, name, batch.column(name))

    def _update_column(self, st: CurrentState, name: str, arr: pa.Array) -> None:
        if name in st.categorical:
            st.categorical[name].add(arr, self.options.max_categories)
        else:
            s, nulls, nan, posinf, neginf = numeric_values(arr)  # sorted: binning is a few binary searches
            total = None
            if name in st.binned:
                counts, sums, at_edges = H.bin_sorted(s, self.grids[name])
                acc = st.binned[name]
                acc[0][:] += counts
                acc[1][:] += sums
                acc[2][:] += at_edges
                with np.errstate(over="ignore", invalid="ignore"):  # huge values: moments rescale instead
                    total = float(sums.sum())
            st.numeric[name].add(s, nulls, nan, posinf, neginf, self.options.distinct_cap, total)
            for check in self.ranges.get(name, ()):
                below = int(np.searchsorted(s, check.min, side="left")) if check.min is not None else 0
                above = s.size - int(np.searchsorted(s, check.max, side="right")) if check.max is not None else 0
                inf = (neginf if check.min is not None else 0) + (posinf if check.max is not None else 0)
                # the most extreme distinct offenders on each side
                examples = [float(x) for x in _distinct_sorted(s[:below])] + \
                    [float(x) for x in _distinct_sorted(s[s.size - above:][::-1])] + ["inf"] * min(inf, 1)
                st.counters[check.id].add(s.size + posinf + neginf, below + above + inf, examples)
            if name in self.unique:
                # ±inf are values: ten +inf are duplicates. NaN is not a value (like a null): left out
                infs = np.repeat(np.array([np.inf, -np.inf]), [posinf, neginf]) if posinf or neginf else None
                st.hashes[name].append(H.float_keys(s if infs is None else np.concatenate([s, infs])))
        for check, value_set in self.sets.get(name, ()):
            import pyarrow.compute as pc

            valid = pc.drop_null(arr)
            if pa.types.is_dictionary(valid.type):
                valid = valid.dictionary_decode()
            bad = pc.invert(pc.is_in(valid, value_set=value_set))
            n_bad = int(pc.sum(bad).as_py() or 0)
            # distinct offenders, in order of first appearance (pc.unique keeps it)
            examples = pc.unique(pc.filter(valid, bad)).slice(0, EXAMPLES).to_pylist() if n_bad else []
            st.counters[check.id].add(len(valid), n_bad, examples)
        if name in self.unique and name in st.categorical:
            st.hashes[name].append(_hash_strings(arr))

    def merge(self, a: CurrentState, b: CurrentState) -> CurrentState:
        cap = self.options.distinct_cap
        out = CurrentState(rows=a.rows + b.rows)
        out.numeric = {n: a.numeric[n].merge(b.numeric[n], cap) for n in a.numeric}
        out.categorical = {n: a.categorical[n].merge(b.categorical[n], self.options.max_categories)
                           for n in a.categorical}
        out.binned = {n: tuple(x + y for x, y in zip(a.binned[n], b.binned[n])) for n in a.binned}  # type: ignore
        for cid, ca in a.counters.items():
            merged = Counter(ca.total, ca.violations, list(ca.examples))
            cb = b.counters[cid]
            merged.add(cb.total, cb.violations, cb.examples)
            out.counters[cid] = merged
        out.hashes = {n: a.hashes[n] + b.hashes[n] for n in a.hashes}
        return out

    def finish(self, st: CurrentState) -> tuple[Profile, dict[str, Counter], dict[str, np.ndarray]]:
        """The current summary, the contract counters, and duplicated hashes still lacking examples."""
        pending: dict[str, np.ndarray] = {}
        for name, check in self.unique.items():
            hashes = np.sort(np.concatenate(st.hashes[name])) if st.hashes[name] else np.zeros(0, np.uint64)
            lc = H.run_lengths(hashes, np.zeros(hashes.size))
            dup = lc.counts > 1
            counter = st.counters[check.id]
            counter.add(int(hashes.size), int(lc.counts[dup].sum()), [])
            if dup.any():
                if self.kinds[name] == "categorical":
                    pending[name] = lc.prefixes[dup]
                else:
                    counter.examples = [float(x) for x in H.keys_to_floats(lc.prefixes[dup][:EXAMPLES])]
        columns: dict[str, ColumnProfile] = {}
        for name, kind in self.kinds.items():
            col = ColumnProfile(name=name, dtype=self.dtypes[name], kind=kind)
            if name in st.numeric:
                col.numeric = st.numeric[name].stats()
                if name in st.binned:
                    counts, sums, at_edges = st.binned[name]
                    col.numeric.histogram = Histogram(self.grids[name], counts, sums, None, at_edges)
            elif name in st.categorical:
                col.categorical = st.categorical[name].stats(top_k=self.options.max_categories)
            # the schema is fixed before the first batch; whether a guessed type had any value is known now
            if kind == "empty" or (name in self.untyped and col.nulls == st.rows):
                col = all_null_column(name, st.rows)
            columns[name] = col
        from mlops_ci import __version__

        profile = Profile(rows=st.rows, columns=columns, bins=self.options.bins, top_k=self.options.max_categories,
                          source=self.source, created_by=f"mlops-ci {__version__}")
        return profile, st.counters, pending

    def collect_examples(self, st_counters: dict[str, Counter], pending: dict[str, np.ndarray],
                         batch: pa.RecordBatch) -> None:
        """Follow-up pass: the first few values behind duplicated hashes (strings only)."""
        for name, dup in pending.items():
            counter = st_counters[self.unique[name].id]
            if len(counter.examples) >= EXAMPLES:
                continue
            arr = batch.column(name).drop_null()
            hashes = _hash_strings(arr)
            hit = np.isin(hashes, dup)
            if hit.any():
                values = arr.filter(pa.array(hit)).to_pylist()
                for v in values:
                    if v not in counter.examples and len(counter.examples) < EXAMPLES:
                        counter.examples.append(v)


def _distinct_sorted(s: np.ndarray) -> np.ndarray:
    """The first :data:`EXAMPLES` distinct values of a monotonic array, in its order."""
    out: list[float] = []
    i = 0
    while i < s.size and len(out) < EXAMPLES:  # a run of equal values is skipped by one binary search
        out.append(s[i])
        if s.size > 1 and s[-1] < s[0]:  # descending
            i = s.size - int(np.searchsorted(s[::-1], s[i], side="left"))
        else:
            i = int(np.searchsorted(s, s[i], side="right"))
    return np.asarray(out, dtype=np.float64)


def _hash_strings(arr: pa.Array) -> np.ndarray:
    """Stable 64-bit hashes of the non-null values (pandas' siphash with a fixed key)."""
    import pandas as pd

    valid = arr.drop_null()
    encoded = valid.dictionary_encode() if not pa.types.is_dictionary(valid.type) else valid
    dictionary = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    table = pd.util.hash_array(dictionary, categorize=False) if dictionary.size else np.zeros(0, np.uint64)
    return table[np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)]


def summarize_current(source: BatchSource, schema: pa.Schema, reference: Profile | None,
                      checks: Sequence[Check] = (), options: BuildOptions = BuildOptions(),
                      name: str | None = None) -> tuple[Profile, dict[str, Counter]]:
    """One pass over current data (a second, cheap one only for examples of duplicated strings)."""
    scanner = CurrentScanner(schema, reference, checks, options, source=name)
    state = run_pass(source, scanner.columns_needed(), scanner.new_state, scanner.update, scanner.merge,
                     options.threads)
    profile, counters, pending = scanner.finish(state)
    if pending:
        for batch in source(list(pending)):
            scanner.collect_examples(counters, pending, batch)
    return profile, counters


