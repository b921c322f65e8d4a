"""A standalone HTML drift report: every column with its histograms, no raw data, no scripts.

Small by construction: a column costs one row and one inline SVG of at most
30 bins per side (about 1–2 KB), so a 25-column report is tens of KB and a
1,000-column one a couple of MB — against Evidently reports that embed raw
values and reach hundreds of MB.
"""

from __future__ import annotations

import html
from typing import Any

from mlops_ci.drift.markdown import SHORT_TESTS, contracts_headline, headline, num
from mlops_ci.drift.report import ColumnDrift, DriftReport

CSS = """
body{font:14px/1.4 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#1f2328}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #d0d7de;padding:4px 8px;
text-align:left;vertical-align:middle}th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
.d{color:#cf222e;font-weight:600}.ok{color:#1a7f37}.muted{color:#656d76}code{font-size:12px}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
svg{display:block}
"""
REF_COLOR, CUR_COLOR = "#0969da", "#d1242f"


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def svg(hist: dict[str, Any] | None, width: int = 260, height: int = 56) -> str:
    """Reference and current histograms, overlaid (numeric) or side by side (categorical)."""
    if not hist:
        return ""
    ref, cur = hist.get("reference") or [], hist.get("current") or []
    n = len(ref)
    if not n or len(cur) != n:
        return ""
    top = max(max(ref), max(cur)) or 1.0
    slot = width / n
    paths = []
    for series, color, offset, frac in ((ref, REF_COLOR, 0.0, 1.0), (cur, CUR_COLOR, 0.0, 1.0)) \
            if hist.get("kind") == "numeric" else ((ref, REF_COLOR, 0.05, 0.45), (cur, CUR_COLOR, 0.5, 0.45)):
        d = []
        for i, v in enumerate(series):
            h = v / top * (height - 2)
            if h <= 0:
                continue
            x = i * slot + offset * slot
            d.append(f"M{x:.1f} {height - h:.1f}h{frac * slot:.1f}V{height}h{-frac * slot:.1f}z")
        opacity = "0.45" if hist.get("kind") == "numeric" else "0.85"
        paths.append(f'<path d="{"".join(d)}" fill="{color}" fill-opacity="{opacity}"/>')
    title = ""
    if hist.get("kind") == "numeric" and hist.get("edges"):
        edges = hist["edges"]
        title = f"<title>{_e(num(edges[0]))} … {_e(num(edges[-1]))}</title>"
    elif hist.get("labels"):
        title = f"<title>{_e(', '.join(map(str, hist['labels'])))}</title>"
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'xmlns="http://www.w3.org/2000/svg">{title}{"".join(paths)}</svg>')


def _side(d: dict[str, Any]) -> str:
    if not d:
        return "–"
    if "mean" in d:
        text = f"mean {num(d.get('mean'))} · std {num(d.get('std'))}<br>[{num(d.get('min'))}, {num(d.get('max'))}]"
    elif "top" in d:
        top = ", ".join(f"{_e(v)} ({c:,})" for v, c in (d.get("top") or [])[:3])
        text = f"{d.get('cardinality') if d.get('cardinality') is not None else 'many'} values: {top}"
    else:
        text = ""
    nulls = d.get("nulls") or 0
    extra = f"<br><span class=muted>{nulls:,} nulls</span>" if nulls else ""
    if d.get("nan") or d.get("posinf") or d.get("neginf"):
        extra += f"<br><span class=d>{d.get('nan', 0):,} NaN, {d.get('posinf', 0) + d.get('neginf', 0):,} inf</span>"
    return text + extra


def _column_row(c: ColumnDrift) -> str:
    if c.status == "tested":
        verdict = '<span class=d>drift</span>' if c.drifted else '<span class=ok>no drift</span>'
        stat = num(c.statistic) + (f"<br><span class=muted>p={num(c.p_value)}</span>" if c.p_value is not None else "")
        test = _e(SHORT_TESTS.get(c.test or "", c.test or ""))
    else:
        verdict = f'<span class=muted>{_e(c.status)}</span>'
        stat, test = "–", _e(c.reason or "")
    return (f"<tr><td><code>{_e(c.name)}</code><br><span class=muted>{_e(c.dtype or '')}</span></td>"
            f"<td>{_e(c.type or '–')}</td><td>{test}</td><td class=n>{stat}</td><td class=n>{num(c.threshold)}</td>"
            f"<td>{verdict}</td><td>{svg(c.histogram)}</td><td>{_side(c.reference)}</td><td>{_side(c.current)}</td>"
            "</tr>")


def render(report: DriftReport, title: str = "mlops-ci drift report") -> str:
    ref, cur = report.reference, report.current
    ordered = sorted(report.columns, key=lambda c: (not c.drifted, c.status != "tested", -c.severity, c.name))
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_e(title)}</title>",
             f"<style>{CSS}</style></head><body>",
             f"<h1>{_e(headline(report).replace('**', ''))}</h1>",
             f"<p>Reference: <code>{_e(ref.get('source') or 'profile')}</code> ({ref.get('rows', 0):,} rows) · "
             f"Current: <code>{_e(cur.get('source') or 'data')}</code> ({cur.get('rows', 0):,} rows)</p>"]
    ch = contracts_headline(report)
    if ch:
        parts.append(f"<h2>{_e(ch)}</h2><table><tr><th>severity</th><th>check</th><th>column</th><th>result</th>"
                     "<th>examples</th></tr>")
        for r in sorted(report.contracts, key=lambda r: (r.passed, r.severity != "error", r.check)):
            sev = "passed" if r.passed else r.severity
            cls = "ok" if r.passed else "d" if r.severity == "error" else "muted"
            examples = ", ".join(f"<code>{_e(x)}</code>" for x in r.examples[:5])
            parts.append(f"<tr><td class={cls}>{_e(sev)}</td><td>{_e(r.check)}</td><td>{_e(r.column or '–')}</td>"
                         f"<td>{_e(r.message)}</td><td>{examples}</td></tr>")
        parts.append("</table>")
    parts.append(f'<h2>Columns</h2><p class=legend>histograms (share of rows):<span style="background:{REF_COLOR}">'
                 f'</span>reference<span style="background:{CUR_COLOR}"></span>current</p>')
    parts.append("<table><tr><th>column</th><th>type</th><th>test</th><th>statistic</th><th>threshold</th>"
                 "<th>verdict</th><th>distribution</th><th>reference</th><th>current</th></tr>")
    parts += [_column_row(c) for c in ordered]
    parts.append("</table><p class=muted>Generated by mlops-ci. Statistics are computed from fine histograms "
                 "and value counts; no raw data is embedded.</p></body></html>")
    return "\n".join(parts) + "\n"
