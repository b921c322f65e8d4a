"""runners/image/Dockerfile, parsed and checked (hadolint is not available here; no image registry either).

What matters for a CI runner image: base images pinned by digest, a non-root runtime user,
no secrets baked in, the toolkit installed exactly where the `setup` action reuses it
(so a job's setup needs no network), and that toolkit root-owned and read-only, so a job
cannot change the mlops-ci that later steps run (security review F5).
"""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "runners" / "image" / "Dockerfile"
SECRETISH = re.compile(r"(TOKEN|SECRET|PASSW|PRIVATE|CREDENTIAL|API_?KEY|ACCESS_?KEY)", re.IGNORECASE)


@dataclass
class Instruction:
    line: int
    keyword: str
    args: str


def parse(text: str) -> list[Instruction]:
    """Instructions with continuation lines joined and comments dropped (Dockerfile syntax, no heredocs)."""
    out: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continuation are ignored by Docker
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        full = pending + stripped
        pending = ""
        keyword, _, args = full.partition(" ")
        out.append(Instruction(start, keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends inside a continuation line"
    return out


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse(DOCKERFILE.read_text())


def stages(instructions: list[Instruction]) -> list[list[Instruction]]:
    out: list[list[Instruction]] = []
    for ins in instructions:
        if ins.keyword == "FROM":
            out.append([])
        if out:
            out[-1].append(ins)
    return out


def global_args(instructions: list[Instruction]) -> dict[str, str | None]:
    args = {}
    for ins in instructions:
        if ins.keyword == "FROM":
            break
        if ins.keyword == "ARG":
            name, eq, default = ins.args.partition("=")
            args[name] = default if eq else None
    return args


def test_parser_handles_continuations_and_comments():
    text = "# c\nFROM a@${D} AS x\nRUN one \\\n  # inside\n  && two\n\nUSER 1001\n"
    assert [(i.keyword, i.args) for i in parse(text)] == [("FROM", "a@${D} AS x"), ("RUN", "one && two"),
                                                           ("USER", "1001")]


def test_known_instructions_only(instructions):
    known = {"FROM", "ARG", "ENV", "RUN", "COPY", "USER", "WORKDIR", "LABEL", "ENTRYPOINT", "CMD"}
    assert {i.keyword for i in instructions} <= known


def test_external_bases_are_pinned_by_a_required_digest(instructions):
    args = global_args(instructions)
    names = set()
    for ins in (i for i in instructions if i.keyword == "FROM"):
        image = ins.args.split()[0]
        if image in names:  # an earlier stage
            continue
        ref = re.fullmatch(r"\$\{(\w+)\}@\$\{(\w+)\}", image)
        assert ref, f"line {ins.line}: FROM {image} is neither an earlier stage nor IMAGE@DIGEST"
        image_arg, digest_arg = ref.groups()
        assert args.get(image_arg), f"{image_arg} needs a default image"
        assert args[digest_arg] is None or re.fullmatch(r"sha256:[0-9a-f]{64}", args[digest_arg]), \
            f"{digest_arg} must be required or a real sha256 digest"
        if " AS " in ins.args.upper():
            names.add(ins.args.split()[-1])


def test_runtime_user_is_not_root(instructions):
    final = stages(instructions)[-1]
    users = [i.args for i in final if i.keyword == "USER"]
    user = users[-1].split(":")[0] if users else "root"
    assert user not in ("root", "0"), "the runner must not run jobs as root"
    created = [re.search(r"useradd (.*)", i.args) for i in final if i.keyword == "RUN" and "useradd" in i.args]
    assert any(m and m.group(1).split()[-1] == user and "--uid 0" not in m.group(1) for m in created)


def test_no_secrets_baked_in(instructions):
    for ins in instructions:
        if ins.keyword in ("ENV", "ARG", "LABEL"):
            names = re.findall(r"([A-Za-z_][\w.]*)=", ins.args) or [ins.args.split("=")[0]]
            assert not [n for n in names if SECRETISH.search(n)], f"line {ins.line}: {ins.keyword} {ins.args}"
        if ins.keyword == "COPY":
            sources = [s for s in shlex.split(ins.args) if not s.startswith("--")][:-1]
            assert not [s for s in sources if re.search(r"(\.env|id_rsa|\.pem|\.key|netrc|\.npmrc|token)", s)]
        if ins.keyword == "RUN":
            assert not re.search(r"(curl|wget)[^|]*\|\s*(ba)?sh", ins.args), f"line {ins.line}: piped installer"


def test_apt_is_lean(instructions):
    for ins in (i for i in instructions if i.keyword == "RUN" and "apt-get install" in i.args):
        assert "--no-install-recommends" in ins.args and "rm -rf /var/lib/apt/lists/*" in ins.args
        assert "apt-get update" in ins.args, "update and install in one layer, or the cache goes stale"


def test_copied_sources_exist(instructions):
    for ins in (i for i in instructions if i.keyword == "COPY" and "--from=" not in i.args):
        for source in shlex.split(ins.args)[:-1]:
            assert (ROOT / source).exists(), f"line {ins.line}: COPY {source}: not in the repository"


def test_toolkit_lands_where_the_setup_action_reuses_it(instructions):
    setup = (ROOT / "actions" / "setup" / "setup.sh").read_text()
    assert 'cache_dir="${RUNNER_TOOL_CACHE:-$HOME/.cache}/mlops-ci"' in setup
    assert 'entry="$cache_dir/$version"' in setup and 'venv="$entry/venv"' in setup
    text = " ".join(i.args for i in instructions)
    assert 'venv="/opt/hostedtoolcache/mlops-ci/${MLOPS_CI_VERSION}/venv"' in text
    final_env = " ".join(i.args for i in stages(instructions)[-1] if i.keyword == "ENV")
    assert "RUNNER_TOOL_CACHE=/opt/hostedtoolcache" in final_env

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    defaults = [i.args for i in instructions if i.keyword == "ARG" and i.args.startswith("MLOPS_CI_VERSION=")]
    assert defaults and all(d == f"MLOPS_CI_VERSION={version}" for d in defaults), "keep in step with pyproject"
    extras = re.search(r"default: (\w+)", (ROOT / "actions" / "setup" / "action.yml").read_text().split(
        "extras:", 1)[1]).group(1)
    assert f"ARG MLOPS_CI_EXTRAS={extras}" in "\n".join(f"{i.keyword} {i.args}" for i in instructions)


def test_installs_from_a_wheel_with_pinned_dependencies(instructions):
    run = " ".join(i.args for i in instructions if i.keyword == "RUN")
    assert "pip wheel --no-deps --wheel-dir /wheels /src" in run
    assert "--constraint /src/requirements.lock" in run and "/wheels/mlops_ci-${MLOPS_CI_VERSION}-py3-none-any.whl" in run


def test_toolkit_is_root_owned_and_read_only_for_jobs(instructions):
    """F5: `COPY --chown=runner:runner` of the tool cache let every job patch the toolkit."""
    toolkit_stage = next(st for st in stages(instructions) if st[0].args.upper().endswith(" AS TOOLKIT"))
    final = stages(instructions)[-1]
    entry = "/opt/hostedtoolcache/mlops-ci/${MLOPS_CI_VERSION}"

    # built by root, then every write bit removed from its cache entry, after the install
    [build] = [i.args for i in toolkit_stage if i.keyword == "RUN" and "pip\" install" in i.args]
    assert f'chmod -R a-w "{entry}"' in build
    assert build.index(f'chmod -R a-w "{entry}"') > build.index('"$venv/bin/mlops-ci" version')
    assert "chown" not in build

    # copied into the runtime stage without handing it to the runner user ...
    copies = [i for i in final if i.keyword == "COPY"]
    toolkit = [i for i in copies if "/opt/hostedtoolcache" in i.args]
    assert toolkit and all("--chown" not in i.args and "--chmod" not in i.args for i in toolkit), toolkit
    assert all("--from=toolkit" in i.args for i in toolkit)
    # ... while the runner's own files in its home stay its own
    [home] = [i for i in copies if "/home/runner" in i.args]
    assert "--from=actions-runner" in home.args and "--chown=runner:runner" in home.args

    runs = [i for i in final if i.keyword == "RUN"]
    for ins in runs:
        assert not re.search(r"\bchown\b[^&;|]*/opt/hostedtoolcache", ins.args), f"line {ins.line}"
        assert not re.search(r"\bchmod\b(?! 1777 /opt/hostedtoolcache /opt/hostedtoolcache/mlops-ci\b)"
                             r"[^&;|]*/opt/hostedtoolcache", ins.args), f"line {ins.line}: {ins.args}"
    # the cache directories are sticky (jobs may add tools, not rename root's), set as root
    user_index = next(n for n, i in enumerate(final) if i.keyword == "USER")
    assert any("chmod 1777 /opt/hostedtoolcache /opt/hostedtoolcache/mlops-ci" in i.args
               for i in final[:user_index] if i.keyword == "RUN")
    # and the image checks it as the job user at build time
    checks = " ".join(i.args for i in final[user_index:] if i.keyword == "RUN")
    assert f'entry="{entry}"' in checks
    assert 'test -z "$(find "$entry" -writable -print -quit)"' in checks
    assert '! mv "$entry" "$entry.moved"' in checks
