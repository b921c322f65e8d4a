"""The drift issue's life: one open issue per model while production data drifts.

Pure: the monitor command lists the open issues carrying the label and feeds
them here with this run's verdict; :func:`plan` says what to do and the
``render_*`` functions say what to write. States and transitions::

    no open issue  + drift     → open   (and dispatch retraining, if configured)
    open issue     + drift     → update (edit the body if it changed, add a comment for this run)
    open issue     + no drift  → close  (with a comment saying drift is gone)
    no open issue  + no drift  → nothing

An issue is ours when its body carries the hidden marker for the model (the
same idea as the sticky PR comment), so people may use the label for their own
issues too. If concurrent runs ever opened two, the newer ones are closed as
duplicates of the oldest. A job re-run (same run id) never comments twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, Sequence

from mlops_ci.report.model import volatile

if TYPE_CHECKING:
    from mlops_ci.drift.report import DriftReport

Action = Literal["open", "update", "close", "none"]
_SINCE = re.compile(r"<!-- mlops-ci:drift-since (\S+)(?: run=([\w-]+))? -->")


class IssueLike(Protocol):
    number: int
    body: str


@dataclass(frozen=True)
class OpenIssue:
    number: int
    body: str


@dataclass
class Plan:
    action: Action
    #: The issue to update or close (None when opening or doing nothing).
    issue: int | None = None
    #: Newer open issues of the same model, to close as duplicates of ``issue``.
    duplicates: list[int] = field(default_factory=list)
    #: Whether to dispatch the retraining workflow (when one is configured).
    retrain: bool = False


@dataclass(frozen=True)
class DriftFacts:
    """What the issue says about one run, taken from the report and the run context."""

    model: str
    reference: str
    current: str
    drifting: bool
    drift_share: float
    threshold: float
    n_drifted: int
    n_tested: int
    top_columns: tuple[str, ...]
    contract_errors: int
    when: str
    run_id: str | None = None
    run_url: str | None = None


def facts_from(report: "DriftReport", *, model: str, reference: str, current: str, when: str,
               run_id: str | None = None, run_url: str | None = None) -> DriftFacts:
    return DriftFacts(model=model, reference=reference, current=current,
                      drifting=is_drifting(report), drift_share=report.drift_share,
                      threshold=report.drift_share_threshold, n_drifted=report.n_drifted, n_tested=report.n_tested,
                      top_columns=tuple(c.name for c in report.drifted[:5]),
                      contract_errors=len(report.contract_errors), when=when, run_id=run_id, run_url=run_url)


def is_drifting(report: "DriftReport") -> bool:
    """Dataset drift or a failed data contract: either way production no longer looks like training."""
    return report.dataset_drift or bool(report.contract_errors)


def issue_marker(model: str) -> str:
    safe = "".join(ch for ch in model if ch.isalnum() or ch in "-_./:@")
    while "--" in safe:  # "--" could close the HTML comment early
        safe = safe.replace("--", "-")
    return f"<!-- mlops-ci:drift-issue id={safe} -->"


def run_marker(run_id: str | None) -> str | None:
    """Hidden line that makes a comment this run's (None outside Actions: no de-duplication needed)."""
    safe = "".join(ch for ch in str(run_id or "") if ch.isalnum() or ch in "-_")
    while "--" in safe:
        safe = safe.replace("--", "-")
    return f"<!-- mlops-ci:drift-run id={safe} -->" if safe else None


def ours(issues: Sequence[IssueLike], model: str) -> list[IssueLike]:
    """The open issues of this model (by marker), in the order given (oldest first)."""
    marker = issue_marker(model)
    return [i for i in issues if marker in (i.body or "")]


def plan(open_issues: Sequence[IssueLike], drifting: bool, retrain_on: str = "start") -> Plan:
    """What to do with ``open_issues`` (this model's, oldest first) given this run's verdict."""
    keep = open_issues[0].number if open_issues else None
    duplicates = [i.number for i in open_issues[1:]]
    if drifting and keep is None:
        return Plan("open", None, [], retrain=True)
    if drifting:
        return Plan("update", keep, duplicates, retrain=retrain_on == "every-run")
    if keep is not None:
        return Plan("close", keep, duplicates)
    return Plan("none")


def title(template: str, model: str) -> str:
    return template.replace("{model}", model)[:256]


def since(body: str | None, default: str) -> str:
    """When drift was first detected, kept across body edits."""
    m = _SINCE.search(body or "")
    return m.group(1) if m else default


def first_run(body: str | None) -> str | None:
    """The run that opened the issue, kept across body edits."""
    m = _SINCE.search(body or "")
    return m.group(2) if m else None


def already_reported(body: str | None, comments: Sequence[str], run_id: str | None) -> bool:
    """This run already spoke on the issue: it opened it, or left its update comment (a job re-run)."""
    marker = run_marker(run_id)
    if marker is None:
        return False
    m = _SINCE.search(body or "")
    opened_here = bool(m and m.group(2) and f"id={m.group(2)} " in marker)
    return opened_here or any(marker in c for c in comments)


def _run_link(facts: DriftFacts) -> str:
    return f"[run {facts.run_id}]({facts.run_url})" if facts.run_url else "a local run"


def _verdict(facts: DriftFacts) -> str:
    text = (f"{facts.n_drifted} of {facts.n_tested} columns drifted "
            f"({facts.drift_share:.0%}, dataset drift at ≥ {facts.threshold:.0%})")
    if facts.contract_errors:
        text += f"; {facts.contract_errors} data contract error(s)"
    return text


def _top(facts: DriftFacts) -> str:
    return ", ".join(f"`{c}`" for c in facts.top_columns) if facts.top_columns else "none"


def render_body(facts: DriftFacts, report_markdown: str, first_seen: str, first_run: str | None = None,
                retrain: str | None = None) -> str:
    """The issue body: what drifts, against what, since when, and the full drift section."""
    run = (run_marker(first_run) or "").removeprefix("<!-- mlops-ci:drift-run id=").removesuffix(" -->")
    lines = [
        issue_marker(facts.model),
        f"<!-- mlops-ci:drift-since {first_seen}{' run=' + run if run else ''} -->",
        f"**Production data of `{facts.model}` has drifted** from the data the model was trained on.",
        "",
        "| | |",
        "|---|---|",
        f"| Verdict | {_verdict(facts)} |",
        f"| Most drifted | {_top(facts)} |",
        f"| Reference | {facts.reference} |",
        f"| Production data | `{facts.current}` |",
        f"| First detected | {first_seen} |",
        f"| Last checked | {volatile(f'{facts.when}, {_run_link(facts)}')} |",
    ]
    if retrain:
        lines.append(f"| Retraining | {retrain} |")
    lines += ["", "This issue is kept up to date by the scheduled drift monitor (`mlops-ci monitor`): it is "
              "updated while drift persists and closed when it is gone.", "", report_markdown.rstrip(), ""]
    return "\n".join(lines)


def render_update(facts: DriftFacts, retrain: str | None = None) -> str:
    lines = [line for line in (run_marker(facts.run_id),) if line]
    lines.append(f"🔴 Drift persists — {_run_link(facts)} at {facts.when}: {_verdict(facts)}. "
                 f"Most drifted: {_top(facts)}.")
    if retrain:
        lines.append(f"\nRetraining: {retrain}")
    return "\n".join(lines) + "\n"


def render_close(facts: DriftFacts) -> str:
    lines = [line for line in (run_marker(facts.run_id),) if line]
    lines.append(f"✅ Drift is gone — {_run_link(facts)} at {facts.when}: {_verdict(facts)}. Closing; the monitor "
                 "opens a new issue if it comes back.")
    return "\n".join(lines) + "\n"


def render_duplicate(keep: int) -> str:
    return f"Duplicate of #{keep}: the drift monitor keeps one open issue per model.\n"
