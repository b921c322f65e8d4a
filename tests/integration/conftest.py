import pytest

from tests.integration.dvcrepo import make_repo


@pytest.fixture
def dvc_repo(tmp_path):
    """A git + DVC project with a local-directory remote."""
    return make_repo(tmp_path / "repo", tmp_path / "remote", tmp_path / "stage-log.txt")
