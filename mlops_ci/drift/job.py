"""A drift job end to end: rules from the trusted side, both datasets read, compared, written.

The orchestration above the pure modules of this package: it reads data only through
:mod:`mlops_ci.adapters.datasets` and writes only the three report files. ``mlops-ci drift``,
``mlops-ci profile``, the scheduled ``monitor`` and the demo all run drift through here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.errors import BadInput

if TYPE_CHECKING:
    from mlops_ci.drift.config import ContractsConfig, DriftConfig
    from mlops_ci.drift.profile import Profile
    from mlops_ci.drift.report import DriftReport

#: Where `profile build` writes when no -o is given (under the runtime's out dir, .mlops-ci/out locally).
DEFAULT_PROFILE_NAME = "reference-profile.json"


def build_reference_profile(data: str, *, rev: str | None = None, repo: str = ".", bins: int = 1000,
                            top_k: int = 1000, max_categories: int = 100_000, csv_encoding: str | None = None,
                            threads: int | None = None) -> "Profile":
    """Stream ``data`` (file, directory, glob; at a DVC revision if ``rev``) into a profile."""
    from mlops_ci.adapters.allocators import prepare, small_pages

    prepare()  # before pyarrow loads: freed batches are reused instead of re-faulted
    from mlops_ci.adapters.datasets import open_source
    from mlops_ci.drift.builder import BuildOptions, build_profile

    src = open_source(data, rev=rev, repo=repo, csv_encoding=csv_encoding)
    if src.is_profile:
        raise BadInput(f"{data}: is already a profile; give the data it should describe")
    options = BuildOptions(bins=bins, top_k=top_k, max_categories=max_categories,
                           **({"threads": threads} if threads else {}))  # default: every core
    with small_pages():  # huge pages cost more than they save in a streaming pass (allocators.py)
        profile = build_profile(src, src.schema, options, name=src.name)
    if profile.rows == 0:
        raise BadInput(f"{src.name}: no rows to profile")
    return profile


def failure_message(report: "DriftReport") -> str:
    reasons = []
    if report.dataset_drift and report.fail_on_drift:
        reasons.append(f"dataset drift: {report.n_drifted} of {report.n_tested} columns drifted "
                       f"(share {report.drift_share:.2f} >= {report.drift_share_threshold:.2f})")
    if report.contract_errors:
        first = report.contract_errors[0].message
        more = len(report.contract_errors) - 1
        reasons.append(f"{len(report.contract_errors)} data contract error(s): {first}"
                       + (f" (and {more} more)" if more else ""))
    return "; ".join(reasons)


def load_settings(project_dir: str = ".", config_path: str | None = None,
                  contracts_path: str | None = None, base: str | None = None,
                  strict: bool = True) -> tuple["DriftConfig", "ContractsConfig"]:
    """``drift:`` and ``contracts:`` of .mlops-ci.yml (defaults when absent); ``contracts_path`` replaces the latter.

    With ``base`` (a revision), what decides pass/fail — tests, thresholds, ignored columns,
    ``fail_on_drift``, contract severities — comes from that commit's file (:mod:`mlops_ci.policy`):
    a pull request cannot switch off the check that judges its own data.
    """
    from mlops_ci.config import load_config

    cfg = None
    if base:
        from mlops_ci.workspace import open_workspace

        ws = open_workspace(project_dir, config_path)
        try:
            cfg = ws.policy(ws.base_revision(base)).config
        except BadInput:
            if strict:
                raise
            # the base was only implied (--reference-rev): reading the data there fails with its own message
    if cfg is None:
        cfg = load_config(project_dir, config_path)
    drift, contracts = cfg.drift, cfg.contracts
    if contracts_path:
        from mlops_ci.drift.contracts_file import read_contracts

        contracts = read_contracts(contracts_path)
    return drift, contracts


def run_drift(reference: Any, current: Any, *, drift: "DriftConfig | None" = None,
              contracts: "ContractsConfig | None" = None, reference_rev: str | None = None,
              current_rev: str | None = None, repo: str = ".", csv_encoding: str | None = None,
              threads: int | None = None, within: dict[str, str] | None = None) -> "DriftReport":
    """Read both sides (streaming), build/load the reference profile, compare, check contracts.

    ``reference``/``current``: a spec (file, directory, glob, profile path), a
    :class:`~mlops_ci.adapters.datasets.DataSource`, an Arrow table or a pandas DataFrame.
    ``within``: ``{"reference"|"current": directory}`` for specs that came from the repository's
    config: every file they match must resolve (symlinks followed) inside that directory.
    """
    from mlops_ci.adapters.allocators import prepare, small_pages

    prepare()  # before pyarrow loads: freed batches are reused instead of re-faulted
    from mlops_ci.adapters.datasets import DataSource, from_table, load_profile, open_source
    from mlops_ci.drift.builder import BuildOptions, build_profile
    from mlops_ci.drift.config import ContractsConfig, DriftConfig
    from mlops_ci.drift.contracts import checks_from_config
    from mlops_ci.drift.current import summarize_current
    from mlops_ci.drift.engine import compare

    drift = drift or DriftConfig()
    contracts = contracts or ContractsConfig()
    options = BuildOptions(bins=drift.bins, top_k=drift.top_k, max_categories=drift.max_categories,
                           **({"threads": threads} if threads else {}))  # default: every core
    def source(spec: Any, rev: str | None, name: str) -> DataSource:
        if isinstance(spec, DataSource):
            return spec
        if isinstance(spec, (str, os.PathLike)):
            return open_source(os.fspath(spec), rev=rev, repo=repo, csv_encoding=csv_encoding,
                               within=(within or {}).get(name), what=f"drift.{name}")
        return from_table(spec, name)

    with small_pages():  # huge pages cost more than they save in a streaming pass (allocators.py)
        ref_src = source(reference, reference_rev, "reference")
        cur_src = source(current, current_rev, "current")
        if ref_src.is_profile:
            ref_profile = load_profile(ref_src)
        else:
            ref_profile = build_profile(ref_src, ref_src.schema, options, name=ref_src.name)
        if ref_profile.rows == 0:
            raise BadInput(f"{ref_src.name}: the reference has no rows", hint="Point --reference at the training data.")
        checks = checks_from_config(contracts)
        if cur_src.is_profile:  # a stored profile of current data: drift and schema only, no per-value counters
            cur_profile, counters = load_profile(cur_src), {}
        else:
            cur_profile, counters = summarize_current(cur_src, cur_src.schema, ref_profile, checks, options,
                                                      name=cur_src.name)
        if cur_profile.rows == 0:
            raise BadInput(f"{cur_src.name}: current data has no rows", hint="Nothing to compare: check the path, "
                           "the glob or the export that produced it.")
        return compare(ref_profile, cur_profile, drift, contracts, counters, checks)


def write_outputs(report: "DriftReport", out_dir: str | os.PathLike[str], *, columns_shown: int = 10,
                  pictures: int = 3) -> dict[str, Path]:
    """drift.json, drift.md and drift.html under ``out_dir``; returns their paths by format."""
    from mlops_ci.drift import html, markdown

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"json": out / "drift.json", "md": out / "drift.md", "html": out / "drift.html"}
    files["json"].write_text(report.to_json() + "\n", encoding="utf-8")
    files["md"].write_text(markdown.render(report, columns_shown=columns_shown, pictures=pictures), encoding="utf-8")
    files["html"].write_text(html.render(report), encoding="utf-8")
    return files


def require_in_repo(spec: str, project_dir: str, what: str) -> None:
    """A data spec from the config (file, directory or glob) may not name a place outside the repository."""
    from mlops_ci.repopath import escapes

    if escapes(spec, project_dir, project_dir):
        raise BadInput(f"{spec}: {what} is outside the repository",
                       hint="Data named in .mlops-ci.yml is read from the repository only; pass a file elsewhere "
                            "explicitly with --reference / --current.")


def resolve_in_project(project_dir: str, path: str) -> str:
    """Relative paths are relative to the project directory (where the config lives), if they exist there."""
    candidate = os.path.join(project_dir, path)
    if project_dir not in ("", ".") and not os.path.exists(path):
        return candidate
    return path
