"""Beyond one machine: profiles computed by Dask over partitions equal the single-machine profile."""

import pickle

import numpy as np
import pyarrow as pa
import pytest

from mlops_ci.adapters.datasets import from_table
from mlops_ci.drift.builder import BuildOptions, ProfileBuilder, build_profile
from mlops_ci.drift.config import ContractsConfig, DriftConfig
from mlops_ci.drift.engine import compare
from tests.unit.drift_helpers import current_of
from tests.unit.test_drift_profile import frame, same_histograms

import dask  # noqa: E402,F401 - a dev dependency: missing it must fail, not skip


def test_dask_profile_is_the_single_machine_profile():
    """Threads exercise the same map/merge graph as a cluster; the pickling test below covers shipping."""
    from mlops_ci.drift.distributed import build_profile_dask

    table = pa.Table.from_pandas(frame(60_000, 21), preserve_index=False)
    single = build_profile(from_table(table), table.schema, BuildOptions(threads=1), name="data")
    partitions = [from_table(table.slice(start, 15_000), batch_rows=4000) for start in range(0, 60_000, 15_000)]
    distributed = build_profile_dask(partitions, table.schema, BuildOptions(), name="data", scheduler="threads")
    same_histograms(single, distributed)

    # what users see: the drift report against either reference is the same, verdicts and tests exactly,
    # statistics up to the last bits of float sums (the merge order of moments differs)
    current = frame(40_000, 23, shift=0.15)
    current.loc[:99, "k"] = 9
    contracts = ContractsConfig.model_validate({"columns": {"k": {"allowed": [0, 1, 2, 3]}, "x": {"min": -3}}})
    reports = []
    for reference in (single, distributed):
        cur, counters = current_of(current, reference, contracts)
        reports.append(compare(reference, cur, DriftConfig(), contracts, counters).to_dict())
    expected, got = reports
    assert [(c["name"], c["status"], c["test"], c["drifted"]) for c in got["columns"]] == \
        [(c["name"], c["status"], c["test"], c["drifted"]) for c in expected["columns"]]
    assert got["dataset_drift"] == expected["dataset_drift"]
    assert 1 <= expected["n_drifted"] < expected["n_tested"]  # drifted and stable columns both compared
    assert got["contracts"] == expected["contracts"]
    assert_close(got, expected)


def assert_close(a, b, path="report"):
    """Equal JSON documents, floats within 1e-9 (relative) — NaN equals NaN."""
    assert type(a) is type(b), path
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            assert_close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, f"{path}[{i}]")
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12, nan_ok=True), path
    else:
        assert a == b, path


def test_partial_states_and_plans_survive_pickling():
    table = pa.Table.from_pandas(frame(5000, 22), preserve_index=False)
    builder = ProfileBuilder(table.schema, BuildOptions(threads=1, cache_bytes=0))
    state = builder.new_state()
    for batch in table.to_batches(1000):
        builder.update(state, batch)
    again = pickle.loads(pickle.dumps(state))
    for name, level in state.levels.items():
        assert np.array_equal(again.levels[name].counts, level.counts)
    builder.advance(state)
    shipped = pickle.loads(pickle.dumps(builder))
    assert shipped.leaves == {} and set(shipped.plans) == set(builder.plans)  # workers get plans, not results
