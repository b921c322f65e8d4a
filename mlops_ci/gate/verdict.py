"""The gate's answer, in the shapes it is published in: JSON, a Markdown table, check-run annotations.

A :class:`GateVerdict` is the one value the gate produces; adapters publish it
(check run, PR comment, `.mlops-ci/out/gate.json`) and `promote` reads it back
with :meth:`GateVerdict.from_dict`. Everything rendered is bounded: a check-run
summary is cut to 65,535 characters with "… and N more" (failing rows come
first, so what is cut is never the reason the gate failed), and annotations
come in batches of 50, GitHub's per-request limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Mapping, Optional, Sequence

from mlops_ci.gate.results import FairnessResult, RuleResult, SignificanceResult, fmt, fmt_signed

Conclusion = Literal["success", "failure", "neutral"]
SCHEMA_VERSION = 1
SUMMARY_LIMIT = 65_535
TITLE_LIMIT = 200
CELL_LIMIT = 300
ANNOTATIONS_PER_REQUEST = 50
ANNOTATION_TITLE_LIMIT = 255
ANNOTATION_MESSAGE_LIMIT = 4_000
ICON = {"success": "✅", "failure": "❌", "neutral": "⚪"}
NO_CHAMPION = "no champion yet"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def cell(value: object) -> str:
    """A Markdown table cell: pipes escaped, one line, bounded."""
    text = "" if value is None else str(value)
    text = text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    return _clip(text, CELL_LIMIT)


@dataclass
class GateVerdict:
    """Conclusion, one-line title, where the champion came from, and every check that led there."""

    conclusion: Conclusion
    title: str
    champion_source: str
    results: list[RuleResult] = field(default_factory=list)
    significance: list[SignificanceResult] = field(default_factory=list)
    fairness: list[FairnessResult] = field(default_factory=list)
    mode: str = "native"
    challenger_source: str = ""
    error: Optional[str] = None
    #: A page about the champion (its MLflow model version), when one can be linked to.
    champion_url: Optional[str] = None
    #: Where the rules came from, e.g. "`.mlops-ci.yml` at base `0d1a26e`" (never the change's own file in a PR).
    policy_source: str = ""
    #: Policy keys the change under review modifies: shown to reviewers, applied only after merge.
    proposed_policy: list[str] = field(default_factory=list)
    #: Decimals of measured values in the table (``metrics.precision``); None: 6 significant digits.
    precision: Optional[int] = None

    @property
    def passed(self) -> bool:
        """Merging may proceed: success or neutral."""
        return self.conclusion != "failure"

    @property
    def exit_code(self) -> int:
        """The CLI's exit status for this verdict: 0 pass, 1 gate failed."""
        return 0 if self.passed else 1

    @property
    def failures(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed]

    def counts(self) -> dict[str, int]:
        failed = sum(not r.passed for r in self.results)
        skipped = sum(r.passed and r.skipped for r in self.results)
        return {"total": len(self.results), "failed": failed, "skipped": skipped,
                "passed": len(self.results) - failed - skipped}

    # -- construction -------------------------------------------------------------------------------

    @classmethod
    def from_results(cls, results: list[RuleResult], *, champion_source: str, mode: str = "native",
                     challenger_source: str = "", significance: Optional[list[SignificanceResult]] = None,
                     fairness: Optional[list[FairnessResult]] = None, has_champion: bool = True,
                     neutral_reason: Optional[str] = None) -> "GateVerdict":
        """Conclusion and title from the rows: any failure fails; nothing checked is neutral."""
        verdict = cls("neutral", "", champion_source, results, significance or [], fairness or [], mode,
                      challenger_source)
        c = verdict.counts()
        if c["failed"]:
            verdict.conclusion = "failure"
            first = verdict.failures[0]
            more = f"; {c['failed'] - 1} more" if c["failed"] > 1 else ""
            verdict.title = (f"Gate failed: {c['failed']} of {c['total']} checks — "
                             f"{first.metric}: {first.reason}{more}")
        elif not results:
            verdict.title = neutral_reason or "Nothing to gate: no rules configured under `gate:`"
        elif c["passed"] == 0 and has_champion:
            verdict.title = f"Nothing checked: all {c['total']} checks skipped ({results[0].reason})"
        else:
            verdict.conclusion = "success"
            skipped = f", {c['skipped']} skipped" if c["skipped"] else ""
            against = NO_CHAMPION if not has_champion else f"vs {champion_source}"
            verdict.title = f"Gate passed: {c['passed']} of {c['total']} checks passed{skipped} ({against})"
        verdict.title = _clip(" ".join(verdict.title.split()), TITLE_LIMIT)
        return verdict

    @classmethod
    def from_error(cls, reason: str, *, champion_source: str = "unknown (the gate failed before resolving it)",
                   mode: str = "native", challenger_source: str = "") -> "GateVerdict":
        """Fail closed: the gate could not be evaluated, so the check fails with the reason."""
        first = reason.strip().splitlines()[0] if reason.strip() else "unknown error"
        row = RuleResult("(gate)", "error", "evaluation must succeed", None, None, None, False, _clip(reason, 2000))
        return cls("failure", _clip(f"Gate error: {first}", TITLE_LIMIT), champion_source, [row], mode=mode,
                   challenger_source=challenger_source, error=reason)

    @classmethod
    def unruled(cls, policy_source: str, *, self_judged: bool = False, challenger_source: str = "") -> "GateVerdict":
        """A required check with no rules would pass anything: it fails, saying where rules belong."""
        where = "the working tree's config" if self_judged else "the base branch's config"
        reason = (f"no gate rules in {where} ({policy_source}): a required check that checks nothing would pass "
                  "any model. Add rules under `gate:` on the base branch (rules a pull request adds apply once "
                  "it is merged), or set `gate.enabled: false` there to report the check as neutral.")
        row = RuleResult("(gate)", "rules", "at least one rule on the base branch", None, None, None, False, reason)
        return cls("failure", "No gate rules on the base branch: nothing would be checked, so the gate fails",
                   "not resolved (no rules to compare with)", [row], challenger_source=challenger_source,
                   policy_source=policy_source)

    # -- serialisation ------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON, key order fixed: the file `promote` and the report read back."""
        return {
            "schema": SCHEMA_VERSION,
            "conclusion": self.conclusion,
            "title": self.title,
            "champion_source": self.champion_source,
            "champion_url": self.champion_url,
            "challenger_source": self.challenger_source,
            "mode": self.mode,
            "error": self.error,
            "counts": self.counts(),
            "results": [r.to_dict() for r in self.results],
            "significance": [s.to_dict() for s in self.significance],
            "fairness": [f.to_dict() for f in self.fairness],
            "policy_source": self.policy_source,
            "proposed_policy": list(self.proposed_policy),
            "precision": self.precision,
        }

    def to_json(self, indent: Optional[int] = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "GateVerdict":
        if data.get("schema", SCHEMA_VERSION) > SCHEMA_VERSION:
            raise ValueError(f"gate verdict schema {data.get('schema')} is newer than this mlops-ci understands")
        return cls(data["conclusion"], data["title"], data.get("champion_source", ""),
                   [RuleResult.from_dict(r) for r in data.get("results", [])],
                   [SignificanceResult.from_dict(s) for s in data.get("significance", [])],
                   [FairnessResult.from_dict(f) for f in data.get("fairness", [])],
                   data.get("mode", "native"), data.get("challenger_source", ""), data.get("error"),
                   data.get("champion_url") if isinstance(data.get("champion_url"), str) else None,
                   str(data.get("policy_source") or ""),
                   _strings(data.get("proposed_policy")),
                   _precision(data.get("precision")))


def _precision(value: Any) -> Optional[int]:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 12 else None


def _strings(value: Any) -> list[str]:
    return [k for k in value if isinstance(k, str)] if isinstance(value, list) else []


# -- Markdown ---------------------------------------------------------------------------------------

def headline(verdict: GateVerdict) -> str:
    """First line of every rendering: icon and title."""
    return f"## {ICON[verdict.conclusion]} {verdict.title}"


def _row_icon(r: RuleResult) -> str:
    return "❌" if not r.passed else ("⏭️" if r.skipped else "✅")


def _bounded_table(header: Sequence[str], align: Sequence[str], rows: Sequence[Sequence[object]], budget: int,
                   failing: Sequence[bool], what: str) -> str:
    """A Markdown table of as many rows as fit in ``budget`` characters, then "… and N more"."""
    marks = {"l": "---", "r": "---:", "c": ":---:"}
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "|".join(marks[a] for a in align) + "|"]
    size = sum(len(x) + 1 for x in lines)
    reserve = 160
    shown = 0
    for row in rows:
        line = "| " + " | ".join(cell(c) for c in row) + " |"
        if size + len(line) + 1 + reserve > budget:
            break
        lines.append(line)
        size += len(line) + 1
        shown += 1
    if shown < len(rows):
        hidden_failing = sum(failing[shown:])
        note = f" ({hidden_failing} failing)" if hidden_failing else ""
        lines.append("")
        lines.append(f"… and {len(rows) - shown} more {what}{note}; the full list is in gate.json.")
    text = "\n".join(lines)
    return text if len(text) <= budget else ""


def _rule_rows(results: Sequence[RuleResult], precision: Optional[int] = None
               ) -> tuple[list[list[object]], list[bool]]:
    ordered = sorted(results, key=lambda r: (r.passed, r.skipped))  # failing first, stable otherwise
    rows = [[_row_icon(r), f"`{r.metric}`", r.rule, fmt(r.champion, precision=precision),
             fmt(r.challenger, precision=precision), fmt_signed(r.delta, precision), r.reason] for r in ordered]
    return rows, [not r.passed for r in ordered]


def _significance_rows(items: Sequence[SignificanceResult], precision: Optional[int] = None
                       ) -> tuple[list[list[object]], list[bool]]:
    rows: list[list[object]] = []
    for s in sorted(items, key=lambda s: s.passed):
        interval = (f"[{fmt_signed(s.ci_low)}, {fmt_signed(s.ci_high)}]" if s.ci_low is not None
                    and s.ci_high is not None else "—")
        rows.append(["✅" if s.passed else "❌", f"`{s.metric}`", f"{s.test} ({s.metric_fn}), {s.require}",
                     fmt(s.champion_value, precision=precision), fmt(s.challenger_value, precision=precision),
                     fmt_signed(s.difference, precision),
                     f"{fmt(s.confidence * 100)}% {interval}", fmt(s.p_value, 3), s.n_rows])
    return rows, [not s.passed for s in sorted(items, key=lambda s: s.passed)]


def _fairness_rows(items: Sequence[FairnessResult]) -> tuple[list[list[object]], list[bool]]:
    rows = [["✅" if f.passed else "❌", f"`{f.group_column}`", fmt(f.ratio, 4), f"≥ {fmt(f.min_ratio)}",
             f.worst_group or "—", f.best_group or "—", fmt(f.champion_ratio, 4), f.reason]
            for f in sorted(items, key=lambda f: f.passed)]
    return rows, [not f.passed for f in sorted(items, key=lambda f: f.passed)]


def render_markdown(verdict: GateVerdict, limit: int = SUMMARY_LIMIT) -> str:
    """Check-run summary / PR comment section: headline, sources, rule table, significance, fairness.

    Never longer than ``limit``: the significance and fairness sections get at
    most a quarter each, the rule table the rest, each cut with "… and N more".
    """
    head = [headline(verdict), ""]
    meta = f"**Champion:** {verdict.champion_source}" + (f" ([MLflow]({verdict.champion_url}))"
                                                         if verdict.champion_url else "")
    if verdict.challenger_source:
        meta += f" · **Challenger:** {verdict.challenger_source}"
    c = verdict.counts()
    meta += f" · **Mode:** {verdict.mode} · {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped"
    head.append(_clip(meta, 2000))
    if verdict.policy_source:
        head += ["", _clip(f"**Rules:** {verdict.policy_source}", 600)]
    if verdict.proposed_policy:
        keys = ", ".join(f"`{cell(k)}`" for k in verdict.proposed_policy[:20])
        more = f" and {len(verdict.proposed_policy) - 20} more" if len(verdict.proposed_policy) > 20 else ""
        head += ["", "> [!NOTE]", f"> **Proposed policy change, applies after merge:** this change edits {keys}{more} "
                 "in `.mlops-ci.yml`. It is judged by the base branch's rules above; the new rules take effect "
                 "once it is merged."]
    if verdict.error:
        head += ["", "The gate could not be evaluated, so it fails closed:", "", "```",
                 _clip(verdict.error.replace("```", "'''"), 4000), "```"]
    text = "\n".join(head)
    sections: list[str] = []
    if verdict.significance:
        rows, failing = _significance_rows(verdict.significance, verdict.precision)
        table = _bounded_table(["", "metric", "test", "champion", "challenger", "Δ", "interval", "p", "rows"],
                               "lllrrrlrr", rows, limit // 4, failing, "tests")
        sections.append("### Statistical significance\n\n" + table)
    if verdict.fairness:
        rows, failing = _fairness_rows(verdict.fairness)
        table = _bounded_table(["", "group column", "ratio", "rule", "worst group", "best group", "champion ratio",
                                "reason"], "llrlllrl", rows, limit // 4, failing, "fairness checks")
        sections.append("### Fairness (four-fifths rule)\n\n" + table)
    if verdict.results:
        rows, failing = _rule_rows(verdict.results, verdict.precision)
        budget = limit - len(text) - sum(len(s) + 2 for s in sections) - 4
        table = _bounded_table(["", "metric", "rule", "champion", "challenger", "Δ", "result"], "lllrrrl",
                               rows, budget, failing, "checks")
        sections.insert(0, table)
    out = text + "".join("\n\n" + s for s in sections if s) + "\n"
    return out if len(out) <= limit else _clip(out, limit)


# -- annotations ------------------------------------------------------------------------------------

Location = tuple[str, int]


def annotation_specs(verdict: GateVerdict, metric_locations: Mapping[str, Location],
                param_locations: Optional[Mapping[str, Location]] = None) -> list[dict[str, Any]]:
    """Check-run annotations for failing checks, at lines the caller resolved.

    One ``failure`` annotation per metric line (all failing checks of that
    metric in one message); when the gate failed, one ``warning`` per
    parameter line in ``param_locations`` (the caller passes the parameters
    this change touched). Metrics without a known line are left to the summary.
    """
    by_place: dict[Location, list[RuleResult]] = {}
    for r in verdict.failures:
        place = metric_locations.get(r.metric)
        if place is not None:
            by_place.setdefault((place[0], int(place[1])), []).append(r)
    out: list[dict[str, Any]] = []
    for (path, line), rows in by_place.items():
        metrics = sorted({r.metric for r in rows})
        message = "\n".join(f"{r.metric} {r.rule}: {r.reason}" for r in rows)
        out.append(_annotation(path, line, "failure", message, f"Gate failed on {', '.join(metrics)}"))
    if param_locations and not verdict.passed:
        failed = sorted({r.metric for r in verdict.failures})
        names = ", ".join(failed[:10]) + (f" and {len(failed) - 10} more" if len(failed) > 10 else "")
        for param, (path, line) in param_locations.items():
            out.append(_annotation(path, int(line), "warning",
                                   f"This change sets {param}; the gate failed on: {names}.",
                                   f"Parameter {param} changed in this PR"))
    return out


#: Short name used by `mlops_ci.commands.gate` and `mlops_ci.gate_runner`.
annotations = annotation_specs


def _annotation(path: str, line: int, level: str, message: str, title: str) -> dict[str, Any]:
    return {"path": path, "start_line": max(1, line), "end_line": max(1, line), "annotation_level": level,
            "message": _clip(message, ANNOTATION_MESSAGE_LIMIT), "title": _clip(title, ANNOTATION_TITLE_LIMIT)}


def batch_annotations(items: Iterable[Mapping[str, Any]],
                      size: int = ANNOTATIONS_PER_REQUEST) -> list[list[dict[str, Any]]]:
    """Chunks of at most ``size`` (GitHub accepts 50 annotations per check-run request)."""
    if size < 1:
        raise ValueError("batch size must be positive")
    items = [dict(i) for i in items]
    return [items[i:i + size] for i in range(0, len(items), size)]
