"""Routing, request context, errors and pagination shared by the handlers.

Handlers are plain functions ``(ctx) -> Reply`` registered with :func:`route`
under the exact OpenAPI path template they implement; that registry is also
the list of operations the spec subset is cut to, so a route cannot exist
without its GitHub description (extracting the subset fails loudly).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import unquote, urlencode

from tests.fakegithub.records import Token
from tests.fakegithub.render import Renderer
from tests.fakegithub.state import State

DOCS = "https://docs.github.com/rest"
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


class HttpError(Exception):
    """A GitHub-shaped error response raised from a handler."""

    def __init__(self, status: int, message: str, errors: list[Any] | None = None,
                 doc: str = DOCS, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {message}")
        self.status, self.message, self.errors, self.doc = status, message, errors, doc
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "documentation_url": self.doc, "status": str(self.status)}
        if self.errors is not None:
            out["errors"] = self.errors
        return out


def validation_failed(resource: str, field_: str, message: str, code: str = "custom", doc: str = DOCS) -> HttpError:
    """GitHub's 422 ``Validation Failed`` with one error entry."""
    return HttpError(422, "Validation Failed",
                     [{"resource": resource, "code": code, "field": field_, "message": message}], doc)


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able; None → empty body
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Ctx:
    """Everything a handler may look at."""

    state: State
    render: Renderer
    method: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    token: Token
    #: Absolute URL of this request's path (scheme, Host header, prefix), for Link headers.
    self_url: str

    @property
    def repo(self) -> str:
        return f"{self.params['owner']}/{self.params['repo']}"

    @property
    def login(self) -> str:
        return self.token.login

    def int_param(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise HttpError(404, "Not Found") from None

    def field(self, name: str, default: Any = None) -> Any:
        return (self.body or {}).get(name, default) if isinstance(self.body, dict) else default


Handler = Callable[[Ctx], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    #: Minimum token scope: "read", "write" or "admin".
    scope: str
    #: GitHub accepts only App/installation tokens here (check runs), not PATs.
    app_only: bool = False

    @property
    def write(self) -> bool:
        return self.method in WRITE_METHODS

    def regex(self) -> re.Pattern[str]:
        parts = re.split(r"(\{[^}]+\})", self.template)
        body = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)
        return re.compile(body + "$")

    def specificity(self) -> tuple[int, int]:
        """Literal segments win over parameters (``issues/comments/{id}`` before ``issues/{n}``)."""
        segs = self.template.strip("/").split("/")
        return (sum(1 for s in segs if not s.startswith("{")), len(segs))


ROUTES: list[Route] = []


def route(method: str, template: str, scope: str | None = None, app_only: bool = False) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        ROUTES.append(Route(method.upper(), template, fn, scope or ("write" if method.upper() in WRITE_METHODS else "read"),
                            app_only))
        return fn
    return register


class Router:
    def __init__(self, routes: list[Route]) -> None:
        ordered = sorted(routes, key=lambda r: r.specificity(), reverse=True)
        self._table = [(r, r.regex()) for r in ordered]

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for ``method path`` (path percent-encoded, no prefix), with decoded params."""
        for r, rx in self._table:
            if r.method != method:
                continue
            m = rx.match(path)
            if m:
                return r, {k: unquote(v) for k, v in m.groupdict().items()}
        return None

    def operations(self) -> list[tuple[str, str]]:
        return [(r.method.lower(), r.template) for r, _ in self._table]


def paginate(ctx: Ctx, items: list[Any], wrap: Callable[[list[Any]], Any] | None = None) -> Reply:
    """One page of ``items`` and GitHub's ``Link`` header (next/last/first/prev)."""
    try:
        per_page = max(1, min(int(ctx.query.get("per_page", 30)), 100))
        page = max(1, int(ctx.query.get("page", 1)))
    except ValueError:
        per_page, page = 30, 1
    last = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page: page * per_page]

    def link(n: int, rel: str) -> str:
        return f'<{ctx.self_url}?{urlencode({**ctx.query, "per_page": per_page, "page": n})}>; rel="{rel}"'

    rels = []
    if page > 1:
        rels += [link(min(page - 1, last), "prev")]
    if page < last:
        rels += [link(page + 1, "next"), link(last, "last")]
    if page > 1:
        rels += [link(1, "first")]
    headers = {"Link": ", ".join(rels)} if rels else {}
    return Reply(200, wrap(chunk) if wrap else chunk, headers)


def parse_bool(value: str | None) -> bool:
    return str(value).lower() in ("1", "true", "yes")
