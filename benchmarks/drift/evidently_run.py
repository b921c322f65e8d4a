"""Evidently's DataDriftPreset on two Parquet datasets (run with benchmarks/.venv-evidently/bin/python).

    evidently_run.py REF_DIR CUR_DIR OUT.json

Reads both sides with pandas (as a user would), runs Report([DataDriftPreset()]),
and writes the per-column verdicts in the same shape as the other contenders.
"""

import json
import sys
import time

import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset

P_VALUE_TESTS = {"K-S p_value": "ks", "chi-square p_value": "chi2", "Z-test p_value": "ztest"}
DISTANCES = {"Wasserstein distance (normed)": "wasserstein", "Jensen-Shannon distance": "jensenshannon", "PSI": "psi"}


def main() -> None:
    ref_path, cur_path, out = sys.argv[1:4]
    started = time.perf_counter()
    ref, cur = pd.read_parquet(ref_path), pd.read_parquet(cur_path)
    snapshot = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
    columns = {}
    dataset = None
    for metric in snapshot.dict()["metrics"]:
        cfg = metric["config"]
        if cfg["type"].endswith("DriftedColumnsCount"):
            dataset = metric["value"]
            continue
        if not cfg["type"].endswith("ValueDrift"):
            continue
        method, value, threshold = cfg["method"], float(metric["value"]), float(cfg["threshold"])
        if method in P_VALUE_TESTS:
            name = P_VALUE_TESTS[method]
            drifted = value <= threshold if name == "ks" else value < threshold
        else:
            name = DISTANCES.get(method, method)
            drifted = value >= threshold
        columns[cfg["column"]] = {"test": name, "score": value, "drifted": drifted}
    json.dump({"tool": "evidently", "seconds_inside": time.perf_counter() - started, "columns": columns,
               "dataset": dataset}, open(out, "w"), indent=1)


if __name__ == "__main__":
    main()
