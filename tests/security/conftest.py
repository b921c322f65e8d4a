"""Attack tests, one per row of docs/security.md's threat table: each reproduces the attack first.

The integration fixtures (a real git + DVC project, the fake GitHub, a real MLflow server) are
shared with tests/integration.
"""

import pytest

from tests.integration.dvcrepo import make_repo

pytestmark = pytest.mark.integration

@pytest.fixture
def dvc_repo(tmp_path):
    """A git + DVC project with a local-directory remote."""
    return make_repo(tmp_path / "repo", tmp_path / "remote", tmp_path / "stage-log.txt")
