"""A check run the API left in progress is completed by the re-run; the step never says success alone.

The gate creates `mlops-ci / gate` first, then completes it. When GitHub refuses the completion
(here: every PATCH of a check run answered 422 by the fake GitHub), the check is orphaned
`in_progress`: the step must then not output `conclusion=success`, and a re-run of the job must
complete that same check run instead of adding another one next to it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_ci.github.api import GitHub
from mlops_ci.github.checks import CheckOutcome, CheckRun
from tests.integration.test_gate_fail_closed import gate_in_actions  # noqa: F401 - fixture

pytestmark = pytest.mark.integration

NAME = "mlops-ci / gate"


def outputs(tmp_path: Path) -> list[tuple[str, str]]:
    """The step outputs written, in order (GITHUB_OUTPUT of the fixture; `name=value` lines)."""
    path = tmp_path / "output"
    if not path.exists():
        return []
    return [tuple(line.split("=", 1)) for line in path.read_text().splitlines() if "=" in line]  # type: ignore[misc]


def test_orphaned_check_is_completed_on_retry(gate_in_actions, fake_github, tmp_path):  # noqa: F811
    head, gate = gate_in_actions(0.85)  # a passing change
    fake_github.inject("PATCH", r"/check-runs/\d+$", 422, body={"message": "Validation Failed"}, times=10)
    assert gate() != 0
    (orphan,) = fake_github.check_runs(head, NAME)
    assert orphan.status == "in_progress"
    said = outputs(tmp_path)
    assert ("conclusion", "success") not in said, said
    assert ("conclusion", "failure") in said, said

    fake_github.faults.clear()
    (tmp_path / "output").unlink()
    assert gate() == 0  # the job re-run
    (check,) = fake_github.check_runs(head, NAME)  # the same check run, not a second one
    assert check.id == orphan.id
    assert check.status == "completed" and check.conclusion == "success"
    assert ("conclusion", "success") in outputs(tmp_path)


def test_older_orphans_are_completed_as_superseded(fake_github, dvc_repo):
    head = dvc_repo.commit("head")
    api = GitHub.from_env(fake_github.env(), fake_github.repo)
    first = api.create_check_run(NAME, head, status="in_progress")
    second = api.create_check_run(NAME, head, status="in_progress")
    other = api.create_check_run("someone else's check", head, status="in_progress")

    run = CheckRun(api, NAME, head)
    run.start()
    assert run.id == second["id"]  # the newest orphan is taken over
    run.complete(CheckOutcome("success", "Gate passed", "all rules hold"))

    by_id = {c.id: c for c in fake_github.check_runs(head)}
    assert by_id[second["id"]].conclusion == "success"
    assert by_id[first["id"]].status == "completed" and by_id[first["id"]].conclusion == "cancelled"
    assert by_id[other["id"]].status == "in_progress"  # another check's runs are not ours to complete
    assert len(by_id) == 3
