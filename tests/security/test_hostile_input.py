"""Hostile input files (security review §4, F14/F15): each attack reproduced through the real CLI.

A pull request controls every file the toolkit reads from the checkout: `.mlops-ci.yml`,
dvc.yaml, metrics and params files, data. Each test below writes one such file the way an
attacker (or an unlucky pipeline) would and runs `python -m mlops_ci …` in a subprocess. The
contract is the same for all of them: exit code 2, one message that names the file (and the key
where there is one), no traceback, and nothing read from outside the repository echoed back.
A subprocess timeout is the hang detector: a run that does not end within it fails the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.integration.dvcrepo import DvcRepo

pytestmark = pytest.mark.integration

#: Every run must end within this many seconds; a longer one is a hang (not a speed measurement).
HANG = 20
SECRET = "ghp_OUTSIDEsecret123"


def cli(repo: DvcRepo, *args: str, timeout: int = HANG) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run([sys.executable, "-m", "mlops_ci", *args], cwd=repo.root, env=repo.env,
                              capture_output=True, text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"mlops-ci {' '.join(args)} did not finish within {timeout} s (hang)")


def refused(proc: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit 2 with a one-paragraph message containing every fragment, no traceback, no secret."""
    err = proc.stderr
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], err[-3000:])
    assert "Traceback" not in err and "RecursionError" not in err, err[-3000:]
    for fragment in fragments:
        assert fragment.lower() in err.lower(), (fragment, err[-3000:])
    assert SECRET not in proc.stdout + err
    return err


#: The gate reads no metrics without rules: give it one so the hostile file is what it trips on.
GATE_RULES = "gate:\n  rules:\n    - metric: auc\n      direction: higher\n      min: 0.1\n"


def committed_metrics(repo: DvcRepo, metrics: dict | None = None) -> str:
    repo.write("metrics.json", json.dumps(metrics or {"auc": 0.8, "loss": 0.4}))
    return repo.commit("metrics")


def billion_laughs(prefix: str = "") -> str:
    """Nine levels of nine aliases: 9**9 (~387 million) strings once expanded, ~1 KB on disk."""
    lines = [prefix.rstrip("\n")] if prefix else []
    lines.append('l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]')
    for level in range(1, 9):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def deep_yaml(depth: int) -> str:
    return "[" * depth + "]" * depth


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


# -- 1. YAML alias expansion --------------------------------------------------------------------

@pytest.mark.parametrize("target", [".mlops-ci.yml", "metrics.yaml", "params.yaml"])
def test_billion_laughs_yaml_is_refused(dvc_repo, target):
    committed_metrics(dvc_repo)
    if target == ".mlops-ci.yml":
        dvc_repo.write(".mlops-ci.yml", billion_laughs())
        proc = cli(dvc_repo, "config", "validate")
    elif target == "metrics.yaml":
        dvc_repo.write(".mlops-ci.yml", "metrics:\n  files: [metrics.yaml]\n")
        dvc_repo.write("metrics.yaml", billion_laughs("auc: 0.9"))
        proc = cli(dvc_repo, "metrics", "diff")
    else:
        dvc_repo.write("params.yaml", billion_laughs("prepare:\n  scale: 2.0\ntrain:\n  bias: 0.25"))
        proc = cli(dvc_repo, "report", "--no-plots")
    refused(proc, target, "alias")


# -- 2. Nesting depth and file size ---------------------------------------------------------------

@pytest.mark.parametrize("target", ["metrics.json", "challenger.json", "metrics.yaml", "params.yaml",
                                    ".mlops-ci.yml"])
def test_deep_nesting_is_refused(dvc_repo, target):
    committed_metrics(dvc_repo)
    if target == "metrics.json":
        dvc_repo.write("metrics.json", '{"auc": ' + deep_json(100_000) + "}")
        proc = cli(dvc_repo, "metrics", "diff")
    elif target == "challenger.json":
        dvc_repo.write("challenger.json", '{"auc": ' + deep_json(100_000) + "}")
        dvc_repo.write("champion.json", '{"auc": 0.5}')
        dvc_repo.write(".mlops-ci.yml", GATE_RULES)
        proc = cli(dvc_repo, "gate", "--challenger-metrics", "challenger.json", "--champion-metrics", "champion.json")
    elif target == "metrics.yaml":
        dvc_repo.write(".mlops-ci.yml", "metrics:\n  files: [metrics.yaml]\n")
        dvc_repo.write("metrics.yaml", "auc: " + deep_yaml(50_000) + "\n")
        proc = cli(dvc_repo, "metrics", "diff")
    elif target == "params.yaml":
        dvc_repo.write("params.yaml", "prepare:\n  scale: 2.0\ntrain:\n  bias: 0.25\nx: " + deep_yaml(50_000) + "\n")
        proc = cli(dvc_repo, "report", "--no-plots")
    else:
        dvc_repo.write(".mlops-ci.yml", "metrics:\n  ignore: " + deep_yaml(50_000) + "\n")
        proc = cli(dvc_repo, "config", "validate")
    refused(proc, target, "nested")


def test_oversized_metrics_file_is_refused(dvc_repo):
    committed_metrics(dvc_repo)
    with open(dvc_repo.root / "metrics.json", "w") as fh:  # 11 MiB of valid JSON
        fh.write('{"auc": 0.9, "pad": "' + "x" * (11 << 20) + '"}')
    refused(cli(dvc_repo, "metrics", "diff"), "metrics.json", "MiB")


# -- 3. Integers beyond Python's 4300-digit limit -------------------------------------------------

@pytest.mark.parametrize("target", [".mlops-ci.yml", "metrics.json", "metrics.yaml"])
def test_huge_integer_is_refused(dvc_repo, target):
    committed_metrics(dvc_repo)
    digits = "7" * 5000
    if target == ".mlops-ci.yml":
        dvc_repo.write(".mlops-ci.yml", f"metrics:\n  precision: {digits}\n")
        proc = cli(dvc_repo, "config", "validate")
    elif target == "metrics.json":
        dvc_repo.write("metrics.json", '{"auc": ' + digits + "}")
        proc = cli(dvc_repo, "metrics", "diff")
    else:
        dvc_repo.write(".mlops-ci.yml", "metrics:\n  files: [metrics.yaml]\n")
        dvc_repo.write("metrics.yaml", f"auc: {digits}\n")
        proc = cli(dvc_repo, "metrics", "diff")
    refused(proc, target, "digits")


# -- 4. Metric, param and data paths stay inside the repository ----------------------------------

@pytest.fixture
def outside(dvc_repo) -> Path:
    """A directory next to the repository holding a 'secret' in each format the tools read."""
    place = dvc_repo.root.parent / "outside"
    place.mkdir()
    (place / "secret.json").write_text(json.dumps({"secret_token": SECRET, "auc": 0.1}))
    (place / "dvc.yaml").write_text("stages: {}\nmetrics: [secret.json]\n")
    (place / "ref.csv").write_text("token\n" + f"{SECRET}\n" * 50)
    return place


@pytest.mark.parametrize("how", ["dvc.yaml ..", "dvc.yaml absolute", "metrics.files absolute",
                                 "metrics.files ..", "symlink", "params ..", "project.dvc_root"])
def test_paths_outside_the_repository_are_refused(dvc_repo, outside, how):
    committed_metrics(dvc_repo)
    pipeline = (dvc_repo.root / "dvc.yaml").read_text()
    command = ("metrics", "diff")
    if how == "dvc.yaml ..":
        shown = "../outside/secret.json"
        dvc_repo.write("dvc.yaml", pipeline + f"metrics:\n- {shown}\n")
    elif how == "dvc.yaml absolute":
        shown = str(outside / "secret.json")
        dvc_repo.write("dvc.yaml", pipeline + f"metrics:\n- {shown}\n")
    elif how == "metrics.files absolute":
        shown = str(outside / "secret.json")
        dvc_repo.write(".mlops-ci.yml", f"metrics:\n  files: ['{shown}']\n")
    elif how == "metrics.files ..":
        shown = "sub/../../outside/secret.json"
        dvc_repo.write(".mlops-ci.yml", f"metrics:\n  files: ['{shown}']\n")
    elif how == "symlink":
        shown = "metrics.json"
        (dvc_repo.root / "metrics.json").unlink()
        (dvc_repo.root / "metrics.json").symlink_to(outside / "secret.json")
    elif how == "params ..":
        shown = "../outside/secret.json"
        dvc_repo.write("dvc.yaml", pipeline.replace("params: [train.bias]\n    outs",
                                                    "params:\n    - ../outside/secret.json:\n    outs"))
        command = ("report", "--no-plots")
    else:
        shown = "project.dvc_root"
        dvc_repo.write(".mlops-ci.yml", "project:\n  dvc_root: ../outside\n")
    refused(cli(dvc_repo, *command), shown, "outside the repository")


@pytest.mark.parametrize("how", ["config ..", "config absolute", "symlink in the repository"])
def test_drift_data_from_the_config_stays_inside_the_repository(dvc_repo, outside, how):
    dvc_repo.write("data/cur.csv", "token\n" + "abc\n" * 50)
    if how == "config ..":
        shown = "../outside/ref.csv"
    elif how == "config absolute":
        shown = str(outside / "ref.csv")
    else:
        shown = "data/ref.csv"
        (dvc_repo.root / "data" / "ref.csv").symlink_to(outside / "ref.csv")
    dvc_repo.write(".mlops-ci.yml", f"drift:\n  reference: '{shown}'\n  current: data/cur.csv\n")
    refused(cli(dvc_repo, "drift", "--out", "o"), shown, "outside the repository")


def test_drift_files_named_on_the_command_line_may_live_anywhere(dvc_repo, outside):
    """The person typing --reference chose that file: only paths that come from the repository are fenced."""
    dvc_repo.write("data/cur.csv", "token\n" + "abc\n" * 50)
    proc = cli(dvc_repo, "drift", "--reference", str(outside / "ref.csv"), "--current", "data/cur.csv",
               "--no-fail-on-drift", "--out", "o")
    assert proc.returncode == 0, proc.stderr[-3000:]


# -- 5. Values read from files are never echoed ---------------------------------------------------

def test_non_numeric_metric_value_is_not_echoed(dvc_repo):
    committed_metrics(dvc_repo)
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.9, "secret_token": SECRET}))
    refused(cli(dvc_repo, "metrics", "diff"), "metrics.json", "metric 'secret_token' is a string; expected a number")
    dvc_repo.write("challenger.json", json.dumps({"auc": 0.9, "secret_token": SECRET}))
    dvc_repo.write("champion.json", '{"auc": 0.5}')
    dvc_repo.write(".mlops-ci.yml", GATE_RULES)
    refused(cli(dvc_repo, "gate", "--challenger-metrics", "challenger.json", "--champion-metrics", "champion.json"),
            "challenger.json", "metric 'secret_token' is a string")
    verdict = dvc_repo.root / ".mlops-ci" / "out" / "gate.json"  # what a fork's publish job would post
    assert verdict.is_file() and SECRET not in verdict.read_text()


# -- 6. Booleans are not metrics -------------------------------------------------------------------

def test_boolean_metric_is_refused_unless_ignored(dvc_repo):
    committed_metrics(dvc_repo)
    dvc_repo.write("metrics.json", json.dumps({"auc": 0.9, "passed": True}))
    refused(cli(dvc_repo, "metrics", "diff"), "metrics.json", "metric 'passed' is a boolean; expected a number")
    dvc_repo.write(".mlops-ci.yml", "metrics:\n  ignore: [passed]\n")
    proc = cli(dvc_repo, "metrics", "diff", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert {m["name"] for m in json.loads(proc.stdout)["metrics"]} == {"auc", "loss"}


# -- 7. A declared metrics file missing (or a directory) in the working tree -----------------------

@pytest.mark.parametrize("how", ["missing", "directory"])
def test_declared_metrics_file_absent_from_the_working_tree_is_refused(dvc_repo, how):
    committed_metrics(dvc_repo)
    (dvc_repo.root / "metrics.json").unlink()
    if how == "directory":
        (dvc_repo.root / "metrics.json").mkdir()
    refused(cli(dvc_repo, "metrics", "diff"), "metrics.json", how)


def test_metrics_file_new_at_a_revision_is_still_added(dvc_repo):
    first = dvc_repo.sh("git", "rev-parse", "HEAD").stdout.strip()  # the pipeline, no metrics.json yet
    second = committed_metrics(dvc_repo)
    proc = cli(dvc_repo, "metrics", "diff", "--base", first, "--head", second, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert {m["status"] for m in json.loads(proc.stdout)["metrics"]} == {"added"}


# -- 8. drift never hangs or aborts on garbage ------------------------------------------------------

@pytest.fixture(scope="module")
def drift_inputs(tmp_path_factory) -> Path:
    place = tmp_path_factory.mktemp("drift-hostile")
    table = pa.table({"a": [float(i % 97) for i in range(3000)], "b": [i % 5 for i in range(3000)]})
    pq.write_table(table, place / "ok.parquet")
    # more than one 16 MiB CSV block: the reader's read-ahead is still busy when the parse fails
    (place / "garbage.csv").write_bytes(os.urandom(18 << 20))
    (place / "badnames.csv").write_bytes(b"a,\xff\xfeb\n1,2\n3,4\n")
    pq.write_table(pa.table({"a": [1.0, 2.0], "bQQb": [1, 2]}), place / "tmp.parquet")
    patched = (place / "tmp.parquet").read_bytes().replace(b"bQQb", b"b\xff\xfeb")
    (place / "badnames.parquet").write_bytes(patched)
    return place


def _drift(place: Path, reference: str, current: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "MLOPS_CI_"))}
    try:
        return subprocess.run([sys.executable, "-m", "mlops_ci", "drift", "-r", str(place / reference),
                               "-c", str(place / current), "--out", str(place / "out")],
                              cwd=place, env=env, capture_output=True, text=True, errors="replace", timeout=HANG)
    except subprocess.TimeoutExpired:
        pytest.fail(f"drift -r {reference} -c {current} did not finish within {HANG} s (hang)")


@pytest.mark.parametrize("reference, current, bad", [
    ("garbage.csv", "ok.parquet", "garbage.csv"),
    ("ok.parquet", "garbage.csv", "garbage.csv"),
])
def test_drift_on_binary_garbage_ends_with_exit_2_every_time(drift_inputs, reference, current, bad):
    for _ in range(10):
        proc = _drift(drift_inputs, reference, current)
        assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])  # -6: abort at exit
        assert bad in proc.stderr and "cannot parse CSV" in proc.stderr and "Traceback" not in proc.stderr
        assert "\ufffd" not in proc.stderr, "bytes of the file were echoed"


@pytest.mark.parametrize("reference, current, bad", [
    ("badnames.csv", "ok.parquet", "badnames.csv"),
    ("ok.parquet", "badnames.csv", "badnames.csv"),
    ("badnames.parquet", "ok.parquet", "badnames.parquet"),
    ("ok.parquet", "badnames.parquet", "badnames.parquet"),
])
def test_drift_on_non_utf8_column_names_ends_with_exit_2(drift_inputs, reference, current, bad):
    for _ in range(3):
        proc = _drift(drift_inputs, reference, current)
        assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
        assert bad in proc.stderr and "column names are not UTF-8" in proc.stderr
        assert "Traceback" not in proc.stderr


# -- 9. Non-UTF-8 files are named correctly --------------------------------------------------------

@pytest.mark.parametrize("target", ["metrics.json", "params.yaml", ".mlops-ci.yml", "dvc.yaml", "data/cur/b.csv"])
def test_non_utf8_file_is_named(dvc_repo, target):
    committed_metrics(dvc_repo)
    command: tuple[str, ...] = ("metrics", "diff")
    if target == "params.yaml":
        command = ("report", "--no-plots")
    elif target == ".mlops-ci.yml":
        command = ("config", "validate")
    elif target.startswith("data/"):
        dvc_repo.write("data/ref.csv", "x\n" + "abc\n" * 20)
        dvc_repo.write("data/cur/a.csv", "x\n" + "abc\n" * 20)
        command = ("drift", "-r", "data/ref.csv", "-c", "data/cur", "--out", "o")
    (dvc_repo.root / target).write_bytes(b"x\n\xff\xfe\xfd\n")
    err = refused(cli(dvc_repo, *command), target, "UTF-8")
    others = {"metrics.json", "params.yaml", ".mlops-ci.yml", "dvc.yaml", "data/cur/a.csv"} - {target}
    assert not any(f"{name}:" in err for name in others), err
