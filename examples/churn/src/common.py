"""Shared by the stages: parameters and the feature lists."""

from __future__ import annotations

from pathlib import Path

import yaml

TARGET = "churned"
ID = "customer_id"
GROUP = "segment"
NUMERIC = ["tenure_months", "monthly_charges", "total_charges", "support_calls", "data_usage_gb", "num_products",
           "late_payments", "satisfaction_score", "age"]
CATEGORICAL = ["contract", "payment_method", "region", "plan", "segment"]


def params(section: str) -> dict:
    return yaml.safe_load(Path("params.yaml").read_text())[section]
