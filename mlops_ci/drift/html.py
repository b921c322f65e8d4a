"""A standalone HTML drift report: every column with its histograms, no raw data, no scripts.

Small by construction: a column costs one row and one inline SVG of at most 30 bins
per side (about 1–2 KB), so a 25-column report is tens of KB and a 1,000-column one a
couple of MB — against Evidently reports that embed raw values and reach hundreds of MB.

Read on a phone too (the artifact is opened from a PR notification): the page has a
viewport, and below 700 px each table row becomes a card of labelled fields, so nothing
scrolls sideways. Numbers are plain (``1,670``, never ``1.67e+03``); category bars are
labelled, in value order when the categories are numbers (integer codes) and by
frequency otherwise; the reference is drawn filled and the current as an outline, so
the two never blend into a third colour the legend does not name.
"""

from __future__ import annotations

import html
from typing import Any

from mlops_ci.drift.markdown import SHORT_TESTS, contracts_headline, headline
from mlops_ci.drift.report import ColumnDrift, DriftReport
from mlops_ci.numfmt import readable

CSS = """
body{font:14px/1.4 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #d0d7de;padding:4px 8px;
text-align:left;vertical-align:middle;overflow-wrap:anywhere}th{background:#f6f8fa}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.d{color:#cf222e;font-weight:600}.ok{color:#1a7f37}.muted{color:#656d76}code{font-size:12px}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px;vertical-align:middle}
.legend .cur{border:2px solid #d1242f;width:8px;height:8px}
svg{display:block;max-width:100%;height:auto}
@media (max-width:700px){
body{margin:12px}table,tbody,tr,td{display:block;width:auto}tr.head{display:none}
tr{border-bottom:1px solid #d0d7de;padding:6px 0}td{border:0;padding:2px 0;text-align:left}
td.n{text-align:left}td[data-label]::before{content:attr(data-label) ": ";color:#656d76;font-weight:600}
}
"""
REF_COLOR, CUR_COLOR, INK = "#0969da", "#d1242f", "#1f2328"
LABEL_HEIGHT = 14


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _numeric_labels(labels: list[str]) -> bool:
    try:
        [float(label) for label in labels]
    except ValueError:
        return False
    return bool(labels)


def category_order(labels: list[str]) -> list[int]:
    """Indices in display order: by value when every category is a number, else as given (by
    frequency); the "N more" bucket, when present, stays last."""
    tail = [len(labels) - 1] if labels and labels[-1].endswith(" more") and not _numeric_labels(labels[-1:]) else []
    head = [i for i in range(len(labels)) if i not in tail]
    if _numeric_labels([labels[i] for i in head]):
        head.sort(key=lambda i: float(labels[i]))
    return head + tail


def svg(hist: dict[str, Any] | None, width: int = 260, height: int = 56) -> str:
    """Reference (filled) and current (outline) histograms, overlaid for numbers, side by side for categories."""
    if not hist:
        return ""
    ref, cur = list(hist.get("reference") or []), list(hist.get("current") or [])
    n = len(ref)
    if not n or len(cur) != n:
        return ""
    categorical = hist.get("kind") != "numeric"
    labels = [str(x) for x in hist.get("labels") or []] if categorical else []
    if categorical and len(labels) == n:
        order = category_order(labels)
        ref, cur, labels = [ref[i] for i in order], [cur[i] for i in order], [labels[i] for i in order]
    top = max(max(ref), max(cur)) or 1.0
    slot = width / n
    body = height - 2

    def bar(i: int, v: float, offset: float, frac: float) -> str:
        h = v / top * body
        return "" if h <= 0 else f"M{i * slot + offset * slot:.1f} {height - h:.1f}h{frac * slot:.1f}V{height}h{-frac * slot:.1f}z"

    parts = []
    if categorical:
        parts.append(f'<path d="{"".join(bar(i, v, 0.05, 0.45) for i, v in enumerate(ref))}" fill="{REF_COLOR}"/>')
        parts.append(f'<path d="{"".join(bar(i, v, 0.5, 0.45) for i, v in enumerate(cur))}" fill="none" '
                     f'stroke="{CUR_COLOR}" stroke-width="1.5"/>')
        fits = max(1, int(slot / 5.5))  # characters of 9 px text that fit under a bar
        for i, label in enumerate(labels):
            shown = label if len(label) <= fits else label[: max(1, fits - 1)] + "…"
            parts.append(f'<text x="{i * slot + slot / 2:.1f}" y="{height + LABEL_HEIGHT - 3}" font-size="9" '
                         f'text-anchor="middle" fill="{INK}">{_e(shown)}<title>{_e(label)}: reference '
                         f"{ref[i]:.1%} · current {cur[i]:.1%}</title></text>")
        title = ", ".join(labels)
    else:
        parts.append(f'<path d="{"".join(bar(i, v, 0.0, 1.0) for i, v in enumerate(ref))}" fill="{REF_COLOR}" '
                     'fill-opacity="0.35"/>')
        steps = "".join(f"{'M' if i == 0 else 'L'}{i * slot:.1f} {height - v / top * body:.1f}"
                        f"H{(i + 1) * slot:.1f}" for i, v in enumerate(cur))
        parts.append(f'<path d="{steps}" fill="none" stroke="{CUR_COLOR}" stroke-width="1.5"/>')
        edges = hist.get("edges") or []
        title = f"{readable(edges[0])} … {readable(edges[-1])}" if edges else ""
        if edges:
            parts.append(f'<text x="0" y="{height + LABEL_HEIGHT - 3}" font-size="9" fill="{INK}">'
                         f"{_e(readable(edges[0]))}</text>")
            parts.append(f'<text x="{width}" y="{height + LABEL_HEIGHT - 3}" font-size="9" text-anchor="end" '
                         f'fill="{INK}">{_e(readable(edges[-1]))}</text>')
    full = height + LABEL_HEIGHT
    return (f'<svg width="{width}" height="{full}" viewBox="0 0 {width} {full}" role="img" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{_e(title)}</title>{"".join(parts)}</svg>')


def _side(d: dict[str, Any]) -> str:
    if not d:
        return "–"
    if "mean" in d:
        text = (f"mean {readable(d.get('mean'))} · std {readable(d.get('std'))}<br>"
                f"[{readable(d.get('min'))}, {readable(d.get('max'))}]")
    elif "top" in d:
        top = (d.get("top") or [])[:3]
        shown = ", ".join(f"{_e(v)} ({c:,})" for v, c in top)
        n = d.get("cardinality")
        if n is None:
            text = f"many values, top {len(top)}: {shown}"
        elif n > len(top):
            text = f"{n:,} values, top {len(top)}: {shown}"
        else:
            text = f"{n:,} value{'s' if n != 1 else ''}: {shown}"
    else:
        text = ""
    nulls = d.get("nulls") or 0
    extra = f"<br><span class=muted>{nulls:,} nulls</span>" if nulls else ""
    if d.get("nan") or d.get("posinf") or d.get("neginf"):
        extra += f"<br><span class=d>{d.get('nan', 0):,} NaN, {d.get('posinf', 0) + d.get('neginf', 0):,} inf</span>"
    return text + extra


def _cell(label: str, content: str, cls: str = "") -> str:
    return f'<td data-label="{label}"{f" class={cls}" if cls else ""}>{content}</td>'


def _column_row(c: ColumnDrift) -> str:
    if c.status == "tested":
        verdict = '<span class=d>drift</span>' if c.drifted else '<span class=ok>no drift</span>'
        stat = _e(readable(c.statistic)) + (f"<br><span class=muted>p-value {_e(readable(c.p_value))}</span>"
                                            if c.p_value is not None else "")
        test = _e(SHORT_TESTS.get(c.test or "", c.test or ""))
    else:
        verdict = f'<span class=muted>{_e(c.status)}</span>'
        stat, test = "–", _e(c.reason or "")
    return ("<tr>" + _cell("column", f"<code>{_e(c.name)}</code><br><span class=muted>{_e(c.dtype or '')}</span>")
            + _cell("type", _e(c.type or "–")) + _cell("test", test) + _cell("statistic", stat, "n")
            + _cell("threshold", _e(readable(c.threshold)), "n") + _cell("verdict", verdict)
            + _cell("distribution", svg(c.histogram)) + _cell("reference", _side(c.reference))
            + _cell("current", _side(c.current)) + "</tr>")


def render(report: DriftReport, title: str = "mlops-ci drift report") -> str:
    ref, cur = report.reference, report.current
    ordered = sorted(report.columns, key=lambda c: (not c.drifted, c.status != "tested", -c.severity, c.name))
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8>"
             '<meta name=viewport content="width=device-width, initial-scale=1">'
             f"<title>{_e(title)}</title>",
             f"<style>{CSS}</style></head><body>",
             f"<h1>{_e(headline(report).replace('**', ''))}</h1>",
             f"<p>Reference: <code>{_e(ref.get('source') or 'profile')}</code> ({ref.get('rows', 0):,} rows) · "
             f"Current: <code>{_e(cur.get('source') or 'data')}</code> ({cur.get('rows', 0):,} rows)</p>"]
    ch = contracts_headline(report)
    if ch:
        examples = any(r.examples for r in report.contracts)
        parts.append(f"<h2>{_e(ch)}</h2><table><tr class=head><th>severity</th><th>check</th><th>column</th>"
                     f"<th>result</th>{'<th>examples</th>' if examples else ''}</tr>")
        for r in sorted(report.contracts, key=lambda r: (r.passed, r.severity != "error", r.check)):
            sev = "passed" if r.passed else r.severity
            cls = "ok" if r.passed else "d" if r.severity == "error" else "muted"
            row = (_cell("severity", _e(sev), cls) + _cell("check", _e(r.check)) + _cell("column", _e(r.column or "–"))
                   + _cell("result", _e(r.message)))
            if examples:
                row += _cell("examples", ", ".join(f"<code>{_e(x)}</code>" for x in r.examples[:5]) or "–")
            parts.append(f"<tr>{row}</tr>")
        parts.append("</table>")
    parts.append(f'<h2>Columns</h2><p class=legend>histograms (share of rows):<span style="background:{REF_COLOR};'
                 'opacity:.6"></span>reference (filled)<span class=cur></span>current (outline)</p>')
    parts.append("<table><tr class=head><th>column</th><th>type</th><th>test</th><th>statistic</th><th>threshold</th>"
                 "<th>verdict</th><th>distribution</th><th>reference</th><th>current</th></tr>")
    parts += [_column_row(c) for c in ordered]
    parts.append("</table><p class=muted>Generated by mlops-ci. Statistics are computed from fine histograms "
                 "and value counts; no raw data is embedded.</p></body></html>")
    return "\n".join(parts) + "\n"
