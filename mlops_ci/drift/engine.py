"""Reference profile + current summary -> :class:`~mlops_ci.drift.report.DriftReport`.

Pure: no I/O, deterministic. For each column: pick the test
(:mod:`mlops_ci.drift.selection`), align the two histograms or value counts,
compute the statistic (:mod:`mlops_ci.drift.stats`), compare with the
threshold; then the dataset verdict (share of drifted columns) and the
contracts (:mod:`mlops_ci.drift.contracts`).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from mlops_ci.drift import histogram as H
from mlops_ci.drift import stats as S
from mlops_ci.drift.config import P_VALUE_METHODS, ContractsConfig, DriftConfig
from mlops_ci.drift.contracts import (Check, Counter, checks_from_config, comparable, evaluate, is_all_null,
                                      schema_results)
from mlops_ci.drift.profile import ColumnProfile, NumericStats, Profile
from mlops_ci.drift.report import ColumnDrift, DriftReport
from mlops_ci.drift.selection import choose, is_ignored

DISPLAY_BINS = 30
DISPLAY_CATEGORIES = 12
OTHER = "(other)"


def compare(reference: Profile, current: Profile, config: DriftConfig | None = None,
            contracts: ContractsConfig | None = None, counters: dict[str, Counter] | None = None,
            checks: Sequence[Check] | None = None) -> DriftReport:
    """Drift of every column, the dataset verdict, and the contract results."""
    config = config or DriftConfig()
    contracts = contracts or ContractsConfig()
    columns: list[ColumnDrift] = []
    for name, ref in reference.columns.items():
        cur = current.columns.get(name)
        if cur is None:
            columns.append(ColumnDrift(name, None, None, status="skipped", dtype=ref.dtype,
                                       reason="missing from current data", reference=_summary(ref)))
        else:
            columns.append(column_drift(ref, cur, config))
    for name, cur in current.columns.items():
        if name not in reference.columns:
            columns.append(ColumnDrift(name, None, None, status="skipped", dtype=cur.dtype,
                                       reason="new column: not in the reference", current=_summary(cur)))
    tested = [c for c in columns if c.status == "tested"]
    drifted = sum(1 for c in tested if c.drifted)
    share = drifted / len(tested) if tested else 0.0
    results = schema_results(reference, current, contracts)
    results += evaluate(list(checks) if checks is not None else checks_from_config(contracts), current,
                        counters or {})
    return DriftReport(dataset_drift=bool(tested) and share >= config.drift_share, drift_share=share,
                       drift_share_threshold=config.drift_share, columns=columns, contracts=results,
                       reference={"source": reference.source, "rows": reference.rows, "bins": reference.bins},
                       current={"source": current.source, "rows": current.rows}, fail_on_drift=config.fail_on_drift)


def column_drift(ref: ColumnProfile, cur: ColumnProfile, config: DriftConfig) -> ColumnDrift:
    base = dict(dtype=cur.dtype if cur.dtype == ref.dtype else f"{ref.dtype} -> {cur.dtype}",
                reference=_summary(ref), current=_summary(cur))
    if is_ignored(config, ref.name):
        return ColumnDrift(ref.name, None, None, status="ignored", reason="ignored by drift config", **base)
    if is_all_null(ref) or is_all_null(cur):  # before the type: a column without values has none to compare
        side = "reference" if is_all_null(ref) else "current data"
        return ColumnDrift(ref.name, None, None, status="skipped",
                           reason=f"no usable value in {side}: all null (no drift test possible)", **base)
    if not comparable(ref.dtype, cur.dtype):
        return ColumnDrift(ref.name, None, None, status="skipped",
                           reason=f"type changed ({ref.dtype} -> {cur.dtype}): not tested", **base)
    if ref.valid == 0 or cur.valid == 0:
        side = "reference" if ref.valid == 0 else "current data"
        return ColumnDrift(ref.name, None, None, status="skipped",
                           reason=f"no usable value in {side} (all null or non-finite)", **base)
    choice = choose(config, ref, cur)
    if choice.method is None or choice.threshold is None:
        # a test asked for that does not apply keeps its name: the report lists what it left untested
        return ColumnDrift(ref.name, choice.column_type, choice.not_applicable, status="skipped",
                           reason=choice.reason, **base)
    method, threshold = choice.method, choice.threshold
    try:
        with np.errstate(all="ignore"):  # overflow is caught below, as a non-finite statistic
            if choice.column_type == "numeric" and method in ("ks", "wasserstein") or (
                    choice.column_type == "numeric" and method in ("psi", "jensenshannon") and not _few(ref, cur)):
                stat, p, bound, hist = _numeric(ref, cur, method, config)
            else:
                stat, p, bound, hist = _categorical(ref, cur, method)
    except _NotTestable as why:
        return ColumnDrift(ref.name, choice.column_type, method, status="skipped", reason=str(why), **base)
    score = p if method in P_VALUE_METHODS else stat
    if score is None or math.isnan(score):  # never a silent "no drift": say the test could not be computed
        return ColumnDrift(ref.name, choice.column_type, method, status="skipped", reason=(
            f"{method} could not be computed (values near the limit of floating point: sums of the column "
            "overflow); not tested"), **base)
    if method == "ks":
        drifted = score <= threshold
    elif method in P_VALUE_METHODS:
        drifted = score < threshold
    else:
        drifted = score >= threshold
    if hist is None and choice.column_type == "numeric":
        hist = _numeric_display(ref, cur)
    return ColumnDrift(ref.name, choice.column_type, method, statistic=stat, p_value=p, threshold=threshold,
                       drifted=bool(drifted), reason=choice.reason, error_bound=bound, histogram=hist, **base)


class _NotTestable(Exception):
    pass


def _few(ref: ColumnProfile, cur: ColumnProfile) -> bool:
    """Evidently bins numeric columns with > 20 distinct reference values; fewer are counted by value."""
    n = ref.numeric
    return n is not None and n.distinct_values is not None and n.distinct_values.size <= 20


# --------------------------------------------------------------------------- numeric
def grid(ref: NumericStats, cur: NumericStats) -> S.Grid:
    """Both columns on the reference grid extended by tails (current rebinned if it came on another grid)."""
    rh, ch = ref.histogram, cur.histogram
    if rh is None or ch is None:
        raise _NotTestable("no histogram for this column (profile built without it)")
    edges, before = H.extended_edges(rh.edges, ref.min, ref.max)
    total = edges.size + 1
    at_edges = None
    if ch.edges.shape == edges.shape and np.array_equal(ch.edges, edges):
        cc, cs, at_edges = ch.counts, ch.sums, ch.at_edges
    else:  # a current *profile* (its own grid): interpolate — approximate inside its bins
        cc, cs = H.rebin(ch.edges, ch.counts, ch.sums, cur.min, cur.max, edges, ch.atoms)
    atoms = None
    if rh.atoms is not None:
        atoms = np.zeros(total, dtype=bool)
        atoms[before:before + rh.atoms.size] = rh.atoms
    return S.Grid(edges, H.pad(rh.counts, before, total), H.pad(rh.sums, before, total), cc, cs,
                  ref.min, ref.max, cur.min, cur.max, atoms, at_edges)


def _numeric(ref: ColumnProfile, cur: ColumnProfile, method: str, config: DriftConfig):
    assert ref.numeric is not None and cur.numeric is not None
    g = grid(ref.numeric, cur.numeric)
    hist = _numeric_display(ref, cur, g)
    if method == "ks":
        d, bound = S.ks_statistic(g)
        return d, S.ks_pvalue(d, g.n_ref, g.n_cur), bound, hist
    if method == "wasserstein":
        w, bound = S.wasserstein(g)
        std = ref.numeric.std
        return S.wasserstein_normed(w, std), None, S.wasserstein_normed(bound, std), hist
    lo, hi = min(g.ref_min, g.cur_min), max(g.ref_max, g.cur_max)
    if method == "psi" and config.psi.binning == "quantile":
        n_bins = config.psi.bins if isinstance(config.psi.bins, int) else 10
        inner = quantiles(g.edges, g.ref_counts, g.ref_min, g.ref_max, np.linspace(0, 1, n_bins + 1)[1:-1])
        bounds = np.concatenate([[lo], np.unique(inner), [hi]])
    else:
        n_bins = config.psi.bins if method == "psi" and isinstance(config.psi.bins, int) else \
            S.sturges_bins(g.n_ref + g.n_cur)
        bounds = np.linspace(lo, hi, n_bins + 1) if hi > lo else np.array([lo, lo + 1.0])
    rp = S.binned_counts(g.edges, g.ref_counts, g.ref_min, g.ref_max, bounds) / g.n_ref
    cp = S.binned_counts(g.edges, g.cur_counts, g.cur_min, g.cur_max, bounds) / g.n_cur
    value = S.psi(rp, cp) if method == "psi" else S.jensenshannon(rp, cp)
    return value, None, None, hist


def quantiles(edges: np.ndarray, counts: np.ndarray, lo: float, hi: float, qs: np.ndarray) -> np.ndarray:
    """Quantiles from a histogram; values lie in [lo, hi], so the open tail buckets start/end there.

    Without the clip, the first bucket with mass would stretch down to the first tail
    edge (far below the data), putting low quantiles millions of units off.
    """
    bounds = np.clip(np.concatenate([[min(lo, edges[0])], edges, [max(hi, edges[-1])]]), lo, hi)
    cum = np.concatenate([[0.0], np.cumsum(counts, dtype=np.float64)]) / max(float(counts.sum()), 1.0)
    keep = np.concatenate([[True], np.diff(cum) > 0])
    return np.interp(qs, cum[keep], bounds[keep])


def _numeric_display(ref: ColumnProfile, cur: ColumnProfile, g: S.Grid | None = None) -> dict[str, Any] | None:
    if g is None:
        try:
            g = grid(ref.numeric, cur.numeric)  # type: ignore[arg-type]
        except _NotTestable:
            return None
    qs = np.array([0.005, 0.995])
    rq = quantiles(g.edges, g.ref_counts, g.ref_min, g.ref_max, qs)
    cq = quantiles(g.edges, g.cur_counts, g.cur_min, g.cur_max, qs)
    lo, hi = float(min(rq[0], cq[0])), float(max(rq[1], cq[1]))
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    bounds = np.linspace(lo, hi, DISPLAY_BINS + 1)
    rc = S.binned_counts(g.edges, g.ref_counts, g.ref_min, g.ref_max, bounds) / g.n_ref
    cc = S.binned_counts(g.edges, g.cur_counts, g.cur_min, g.cur_max, bounds) / g.n_cur
    return {"kind": "numeric", "edges": [float(x) for x in bounds], "reference": [round(float(x), 6) for x in rc],
            "current": [round(float(x), 6) for x in cc]}


# --------------------------------------------------------------------------- categorical / by value
def value_counts(ref: ColumnProfile, cur: ColumnProfile) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Aligned counts over the union of values (reference "other" lumps current values it may hide)."""
    if ref.categorical is not None and cur.categorical is not None:
        rc, cc = ref.categorical, cur.categorical
        if rc.high_cardinality or cc.high_cardinality:
            raise _NotTestable("high cardinality: value counts were not kept")
        rmap, cmap = rc.as_dict(), cc.as_dict()
        r_other, c_other = rc.other, cc.other
    else:
        rn, cn = ref.numeric, cur.numeric
        if rn is None or cn is None or rn.distinct_values is None or cn.distinct_values is None:
            raise _NotTestable("too many distinct values to compare value by value")
        as_int = ref.dtype.startswith(("int", "uint"))
        conv = (lambda v: int(v)) if as_int else float  # noqa: E731
        rmap = {conv(v): int(c) for v, c in zip(rn.distinct_values, rn.distinct_counts)}  # type: ignore[arg-type]
        cmap = {conv(v): int(c) for v, c in zip(cn.distinct_values, cn.distinct_counts)}  # type: ignore[arg-type]
        r_other = c_other = 0
    if r_other:
        keys = list(rmap)
        c_other += sum(c for v, c in cmap.items() if v not in rmap)
        cmap = {v: c for v, c in cmap.items() if v in rmap}
    else:
        keys = list(rmap) + [v for v in cmap if v not in rmap]
    r = np.array([rmap.get(k, 0) for k in keys] + ([r_other] if r_other or c_other else []), dtype=np.float64)
    c = np.array([cmap.get(k, 0) for k in keys] + ([c_other] if r_other or c_other else []), dtype=np.float64)
    if r_other or c_other:
        keys = keys + [OTHER]
    return keys, r, c


def _categorical(ref: ColumnProfile, cur: ColumnProfile, method: str):
    keys, r, c = value_counts(ref, cur)
    hist = _categorical_display(keys, r, c)
    if method == "jensenshannon":
        return S.jensenshannon(r / r.sum(), c / c.sum()), None, None, hist
    if method == "psi":
        return S.psi(r / r.sum(), c / c.sum()), None, None, hist
    if method == "chi2":
        stat, p = S.chi2(r, c)
        return stat, p, None, hist
    if method == "ztest":
        present = [k for k, a, b in zip(keys, r, c) if a or b]
        if len(present) > 2:
            raise _NotTestable(f"Z-test needs a binary column ({len(present)} distinct values)")
        r_keys = [k for k, a in zip(keys, r) if a]
        c_keys = [k for k, b in zip(keys, c) if b]
        if len(r_keys) == 1 and len(c_keys) == 1 and r_keys[0] == c_keys[0]:
            return 0.0, 1.0, None, hist
        first = sorted(present, key=lambda k: (str(type(k)), k))[0]
        i = keys.index(first)
        z, p = S.ztest(int(r[i]), int(r.sum()), int(c[i]), int(c.sum()))
        return z, p, None, hist
    raise _NotTestable(f"{method} does not apply to a categorical column")


def _categorical_display(keys: list[Any], r: np.ndarray, c: np.ndarray) -> dict[str, Any]:
    rs, cs = r / max(r.sum(), 1), c / max(c.sum(), 1)
    order = sorted(range(len(keys)), key=lambda i: -max(rs[i], cs[i]))
    head, tail = order[:DISPLAY_CATEGORIES], order[DISPLAY_CATEGORIES:]
    labels = [str(keys[i]) for i in head]
    ref_sh = [round(float(rs[i]), 6) for i in head]
    cur_sh = [round(float(cs[i]), 6) for i in head]
    if tail:
        labels.append(f"{len(tail)} more")
        ref_sh.append(round(float(rs[tail].sum()), 6))
        cur_sh.append(round(float(cs[tail].sum()), 6))
    return {"kind": "categorical", "labels": labels, "reference": ref_sh, "current": cur_sh}


def _summary(col: ColumnProfile) -> dict[str, Any]:
    out: dict[str, Any] = {"nulls": col.nulls}
    if col.numeric is not None:
        n = col.numeric
        out.update(count=n.count, mean=n.mean, std=n.std, min=n.min, max=n.max)
        if n.non_finite:
            out.update(nan=n.nan, posinf=n.posinf, neginf=n.neginf)
    elif col.categorical is not None:
        c = col.categorical
        out.update(count=c.count, cardinality=c.cardinality,
                   top=[[v if isinstance(v, (str, int, float, bool)) else str(v), k]
                        for v, k in zip(c.values[:5], c.counts[:5])])
    return out
