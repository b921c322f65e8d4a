"""Every command and every option explains itself in --help (the CLI is the documentation users see first)."""

from __future__ import annotations

import click

from mlops_ci.cli import COMMANDS, cli


def _walk(command: click.Command, path: str):
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            yield from _walk(command.get_command(ctx, name), f"{path} {name}")


def _all_commands():
    return list(_walk(cli, "mlops-ci"))


def test_every_command_is_reachable():
    names = {path.split()[1] for path, _ in _all_commands() if len(path.split()) > 1}
    assert names == set(COMMANDS)


def test_every_command_and_option_has_help_text():
    missing = []
    for path, command in _all_commands():
        if not (command.help or command.short_help):
            missing.append(f"{path}: no help")
        for param in command.params:
            if isinstance(param, click.Option) and not (param.help or "").strip():
                missing.append(f"{path} {param.opts[0]}")
    assert missing == [], "options without help text:\n" + "\n".join(missing)
