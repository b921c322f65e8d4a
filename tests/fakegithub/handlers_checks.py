"""Check runs: create, update, get, list for a ref.

GitHub facts reproduced: ``conclusion`` implies ``status: completed`` (and
``completed`` needs a conclusion); at most 50 annotations per request, further
ones are *appended* by later updates; output ``summary``/``text`` hold at most
65,535 characters; the list for a ref shows only the latest run per name unless
``filter=all``; ``pull_requests`` lists open same-repository PRs only (never
forks). Only GitHub App / ``GITHUB_TOKEN`` tokens may write checks (a PAT gets
403), which the route declares with ``app_only``.
"""

from __future__ import annotations

from typing import Any

from tests.fakegithub.records import CheckRun, now_iso
from tests.fakegithub.routes import Ctx, HttpError, Reply, paginate, route

OUTPUT_MAX = 65_535
ANNOTATIONS_MAX = 50
DOC = "https://docs.github.com/rest/checks/runs"


def _apply(ctx: Ctx, run: CheckRun, body: dict[str, Any]) -> None:
    """Validate ``body`` as GitHub does, then write it onto ``run`` (all or nothing)."""
    output = body.get("output") or {}
    annotations = list(output.get("annotations") or [])
    if len(annotations) > ANNOTATIONS_MAX:
        raise HttpError(422, f"Only {ANNOTATIONS_MAX} annotations may be sent per request; got {len(annotations)}",
                        doc=DOC)
    for key in ("summary", "text"):
        value = output.get(key)
        if isinstance(value, str) and len(value) > OUTPUT_MAX:
            raise HttpError(422, "Invalid request.\n\n"
                            f"Only {OUTPUT_MAX} characters are allowed; {len(value)} were supplied.", doc=DOC)
    status, conclusion = body.get("status"), body.get("conclusion")
    if conclusion is not None:
        status = "completed"
    if status == "completed" and conclusion is None and run.conclusion is None:
        raise HttpError(422, "Invalid request.\n\nconclusion is required when status is completed.", doc=DOC)
    if body.get("completed_at") and conclusion is None and run.conclusion is None:
        raise HttpError(422, "Invalid request.\n\nconclusion is required when completed_at is given.", doc=DOC)

    for key in ("name", "details_url", "external_id", "started_at"):
        if body.get(key) is not None:
            setattr(run, key, body[key])
    if status:
        run.status = status
    if run.status in ("in_progress", "completed") and run.started_at is None:
        run.started_at = now_iso()
    if conclusion is not None:
        run.conclusion = conclusion
    if run.status == "completed":
        run.completed_at = body.get("completed_at") or run.completed_at or now_iso()
    if output:
        run.title = output.get("title", run.title)
        run.summary = output.get("summary", run.summary)
        run.text = output.get("text", run.text)
        run.annotations.extend(annotations)
    if body.get("actions") is not None:
        run.actions = list(body["actions"])
    run.updates += 1


@route("POST", "/repos/{owner}/{repo}/check-runs", app_only=True)
def create_check_run(ctx: Ctx) -> Reply:
    ctx.state.repo(ctx.repo)
    body = ctx.body if isinstance(ctx.body, dict) else {}
    if not body.get("name") or not body.get("head_sha"):
        raise HttpError(422, "Invalid request.\n\n\"name\" and \"head_sha\" are required.", doc=DOC)
    sha = ctx.state.resolve_ref(ctx.repo, str(body["head_sha"]))
    if sha is None:
        raise HttpError(422, "No commit found for SHA: " + str(body["head_sha"]), doc=DOC)
    probe = CheckRun(0, "", ctx.repo, str(body["name"]), sha, 0)
    _apply(ctx, probe, body)  # validates before anything is stored
    run = ctx.state.add_check_run(ctx.repo, probe.name, sha)
    for key, value in vars(probe).items():
        if key not in ("id", "node_id", "check_suite_id", "repo", "head_sha"):
            setattr(run, key, value)
    return Reply(201, ctx.render.check_run(run))


def _run(ctx: Ctx) -> CheckRun:
    ctx.state.repo(ctx.repo)
    run = ctx.state.check_runs.get(ctx.int_param("check_run_id"))
    if run is None or run.repo != ctx.repo:
        raise HttpError(404, "Not Found", doc=DOC)
    return run


@route("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}")
def get_check_run(ctx: Ctx) -> Reply:
    return Reply(200, ctx.render.check_run(_run(ctx)))


@route("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}", app_only=True)
def update_check_run(ctx: Ctx) -> Reply:
    run = _run(ctx)
    body = ctx.body if isinstance(ctx.body, dict) else {}
    probe = CheckRun(**{**vars(run), "annotations": list(run.annotations)})
    _apply(ctx, probe, body)
    for key, value in vars(probe).items():
        setattr(run, key, value)
    return Reply(200, ctx.render.check_run(run))


@route("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs")
def list_for_ref(ctx: Ctx) -> Reply:
    ctx.state.repo(ctx.repo)
    sha = ctx.state.resolve_ref(ctx.repo, ctx.params["ref"])
    if sha is None:
        raise HttpError(422, f"No commit found for SHA: {ctx.params['ref']}", doc=DOC)
    name, status = ctx.query.get("check_name"), ctx.query.get("status")
    runs = [r for r in sorted(ctx.state.check_runs.values(), key=lambda r: r.id, reverse=True)
            if r.repo == ctx.repo and r.head_sha == sha and (name is None or r.name == name)
            and (status is None or r.status == status)]
    if ctx.query.get("filter", "latest") == "latest":
        seen: set[str] = set()
        runs = [r for r in runs if not (r.name in seen or seen.add(r.name))]  # type: ignore[func-returns-value]
    rendered = [ctx.render.check_run(r) for r in runs]
    return paginate(ctx, rendered, wrap=lambda page: {"total_count": len(rendered), "check_runs": page})
