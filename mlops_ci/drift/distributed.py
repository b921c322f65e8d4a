"""Profiles of data that outgrows one machine, on an existing engine (Dask).

Nothing new to trust: each pass of :class:`~mlops_ci.drift.builder.ProfileBuilder`
is *map* (``scan_partition`` on each partition, anywhere) then *reduce*
(``ProfileBuilder.merge``, an exact sum) then ``advance`` on the driver. Partial
states are plain picklable objects, so the profile is the very one the
single-machine path builds — the test suite checks they are identical.

``partitions`` are :data:`~mlops_ci.drift.builder.BatchSource` callables that can
be shipped to workers (e.g. ``DataSource.partitions()``: one per file). The same
two functions plug into Spark as ``rdd.map(scan).treeReduce(merge)``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import pyarrow as pa

from mlops_ci.drift.builder import BatchSource, BuildOptions, PassState, ProfileBuilder
from mlops_ci.drift.profile import Profile


def scan_partition(builder: ProfileBuilder, partition: BatchSource) -> PassState:
    """The map step: one partition's partial state for the builder's current pass."""
    state = builder.new_state()
    for batch in partition(builder.columns_needed()):
        builder.update(state, batch)
    return state


def build_profile_dask(partitions: Sequence[BatchSource], schema: pa.Schema,
                       options: BuildOptions = BuildOptions(), name: str | None = None,
                       scheduler: Any = "threads") -> Profile:
    """Build a profile with Dask: ``scheduler`` is a Dask scheduler name or a ``distributed.Client``."""
    import dask

    # workers hold copies of the builder: the single-machine cache of sorted values makes no sense there
    builder = ProfileBuilder(schema, replace(options, cache_bytes=0, threads=1), source=name)
    compute_kwargs: dict[str, Any] = {}
    if isinstance(scheduler, str):
        compute_kwargs["scheduler"] = scheduler
    while True:
        states = [dask.delayed(scan_partition)(builder, part) for part in partitions]
        while len(states) > 1:  # tree reduction: log2(partitions) levels of exact merges
            states = [dask.delayed(builder.merge)(states[i], states[i + 1]) if i + 1 < len(states) else states[i]
                      for i in range(0, len(states), 2)]
        if isinstance(scheduler, str):
            (state,) = dask.compute(states[0], **compute_kwargs)
        else:
            state = scheduler.compute(states[0]).result()
        if not builder.advance(state):
            return builder.result()
