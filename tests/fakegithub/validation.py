"""Request/response validation against GitHub's OpenAPI description (openapi-core).

Why validate both directions: requests prove *our* code calls GitHub the way
GitHub documents (a bad ``conclusion`` would be a 422 in production); responses
prove the *fake* answers what GitHub would, so code tested against it will parse
real answers too.

openapi-core matches a request URL against the spec's server
(``https://api.github.com``). The fake listens on 127.0.0.1 (maybe under
``/api/v3``), so requests are presented to openapi-core as if sent to the spec
server with the prefix stripped: we validate paths, not hostnames.

GitHub's description does not list every error status an operation can return
(e.g. ``POST /check-runs`` documents only 201, yet GitHub answers 422 and 403).
Error statuses (>= 400) the operation does not document are therefore checked
against GitHub's generic ``basic-error`` / ``validation-error`` shapes instead;
undocumented success statuses are failures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from werkzeug.datastructures import Headers, ImmutableMultiDict

from openapi_core.datatypes import RequestParameters

from tests.fakegithub.spec import SPEC_SERVER, LoadedSpec


@dataclass
class ApiRequest:
    """A request in the shape openapi-core's ``Request`` protocol expects."""

    method: str  # lowercase
    path: str  # without the GHE prefix, percent-encoded as received
    query: Iterable[tuple[str, str]] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    content_type: str = "application/json"
    host_url: str = SPEC_SERVER

    def __post_init__(self) -> None:
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(self.query)),
            header=Headers(list(self.headers.items())),
            cookie=ImmutableMultiDict(),
        )


@dataclass
class ApiResponse:
    """A response in the shape openapi-core's ``Response`` protocol expects."""

    status_code: int
    data: bytes | None
    headers: Headers
    content_type: str = "application/json"


def describe(exc: BaseException) -> str:
    """One line per underlying problem: openapi-core nests the jsonschema errors in causes."""
    headline = str(exc).split(": Value ", 1)[0]  # the rest repeats the whole payload
    parts = [f"{exc.__class__.__name__}: {headline[:200]}"]
    seen: set[int] = {id(exc)}
    cur: BaseException | None = exc
    while cur is not None:
        errors = getattr(cur, "schema_errors", None) or ()
        for err in errors:
            where = "/".join(str(p) for p in getattr(err, "absolute_path", ())) or "<root>"
            msg = str(getattr(err, "message", err))
            if len(msg) > 300:  # jsonschema quotes the whole instance (a 65 KB summary…)
                msg = f"{msg[:100]}… [{getattr(err, 'validator', '?')}={getattr(err, 'validator_value', '?')!r} failed]"
            parts.append(f"  at {where}: {msg}")
        nxt = cur.__cause__ or cur.__context__
        if nxt is None or id(nxt) in seen:
            break
        seen.add(id(nxt))
        if not getattr(nxt, "schema_errors", None):
            parts.append(f"  caused by {nxt.__class__.__name__}: {str(nxt)[:300]}")
        cur = nxt
    return "\n".join(parts)


class Validator:
    """Validates fake traffic; returns human-readable problems (empty list = valid)."""

    def __init__(self, spec: LoadedSpec) -> None:
        self.spec = spec
        self._fallback = self._fallback_validators()

    def _fallback_validators(self) -> dict[str, Any]:
        from openapi_schema_validator import OAS30Validator

        comps = self.spec.doc["components"]
        return {name: OAS30Validator({"$ref": f"#/components/schemas/{name}", "components": comps})
                for name in ("basic-error", "validation-error")}

    def request_errors(self, req: ApiRequest) -> list[str]:
        return [describe(e) for e in self.spec.openapi.iter_apicall_request_errors(req)]

    def documented_statuses(self, method: str, template: str) -> set[str]:
        op = self.spec.doc["paths"].get(template, {}).get(method.lower(), {})
        return set(op.get("responses", {}))

    def response_errors(self, req: ApiRequest, template: str, resp: ApiResponse) -> list[str]:
        documented = self.documented_statuses(req.method, template)
        status = str(resp.status_code)
        if status in documented or "default" in documented:
            return [describe(e) for e in self.spec.openapi.iter_apicall_response_errors(req, resp)]
        if resp.status_code < 400:
            return [f"status {status} is not documented for {req.method.upper()} {template} "
                    f"(documented: {sorted(documented)})"]
        try:
            body = json.loads(resp.data or b"null")
        except ValueError as exc:
            return [f"undocumented error {status} with a non-JSON body: {exc}"]
        name = "validation-error" if resp.status_code == 422 else "basic-error"
        return [f"error body ({name}) at {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
                for e in self._fallback[name].iter_errors(body)]
