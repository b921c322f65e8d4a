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
* a node is a contiguous range of floats, so counting a *sorted* batch into
  nodes is one binary search per node boundary (:func:`key_bounds`) and one
  summation — no key is computed per value, nothing is hashed;
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
#: Most children a refinement pass may track per column: the binary searches per batch and the memory
#: of a pass. 16,384 split a typical column's heavy nodes into 32-64 children each, light enough that
#: one refinement pass suffices; concentrated data has few heavy nodes and gets more children per node.
REFINE_CAP = 1 << 14
NEG_INF_KEY = np.uint64(0x000FFFFFFFFFFFFF)  # float_keys(-inf); smaller keys are NaN bit patterns
NEG_ZERO_KEY = np.uint64(0x7FFFFFFFFFFFFFFF)  # float_keys(-0.0): folded onto +0.0, never a value's key


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
def key_bounds(upper_keys: np.ndarray) -> np.ndarray:
    """For each key ``k``, the float ``f`` such that a finite value ``x`` (-0.0 folded) has
    ``float_keys(x) <= k`` exactly when ``x <= f``: ``searchsorted(sorted, f, "right")`` counts them."""
    upper_keys = np.asarray(upper_keys, dtype=np.uint64)
    f = keys_to_floats(upper_keys).copy()
    f[upper_keys < NEG_INF_KEY] = -np.inf  # below -inf: NaN patterns, no finite value is there
    f[upper_keys == NEG_ZERO_KEY] = -np.finfo(np.float64).smallest_subnormal  # every negative, not +0.0
    return f


def segment_sums(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Sums of ``values[starts[i]:ends[i]]`` for non-empty, increasing, disjoint segments (one pass)."""
    if starts.size == 0:
        return np.zeros(0)
    bounds = np.empty(2 * starts.size, dtype=np.intp)
    bounds[0::2] = starts
    bounds[1::2] = ends
    if bounds[-1] >= values.size:  # the last segment runs to the end: reduceat takes it there
        bounds = bounds[:-1]
    with np.errstate(over="ignore"):  # sums of values near the float limit: inf, which the tests report
        return np.add.reduceat(values, bounds)[0::2]


_ROOT_BOUNDS: np.ndarray | None = None


def _root_bounds() -> np.ndarray:
    """``key_bounds`` of the 65,536 16-bit prefixes' last keys (computed once per process)."""
    global _ROOT_BOUNDS
    if _ROOT_BOUNDS is None:
        ids = np.arange(1 << FIRST_DIGIT, dtype=np.uint64)
        _ROOT_BOUNDS = key_bounds(((ids + np.uint64(1)) << np.uint64(64 - FIRST_DIGIT)) - np.uint64(1))
    return _ROOT_BOUNDS


@dataclass
class LevelPlan:
    """One refinement pass for one column: split ``parents`` (``bits``-bit prefixes) by ``digit`` bits."""

    bits: int
    digit: int
    parents: np.ndarray  # sorted uint64 prefixes

    @property
    def child_bits(self) -> int:
        return self.bits + self.digit

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Upper float bound of every child, and the bound just below each parent's first child."""
        cached = self.__dict__.get("_bounds")
        if cached is None:
            shift = np.uint64(64 - self.child_bits)
            children = (self.parents[:, None] << np.uint64(self.digit)) | np.arange(1 << self.digit, dtype=np.uint64)
            uppers = key_bounds(((children.ravel() + np.uint64(1)) << shift) - np.uint64(1))
            first = self.parents << np.uint64(64 - self.bits)  # first key of each parent (bits >= 16 here)
            below = key_bounds(first - np.uint64(1))
            below[first == 0] = -np.inf
            cached = self.__dict__["_bounds"] = (uppers, below)
        return cached

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_bounds"}


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


class Level:
    """Counts of one refinement pass for one column, over ``len(parents) << digit`` children.

    A batch adds a *sparse* part (the runs of its sorted keys: no hashing, no bincount over
    the whole child range); merging folds parts into dense arrays, in order, so float sums
    are added in the same order on every run. Pickled sparse: what a distributed engine
    ships between workers is mostly zeros.
    """

    def __init__(self, plan: LevelPlan) -> None:
        self.plan = plan
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (child index, counts, sums)
        self.counts: np.ndarray | None = None
        self.sums: np.ndarray | None = None

    @property
    def size(self) -> int:
        return self.plan.parents.size << self.plan.digit

    def add_sorted(self, values: np.ndarray) -> float:
        """Count a batch of finite values in increasing order (-0.0 folded onto +0.0); returns the
        sum of the values counted (all of them at the root)."""
        if values.size == 0:
            return 0.0
        plan = self.plan
        if plan.bits == 0:  # the root: only the prefixes between the batch's extremes can hold values
            first, last = (int(k) >> (64 - FIRST_DIGIT) for k in float_keys(values[[0, -1]], normalized=True))
            ends = np.searchsorted(values, _root_bounds()[first:last + 1], side="right")
            starts = np.empty_like(ends)
            starts[0] = 0
            starts[1:] = ends[:-1]
            ids = np.arange(first, last + 1, dtype=np.intp)
        else:
            uppers, below = plan.bounds()
            ends = np.searchsorted(values, uppers, side="right")
            starts = np.empty_like(ends)
            starts[1:] = ends[:-1]
            starts[::1 << plan.digit] = np.searchsorted(values, below, side="right")  # values of light parents
            ids = None
        counts = ends - starts
        full = np.flatnonzero(counts)
        index = full if ids is None else ids[full]
        sums = segment_sums(values, starts[full], ends[full])
        self.parts.append((index, counts[full].astype(np.int64), sums))
        with np.errstate(over="ignore", invalid="ignore"):  # huge values: the caller rescales instead
            return float(sums.sum())

    def _dense(self) -> "Level":
        if self.counts is None:
            self.counts = np.zeros(self.size, dtype=np.int64)
            self.sums = np.zeros(self.size)
        assert self.sums is not None
        for index, counts, sums in self.parts:  # indices are unique within a part
            self.counts[index] += counts
            self.sums[index] += sums
        self.parts = []
        return self

    def merge(self, other: "Level") -> "Level":
        """``self`` then ``other``, summed (``self`` is consumed: the fold reuses its arrays)."""
        out = self._dense()
        assert out.counts is not None and out.sums is not None
        if other.counts is not None:
            out.counts += other.counts
            out.sums += other.sums
        for index, counts, sums in other.parts:
            out.counts[index] += counts
            out.sums[index] += sums
        return out

    def __getstate__(self) -> dict[str, Any]:
        self._dense()
        assert self.counts is not None
        index = np.flatnonzero(self.counts)
        return {"plan": self.plan, "parts": [(index, self.counts[index], self.sums[index])]}  # type: ignore[index]

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.plan = state["plan"]
        self.parts = list(state["parts"])
        self.counts = self.sums = None
        self._dense()

    def sparse(self) -> LevelCounts:
        self._dense()
        assert self.counts is not None and self.sums is not None
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
    # from each leaf, the longest run of leaves holding at most `threshold` values (a heavier leaf
    # stands alone); then the greedy grouping follows these jumps from the first leaf
    before = np.concatenate([[0.0], cum[:-1]])
    jump = np.maximum(np.arange(c.size), np.searchsorted(cum, before + threshold, side="right") - 1).tolist()
    ends: list[int] = []
    start, n = 0, c.size
    while start < n:
        end = jump[start]
        ends.append(end)
        start = end + 1
    ends_arr = np.asarray(ends)
    is_atom = (np.diff(np.concatenate([[-1], ends_arr])) == 1) & one[ends_arr]
    starts_arr = np.concatenate([[0], ends_arr[:-1] + 1])
    edges = keys_to_floats(hi[ends_arr]).copy()
    edges[~np.isfinite(edges)] = max_value
    edges[-1] = max_value if edges[-1] > max_value else edges[-1]
    group_counts = np.add.reduceat(c, starts_arr)
    group_sums = np.add.reduceat(s, starts_arr)
    return Grid(edges=edges, counts=np.append(group_counts, 0).astype(np.int64),
                sums=np.append(group_sums, 0.0), atoms=is_atom)


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
        with np.errstate(over="ignore"):  # see segment_sums
            sums[full] = np.add.reduceat(sorted_values, bounds[:-1][full])
    return counts, sums, at_edges.astype(np.int64)


def tail_edges(lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Edges beyond a reference range, geometric in its span: where current data may wander off to."""
    span = hi - lo
    if not np.isfinite(span) or span <= 0:
        span = max(abs(hi), abs(lo), 1.0)
    with np.errstate(over="ignore"):  # spans near the float limit: the infinite steps are dropped below
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
def cdf_at(edges: np.ndarray, counts: np.ndarray, lo: float, hi: float, points: np.ndarray,
           atoms: np.ndarray | None = None) -> np.ndarray:
    """Estimated count of values ``<= points`` (linear inside buckets; exact at the edges).

    ``lo``/``hi`` are the data's true min/max: they bound the first and last
    buckets, which are open-ended on paper. ``atoms`` (per bin): bins that are one
    value, whose mass is a step at their upper edge rather than spread over the bin.
    """
    if edges.size == 0:
        total = float(counts.sum())
        return np.where(points >= hi, total, 0.0) if total else np.zeros(points.shape)
    bounds = np.concatenate([[min(lo, edges[0])], edges, [max(hi, edges[-1])]])
    cum = np.concatenate([[0.0], np.cumsum(counts, dtype=np.float64)])
    if atoms is None or not atoms.any():
        # the first bucket starts at lo (nothing below), the last ends at hi
        return np.interp(points, bounds, cum, left=0.0, right=float(cum[-1]))
    lower, upper = bounds[:-1].copy(), bounds[1:]
    single = np.zeros(lower.size, dtype=bool)
    single[:atoms.size] = atoms
    lower[single] = upper[single]  # a zero-width bucket: np.interp never lands inside it
    xp = np.empty(2 * lower.size)
    xp[0::2], xp[1::2] = lower, upper
    fp = np.empty(2 * lower.size)
    fp[0::2], fp[1::2] = cum[:-1], cum[1:]
    return np.interp(points, xp, fp, left=0.0, right=float(cum[-1]))


def rebin(edges: np.ndarray, counts: np.ndarray, sums: np.ndarray, lo: float, hi: float,
          new_edges: np.ndarray, atoms: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Move a histogram onto other edges (approximate inside buckets, exact for atoms; foreign grids only)."""
    cum = cdf_at(edges, counts, lo, hi, new_edges, atoms)
    total = float(counts.sum())
    # round the cumulative counts, not the bucket counts: the total is kept and no bucket goes negative
    whole = np.rint(np.concatenate([[0.0], np.minimum(cum, total), [total]]))
    new_counts = np.diff(np.maximum.accumulate(whole)).astype(np.int64)
    # sums: each new bucket takes the mean of the old bucket it lies in
    means = np.divide(sums, counts, out=np.zeros(sums.shape), where=counts > 0)
    lower = np.concatenate([[lo], new_edges])
    owner = np.clip(np.searchsorted(edges, lower, side="right"), 0, counts.size - 1)
    return new_counts, new_counts * means[owner]
