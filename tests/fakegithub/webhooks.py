"""Validate GitHub Actions event payloads against ``@octokit/openapi-webhooks``.

Why: ``mlops_ci.github.context`` reads ``$GITHUB_EVENT_PATH``; fixtures invented by
hand drift from what GitHub sends. Each fixture is checked against the webhook
schema GitHub publishes for the same event and action (OpenAPI 3.1 /
JSON Schema 2020-12, with format checks).

Mapping: the Actions event name plus the payload's ``action`` picks the webhook
(``pull_request`` + ``opened`` → ``pull-request-opened``). ``pull_request_target``
delivers the ``pull_request`` payload, so it uses the same schemas.

``schedule`` has no webhook (GitHub does not send one; the runner synthesises
the payload), so :func:`validate_event` checks its minimal shape itself:
``schedule`` is a 5-field cron string and ``workflow`` (when present) a
``.github/workflows/*.yml`` path; ``repository``/``sender`` may be absent,
which is why consumers must fall back to ``GITHUB_REPOSITORY``.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from tests.fakegithub.spec import OCTOKIT

WEBHOOKS_SPEC = OCTOKIT / "openapi-webhooks" / "generated" / "api.github.com.json"
#: Actions event names whose payload is another event's webhook payload.
ALIASES = {"pull_request_target": "pull_request"}
CRON = re.compile(r"^\s*(\S+\s+){4}\S+\s*$")


class EventInvalid(AssertionError):
    """The payload does not match GitHub's published schema for that event."""


@functools.cache
def _doc() -> dict[str, Any]:
    return json.loads(WEBHOOKS_SPEC.read_text())


def webhook_name(event_name: str, payload: dict[str, Any]) -> str:
    """The ``webhooks`` key in the description for this Actions event + action."""
    base = ALIASES.get(event_name, event_name).replace("_", "-")
    hooks = _doc()["webhooks"]
    action = payload.get("action")
    if action and f"{base}-{action.replace('_', '-')}" in hooks:
        return f"{base}-{action.replace('_', '-')}"
    if base in hooks:
        return base
    raise EventInvalid(f"no webhook schema for event {event_name!r} action {action!r} "
                       f"(known: {sorted(k for k in hooks if k.startswith(base))})")


@functools.cache
def _validator(name: str) -> Any:
    from openapi_schema_validator import OAS31Validator, oas31_format_checker

    doc = _doc()
    body = doc["webhooks"][name]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return OAS31Validator({**body, "components": doc["components"]}, format_checker=oas31_format_checker)


def _schedule_errors(payload: dict[str, Any]) -> list[str]:
    errors = []
    cron = payload.get("schedule")
    if not isinstance(cron, str) or not CRON.match(cron):
        errors.append(f"schedule: expected a 5-field cron string, got {cron!r}")
    workflow = payload.get("workflow")
    if workflow is not None and not re.match(r"^\.github/workflows/[^/]+\.ya?ml$", str(workflow)):
        errors.append(f"workflow: expected .github/workflows/<file>.yml, got {workflow!r}")
    for key in ("repository", "sender"):
        if key in payload and not isinstance(payload[key], dict):
            errors.append(f"{key}: expected an object")
    return errors


def event_errors(event_name: str, payload: Any) -> list[str]:
    """Human-readable problems (empty when the payload is valid)."""
    if not isinstance(payload, dict):
        return [f"payload must be a JSON object, got {type(payload).__name__}"]
    if event_name == "schedule":
        return _schedule_errors(payload)
    name = webhook_name(event_name, payload)
    errs = sorted(_validator(name).iter_errors(payload), key=lambda e: list(e.absolute_path))
    return [f"{name}: at {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message[:300]}" for e in errs]


def validate_event(event_name: str, payload: Any) -> None:
    """Raise :class:`EventInvalid` listing every problem with ``payload`` as ``event_name``."""
    errors = event_errors(event_name, payload)
    if errors:
        raise EventInvalid(f"{event_name} payload is invalid ({len(errors)} problems):\n" + "\n".join(errors))
