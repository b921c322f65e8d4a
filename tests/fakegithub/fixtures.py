"""pytest fixtures for the fake GitHub (registered in ``tests/conftest.py``).

``fake_github``          a started fake at ``fake.url`` (REST root, like api.github.com)
``fake_github_ghe``      the same under ``/api/v3`` (GitHub Enterprise layout; GraphQL at ``/api/graphql``)
``fake_github_factory``  ``make(prefix="", repo=…)`` for several fakes or custom set-ups

At teardown every fake is stopped and, if it recorded unknown endpoints or
OpenAPI/GraphQL validation errors, the test fails listing them all. A test that
provokes failures on purpose consumes them with ``fake.take_failures()``.
"""

from __future__ import annotations

from typing import Callable, Iterator

import pytest

from tests.fakegithub.fake import FakeGitHub


@pytest.fixture(scope="session")
def _fakegithub_spec() -> None:
    """Build the OpenAPI validators once per session (cached subset → fast)."""
    from tests.fakegithub.app import operations
    from tests.fakegithub.spec import get_spec

    get_spec(operations())


@pytest.fixture
def fake_github_factory(_fakegithub_spec: None) -> Iterator[Callable[..., FakeGitHub]]:
    made: list[FakeGitHub] = []

    def make(prefix: str = "", **kwargs: object) -> FakeGitHub:
        fake = FakeGitHub(prefix=prefix, **kwargs).start()  # type: ignore[arg-type]
        made.append(fake)
        return fake

    yield make
    problems = []
    for fake in made:
        fake.stop()
        try:
            fake.assert_clean()
        except AssertionError as exc:
            problems.append(f"{fake.url}: {exc}")
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def fake_github(fake_github_factory: Callable[..., FakeGitHub]) -> FakeGitHub:
    return fake_github_factory()


@pytest.fixture
def fake_github_ghe(fake_github_factory: Callable[..., FakeGitHub]) -> FakeGitHub:
    return fake_github_factory(prefix="/api/v3")
