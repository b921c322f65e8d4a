"""Running the team's DVC pipeline: the environment its stages get, their time limits, and what the log says.

``stage_env`` (a scrubbed environment: no tokens reach PR code), ``supervise`` (a process group
that cannot outlive its time limit), ``watch`` (stage timeouts and heartbeats), ``repro`` (what
happened during ``dvc repro``, read from its log), ``cost_record`` (GPU count and price into
``repro.json``), and ``run`` — the whole pull → repro → push story. ``adapters.dvc`` drives DVC itself.
"""
