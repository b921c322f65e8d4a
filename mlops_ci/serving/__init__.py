"""The model server that goes into the serving image.

This package is copied into the image on its own (with ``mlops_ci/__init__.py``)
and runs there with nothing but FastAPI, uvicorn, pydantic and the model's own
requirements: it must never import the rest of mlops-ci. ``serving.json``
(written at build time next to the pickle) tells it the model's name, version
and input schema; see :mod:`mlops_ci.serving.app`.
"""

#: File next to the model describing it (name, version, input schema); written by `mlops-ci build`.
SERVING_FILE = "serving.json"
#: Where the image keeps the model directory.
MODEL_DIR = "/opt/model"
#: The port the server listens on inside the container.
PORT = 8080
