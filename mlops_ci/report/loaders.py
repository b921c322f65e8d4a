"""Sections that other steps contribute through files in the output directory.

`mlops-ci gate` leaves gate.json, `mlops-ci drift` leaves drift.json; when the
report runs later in the same job it finds them and adds their sections. A
missing file means the step did not run; an unreadable one is ignored with a
note, never a crash of the report.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable

from mlops_ci.report.model import Section
from mlops_ci.report.sections import ORDER

log = logging.getLogger(__name__)

Loader = Callable[[Path], "Section | None"]


def gate_section(out_dir: Path) -> Section | None:
    from mlops_ci.gate_runner import load_verdict

    verdict = load_verdict(out_dir)
    if verdict is None:
        return None
    from mlops_ci.gate.verdict import render_markdown

    def body(limit: int) -> str:
        text = render_markdown(verdict, limit=limit)
        # our section heading replaces the verdict's own "## …" headline; its parts sit one level below ours
        text = text.split("\n", 1)[1].lstrip("\n") if text.startswith("## ") else text
        return text.replace("\n### ", "\n#### ")

    status = {"success": "pass", "failure": "fail"}.get(verdict.conclusion, "info")
    return Section(key="gate", title="Gate", body=body(60_000), summary=verdict.title, status=status,  # type: ignore[arg-type]
                   order=ORDER["gate"], shrink=body)


def drift_section(out_dir: Path) -> Section | None:
    path = out_dir / "drift.json"
    if not path.is_file():
        return None
    try:
        from mlops_ci.drift import markdown
        from mlops_ci.drift.report import from_dict

        report = from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return None

    def body(limit: int) -> str:
        return markdown.render(report, max_chars=limit, heading="####", artifact_hint="drift.html in the artifact")

    summary = markdown.headline(report).split(": ", 1)[-1].replace("**", "")
    contracts = markdown.contracts_headline(report)
    if contracts:
        summary += " · " + contracts.split(": ", 1)[-1]
    status = "fail" if report.failed else ("warn" if report.dataset_drift or report.contract_warnings else "pass")
    return Section(key="drift", title="Data drift and contracts", body=body(30_000), summary=summary,
                   status=status, order=ORDER["drift"], shrink=body)  # type: ignore[arg-type]


def cost_section(out_dir: Path) -> Section | None:
    """Wall time, GPU-hours and estimated cost of the pipeline, from the "cost" block of repro.json."""
    path = out_dir / "repro.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8")).get("cost")
        if data is None:
            return None
        from mlops_ci.cost.estimate import from_dict

        cost = from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("ignoring the cost in unreadable %s: %s", path, exc)
        return None
    from mlops_ci.cost.render import body, headline
    from mlops_ci.report.model import volatile

    return Section(key="cost", title="Cost", body=body(cost, volatile), summary=headline(cost, volatile),
                   status="info", order=ORDER["cost"], folded=len(cost.stages) > 12)


LOADERS: tuple[Loader, ...] = (gate_section, drift_section, cost_section)
