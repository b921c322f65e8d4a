"""A stateful fake of GitHub's REST and GraphQL APIs, validated against GitHub's own descriptions.

Every request and response is checked with openapi-core against the pinned
``@octokit/openapi`` description, every GraphQL query against the pinned
``@octokit/graphql-schema``; unknown endpoints and validation errors are
recorded and fail the test (see ``fixtures.py``). Event payload fixtures are
checked against ``@octokit/openapi-webhooks`` (``webhooks.py``, ``events.py``).
"""

from tests.fakegithub.fake import FakeGitHub
from tests.fakegithub.state import BOT_LOGIN, DEFAULT_REPO, MAIN_SHA
from tests.fakegithub.webhooks import EventInvalid, validate_event

__all__ = ["FakeGitHub", "BOT_LOGIN", "DEFAULT_REPO", "MAIN_SHA", "EventInvalid", "validate_event"]
