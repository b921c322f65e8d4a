"""Publishing a check run that branch protection can require — and that never goes missing.

A required check that is never reported blocks merging forever, and one left
`in_progress` looks like a hung job. So the check is created first (in
progress), and whatever happens next it is completed: with the verdict, or
with `failure` and the reason when anything went wrong (fail closed).
Annotations go 50 per request, GitHub's limit; texts are cut to 65,535.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Literal, Mapping, Protocol

log = logging.getLogger(__name__)

OUTPUT_LIMIT = 65_535
ANNOTATIONS_PER_REQUEST = 50
Conclusion = Literal["success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required"]


class ChecksApi(Protocol):
    def create_check_run(self, name: str, head_sha: str, **kwargs: Any) -> dict[str, Any]: ...
    def update_check_run(self, check_run_id: int, **fields: Any) -> dict[str, Any]: ...


@dataclass
class CheckOutcome:
    conclusion: Conclusion
    title: str
    summary: str
    text: str | None = None
    annotations: tuple[Mapping[str, Any], ...] = ()


def clip(text: str, limit: int = OUTPUT_LIMIT) -> str:
    note = "\n\n… cut to GitHub's size limit; the full text is in the job summary."
    return text if len(text) <= limit else text[: limit - len(note)] + note


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class CheckRun:
    """``start()`` then exactly one ``complete(outcome)``; ``fail(reason)`` for errors."""

    def __init__(self, api: ChecksApi, name: str, head_sha: str, details_url: str | None = None) -> None:
        self.api, self.name, self.head_sha, self.details_url = api, name, head_sha, details_url
        self.id: int | None = None
        self.html_url: str | None = None

    def start(self, title: str = "Evaluating…") -> None:
        """Create the check in progress - or take over one a previous attempt left in progress.

        A job whose API calls failed after creating the check leaves it `in_progress` for good
        (an orphan: it looks like a hung job, and a required check that never completes blocks the
        merge). A re-run takes over the newest orphan of the same name on the same commit and
        completes any older ones as superseded, instead of adding one more.
        """
        output = {"title": title, "summary": "The gate is running."}
        orphans = self._orphans()
        if orphans:
            newest, *older = orphans
            data = self.api.update_check_run(int(newest["id"]), status="in_progress", details_url=self.details_url,
                                             output=output)
            for run in older:
                self.api.update_check_run(int(run["id"]), status="completed", conclusion="cancelled",
                                          completed_at=now(),
                                          output={"title": "Superseded by a re-run",
                                                  "summary": f"A re-run reports this check in check run {newest['id']}."})
        else:
            data = self.api.create_check_run(self.name, self.head_sha, status="in_progress",
                                             details_url=self.details_url, output=output)
        self.id, self.html_url = int(data["id"]), data.get("html_url")

    def _orphans(self) -> list[dict[str, Any]]:
        """In-progress runs of this check on this commit, newest first ([] when the API cannot list them)."""
        lister = getattr(self.api, "in_progress_check_runs", None)
        if lister is None:
            return []
        try:
            runs = [run for run in lister(self.head_sha, self.name) if run.get("name") == self.name]
        except Exception as exc:  # noqa: BLE001 - listing is best effort: a new check is always possible
            log.warning("could not look for unfinished %r check runs: %s", self.name, exc)
            return []
        return sorted(runs, key=lambda run: int(run["id"]), reverse=True)

    def complete(self, outcome: CheckOutcome) -> None:
        if self.id is None:
            self.start()
        assert self.id is not None
        batches = list(_batches(outcome.annotations, ANNOTATIONS_PER_REQUEST)) or [[]]
        output = {"title": clip(outcome.title, 1000), "summary": clip(outcome.summary)}
        if outcome.text:
            output["text"] = clip(outcome.text)
        first, rest = batches[0], batches[1:]
        self.api.update_check_run(self.id, status="completed", conclusion=outcome.conclusion, completed_at=now(),
                                  output={**output, **({"annotations": first} if first else {})})
        for batch in rest:
            self.api.update_check_run(self.id, output={"title": output["title"], "summary": output["summary"],
                                                       "annotations": batch})

    def fail(self, reason: str) -> None:
        self.complete(CheckOutcome("failure", f"Gate error: {reason.splitlines()[0][:200]}",
                                   f"The gate could not be evaluated, so it fails closed.\n\n```\n{reason}\n```"))


def _batches(items: Iterable[Mapping[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for item in items:
        batch.append(dict(item))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
