"""mlops-ci: GitHub Actions-native MLOps toolkit."""

__version__ = "0.1.0"
