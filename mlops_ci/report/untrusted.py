"""Markdown written by a fork's code, made safe to post under the bot's name.

A fork's run produced the report, so its text is the fork's: it could mention
``@org/security-team``, embed raw HTML (tracking images, a fake "✅ Gate passed"
banner, hidden ``<!-- -->`` markers), or pose as the trusted report. Before the
publishing job posts it, every ``@`` loses its power to notify (a zero-width
joiner after it), HTML other than the few tags the report itself uses is shown
as text, and a banner on top says whose run wrote it. Code blocks are left as
they are: nothing in them renders as HTML or notifies anyone, and mermaid
charts live there.

Pure: text in, text out.
"""

from __future__ import annotations

import re

#: The HTML the report itself writes (folded sections, small print): harmless, kept working.
ALLOWED_TAG = re.compile(r"</?(?:details|summary|sub|sup|br|b|i|em|strong|code|p)(?:\s+open)?\s*/?>", re.I)
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_MENTION = re.compile(r"@(?=[A-Za-z0-9])")
ZWJ = "\u200d"


def neutralise(markdown: str) -> str:
    """``markdown`` with mentions defused and raw HTML (except :data:`ALLOWED_TAG`) shown as text."""
    out: list[str] = []
    fence: str | None = None
    for line in markdown.splitlines(keepends=True):
        stripped = line.lstrip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            out.append(line)
            continue
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            out.append(line)
            continue
        out.append(_MENTION.sub("@" + ZWJ, _escape_html(line)))
    return "".join(out)


def _escape_html(line: str) -> str:
    pieces: list[str] = []
    pos = 0
    for m in _TAG_START.finditer(line):
        if m.start() < pos:
            continue
        allowed = ALLOWED_TAG.match(line, m.start())
        pieces.append(line[pos:m.start()])
        if allowed:
            pieces.append(allowed.group(0))
            pos = allowed.end()
        else:
            pieces.append("&lt;")
            pos = m.start() + 1
    pieces.append(line[pos:])
    return "".join(pieces)


def fork_banner(sha: str, approved_by: str | None) -> str:
    """The first lines of a comment posted from a fork's run: whose text follows, and what is the verdict."""
    who = f", approved for the self-hosted runners by @{ZWJ}{approved_by}" if approved_by else ""
    return ("> [!WARNING]\n"
            f"> Reported by the run of fork commit `{sha[:12]}`{who}. Everything below was produced by the "
            "fork's code (mentions and HTML are disabled); the `mlops-ci / gate` check run is the verdict.\n\n")


def fit(banner: str, body: str, limit: int) -> str:
    """Banner + body within ``limit`` characters; an over-long body is cut with a note (never a 422)."""
    text = banner + body
    if len(text) <= limit:
        return text
    note = "\n\n… (cut: the fork's report does not fit in one comment)\n"
    return banner + body[: max(0, limit - len(banner) - len(note))] + note
