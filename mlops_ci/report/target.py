"""Where a report is posted: ``pr``, ``pr/17``, ``issue/12`` or ``commit/<sha>`` (CML's syntax)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from mlops_ci.errors import BadInput

Kind = Literal["auto", "pr", "issue", "commit"]


@dataclass(frozen=True)
class Target:
    kind: Kind
    number: int | None = None
    sha: str | None = None


_PATTERN = re.compile(r"^(?:(?P<auto>auto)|(?P<kind>pr|issue)(?:/(?P<num>\d+))?|commit(?:/(?P<sha>[0-9a-fA-F]{7,40}))?)$")


def parse_target(text: str | None) -> Target:
    value = (text or "auto").strip()
    match = _PATTERN.match(value)
    if not match:
        raise BadInput(f"--target {value}: expected auto, pr, pr/<number>, issue/<number> or commit/<sha>")
    if match["auto"]:
        return Target("auto")
    if match["kind"]:
        number = int(match["num"]) if match["num"] else None
        if match["kind"] == "issue" and number is None:
            raise BadInput("--target issue: give the issue number, e.g. issue/12")
        return Target(match["kind"], number)  # type: ignore[arg-type]
    return Target("commit", sha=match["sha"])
