"""The MLflow tracking server and model registry.

Only `MlflowClient` is used: no `mlflow.sklearn.log_model`, whose pip
requirement inference alone costs ~7 s and which imports scikit-learn. The
model directory (MLmodel + pickle + explicit requirements) is written by
:mod:`mlops_ci.registry.model_dir` and uploaded as plain artifacts.

Aliases (`champion`, `challenger`, `production`) are the registry's source of
truth; stages are read only as a fallback for registries that predate aliases.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, MutableMapping

from mlops_ci.errors import MlopsError
from mlops_ci.redact import describe, redact

log = logging.getLogger(__name__)

#: MLflow's limits: 100 params / 1000 metrics per batch, param values up to 6000 characters.
_PARAM_BATCH, _METRIC_BATCH, _PARAM_VALUE_MAX, _TAG_VALUE_MAX = 100, 1000, 6000, 5000
STAGE_FOR_ALIAS = {"champion": "Production", "production": "Production", "challenger": "Staging"}

#: MLflow's own HTTP defaults (7 retries with exponential backoff, 120 s per request) make an
#: unreachable tracking server take about 4 minutes to fail a CI job. Unless the user set them, these
#: bounded ones apply: 2 retries, 1 s backoff factor, 15 s per request.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                 "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5", "MLFLOW_HTTP_REQUEST_TIMEOUT": "15"}
#: Before the first call to an http(s) server: GET /health, PROBE_ATTEMPTS times, PROBE_TIMEOUT s each.
PROBE_TIMEOUT, PROBE_ATTEMPTS, PROBE_PAUSE = 5.0, 2, 1.0


class RegistryError(MlopsError):
    """The registry could not be reached or refused a call (exit 1; the gate fails closed on it)."""


class RegistryUnreachable(RegistryError):
    """No answer from the tracking server at all: refused, timed out, unknown host."""


@dataclass
class ModelRecord:
    name: str
    version: str
    run_id: str | None
    source: str
    how: str  # "alias champion", "stage Production", …
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


class Registry:
    def __init__(self, tracking_uri: str, registry_uri: str | None = None) -> None:
        self.tracking_uri = tracking_uri
        self.registry_uri = registry_uri or tracking_uri
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from mlops_ci.extras import require

            require(["mlflow"], f"the MLflow registry ({redact(self.tracking_uri)})")
            import mlflow
            from mlflow import MlflowClient

            # MLflow's own INFO lines (database migrations…) and progress bars are noise in a CI log.
            logging.getLogger("mlflow").setLevel(logging.WARNING)
            os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
            user_set = bounded_http_defaults()
            if not user_set:  # who tuned MLflow's retries/timeout keeps exactly what they asked for
                for uri in dict.fromkeys((self.tracking_uri, self.registry_uri)):
                    probe(uri)

            mlflow.set_tracking_uri(self.tracking_uri)
            self._client = MlflowClient(self.tracking_uri, self.registry_uri)
        return self._client

    def _error(self, what: str, exc: Exception) -> RegistryError:
        # redacted before it is cut: a cut inside "http://user:pass@" would hide the "@" the redaction looks for
        detail = describe(exc)[:500]
        if _connection_failure(exc):
            return RegistryUnreachable(f"MLflow ({redact(self.tracking_uri)}) is unreachable: "
                                       f"{what} failed: {detail}", hint=UNREACHABLE_HINT)
        return RegistryError(f"MLflow ({redact(self.tracking_uri)}): {what} failed: {detail}")

    def _call(self, what: str, fn, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN001
        try:
            return fn(*args, **kwargs)
        except MlopsError:
            raise
        except Exception as exc:
            raise self._error(what, exc) from exc

    @staticmethod
    def _not_found(exc: Exception) -> bool:
        text = f"{getattr(exc, 'error_code', '')} {exc}"
        return "RESOURCE_DOES_NOT_EXIST" in text or "not found" in text.lower() or "INVALID_PARAMETER_VALUE" in text

    # -- reading ------------------------------------------------------------
    def by_alias(self, name: str, alias: str) -> ModelRecord | None:
        """The version behind ``alias``; falls back to the matching stage on old registries."""
        try:
            mv = self.client.get_model_version_by_alias(name, alias)
            how = f"alias {alias}"
        except Exception as exc:  # noqa: BLE001 - MLflow raises MlflowException for everything
            if isinstance(exc, MlopsError):
                raise
            if _connection_failure(exc) or not self._not_found(exc):
                raise self._error(f"reading alias {name}@{alias}", exc) from exc
            mv = self._by_stage(name, STAGE_FOR_ALIAS.get(alias))
            if mv is None:
                return None
            how = f"stage {mv.current_stage} (no alias {alias}; legacy stages)"
        return self._record(mv, how)

    def _by_stage(self, name: str, stage: str | None) -> Any:
        if stage is None:
            return None
        import warnings

        try:
            with warnings.catch_warnings():  # stages are deprecated: this is the documented fallback
                warnings.simplefilter("ignore", FutureWarning)
                versions = self.client.get_latest_versions(name, stages=[stage])
        except Exception as exc:  # noqa: BLE001
            if self._not_found(exc) and not _connection_failure(exc):
                return None
            raise self._error(f"reading stage {stage} of {name}", exc) from exc
        return versions[0] if versions else None

    def version_for_commit(self, name: str, sha: str) -> ModelRecord | None:
        """The newest version of ``name`` registered from commit ``sha`` (lineage tag), if any.

        What makes `register` idempotent: a re-run of the same main job finds its version again
        instead of adding an identical one.
        """
        from mlops_ci.registry.lineage import PREFIX

        query = f"name = '{_quoted(name)}' and tags.`{PREFIX}git_sha` = '{_quoted(sha)}'"
        try:
            found = list(self.client.search_model_versions(query))
        except Exception as exc:  # noqa: BLE001 - MLflow raises MlflowException for everything
            if isinstance(exc, MlopsError):
                raise
            if _connection_failure(exc) or not self._not_found(exc):
                raise self._error(f"looking for versions of {name} from commit {sha[:12]}", exc) from exc
            return None
        found = [mv for mv in found if (mv.tags or {}).get(f"{PREFIX}git_sha") == sha]
        if not found:
            return None
        newest = max(found, key=lambda mv: int(mv.version))
        return self._record(newest, f"version {newest.version} (commit {sha[:12]})")

    def version(self, name: str, version: str) -> ModelRecord:
        mv = self._call(f"reading {name} v{version}", self.client.get_model_version, name, str(version))
        return self._record(mv, f"version {version}")

    def _record(self, mv: Any, how: str) -> ModelRecord:
        metrics: dict[str, float] = {}
        params: dict[str, str] = {}
        if mv.run_id:
            run = self._call(f"reading run {mv.run_id}", self.client.get_run, mv.run_id)
            metrics, params = dict(run.data.metrics), dict(run.data.params)
        return ModelRecord(mv.name, str(mv.version), mv.run_id, mv.source, how, metrics, params,
                           dict(mv.tags or {}), list(getattr(mv, "aliases", []) or []))

    def download(self, run_id: str, artifact_path: str, dst: Path) -> Path | None:
        """An artifact of ``run_id``, or None if it was never logged."""
        from mlflow.artifacts import download_artifacts

        self.client  # noqa: B018 - bounded HTTP defaults and the reachability probe, before MLflow reads them
        try:
            return Path(download_artifacts(run_id=run_id, artifact_path=artifact_path, dst_path=str(dst),
                                           tracking_uri=self.tracking_uri))
        except Exception as exc:  # noqa: BLE001
            log.debug("artifact %s of run %s not available: %s", artifact_path, run_id, exc)
            return None

    # -- writing ------------------------------------------------------------
    def log_run(self, experiment: str, *, run_name: str, params: Mapping[str, Any], metrics: Mapping[str, float],
                tags: Mapping[str, str], artifacts: Iterable[tuple[Path, str]]) -> str:
        """One run with everything a version's lineage needs; returns its id."""
        from mlflow.entities import Metric, Param, RunTag

        client = self.client
        exp = self._call("reading the experiment", client.get_experiment_by_name, experiment)
        exp_id = exp.experiment_id if exp else self._call("creating the experiment", client.create_experiment,
                                                          experiment, artifact_location=self._artifact_root())
        run = self._call("creating a run", client.create_run, exp_id, run_name=run_name,
                         tags={k: _clip(v, _TAG_VALUE_MAX) for k, v in tags.items()})
        run_id = run.info.run_id
        import time

        now = int(time.time() * 1000)
        plist = [Param(k, _clip(str(v), _PARAM_VALUE_MAX)) for k, v in params.items()]
        mlist = [Metric(k, float(v), now, 0) for k, v in metrics.items()]
        for i in range(0, len(plist), _PARAM_BATCH):
            self._call("logging params", client.log_batch, run_id, params=plist[i:i + _PARAM_BATCH])
        for i in range(0, len(mlist), _METRIC_BATCH):
            self._call("logging metrics", client.log_batch, run_id, metrics=mlist[i:i + _METRIC_BATCH])
        for local, artifact_path in artifacts:
            if local.is_dir():
                self._call(f"uploading {local}", client.log_artifacts, run_id, str(local), artifact_path)
            else:
                self._call(f"uploading {local}", client.log_artifact, run_id, str(local), artifact_path or None)
        self._call("finishing the run", client.set_terminated, run_id)
        return run_id

    def _artifact_root(self) -> str | None:
        """A SQLite store keeps artifacts beside the database, not in ./mlruns of whatever the cwd is."""
        if self.tracking_uri.startswith("sqlite:///"):
            database = Path(self.tracking_uri[len("sqlite:///"):])
            return (database.parent / "mlartifacts").resolve().as_uri()
        return None  # a server decides (--artifacts-destination / --default-artifact-root)

    def create_version(self, name: str, run_id: str, artifact_path: str, tags: Mapping[str, str]) -> str:
        client = self.client
        try:
            client.create_registered_model(name)
        except Exception as exc:  # noqa: BLE001
            if "RESOURCE_ALREADY_EXISTS" not in f"{getattr(exc, 'error_code', '')} {exc}":
                raise RegistryError(f"MLflow: creating registered model {name} failed: {exc}") from exc
        run = self._call("reading the run", client.get_run, run_id)
        source = f"{run.info.artifact_uri.rstrip('/')}/{artifact_path}"
        mv = self._call("creating a model version", client.create_model_version, name, source, run_id,
                        tags={k: _clip(v, _TAG_VALUE_MAX) for k, v in tags.items()})
        return str(mv.version)

    def set_alias(self, name: str, alias: str, version: str) -> None:
        """Point ``alias`` at ``version``; on a registry without aliases, move the matching stage instead.

        Servers older than MLflow 2.3 answer the alias endpoint with 404: there `champion` and
        `production` become stage Production and `challenger` Staging (older versions archived),
        the same mapping :meth:`by_alias` reads back.
        """
        try:
            self.client.set_registered_model_alias(name, alias, str(version))
            return
        except Exception as exc:  # noqa: BLE001 - MLflow raises MlflowException for everything
            stage = STAGE_FOR_ALIAS.get(alias)
            legacy = not _connection_failure(exc) and _no_such_endpoint(exc)
            if legacy and alias.startswith("previous-"):
                return  # the stage move of the new version archives the previous one: that is its record
            if stage is None or not legacy:
                raise self._error(f"setting alias {alias}", exc) from exc
        log.warning("MLflow at %s has no model aliases (older than 2.3): moving %s v%s to stage %s instead",
                    redact(self.tracking_uri), name, version, stage)
        self.transition_stage(name, str(version), stage)

    def delete_alias(self, name: str, alias: str) -> None:
        try:
            self.client.delete_registered_model_alias(name, alias)
        except Exception as exc:  # noqa: BLE001
            if not self._not_found(exc):
                raise RegistryError(f"MLflow: deleting alias {alias} failed: {exc}") from exc

    def set_version_tags(self, name: str, version: str, tags: Mapping[str, str]) -> None:
        for key, value in tags.items():
            self._call(f"tagging {name} v{version}", self.client.set_model_version_tag, name, str(version), key,
                       _clip(str(value), _TAG_VALUE_MAX))

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        self._call(f"tagging {name}", self.client.set_registered_model_tag, name, key, _clip(value, _TAG_VALUE_MAX))

    def model_tags(self, name: str) -> dict[str, str]:
        model = self._call(f"reading {name}", self.client.get_registered_model, name)
        return dict(model.tags or {})

    def transition_stage(self, name: str, version: str, stage: str) -> None:
        import warnings

        with warnings.catch_warnings():  # stages are deprecated: this is the documented fallback
            warnings.simplefilter("ignore", FutureWarning)
            self._call(f"moving {name} v{version} to {stage}", self.client.transition_model_version_stage, name,
                       str(version), stage, archive_existing_versions=True)


UNREACHABLE_HINT = ("Check the tracking URI (mlflow.tracking_uri / $MLFLOW_TRACKING_URI) and that the server is up "
                    "and reachable from the runner. mlops-ci bounds MLflow's HTTP retries and timeout unless "
                    "MLFLOW_HTTP_REQUEST_MAX_RETRIES / MLFLOW_HTTP_REQUEST_TIMEOUT are set.")


def bounded_http_defaults(environ: "MutableMapping[str, str] | None" = None) -> bool:
    """Put :data:`HTTP_DEFAULTS` into the environment where unset; True if the user set retries or timeout.

    MLflow reads these variables at each request, so setting them before the first call is enough.
    """
    env = os.environ if environ is None else environ
    ours = _SET_BY_US if env is os.environ else set()
    user_set = any(env.get(key) and key not in ours
                   for key in ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"))
    for key, value in HTTP_DEFAULTS.items():
        if not env.get(key):
            env[key] = value
            ours.add(key)
    return user_set


#: Which variables :func:`bounded_http_defaults` put into os.environ itself, so a second Registry in
#: the same process does not mistake them for the user's.
_SET_BY_US: set[str] = set()


def probe(uri: str, *, timeout: float = PROBE_TIMEOUT, attempts: int = PROBE_ATTEMPTS,
          pause: float = PROBE_PAUSE) -> None:
    """Fail fast with :class:`RegistryUnreachable` when an http(s) tracking server does not answer at all.

    Any HTTP answer (200, 401, 404…) counts as reachable, and so does anything that is not plainly a
    connection failure (a TLS setting, a proxy quirk): MLflow's own client, with its settings, decides then.
    """
    import socket
    import time
    import urllib.error
    import urllib.parse
    import urllib.request

    parts = urllib.parse.urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return
    try:
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        netloc = f"{host}:{parts.port}" if parts.port else host  # credentials stay out of the probe
    except ValueError:
        return  # a malformed port: MLflow will say so
    url = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/") + "/health", "", ""))
    failure: BaseException | None = None
    for attempt in range(attempts):
        if attempt:
            time.sleep(pause)
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="GET"), timeout=timeout):
                return
        except urllib.error.HTTPError:
            return
        except Exception as exc:  # noqa: BLE001
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            if not isinstance(reason, (ConnectionError, TimeoutError, socket.gaierror)):
                return
            failure = reason
    raise RegistryUnreachable(
        f"MLflow ({redact(uri)}) is unreachable: no answer to GET {url} "
        f"({attempts} attempts, {timeout:g} s timeout each): {failure.__class__.__name__}: {failure}",
        hint=UNREACHABLE_HINT)


def _connection_failure(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says the server never answered."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (ConnectionError, TimeoutError)):
            return True
        if current.__class__.__module__.split(".")[0] in ("requests", "urllib3") and any(
                word in current.__class__.__name__ for word in ("ConnectionError", "Timeout")):
            return True
        current = current.__cause__ or current.__context__
    text = str(exc)
    return "Max retries exceeded" in text and ("Connection refused" in text or "timed out" in text.lower()
                                                or "Name or service not known" in text)


def _clip(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _no_such_endpoint(exc: Exception) -> bool:
    """The server does not know the REST endpoint (an MLflow older than the feature)."""
    text = f"{getattr(exc, 'error_code', '')} {exc}"
    if "RESOURCE_DOES_NOT_EXIST" in text:  # the endpoint exists; the model or version does not
        return False
    return "ENDPOINT_NOT_FOUND" in text or "404 != 200" in text or "error code 404" in text


def model_version_url(tracking_uri: str, name: str, version: str) -> str | None:
    """The MLflow UI page of a model version, for an http(s) tracking server (None for local stores)."""
    from urllib.parse import quote

    if not tracking_uri.startswith(("http://", "https://")):
        return None
    base = tracking_uri.rstrip("/")
    if "@" in base.split("://", 1)[1].split("/", 1)[0]:  # never put credentials into a link
        scheme, rest = base.split("://", 1)
        base = f"{scheme}://{rest.split('@', 1)[1]}"
    return f"{base}/#/models/{quote(name, safe='')}/versions/{quote(str(version), safe='')}"


def temp_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="mlops-ci-mlflow-"))


def _quoted(value: str) -> str:
    """A value inside single quotes of an MLflow search filter."""
    return value.replace("\\", "\\\\").replace("'", "\\'")
