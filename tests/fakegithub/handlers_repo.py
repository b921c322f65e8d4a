"""Repository, pull requests, commit comments and collaborator permissions.

GitHub facts reproduced: ``commits/{sha}/pulls`` finds PRs by head SHA and by
merge commit; the PR list filters by ``state``/``head``/``base``; a commit
comment needs a commit SHA GitHub can find (422 otherwise) and obeys the same
65,536-character limit as issue comments; the permission endpoint reports
``admin``/``write``/``read``/``none`` with the finer ``role_name``; ``GET /user``
answers a personal access token with its user and an installation token
(``GITHUB_TOKEN``, an App) with 403 "Resource not accessible by integration".
"""

from __future__ import annotations

import re

from tests.fakegithub.handlers_issues import check_body
from tests.fakegithub.records import Comment, now_iso
from tests.fakegithub.routes import Ctx, HttpError, Reply, paginate, route

DOC_COMMIT_COMMENTS = "https://docs.github.com/rest/commits/comments"
SHA = re.compile(r"^[0-9a-f]{7,40}$")


@route("GET", "/repos/{owner}/{repo}")
def get_repo(ctx: Ctx) -> Reply:
    return Reply(200, ctx.render.repository(ctx.repo, login=ctx.login))


# -- pull requests -------------------------------------------------------------
@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}")
def get_pull(ctx: Ctx) -> Reply:
    return Reply(200, ctx.render.pull(ctx.state.pull(ctx.repo, ctx.int_param("pull_number"))))


@route("GET", "/repos/{owner}/{repo}/pulls")
def list_pulls(ctx: Ctx) -> Reply:
    ctx.state.repo(ctx.repo)
    state = ctx.query.get("state", "open")
    head, base = ctx.query.get("head"), ctx.query.get("base")
    items = []
    for p in ctx.state.pulls.values():
        if p.repo != ctx.repo or (state != "all" and p.state != state):
            continue
        if head and head != f"{p.head_repo.split('/')[0]}:{p.head_ref}":
            continue
        if base and base != p.base_ref:
            continue
        items.append(p)
    items.sort(key=lambda p: (p.created_at, p.number), reverse=ctx.query.get("direction", "desc") == "desc")
    return paginate(ctx, [ctx.render.pull(p, full=False) for p in items])


@route("GET", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls")
def pulls_for_commit(ctx: Ctx) -> Reply:
    ctx.state.repo(ctx.repo)
    sha = ctx.state.resolve_ref(ctx.repo, ctx.params["commit_sha"])
    if sha is None:
        raise HttpError(422, f"No commit found for SHA: {ctx.params['commit_sha']}",
                        doc="https://docs.github.com/rest/commits/commits")
    items = [p for p in sorted(ctx.state.pulls.values(), key=lambda p: p.number)
             if p.repo == ctx.repo and sha in (p.head_sha, p.merge_commit_sha)]
    return paginate(ctx, [ctx.render.pull(p, full=False) for p in items])


# -- commit comments -----------------------------------------------------------
def _commit_sha(ctx: Ctx) -> str:
    raw = ctx.params["commit_sha"]
    sha = ctx.state.resolve_ref(ctx.repo, raw) if SHA.match(raw) else None
    if sha is None:
        raise HttpError(422, f"No commit found for SHA: {raw}", doc=DOC_COMMIT_COMMENTS)
    return sha


@route("GET", "/repos/{owner}/{repo}/commits/{commit_sha}/comments")
def list_commit_comments(ctx: Ctx) -> Reply:
    ctx.state.repo(ctx.repo)
    sha = _commit_sha(ctx)
    items = [c for c in sorted(ctx.state.comments.values(), key=lambda c: c.id)
             if c.kind == "commit" and c.repo == ctx.repo and c.commit_id == sha]
    return paginate(ctx, [ctx.render.comment(c) for c in items])


@route("POST", "/repos/{owner}/{repo}/commits/{commit_sha}/comments")
def create_commit_comment(ctx: Ctx) -> Reply:
    ctx.state.repo(ctx.repo)
    sha = _commit_sha(ctx)
    body = check_body(ctx.field("body"), "CommitComment", DOC_COMMIT_COMMENTS)
    c = ctx.state.add_comment(ctx.repo, "commit", body, ctx.login, commit_id=sha, path=ctx.field("path"),
                              line=ctx.field("line"), position=ctx.field("position"))
    return Reply(201, ctx.render.comment(c), {"Location": f"{ctx.render.api}/repos/{ctx.repo}/comments/{c.id}"})


def _commit_comment(ctx: Ctx) -> Comment:
    ctx.state.repo(ctx.repo)
    return ctx.state.comment(ctx.repo, "commit", ctx.int_param("comment_id"))


@route("GET", "/repos/{owner}/{repo}/comments/{comment_id}")
def get_commit_comment(ctx: Ctx) -> Reply:
    return Reply(200, ctx.render.comment(_commit_comment(ctx)))


@route("PATCH", "/repos/{owner}/{repo}/comments/{comment_id}")
def update_commit_comment(ctx: Ctx) -> Reply:
    c = _commit_comment(ctx)
    c.body = check_body(ctx.field("body"), "CommitComment", DOC_COMMIT_COMMENTS)
    c.updated_at = now_iso()
    return Reply(200, ctx.render.comment(c))


@route("DELETE", "/repos/{owner}/{repo}/comments/{comment_id}")
def delete_commit_comment(ctx: Ctx) -> Reply:
    c = _commit_comment(ctx)
    del ctx.state.comments[c.id]
    ctx.state.nodes.pop(c.node_id, None)
    return Reply(204)


# -- collaborators -------------------------------------------------------------
ROLE_TO_PERMISSION = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read",
                      "none": "none"}


@route("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission")
def collaborator_permission(ctx: Ctx) -> Reply:
    login = ctx.params["username"]
    if login not in ctx.state.users and (ctx.repo, login) not in ctx.state.permissions:
        raise HttpError(404, "Not Found", doc="https://docs.github.com/rest/collaborators/collaborators")
    role = ctx.state.permission(ctx.repo, login)
    permission = ROLE_TO_PERMISSION[role]
    user = ctx.render.user(login)
    user.update({"role_name": role, "permissions": {
        "admin": role == "admin", "maintain": role in ("admin", "maintain"),
        "push": permission in ("admin", "write"), "triage": role != "read" and permission != "none",
        "pull": permission != "none"}})
    return Reply(200, {"permission": permission, "role_name": role, "user": user})


# -- the authenticated user ------------------------------------------------------
@route("GET", "/user")
def authenticated_user(ctx: Ctx) -> Reply:
    if ctx.token.kind != "pat":
        raise HttpError(403, "Resource not accessible by integration",
                        doc="https://docs.github.com/rest/users/users#get-the-authenticated-user")
    user = ctx.render.user(ctx.login)
    user.update({"user_view_type": "public", "name": None, "company": None, "blog": "", "location": None,
                 "email": None, "hireable": None, "bio": None, "public_repos": 0, "public_gists": 0,
                 "followers": 0, "following": 0, "created_at": "2020-01-01T00:00:00Z",
                 "updated_at": "2020-01-01T00:00:00Z"})
    return Reply(200, user)
