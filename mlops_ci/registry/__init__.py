"""The model registry: where a model is registered, how the champion is found, what a version came from.

``champion`` (which model the challenger is measured against), ``mlflow_registry`` (MLflow aliases
and tags; the only module here that talks to MLflow), ``git_tags`` (a registry in git tags, GTO's
conventions), ``lineage`` (flat lineage tags), ``model_dir`` (an MLflow model directory written
directly), ``model_source`` (which model goes into the image), and the two stories: ``register`` (a new
version with its lineage) and ``promote`` (challenger to champion, gate re-checked). May import ``adapters``, ``gate``
and the root modules; never ``commands``.
"""
