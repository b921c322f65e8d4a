"""One pass over the data on every core: units of work in parallel, partial results folded in order.

A pass (profile building, the current-data summary) is *map* (a fresh partial
state per unit of work, filled from that unit's record batches) then *fold*
(the exact merge of partial states, in unit order). Units are what the source
can split itself into: the row groups of Parquet files, each read and decoded
by the worker that counts it, so decoding and counting spread over all cores
with no hand-off between threads. A source that is one stream (CSV, an
in-memory table) is read ahead by one thread and each of its batches is a unit.

Folding in unit order — not in the order workers finish — keeps results
bit-for-bit reproducible whatever the thread count or the machine's load: the
floating-point sums of a histogram are added in the same order every run, so a
profile rebuilt from the same files is the same file (DVC sees no change).

At most ``window`` units are in flight, so memory stays bounded by a few
batches per thread whatever the row count.
"""

from __future__ import annotations

import contextlib
import gc
import os
import queue
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

import pyarrow as pa

T = TypeVar("T")
R = TypeVar("R")

#: A unit of work: a callable yielding the unit's record batches (read when called, on the worker);
#: each batch may hold only some of the columns asked for (see :func:`counts_rows`).
Unit = Callable[[], Iterable[pa.RecordBatch]]
#: ``columns`` to read (None: all) -> record batches. Must be re-iterable: one call per pass.
BatchSource = Callable[[Sequence[str] | None], Iterable[pa.RecordBatch]]


def default_threads() -> int:
    """Every core this process may run on (its CPU affinity, e.g. a container's cpuset), at most 8
    (each thread holds a few batches in memory; more than 8 was never measured here)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


def counts_rows(batch: pa.RecordBatch, columns: Sequence[str]) -> bool:
    """Whether ``batch`` is the one to count its rows on: a unit may yield a row group's columns in
    groups (:meth:`mlops_ci.adapters.datasets.DataSource.units`), and only the group holding the
    first column counts (with no column at all, every batch does)."""
    return not columns or batch.num_columns == 0 or batch.schema.get_field_index(columns[0]) >= 0


def units_of(source: BatchSource, columns: Sequence[str] | None) -> list[Unit] | None:
    """The independent units ``source`` splits into (Parquet row groups), or None for a single stream."""
    split = getattr(source, "units", None)
    if split is None:
        return None
    units = split(columns)
    return units if units is not None and len(units) > 1 else None


def ordered(fn: Callable[[T], R], items: Iterable[T], threads: int, window: int | None = None) -> Iterator[R]:
    """``fn`` over ``items`` on ``threads`` threads, results in item order, at most ``window`` in flight.

    An exception in any item is raised here, in order, after the items before it;
    items not yet started are cancelled and the threads are joined before it propagates.
    """
    if threads <= 1:
        for item in items:
            yield fn(item)
        return
    window = window or 2 * threads
    pending: deque[Future] = deque()
    pool = ThreadPoolExecutor(threads, thread_name_prefix="mlops-ci-scan")
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)


def run_pass(source: BatchSource, columns: Sequence[str] | None, new: Callable[[], T],
             update: Callable[[T, pa.RecordBatch], Any], merge: Callable[[T, T], T], threads: int,
             units: Sequence[Unit] | None = None) -> T:
    """Fold ``update`` over every batch of ``source`` into one state, on ``threads`` threads.

    ``new``/``update``/``merge``: a fresh partial state, folding a batch into one, and the exact
    merge of two (``merge(a, b)``: ``b`` comes after ``a``). ``units``: the work units to use
    (default: what the source splits into); each becomes one partial state.
    """
    if units is None:
        units = units_of(source, columns)

    def one_unit(unit: Unit) -> T:
        state = new()
        for batch in unit():
            update(state, batch)
        return state

    def one_batch(batch: pa.RecordBatch) -> T:
        state = new()
        update(state, batch)
        return state

    # one partial state per unit (or per batch of a stream) whatever the thread count: the fold, and so
    # every float sum, is the same with 1 thread or 16
    total: T | None = None
    with no_cycle_collection():
        if units:
            parts: Iterator[T] = ordered(one_unit, units, threads)
        else:
            batches = source(columns)
            parts = ordered(one_batch, prefetch(batches) if threads > 1 else batches, threads)
        for part in parts:
            total = part if total is None else merge(total, part)
    return total if total is not None else new()


@contextlib.contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused for a pass: the pass makes no reference cycles, but its
    allocations (small dicts and tuples per batch) trigger collections that walk the whole heap."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def prefetch(batches: Iterable[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
    """Read ahead in a background thread: decoding overlaps the counting of the previous batch."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def run() -> None:
        try:
            for batch in batches:
                if stop.is_set():
                    return
                q.put(batch)
            q.put(done)
        except BaseException as exc:  # re-raised in the consumer (BadInput from the adapter, ...)
            q.put(exc)

    thread = threading.Thread(target=run, name="mlops-ci-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.05)
