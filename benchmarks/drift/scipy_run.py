"""The plain baseline: pandas + scipy, exact tests on the full samples, Evidently's default rule.

    scipy_run.py REF_DIR CUR_DIR OUT.json

Uses the same exact reference the test suite checks our verdicts against
(tests/unit/drift_reference.py: KS / chi-square / Z below 1,000 reference rows,
Wasserstein-normed / Jensen-Shannon above), on data read fully into memory.
"""

import json
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.unit.drift_reference import evidently_verdicts  # noqa: E402


def main() -> None:
    ref_path, cur_path, out = sys.argv[1:4]
    started = time.perf_counter()
    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    verdicts, dataset_drift = evidently_verdicts(ref, cur)
    columns = {name: {"test": t, "score": s, "drifted": d} for name, (t, s, d) in verdicts.items()}
    json.dump({"tool": "scipy", "seconds_inside": time.perf_counter() - started, "columns": columns,
               "dataset_drift": dataset_drift}, open(out, "w"), indent=1)


if __name__ == "__main__":
    main()
