"""What a reviewer would see wrong in a rendered comment or job summary, found with GitHub's own parser.

``cmarkgfm`` is the Python binding of cmark-gfm, the parser github.com renders Markdown
with. :func:`problems` renders a document the way GitHub does (GFM extensions, raw HTML
kept as GitHub's pipeline keeps it before sanitising) and lists each defect a person
would notice, with enough context to find it:

- a table row whose cell count differs from its header (GFM silently pads or drops cells,
  so this is checked on the source rows that belong to a rendered table);
- a ``<details>`` left open, or closed without being opened;
- a heading that shows as literal ``### text`` (swallowed by an HTML block or a paragraph);
- an HTML comment, ``**``, a table delimiter row or a volatile marker visible as text;
- headings out of order: the first not an h2 (a part of a job summary), or a level skipped.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

EXTENSIONS = ["table", "autolink", "strikethrough", "tagfilter", "tasklist"]
_DELIMITER = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
_LITERAL_HEADING = re.compile(r"(?m)^[ \t]*#{1,6}[ \t]+\S")
_VISIBLE = ("<!--", "-->", "**", "|---", "mlops-ci:volatile")


def to_html(markdown: str) -> str:
    """HTML as github.com's cmark-gfm renders it (raw HTML passed through, ```lang as <pre lang>)."""
    return cmarkgfm.markdown_to_html_with_extensions(
        markdown, options=Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_GITHUB_PRE_LANG, extensions=EXTENSIONS)


def cells(row: str) -> int:
    """Cells of a GFM table row: split on pipes that are not backslash-escaped (code spans do not protect)."""
    text = row.strip()
    if text.startswith("|"):
        text = text[1:]
    pipes, escaped = [], False
    for at, ch in enumerate(text):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "|":
            pipes.append(at)
    if pipes and pipes[-1] == len(text.rstrip()) - 1:  # a closing pipe ends the row, it opens no cell
        pipes.pop()
    return len(pipes) + 1


def table_problems(markdown: str) -> list[str]:
    found = []
    lines = markdown.splitlines()
    fence: str | None = None
    i = 0
    while i < len(lines):
        stripped = lines[i].lstrip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
        elif fence is not None:
            if stripped.startswith(fence):
                fence = None
        elif "|" in lines[i] and i + 1 < len(lines) and _DELIMITER.match(lines[i + 1]) and "-" in lines[i + 1]:
            width = cells(lines[i])
            if cells(lines[i + 1]) != width:
                found.append(f"line {i + 2}: delimiter row has {cells(lines[i + 1])} cells, header {width}")
            j = i + 2
            while j < len(lines) and lines[j].strip() and "|" in lines[j]:
                if cells(lines[j]) != width:
                    found.append(f"line {j + 1}: {cells(lines[j])} cells, header has {width}: {lines[j][:120]!r}")
                j += 1
            i = j
            continue
        i += 1
    return found


class _Walker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.code_depth = 0
        self.details = 0
        self.problems: list[str] = []
        self.texts: list[str] = []
        self.headings: list[int] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:  # noqa: ANN001
        if tag in ("pre", "code"):
            self.code_depth += 1
        elif tag == "details":
            self.details += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("pre", "code"):
            self.code_depth -= 1
        elif tag == "details":
            self.details -= 1
            if self.details < 0:
                self.problems.append("</details> without an open <details>")
                self.details = 0

    def handle_data(self, data: str) -> None:
        if not self.code_depth:
            self.texts.append(data)


def problems(markdown: str, *, first_heading: int | None = 2) -> list[str]:
    """Every defect a reader would see in ``markdown`` rendered by GitHub (empty: renders cleanly)."""
    found = table_problems(markdown)
    walker = _Walker()
    walker.feed(to_html(markdown))
    walker.close()
    found += walker.problems
    if walker.details:
        found.append(f"{walker.details} <details> left open")
    text = "".join(walker.texts)
    for match in _LITERAL_HEADING.finditer(text):
        line = text[match.start():].splitlines()[0] if text[match.start():].strip() else ""
        found.append(f"heading shown as text: {line.strip()[:100]!r}")
    for needle in _VISIBLE:
        if needle in text:
            at = text.index(needle)
            found.append(f"{needle!r} visible as text: {text[max(0, at - 60):at + 60]!r}")
    levels = walker.headings
    if levels and first_heading is not None and levels[0] != first_heading:
        found.append(f"first heading is an h{levels[0]}, expected an h{first_heading}")
    for before, after in zip(levels, levels[1:]):
        if after > before + 1:
            found.append(f"heading levels skip from h{before} to h{after}")
            break
    return found
