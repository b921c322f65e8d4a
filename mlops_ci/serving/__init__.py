"""The model server that goes into the serving image.

This package is copied into the image on its own (with ``mlops_ci/__init__.py``)
and runs there with nothing but FastAPI, uvicorn, pydantic and the model's
runtime — the model's own requirements for a pickle, or ONNX Runtime and numpy
for a converted model (:mod:`.onnx_model`): it must never import the rest of
mlops-ci. ``serving.json`` (written at build time next to the model) tells it
the model's name, version, input schema and runtime; see
:mod:`mlops_ci.serving.app`. :mod:`.proxy`, the docker target's front proxy,
is standard library only.
"""

#: File next to the model describing it (name, version, input schema); written by `mlops-ci build`.
SERVING_FILE = "serving.json"
#: File next to the model with the parity case: sample rows and the offline predictions of the build's commit.
PARITY_FILE = "smoke.json"
#: Where the image keeps the model directory.
MODEL_DIR = "/opt/model"
#: The port the server listens on inside the container.
PORT = 8080
