"""ChatOps parsing and policy: what counts as a command, who may run it, how replies are marked."""

from __future__ import annotations

import pytest

from mlops_ci.bots import chatops
from mlops_ci.bots.chatops import Command, parse


@pytest.mark.parametrize("body, expected", [
    ("/mlops rerun", Command("rerun")),
    ("  /mlops   REPORT  ", Command("report")),
    ("please look\n/mlops approve c5b97d5ae6c19d5c5df71a34c7fbeeda2479ccbc\nthanks", Command("approve", ("c5b97d5ae6c19d5c5df71a34c7fbeeda2479ccbc",))),
    ("/mlops promote 7", Command("promote", ("7",))),
    ("/mlops promote v12", Command("promote", ("v12",))),
    ("/mlops", Command("help")),
    ("/mlops help", Command("help")),
    ("/mlops deploy prod", Command("help", unknown="deploy")),
])
def test_commands_are_parsed(body: str, expected: Command) -> None:
    assert parse(body) == expected


@pytest.mark.parametrize("body", [
    "",
    "LGTM",
    "/mlopsrerun",
    "we should /mlops rerun later",
    "> /mlops promote\nquoting the command does not run it",
    "```\n/mlops promote\n```",
    "~~~sh\n/mlops rerun\n~~~",
])
def test_talking_about_a_command_does_not_run_it(body: str) -> None:
    assert parse(body) is None


def test_a_command_after_a_code_block_still_counts() -> None:
    assert parse("```\n/mlops promote\n```\n/mlops rerun") == Command("rerun")


@pytest.mark.parametrize("body, fragment", [
    ("/mlops rerun now", "`rerun` takes no arguments"),
    ("/mlops approve not-a-sha", "full 40-character SHA"),
    ("/mlops approve", "full 40-character SHA"),
    ("/mlops approve abc1234", "full 40-character SHA"),
    ("/mlops approve " + "a" * 40 + " " + "b" * 40, "full 40-character SHA"),
    ("/mlops promote latest", "model version number"),
])
def test_bad_arguments_are_explained(body: str, fragment: str) -> None:
    command = parse(body)
    assert command is not None and command.error is not None and fragment in command.error
    assert "Usage:" in command.error


def test_custom_prefix() -> None:
    assert parse("/ml rerun", prefix="/ml") == Command("rerun")
    assert parse("/mlops rerun", prefix="/ml") is None


def test_approve_sha_is_lower_cased() -> None:
    assert parse("/mlops approve C5B97D5AE6C19D5C5DF71A34C7FBEEDA2479CCBC").sha == "c5b97d5ae6c19d5c5df71a34c7fbeeda2479ccbc"
    assert parse("/mlops rerun").sha is None


@pytest.mark.parametrize("login, kind, bot", [
    ("dependabot[bot]", "Bot", True), ("github-actions[bot]", None, True), ("renovate", "Bot", True),
    ("mia-maintainer", "User", False), (None, None, False),
])
def test_bots_are_recognised(login: str | None, kind: str | None, bot: bool) -> None:
    assert chatops.is_bot(login, kind) is bot


def test_own_comments_are_recognised_by_login_or_marker() -> None:
    assert chatops.is_ours("anything", "GitHub-Actions[bot]", "github-actions[bot]")
    assert chatops.is_ours(chatops.reply_marker(1, "help") + "\nhi", "my-app[bot]", "github-actions[bot]")
    assert not chatops.is_ours("/mlops help", "mia", "github-actions[bot]")


@pytest.mark.parametrize("name, permission, allowed", [
    ("help", "none", True), ("help", None, True),
    ("rerun", "read", False), ("rerun", "none", False), ("promote", "triage", False),
    ("rerun", "write", True), ("approve", "admin", True), ("promote", "write", True),
])
def test_permission_policy(name: str, permission: str | None, allowed: bool) -> None:
    assert chatops.may_run(Command(name), permission) is allowed


def test_replies_start_with_the_marker_of_the_comment_they_answer() -> None:
    reply = chatops.done("ok").body(41, "rerun", "mia")
    assert reply == "<!-- mlops-ci:bot reply-to=41 command=rerun -->\n@mia 🚀 ok\n"
    assert chatops.is_ours(reply)


def test_help_lists_every_command_and_names_the_unknown_one() -> None:
    text = chatops.help_text("/mlops", unknown="deploy")
    assert text.startswith("I don't know `/mlops deploy`.")
    for name in chatops.COMMANDS:
        assert f"`/mlops {name}" in text


def test_reply_kinds() -> None:
    assert (chatops.done("x").reaction, chatops.refused("x").reaction, chatops.failed("x").reaction) == \
        ("rocket", "confused", "confused")
    body = chatops.done("approved").body(5, "approve", None)
    assert body.splitlines()[:2] == ["<!-- mlops-ci:bot reply-to=5 command=approve -->", "🚀 approved"]
