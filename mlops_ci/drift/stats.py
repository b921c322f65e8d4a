"""Drift statistics computed from histograms and value counts, matching scipy/Evidently.

Numeric columns are compared on one grid (the reference bins, extended by tails
for current values outside the reference range): ``counts``/``sums`` arrays of
``len(edges) + 1`` buckets, bucket ``i`` = ``(edges[i-1], edges[i]]``.

* **KS**: the sup of |F_ref - F_cur| over the edges is a lower bound of the
  exact statistic, and the exact one exceeds it by at most the share of
  reference values inside one bin (<= 1/bins): see docs/drift.md for the proof.
* **Wasserstein-1**: per bucket, the integral of F is exact given the bucket's
  count and *sum* (``F(a)*w + (count*b - sum)/n``); |F_ref - F_cur| is integrated
  exactly wherever the difference keeps its sign inside a bucket, which it can
  only fail to do in the few buckets where the CDFs cross.
* **Jensen–Shannon, PSI, chi², Z**: on value counts, the same formulas as
  ``scipy.spatial.distance.jensenshannon``, Evidently's ``get_binned_data``,
  ``scipy.stats.chisquare`` and Evidently's proportions Z-test.

Only the p-value helpers import scipy (lazily): ``import scipy.stats`` costs
more than a whole 1M-row comparison, and the default (Evidently ``auto``) rule
needs no p-value above 1,000 reference rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

MAX_EXACT_KS = 10000  # scipy's ks_2samp(method="auto") threshold


# --------------------------------------------------------------------------- numeric, on a common grid
@dataclass
class Grid:
    """Two distributions binned on the same edges, with their exact extremes."""

    edges: np.ndarray
    ref_counts: np.ndarray
    ref_sums: np.ndarray
    cur_counts: np.ndarray
    cur_sums: np.ndarray
    ref_min: float
    ref_max: float
    cur_min: float
    cur_max: float
    ref_atoms: np.ndarray | None = None  # per bucket (len(edges)+1): the reference bucket is one value
    cur_at_edges: np.ndarray | None = None  # per edge: current values exactly on it

    @property
    def n_ref(self) -> int:
        return int(self.ref_counts.sum())

    @property
    def n_cur(self) -> int:
        return int(self.cur_counts.sum())


def ks_statistic(g: Grid) -> tuple[float, float]:
    """KS statistic (a value the exact one is attained at, so a lower bound) and a bound on its error.

    At each edge both right-continuous CDFs are exact. Inside bucket ``i`` the
    exact sup is bracketed by ``F_cur(e_i-) - F_ref(e_{i-1})`` and
    ``F_ref(e_i) - F_cur(e_{i-1})``; when the reference has no value strictly
    inside the bucket (an atom, or a tail) the first is attained and counts
    towards the statistic, otherwise both only widen the error bound — by at most
    the share of reference values in the bucket (<= 1/bins).
    """
    nr, nc = g.n_ref, g.n_cur
    fr = np.cumsum(g.ref_counts[:-1]) / nr
    fc = np.cumsum(g.cur_counts[:-1]) / nc
    if fr.size == 0:
        return 0.0, 0.0
    fr_prev = np.concatenate([[0.0], fr[:-1]])
    fc_prev = np.concatenate([[0.0], fc[:-1]])
    exact_left = g.cur_at_edges is not None
    fc_left = fc - g.cur_at_edges / nc if g.cur_at_edges is not None else fc
    hollow = g.ref_counts[:-1] == 0  # no reference value strictly inside
    if g.ref_atoms is not None:
        hollow = hollow | g.ref_atoms[:-1]
    lower = float(np.max(np.abs(fr - fc)))
    below = fc_left - fr_prev  # sup of F_cur - F_ref just below each edge (attained when hollow)
    if exact_left and hollow.any():
        lower = max(lower, float(below[hollow].max()))
    solid = ~hollow if exact_left else np.ones(fr.size, dtype=bool)
    upper = lower
    if solid.any():
        upper = max(upper, float(below[solid].max()), float((fr - fc_prev)[solid].max()))
    return lower, upper - lower


def ks_pvalue(d: float, n1: int, n2: int) -> float:
    """Two-sided p-value as ``scipy.stats.ks_2samp(method='auto')`` computes it from the statistic."""
    from scipy.stats import distributions

    if max(n1, n2) <= MAX_EXACT_KS:
        try:  # the exact distribution scipy uses for small samples
            from scipy.stats._stats_py import _attempt_exact_2kssamp

            ok, _, p = _attempt_exact_2kssamp(n1, n2, math.gcd(n1, n2), d, "two-sided")
            if ok:
                return float(np.clip(p, 0, 1))
        except ImportError:  # pragma: no cover - private scipy helper moved
            pass
    m, n = sorted([float(n1), float(n2)], reverse=True)
    en = m * n / (m + n)
    return float(np.clip(distributions.kstwo.sf(d, np.round(en)), 0, 1))


def wasserstein(g: Grid) -> tuple[float, float]:
    """First Wasserstein distance and a bound on its error (zero when no bucket hides a crossing)."""
    nr, nc = g.n_ref, g.n_cur
    e = g.edges
    lo = min(g.ref_min, g.cur_min, e[0]) if e.size else min(g.ref_min, g.cur_min)
    hi = max(g.ref_max, g.cur_max, e[-1]) if e.size else max(g.ref_max, g.cur_max)
    a = np.concatenate([[lo], e])  # bucket lower bounds
    b = np.concatenate([e, [hi]])  # bucket upper bounds
    w = np.maximum(b - a, 0.0)
    fr_a = np.concatenate([[0.0], np.cumsum(g.ref_counts[:-1])]) / nr
    fc_a = np.concatenate([[0.0], np.cumsum(g.cur_counts[:-1])]) / nc
    int_r = fr_a * w + (g.ref_counts * b - g.ref_sums) / nr
    int_c = fc_a * w + (g.cur_counts * b - g.cur_sums) / nc
    signed = int_r - int_c
    d_a = fr_a - fc_a
    r, c = g.ref_counts / nr, g.cur_counts / nc
    # mass strictly inside each bucket: what can move D away from its value at the lower bound
    r_in, c_in = r.copy(), c.copy()
    hollow = g.ref_counts == 0
    if g.ref_atoms is not None:
        hollow = hollow | g.ref_atoms
    r_in[hollow] = 0.0
    if g.cur_at_edges is not None:
        c_in[:-1] -= g.cur_at_edges / nc
    positive = d_a - c_in >= 0
    negative = d_a + r_in <= 0
    total = np.abs(signed)
    unsure = ~(positive | negative) & (w > 0)
    bound = 0.0
    if unsure.any():
        # Model each side's mass strictly inside the bucket as one point at its mean (count and sum
        # are known). It keeps the exact signed integral, and is exact when a bucket holds one value.
        u = unsure
        ref_mean = np.divide(g.ref_sums, g.ref_counts, out=a.copy(), where=g.ref_counts > 0)
        cur_in_sum = g.cur_sums.copy()
        cur_in_count = g.cur_counts.astype(np.float64).copy()
        if g.cur_at_edges is not None:
            cur_in_sum[:-1] -= g.cur_at_edges * e
            cur_in_count[:-1] -= g.cur_at_edges
        cur_mean = np.divide(cur_in_sum, cur_in_count, out=a.copy(), where=cur_in_count > 0)
        pr = np.clip(ref_mean[u], a[u], b[u])
        pc = np.clip(cur_mean[u], a[u], b[u])
        ref_first = pr <= pc
        first, second = np.minimum(pr, pc), np.maximum(pr, pc)
        d1 = d_a[u]
        d2 = d1 + np.where(ref_first, r_in[u], -c_in[u])
        d3 = d1 + r_in[u] - c_in[u]
        total[u] = np.abs(d1) * (first - a[u]) + np.abs(d2) * (second - first) + np.abs(d3) * (b[u] - second)
        total[u] = np.maximum(total[u], np.abs(signed[u]))
        bound = float(np.sum(w[u] * (r_in[u] + c_in[u])))
    # floating point: bucket sums of large values lose low digits (count * edge - sum cancels)
    scale = max(abs(lo), abs(hi))
    heaviest = float(max(g.ref_counts.max(), g.cur_counts.max()))
    bound += 8 * np.finfo(np.float64).eps * scale * math.sqrt(heaviest)
    return float(total.sum()), bound


def wasserstein_normed(distance: float, ref_std: float) -> float:
    """Evidently's normalisation: divide by the reference std, floored at 0.001."""
    return distance / max(ref_std, 0.001)


def sturges_bins(n_total: int) -> int:
    return int(math.ceil(math.log2(n_total) + 1)) if n_total > 0 else 1


def binned_counts(edges: np.ndarray, counts: np.ndarray, lo: float, hi: float, new_edges: np.ndarray) -> np.ndarray:
    """Counts of a histogram on new bin boundaries (``len(new_edges) - 1`` bins); linear inside buckets."""
    from mlops_ci.drift.histogram import cdf_at

    cum = cdf_at(edges, counts, lo, hi, new_edges)
    if new_edges[0] <= lo:  # np.histogram: the first bin starts at (and includes) the minimum
        cum[0] = 0.0
    if new_edges[-1] >= hi:  # ... and the last one is closed at the maximum
        cum[-1] = float(counts.sum())
    return np.maximum(np.diff(cum), 0.0)


# --------------------------------------------------------------------------- on value counts
def rel_entr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.zeros_like(x, dtype=np.float64)
    pos = (x > 0) & (y > 0)
    out[pos] = x[pos] * np.log(x[pos] / y[pos])
    out[(x > 0) & (y <= 0)] = np.inf
    return out


def jensenshannon(p: np.ndarray, q: np.ndarray) -> float:
    """``scipy.spatial.distance.jensenshannon(p, q)`` (natural log), without importing scipy."""
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    p = p / p.sum()
    q = q / q.sum()
    m = (p + q) / 2.0
    js = float(np.sum(rel_entr(p, m)) + np.sum(rel_entr(q, m)))
    return math.sqrt(max(js, 0.0) / 2.0)


def fill_zeroes(percents: np.ndarray) -> np.ndarray:
    """Evidently's ``feel_zeroes``: empty bins get a tiny share so PSI's logarithm stays finite."""
    out = np.asarray(percents, dtype=np.float64).copy()
    nonzero = out[out != 0]
    if nonzero.size == 0:
        return out
    smallest = float(nonzero.min())
    out[out == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return out


def psi(ref_percents: np.ndarray, cur_percents: np.ndarray) -> float:
    r = fill_zeroes(ref_percents)
    c = fill_zeroes(cur_percents)
    return float(np.sum((r - c) * np.log(r / c)))


def chi2(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float]:
    """Evidently's chi-square: current counts against reference shares scaled to the current size."""
    from scipy.special import chdtrc

    ref = np.asarray(ref_counts, dtype=np.float64)
    cur = np.asarray(cur_counts, dtype=np.float64)
    expected = ref * (cur.sum() / ref.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(expected > 0, (cur - expected) ** 2 / np.where(expected > 0, expected, 1),
                         np.where(cur > 0, np.inf, 0.0))
    stat = float(terms.sum())
    dof = max(ref.size - 1, 1)
    return stat, float(chdtrc(dof, stat)) if math.isfinite(stat) else 0.0


def ztest(ref_first: int, ref_n: int, cur_first: int, cur_n: int) -> tuple[float, float]:
    """Evidently's two-proportion Z-test; ``*_first``: how many values equal the smallest key."""
    p1 = (ref_n - ref_first) / ref_n  # Evidently codes the first key as 0, the rest as 1
    p2 = (cur_n - cur_first) / cur_n
    pooled = (p1 * ref_n + p2 * cur_n) / (ref_n + cur_n)
    var = pooled * (1 - pooled) * (1.0 / ref_n + 1.0 / cur_n)
    if var <= 0:
        return 0.0, 1.0
    z = (p1 - p2) / math.sqrt(var)
    return z, 2 * (1 - 0.5 * math.erfc(-abs(z) / math.sqrt(2)))
