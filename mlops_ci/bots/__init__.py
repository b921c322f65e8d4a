"""The bots: ChatOps (``/mlops …`` comments) and the drift-issue bot, with the ``bot:`` and
``monitor:`` config they read.

``config`` is pydantic only (the root config imports it); ``chatops`` parses and authorises a
command; ``drift_issue`` keeps one open issue per drifting model. May import ``github``, ``registry``
and root modules; never ``commands``.
"""
