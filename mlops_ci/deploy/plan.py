"""Pure decisions around a deploy: names, ports, URLs, release tags, the Deployment payload.

Nothing here talks to Docker, Kubernetes or GitHub; targets and commands call
these to decide, then act through adapters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from mlops_ci.errors import BadInput

_SEMVER = r"v?(?P<version>\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?)"
_RELEASE_TAG = re.compile(rf"^(?:(?P<model>[A-Za-z0-9][A-Za-z0-9._-]*)@)?{_SEMVER}$")
_DNS_LABEL = re.compile(r"[^a-z0-9-]+")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class ReleaseTag:
    tag: str
    version: str  # without the leading v
    model: str | None  # set for model@v1.2.3 tags


def parse_release_tag(tag: str) -> ReleaseTag:
    """``v1.2.3`` or ``model@v1.2.3`` (GTO style); anything else is bad input."""
    tag = tag.removeprefix("refs/tags/")
    match = _RELEASE_TAG.match(tag)
    if not match:
        raise BadInput(f"tag '{tag}': a release tag is v<major>.<minor>.<patch> or <model>@v<major>.<minor>.<patch>")
    return ReleaseTag(tag, match["version"], match["model"])


def dns_name(value: str, max_len: int = 63) -> str:
    """A DNS-1123 label (Kubernetes object names, container names that read well)."""
    name = _DNS_LABEL.sub("-", value.lower()).strip("-")[:max_len].strip("-")
    if not name:
        raise BadInput(f"'{value}': cannot make a service name of it; set deploy.service")
    return name


def service_name(configured: str | None, model_name: str, environment: str) -> str:
    """One service per environment: ``churn-staging``, ``churn-production``."""
    return dns_name(f"{configured or model_name}-{environment}")


def check_environment(environment: str, known: Mapping[str, Any]) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", environment or ""):
        raise BadInput(f"--environment '{environment}': letters, digits, '.', '_' and '-' only")
    if environment not in known:
        raise BadInput(f"--environment {environment}: not configured in deploy.environments "
                       f"(configured: {', '.join(sorted(known)) or 'none'})")
    return environment


def split_reference(reference: str) -> tuple[str, str]:
    """``repo@sha256:…`` → (repo, digest); anything not pinned by digest is refused."""
    repo, sep, digest = reference.partition("@")
    if not sep or not repo or not _DIGEST.match(digest):
        raise BadInput(f"image '{reference}': deploys take an image pinned by digest (repo@sha256:<64 hex>), "
                       "as `mlops-ci build` outputs it — never a mutable tag")
    return repo, digest


def environment_url(configured: str | None, host_address: str, port: int | None) -> str | None:
    if configured:
        return configured
    if port is None:
        return None
    return f"http://{host_address}:{port}"


def deployment_payload(*, image: str, model_name: str, model_version: str, previous: str | None,
                       target: str) -> dict[str, Any]:
    """What a GitHub Deployment records, so `rollback` can find the previous image without a registry."""
    return {"image": image, "model": {"name": model_name, "version": model_version}, "previous_image": previous,
            "target": target, "tool": "mlops-ci"}


def previous_image(deployments: list[Mapping[str, Any]], statuses: Mapping[int, str], current: str | None) -> str | None:
    """The newest image that deployed successfully and is not ``current``.

    ``deployments`` newest first (as GitHub lists them), ``statuses`` their latest
    state by id; a deployment whose latest status is ``inactive`` was
    superseded after succeeding, so it counts as a good one too.
    """
    for dep in deployments:
        payload = dep.get("payload") or {}
        image = payload.get("image") if isinstance(payload, Mapping) else None
        if not image or image == current:
            continue
        if statuses.get(int(dep["id"])) in ("success", "inactive"):
            return str(image)
    return None


def staged_image(deployments: list[Mapping[str, Any]], statuses: Mapping[int, str], sha: str) -> str | None:
    """The image the newest *successful* deployment of commit ``sha`` ran (newest first, as GitHub lists them).

    What a release promotes: exactly the digest that passed the staging checks
    for that commit — never whatever the commit's image tag points at today,
    which a rebuild moves to a digest staging never ran.
    """
    for dep in deployments:
        payload = dep.get("payload") or {}
        image = payload.get("image") if isinstance(payload, Mapping) else None
        if not image or dep.get("sha") != sha:
            continue
        if statuses.get(int(dep["id"])) in ("success", "inactive"):
            return str(image)
    return None


def summary_line(ok: bool, environment: str, image: str, detail: str) -> str:
    icon = "✅" if ok else "❌"
    return f"{icon} **{environment}** ← `{image}`: {detail}"
