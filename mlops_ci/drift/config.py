"""The ``drift:`` and ``contracts:`` sections of ``.mlops-ci.yml``.

Pydantic only (no numpy): the root config model embeds these, and loading the
config must stay cheap. Field descriptions become the JSON Schema editors show.
Defaults reproduce Evidently's ``DataDriftPreset`` so verdicts are comparable.
"""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Method = Literal["auto", "ks", "wasserstein", "jensenshannon", "psi", "chi2", "ztest"]
Severity = Literal["error", "warn"]
ColumnType = Literal["numeric", "categorical"]
Scalar = Union[bool, int, float, str]

#: Evidently's default thresholds: p-values for tests, distances for distances.
DEFAULT_THRESHOLDS: dict[str, float] = {"ks": 0.05, "chi2": 0.05, "ztest": 0.05,
                                        "wasserstein": 0.1, "jensenshannon": 0.1, "psi": 0.1}
P_VALUE_METHODS = frozenset({"ks", "chi2", "ztest"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class Thresholds(_Model):
    ks: float = Field(0.05, gt=0, lt=1, description="KS flags drift when its p-value is <= this.")
    chi2: float = Field(0.05, gt=0, lt=1, description="Chi-square flags drift when its p-value is < this.")
    ztest: float = Field(0.05, gt=0, lt=1, description="Z-test (binary columns) flags drift when its p-value is < this.")
    wasserstein: float = Field(0.1, gt=0, description="Wasserstein distance normed by the reference std: drift when >= this.")
    jensenshannon: float = Field(0.1, gt=0, le=1, description="Jensen-Shannon distance (natural log): drift when >= this.")
    psi: float = Field(0.1, gt=0, description="Population Stability Index: drift when >= this.")


class TypeRule(_Model):
    method: Method = Field("auto", description="Test for every column of this type ('auto': Evidently's rule).")
    threshold: float | None = Field(None, gt=0, description="Threshold for those columns (default: per method).")


class ColumnRule(_Model):
    method: Method | None = Field(None, description="Test for this column (overrides the type and global method).")
    threshold: float | None = Field(None, gt=0, description="Threshold for this column.")
    type: ColumnType | None = Field(None, description="Treat the column as numeric or categorical, whatever its dtype.")
    ignore: bool = Field(False, description="Leave the column out of drift (contracts still apply).")


class PsiOptions(_Model):
    bins: Union[int, Literal["sturges"]] = Field(
        "sturges", description="Number of PSI bins for numeric columns; 'sturges' is Evidently's choice "
        "(log2(n_ref + n_cur) + 1 equal-width bins over both ranges).")
    binning: Literal["uniform", "quantile"] = Field(
        "uniform", description="'uniform': equal-width bins over the joint range (Evidently); "
        "'quantile': reference quantiles (the textbook PSI; less sensitive to small mean shifts).")

    @field_validator("bins")
    @classmethod
    def _bins(cls, v: Any) -> Any:
        if isinstance(v, int) and not 2 <= v <= 1000:
            raise ValueError("bins must be between 2 and 1000, or 'sturges'")
        return v


class DriftConfig(_Model):
    """Data drift of current data against a reference (training) dataset or profile."""

    reference: str | None = Field(None, description="Default reference: data (Parquet/CSV file, directory or glob) "
                                  "or a profile JSON built by `mlops-ci profile build`.")
    current: str | None = Field(None, description="Default current data (Parquet/CSV file, directory or glob).")
    method: Method = Field("auto", description="Test for all columns. 'auto' picks per column exactly as "
                           "Evidently's DataDriftPreset does (see docs/drift.md).")
    thresholds: Thresholds = Field(default_factory=Thresholds, description="Default threshold of each method.")
    drift_share: float = Field(0.5, gt=0, le=1, description="The dataset drifts when the share of drifted "
                               "columns is >= this (Evidently: 0.5).")
    numeric: TypeRule = Field(default_factory=TypeRule, description="Override for numeric columns.")
    categorical: TypeRule = Field(default_factory=TypeRule, description="Override for categorical columns.")
    columns: dict[str, ColumnRule] = Field(default_factory=dict, description="Per-column overrides; keys are "
                                           "names or globs (exact names win over globs).")
    ignore: list[str] = Field(default_factory=list, description="Columns (names or globs) left out of drift, "
                              "e.g. IDs and timestamps.")
    bins: int = Field(1000, ge=50, le=20000, description="Histogram resolution of numeric columns: a bin holds at "
                      "most 1/bins of the values, so KS is within 1/bins of exact.")
    top_k: int = Field(1000, ge=1, le=100000, description="Categorical values kept by name in a profile; the "
                       "rest are lumped into 'other'.")
    max_categories: int = Field(100000, ge=10, description="Beyond this many distinct values a categorical "
                                "column is treated as an ID (high cardinality): reported, not tested.")
    psi: PsiOptions = Field(default_factory=PsiOptions, description="PSI binning (when PSI is selected).")
    fail_on_drift: bool = Field(True, description="Exit 1 when the dataset drifts (the contract errors always do).")
    columns_shown: int = Field(10, ge=1, le=500, description="Drifted columns listed in the Markdown summary.")
    pictures: int = Field(3, ge=0, le=20, description="Columns that get an inline histogram in the Markdown summary.")


# --------------------------------------------------------------------------- contracts
class ColumnContract(_Model):
    required: bool = Field(True, description="The column must exist in current data.")
    dtype: str | None = Field(None, description="Expected type: a family (integer, float, number, string, "
                              "boolean, datetime, categorical) or an exact Arrow type (int64, float32, string, …).")
    nullable: bool = Field(True, description="false: no nulls allowed (same as max_null_share: 0).")
    max_null_share: float | None = Field(None, ge=0, le=1, description="Largest allowed share of nulls.")
    min: float | None = Field(None, description="Smallest allowed value (inclusive).")
    max: float | None = Field(None, description="Largest allowed value (inclusive).")
    allowed: list[Scalar] | None = Field(None, description="Allowed values of a categorical column.")
    unique: bool = Field(False, description="Every non-null value must be distinct (IDs).")
    severity: Severity | None = Field(None, description="'error' fails the step, 'warn' only reports "
                                      "(default: contracts.severity).")

    @model_validator(mode="after")
    def _range(self) -> "ColumnContract":
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class RowCount(_Model):
    min: int | None = Field(None, ge=0, description="Fewest rows current data may have.")
    max: int | None = Field(None, ge=0, description="Most rows current data may have.")
    severity: Severity | None = Field(None, description="Default: contracts.severity.")


class SchemaRules(_Model):
    missing_column: Severity = Field("error", description="A reference column absent from current data.")
    new_column: Literal["error", "warn", "ignore"] = Field("warn", description="A column only in current data.")
    dtype_change: Severity = Field("error", description="A column whose type family changed (number -> string, …); "
                                   "a change within a family (int32 -> int64) is always only a warning.")
    non_finite: Literal["error", "warn", "ignore"] = Field(
        "warn", description="NaN or infinite values in current data where the reference had none.")


EXPECTATION_KWARGS: dict[str, tuple[set[str], set[str]]] = {
    # type: (required kwargs, optional kwargs)  — Great Expectations names and arguments
    "expect_column_to_exist": ({"column"}, set()),
    "expect_column_values_to_not_be_null": ({"column"}, {"mostly"}),
    "expect_column_values_to_be_between": ({"column"}, {"min_value", "max_value", "mostly"}),
    "expect_column_values_to_be_in_set": ({"column", "value_set"}, {"mostly"}),
    "expect_column_values_to_be_unique": ({"column"}, {"mostly"}),
    "expect_column_values_to_be_of_type": ({"column", "type_"}, set()),
    "expect_table_row_count_to_be_between": (set(), {"min_value", "max_value"}),
}


class Expectation(_Model):
    """One Great Expectations-style check (the shape of an item of a GE expectation suite)."""

    expectation_type: str = Field(description="One of: " + ", ".join(EXPECTATION_KWARGS) + ".")
    kwargs: dict[str, Any] = Field(default_factory=dict, description="The expectation's arguments, as in GE.")
    meta: dict[str, Any] = Field(default_factory=dict, description="Free-form; meta.severity is honoured.")
    severity: Severity | None = Field(None, description="Default: meta.severity, else contracts.severity.")

    @model_validator(mode="after")
    def _known(self) -> "Expectation":
        spec = EXPECTATION_KWARGS.get(self.expectation_type)
        if spec is None:
            raise ValueError(f"unsupported expectation_type '{self.expectation_type}' "
                             f"(supported: {', '.join(EXPECTATION_KWARGS)})")
        required, optional = spec
        missing = required - set(self.kwargs)
        if missing:
            raise ValueError(f"{self.expectation_type} needs kwargs {', '.join(sorted(missing))}")
        unknown = set(self.kwargs) - required - optional - {"result_format", "catch_exceptions", "meta"}
        if unknown:
            raise ValueError(f"{self.expectation_type} does not take {', '.join(sorted(unknown))}")
        mostly = self.kwargs.get("mostly")
        if mostly is not None and not (isinstance(mostly, (int, float)) and 0 <= mostly <= 1):
            raise ValueError("mostly must be a number between 0 and 1")
        if self.meta.get("severity") not in (None, "error", "warn"):
            raise ValueError("meta.severity must be 'error' or 'warn'")
        return self

    @property
    def effective_severity(self) -> Severity | None:
        return self.severity or self.meta.get("severity")


class ContractsConfig(_Model):
    """Checks on current data (and schema changes against the reference), Great Expectations-style."""

    severity: Severity = Field("error", description="Default severity of every check below.")
    row_count: RowCount | None = Field(None, description="Bounds on the number of rows of current data.")
    columns: dict[str, ColumnContract] = Field(default_factory=dict, description="Per-column checks.")
    expectations: list[Expectation] = Field(default_factory=list, description="Checks in Great Expectations' "
                                            "suite format (expectation_type + kwargs); paste a suite's list here.")
    schema_changes: SchemaRules = Field(default_factory=SchemaRules, description="Severity of differences "
                                        "between reference and current schemas (always reported).")
