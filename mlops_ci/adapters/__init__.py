"""Code that talks to an outside system and has no better home: git, DVC, Docker, Kubernetes,
datasets on disk, HTTP to a served model, memory allocators.

Adapters that belong to one capability live in its package instead (``github.api``,
``registry.mlflow_registry``, ``runners.nvidia``, ``pipeline.supervise``, ``image.wheelhouse``).
Adapters import nothing from ``commands`` and keep domain decisions out.
"""
