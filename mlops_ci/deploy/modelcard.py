"""The model card: the GitHub Release notes of a production release.

What a reviewer of a release wants on one page: which model and image went
out (digest, so it can be pulled exactly), how its metrics compare with the
production model it replaces, what data and parameters produced it (lineage
tags), and whether production data had drifted from its training data. Pure:
values in, Markdown out, bounded below GitHub's 125,000-character body limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

BODY_LIMIT = 125_000
_LINEAGE = "mlops-ci."


@dataclass
class CardInput:
    tag: str
    version: str
    model_name: str
    model_version: str
    image: str
    sha: str
    environment: str = "production"
    url: str | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    previous_metrics: Mapping[str, float] | None = None
    previous_version: str | None = None
    previous_image: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    lineage: Mapping[str, str] = field(default_factory=dict)
    drift: Mapping[str, Any] | None = None
    run_url: str | None = None
    directions: Mapping[str, str] = field(default_factory=dict)  # metric -> higher/lower


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def metrics_table(metrics: Mapping[str, float], previous: Mapping[str, float] | None,
                  directions: Mapping[str, str]) -> list[str]:
    if not metrics:
        return ["_No metrics recorded for this version._"]
    if not previous:
        rows = ["| metric | value |", "|---|---|"]
        rows += [f"| {k} | {_fmt(v)} |" for k, v in sorted(metrics.items())]
        return rows
    rows = ["| metric | previous production | this release | change |", "|---|---|---|---|"]
    for key in sorted(set(metrics) | set(previous)):
        new, old = metrics.get(key), previous.get(key)
        change = ""
        if isinstance(new, (int, float)) and isinstance(old, (int, float)):
            delta = float(new) - float(old)
            better = {"higher": delta > 0, "lower": delta < 0}.get(directions.get(key, ""))
            icon = "" if delta == 0 or better is None else ("🟢 " if better else "🔴 ")
            change = f"{icon}{delta:+.4g}"
        rows.append(f"| {key} | {_fmt(old) if old is not None else '—'} | "
                    f"{_fmt(new) if new is not None else '—'} | {change} |")
    return rows


def lineage_lines(lineage: Mapping[str, str]) -> list[str]:
    out = []
    for key in ("git_sha", "repository", "pr", "workflow_run"):
        if _LINEAGE + key in lineage:
            out.append(f"- {key.replace('_', ' ')}: {lineage[_LINEAGE + key]}")
    data = {k[len(_LINEAGE + 'data.'):]: v for k, v in lineage.items() if k.startswith(_LINEAGE + "data.")}
    for path, md5 in sorted(data.items()):
        out.append(f"- data `{path}`: md5 `{md5}`")
    stages = {k[len(_LINEAGE + 'dvc.stage.'):]: v for k, v in lineage.items()
              if k.startswith(_LINEAGE + "dvc.stage.")}
    for stage, hashes in sorted(stages.items()):
        try:
            parsed = json.loads(hashes)
            deps = len(parsed.get("deps") or {})
            outs = len(parsed.get("outs") or {})
            out.append(f"- stage `{stage}`: {deps} dependencies, {outs} outputs hashed")
        except ValueError:
            out.append(f"- stage `{stage}`: {hashes[:80]}")
    return out or ["_No lineage tags (the model was not registered with `mlops-ci register`)._"]


def drift_line(drift: Mapping[str, Any] | None) -> str:
    if not drift:
        return "_No drift report was available to this release job._"
    share = drift.get("drift_share")
    tested, drifted = drift.get("n_tested"), drift.get("n_drifted")
    state = "⚠️ dataset drift detected" if drift.get("dataset_drift") else "no dataset drift"
    detail = f"{drifted}/{tested} columns drifted" if tested is not None else ""
    if isinstance(share, (int, float)):
        detail += f" (share {share:.2f})"
    source = (drift.get("current") or {}).get("source") if isinstance(drift.get("current"), Mapping) else None
    return f"{state}: {detail.strip()}" + (f", current data `{source}`" if source else "")


def render(card: CardInput) -> str:
    lines = [f"## {card.model_name} {card.tag}", "",
             f"Model **{card.model_name}** version **{card.model_version}**, deployed to **{card.environment}**"
             + (f" at {card.url}" if card.url else "") + ".", "",
             "| | |", "|---|---|",
             f"| image | `{card.image}` |",
             f"| commit | `{card.sha}` |"]
    replaced = ([f"version {card.previous_version}"] if card.previous_version else []) + \
        ([f"`{card.previous_image}`"] if card.previous_image else [])
    if replaced:
        lines.append(f"| replaces | {', '.join(replaced)} |")
    if card.run_url:
        lines.append(f"| workflow run | {card.run_url} |")
    lines += ["", "### Metrics", "", *metrics_table(card.metrics, card.previous_metrics, card.directions),
              "", "### Data drift", "", drift_line(card.drift),
              "", "### Lineage", "", *lineage_lines(card.lineage)]
    if card.params:
        lines += ["", "<details><summary>Parameters</summary>", "", "| param | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in sorted(card.params.items())]
        lines += ["", "</details>"]
    lines += ["", f"Pull exactly this image: `docker pull {card.image}`", "",
              "<sub>Generated by mlops-ci release: built once on merge, promoted by digest.</sub>"]
    body = "\n".join(lines) + "\n"
    if len(body) > BODY_LIMIT:
        body = body[: BODY_LIMIT - 200] + "\n\n…(truncated to GitHub's release body limit)\n"
    return body
