"""Memory allocators tuned for streaming passes: freed batches are reused, not handed back and re-faulted.

A drift or profile pass allocates and frees the same few megabytes per column
and record batch, thousands of times (Arrow's decoded columns, numpy's sorted
copies). With the allocators' defaults that memory goes back to the kernel
right after each batch and comes back as fresh zeroed pages for the next one.
Measured on the 5M-row benchmark data, current vs stored profile
(``benchmarks/drift/allocators.py --rows 5000000 --runs 3``, 2 cores, load 0.3):
page faults 98,703 -> 51,797 and system CPU time 0.46 s -> 0.20 s (user time
unchanged, 1.8 s).

* Arrow's mimalloc pool: ``MIMALLOC_PURGE_DELAY=-1`` keeps freed pages for reuse
  until the process exits (its peak stays its peak; a command is short-lived).
* numpy's glibc ``malloc``: ``mallopt`` raises the mmap threshold above a batch's
  arrays and the trim threshold, so those arrays are recycled inside the heap.
* numpy's OpenBLAS: the passes make no BLAS call, but its thread pool, started when
  numpy loads, spins waiting for work (~1% of a 5M-row pass in ``perf``):
  ``OPENBLAS_NUM_THREADS=1`` starts none.
* transparent huge pages: mimalloc's arenas are huge-page eligible, and each first
  touch then zeroes 2 MiB — after the kernel compacted memory to find it, which on a
  machine whose RAM is full of page cache is much of the cost (``compaction`` and
  ``clear_page`` in ``perf``). :func:`small_pages` turns them off while a pass runs.

mimalloc and OpenBLAS read their variables when pyarrow and numpy load, so
:func:`prepare` must run before those imports to have an effect (the CLI's lazy
imports guarantee it); a variable the caller set keeps the caller's value.

Nothing here changes a result; peak memory stays what the pass holds at once.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 << 20  # glibc's maximum: arrays of a 262,144-row batch (2 MiB) stay in the heap
TRIM_THRESHOLD = 256 << 20
VALUES = {"MIMALLOC_PURGE_DELAY": "-1", "OPENBLAS_NUM_THREADS": "1"}
_done = False


def prepare() -> None:
    """Tune the allocators for this process (idempotent; a no-op where it does not apply).

    The environment variables are set only for the moment numpy and pyarrow load (they read
    them then) and removed right after: processes this one starts later keep their defaults.
    """
    global _done
    if _done:
        return
    _done = True
    ours = [name for name, module in (("MIMALLOC_PURGE_DELAY", "pyarrow"), ("OPENBLAS_NUM_THREADS", "numpy"))
            if name not in os.environ and module not in sys.modules]
    os.environ.update({name: VALUES[name] for name in ours})
    try:
        import numpy  # noqa: F401 - OpenBLAS reads its variable as numpy loads
        import pyarrow  # noqa: F401 - mimalloc reads its options as libarrow loads
    finally:
        for name in ours:
            os.environ.pop(name, None)
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no tunable thresholds)
        return
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)


PR_SET_THP_DISABLE = 41
PR_GET_THP_DISABLE = 42


@contextlib.contextmanager
def small_pages() -> Iterator[None]:
    """No transparent huge pages for this process while the block runs (Linux; restored after,
    so a library caller's later work, and the processes it starts afterwards, keep their setting)."""
    prctl = None
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            prctl = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):
            prctl = None
    before = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) if prctl is not None else -1
    changed = before == 0 and prctl is not None and prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0
    try:
        yield
    finally:
        if changed and prctl is not None:
            prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0)
