"""The drift issue's state machine and texts (pure: no GitHub, no data)."""

from __future__ import annotations

import pytest

from mlops_ci.bots import drift_issue as di
from mlops_ci.bots.drift_issue import DriftFacts, OpenIssue, Plan, plan

FACTS = DriftFacts(model="churn", reference="MLflow `churn` v3 (@champion)", current="prod/*.parquet", drifting=True,
                   drift_share=0.6, threshold=0.5, n_drifted=3, n_tested=5, top_columns=("tenure", "spend"),
                   contract_errors=0, when="2024-11-25T06:00:00Z", run_id="77",
                   run_url="https://github.com/o/r/actions/runs/77")


@pytest.mark.parametrize("issues, drifting, expected", [
    ([], True, Plan("open", None, [], retrain=True)),
    ([OpenIssue(4, "x")], True, Plan("update", 4, [], retrain=False)),
    ([OpenIssue(4, "x")], False, Plan("close", 4, [])),
    ([], False, Plan("none")),
    ([OpenIssue(4, "x"), OpenIssue(9, "y")], True, Plan("update", 4, [9])),
    ([OpenIssue(4, "x"), OpenIssue(9, "y")], False, Plan("close", 4, [9])),
])
def test_transitions(issues, drifting, expected) -> None:
    assert plan(issues, drifting) == expected


def test_retrain_every_run_while_drift_persists() -> None:
    assert plan([OpenIssue(4, "x")], True, retrain_on="every-run").retrain is True
    assert plan([OpenIssue(4, "x")], False, retrain_on="every-run").retrain is False


def test_issues_are_ours_by_marker_per_model() -> None:
    issues = [OpenIssue(1, "by hand"), OpenIssue(2, di.issue_marker("churn") + "\n…"),
              OpenIssue(3, di.issue_marker("fraud") + "\n…")]
    assert [i.number for i in di.ours(issues, "churn")] == [2]


def test_markers_cannot_close_the_html_comment() -> None:
    assert di.issue_marker("a-->b") == "<!-- mlops-ci:drift-issue id=a-b -->"
    assert di.run_marker("12; -->") == "<!-- mlops-ci:drift-run id=12- -->"
    assert di.run_marker("1-->2") == "<!-- mlops-ci:drift-run id=1-2 -->"
    assert di.run_marker(None) is None


def test_body_keeps_first_detection_and_marks_the_volatile_part() -> None:
    body = di.render_body(FACTS, "### 🔴 Data drift", first_seen="2024-11-18T06:00:00Z")
    assert body.startswith(di.issue_marker("churn") + "\n<!-- mlops-ci:drift-since 2024-11-18T06:00:00Z -->")
    assert "| Verdict | 3 of 5 columns drifted (60%, dataset drift at ≥ 50%) |" in body
    assert "| Most drifted | `tenure`, `spend` |" in body
    assert di.since(body, "later") == "2024-11-18T06:00:00Z" and di.since("no marker", "later") == "later"
    later = DriftFacts(**{**FACTS.__dict__, "when": "2024-11-26T06:00:00Z", "run_id": "78"})
    from mlops_ci.report.model import same_content

    assert same_content(body, di.render_body(later, "### 🔴 Data drift", first_seen="2024-11-18T06:00:00Z"))


def test_a_rerun_of_the_same_job_is_recognised() -> None:
    opened = di.render_body(FACTS, "…", first_seen=FACTS.when, first_run="77")
    assert "<!-- mlops-ci:drift-since 2024-11-25T06:00:00Z run=77 -->" in opened
    assert di.first_run(opened) == "77" and di.since(opened, "x") == FACTS.when
    assert di.already_reported(opened, [], "77")
    assert not di.already_reported(opened, [], "78")
    assert not di.already_reported(opened, [], "7")
    assert di.already_reported(opened, [di.render_update(FACTS).replace("id=77", "id=78")], "78")
    assert not di.already_reported(opened, ["anything"], None)


def test_update_and_close_comments_carry_the_run_marker() -> None:
    update = di.render_update(FACTS, retrain="🔁 dispatched")
    assert update.startswith("<!-- mlops-ci:drift-run id=77 -->\n🔴 Drift persists — [run 77](")
    assert "Retraining: 🔁 dispatched" in update
    gone = DriftFacts(**{**FACTS.__dict__, "drifting": False, "n_drifted": 1, "drift_share": 0.2})
    assert "✅ Drift is gone" in di.render_close(gone) and "1 of 5 columns drifted (20%" in di.render_close(gone)


def test_contract_errors_are_part_of_the_verdict() -> None:
    facts = DriftFacts(**{**FACTS.__dict__, "contract_errors": 2})
    assert "2 data contract error(s)" in di.render_update(facts)


def test_title_template() -> None:
    assert di.title("Drift: {model} ({model})", "churn") == "Drift: churn (churn)"
    assert di.title("{0} {x}", "m") == "{0} {x}"
