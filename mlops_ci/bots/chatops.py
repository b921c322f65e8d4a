"""ChatOps: what a `/mlops …` comment asks for, who may ask, and how the bot answers.

Pure: no network. The bot command (:mod:`mlops_ci.commands.bot`) feeds it the
comment and the API's answers; the guard (:mod:`mlops_ci.github.approvals`) re-uses the
parser to read `/mlops approve` comments, so both agree on what a command is.

Parsing rules, chosen so that talking *about* a command never runs it:

* the command is the first line that starts with the prefix (``/mlops``),
  leading spaces allowed, followed by a space or the end of the line;
* quoted lines (``> /mlops promote`` in a reply) and fenced code blocks are skipped;
* an unknown word after the prefix is answered with the help text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

DEFAULT_PREFIX = "/mlops"
COMMANDS = ("rerun", "report", "promote", "approve", "help")
#: Commands that act on a pull request: on a plain issue they are ignored.
NEEDS_PR = frozenset({"rerun", "report", "approve"})
#: Commands anyone may use (everything else needs write, maintain or admin).
OPEN_TO_ALL = frozenset({"help"})
#: ``permission`` values of the collaborator-permission endpoint that may run commands;
#: GitHub maps the ``maintain`` role to ``write``, so this covers write, maintain and admin.
WRITE_PERMISSIONS = frozenset({"admin", "write"})

#: Every comment the bot writes starts with this, so it never answers itself.
BOT_MARKER_PREFIX = "<!-- mlops-ci:"
_FULL_SHA_ARG = re.compile(r"^[0-9a-f]{40}$")
_VERSION_ARG = re.compile(r"^v?[0-9]{1,9}$")

USAGE = {
    "rerun": "`{p} rerun` — run the PR workflow again for the PR's current head, retraining every stage",
    "report": "`{p} report` — regenerate and re-post the PR report (cached results: nothing unchanged retrains)",
    "promote": "`{p} promote [version]` — make the challenger (or that version) the champion, if it passes the gate",
    "approve": "`{p} approve <sha>` — run this fork PR's head commit, named by its full 40-character SHA after "
               "you reviewed it, on the self-hosted runners (from the default branch's workflow)",
    "help": "`{p} help` — this list",
}


@dataclass(frozen=True)
class Command:
    """A parsed command. ``unknown`` keeps what was typed when it was not a command (→ help)."""

    name: str
    args: tuple[str, ...] = ()
    unknown: str | None = None
    #: Why the arguments were rejected (the bot replies with the usage and reacts confused).
    error: str | None = None

    @property
    def needs_pr(self) -> bool:
        return self.name in NEEDS_PR

    @property
    def open_to_all(self) -> bool:
        return self.name in OPEN_TO_ALL

    @property
    def sha(self) -> str | None:
        """The commit named by ``approve <sha>`` (lower-case hex), if any."""
        return self.args[0].lower() if self.name == "approve" and self.args else None


def command_line(body: str, prefix: str = DEFAULT_PREFIX) -> str | None:
    """The first line that is a command, stripped; None when the comment holds none."""
    in_fence = False
    for raw in (body or "").splitlines():
        line = raw.strip()
        if line.startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if in_fence or line.startswith(">"):
            continue
        if line == prefix or line.startswith(prefix + " ") or line.startswith(prefix + "\t"):
            return line
    return None


def parse(body: str, prefix: str = DEFAULT_PREFIX) -> Command | None:
    """The command in a comment body, or None when there is none."""
    line = command_line(body, prefix)
    if line is None:
        return None
    words = line[len(prefix):].split()
    if not words:
        return Command("help")
    name, args = words[0].lower(), tuple(words[1:])
    if name not in COMMANDS:
        return Command("help", unknown=words[0][:40])
    return Command(name, args, error=_check_args(name, args, prefix))


def _check_args(name: str, args: tuple[str, ...], prefix: str) -> str | None:
    usage = USAGE[name].format(p=prefix)
    if name == "approve":
        if len(args) != 1 or not _FULL_SHA_ARG.match(args[0].lower()):
            return f"expected the full 40-character SHA of the commit you reviewed. Usage: {usage}"
    elif name == "promote":
        if len(args) > 1 or (args and not _VERSION_ARG.match(args[0])):
            return f"expected at most one model version number. Usage: {usage}"
    elif args:
        return f"`{name}` takes no arguments. Usage: {usage}"
    return None


# -- who is talking -------------------------------------------------------------------------
def is_bot(login: str | None, user_type: str | None) -> bool:
    """GitHub Apps and bot accounts: their comments never run commands (no bot-to-bot loops)."""
    return (user_type or "").lower() == "bot" or (login or "").lower().endswith("[bot]")


def is_ours(body: str | None, author: str | None = None, own_login: str | None = None) -> bool:
    """A comment the bot wrote: by its login, or carrying its hidden marker."""
    if own_login and author and author.lower() == own_login.lower():
        return True
    return (body or "").lstrip().startswith(BOT_MARKER_PREFIX)


def triage(*, action: str | None, body: str | None, author: str | None, author_type: str | None,
           is_pull_request: bool, own_login: str, prefix: str = DEFAULT_PREFIX) -> tuple[Command | None, str]:
    """(the command to handle, or None with the reason to stay silent).

    Silent means no reaction, no reply, no API call: edits (a replay by editing
    an old comment), the bot's own comments, other bots, comments without a
    command, and PR-only commands on plain issues.
    """
    if action != "created":
        return None, f"comment {action or 'event'}: only new comments are commands"
    if is_ours(body, author, own_login):
        return None, "the bot's own comment"
    if is_bot(author, author_type):
        return None, f"comment by the bot account {author}"
    command = parse(body or "", prefix)
    if command is None:
        return None, "no command in the comment"
    if command.needs_pr and not is_pull_request:
        return None, f"`{prefix} {command.name}` needs a pull request; this is an issue"
    return command, ""


def may_run(command: Command, permission: str | None) -> bool:
    """``help`` is open to everyone; everything else needs write, maintain or admin."""
    return command.open_to_all or (permission or "none") in WRITE_PERMISSIONS


# -- replies --------------------------------------------------------------------------------
class CommentLike(Protocol):
    id: int
    body: str
    author: str | None


def reply_marker(comment_id: int, command: str) -> str:
    """The first line of every reply: which comment it answers (idempotency, no self-replies)."""
    return f"<!-- mlops-ci:bot reply-to={int(comment_id)} command={command} -->"


def quote_word(word: str) -> str:
    """A word someone typed, safe inside our reply's code span.

    A backtick would close the span, and what follows would render as Markdown: a link, or an
    ``@org/team`` that notifies a whole team in the bot's name. Backticks go; every ``@`` gets a
    zero-width joiner after it, so even the literal text mentions no one.
    """
    return word.replace("`", "").replace("@", "@\u200d")


def help_text(prefix: str = DEFAULT_PREFIX, unknown: str | None = None) -> str:
    head = f"I don't know `{prefix} {quote_word(unknown)}`. " if unknown else ""
    lines = [f"{head}Commands (write access needed for all but `help`):", ""]
    lines += [f"- {USAGE[name].format(p=prefix)}" for name in COMMANDS]
    return "\n".join(lines)


@dataclass
class Reply:
    """What the bot answers: the reaction that ends the exchange and the comment text."""

    reaction: str  # "rocket" (done) or "confused" (refused, failed, bad arguments)
    text: str
    outcome: str = "done"  # done | refused | failed

    def body(self, comment_id: int, command: str, user: str | None) -> str:
        mention = f"@{user} " if user else ""
        return "\n".join([reply_marker(comment_id, command), f"{mention}{self.text}".rstrip(), ""])


def done(text: str) -> Reply:
    return Reply("rocket", f"🚀 {text}", "done")


def refused(text: str) -> Reply:
    return Reply("confused", f"🙅 {text}", "refused")


def failed(text: str) -> Reply:
    return Reply("confused", f"💥 {text}", "failed")
