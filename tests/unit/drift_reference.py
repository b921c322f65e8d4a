"""An exact, raw-data reference of Evidently 0.7's DataDriftPreset verdicts (scipy on full samples).

Transcribed from Evidently's source (``infer_column_type``, ``get_one_column_drift``,
``_get_default_stattest``, the stat tests and ``get_binned_data``), so the suite
can check our histogram-based engine against Evidently's rule without
installing Evidently (it does not import with pandas 3). The benchmark compares
against the real Evidently.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance


def infer_type(s: pd.Series) -> str | None:
    name = s.dtype.name
    if name.startswith("float"):
        return "num"
    if name.startswith("int"):
        return "cat" if s.nunique() <= 10 else "num"
    if name in ("bool", "category"):
        return "cat"
    if name in ("string", "str", "object"):
        return None if s.nunique() > s.count() * 0.5 else "cat"
    return None


def binned(r: pd.Series, c: pd.Series, ctype: str, fill: bool):
    if ctype == "num" and r.nunique() > 20:
        bins = np.histogram_bin_edges(pd.concat([r, c]).values, bins="sturges")
        rp = np.histogram(r, bins)[0] / len(r)
        cp = np.histogram(c, bins)[0] / len(c)
    else:
        keys = list(set(r.dropna().unique()) | set(c.dropna().unique()))
        rv, cv = r.value_counts(), c.value_counts()
        rp = np.array([rv.get(k, 0) / len(r) for k in keys])
        cp = np.array([cv.get(k, 0) / len(c) for k in keys])
    if fill:
        for p in (rp, cp):
            m = p[p != 0].min()
            np.place(p, p == 0, m / 10**6 if m <= 0.0001 else 0.0001)
    return rp, cp


def choose_test(r: pd.Series, c: pd.Series, ctype: str) -> str:
    n_values = pd.concat([r, c]).nunique()
    if len(r) <= 1000:
        if ctype == "num":
            return ("chi2" if n_values > 2 else "ztest") if n_values <= 5 else "ks"
        return "chi2" if n_values > 2 else "ztest"
    if ctype == "num":
        return "jensenshannon" if n_values <= 5 else "wasserstein"
    return "jensenshannon"


def apply_test(method: str, r: pd.Series, c: pd.Series, ctype: str) -> tuple[float, bool]:
    if method == "ks":
        p = stats.ks_2samp(r, c)[1]
        return p, p <= 0.05
    if method == "wasserstein":
        w = stats.wasserstein_distance(r, c) / max(np.std(r), 0.001)
        return w, w >= 0.1
    if method == "jensenshannon":
        rp, cp = binned(r, c, ctype, False)
        js = distance.jensenshannon(rp, cp)
        return js, js >= 0.1
    if method == "psi":
        rp, cp = binned(r, c, ctype, True)
        v = float(np.sum((rp - cp) * np.log(rp / cp)))
        return v, v >= 0.1
    if method == "chi2":
        keys = list(set(r.dropna().unique()) | set(c.dropna().unique()))
        rv, cv = r.value_counts(), c.value_counts()
        k = len(c) / len(r)
        with np.errstate(divide="ignore"):  # a value the reference never had: infinite statistic, as in Evidently
            p = stats.chisquare([cv.get(x, 0) for x in keys], [rv.get(x, 0) * k for x in keys])[1]
        return p, p < 0.05
    if method == "ztest":
        if r.nunique() == 1 and c.nunique() == 1 and r.unique()[0] == c.unique()[0]:
            return 1.0, False
        keys = sorted(set(r.dropna().unique()) | set(c.dropna().unique()))
        a = (r != keys[0]).astype(int)
        b = (c != keys[0]).astype(int)
        p1, p2 = a.mean(), b.mean()
        pp = (p1 * len(a) + p2 * len(b)) / (len(a) + len(b))
        z = (p1 - p2) / np.sqrt(pp * (1 - pp) * (1 / len(a) + 1 / len(b)))
        p = 2 * (1 - stats.norm.cdf(abs(z)))
        return p, p < 0.05
    raise ValueError(method)


def evidently_verdicts(ref: pd.DataFrame, cur: pd.DataFrame) -> tuple[dict[str, tuple[str, float, bool]], bool]:
    """Per column (test, score, drifted), and the dataset verdict (share >= 0.5)."""
    out = {}
    for col in cur.columns:
        ctype = infer_type(cur[col])
        if ctype is None:
            continue
        r = ref[col].replace([np.inf, -np.inf], np.nan).dropna()
        c = cur[col].replace([np.inf, -np.inf], np.nan).dropna()
        method = choose_test(r, c, ctype)
        score, drifted = apply_test(method, r, c, ctype)
        out[col] = (method, float(score), bool(drifted))
    share = sum(d for _, _, d in out.values()) / len(out)
    return out, share >= 0.5
