"""Profiles: partition-independent, mergeable, small, versioned."""

import gzip
import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from mlops_ci.adapters.datasets import from_table
from mlops_ci.drift import merge as M
from mlops_ci.drift import profile as P
from mlops_ci.drift.builder import BuildOptions, ProfileBuilder, build_profile
from mlops_ci.errors import BadInput
from tests.unit.drift_helpers import drift_of, profile_of


def frame(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    x[rng.random(n) < 0.01] = np.nan
    spike = rng.normal(5, 2, n)
    spike[rng.random(n) < 0.3] = 0.0
    return pd.DataFrame({
        "x": x,
        "big": rng.normal(1e6, 1, n),
        "spike": spike,
        "k": rng.integers(0, 4, n),
        "c": rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "flag": rng.random(n) < 0.3,
    })


def same_histograms(a: P.Profile, b: P.Profile, exact_sums: bool = False) -> None:
    assert a.rows == b.rows and list(a.columns) == list(b.columns)
    for name, ca in a.columns.items():
        cb = b.columns[name]
        if ca.numeric is not None:
            na, nb = ca.numeric, cb.numeric
            assert (na.count, na.nulls, na.nan, na.min, na.max) == (nb.count, nb.nulls, nb.nan, nb.min, nb.max)
            assert na.mean == pytest.approx(nb.mean, rel=1e-12, abs=1e-12)
            assert na.m2 == pytest.approx(nb.m2, rel=1e-9)
            ha, hb = na.histogram, nb.histogram
            assert np.array_equal(ha.edges, hb.edges) and np.array_equal(ha.counts, hb.counts), name
            assert np.array_equal(ha.atoms, hb.atoms)
            if exact_sums:
                assert np.array_equal(ha.sums, hb.sums)
            else:
                assert np.allclose(ha.sums, hb.sums, rtol=1e-12, atol=1e-9)
        else:
            assert ca.categorical == cb.categorical


def test_profile_does_not_depend_on_how_the_data_is_batched():
    df = frame(30_000, 1)
    whole = profile_of(df, batch_rows=1 << 20)
    for rows in (1000, 4097, 7777):
        same_histograms(whole, profile_of(df, batch_rows=rows))


def test_partition_states_merge_into_the_profile_of_the_union():
    """The distributed path: per-partition states of every pass, merged, give the single-machine profile."""
    df = frame(40_000, 2)
    table = pa.Table.from_pandas(df, preserve_index=False)
    parts = [table.slice(0, 9000), table.slice(9000, 20000), table.slice(29000)]
    single = build_profile(from_table(table), table.schema, BuildOptions(threads=1))
    builder = ProfileBuilder(table.schema, BuildOptions(threads=1, cache_bytes=0))
    while True:
        states = []
        for part in reversed(parts):  # any order
            st = builder.new_state()
            for batch in part.select(builder.columns_needed()).to_batches(3000):
                builder.update(st, batch)
            states.append(st)
        merged = builder.merge(builder.merge(states[0], states[1]), states[2])
        if not builder.advance(merged):
            break
    same_histograms(single, builder.result())


def test_merging_independent_profiles_is_exact_where_it_can_be_and_keeps_verdicts():
    a, b = frame(25_000, 3), frame(35_000, 4)
    union = profile_of(pd.concat([a, b], ignore_index=True))
    merged = M.merge_profiles(profile_of(a), profile_of(b))
    assert merged.rows == union.rows
    for name, cu in union.columns.items():
        cm = merged.columns[name]
        if cu.numeric is not None:
            nu, nm = cu.numeric, cm.numeric
            assert (nu.count, nu.nulls, nu.nan, nu.min, nu.max) == (nm.count, nm.nulls, nm.nan, nm.min, nm.max)
            assert nm.mean == pytest.approx(nu.mean, rel=1e-12, abs=1e-12)
            assert nm.std == pytest.approx(nu.std, rel=1e-12)
            # histograms built on different grids merge within one bin of either input
            grid = np.linspace(nu.min, nu.max, 401)
            from mlops_ci.drift.histogram import cdf_at
            hu, hm = nu.histogram, nm.histogram
            cu_ = cdf_at(hu.edges, hu.counts, nu.min, nu.max, grid) / nu.count
            cm_ = cdf_at(hm.edges, hm.counts, nm.min, nm.max, grid) / nm.count
            assert np.max(np.abs(cu_ - cm_)) <= 2 / union.bins + 1e-9, name
        else:
            assert cm.categorical == cu.categorical
    cur = frame(20_000, 5, shift=0.3)
    from tests.unit.drift_helpers import current_of
    from mlops_ci.drift.engine import compare
    verdicts = []
    for ref in (union, merged):
        current, _ = current_of(cur, ref)
        verdicts.append({c.name: c.drifted for c in compare(ref, current).columns})
    assert verdicts[0] == verdicts[1] and verdicts[0]["x"]


def test_identical_grids_merge_exactly():
    """Partitions whose grids coincide (here: every one of 7 values is a bin of its own) add up exactly."""
    rng = np.random.default_rng(6)
    a, b = (pd.DataFrame({"x": rng.integers(0, 7, n).astype(float)}) for n in (10_000, 7_000))
    pa_, pb = profile_of(a), profile_of(b)
    merged = M.merge_profiles(pa_, pb)
    h, ha, hb = merged.columns["x"].numeric.histogram, pa_.columns["x"].numeric.histogram, \
        pb.columns["x"].numeric.histogram
    assert np.array_equal(h.edges, ha.edges) and np.array_equal(ha.edges, hb.edges)
    assert np.array_equal(h.counts, ha.counts + hb.counts) and np.array_equal(h.counts[:-1], np.bincount(
        np.concatenate([a["x"], b["x"]]).astype(int), minlength=7))


def test_merge_does_not_depend_on_the_order_and_keeps_a_two_bin_bound():
    """Issue 14: `profile merge` gives the same profile for any order of its inputs (bytes, not just verdicts)."""
    import itertools

    parts = [frame(8000, 30), frame(11_000, 31, shift=0.2), frame(5000, 32, shift=-0.1)]
    profiles = [profile_of(df) for df in parts]
    results = {P.dumps(M.merge_all([profiles[i] for i in order])) for order in itertools.permutations(range(3))}
    assert len(results) == 1
    merged = P.loads(results.pop())
    union = profile_of(pd.concat(parts, ignore_index=True))
    assert merged.rows == union.rows and sorted(merged.parts) == sorted(p.partitions()[0] for p in profiles)
    from mlops_ci.drift.histogram import cdf_at
    for name in ("x", "big", "spike"):
        nu, nm = union.columns[name].numeric, merged.columns[name].numeric
        grid = np.linspace(nu.min, nu.max, 801)
        cu = cdf_at(nu.histogram.edges, nu.histogram.counts, nu.min, nu.max, grid) / nu.count
        cm = cdf_at(nm.histogram.edges, nm.histogram.counts, nm.min, nm.max, grid) / nm.count
        assert np.max(np.abs(cu - cm)) <= 2 / union.bins + 1e-9, name  # one regrouping, whatever the count
        assert nm.count == nu.count and nm.mean == pytest.approx(nu.mean, rel=1e-12, abs=1e-12)


def test_merge_refuses_the_same_partition_twice():
    """Issue 14: the same profile (or the same data profiled again) is refused, also inside a merged profile."""
    df_a, df_b = frame(4000, 33), frame(3000, 34)
    a, b = profile_of(df_a), profile_of(df_b)
    with pytest.raises(BadInput, match="a.json: describes a partition already in a-copy.json"):
        M.merge_all([a, P.loads(P.dumps(a))], ["a-copy.json", "a.json"])
    rebuilt = profile_of(df_a)
    rebuilt.created_by = "mlops-ci 9.9"  # who wrote it does not make it another partition
    with pytest.raises(BadInput, match="would count its rows twice"):
        M.merge_profiles(a, rebuilt)
    ab = P.loads(P.dumps(M.merge_profiles(a, b)))  # the merged profile remembers its partitions
    with pytest.raises(BadInput, match="already in"):
        M.merge_all([ab, b], ["ab.json", "b.json"])
    c = profile_of(frame(2000, 35))
    assert M.merge_all([ab, c]).rows == 9000


def test_bins_hold_at_most_one_thousandth_and_atoms_stand_alone():
    df = frame(50_000, 7)
    p = profile_of(df)
    spike = p.columns["spike"].numeric.histogram
    assert spike.max_bin_share() <= 1e-3 + 1e-12
    zero = np.flatnonzero(spike.edges == 0.0)
    assert zero.size == 1 and spike.atoms[zero[0]] and spike.counts[zero[0]] > 0.25 * 50_000
    big = p.columns["big"].numeric.histogram  # N(1e6, 1): concentrated far from zero, still fine-grained
    assert big.edges.size >= 900 and big.max_bin_share() <= 1e-3 + 1e-12


def test_exact_counts_and_moments():
    df = frame(20_000, 8)
    p = profile_of(df)
    x = df["x"].to_numpy()
    n = p.columns["x"].numeric
    assert n.nulls + n.nan == int(np.isnan(x).sum())  # Arrow reads pandas' NaN as null
    t = profile_of(pa.table({"v": pa.array([1.0, np.nan, np.inf, -np.inf, None, 2.0], from_pandas=False)}))
    v = t.columns["v"].numeric
    assert (v.count, v.nulls, v.nan, v.posinf, v.neginf, v.min, v.max) == (2, 1, 1, 1, 1, 1.0, 2.0)
    finite = x[np.isfinite(x)]
    assert n.count == finite.size and n.mean == pytest.approx(finite.mean()) and n.std == pytest.approx(finite.std())
    k = p.columns["k"].numeric
    assert k.n_distinct == 4 and int(k.distinct_counts.sum()) == 20_000
    c = p.columns["c"].categorical
    assert c.values[0] == "a" and sum(c.counts) == 20_000 and c.cardinality == 4 and c.other == 0
    flag = p.columns["flag"].categorical
    assert set(flag.values) == {True, False}


def test_top_k_lumps_the_rest_and_high_cardinality_is_flagged():
    rng = np.random.default_rng(9)
    df = pd.DataFrame({"few": rng.choice([f"v{i}" for i in range(50)], 5000),
                       "ids": [f"id-{i}" for i in range(5000)]})
    p = profile_of(df, top_k=10, max_categories=1000)
    few = p.columns["few"].categorical
    assert len(few.values) == 10 and few.other == 5000 - sum(few.counts) and few.cardinality == 50
    ids = p.columns["ids"].categorical
    assert ids.high_cardinality and ids.values == [] and ids.count == 5000


def test_round_trip_gzip_and_size():
    df = frame(100_000, 10)
    p = profile_of(df)
    raw = P.dumps(p)
    assert len(raw) < 400_000  # six columns, 100k rows: a few hundred KB at most, never the rows
    again = P.loads(gzip.compress(raw))
    same_histograms(p, again, exact_sums=True)
    assert math.isnan(P.loads(P.dumps(profile_of(pd.DataFrame({"e": [np.nan] * 5})))).columns["e"].numeric.mean)


def test_incompatible_or_damaged_profiles_are_refused_clearly():
    p = profile_of(frame(1000, 11))
    data = P.to_dict(p)
    data["version"] = P.VERSION + 1
    data["created_by"] = "mlops-ci 9.0"
    with pytest.raises(BadInput, match=r"version 2 \(written by mlops-ci 9.0\) is not supported") as err:
        P.from_dict(data, "ref.json")
    assert "rebuild" in (err.value.hint or "")
    with pytest.raises(BadInput, match="not an mlops-ci drift profile"):
        P.loads(json.dumps({"columns": []}).encode())
    broken = P.to_dict(p)
    del broken["columns"][0]["numeric"]["count"]
    with pytest.raises(BadInput, match="damaged"):
        P.from_dict(broken)
    with pytest.raises(BadInput, match="not a JSON"):
        P.loads(b"{not json")


def test_drift_from_stored_profile_equals_drift_from_data():
    ref, cur = frame(20_000, 12), frame(20_000, 13, shift=0.3)
    direct = drift_of(ref, cur)
    stored = P.loads(P.dumps(profile_of(ref)))
    from tests.unit.drift_helpers import current_of
    from mlops_ci.drift.engine import compare
    current, _ = current_of(cur, stored)
    again = compare(stored, current)
    assert [(c.name, c.statistic, c.drifted) for c in direct.columns] == \
        [(c.name, c.statistic, c.drifted) for c in again.columns]


def test_merging_a_part_where_a_column_has_no_value():
    """A null-typed column in one part (an empty CSV column, a Parquet null) takes the other part's type."""
    rng = np.random.default_rng(8)
    full = pa.table({"v": rng.normal(size=500), "s": pa.array(rng.choice(["a", "b"], 500))})
    empty = pa.table({"v": pa.nulls(300), "s": pa.nulls(300)})
    for a, b in ((full, empty), (empty, full)):
        merged = M.merge_profiles(profile_of(a), profile_of(b))
        v, s = merged.columns["v"], merged.columns["s"]
        assert merged.rows == 800
        assert (v.dtype, v.kind, s.dtype, s.kind) == ("double", "numeric", "string", "categorical")
        assert (v.nulls, v.valid, s.nulls, s.valid) == (300, 500, 300, 500)
    other_empty = pa.table({"v": pa.nulls(200), "s": pa.nulls(200)})
    both = M.merge_profiles(profile_of(empty), profile_of(other_empty)).columns["v"]
    assert (both.dtype, both.kind, both.nulls) == ("null", "empty", 500)
