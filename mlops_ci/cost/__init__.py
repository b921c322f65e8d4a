"""What a pipeline run cost: GPU-hours from the doctor's GPU count and per-stage wall time,
priced with the `cost:` table of `.mlops-ci.yml` (config), computed (estimate) and shown (render)."""
