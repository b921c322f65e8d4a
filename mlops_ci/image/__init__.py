"""Building the serving image: the Dockerfile as data, the build context, and the runtime it carries.

``spec`` (Dockerfile text, OCI labels, tags, requirements; pure), ``context`` (the directory
``docker build`` receives), ``runtime`` (pickle or ONNX, and the parity case baked into the
image), ``wheelhouse`` and ``onnx_export`` (the two steps that run tools), and ``build`` — the whole
build, tag and push story. What runs inside the
image lives in ``serving``; pushing and deploying it in ``deploy``.
"""
