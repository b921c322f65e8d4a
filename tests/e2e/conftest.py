"""Fixtures for the act end-to-end tests.

    def test_something(act_runner, act_repo):
        repo = act_repo({"dvc.yaml": "..."})          # toolkit copy + these files, committed
        act_runner.seed_toolkit()                      # actions/setup reuses the dev venv
        result = act_runner.run(repo, WORKFLOW, event="push")
        result.assert_ok()
        assert result.step("setup").outputs["version"] == "0.1.0"

When a test fails, the log of every act run it made is attached to the report ("act run N").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from tests.e2e.act_harness import ActNotAvailable, ActRepo, ActRunner, find_act

_RUNNERS = pytest.StashKey[list]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        runs = [r for runner in item.stash.get(_RUNNERS, []) for r in runner.results]
        for number, result in enumerate(runs, 1):
            report.sections.append((f"act run {number} ({result.run_dir})", result.describe(tail=200)))


@pytest.fixture(scope="session")
def act_binary() -> str:
    try:
        return find_act()
    except ActNotAvailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def make_runner(request: pytest.FixtureRequest, tmp_path: Path, act_binary: str) -> Callable[..., ActRunner]:
    """Factory: a fresh runner host (own HOME, act cache, tool cache) per call."""
    made: list[ActRunner] = request.node.stash.setdefault(_RUNNERS, [])

    def factory(name: str = "runner", **kwargs: Any) -> ActRunner:
        runner = ActRunner(tmp_path / f"{name}-{len(made)}", act=act_binary, **kwargs)
        made.append(runner)
        return runner

    return factory


@pytest.fixture
def act_runner(make_runner: Callable[..., ActRunner]) -> ActRunner:
    """A runner host with an empty tool cache."""
    return make_runner()


@pytest.fixture
def seeded_runner(make_runner: Callable[..., ActRunner]) -> ActRunner:
    """A runner host whose mlops-ci setup cache already holds the dev venv (no install needed)."""
    runner = make_runner("seeded")
    runner.seed_toolkit()
    return runner


@pytest.fixture
def act_repo(tmp_path: Path) -> Callable[..., ActRepo]:
    """Factory: ``act_repo(files=None, toolkit=True, repository="org/project")`` -> ActRepo."""
    count = 0

    def factory(files: dict[str, str | bytes] | None = None, **kwargs: Any) -> ActRepo:
        nonlocal count
        count += 1
        return ActRepo.create(tmp_path / f"repo-{count}", files, **kwargs)

    return factory
