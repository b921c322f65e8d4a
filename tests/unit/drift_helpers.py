"""Run the drift engine on in-memory data frames (profile build, current pass, compare)."""

from __future__ import annotations

from typing import Any

from mlops_ci.adapters.datasets import from_table
from mlops_ci.drift.builder import BuildOptions, build_profile
from mlops_ci.drift.config import ContractsConfig, DriftConfig
from mlops_ci.drift.contracts import checks_from_config
from mlops_ci.drift.current import summarize_current
from mlops_ci.drift.engine import compare
from mlops_ci.drift.profile import Profile
from mlops_ci.drift.report import DriftReport


def profile_of(df: Any, bins: int = 1000, batch_rows: int = 1 << 18, **options: Any) -> Profile:
    src = from_table(df, "reference", batch_rows=batch_rows)
    return build_profile(src, src.schema, BuildOptions(bins=bins, threads=1, **options), name="reference")


def current_of(df: Any, reference: Profile, contracts: ContractsConfig | None = None, batch_rows: int = 1 << 18,
               **options: Any):
    src = from_table(df, "current", batch_rows=batch_rows)
    checks = checks_from_config(contracts or ContractsConfig())
    return summarize_current(src, src.schema, reference, checks, BuildOptions(threads=1, **options), name="current")


def drift_of(ref: Any, cur: Any, config: DriftConfig | None = None, contracts: ContractsConfig | None = None,
             bins: int = 1000) -> DriftReport:
    config = config or DriftConfig(bins=bins)
    reference = profile_of(ref, bins=bins, top_k=config.top_k, max_categories=config.max_categories)
    contracts = contracts or ContractsConfig()
    current, counters = current_of(cur, reference, contracts, max_categories=config.max_categories)
    return compare(reference, current, config, contracts, counters, checks_from_config(contracts))
