"""Fine, mergeable histograms of numeric columns, and the arithmetic on them.

Why this shape. A reference profile must (1) be small, (2) bound the error of
the statistics computed from it (KS within ``1/bins`` of exact), and (3) be a
deterministic function of the *multiset* of values, so that any partitioning
(record batches, files, Dask or Spark partitions) gives the same profile.

Fixed-width or fixed-relative grids fail (2) on concentrated data (``N(1e6, 1)``),
quantile sketches fail (3). So the grid is refined where the data is:

* every finite float is mapped to an order-preserving 64-bit key
  (:func:`float_keys`); a *node* is a key prefix of ``bits`` bits, i.e. a
  contiguous range of floats;
* pass 1 counts the 65,536 nodes of 16 bits; every node holding more than
  ``T = n / bins`` values is split by the next pass into ``2**digit`` children,
  and so on, down to single floats (64 bits) if need be;
* leaves (unsplit nodes) are then grouped, in key order, into bins of at most
  ``T`` values; a single float holding more than ``T`` values (an *atom*, e.g.
  a spike of zeros) is a bin of its own.

Every pass is a sum of per-batch counts, so partial states merge exactly and
the result does not depend on how the data was split. Each bin stores its count
and the sum of its values: the sum makes integrals of the CDF (Wasserstein)
exact inside bins.

A histogram is ``edges`` (upper bounds, increasing) with ``counts``/``sums`` of
length ``len(edges) + 1``: bucket ``i`` holds ``edges[i-1] < x <= edges[i]`` and
the last bucket everything above ``edges[-1]`` (empty for a reference).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SIGN = np.uint64(1 << 63)
FIRST_DIGIT = 16
#: Most children a refinement pass may track per column (memory bound of a pass).
REFINE_CAP = 1 << 18


def float_keys(values: np.ndarray, normalized: bool = False) -> np.ndarray:
    """Order-preserving ``uint64`` keys of finite float64 values (-0.0 is folded onto +0.0).

    The classic trick on the bit pattern: negative floats get their 63 low bits
    flipped (so larger magnitudes sort lower), then the sign bit is flipped so
    that the unsigned order is the float order. ``normalized``: the caller
    already turned -0.0 into +0.0.
    """
    v = np.asarray(values, dtype=np.float64)
    if not normalized:
        v = v + 0.0
    bits = v.view(np.int64)
    keys = bits >> 63
    keys &= np.int64(0x7FFFFFFFFFFFFFFF)
    keys ^= bits
    keys ^= np.int64(-(1 << 63))
    return keys.view(np.uint64)


def keys_to_floats(keys: np.ndarray) -> np.ndarray:
    keys = np.asarray(keys, dtype=np.uint64)
    positive = (keys & SIGN) != 0
    bits = np.where(positive, keys ^ SIGN, ~keys)
    return bits.view(np.float64)


# --------------------------------------------------------------------------- refinement
@dataclass
class LevelPlan:
    """One refinement pass for one column: split ``parents`` (``bits``-bit prefixes) by ``digit`` bits."""

    bits: int
    digit: int
    parents: np.ndarray  # sorted uint64 prefixes

    @property
    def child_bits(self) -> int:
        return self.bits + self.digit


def root_plan() -> LevelPlan:
    return LevelPlan(bits=0, digit=FIRST_DIGIT, parents=np.zeros(1, dtype=np.uint64))


@dataclass
class LevelCounts:
    """Sparse counts of the children seen so far in one pass (sorted, unique prefixes)."""

    prefixes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    sums: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float64))


def run_lengths(sorted_ids: np.ndarray, sorted_values: np.ndarray) -> LevelCounts:
    """Counts and sums of runs of equal ids in a sorted batch (one pass, no hashing)."""
    if sorted_ids.size == 0:
        return LevelCounts()
    starts = np.flatnonzero(np.concatenate([[True], sorted_ids[1:] != sorted_ids[:-1]]))
    counts = np.diff(np.append(starts, sorted_ids.size)).astype(np.int64)
    return LevelCounts(sorted_ids[starts], counts, np.add.reduceat(sorted_values, starts))


def next_plan(level: LevelCounts, plan: LevelPlan, threshold: float) -> tuple[LevelPlan | None, LevelCounts]:
    """Split the pass's children into leaves (returned) and heavy nodes (the next plan)."""
    bits = plan.child_bits
    heavy = level.counts > threshold if bits < 64 else np.zeros(level.counts.size, dtype=bool)
    leaves = LevelCounts(level.prefixes[~heavy], level.counts[~heavy], level.sums[~heavy])
    if not heavy.any():
        return None, leaves
    parents = level.prefixes[heavy]
    room = max(1, REFINE_CAP // parents.size)
    digit = int(min(64 - bits, max(4, room.bit_length() - 1)))
    return LevelPlan(bits=bits, digit=digit, parents=parents), leaves


@dataclass
class DenseLevel:
    """Counts of one refinement pass for one column, dense over ``len(parents) << digit`` children."""

    plan: LevelPlan
    counts: np.ndarray
    sums: np.ndarray

    @classmethod
    def empty(cls, plan: LevelPlan) -> "DenseLevel":
        size = plan.parents.size << plan.digit
        return cls(plan, np.zeros(size, dtype=np.int64), np.zeros(size))

    def add(self, values: np.ndarray, keys: np.ndarray) -> None:
        """Count a batch (any order): each value's child index, then two bincounts — no sort."""
        plan, size = self.plan, self.counts.size
        if plan.bits == 0:  # the root: children are the 16-bit prefixes themselves
            index = (keys >> np.uint64(64 - plan.digit)).astype(np.intp)
        else:
            ids = keys >> np.uint64(64 - plan.bits)
            if plan.bits <= 16:  # a lookup table from parent prefix to its position (or -1)
                lut = getattr(self, "_lut", None)
                if lut is None:
                    lut = np.full(1 << plan.bits, -1, dtype=np.intp)
                    lut[plan.parents.astype(np.intp)] = np.arange(plan.parents.size)
                    self._lut = lut
                pos = lut[ids.astype(np.intp)]
            else:
                pos = np.searchsorted(plan.parents, ids)
                pos[pos == plan.parents.size] = 0
                pos[plan.parents[pos] != ids] = -1
            hit = pos >= 0
            if not hit.all():
                pos, keys, values = pos[hit], keys[hit], values[hit]
            child = keys >> np.uint64(64 - plan.child_bits) if plan.child_bits < 64 else keys
            index = (pos << plan.digit) | (child & np.uint64((1 << plan.digit) - 1)).astype(np.intp)
        self.counts += np.bincount(index, minlength=size)
        self.sums += np.bincount(index, weights=values, minlength=size)

    def merge(self, other: "DenseLevel") -> "DenseLevel":
        return DenseLevel(self.plan, self.counts + other.counts, self.sums + other.sums)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled sparse: what a distributed engine ships between workers is mostly zeros."""
        index = np.flatnonzero(self.counts)
        return {"plan": self.plan, "size": self.counts.size, "index": index, "counts": self.counts[index],
                "sums": self.sums[index]}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._lut = None
        self.plan = state["plan"]
        self.counts = np.zeros(state["size"], dtype=np.int64)
        self.sums = np.zeros(state["size"])
        self.counts[state["index"]] = state["counts"]
        self.sums[state["index"]] = state["sums"]

    def sparse(self) -> LevelCounts:
        index = np.flatnonzero(self.counts).astype(np.uint64)
        digit = np.uint64(self.plan.digit)
        prefixes = (self.plan.parents[(index >> digit).astype(np.int64)] << digit) | (
            index & ((np.uint64(1) << digit) - np.uint64(1)))
        return LevelCounts(prefixes, self.counts[index.astype(np.int64)], self.sums[index.astype(np.int64)])



# --------------------------------------------------------------------------- grouping
@dataclass
class Grid:
    """Bins of a reference column: upper edges, counts, sums, and which bins are single values."""

    edges: np.ndarray
    counts: np.ndarray
    sums: np.ndarray
    atoms: np.ndarray


def group_leaves(leaves: list[tuple[int, LevelCounts]], threshold: float, max_value: float) -> Grid:
    """Group leaves (``(bits, counts)`` per level) in key order into bins of at most ``threshold`` values."""
    los, his, counts, sums, single = [], [], [], [], []
    for bits, lc in leaves:
        if lc.prefixes.size == 0:
            continue
        width = np.uint64(64 - bits)
        lo = lc.prefixes << width if bits < 64 else lc.prefixes.copy()
        span = (np.uint64(1) << width) - np.uint64(1) if bits < 64 else np.uint64(0)
        los.append(lo)
        his.append(lo + span)
        counts.append(lc.counts)
        sums.append(lc.sums)
        single.append(np.full(lo.size, bits == 64))
    if not los:
        empty = np.zeros(0)
        return Grid(empty, np.zeros(1, dtype=np.int64), np.zeros(1), np.zeros(0, dtype=bool))
    lo, hi = np.concatenate(los), np.concatenate(his)
    order = np.argsort(lo, kind="stable")
    hi, c, s, one = hi[order], np.concatenate(counts)[order], np.concatenate(sums)[order], np.concatenate(single)[order]
    nz = c > 0
    hi, c, s, one = hi[nz], c[nz], s[nz], one[nz]
    cum = np.cumsum(c).astype(np.float64)  # float: searching it with a float must not convert it each time
    ends: list[int] = []
    is_atom: list[bool] = []
    start, base, n = 0, 0.0, c.size
    while start < n:
        if c[start] > threshold:
            ends.append(start)
            is_atom.append(bool(one[start]))
            base = float(cum[start])
            start += 1
            continue
        # the longest run of leaves holding at most `threshold` values (stops before a heavy atom)
        end = max(start, int(np.searchsorted(cum, base + threshold, side="right")) - 1)
        ends.append(end)
        is_atom.append(bool(end == start and one[start]))
        base = float(cum[end])
        start = end + 1
    ends_arr = np.asarray(ends)
    starts_arr = np.concatenate([[0], ends_arr[:-1] + 1])
    edges = keys_to_floats(hi[ends_arr]).copy()
    edges[~np.isfinite(edges)] = max_value
    edges[-1] = max_value if edges[-1] > max_value else edges[-1]
    group_counts = np.add.reduceat(c, starts_arr)
    group_sums = np.add.reduceat(s, starts_arr)
    return Grid(edges=edges, counts=np.append(group_counts, 0).astype(np.int64),
                sums=np.append(group_sums, 0.0), atoms=np.asarray(is_atom, dtype=bool))


# --------------------------------------------------------------------------- binning data on a grid
def bin_sorted(sorted_values: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts and sums of a sorted batch in the buckets of ``edges`` (len(edges)+1 buckets), and how
    many values sit exactly on each edge (the jump of the CDF there, which KS needs)."""
    pos = np.searchsorted(sorted_values, edges, side="right")
    at_edges = pos - np.searchsorted(sorted_values, edges, side="left")
    bounds = np.concatenate([[0], pos, [sorted_values.size]])
    counts = np.diff(bounds).astype(np.int64)
    sums = np.zeros(counts.size)
    full = counts > 0
    if full.any():
        sums[full] = np.add.reduceat(sorted_values, bounds[:-1][full])
    return counts, sums, at_edges.astype(np.int64)


def tail_edges(lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Edges beyond a reference range, geometric in its span: where current data may wander off to."""
    span = hi - lo
    if not np.isfinite(span) or span <= 0:
        span = max(abs(hi), abs(lo), 1.0)
    steps = span * np.geomspace(1 / 1024, 2.0 ** 20, 31)
    below = (lo - steps)[::-1]
    above = hi + steps
    return below[np.isfinite(below)], above[np.isfinite(above)]


def extended_edges(edges: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, int]:
    """The reference edges with tails on both sides; also how many lower-tail edges come first."""
    below, above = tail_edges(lo, hi)
    below = below[below < lo]
    above = above[above > edges[-1]] if edges.size else above
    return np.concatenate([below, edges, above]), below.size


def pad(counts: np.ndarray, before: int, total: int) -> np.ndarray:
    """Place ``counts`` (a reference histogram without overflow mass) on the extended grid."""
    out = np.zeros(total, dtype=counts.dtype)
    out[before:before + counts.size - 1] = counts[:-1]
    out[-1] += counts[-1]
    return out


# --------------------------------------------------------------------------- interpolation
def cdf_at(edges: np.ndarray, counts: np.ndarray, lo: float, hi: float, points: np.ndarray) -> np.ndarray:
    """Estimated count of values ``<= points`` (linear inside buckets; exact at the edges).

    ``lo``/``hi`` are the data's true min/max: they bound the first and last
    buckets, which are open-ended on paper.
    """
    if edges.size == 0:
        total = float(counts.sum())
        return np.where(points >= hi, total, 0.0) if total else np.zeros(points.shape)
    bounds = np.concatenate([[min(lo, edges[0])], edges, [max(hi, edges[-1])]])
    cum = np.concatenate([[0.0], np.cumsum(counts, dtype=np.float64)])
    # the first bucket starts at lo (nothing below), the last ends at hi
    return np.interp(points, bounds, cum, left=0.0, right=float(cum[-1]))


def rebin(edges: np.ndarray, counts: np.ndarray, sums: np.ndarray, lo: float, hi: float,
          new_edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move a histogram onto other edges (approximate inside buckets; used for foreign grids only)."""
    cum = cdf_at(edges, counts, lo, hi, new_edges)
    total = float(counts.sum())
    # round the cumulative counts, not the bucket counts: the total is kept and no bucket goes negative
    whole = np.rint(np.concatenate([[0.0], np.minimum(cum, total), [total]]))
    new_counts = np.diff(np.maximum.accumulate(whole)).astype(np.int64)
    # sums: each new bucket takes the mean of the old bucket it lies in
    means = np.divide(sums, counts, out=np.zeros(sums.shape), where=counts > 0)
    lower = np.concatenate([[lo], new_edges])
    owner = np.clip(np.searchsorted(edges, lower, side="right"), 0, counts.size - 1)
    return new_counts, new_counts * means[owner]
