"""The request pipeline: route → validate → fault → auth → handler → validate → log.

Transport-free (the HTTP server in :mod:`tests.fakegithub.server` only moves
bytes), so the order of GitHub's checks lives in one readable place:
unknown endpoint (404, recorded failure) → request validation against the
OpenAPI description (recorded; 422 after auth) → injected fault → auth (401 /
403 "Resource not accessible by integration") → handler under the state lock →
response validation (recorded).
"""

from __future__ import annotations

import json
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakegithub import graphql_api
from tests.fakegithub.faults import Faults
from tests.fakegithub.records import Token
from tests.fakegithub.render import Renderer
from tests.fakegithub.routes import DOCS, ROUTES, Ctx, HttpError, Reply, Route, Router
from tests.fakegithub.spec import get_spec
from tests.fakegithub.state import NotFound, State
from tests.fakegithub.validation import ApiRequest, ApiResponse, Validator

# Importing the handler modules registers their routes.
from tests.fakegithub import (  # noqa: F401,E402
    handlers_checks, handlers_deploy, handlers_issues, handlers_repo, handlers_statuses,
)
from tests.fakegithub import handlers_settings  # noqa: F401,E402

#: openapi-core / jsonschema-path keep caches that were not written for concurrent use.
_VALIDATION_LOCK = threading.Lock()
_SCOPES = {"read": 0, "write": 1, "admin": 2}


@dataclass
class RawRequest:
    method: str
    target: str  # path + query, as on the request line
    headers: dict[str, str]  # lower-case names
    body: bytes
    host: str  # scheme://host[:port] the client used


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class LoggedRequest:
    """One request as the fake saw it (``path`` without the GHE prefix)."""

    method: str
    path: str
    query: dict[str, str]
    status: int = 0
    write: bool = False
    login: str | None = None
    body: Any = None
    #: "reset", "502", … when an injected fault answered instead of the fake.
    injected: str | None = None
    graphql: bool = False
    at: float = field(default_factory=time.time)


def operations() -> list[tuple[str, str]]:
    return Router(ROUTES).operations()


class Core:
    """State + pipeline. :class:`tests.fakegithub.fake.FakeGitHub` adds the test-facing API."""

    def __init__(self, prefix: str = "", web_url: str = "https://github.com") -> None:
        self.prefix = prefix.rstrip("/")
        base = self.prefix[:-3] if self.prefix.endswith("/v3") else self.prefix
        self.graphql_path = f"{base}/graphql"
        self.web_url = web_url
        self.router = Router(ROUTES)
        self.spec = get_spec(self.router.operations())
        self.validator = Validator(self.spec)
        self.state = State()
        self.faults = Faults()
        self.log: list[LoggedRequest] = []
        self.failures: list[str] = []
        self._meta_lock = threading.Lock()
        self.url = ""  # set when the server is bound
        self.render = Renderer(self.state, self.url, web_url)
        self._remaining = 5000

    # -- bookkeeping --------------------------------------------------------
    def fail(self, message: str) -> None:
        with self._meta_lock:
            self.failures.append(message)

    def _record(self, entry: LoggedRequest) -> None:
        with self._meta_lock:
            self.log.append(entry)

    def _headers(self, resource: str = "core") -> dict[str, str]:
        with self._meta_lock:
            self._remaining = max(0, self._remaining - 1)
            remaining = self._remaining
        return {"X-GitHub-Api-Version-Selected": "2022-11-28", "X-GitHub-Media-Type": "github.v3; format=json",
                "X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": str(remaining),
                "X-RateLimit-Reset": str(int(time.time()) + 3600), "X-RateLimit-Used": str(5000 - remaining),
                "X-RateLimit-Resource": resource, "X-GitHub-Request-Id": uuid.uuid4().hex[:20].upper()}

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None,
              resource: str = "core") -> RawResponse:
        h = {**self._headers(resource), **(headers or {})}
        if body is None:
            return RawResponse(status, h, b"")
        h["Content-Type"] = "application/json; charset=utf-8"
        return RawResponse(status, h, json.dumps(body).encode())

    # -- auth ---------------------------------------------------------------
    def _token(self, headers: dict[str, str]) -> Token:
        auth = headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if not auth:
            raise HttpError(401, "Requires authentication")
        if scheme.lower() not in ("token", "bearer") or value.strip() not in self.state.tokens:
            raise HttpError(401, "Bad credentials")
        return self.state.tokens[value.strip()]

    def _authorize(self, token: Token, route: Route) -> None:
        if _SCOPES[token.scope] < _SCOPES[route.scope]:
            raise HttpError(403, "Resource not accessible by integration", doc=DOCS)
        if route.app_only and token.kind == "pat":
            raise HttpError(403, "You must authenticate via a GitHub App.",
                            doc="https://docs.github.com/rest/checks/runs")

    # -- the pipeline -------------------------------------------------------
    def handle(self, req: RawRequest) -> RawResponse | None:
        """Answer one request; ``None`` means: drop the connection without a response."""
        split = urlsplit(req.target)
        path, pairs = split.path, parse_qsl(split.query, keep_blank_values=True)
        entry = LoggedRequest(req.method, path, dict(pairs))
        try:
            if path == self.graphql_path and req.method == "POST":
                return self._graphql(req, entry)
            api_path = path[len(self.prefix):] if path.startswith(self.prefix + "/") else None
            match = self.router.match(req.method, api_path) if api_path is not None else None
            if match is None:
                self.fail(f"unknown endpoint: {req.method} {path} (not implemented by the fake)")
                entry.status = 404
                return self._json(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"})
            entry.path = api_path or path
            return self._rest(req, entry, match[0], match[1], pairs)
        finally:
            self._record(entry)

    def _rest(self, req: RawRequest, entry: LoggedRequest, route: Route, params: dict[str, str],
              pairs: list[tuple[str, str]]) -> RawResponse | None:
        entry.write = route.write
        body: Any = None
        if req.body:
            try:
                body = json.loads(req.body)
            except ValueError:
                self.fail(f"request {req.method} {entry.path}: body is not JSON")
                entry.status = 400
                return self._json(400, {"message": "Problems parsing JSON", "documentation_url": DOCS,
                                        "status": "400"})
        entry.body = body
        ctype = req.headers.get("content-type", "")
        api_req = ApiRequest(req.method.lower(), entry.path, pairs, req.headers, req.body or None,
                             ctype if "json" in ctype else "application/json")
        with _VALIDATION_LOCK:
            problems = self.validator.request_errors(api_req)
        for p in problems:
            self.fail(f"request {req.method} {entry.path} violates GitHub's OpenAPI description:\n{p}")
        fault = self.faults.take(req.method, entry.path)
        if fault is not None:
            return self._fault(entry, fault)
        try:
            token = self._token(req.headers)
            entry.login = token.login
            self._authorize(token, route)
            if problems:
                raise HttpError(422, "Invalid request.\n\n" + problems[0].splitlines()[-1].strip())
            ctx = Ctx(self.state, self.render, req.method, params, dict(pairs), body, token,
                      f"{req.host}{self.prefix}{entry.path}")
            with self.state.lock:
                reply = route.handler(ctx)
        except HttpError as exc:
            reply = Reply(exc.status, exc.body(), exc.headers)
        except NotFound:
            reply = Reply(404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"})
        except Exception:  # a bug in the fake: answer 500 and make the test fail
            self.fail(f"fake crashed on {req.method} {entry.path}:\n{traceback.format_exc()}")
            reply = Reply(500, {"message": "Server Error"})
        resp = self._json(reply.status, reply.body, reply.headers)
        entry.status = resp.status
        if reply.status != 500:
            self._check_response(api_req, route, resp)
        return resp

    def _check_response(self, api_req: ApiRequest, route: Route, resp: RawResponse) -> None:
        ctype = resp.headers.get("Content-Type", "")
        api_resp = ApiResponse(resp.status, resp.body or None, _werk_headers(resp.headers), ctype)
        with _VALIDATION_LOCK:
            problems = self.validator.response_errors(api_req, route.template, api_resp)
        for p in problems:
            self.fail(f"response {resp.status} to {route.method} {api_req.path} violates GitHub's OpenAPI "
                      f"description:\n{p}")

    def _fault(self, entry: LoggedRequest, fault: Any) -> RawResponse | None:
        entry.injected = "reset" if fault.reset else str(fault.status)
        if fault.reset:
            entry.status = 0
            return None
        entry.status = fault.status
        resource = "graphql" if entry.graphql else "core"
        if isinstance(fault.body, (bytes, str)):
            body = fault.body.encode() if isinstance(fault.body, str) else fault.body
            return RawResponse(fault.status, {**self._headers(resource), "Content-Type": "text/html",
                                              **fault.headers}, body)
        headers = dict(fault.headers)
        if fault.reset_in is not None:
            headers["X-RateLimit-Reset"] = str(int(time.time()) + fault.reset_in)
        return self._json(fault.status, fault.body, headers, resource)

    def _graphql(self, req: RawRequest, entry: LoggedRequest) -> RawResponse | None:
        entry.graphql, entry.path = True, "/graphql"
        try:
            payload = json.loads(req.body or b"null")
        except ValueError:
            payload = None
        entry.body = payload
        fault = self.faults.take("POST", "/graphql")
        if fault is not None:
            return self._fault(entry, fault)
        try:
            token = self._token(req.headers)
        except HttpError:
            entry.status = 401
            return self._json(401, {"message": "This endpoint requires you to be authenticated.",
                                    "documentation_url": "https://docs.github.com/graphql/guides/"
                                                         "forming-calls-with-graphql#authenticating-with-graphql"},
                              resource="graphql")
        entry.login = token.login
        with self.state.lock:
            result = graphql_api.execute(self.state, self.render, token, payload)
        entry.write = result.write
        for f in result.failures:
            self.fail(f)
        entry.status = 200
        return self._json(200, result.body, resource="graphql")


def _werk_headers(headers: dict[str, str]) -> Any:
    from werkzeug.datastructures import Headers

    return Headers(list(headers.items()))
