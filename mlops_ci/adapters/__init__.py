"""The only code that talks to the outside world: git, DVC, GitHub, MLflow, Docker, clusters."""
