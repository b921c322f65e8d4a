"""Merging profiles of partitions into the profile of their union (``mlops-ci profile merge``).

Counts, min/max, moments and category counts merge exactly. Histograms built on
the same grid add up exactly; histograms of separately built profiles are moved
onto the union of all their edges (interpolated inside their own bins) and
regrouped once, so the merged CDF is within one bin of every input (KS error
<= 2/bins) however many profiles are merged.

Two guarantees for the command: the result does not depend on the order the
profiles are given in (they are merged in the order of their fingerprints), and
a partition is never counted twice — every profile carries the fingerprints of
the partitions it describes (:meth:`~mlops_ci.drift.profile.Profile.partitions`),
and a merge of overlapping sets is refused.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import numpy as np

from mlops_ci.drift import histogram as H
from mlops_ci.drift.profile import (CategoricalStats, ColumnProfile, Histogram, NumericStats, Profile, combine_moments,
                                    merge_distinct, top_values)
from mlops_ci.errors import BadInput


def merge_all(profiles: Sequence[Profile], names: Sequence[str] | None = None, *, max_categories: int = 100_000,
              distinct_cap: int = 64) -> Profile:
    """The profile of the union of ``profiles`` (partitions of one dataset), in any order.

    ``names``: how to call each profile in an error (file names); refuses the same partition twice.
    """
    if not profiles:
        raise BadInput("nothing to merge: give at least one profile")
    names = list(names) if names is not None else [f"profile {i + 1}" for i in range(len(profiles))]
    keys = [profile.partitions() for profile in profiles]
    seen: dict[str, str] = {}
    for name, key in zip(names, keys):
        for part in key:
            if part in seen:
                raise BadInput(f"{name}: describes a partition already in {seen[part]} (fingerprint {part}); "
                               "merging it again would count its rows twice",
                               hint="Give each partition's profile once.")
            seen[part] = name
    order = sorted(range(len(profiles)), key=lambda i: keys[i])
    ordered = [profiles[i] for i in order]
    merged = ordered[0]
    for profile in ordered[1:]:
        merged = _merge_two(merged, profile, max_categories, distinct_cap, histograms=False)
    columns = dict(merged.columns)
    for name, col in columns.items():
        if col.numeric is not None:
            parts = [p.columns[name].numeric for p in ordered if p.columns[name].numeric is not None]
            columns[name] = replace(col, numeric=replace(col.numeric, histogram=merge_histograms(parts, merged.bins)))
    return replace(merged, columns=columns, parts=tuple(sorted(seen)) if len(profiles) > 1 else merged.parts)


def merge_profiles(a: Profile, b: Profile, *, max_categories: int = 100_000, distinct_cap: int = 64) -> Profile:
    """The profile of the union of two partitions: :func:`merge_all` of the pair."""
    return merge_all([a, b], ["the first profile", "the second profile"], max_categories=max_categories,
                     distinct_cap=distinct_cap)


def _merge_two(a: Profile, b: Profile, max_categories: int, distinct_cap: int, histograms: bool = True) -> Profile:
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
            merged.numeric = merge_numeric(ca.numeric, cb.numeric, a.bins, distinct_cap, histograms)
        if ca.categorical is not None and cb.categorical is not None:
            merged.categorical = merge_categorical(ca.categorical, cb.categorical, a.top_k, max_categories)
        columns[name] = merged
    return Profile(rows=a.rows + b.rows, columns=columns, bins=a.bins, top_k=a.top_k,
                   source=a.source if a.source == b.source else None, created_by=a.created_by)


def merge_numeric(a: NumericStats, b: NumericStats, bins: int, cap: int, histograms: bool = True) -> NumericStats:
    """Exact for counts, min/max and moments (Chan et al.); histograms as in :func:`merge_histograms`."""
    n, mean, m2, scale = combine_moments(a.count, a.mean, a.m2, a.m2_scale, b.count, b.mean, b.m2, b.m2_scale)
    values, counts = merge_distinct(a.distinct_values, a.distinct_counts, b.distinct_values, b.distinct_counts, cap)
    return NumericStats(
        count=n, nulls=a.nulls + b.nulls, nan=a.nan + b.nan, posinf=a.posinf + b.posinf, neginf=a.neginf + b.neginf,
        min=float(np.fmin(a.min, b.min)), max=float(np.fmax(a.max, b.max)), mean=mean if n else float("nan"), m2=m2,
        m2_scale=scale, distinct_values=values, distinct_counts=counts,
        histogram=merge_histograms([a, b], bins) if histograms else None)


def merge_histograms(parts: Sequence[NumericStats], bins: int) -> Histogram | None:
    """Same grid: exact sum. Different grids: all moved onto the union of their edges, regrouped once.

    Profiles built on the same layout (what :func:`mlops_ci.drift.builder.build_profile`
    and the distributed builder do for partitions, or columns with few distinct values)
    merge exactly. Otherwise each part is interpolated inside its own bins, so the merged
    CDF is off by at most one bin of any input at any point (KS error <= 2/bins).
    """
    hs = [(p, p.histogram) for p in parts if p.histogram is not None and p.count > 0]
    if not hs:
        return next((p.histogram for p in parts if p.histogram is not None), None)
    if len(hs) == 1:
        return hs[0][1]
    first = hs[0][1].edges
    if all(h.edges.shape == first.shape and np.array_equal(h.edges, first) for _, h in hs):
        atoms = None if any(h.atoms is None for _, h in hs) else np.logical_and.reduce([h.atoms for _, h in hs])
        return Histogram(first.copy(), sum(h.counts for _, h in hs), sum(h.sums for _, h in hs), atoms)
    edges = np.sort(np.concatenate([h.edges for _, h in hs]))
    edges = edges[np.concatenate(([True], edges[1:] != edges[:-1]))] if edges.size else edges
    counts, sums = np.zeros(edges.size + 1, dtype=np.int64), np.zeros(edges.size + 1)
    for p, h in hs:
        c, s = H.rebin(h.edges, h.counts, h.sums, p.min, p.max, edges, h.atoms)
        counts += c
        sums += s
    hi = float(np.nanmax([p.max for p, _ in hs]))
    return regroup(edges, counts, sums, sum(p.count for p, _ in hs) / bins, hi)


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
