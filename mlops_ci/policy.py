"""Whose rules judge a change: the base commit's, never the change's own.

The gate is the required check that guards the default branch. If a pull
request could edit the rules it is judged by (drop a floor, flip a metric's
direction, ignore the column that drifted, set `fail_on_drift: false`), the
check would prove nothing. So, the way GitHub reads CODEOWNERS, the *policy*
parts of `.mlops-ci.yml` come from the base commit; the rest (where the data
and metrics are, how the report looks) comes from the change. What the change
proposes for the policy is shown to reviewers and applies after merge.

Pure: takes two parsed configs and returns the one to run with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlops_ci.config import Config

#: Keys of a section that say *where things are* or *how they look*, not what passes:
#: they keep the change's value (a PR may move its data or show more columns).
PRESENTATION_KEYS: dict[str, frozenset[str]] = {
    "drift": frozenset({"current", "columns_shown", "pictures"}),
}
#: Keys that decide pass/fail, by section: ``None`` means the whole section.
POLICY_KEYS: dict[str, frozenset[str] | None] = {
    "gate": None,
    "contracts": None,
    "drift": None,  # all but PRESENTATION_KEYS["drift"]
    "metrics": frozenset({"direction", "ignore"}),
    # which secret-looking variables the PR's own stages may see
    "repro": frozenset({"pass_env"}),
}


@dataclass(frozen=True)
class Policy:
    """The config a command runs with, where its pass/fail rules came from, and what the change proposes."""

    config: Config
    #: e.g. "`.mlops-ci.yml` at base `0d1a26e`" — shown next to every verdict.
    source: str
    #: Policy keys the change modifies ("gate.rules", "drift.fail_on_drift"): they apply after merge.
    proposed: tuple[str, ...] = field(default_factory=tuple)
    #: True when the rules are the change's own (no trusted base: a local run without --base).
    self_judged: bool = False


def own_policy(config: Config, why: str) -> Policy:
    """No trusted side to read from (a local run without --base): the working tree's rules, said plainly."""
    return Policy(config, f"the working tree's `.mlops-ci.yml` ({why})", (), self_judged=True)


def trusted_policy(head: Config, base: Config, source: str) -> Policy:
    """``head`` with every policy key replaced by ``base``'s; the keys that differ are listed as proposed."""
    merged: dict[str, Any] = head.model_dump(mode="python")
    base_data = base.model_dump(mode="python")
    for section, keys in POLICY_KEYS.items():
        keep = PRESENTATION_KEYS.get(section, frozenset())
        trusted = base_data[section]
        if keys is None:
            merged[section] = {k: (merged[section][k] if k in keep else v) for k, v in trusted.items()}
        else:
            merged[section] = {**merged[section], **{k: trusted[k] for k in keys}}
    if section_unset(base_data["drift"].get("reference")) and not section_unset(head.drift.reference):
        # the base checked no drift at all: taking the change's data location weakens nothing
        merged["drift"]["reference"] = head.drift.reference
    config = Config.model_validate(merged)
    config._source = head.source
    return Policy(config, source, tuple(proposed_changes(head, base)))


def proposed_changes(head: Config, base: Config) -> list[str]:
    """Dotted policy keys whose value differs between the change and the base, in a stable order."""
    head_data, base_data = head.model_dump(mode="json"), base.model_dump(mode="json")
    changed: list[str] = []
    for section, keys in POLICY_KEYS.items():
        keep = PRESENTATION_KEYS.get(section, frozenset())
        names = sorted(set(head_data[section]) | set(base_data[section])) if keys is None else sorted(keys)
        for key in names:
            if key in keep:
                continue
            if head_data[section].get(key) != base_data[section].get(key):
                changed.append(f"{section}.{key}")
    return changed


def section_unset(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}
