"""docs/security.md's threat table names a test for every attack: those tests must exist."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_test_the_threat_table_names_exists():
    text = (ROOT / "docs" / "security.md").read_text()
    table = text[text.index("## Threat model"):text.index("## The real boundary")]
    rows = [line for line in table.splitlines() if re.match(r"^\| \d+ \|", line)]
    assert len(rows) >= 20
    missing = []
    for row in rows:
        tests_cell = row.rstrip(" |").rsplit("|", 1)[-1]
        named = re.findall(r"`(?:tests/security/)?(test_\w+\.py)(?:::(test_\w+))?", tests_cell)
        assert named, f"row without a test: {row[:80]}"
        for file, func in named:
            path = ROOT / "tests" / "security" / file
            source = path.read_text() if path.is_file() else ""
            if not source or (func and f"def {func}(" not in source):
                missing.append(f"{file}::{func}" if func else file)
        for partial in re.findall(r"`…(\w+)`", tests_cell):  # `…rest_of_a_name` in the row's file
            files = {f for f, _ in named}
            if not any(partial in (ROOT / "tests" / "security" / f).read_text() for f in files):
                missing.append(f"…{partial}")
    assert not missing, f"the threat table names tests that do not exist: {missing}"
