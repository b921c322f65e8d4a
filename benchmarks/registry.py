"""`mlops-ci gate` and `mlops-ci register` wall time, against MLflow's default `log_model`.

Reproduce:  .venv/bin/python benchmarks/registry.py [--runs 5]
Builds the demo repository once (`mlops-ci demo`), starts a real `mlflow server` (SQLite backend,
local artifact store, the same one the test suite uses) and times, in the same run:
  - `mlops-ci gate` with local metrics files (`--champion-metrics/--challenger-metrics`), with
    the example's significance-free rules plus its fairness rule on the holdout predictions
    (target <= 2 s);
  - `mlops-ci register` on the demo's trained model: params, metrics, predictions, reference
    profile, lineage tags, a model version and alias `challenger` (target <= 5 s);
  - the peer: a script doing what MLflow's docs show — `mlflow.start_run()`, `log_params`,
    `log_metrics`, `mlflow.sklearn.log_model(model, registered_model_name=...)` with its
    defaults (signature-less, pip requirements inferred; only the model's tree type is marked
    trusted, which MLflow 3's default skops serialization demands for this model).
Every contender is a fresh process (imports included), as in CI; median and min of --runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
VENV_BIN = Path(sys.executable).parent

PEER = """
import json, pickle, sys, yaml
import mlflow
model = pickle.load(open("models/model.pkl", "rb"))
params = yaml.safe_load(open("params.yaml"))["train"]
metrics = json.load(open("metrics.json"))
mlflow.set_experiment("peer-log-model")
with mlflow.start_run():
    mlflow.log_params(params)
    mlflow.log_metrics({k: v for k, v in metrics.items() if isinstance(v, (int, float))})
    # MLflow 3's default serialization (skops) refuses this model's tree type until it is trusted
    mlflow.sklearn.log_model(model, name="model", registered_model_name=sys.argv[1], skops_trusted_types=[
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"])
"""


def timed(cmd: list[str], cwd: Path, runs: int, env: dict[str, str]) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
        samples.append(time.perf_counter() - start)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return {"median_s": statistics.median(samples), "min_s": min(samples), "runs": runs}


def main() -> None:
    from tests.services.mlflow_server import MlflowServer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None, help="Also write the results here.")
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLOPS_CI_", "MLFLOW_"))}
    env["DVC_NO_ANALYTICS"] = "1"
    tmp = Path(tempfile.mkdtemp(prefix="mlops-ci-bench-registry-"))
    work = tmp / "demo"
    subprocess.run([str(VENV_BIN / "mlops-ci"), "demo", "--workdir", str(work)], env=env, check=True,
                   capture_output=True)
    champion = tmp / "champion-metrics.json"
    champion.write_text(subprocess.run(["git", "show", "main:metrics.json"], cwd=work, check=True,
                                       capture_output=True, text=True).stdout)
    champion_predictions = tmp / "champion-predictions.csv"
    champion_predictions.write_text(subprocess.run(["git", "show", "main:eval/predictions.csv"], cwd=work,
                                                   capture_output=True, text=True).stdout or
                                    (work / "eval" / "predictions.csv").read_text())

    server = MlflowServer(tmp / "mlflow").start()
    try:
        server_env = {**env, "MLFLOW_TRACKING_URI": server.url}
        mlops = str(VENV_BIN / "mlops-ci")
        results = {
            "mlops-ci gate (local metrics + fairness on predictions)": timed(
                [mlops, "gate", "--no-check", "--champion-metrics", str(champion),
                 "--challenger-metrics", "metrics.json", "--champion-predictions", str(champion_predictions)],
                work, args.runs, env),
            "mlops-ci register (MLflow server)": timed(
                [mlops, "register", "--model-name", "bench-mlops-ci"], work, args.runs, server_env),
            "mlflow.sklearn.log_model, defaults (peer)": timed(
                [sys.executable, "-c", PEER, "bench-peer"], work, args.runs, server_env),
        }
    finally:
        server.stop()

    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    load = os.getloadavg()[0]
    print(f"machine: {machine}; load average at the end: {load:.1f}")
    print(f"{'command':<58} {'median':>9} {'min':>9}")
    for name, r in results.items():
        print(f"{name:<58} {r['median_s']:>8.2f}s {r['min_s']:>8.2f}s")
    if args.json:
        args.json.write_text(json.dumps({"machine": machine, "results": results}, indent=2))


if __name__ == "__main__":
    main()
