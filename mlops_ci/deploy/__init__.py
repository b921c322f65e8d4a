"""Deploying the serving image: targets (docker, kubernetes), smoke parity, rollback, the model card.

Domain modules here are pure (:mod:`.plan`, :mod:`.smoke`, :mod:`.manifests`,
:mod:`.modelcard`); the targets drive adapters (Docker SDK, Kubernetes client).
"""
