"""Data drift and data contracts: profiles, statistics, verdicts and their rendering.

Pure domain code: nothing here reads a file or talks to a service (the only
reader is :mod:`mlops_ci.adapters.datasets`). This package ``__init__`` stays
import-free on purpose: ``mlops_ci.config`` imports :mod:`mlops_ci.drift.config`
(pydantic only) and must not pay for numpy or pyarrow.

Where to start:

- :func:`mlops_ci.drift.builder.build_profile` — a streaming, multi-pass,
  partition-independent reference profile (:class:`mlops_ci.drift.profile.Profile`);
- :func:`mlops_ci.drift.builder.summarize_current` — one pass over current data,
  binned on the reference grid, with contract counters;
- :func:`mlops_ci.drift.engine.compare` — the verdicts, as a
  :class:`mlops_ci.drift.report.DriftReport`;
- :mod:`mlops_ci.drift.markdown` / :mod:`mlops_ci.drift.html` — rendering.
"""
