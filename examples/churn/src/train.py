"""train: a scikit-learn pipeline (one-hot + scaling + a classifier chosen in params), pickled.

``train.model`` picks the estimator: ``hist_gradient_boosting`` (default),
``random_forest`` or ``logistic_regression``; the other ``train.*`` keys are its
hyperparameters (keys an estimator does not use are ignored). Writes
``models/model.pkl`` and ``models/model_meta.json``.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pandas as pd
import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from common import CATEGORICAL, NUMERIC, TARGET, params


MODELS = ("hist_gradient_boosting", "random_forest", "logistic_regression")


def build(p: dict) -> Pipeline:
    """The untrained pipeline for the ``train`` params: features (scaled numbers, one-hot categories) + model."""
    features = ColumnTransformer([
        ("numeric", StandardScaler(), NUMERIC),
        ("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL),
    ])
    if p["model"] == "logistic_regression":
        model = LogisticRegression(C=p["C"], max_iter=1000)
    elif p["model"] == "random_forest":
        model = RandomForestClassifier(n_estimators=p.get("n_estimators", 200), max_depth=p["max_depth"],
                                       min_samples_leaf=p.get("min_samples_leaf", 5), n_jobs=1,
                                       random_state=p["seed"])
    elif p["model"] == "hist_gradient_boosting":
        model = HistGradientBoostingClassifier(learning_rate=p["learning_rate"], max_iter=p["max_iter"],
                                               max_depth=p["max_depth"], l2_regularization=p["l2_regularization"],
                                               random_state=p["seed"])
    else:
        raise SystemExit(f"params.yaml: train.model must be one of {', '.join(MODELS)}, got {p['model']!r}")
    return Pipeline([("features", features), ("model", model)])


def main() -> None:
    p = params("train")
    train = pd.read_parquet("data/prepared/train.parquet")
    pipeline = build(p).fit(train[NUMERIC + CATEGORICAL], train[TARGET])
    out = Path("models")
    out.mkdir(exist_ok=True)
    # Plain pickle (not joblib): MLflow's sklearn flavor and the serving image load it as is.
    (out / "model.pkl").write_bytes(pickle.dumps(pipeline, protocol=5))
    meta = {"numeric": NUMERIC, "categorical": CATEGORICAL, "target": TARGET,
            "classes": [int(c) for c in pipeline.classes_], "sklearn_version": sklearn.__version__,
            "model": p["model"]}
    (out / "model_meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    print(f"train: {p['model']} fitted on {len(train)} rows")


if __name__ == "__main__":
    main()
