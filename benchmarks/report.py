"""`mlops-ci report` on the example with nothing changed, against the CML-style pipeline.

Reproduce:  .venv/bin/python benchmarks/report.py [--runs 5]
Builds the demo repository once (`mlops-ci demo`), starts the fake GitHub API from tests/
(validated against GitHub's OpenAPI description; run `bash scripts/test-deps.sh` first), posts
the report once, then times re-runs with nothing changed and counts their API calls. The peer,
measured in the same run on the same repository: what a CML-style job does for the same
comment — `dvc metrics diff --md` plus one comment POST (CML posts a new comment or edits the
last one; it does not skip unchanged bodies).
Targets: <= 3 s wall (excluding repro and install) and <= 3 API calls.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent


def main() -> None:
    from tests.fakegithub.fake import FakeGitHub

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLOPS_CI_"))}
    env["DVC_NO_ANALYTICS"] = "1"
    work = Path(tempfile.mkdtemp(prefix="mlops-ci-bench-")) / "demo"
    subprocess.run([str(VENV_BIN / "mlops-ci"), "demo", "--workdir", str(work)], env=env, check=True,
                   capture_output=True)
    git = lambda *a: subprocess.run(["git", *a], cwd=work, capture_output=True, text=True, check=True).stdout.strip()  # noqa: E731
    head, base = git("rev-parse", "HEAD"), git("rev-parse", "main")

    fake = FakeGitHub().start()
    try:
        fake.add_pull(1, head_sha=head, base_sha=base, head_ref="demo/pr")
        event = work.parent / "event.json"
        event.write_text(json.dumps({"action": "synchronize", "number": 1, "repository": {"full_name": fake.repo},
                                     "pull_request": {"number": 1, "head": {"sha": head, "ref": "demo/pr",
                                                                            "repo": {"full_name": fake.repo}},
                                                      "base": {"sha": base, "ref": "main",
                                                               "repo": {"full_name": fake.repo}}}}))
        gh_env = {**env, **fake.env(), "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request",
                  "GITHUB_EVENT_PATH": str(event), "GITHUB_SHA": head, "GITHUB_WORKFLOW": "bench",
                  "GITHUB_RUN_ID": "1", "GITHUB_OUTPUT": os.devnull, "GITHUB_STEP_SUMMARY": os.devnull}
        report = [str(VENV_BIN / "mlops-ci"), "report"]
        subprocess.run(report, cwd=work, env=gh_env, check=True, capture_output=True)  # creates the comment

        ours, calls = [], []
        for _ in range(args.runs):
            fake.clear_log()
            start = time.perf_counter()
            subprocess.run(report, cwd=work, env=gh_env, check=True, capture_output=True)
            ours.append(time.perf_counter() - start)
            calls.append(fake.count())
        writes = len(fake.writes())

        import requests

        peer = []
        for _ in range(args.runs):
            start = time.perf_counter()
            md = subprocess.run([str(VENV_BIN / "dvc"), "metrics", "diff", "--md", "main"], cwd=work, env=env,
                                check=True, capture_output=True, text=True).stdout
            requests.post(f"{fake.url}/repos/{fake.repo}/issues/1/comments", json={"body": md or "no change"},
                          headers={"Authorization": f"token {fake.token}"}, timeout=30).raise_for_status()
            peer.append(time.perf_counter() - start)
    finally:
        fake.stop()

    print(f"{'':<44} {'median':>8} {'min':>8}  API calls")
    print(f"{'mlops-ci report (nothing changed)':<44} {statistics.median(ours):>7.2f}s {min(ours):>7.2f}s  "
          f"{max(calls)} per run, {writes} writes")
    print(f"{'CML-style: dvc metrics diff --md + POST':<44} {statistics.median(peer):>7.2f}s {min(peer):>7.2f}s  "
          "1 per run, 1 write (a new comment each time)")


if __name__ == "__main__":
    main()
