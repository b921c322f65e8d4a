"""A report is a headline plus ordered sections, rendered against a size budget.

GitHub rejects a comment body over 65,536 characters with a 422, which would
leave the PR with no report at all. So rendering is budgeted: the headline and
each section's one-line summary always fit; sections then get their full text
in priority order, shrunk (top-N rows) or folded when they don't fit, and
whatever is left out says where to find it (the job summary / artifact).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Literal

#: GitHub's maximum issue/PR comment body, in characters.
COMMENT_LIMIT = 65_536
#: GitHub's maximum check-run output summary/text.
CHECK_RUN_LIMIT = 65_535

Status = Literal["pass", "fail", "warn", "info"]
STATUS_ICON = {"pass": "✅", "fail": "❌", "warn": "⚠️", "info": "ℹ️"}


#: Parts of a body that change on every run without meaning anything (wall times, run links).
VOLATILE_START, VOLATILE_END = "<!-- mlops-ci:volatile -->", "<!-- /mlops-ci:volatile -->"
_VOLATILE = re.compile(re.escape(VOLATILE_START) + r".*?" + re.escape(VOLATILE_END), re.DOTALL)


def volatile(text: str) -> str:
    """Mark ``text`` as not worth a comment edit on its own (see :func:`same_content`)."""
    return f"{VOLATILE_START}{text}{VOLATILE_END}"


def same_content(a: str, b: str) -> bool:
    """Equal once volatile parts are ignored: a re-run with the same results sends no write."""
    return a == b or _VOLATILE.sub("", a) == _VOLATILE.sub("", b)


def marker(report_id: str) -> str:
    """The hidden HTML comment that makes a comment ours and sticky per report id."""
    safe = "".join(ch for ch in report_id if ch.isalnum() or ch in "-_./:@")
    while "--" in safe:  # "--" could close the HTML comment early
        safe = safe.replace("--", "-")
    return f"<!-- mlops-ci:report id={safe} -->"


@dataclass
class Section:
    key: str
    title: str
    body: str
    summary: str = ""
    status: Status = "info"
    order: int = 50
    #: Render the body within ``n`` characters (e.g. keep the top-N rows); None = cut or fold.
    shrink: Callable[[int], str] | None = None
    #: Fold the body in <details> even when it fits (long, secondary sections).
    folded: bool = False
    #: The body in the job summary, when it differs from the comment's: "" leaves the section out there
    #: (another step's summary block already shows it, e.g. the stage table of `mlops-ci repro`).
    summary_body: str | None = None

    def heading(self) -> str:
        return f"### {STATUS_ICON[self.status]} {self.title}"


@dataclass
class Report:
    title: str
    report_id: str = "pr"
    sections: list[Section] = field(default_factory=list)
    footer: str = ""
    overflow_hint: str = "see the job summary / report artifact"

    def add(self, section: Section) -> None:
        self.sections = [s for s in self.sections if s.key != section.key] + [section]

    def ordered(self) -> list[Section]:
        return sorted(self.sections, key=lambda s: s.order)

    @property
    def status(self) -> Status:
        """The headline's verdict: the gate's when a gate ran, unless another section failed outright.

        A passed gate with two regressed metrics is a pass, not a warning: the gate is what decides
        whether the change may merge, and its rules already weighed those metrics. Without a gate,
        the worst section decides. The bullets below the headline carry each section's own icon.
        """
        statuses = {s.status for s in self.sections}
        gate = next((s for s in self.sections if s.key == "gate"), None)
        if gate is not None and "fail" not in statuses and gate.status in ("pass", "fail"):
            return gate.status
        for worst in ("fail", "warn", "pass"):
            if worst in statuses:
                return worst  # type: ignore[return-value]
        return "info"

    def headline(self, sections: list[Section] | None = None) -> str:
        lines = [f"## {STATUS_ICON[self.status]} {self.title}", ""]
        lines.extend(f"- {'' if s.status == 'info' else STATUS_ICON[s.status] + ' '}**{s.title}**: {s.summary}"
                     for s in (self.ordered() if sections is None else sections) if s.summary)
        return "\n".join(lines)

    def render(self, limit: int = COMMENT_LIMIT, *, summary: bool = False) -> str:
        """Markdown no longer than ``limit`` characters, the headline always first.

        ``summary``: the job-summary variant, where sections use their ``summary_body`` (and one
        whose summary body is empty is left out, headline bullet included).
        """
        sections = self.ordered()
        if summary:
            sections = [s if s.summary_body is None else _with_body(s, s.summary_body)
                        for s in sections if s.summary_body != ""]
        head = f"{marker(self.report_id)}\n{self.headline(sections)}\n"
        foot = f"\n---\n{self.footer}\n" if self.footer else ""
        full = [self._block(s, s.body) for s in sections]
        if len(head) + sum(map(len, full)) + len(foot) <= limit:
            return head + "".join(full) + foot

        # Over budget: every section keeps at least its heading and a pointer, then
        # sections take what they need in order, shrinking when they must.
        stubs = [self._block(s, f"_Details omitted to fit GitHub's size limit ({self.overflow_hint})._")
                 for s in sections]
        if len(head) + sum(map(len, stubs)) + len(foot) > limit:
            return _cut(head + foot, limit)  # pathological: thousands of sections
        budget = limit - len(head) - len(foot) - sum(map(len, stubs))
        out = []
        for section, block, stub in zip(sections, full, stubs):
            room = budget + len(stub)
            if len(block) <= room:
                chosen = block
            else:
                chosen = self._shrunk(section, room) or stub
            budget -= len(chosen) - len(stub)
            out.append(chosen)
        return head + "".join(out) + foot

    def _block(self, section: Section, body: str) -> str:
        if section.folded:
            body = f"<details><summary>{section.summary or 'Details'}</summary>\n\n{body}\n\n</details>"
        return f"\n{section.heading()}\n\n{body}\n"

    def _shrunk(self, section: Section, room: int) -> str | None:
        overhead = len(self._block(section, ""))
        if section.shrink is not None and room > overhead + 40:
            # Ask for a little less than the room: the shrink callback measures roughly.
            for target in (room - overhead, int((room - overhead) * 0.8), int((room - overhead) * 0.5)):
                block = self._block(section, section.shrink(max(0, target)))
                if len(block) <= room:
                    return block
        return None


def _with_body(section: Section, body: str) -> Section:
    from dataclasses import replace

    return replace(section, body=body, shrink=None)


def _cut(text: str, limit: int) -> str:
    note = "\n… truncated\n"
    return text if len(text) <= limit else text[: limit - len(note)] + note
