"""The ``bot:`` (ChatOps) and ``monitor:`` (drift bot) sections of ``.mlops-ci.yml``.

Pydantic only, so loading the config stays cheap. Both bots run from the
default branch (``issue_comment`` and ``schedule`` workflows do), so these
settings are the maintainers', never a pull request's. The fork guard reads no
config at all: it runs before any checkout (see docs/security.md).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

DispatchInput = Literal["pr", "sha", "command", "requested-by"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


def _workflow_name(value: str | None) -> str | None:
    """A workflow file name (``mlops-pr.yml``) or numeric id, as the dispatch endpoint takes it."""
    if value is None:
        return value
    name = value.strip().removeprefix(".github/workflows/")
    if not name or "/" in name or not (name.isdigit() or name.endswith((".yml", ".yaml"))):
        raise ValueError("expected a workflow file name like 'mlops-pr.yml' (or a workflow id)")
    return name


class BotConfig(_Model):
    """The ChatOps bot (`mlops-ci bot`, on `issue_comment`)."""

    prefix: str = Field("/mlops", pattern=r"^/[A-Za-z0-9_-]{1,30}$",
                        description="Command prefix: comments whose line starts with it are commands.")
    login: str = Field("github-actions[bot]", min_length=1,
                       description="Login the bot's replies are posted as (github-actions[bot] with GITHUB_TOKEN, "
                       "'<app>[bot]' with an App token). Its comments are never treated as commands, and its "
                       "approval statuses are the only ones trusted (pass the same to the guard's and publish's "
                       "trusted-bot).")
    ref: str | None = Field(None, description="Branch or tag the dispatched workflows run from (default: the "
                            "repository's default branch, so a PR cannot change the workflow that runs).")
    rerun_workflow: str = Field("mlops-pr.yml", description="Workflow file `/mlops rerun` dispatches "
                                "(it needs a `workflow_dispatch` trigger).")
    report_workflow: str = Field("mlops-pr.yml", description="Workflow file `/mlops report` dispatches.")
    fork_workflow: str = Field("mlops-fork.yml", description="Workflow file that runs an approved fork PR's head "
                               "on the self-hosted runners (`/mlops approve <sha>`, and rerun/report of a fork PR). "
                               "It runs from the default branch with read-only permissions.")
    dispatch_inputs: list[DispatchInput] = Field(
        default_factory=lambda: ["pr", "sha", "command"],
        description="Inputs sent with a dispatch: pr (number), sha (head commit), command (rerun/report), "
        "requested-by (login). The workflow must declare each one: GitHub rejects undeclared inputs.")
    promote_from: str = Field("challenger", description="Alias `/mlops promote` promotes from.")
    promote_to: str = Field("champion", description="Alias `/mlops promote` moves.")

    _workflows = field_validator("rerun_workflow", "report_workflow", "fork_workflow")(_workflow_name)


class MonitorConfig(_Model):
    """The scheduled drift bot (`mlops-ci monitor`)."""

    current: str | None = Field(None, description="Production data to check (Parquet/CSV file, directory or glob). "
                                "Default: drift.current.")
    reference: str | None = Field(None, description="Reference profile JSON on disk. Default: the profile stored "
                                  "with the model version behind `alias` in MLflow.")
    alias: str = Field("champion", description="Registry alias whose reference profile production is compared to.")
    profile_artifact: str = Field("reference/reference-profile.json",
                                  description="Artifact path of the profile in that version's run "
                                  "(`mlops-ci register` logs it there).")
    label: str = Field("mlops:drift", min_length=1, max_length=50,
                       description="Label of the drift issue (one open issue per model carries it).")
    title: str = Field("Data drift in production: {model}", min_length=1, max_length=200,
                       description="Title of the drift issue; {model} is replaced by the model name.")
    retrain_workflow: str | None = Field(None, description="Workflow file to dispatch when drift starts "
                                         "(e.g. 'retrain.yml'); none by default.")
    retrain_ref: str | None = Field(None, description="Branch or tag for the retrain dispatch (default: the "
                                    "repository's default branch).")
    retrain_inputs: bool = Field(True, description="Send inputs `reason` and `drift-issue` with the retrain "
                                 "dispatch (the workflow must declare them).")
    retrain_on: Literal["start", "every-run"] = Field(
        "start", description="Dispatch retraining when drift starts only, or on every run while it persists.")

    _workflows = field_validator("retrain_workflow")(_workflow_name)
