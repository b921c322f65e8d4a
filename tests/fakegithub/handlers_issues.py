"""Issues, issue/PR comments, labels and reactions.

GitHub facts reproduced: pull requests are issues (shared numbers; comments on
a PR go through the issues API; the issue list includes PRs with a
``pull_request`` key); a comment body may hold at most 65,536 characters and
must not be blank (422 otherwise); labels named on an issue are created on the
fly; adding a reaction the user already gave answers 200 instead of 201.
"""

from __future__ import annotations

from tests.fakegithub.records import Comment, Reaction, now_iso
from tests.fakegithub.routes import Ctx, HttpError, Reply, paginate, route, validation_failed

COMMENT_MAX = 65_536
DOC_COMMENTS = "https://docs.github.com/rest/issues/comments"
DOC_ISSUES = "https://docs.github.com/rest/issues/issues"


def check_body(body: object, resource: str, doc: str = DOC_COMMENTS) -> str:
    """GitHub's limits on a comment body (shared with commit comments)."""
    if not isinstance(body, str) or not body.strip():
        raise validation_failed(resource, "body", "Body cannot be blank", "missing_field", doc)
    if len(body) > COMMENT_MAX:
        raise validation_failed(resource, "data", f"Body is too long (maximum is {COMMENT_MAX} characters)",
                                "unprocessable", doc)
    return body


# -- issue comments ------------------------------------------------------------
@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
def list_comments(ctx: Ctx) -> Reply:
    issue = ctx.state.issue(ctx.repo, ctx.int_param("issue_number"))
    since = ctx.query.get("since")
    items = [c for c in sorted(ctx.state.comments.values(), key=lambda c: c.id)
             if c.kind == "issue" and c.repo == ctx.repo and c.issue_number == issue.number
             and (since is None or c.updated_at >= since)]
    return paginate(ctx, [ctx.render.comment(c) for c in items])


@route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
def create_comment(ctx: Ctx) -> Reply:
    issue = ctx.state.issue(ctx.repo, ctx.int_param("issue_number"))
    if issue.locked and ctx.state.permission(ctx.repo, ctx.login) not in ("admin", "write"):
        raise HttpError(403, "Unable to create comment because issue is locked.", doc=DOC_COMMENTS)
    body = check_body(ctx.field("body"), "IssueComment")
    c = ctx.state.add_comment(ctx.repo, "issue", body, ctx.login, issue_number=issue.number)
    issue.updated_at = now_iso()
    url = f"{ctx.render.api}/repos/{ctx.repo}/issues/comments/{c.id}"
    return Reply(201, ctx.render.comment(c), {"Location": url})


def _issue_comment(ctx: Ctx) -> Comment:
    return ctx.state.comment(ctx.repo, "issue", ctx.int_param("comment_id"))


@route("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def get_comment(ctx: Ctx) -> Reply:
    return Reply(200, ctx.render.comment(_issue_comment(ctx)))


@route("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def update_comment(ctx: Ctx) -> Reply:
    c = _issue_comment(ctx)
    c.body = check_body(ctx.field("body"), "IssueComment")
    c.updated_at = now_iso()
    return Reply(200, ctx.render.comment(c))


@route("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def delete_comment(ctx: Ctx) -> Reply:
    c = _issue_comment(ctx)
    del ctx.state.comments[c.id]
    ctx.state.nodes.pop(c.node_id, None)
    return Reply(204)


@route("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions")
def create_reaction(ctx: Ctx) -> Reply:
    c = _issue_comment(ctx)
    content = ctx.field("content")
    for r in c.reactions:
        if r.user == ctx.login and r.content == content:
            return Reply(200, ctx.render.reaction(r))
    rid = ctx.state.new_id()
    r = Reaction(rid, ctx.state.node_id("REA", rid, "reaction"), str(content), ctx.login)
    c.reactions.append(r)
    return Reply(201, ctx.render.reaction(r))


# -- issues --------------------------------------------------------------------
def _labels_arg(value: object) -> list[str]:
    """``labels`` may be strings or ``{"name": …}`` objects."""
    out: list[str] = []
    for item in value or []:  # type: ignore[union-attr]
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str) and name and name not in out:
            out.append(name)
    return out


@route("POST", "/repos/{owner}/{repo}/issues")
def create_issue(ctx: Ctx) -> Reply:
    title = ctx.field("title")
    if title in (None, ""):
        raise validation_failed("Issue", "title", "title is missing", "missing_field", DOC_ISSUES)
    body = ctx.field("body")
    if isinstance(body, str) and len(body) > COMMENT_MAX:
        raise validation_failed("Issue", "body", f"body is too long (maximum is {COMMENT_MAX} characters)",
                                "custom", DOC_ISSUES)
    issue = ctx.state.add_issue(ctx.repo, str(title), ctx.login, body=body,
                                labels=_labels_arg(ctx.field("labels")),
                                assignees=[a for a in ctx.field("assignees") or [] if isinstance(a, str)])
    return Reply(201, ctx.render.issue(issue),
                 {"Location": f"{ctx.render.api}/repos/{ctx.repo}/issues/{issue.number}"})


@route("GET", "/repos/{owner}/{repo}/issues")
def list_issues(ctx: Ctx) -> Reply:
    ctx.state.repo(ctx.repo)
    state = ctx.query.get("state", "open")
    wanted = {n.strip().lower() for n in ctx.query.get("labels", "").split(",") if n.strip()}
    creator = ctx.query.get("creator")
    items = []
    for i in ctx.state.issues.values():
        if i.repo != ctx.repo or (state != "all" and i.state != state):
            continue
        if wanted and not wanted <= {n.lower() for n in i.labels}:
            continue
        if creator and i.user != creator:
            continue
        items.append(i)
    key = "updated_at" if ctx.query.get("sort") == "updated" else "created_at"
    items.sort(key=lambda i: (getattr(i, key), i.id), reverse=ctx.query.get("direction", "desc") == "desc")
    return paginate(ctx, [ctx.render.issue(i) for i in items])


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}")
def get_issue(ctx: Ctx) -> Reply:
    return Reply(200, ctx.render.issue(ctx.state.issue(ctx.repo, ctx.int_param("issue_number"))))


@route("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}")
def update_issue(ctx: Ctx) -> Reply:
    issue = ctx.state.issue(ctx.repo, ctx.int_param("issue_number"))
    body = ctx.body if isinstance(ctx.body, dict) else {}
    if "title" in body and body["title"] is not None:
        issue.title = str(body["title"])
    if "body" in body:
        if isinstance(body["body"], str) and len(body["body"]) > COMMENT_MAX:
            raise validation_failed("Issue", "body", f"body is too long (maximum is {COMMENT_MAX} characters)",
                                    "custom", DOC_ISSUES)
        issue.body = body["body"]
    if "labels" in body:
        issue.labels = _labels_arg(body["labels"])
        for n in issue.labels:
            ctx.state.label(ctx.repo, n)
    if "assignees" in body:
        issue.assignees = [a for a in body["assignees"] or [] if isinstance(a, str)]
    if body.get("state") in ("open", "closed") and body["state"] != issue.state:
        issue.state = body["state"]
        issue.closed_at = now_iso() if issue.state == "closed" else None
        issue.state_reason = body.get("state_reason") or ("completed" if issue.state == "closed" else "reopened")
        if issue.is_pull:
            ctx.state.pull(ctx.repo, issue.number).state = issue.state
    issue.updated_at = now_iso()
    return Reply(200, ctx.render.issue(issue))


@route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def add_labels(ctx: Ctx) -> Reply:
    issue = ctx.state.issue(ctx.repo, ctx.int_param("issue_number"))
    raw = ctx.body.get("labels") if isinstance(ctx.body, dict) else ctx.body
    if isinstance(raw, str):
        raw = [raw]
    for name in _labels_arg(raw):
        ctx.state.label(ctx.repo, name)
        if name.lower() not in {n.lower() for n in issue.labels}:
            issue.labels.append(name)
    issue.updated_at = now_iso()
    return Reply(200, ctx.render.labels(ctx.repo, issue.labels))


@route("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}")
def remove_label(ctx: Ctx) -> Reply:
    issue = ctx.state.issue(ctx.repo, ctx.int_param("issue_number"))
    name = ctx.params["name"].lower()
    keep = [n for n in issue.labels if n.lower() != name]
    if len(keep) == len(issue.labels):
        raise HttpError(404, "Label does not exist", doc="https://docs.github.com/rest/issues/labels")
    issue.labels = keep
    issue.updated_at = now_iso()
    return Reply(200, ctx.render.labels(ctx.repo, issue.labels))
