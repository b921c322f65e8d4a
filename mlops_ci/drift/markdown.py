"""The drift section of the PR comment and the job summary, in GitHub Markdown.

Bounded: :func:`render` never returns more than ``max_chars`` characters (the
sticky comment shares GitHub's 65,536-character limit with other sections), and
degrades in steps — details folded away first, then fewer rows, then a hard cut
with a pointer to the full report — instead of producing an oversized body.
"""

from __future__ import annotations

import math
from typing import Any

from mlops_ci.drift.contracts import ContractResult
from mlops_ci.drift.report import TEST_NAMES, ColumnDrift, DriftReport
from mlops_ci.numfmt import readable

SPARK = "▁▂▃▄▅▆▇█"
DEFAULT_MAX_CHARS = 20000
SHORT_TESTS = {"ks": "KS", "wasserstein": "Wasserstein (normed)", "jensenshannon": "Jensen–Shannon",
               "psi": "PSI", "chi2": "chi²", "ztest": "Z-test"}


def code(text: Any) -> str:
    """Inline code that survives backticks, pipes and newlines in column names."""
    s = str(text).replace("\n", " ").replace("|", "\\|")
    fence = "``" if "`" in s else "`"
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def num(x: float | None, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float) and math.isnan(x):
        return "nan"
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1:
        return f"{x:.{digits}g}"
    return readable(x, digits)  # plain digits, never 1.67e+03 (see mlops_ci.numfmt)


def headline(report: DriftReport) -> str:
    share = f"{report.drift_share:.0%}"
    limit = f"{report.drift_share_threshold:.0%}"
    if report.n_tested == 0:
        verdict = "⚪ Data drift: no column could be tested"
    elif report.dataset_drift:
        verdict = (f"🔴 Data drift: **dataset drift** — {report.n_drifted} of {report.n_tested} columns drifted "
                   f"({share} ≥ {limit})")
    else:
        verdict = (f"🟢 Data drift: no dataset drift — {report.n_drifted} of {report.n_tested} columns drifted "
                   f"({share} < {limit})")
    return verdict


def contracts_headline(report: DriftReport) -> str | None:
    errors, warnings = report.contract_errors, report.contract_warnings
    checks = len(report.contracts)
    if not checks:
        return None
    if errors:
        return f"❌ Data contracts: {len(errors)} error(s), {len(warnings)} warning(s) in {checks} checks"
    if warnings:
        return f"⚠️ Data contracts: {len(warnings)} warning(s) in {checks} checks"
    return f"✅ Data contracts: all {checks} checks passed"


def sparkline(values: list[float], top: float) -> str:
    if top <= 0:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(len(SPARK) - 1, int(round(v / top * (len(SPARK) - 1))))] for v in values)


def picture(col: ColumnDrift) -> str | None:
    h = col.histogram
    if not h:
        return None
    ref, cur = h.get("reference") or [], h.get("current") or []
    if not ref or not cur:
        return None
    top = max(max(ref), max(cur))
    lines = [f"ref {sparkline(ref, top)}", f"cur {sparkline(cur, top)}"]
    if h.get("kind") == "numeric":
        edges = h.get("edges") or []
        if edges:
            lines.append(f"    {num(edges[0])} … {num(edges[-1])}")
    else:
        labels = h.get("labels") or []
        lines.append("    " + ", ".join(str(x) for x in labels[:6]) + (" …" if len(labels) > 6 else ""))
    return "\n".join(lines)


def statistic_text(c: ColumnDrift) -> str:
    """The statistic under its own name, and the p-value (what a test's threshold applies to) as p-value.

    "KS statistic 0.151, p-value 0.0213" — never the statistic printed under a p-value's name.
    """
    text = f"{TEST_NAMES.get(c.test or '', c.test)} {num(c.statistic)}"
    return f"{text}, p-value {num(c.p_value)}" if c.p_value is not None else text


def not_applicable(report: DriftReport) -> list[str]:
    """One line per test that was asked for (``--method``, config) but left columns untested."""
    lines = []
    for test in dict.fromkeys(c.test for c in report.columns if c.status == "skipped" and c.test):
        cols = [c for c in report.columns if c.status == "skipped" and c.test == test]
        kinds = sorted({c.type for c in cols if c.type})
        names = ", ".join(code(c.name) for c in cols[:10]) + (f" and {len(cols) - 10} more" if len(cols) > 10 else "")
        lines.append(f"⚠️ {SHORT_TESTS.get(test or '', test)} does not apply to {len(cols)} "
                     f"{'/'.join(kinds) + ' ' if kinds else ''}column(s), not tested: {names}")
    return lines


def _row(c: ColumnDrift) -> str:
    test = SHORT_TESTS.get(c.test or "", c.test or "–")
    stat = num(c.statistic)
    if c.p_value is not None:
        stat = f"{stat} (p-value {num(c.p_value)})"
    mark = "🔴" if c.drifted else "🟢"
    return f"| {code(c.name)} | {c.type or '–'} | {test} | {stat} | {num(c.threshold)} | {mark} |"


def _contract_row(r: ContractResult) -> str:
    mark = "❌" if r.severity == "error" else "⚠️"
    examples = ", ".join(code(x) for x in r.examples[:3]) if r.examples else ""
    message = r.message.replace("|", "\\|").replace("\n", " ")
    return f"| {mark} {r.severity} | {r.check} | {code(r.column) if r.column else '–'} | {message} | {examples} |"


def render(report: DriftReport, *, columns_shown: int = 10, pictures: int = 3, max_chars: int = DEFAULT_MAX_CHARS,
           heading: str = "###", artifact_hint: str = "the full HTML/JSON report") -> str:
    """The drift + contracts section, at most ``max_chars`` characters."""
    for shown, pics, details in ((columns_shown, pictures, True), (columns_shown, pictures, False),
                                 (min(columns_shown, 5), min(pictures, 1), False), (3, 0, False)):
        text = _render(report, shown, pics, details, heading, artifact_hint)
        if len(text) <= max_chars:
            return text
    note = f"\n\n… (cut at {max_chars:,} characters; see {artifact_hint})\n"
    return text[: max(0, max_chars - len(note))] + note


def _render(report: DriftReport, shown: int, pics: int, details: bool, heading: str, hint: str) -> str:
    out = [f"{heading} {headline(report)}", ""]
    ref, cur = report.reference, report.current
    out.append(f"Reference: {code(ref.get('source') or 'profile')} ({ref.get('rows', 0):,} rows) · "
               f"Current: {code(cur.get('source') or 'data')} ({cur.get('rows', 0):,} rows)")
    untested = not_applicable(report)  # visible, not folded: a forced test must not hide columns silently
    if untested:
        out += [""] + untested
    drifted = report.drifted
    if drifted:
        out += ["", "| column | type | test | statistic | threshold | drift |", "|---|---|---|---|---|---|"]
        out += [_row(c) for c in drifted[:shown]]
        if len(drifted) > shown:
            out.append(f"\n… and {len(drifted) - shown} more drifted column(s) in {hint}.")
        pics_text = []
        for c in drifted[:pics]:
            p = picture(c)
            if p:
                pics_text += [f"**{code(c.name)}** — {statistic_text(c)}", "```text", p, "```"]
        if pics_text:
            out += [""] + pics_text
    ch = contracts_headline(report)
    if ch:
        out += ["", f"{heading} {ch}"]  # a sibling of the drift headline, not a part of it
        failed = sorted((r for r in report.contracts if not r.passed), key=lambda r: (r.severity != "error", r.check))
        if failed:
            out += ["", "| severity | check | column | result | examples |", "|---|---|---|---|---|"]
            out += [_contract_row(r) for r in failed[:shown * 2]]
            if len(failed) > shown * 2:
                out.append(f"\n… and {len(failed) - shown * 2} more in {hint}.")
    if details:
        stable = sorted((c for c in report.tested if not c.drifted), key=lambda c: -c.severity)
        if stable:
            out += ["", f"<details><summary>{len(stable)} column(s) without drift</summary>", "",
                    "| column | type | test | statistic | threshold | drift |", "|---|---|---|---|---|---|"]
            out += [_row(c) for c in stable[:100]]
            if len(stable) > 100:
                out.append(f"\n… and {len(stable) - 100} more in {hint}.")
            out += ["", "</details>"]
        skipped = [c for c in report.columns if c.status != "tested"]
        if skipped:
            out += ["", f"<details><summary>{len(skipped)} column(s) not tested</summary>", ""]
            out += [f"- {code(c.name)}: {c.reason}" for c in skipped[:100]]
            out += ["", "</details>"]
    return "\n".join(out).rstrip() + "\n"
