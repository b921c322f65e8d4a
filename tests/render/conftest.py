"""One headless Chromium per test module (starting one costs about a second); artifacts for a human look."""

import os
from pathlib import Path

import pytest

from tests.render.browser import REPO_ROOT, Browser

#: Screenshots kept for a person to look at after the run (not committed; .cache/ is ignored).
ARTIFACTS = Path(os.environ.get("MLOPS_CI_RENDER_ARTIFACTS", REPO_ROOT / ".cache" / "render"))


@pytest.fixture(scope="module")
def browser():
    chromium = Browser()
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
