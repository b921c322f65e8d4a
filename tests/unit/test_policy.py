"""The base commit's rules judge a change: which keys are policy, which stay the change's own."""

from mlops_ci.config import Config
from mlops_ci.policy import own_policy, proposed_changes, trusted_policy


def cfg(data: dict) -> Config:
    return Config.model_validate(data)


BASE = cfg({"gate": {"rules": [{"metric": "auc", "min": 0.9}]},
            "drift": {"reference": "data/ref.csv", "current": "data/cur.csv", "ignore": ["id"]},
            "contracts": {"columns": {"age": {"min": 0}}},
            "metrics": {"direction": {"auc": "higher"}, "precision": 4}})


def test_policy_keys_come_from_the_base_and_the_rest_from_the_change():
    head = cfg({"gate": {"enabled": False}, "drift": {"reference": "elsewhere.csv", "current": "new/cur.csv",
                                                       "fail_on_drift": False, "columns_shown": 30},
                "metrics": {"direction": {"auc": "lower"}, "ignore": ["auc"], "precision": 6},
                "repro": {"targets": ["train"]}})
    policy = trusted_policy(head, BASE, "`.mlops-ci.yml` at base `abc1234`")
    c = policy.config
    assert c.gate == BASE.gate and c.contracts == BASE.contracts
    assert c.drift.fail_on_drift is True and c.drift.ignore == ["id"] and c.drift.reference == "data/ref.csv"
    assert c.drift.current == "new/cur.csv" and c.drift.columns_shown == 30  # where and how: the change's
    assert c.metrics.direction == {"auc": "higher"} and c.metrics.ignore == [] and c.metrics.precision == 6
    assert c.repro.targets == ["train"]
    assert set(policy.proposed) == {"gate.enabled", "gate.rules", "drift.fail_on_drift", "drift.reference",
                                    "drift.ignore", "contracts.columns", "metrics.direction", "metrics.ignore"}
    assert not policy.self_judged


def test_an_unchanged_policy_proposes_nothing_and_presentation_is_not_policy():
    head = BASE.model_copy(update={"drift": BASE.drift.model_copy(update={"pictures": 9, "current": "x.csv"})})
    assert proposed_changes(head, BASE) == []


def test_a_base_without_drift_keeps_the_changes_data_location_but_the_strict_defaults():
    head = cfg({"drift": {"reference": "ref.csv", "current": "cur.csv", "fail_on_drift": False}})
    c = trusted_policy(head, Config(), "defaults").config
    assert c.drift.reference == "ref.csv" and c.drift.fail_on_drift is True and c.gate.is_empty()


def test_own_policy_says_it_is_self_judged():
    policy = own_policy(BASE, "local run")
    assert policy.self_judged and policy.config is BASE and "working tree" in policy.source
