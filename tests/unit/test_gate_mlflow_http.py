"""MLflow HTTP defaults the registry adapter bounds, and what counts as 'unreachable'."""

import pytest

from mlops_ci.registry.mlflow_registry import HTTP_DEFAULTS, _connection_failure, bounded_http_defaults


def test_defaults_fill_only_what_is_unset():
    env = {"MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "3"}
    assert bounded_http_defaults(env) is False
    assert env == {**HTTP_DEFAULTS, "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "3"}
    assert int(env["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]) <= 3 and int(env["MLFLOW_HTTP_REQUEST_TIMEOUT"]) <= 20


@pytest.mark.parametrize("key", ["MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT"])
def test_user_settings_win_and_are_reported(key):
    env = {key: "9"}
    assert bounded_http_defaults(env) is True
    assert env[key] == "9"


def test_empty_values_count_as_unset():
    env = {"MLFLOW_HTTP_REQUEST_TIMEOUT": ""}
    assert bounded_http_defaults(env) is False
    assert env["MLFLOW_HTTP_REQUEST_TIMEOUT"] == HTTP_DEFAULTS["MLFLOW_HTTP_REQUEST_TIMEOUT"]


def chained(*excs):
    """The last exception raised from the one before it, as MLflow wraps requests' errors."""
    for cause, exc in zip(excs, excs[1:]):
        exc.__cause__ = cause
    return excs[-1]


class MlflowException(Exception):
    pass


def test_connection_failures_are_recognised_through_the_chain():
    assert _connection_failure(chained(ConnectionRefusedError(111, "Connection refused"), MlflowException("x")))
    assert _connection_failure(chained(TimeoutError("timed out"), MlflowException("x")))
    assert _connection_failure(MlflowException(
        "API request failed with exception HTTPConnectionPool(host='h', port=1): Max retries exceeded "
        "(Caused by NewConnectionError('Failed to establish a new connection: [Errno 111] Connection refused'))"))


def test_answers_are_not_connection_failures():
    assert not _connection_failure(MlflowException("RESOURCE_DOES_NOT_EXIST: Registered model 'm' not found"))
    assert not _connection_failure(MlflowException("API request failed: Max retries exceeded "
                                                   "(Caused by ResponseError('too many 503 error responses'))"))
    assert not _connection_failure(chained(ValueError("bad json"), MlflowException("x")))
