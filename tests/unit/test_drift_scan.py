"""The parallel pass: work units, sorted batches, counting by key bounds, and reproducible results."""

import math
import os
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_ci.adapters.datasets import open_source
from mlops_ci.drift import histogram as H
from mlops_ci.drift import profile as P
from mlops_ci.drift.builder import BuildOptions, build_profile
from mlops_ci.drift.current import summarize_current
from mlops_ci.drift.scan import ordered, run_pass
from mlops_ci.drift.states import numeric_values
from tests.unit.test_drift_profile import frame, same_histograms


@pytest.fixture(scope="module")
def parquet_dir(tmp_path_factory):
    """Two files, seven row groups of uneven size: the units a pass spreads over threads."""
    root = tmp_path_factory.mktemp("units")
    table = pa.Table.from_pandas(frame(70_000, 41), preserve_index=False)
    pq.write_table(table.slice(0, 30_000), root / "part-0.parquet", row_group_size=9_000)
    pq.write_table(table.slice(30_000), root / "part-1.parquet", row_group_size=13_000)
    return root, table


def test_units_cover_every_row_once_in_order(parquet_dir):
    """Units are row groups, in data order; each yields its columns a few at a time (less decoder memory)."""
    from mlops_ci.adapters.datasets import UNIT_COLUMNS
    from mlops_ci.drift.scan import counts_rows

    root, table = parquet_dir
    src = open_source(str(root), batch_rows=4096)
    names = table.column_names
    assert len(names) > UNIT_COLUMNS
    units = src.units(names)
    assert len(units) == 4 + 4  # 30k rows in 9k groups, 40k rows in 13k groups
    pieces, rows = [], 0
    for unit in units:
        by_columns: dict[tuple, list] = {}
        for batch in unit():
            assert batch.num_columns <= UNIT_COLUMNS
            by_columns.setdefault(tuple(batch.schema.names), []).append(batch)
            rows += batch.num_rows if counts_rows(batch, names) else 0
        groups = [pa.Table.from_batches(b) for b in by_columns.values()]
        assert len({g.num_rows for g in groups}) == 1  # every column of the row group, once
        pieces.append(pa.table({n: g.column(n) for g in groups for n in g.column_names}).select(names))
    assert pa.concat_tables(pieces).equals(table) and rows == table.num_rows
    two = src.units(["x", "c"])
    assert pa.Table.from_batches([b for unit in two for b in unit()]).equals(table.select(["x", "c"]))


def test_profile_is_byte_identical_whatever_the_thread_count(parquet_dir):
    """Partial states are folded in unit order, not in the order threads finish: same floats, same file."""
    root, table = parquet_dir
    src = open_source(str(root))
    dumps = {P.dumps(build_profile(src, src.schema, BuildOptions(threads=t, cache_bytes=c), name="d"))
             for t in (1, 2, 4) for c in (0, 256 << 20)}
    assert len(dumps) == 1
    # and it is the profile of the same rows as one in-memory stream (float sums to the last bits)
    from mlops_ci.adapters.datasets import from_table

    same_histograms(P.loads(dumps.pop()), build_profile(from_table(table), table.schema, BuildOptions(threads=1),
                                                        name="d"))


def test_current_summary_is_the_same_on_one_thread_or_two(parquet_dir):
    root, _ = parquet_dir
    src = open_source(str(root))
    reference = build_profile(src, src.schema, BuildOptions(threads=2))
    one, _ = summarize_current(src, src.schema, reference, options=BuildOptions(threads=1))
    two, _ = summarize_current(src, src.schema, reference, options=BuildOptions(threads=2))
    assert P.dumps(one) == P.dumps(two)
    x = two.columns["x"].numeric
    assert x.histogram.total == x.count == reference.columns["x"].numeric.count


def test_an_error_in_one_unit_stops_the_pass_and_is_raised_in_order():
    def work(i):
        if i == 5:
            raise ValueError("unit 5")
        return i

    seen = []
    with pytest.raises(ValueError, match="unit 5"):
        for r in ordered(work, range(50), threads=2):
            seen.append(r)
    assert seen == [0, 1, 2, 3, 4]
    assert run_pass(lambda cols: iter([pa.record_batch({"a": [1, 2]})] * 3), None, lambda: [0],
                    lambda s, b: s.__setitem__(0, s[0] + b.num_rows), lambda a, b: [a[0] + b[0]], threads=2) == [6]


def test_numeric_values_are_sorted_with_exact_special_counts():
    arr = pa.array([3.0, None, -0.0, math.nan, math.inf, -math.inf, 0.0, -2.5, math.inf, None, 1e-310])
    s, nulls, nan, posinf, neginf = numeric_values(arr)
    assert (nulls, nan, posinf, neginf) == (2, 1, 2, 1)
    assert s.tolist() == [-2.5, 0.0, 0.0, 1e-310, 3.0]
    assert not np.signbit(s[1:3]).any()  # -0.0 folded onto +0.0: equal values, equal keys
    assert numeric_values(pa.array([math.nan] * 3))[2] == 3 and numeric_values(pa.array([math.nan] * 3))[0].size == 0
    only_neg_inf = numeric_values(pa.array([-math.inf, -math.inf]))
    assert only_neg_inf[0].size == 0 and only_neg_inf[4] == 2
    ints = numeric_values(pa.array([5, 1, None, 3], pa.int32()))
    assert ints[0].tolist() == [1.0, 3.0, 5.0] and ints[1] == 1


SPECIAL = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, -1.0, 1.0, 1.7976931348623157e308,
           -1.7976931348623157e308, 1e-300, -1e300, 0.1, -0.1]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(SPECIAL), st.floats(allow_nan=False, allow_infinity=False)),
                min_size=1, max_size=300),
       st.integers(0, 3))
def test_counting_by_key_bounds_equals_counting_keys(values, depth):
    """Binary searches on float bounds give exactly the per-key-prefix counts, at every level and sign."""
    s, *_ = numeric_values(pa.array(values, pa.float64()))
    keys = H.float_keys(s, normalized=True)
    plan = H.root_plan()
    level = H.Level(plan)
    level.add_sorted(s)
    for _ in range(depth):  # refine every node seen, to check the deeper levels too
        parents = np.unique(keys >> np.uint64(64 - plan.child_bits))
        plan = H.LevelPlan(bits=plan.child_bits, digit=min(8, 64 - plan.child_bits), parents=parents)
        level = H.Level(plan)
        level.add_sorted(s)
    got = level.sparse()
    ids, counts = np.unique(keys >> np.uint64(64 - plan.child_bits) if plan.child_bits < 64 else keys,
                            return_counts=True)
    assert got.prefixes.tolist() == ids.tolist() and got.counts.tolist() == counts.tolist()
    for prefix, total in zip(got.prefixes, got.sums):
        members = s[(keys >> np.uint64(64 - plan.child_bits) if plan.child_bits < 64 else keys) == prefix]
        with np.errstate(over="ignore"):  # sums of values near the float limit overflow on both sides
            assert total == pytest.approx(float(np.sum(members)), rel=1e-12, abs=1e-300)


def test_allocator_settings_reach_the_libraries_and_leave_no_trace():
    """mimalloc and OpenBLAS read their variables as pyarrow/numpy load; children of the process don't inherit."""
    code = ("from mlops_ci.adapters.allocators import prepare; prepare(); import os, sys; "
            "print(os.environ.get('MIMALLOC_PURGE_DELAY'), os.environ.get('OPENBLAS_NUM_THREADS')); "
            "import pyarrow as pa; pa.array([1.0] * 100_000)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MIMALLOC_", "OPENBLAS_"))}
    env["MIMALLOC_VERBOSE"] = "1"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "None"]
    assert "option 'purge_delay': -1" in done.stderr  # what mimalloc read when libarrow loaded
    mine = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**env, "MIMALLOC_PURGE_DELAY": "25"})
    assert "option 'purge_delay': 25" in mine.stderr  # a caller's own setting wins


def test_huge_pages_are_off_only_while_a_pass_runs():
    """Transparent huge pages are disabled around a pass and restored after (a library caller keeps its own)."""
    import ctypes

    from mlops_ci.adapters.allocators import PR_GET_THP_DISABLE, small_pages

    prctl = ctypes.CDLL(None).prctl
    if prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) != 0:
        pytest.skip("this process inherited THP disabled: nothing to restore")
    with small_pages():
        assert prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1
    assert prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 0


def test_passes_use_the_cores_the_process_may_run_on():
    """Default threads follow the CPU affinity (a container's cpuset), not the host's core count."""
    code = ("import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
            "from mlops_ci.drift.builder import BuildOptions; print(BuildOptions().threads)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"
    from mlops_ci.drift.builder import BuildOptions

    assert BuildOptions().threads == min(8, len(os.sched_getaffinity(0)))
