pytest_plugins = ["tests.services.mlflow_server"]
