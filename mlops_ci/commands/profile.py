"""`mlops-ci profile build|merge`: the reference profile stored with the model, never raw rows."""

from __future__ import annotations

import os
import time
from pathlib import Path
import click

from mlops_ci.commands import config_option, option, project_option
from mlops_ci.drift.job import DEFAULT_PROFILE_NAME, build_reference_profile, load_settings
from mlops_ci.errors import BadInput


@click.group()
def profile() -> None:
    """Reference profiles for drift: small, mergeable summaries of a dataset."""


@profile.command("build")
@click.argument("data", envvar="MLOPS_CI_DATA")
@project_option()
@config_option()
@option("--output", "-o", default=None, type=click.Path(dir_okay=False),
        help=f"Profile file (.json, or .json.gz). Default: .mlops-ci/out/{DEFAULT_PROFILE_NAME}.")
@option("--rev", default=None, help="Read DATA from this git/DVC revision (DVC-tracked data from cache or remote).")
@option("--bins", type=click.IntRange(50, 20000), default=None,
        help="Histogram resolution (default: drift.bins, 1000): KS from the profile is within 1/bins of exact.")
@option("--top-k", type=click.IntRange(1, 100000), default=None,
        help="Categorical values kept by name (default: drift.top_k, 1000).")
@option("--csv-encoding", default=None, help="Encoding of CSV inputs (default: UTF-8).")
def build(data: str, project_dir: str, config_path: str | None, output: str | None, rev: str | None,
          bins: int | None, top_k: int | None, csv_encoding: str | None) -> None:
    """Profile DATA (Parquet/CSV file, directory or glob) in a streaming pass."""
    from mlops_ci.drift.profile import write
    from mlops_ci.github.actions import Runtime

    drift_cfg, _ = load_settings(project_dir, config_path)
    if rev is None and not os.path.isabs(data) and not os.path.exists(data) and project_dir not in ("", "."):
        data = os.path.join(project_dir, data)
    started = time.perf_counter()
    prof = build_reference_profile(data, rev=rev, repo=project_dir, bins=bins or drift_cfg.bins,
                                   top_k=top_k or drift_cfg.top_k, max_categories=drift_cfg.max_categories,
                                   csv_encoding=csv_encoding)
    target = Path(output) if output else Runtime.detect(project_dir).out_dir / DEFAULT_PROFILE_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    write(prof, str(target))
    size = target.stat().st_size
    click.echo(f"{target}: profile of {prof.rows:,} rows, {len(prof.columns)} columns, {size / 1024:,.0f} KiB "
               f"({time.perf_counter() - started:.1f}s)")
    Runtime.detect(project_dir).set_output("profile", str(target))


@profile.command("merge")
@click.argument("profiles", nargs=-1, required=True)
@option("--output", "-o", required=True, type=click.Path(dir_okay=False), help="Merged profile file.")
def merge(profiles: tuple[str, ...], output: str) -> None:
    """Merge profiles of partitions of one dataset into the profile of their union.

    The result does not depend on the order of PROFILES; a partition given twice (the same
    file, or the same data profiled twice) is refused rather than counted twice.
    """
    from mlops_ci.drift.merge import merge_all
    from mlops_ci.drift.profile import loads, write

    loaded = []
    for path in profiles:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise BadInput(f"{path}: cannot read ({exc.strerror})") from None
        loaded.append(loads(raw, where=path))
    merged = merge_all(loaded, profiles)
    write(merged, output)
    click.echo(f"{output}: merged {len(profiles)} profiles, {merged.rows:,} rows")
