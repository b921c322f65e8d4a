"""`mlops-ci audit`: are the repository settings that really keep fork code off the GPU runner set?

The story: read the repository, its fork PR approval policy, its self-hosted runners and (in an
organization) the runner groups it can use, the default `GITHUB_TOKEN` permissions and what the
default branch requires; judge each (:mod:`mlops_ci.audit`); print a table, write it to the job
summary (or `--json`), and exit 1 when something is unsafe. Settings this token cannot read are
"not checked (needs …)": they fail the audit only with `--strict`.
"""

from __future__ import annotations

import json
import logging
import os
import sys

import click

from mlops_ci.commands import option


@click.command()
@option("--github-token", default=None, help="Token that can read the repository's administration settings "
        "(a fine-grained PAT with Administration: read, plus organization Self-hosted runners: read for runner "
        "groups; default: $MLOPS_CI_GITHUB_TOKEN, $GITHUB_TOKEN). GITHUB_TOKEN cannot read most of them.")
@option("--repo", default=None, help="OWNER/NAME to audit (default: $GITHUB_REPOSITORY).")
@option("--runner-label", "runner_labels", multiple=True, default=("gpu",), show_default=True,
        help="Label of the self-hosted runners that must stay out of fork PRs' reach (repeatable: a runner with "
        "any of them counts; space-separated in the env var).")
@option("--check-name", default="mlops-ci / gate", show_default=True,
        help="Check that the default branch must require.")
@option("--strict", is_flag=True, help="Also fail (exit 1) when a setting could not be read.")
@option("--json", "as_json", is_flag=True, help="Print the findings as JSON instead of a table.")
def audit(github_token: str | None, repo: str | None, runner_labels: tuple[str, ...], check_name: str,
          strict: bool, as_json: bool) -> None:
    """Check the GitHub settings that keep fork PR code off self-hosted runners; exit 1 if one is unsafe."""
    from mlops_ci.github.api import GitHub
    from mlops_ci.github.settings import fetch
    from mlops_ci.audit import audit as judge, render_markdown, render_text
    from mlops_ci.errors import BadInput
    from mlops_ci.github.actions import Runtime

    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        # PyGithub logs every 403 at INFO on its own handler; here a 403 is an expected answer ("not checked").
        logging.getLogger("github.GithubRetry").setLevel(logging.WARNING)
    env = dict(os.environ)
    rt = Runtime.detect(".", env)
    if as_json:  # workflow commands (masks) to stderr, where the runner reads them too: stdout is JSON only
        rt = Runtime(in_github=rt.in_github, out_dir=rt.out_dir, env=env, stream=sys.stderr)
    rt.mask(github_token)
    repository = repo or env.get("GITHUB_REPOSITORY") or ""
    if not repository:
        raise BadInput("no repository: pass --repo OWNER/NAME (GITHUB_REPOSITORY is not set)")
    labels = tuple(label for value in runner_labels for label in value.replace(",", " ").split())
    gh = GitHub.from_env(env, repository, github_token, rt)
    report = judge(fetch(gh), runner_labels=labels, check_name=check_name, strict=strict)
    rt.append_summary(render_markdown(report))
    rt.set_output("unsafe", str(len(report.unsafe)))
    rt.set_output("not-checked", str(len(report.unknown)))
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(render_text(report), nl=False)
    if not report.ok:
        raise click.exceptions.Exit(1)
