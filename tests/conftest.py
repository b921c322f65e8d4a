import os

import pytest

pytest_plugins = ["tests.services.mlflow_server", "tests.fakegithub.fixtures", "tests.services.docker_engine",
                  "tests.services.churn_image", "tests.services.fake_kubernetes"]


@pytest.fixture(autouse=True, scope="session")
def _no_stray_mlflow_store(tmp_path_factory):
    """Code under test that falls back to MLflow's default store must not write into the checkout."""
    if "MLFLOW_TRACKING_URI" not in os.environ:
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path_factory.mktemp('mlflow-default')}/mlflow.db"
    yield
