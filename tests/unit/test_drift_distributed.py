"""Beyond one machine: profiles computed by Dask over partitions equal the single-machine profile."""

import pickle

import numpy as np
import pyarrow as pa
import pytest

from mlops_ci.adapters.datasets import from_table
from mlops_ci.drift.builder import BuildOptions, ProfileBuilder, build_profile
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
