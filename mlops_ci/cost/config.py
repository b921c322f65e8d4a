"""The `cost:` section of `.mlops-ci.yml`: what an hour of a runner and of one GPU costs.

Prices differ by machine, so the table is keyed by runner label or instance type
(`gpu-a100`, `g5.xlarge`, `default`). There are no built-in prices: a made-up
number in a PR comment is worse than none, so without a matching entry the report
shows wall time and GPU-hours only and says which key it looked for.
Imports pydantic only (the root config embeds it; `--help` stays light).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class PriceEntry(_Model):
    cpu_per_hour: float = Field(0.0, ge=0, allow_inf_nan=False, description=(
        "Price of one hour of the machine itself: CPU, memory, disk, everything but its GPUs (for an "
        "all-inclusive GPU instance price, put it here and leave gpu_per_hour at 0)."))
    gpu_per_hour: float = Field(0.0, ge=0, allow_inf_nan=False, description=(
        "Price of one GPU-hour, charged for each usable GPU `mlops-ci runner doctor` found."))


class CostConfig(_Model):
    currency: str = Field("USD", min_length=1, max_length=8, pattern=r"^\S+$",
                          description="Currency code or symbol shown with every amount (e.g. USD, EUR, €).")
    runner: str | None = Field(None, description=(
        "Which `prices` entry applies. Default: the first runner label recorded by `mlops-ci runner doctor "
        "--labels` that has an entry, else the entry named `default`; with none, no amount is estimated."))
    prices: dict[str, PriceEntry] = Field(default_factory=dict, description=(
        "Price per runner label or instance type, e.g. `gpu-a100: {cpu_per_hour: 1.10, gpu_per_hour: 2.95}`. "
        "Empty by default: docs/runners.md has example figures to adapt."))
    cpu_runner: str | None = Field(None, description=(
        "The `prices` entry of a CPU-only runner, for \"this stage would cost X on a CPU runner\" under a stage "
        "that barely used its GPU. Default: the entry `default` when it prices no GPU."))
    low_gpu_utilization: float = Field(10.0, ge=0, le=100, description=(
        "Mean GPU utilisation (percent) under which the report says a stage did not need its GPU runner."))

    @model_validator(mode="after")
    def _runner_has_a_price(self) -> "CostConfig":
        for key in ("runner", "cpu_runner"):
            name = getattr(self, key)
            if name is not None and name not in self.prices:
                known = ", ".join(self.prices) or "none"
                raise PydanticCustomError("mlops_ci_config", f"{key}: '{name}' has no entry in cost.prices "
                                                             f"(entries: {known})")
        return self
