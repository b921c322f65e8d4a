"""Render many Mermaid blocks in one page per mermaid version, and read back what was drawn.

The page loads mermaid's own browser bundle from the pinned npm package (as GitHub's
renderer does) with ``securityLevel: 'strict'``; :meth:`MermaidPage.render` parses and
renders a whole batch in one round trip and returns, per block, either the exact
error text or what the SVG holds: the plotted line series (stroke colour, number of
points), the background, and the legend's labels.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.render.browser import Browser, Page, npm_file

#: Package directory in tests/npm/node_modules -> the version it pins (asserted by the page).
VERSIONS = {"mermaid": "11.17.2", "mermaid12": "12.3.0"}

_SCRIPT = """
window.renderBlocks = async (blocks, theme) => {
  mermaid.initialize({startOnLoad: false, securityLevel: 'strict', theme});
  const out = [];
  let n = 0;
  for (const code of blocks) {
    n += 1;
    try {
      await mermaid.parse(code);
      const {svg} = await mermaid.render('chart' + n + Math.random().toString(36).slice(2), code);
      const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
      const root = doc.documentElement;
      if (root.nodeName !== 'svg' || doc.querySelector('parsererror')) throw new Error('not an SVG');
      const plots = [...doc.querySelectorAll('g[class^="line-plot-"]')].map(g => {
        const path = g.querySelector('path');
        const d = path ? path.getAttribute('d') || '' : '';
        return {stroke: path && path.getAttribute('stroke'), points: (d.match(/[ML]/g) || []).length,
                finite: !/NaN|Infinity/.test(d)};
      });
      const bg = doc.querySelector('g.background rect, rect.background');
      const legend = [...doc.querySelectorAll('g.legend text, g.legend-label text, g[class*="legend"] text')]
        .map(t => t.textContent);
      out.push({ok: true, plots, background: bg && bg.getAttribute('fill'), legend});
    } catch (e) {
      out.push({ok: false, error: String(e && e.message || e)});
    }
  }
  return out;
};
"""


def block_source(markdown: str) -> list[str]:
    """The bodies of every ```mermaid fenced block in ``markdown``."""
    blocks, current = [], None
    for line in markdown.splitlines():
        if current is None and line.strip() == "```mermaid":
            current = []
        elif current is not None and line.strip() == "```":
            blocks.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


class MermaidPage:
    def __init__(self, browser: Browser, package: str, workdir: Path) -> None:
        bundle = npm_file(f"{package}/dist/mermaid.min.js")
        installed = json.loads(npm_file(f"{package}/package.json").read_text())["version"]
        assert installed == VERSIONS[package], f"{package}: {installed} installed, {VERSIONS[package]} pinned"
        self.package, self.version = package, installed
        html = workdir / f"harness-{package}.html"
        html.write_text(f'<!doctype html><meta charset=utf-8><body><script src="{bundle.as_uri()}"></script>'
                        f"<script>{_SCRIPT}</script></body>", encoding="utf-8")
        self.page: Page = browser.page()
        self.page.goto(html.as_uri())
        assert self.page.evaluate("typeof mermaid") == "object", self.page.console_errors

    def render(self, blocks: list[str], theme: str = "default") -> list[dict[str, Any]]:
        return self.page.evaluate(f"renderBlocks({json.dumps(blocks)}, {json.dumps(theme)})")
