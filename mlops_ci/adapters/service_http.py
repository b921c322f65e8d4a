"""HTTP calls to a deployed model server: wait for /health, send /predict batches.

Used by every deploy target after it started something: readiness is what the
server itself says (``/health`` 200 only once the model is loaded), not merely
"the port is open".
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import requests

from mlops_ci.errors import MlopsError


class ServiceError(MlopsError):
    """The service answered something unusable (exit 1)."""


@dataclass
class Health:
    ok: bool
    seconds: float
    detail: str  # last status / error seen
    model: dict[str, Any] | None = None


def wait_healthy(base_url: str, timeout: float, *, interval: float = 0.25,
                 still_running: Callable[[], bool] | None = None) -> Health:
    """Poll ``/health`` until 200, the deadline, a load failure, or the container dying.

    The mlops-ci server reports ``{"status": "failed"}`` when loading the model
    raised: that is final, so there is no point waiting out the timeout.
    """
    started = time.monotonic()
    detail = "no answer"
    while True:
        try:
            resp = requests.get(f"{base_url.rstrip('/')}/health", timeout=2)
            body = _json(resp)
            if resp.status_code == 200:
                return Health(True, time.monotonic() - started, "ok", body.get("model"))
            detail = f"HTTP {resp.status_code} {body.get('status', '')}".strip()
            if body.get("error"):
                detail += f": {str(body['error']).strip().splitlines()[-1][:300]}"
            if body.get("status") == "failed":  # the server says the model will never load: stop waiting
                return Health(False, time.monotonic() - started, f"the model failed to load ({detail})")
        except requests.RequestException as exc:
            detail = f"no answer ({exc.__class__.__name__})"
        if still_running is not None and not still_running():
            return Health(False, time.monotonic() - started, f"the container exited ({detail})")
        if time.monotonic() - started >= timeout:
            return Health(False, time.monotonic() - started, f"not healthy after {timeout:.0f} s: {detail}")
        time.sleep(interval)


def predict(base_url: str, rows: Sequence[Mapping[str, Any]], *, batch: int = 100,
            timeout: float = 30) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(0, len(rows), batch):
        resp = request("POST", f"{base_url.rstrip('/')}/predict", json={"instances": list(rows[i:i + batch])},
                       timeout=timeout)
        body = _json(resp)
        if resp.status_code != 200:
            errors = body.get("errors") or body.get("detail") or resp.text[:300]
            raise ServiceError(f"/predict answered {resp.status_code}: {errors}")
        out.extend(body.get("predictions") or [])
    return out


def get_json(url: str, timeout: float = 10) -> dict[str, Any]:
    resp = request("GET", url, timeout=timeout)
    if resp.status_code != 200:
        raise ServiceError(f"GET {url} answered {resp.status_code}")
    return _json(resp)


def request(method: str, url: str, *, attempts: int = 3, **kwargs: Any) -> requests.Response:
    """One HTTP call, retried on dropped connections (a just-started container, a proxy hiccup)."""
    for attempt in range(1, attempts + 1):
        try:
            return requests.request(method, url, **kwargs)
        except requests.ConnectionError as exc:
            if attempt == attempts:
                raise ServiceError(f"{method} {url} failed after {attempts} attempts: {exc}") from exc
            time.sleep(0.5 * attempt)
        except requests.RequestException as exc:
            raise ServiceError(f"{method} {url} failed: {exc.__class__.__name__}: {exc}") from exc
    raise AssertionError("unreachable")


def _json(resp: requests.Response) -> dict[str, Any]:
    try:
        data = resp.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
