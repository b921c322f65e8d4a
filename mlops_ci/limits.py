"""Caps on what a file from the repository may cost us to read.

A pull request controls `.mlops-ci.yml`, dvc.yaml and every metrics and params file. A few KB
can be made to cost hours or a crash: an alias bomb expands to billions of values, nesting
100,000 levels deep overflows every recursive parser (RecursionError), a 5,000-digit integer
trips Python's int-to-string limit (ValueError). These caps turn each of them into a clear
"bad input" (exit 2) long before the damage, and are far above what a real file needs.

Pure: sizes and parsed data in, errors out; reading files is the caller's job.
"""

from __future__ import annotations

import sys
from typing import Any

from mlops_ci.errors import BadInput

#: Largest config, dvc.yaml, metrics, params or plot file read (10 MiB; real ones are a few KB).
MAX_INPUT_BYTES = 10 << 20
#: Deepest nesting of mappings/lists in any of those files (real ones nest a handful of levels).
MAX_NESTING = 100
#: Most values (mapping entries, list items, scalars) a YAML document may hold once its aliases
#: are expanded: what the code after the parser (flattening, validation) actually walks.
MAX_NODES = 1_000_000


def int_digits_limit() -> int:
    """Python's cap on decimal digits in int <-> str conversions (4300 by default)."""
    getter = getattr(sys, "get_int_max_str_digits", None)
    return getter() if getter else 4300


def check_size(size: int, file: str, what: str = "file") -> None:
    """Refuse a file larger than :data:`MAX_INPUT_BYTES` (``size`` in bytes)."""
    if size > MAX_INPUT_BYTES:
        raise BadInput(f"{file}: {what} is {size / (1 << 20):.1f} MiB; the limit is "
                       f"{MAX_INPUT_BYTES >> 20} MiB",
                       hint="Such files hold a few KB of numbers or settings; a larger one is refused "
                            "rather than read.")


def too_deep(data: Any, limit: int = MAX_NESTING) -> bool:
    """Whether parsed JSON/TOML nests dicts/lists more than ``limit`` levels.

    Iterative, so it cannot itself overflow; meant for trees (YAML, whose aliases share
    subtrees, is capped while it is composed: :mod:`mlops_ci.yamlsource`).
    """
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False


def nesting_error(file: str, what: str = "file") -> BadInput:
    return BadInput(f"{file}: {what} is nested more than {MAX_NESTING} levels deep",
                    hint="Such files are flat or nest a few levels; a deeper one is refused rather than parsed.")


def digits_error(file: str, what: str = "file") -> BadInput:
    return BadInput(f"{file}: {what} holds an integer with more than {int_digits_limit()} digits",
                    hint="Write metrics and settings as ordinary numbers.")
