"""The SQL peer: a DuckDB histogram prototype of Evidently's rule (run with benchmarks/.venv-evidently/bin/python).

    duckdb_run.py REF_DIR CUR_DIR OUT.json

What a team would write with DuckDB instead of a drift library: one scan per side for
counts, extremes and std, then per column a GROUP BY — equal-width histograms of
2,000 bins over the joint range for numeric columns (Wasserstein-1 from the binned
CDFs, normed by the reference std as Evidently does; error <= one bin width), value
counts for categorical ones (Jensen–Shannon). Same type inference and thresholds as
the other contenders; DuckDB uses every core it is given (``threads`` = CPU count).
"""

import json
import math
import os
import sys
import time

import duckdb
import numpy as np

BINS = 2000


def js_distance(p: np.ndarray, q: np.ndarray) -> float:
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = lambda a: float(np.sum(np.where(a > 0, a * np.log(a / m), 0.0)))  # noqa: E731
    return math.sqrt(max(kl(p) + kl(q), 0.0) / 2)


def main() -> None:
    ref_dir, cur_dir, out = sys.argv[1:4]
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"SET threads = {os.cpu_count() or 1}")
    src = {side: f"read_parquet('{path}/*.parquet')" for side, path in (("ref", ref_dir), ("cur", cur_dir))}
    schema = con.execute(f"DESCRIBE SELECT * FROM {src['ref']}").fetchall()
    types = {name: t.upper() for name, t, *_ in schema}
    numeric = [n for n, t in types.items() if t in ("DOUBLE", "FLOAT", "REAL") or "INT" in t]
    categorical = [n for n, t in types.items()
                   if n not in numeric and (t in ("VARCHAR", "BOOLEAN") or t.startswith("ENUM"))]

    def summary(side: str) -> dict:
        parts = []
        for c in numeric:
            finite = f"CASE WHEN isfinite(\"{c}\"::DOUBLE) THEN \"{c}\"::DOUBLE END"
            parts += [f"count({finite})", f"min({finite})", f"max({finite})", f"stddev_pop({finite})",
                      f"approx_count_distinct({finite})"]
        row = con.execute(f"SELECT {', '.join(parts)} FROM {src[side]}").fetchone() if parts else ()
        return {c: row[5 * i:5 * i + 5] for i, c in enumerate(numeric)}

    stats = {side: summary(side) for side in ("ref", "cur")}
    columns = {}
    for c in numeric:
        (_, lo_r, hi_r, std_r, nd_r), (_, lo_c, hi_c, _, nd_c) = stats["ref"][c], stats["cur"][c]
        few = "INT" in types[c] and nd_c <= 10  # Evidently: integers with few values are categorical
        if few or (nd_r + nd_c) <= 10:
            counts = {side: dict(con.execute(f"SELECT \"{c}\", count(*) FROM {src[side]} WHERE \"{c}\" IS NOT NULL "
                                             f"AND isfinite(\"{c}\"::DOUBLE) GROUP BY 1").fetchall())
                      for side in ("ref", "cur")}
            if few or len(set(counts["ref"]) | set(counts["cur"])) <= 5:
                keys = sorted(set(counts["ref"]) | set(counts["cur"]))
                score = js_distance(np.array([counts["ref"].get(k, 0) for k in keys], float),
                                    np.array([counts["cur"].get(k, 0) for k in keys], float))
                columns[c] = {"test": "jensenshannon", "score": score, "drifted": score >= 0.1}
                continue
        lo, hi = min(lo_r, lo_c), max(hi_r, hi_c)
        width = (hi - lo) / BINS if hi > lo else 1.0
        hist = {}
        for side in ("ref", "cur"):
            rows = con.execute(f"SELECT least(floor((\"{c}\"::DOUBLE - {lo!r}) / {width!r})::BIGINT, {BINS - 1}) b, "
                               f"count(*) FROM {src[side]} WHERE isfinite(\"{c}\"::DOUBLE) GROUP BY b").fetchall()
            h = np.zeros(BINS)
            for b, n in rows:
                h[int(b)] = n
            hist[side] = np.cumsum(h) / max(h.sum(), 1)
        w1 = float(np.sum(np.abs(hist["ref"] - hist["cur"])) * width)
        score = w1 / max(std_r, 0.001)
        columns[c] = {"test": "wasserstein", "score": score, "drifted": score >= 0.1}
    for c in categorical:
        counts = {side: dict(con.execute(f"SELECT \"{c}\"::VARCHAR, count(*) FROM {src[side]} "
                                         f"WHERE \"{c}\" IS NOT NULL GROUP BY 1").fetchall()) for side in ("ref", "cur")}
        total_cur = sum(counts["cur"].values())
        if len(counts["cur"]) > 0.5 * total_cur:  # Evidently: text / ID-like, not a drift test
            continue
        keys = sorted(set(counts["ref"]) | set(counts["cur"]))
        score = js_distance(np.array([counts["ref"].get(k, 0) for k in keys], float),
                            np.array([counts["cur"].get(k, 0) for k in keys], float))
        columns[c] = {"test": "jensenshannon", "score": score, "drifted": score >= 0.1}
    json.dump({"tool": "duckdb", "version": duckdb.__version__, "seconds_inside": time.perf_counter() - started,
               "columns": columns}, open(out, "w"), indent=1)


if __name__ == "__main__":
    main()
