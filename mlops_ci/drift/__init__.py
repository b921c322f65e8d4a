"""Data drift and data contracts: profiles, statistics, verdicts and their rendering.

Pure domain code, except the two modules at its edge: :mod:`.job` runs a whole
drift job (data read only through :mod:`mlops_ci.adapters.datasets`, the three
report files written) and :mod:`.contracts_file` reads a contracts file. This package ``__init__`` stays
import-free on purpose: ``mlops_ci.config`` imports :mod:`mlops_ci.drift.config`
(pydantic only) and must not pay for numpy or pyarrow.

Where to start:

- :func:`mlops_ci.drift.job.run_drift` — a drift job end to end, what the
  ``drift``, ``profile`` and ``monitor`` commands call;
- :func:`mlops_ci.drift.builder.build_profile` — a streaming, multi-pass,
  partition-independent reference profile (:class:`mlops_ci.drift.profile.Profile`);
- :func:`mlops_ci.drift.builder.summarize_current` — one pass over current data,
  binned on the reference grid, with contract counters;
- :func:`mlops_ci.drift.engine.compare` — the verdicts, as a
  :class:`mlops_ci.drift.report.DriftReport`;
- :mod:`mlops_ci.drift.markdown` / :mod:`mlops_ci.drift.html` — rendering.
"""
