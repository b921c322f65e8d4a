"""The audit as a text table (stdout) and as Markdown (the job summary)."""

from __future__ import annotations

from mlops_ci.audit.settings import AuditReport, SAFE, UNSAFE


def render_text(report: AuditReport) -> str:
    """A plain table (setting | now | verdict), then why and how to fix every item that is not safe."""
    rows = [("setting", "now", "verdict")] + [(_plain(f.item), _plain(f.now), f.verdict_text())
                                              for f in report.findings]
    widths = [min(max(len(r[i]) for r in rows), limit) for i, limit in enumerate((44, 72, 60))]
    lines = []
    for n, row in enumerate(rows):
        lines.append(" | ".join(_cut(cell, w).ljust(w) for cell, w in zip(row, widths)).rstrip())
        if n == 0:
            lines.append("-+-".join("-" * w for w in widths))
    details = [f for f in report.findings if f.verdict != SAFE]
    for f in details:
        lines += ["", f"{_plain(f.item)}: {f.verdict_text()}", f"  now: {_plain(f.now)}", f"  why: {_plain(f.why)}"]
        if f.fix:
            lines.append(f"  fix: {_plain(f.fix)}")
    lines += ["", report.headline()]
    return "\n".join(lines) + "\n"


def render_markdown(report: AuditReport) -> str:
    icon = "⛔" if report.unsafe else ("⚠️" if report.unknown else "✅")
    lines = [f"### {icon} mlops-ci audit: `{report.repository}`", "",
             "Repository settings that decide whether fork PR code can reach a self-hosted runner "
             f"(runners labelled {' or '.join(f'`{x}`' for x in report.runner_labels)}).", "",
             "| setting | now | verdict |", "|---|---|---|"]
    for f in report.findings:
        verdict = {SAFE: "✅ safe", UNSAFE: "⛔ **unsafe**"}.get(f.verdict, f"⚠️ {f.verdict_text()}")
        lines.append(f"| {_cell(f.item)} | {_cell(f.now)} | {_cell(verdict)} |")
    details = [f for f in report.findings if f.verdict != SAFE]
    if details:
        lines += ["", "#### What to change", ""]
        for f in details:
            lines.append(f"- **{f.item}** ({f.verdict_text()}): {f.why}")
            if f.fix:
                lines.append(f"  - Fix: {f.fix}")
    lines += ["", report.headline().replace("mlops-ci audit: ", "", 1)]
    return "\n".join(lines) + "\n"


def _plain(text: str) -> str:
    return text.replace("`", "")


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# -- parsing API answers (pure: the adapter hands the JSON over) ------------------------------------
