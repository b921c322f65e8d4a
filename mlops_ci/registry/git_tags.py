"""A model registry in git tags, for teams without MLflow (GTO's conventions).

A version is an annotated tag ``<model>@v<major>.<minor>.<patch>`` on the
commit that produced it; a promotion is a tag ``<model>#<stage>#<n>`` on the
same commit, n counting up, so the newest one says what is in the stage now
and the older ones are the audit trail. Pure: tag names in, decisions out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_VERSION = re.compile(r"^(?P<model>[A-Za-z0-9_.-]+)@v(?P<major>\d+)\.(?P<minor>\d+)\.(?P<patch>\d+)$")
_STAGE = re.compile(r"^(?P<model>[A-Za-z0-9_.-]+)#(?P<stage>[A-Za-z0-9_-]+)#(?P<n>\d+)$")


@dataclass(frozen=True, order=True)
class SemVer:
    major: int
    minor: int
    patch: int

    def __str__(self) -> str:
        return f"v{self.major}.{self.minor}.{self.patch}"

    def bump(self, part: str) -> "SemVer":
        if part == "major":
            return SemVer(self.major + 1, 0, 0)
        if part == "minor":
            return SemVer(self.major, self.minor + 1, 0)
        return SemVer(self.major, self.minor, self.patch + 1)


def parse_version_tag(tag: str, model: str) -> SemVer | None:
    m = _VERSION.match(tag)
    if not m or m["model"] != model:
        return None
    return SemVer(int(m["major"]), int(m["minor"]), int(m["patch"]))


def version_tag(model: str, version: SemVer) -> str:
    return f"{model}@{version}"


def next_version(tags: list[str], model: str, part: str = "minor") -> SemVer:
    versions = [v for v in (parse_version_tag(t, model) for t in tags) if v]
    return max(versions).bump(part) if versions else SemVer(0, 1, 0)


def stage_tags(tags: list[str], model: str, stage: str) -> list[tuple[int, str]]:
    """``[(n, tag)]`` of promotions of ``model`` to ``stage``, oldest first."""
    out = []
    for tag in tags:
        m = _STAGE.match(tag)
        if m and m["model"] == model and m["stage"] == stage:
            out.append((int(m["n"]), tag))
    return sorted(out)


def next_stage_tag(tags: list[str], model: str, stage: str) -> str:
    existing = stage_tags(tags, model, stage)
    n = existing[-1][0] + 1 if existing else 1
    return f"{model}#{stage}#{n}"


def valid_model_name(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9_.-]+", name))
