"""GitHub's GraphQL endpoint, executed by graphql-core against the pinned schema.

Why execute against the real ``schema.graphql`` instead of pattern-matching
queries: every query is parsed and validated exactly as GitHub would (an
unknown field or a wrong variable type is an error the test sees), and the
answers are shaped by the schema itself (a non-null field the fake cannot fill
is an execution error, recorded as a failure, never a silently wrong answer).

Implemented root fields: ``node``, ``nodes``, ``viewer``; mutations
``minimizeComment`` and ``unminimizeComment``. Anything else resolves to an
error *and* a recorded failure, so a test never passes by accident.

GitHub's published SDL defines two fields of ``EnterpriseOwnerInfo`` twice,
which graphql-core's SDL validation rejects; the schema is therefore built with
``assume_valid_sdl=True`` (the duplicates are identical, the last one wins).
Building it takes ~2 s, so it happens once per process, on first use or in the
background via :func:`prewarm`.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.fakegithub.records import Comment, Token
from tests.fakegithub.render import Renderer
from tests.fakegithub.spec import OCTOKIT
from tests.fakegithub.state import State

SCHEMA_PATH = OCTOKIT / "graphql-schema" / "schema.graphql"
_build_lock = threading.Lock()


@functools.cache
def _schema() -> Any:
    from graphql import build_schema

    return build_schema(SCHEMA_PATH.read_text(), assume_valid_sdl=True)


def schema() -> Any:
    """The process-wide ``GraphQLSchema`` (built once; thread-safe)."""
    with _build_lock:
        return _schema()


def prewarm() -> threading.Thread:
    """Build the schema in a background thread so the first GraphQL request is fast."""
    t = threading.Thread(target=schema, name="fakegithub-graphql-schema", daemon=True)
    t.start()
    return t


class GitHubGraphQLError(Exception):
    """An error GitHub itself would return (NOT_FOUND, FORBIDDEN): answered, not a fake failure."""

    def __init__(self, type_: str, message: str) -> None:
        super().__init__(message)
        self.type = type_


@dataclass
class GqlContext:
    state: State
    render: Renderer
    token: Token


@dataclass
class GqlResult:
    body: dict[str, Any]
    write: bool = False
    failures: list[str] = field(default_factory=list)


ROOT = object()
REASONS = {"OFF_TOPIC": "off-topic"}


def _actor(ctx: GqlContext, login: str) -> dict[str, Any]:
    u = ctx.state.user(login)
    return {"__typename": "Bot" if u.type == "Bot" else "User", "login": login, "id": u.node_id,
            "databaseId": u.id, "url": f"{ctx.render.web}/{login}", "resourcePath": f"/{login}",
            "avatarUrl": f"https://avatars.githubusercontent.com/u/{u.id}?v=4"}


def _comment_node(ctx: GqlContext, c: Comment) -> dict[str, Any]:
    rest = ctx.render.comment(c)
    return {
        "__typename": "IssueComment" if c.kind == "issue" else "CommitComment", "id": c.node_id,
        "databaseId": c.id, "fullDatabaseId": str(c.id), "body": c.body, "bodyText": c.body,
        "bodyHTML": f"<p>{c.body}</p>", "isMinimized": c.is_minimized, "minimizedReason": c.minimized_reason,
        "viewerCanMinimize": True, "viewerCanUpdate": True, "viewerCanDelete": True, "viewerCanReact": True,
        "viewerDidAuthor": c.user == ctx.token.login, "createdAt": c.created_at, "updatedAt": c.updated_at,
        "publishedAt": c.created_at, "lastEditedAt": None if c.updated_at == c.created_at else c.updated_at,
        "includesCreatedEdit": c.updated_at != c.created_at, "createdViaEmail": False, "editor": None,
        "url": rest["html_url"], "resourcePath": rest["html_url"].split("github.com", 1)[-1],
        "author": _actor(ctx, c.user), "authorAssociation": rest["author_association"],
        "viewerCannotUpdateReasons": [], "commit": None, "path": c.path, "position": c.position,
    }


def _lookup(ctx: GqlContext, node_id: str) -> dict[str, Any]:
    kind, obj_id = ctx.state.nodes.get(node_id, ("", 0))
    if kind in ("issue_comment", "commit_comment") and obj_id in ctx.state.comments:
        return _comment_node(ctx, ctx.state.comments[obj_id])
    if kind == "user":
        login = next(u.login for u in ctx.state.users.values() if u.id == obj_id)
        return _actor(ctx, login)
    raise GitHubGraphQLError("NOT_FOUND", f"Could not resolve to a node with the global id of '{node_id}'")


def _need_write(ctx: GqlContext) -> None:
    if ctx.token.scope == "read":
        raise GitHubGraphQLError("FORBIDDEN", "Resource not accessible by integration")


def _minimize(ctx: GqlContext, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002 - GraphQL arg name
    _need_write(ctx)
    node = _lookup(ctx, input["subjectId"])
    if node["__typename"] not in ("IssueComment", "CommitComment"):
        raise GitHubGraphQLError("UNPROCESSABLE", "Subject is not minimizable")
    c = ctx.state.comments[node["databaseId"]]
    classifier = input["classifier"]
    c.minimized_reason = REASONS.get(classifier, classifier.lower())
    return {"clientMutationId": input.get("clientMutationId"), "minimizedComment": _comment_node(ctx, c)}


def _unminimize(ctx: GqlContext, input: dict[str, Any]) -> dict[str, Any]:  # noqa: A002
    _need_write(ctx)
    node = _lookup(ctx, input["subjectId"])
    c = ctx.state.comments[node["databaseId"]]
    c.minimized_reason = None
    return {"clientMutationId": input.get("clientMutationId"), "unminimizedComment": _comment_node(ctx, c)}


ROOT_FIELDS = {
    ("Query", "node"): lambda ctx, id: _lookup(ctx, id),  # noqa: A002
    ("Query", "nodes"): lambda ctx, ids: [_lookup(ctx, i) for i in ids],
    ("Query", "viewer"): lambda ctx: _actor(ctx, ctx.token.login),
    ("Mutation", "minimizeComment"): _minimize,
    ("Mutation", "unminimizeComment"): _unminimize,
}


class NotImplementedByFake(Exception):
    pass


def _resolve(source: Any, info: Any, **args: Any) -> Any:
    if source is ROOT:
        fn = ROOT_FIELDS.get((info.parent_type.name, info.field_name))
        if fn is None:
            raise NotImplementedByFake(f"{info.parent_type.name}.{info.field_name} is not implemented by the fake")
        return fn(info.context, **args)
    if isinstance(source, dict):
        return source.get(info.field_name)
    return getattr(source, info.field_name, None)


def _type_of(value: Any, info: Any, abstract_type: Any) -> str | None:
    return value.get("__typename") if isinstance(value, dict) else None


def _error(err: Any) -> dict[str, Any]:
    out = err.formatted
    original = getattr(err, "original_error", None)
    if isinstance(original, GitHubGraphQLError):
        out = {"type": original.type, **out}
    return out


def execute(state: State, render: Renderer, token: Token, payload: Any) -> GqlResult:
    """Run one GraphQL request the way GitHub answers it (HTTP 200, ``errors`` in the body)."""
    from graphql import GraphQLError, OperationType, execute as gql_execute, get_operation_ast, parse, validate

    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        msg = "A query attribute must be specified and must be a string."
        return GqlResult({"errors": [{"message": msg}]}, failures=[f"GraphQL: {msg}"])
    try:
        doc = parse(payload["query"])
    except GraphQLError as exc:
        return GqlResult({"errors": [exc.formatted]}, failures=[f"GraphQL syntax error: {exc.message}"])
    sch = schema()
    errors = validate(sch, doc)
    if errors:
        return GqlResult({"errors": [e.formatted for e in errors]},
                         failures=[f"GraphQL query invalid against schema.graphql: {e.message}" for e in errors])
    op = get_operation_ast(doc, payload.get("operationName"))
    write = op is not None and op.operation == OperationType.MUTATION
    result = gql_execute(sch, doc, root_value=ROOT, context_value=GqlContext(state, render, token),
                         variable_values=payload.get("variables") or {}, operation_name=payload.get("operationName"),
                         field_resolver=_resolve, type_resolver=_type_of)
    body: dict[str, Any] = {"data": result.data}
    failures = []
    if result.errors:
        body["errors"] = [_error(e) for e in result.errors]
        failures = [f"GraphQL execution: {e.message} at {e.path}" for e in result.errors
                    if not isinstance(getattr(e, "original_error", None), GitHubGraphQLError)]
    return GqlResult(body, write, failures)
