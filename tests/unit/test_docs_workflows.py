"""The docs' copy-paste workflows: the templates verbatim, and every other whole workflow linted.

A copy of a template that drifts from the template (which the suite runs end to end) is a
workflow nobody tested; a hand-written workflow in the docs must pass the same linters.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.unit.test_workflow_lint import ROOT, _lint_project, actionlint, zizmor

TEMPLATES = {re.search(r"^name: (\S+)", p.read_text(), re.M).group(1): p
             for p in sorted((ROOT / "workflows-templates").glob("*.yml"))}
_BLOCK = re.compile(r"```yaml\n(.*?)```", re.S)


def doc_workflows() -> list[tuple[str, str]]:
    """(where, text) of every YAML block in docs/ and README.md that is a whole workflow."""
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text()
        for match in _BLOCK.finditer(text):
            body = match.group(1)
            data = yaml.safe_load(body)
            if isinstance(data, dict) and "jobs" in data and (True in data or "on" in data):
                found.append((f"{doc.relative_to(ROOT)}:{text[:match.start()].count(chr(10)) + 2}", body))
    return found


def template_of(body: str) -> str | None:
    name = re.search(r"^name: (\S+)", body, re.M)
    return name.group(1) if name is not None and name.group(1) in TEMPLATES else None


DOC_WORKFLOWS = doc_workflows()
COPIES = [(where, body) for where, body in DOC_WORKFLOWS if template_of(body)]
HAND_WRITTEN = [(where, body) for where, body in DOC_WORKFLOWS if not template_of(body)]


def test_the_docs_show_every_template():
    assert {template_of(body) for _, body in COPIES} == set(TEMPLATES)


@pytest.mark.parametrize("where,body", COPIES, ids=[w for w, _ in COPIES])
def test_a_docs_copy_of_a_template_is_the_template(where: str, body: str):
    template = TEMPLATES[template_of(body)]
    assert body == template.read_text(), f"{where} differs from {template.relative_to(ROOT)}: copy it again"


def test_every_other_docs_workflow_is_lint_clean(tmp_path: Path):
    project = _lint_project(tmp_path)
    written = []
    for i, (where, body) in enumerate(HAND_WRITTEN):
        path = project / ".github" / "workflows" / f"doc-{i}.yml"
        path.write_text(f"# {where}\n{body}")
        written.append(path)
    assert written, "expected hand-written workflows in the docs (README usage, runners)"
    code, report = actionlint(written, project)
    assert code == 0, f"actionlint findings:\n{report}"
    for persona in ("regular", "pedantic"):
        findings, report = zizmor(written, project, persona)
        assert findings == [], f"zizmor ({persona}) findings:\n{report}"


def test_every_docs_snippet_pins_its_actions_and_checks_out_without_credentials():
    """Snippets that are not whole workflows are copied too: the same pinning rules hold (review F16)."""
    problems = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text()
        for match in _BLOCK.finditer(text):
            line0 = text[:match.start()].count("\n") + 2
            block = match.group(1)
            for n, line in enumerate(block.splitlines()):
                uses = re.search(r"\buses:\s*(\S+)", line)
                if uses and not re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses.group(1)):
                    problems.append(f"{doc.relative_to(ROOT)}:{line0 + n}: `{uses.group(1)}` is not pinned by SHA")
                if uses and "actions/checkout@" in uses.group(1):
                    following = "\n".join(block.splitlines()[n:n + 6])
                    if "persist-credentials: false" not in following:
                        problems.append(f"{doc.relative_to(ROOT)}:{line0 + n}: checkout without "
                                        "`persist-credentials: false`")
    assert not problems, "\n".join(problems)
