"""What a deploy target reports back, whatever the target."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Protocol

from mlops_ci.deploy.smoke import SmokeResult

#: A smoke check: the service's base URL in, a parity verdict out.
SmokeCheck = Callable[[str], SmokeResult]


@dataclass
class Outcome:
    ok: bool
    environment: str
    image: str
    url: str | None
    previous_image: str | None
    reason: str
    rolled_back: bool = False
    #: What serves now: the new image on success, else the previous one (None if nothing does).
    serving_image: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    smoke: dict[str, Any] | None = None
    logs: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Target(Protocol):
    """A place the serving image runs: start it, check it, switch to it, undo it."""

    name: str

    def current_image(self) -> str | None: ...

    def previous_image(self) -> str | None: ...

    def deploy(self, image: str, smoke: SmokeCheck | None) -> Outcome: ...
