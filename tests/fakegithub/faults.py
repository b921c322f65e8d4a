"""Fault injection: make the next N matching requests fail the way GitHub does.

Why: retry and back-off code (5xx, dropped connections, primary and secondary
rate limits) is only trustworthy once it has met those failures. Faults apply
after the request was read and validated and before auth and the handler, so a
faulted write changes no state — exactly like a GitHub 502. Injected responses
are not validated against the OpenAPI description (it documents neither 502 nor
429 for most operations); they are logged with ``injected`` set.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

SECONDARY_RATE_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID 0000:FAKE:0000000:0000000:00000000."
)
SECONDARY_DOC = ("https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
                 "#about-secondary-rate-limits")

DEFAULT_BODIES: dict[int, dict[str, Any]] = {
    403: {"message": SECONDARY_RATE_LIMIT_MESSAGE, "documentation_url": SECONDARY_DOC, "status": "403"},
    429: {"message": SECONDARY_RATE_LIMIT_MESSAGE, "documentation_url": SECONDARY_DOC, "status": "429"},
    500: {"message": "Server Error"},
    502: {"message": "Server Error"},
    503: {"message": "Service Unavailable"},
}


@dataclass
class Fault:
    method: str | None  # None = any method
    pattern: re.Pattern[str]
    status: int  # 0 = reset the connection
    headers: dict[str, str]
    body: Any
    remaining: int
    #: Seconds from the moment of the response to put in ``X-RateLimit-Reset`` (primary limits).
    reset_in: int | None = None

    @property
    def reset(self) -> bool:
        return self.status == 0

    def describe(self) -> str:
        what = "connection reset" if self.reset else str(self.status)
        return f"{what} for {self.method or '*'} {self.pattern.pattern}"


class Faults:
    """Thread-safe list of pending faults; the first match with budget left fires."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, method: str | None, path_regex: str, status: int, headers: dict[str, str] | None = None,
            body: Any = None, times: int = 1, reset_in: int | None = None) -> Fault:
        if body is None and status:
            body = DEFAULT_BODIES.get(status, {"message": f"Injected {status}"})
        f = Fault(method.upper() if method else None, re.compile(path_regex), status, dict(headers or {}), body, times,
                  reset_in)
        with self._lock:
            self._faults.append(f)
        return f

    def take(self, method: str, path: str) -> Fault | None:
        """The fault for this request (consuming one use), or None."""
        with self._lock:
            for f in self._faults:
                if f.remaining > 0 and f.method in (None, method) and f.pattern.search(path):
                    f.remaining -= 1
                    return f
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if f.remaining > 0]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
