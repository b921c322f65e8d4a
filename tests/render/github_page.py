"""A Markdown document as github.com shows it, in a real browser: for screenshots a person looks at.

cmark-gfm renders (as GitHub does), HTML comments are removed (as GitHub's sanitiser does),
``github-markdown-css`` styles it in the light or dark theme, and every ```mermaid block is
replaced by the chart mermaid draws in the matching theme. The content column is 780 px
wide, about what a PR timeline gives a comment.

Run as a script to refresh the screenshot in docs/:
``.venv/bin/python -m tests.render.github_page COMMENT.md docs/report-comment.png [--dark]``
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

from tests.render.browser import Browser, Page, npm_file
from tests.render.markdown_checks import to_html

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_RENDER_MERMAID = """
(async () => {
  mermaid.initialize({startOnLoad: false, securityLevel: 'strict', theme: %s});
  const errors = [];
  let n = 0;
  for (const pre of [...document.querySelectorAll('pre[lang="mermaid"]')]) {
    n += 1;
    try {
      const {svg} = await mermaid.render('m' + n, pre.textContent);
      const box = document.createElement('div');
      box.className = 'mermaid-chart';
      box.innerHTML = svg;
      pre.replaceWith(box);
    } catch (e) { errors.push(String(e && e.message || e)); }
  }
  for (const d of document.querySelectorAll('details')) d.open = %s;
  return {charts: n, errors};
})()
"""


def page_html(markdown: str, dark: bool) -> str:
    theme = "dark" if dark else "light"
    css = npm_file(f"github-markdown-css/github-markdown-{theme}.css").as_uri()
    bundle = npm_file("mermaid/dist/mermaid.min.js").as_uri()
    body = _COMMENT.sub("", to_html(markdown))
    background = "#0d1117" if dark else "#ffffff"
    return (f'<!doctype html><html><head><meta charset=utf-8><link rel=stylesheet href="{css}">'
            f"<style>body{{margin:0;background:{background}}}.markdown-body{{box-sizing:border-box;width:812px;"
            "padding:16px}.mermaid-chart svg{max-width:100%;height:auto}</style>"
            f'<script src="{bundle}"></script></head><body><article class="markdown-body">{body}</article>'
            "</body></html>")


def show(browser: Browser, markdown: str, workdir: Path, *, dark: bool = False, expand: bool = False) -> Page:
    """A page showing ``markdown``; its ``render_result`` says how many charts were drawn and any errors."""
    path = workdir / f"page-{'dark' if dark else 'light'}-{abs(hash(markdown))}.html"
    path.write_text(page_html(markdown, dark), encoding="utf-8")
    page = browser.page(width=812, height=900, dark=dark)
    page.goto(path.as_uri())
    script = _RENDER_MERMAID % (json.dumps("dark" if dark else "default"), json.dumps(expand))
    page.render_result = page.evaluate(script)  # type: ignore[attr-defined]
    return page


def screenshot(markdown: str, out: Path, *, dark: bool = False, expand: bool = False,
               browser: Browser | None = None) -> dict:
    own = browser is None
    browser = browser or Browser()
    try:
        with tempfile.TemporaryDirectory() as work:
            page = show(browser, markdown, Path(work), dark=dark, expand=expand)
            page.screenshot(out)
            result = dict(page.render_result)  # type: ignore[attr-defined]
            result["console_errors"] = list(page.console_errors)
            page.close()
            return result
    finally:
        if own:
            browser.close()


if __name__ == "__main__":
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    print(screenshot(source.read_text(encoding="utf-8"), target, dark="--dark" in sys.argv[3:]))
