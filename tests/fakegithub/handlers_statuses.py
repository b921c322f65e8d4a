"""Commit statuses: create one on a SHA, list a ref's statuses.

GitHub facts reproduced: ``state`` is one of error/failure/pending/success and
``description`` at most 140 characters (422 otherwise); the SHA must be a
commit GitHub knows (422 "No commit found for SHA"); ``context`` defaults to
``default``; the creator is whoever the token authenticates as (the App's bot
login for ``GITHUB_TOKEN``), which is what makes a status attributable; writes
need a token with write access (a fork PR's read-only token gets 403, checked
by the router); the list is newest first.
"""

from __future__ import annotations

import re

from tests.fakegithub.records import CommitStatus
from tests.fakegithub.routes import Ctx, HttpError, Reply, paginate, route, validation_failed

DOC = "https://docs.github.com/rest/commits/statuses"
STATES = ("error", "failure", "pending", "success")
SHA = re.compile(r"^[0-9a-f]{7,40}$")


@route("POST", "/repos/{owner}/{repo}/statuses/{sha}")
def create_status(ctx: Ctx) -> Reply:
    ctx.state.repo(ctx.repo)
    raw = ctx.params["sha"]
    sha = ctx.state.resolve_ref(ctx.repo, raw) if SHA.match(raw) else None
    if sha is None:
        raise HttpError(422, f"No commit found for SHA: {raw}", doc=DOC)
    state = ctx.field("state")
    if state not in STATES:
        raise validation_failed("Status", "state", f"state is not included in the list ({', '.join(STATES)})",
                                "invalid", DOC)
    description = ctx.field("description")
    if isinstance(description, str) and len(description) > 140:
        raise validation_failed("Status", "description", "description is too long (maximum is 140 characters)",
                                "custom", DOC)
    sid = ctx.state.new_id()
    status = CommitStatus(sid, ctx.state.node_id("SC", sid, "status"), ctx.repo, sha, state,
                          ctx.field("context") or "default", ctx.login, description, ctx.field("target_url"))
    ctx.state.statuses.append(status)
    return Reply(201, ctx.render.commit_status(status),
                 {"Location": f"{ctx.render.api}/repos/{ctx.repo}/statuses/{sha}"})


@route("GET", "/repos/{owner}/{repo}/commits/{ref}/statuses")
def list_statuses(ctx: Ctx) -> Reply:
    ctx.state.repo(ctx.repo)
    sha = ctx.state.resolve_ref(ctx.repo, ctx.params["ref"])
    items = [s for s in reversed(ctx.state.statuses) if s.repo == ctx.repo and s.sha == sha] if sha else []
    return paginate(ctx, [ctx.render.commit_status(s) for s in items])
