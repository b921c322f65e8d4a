import io
import json

from mlops_ci.github.actions import (SUMMARY_LIMIT, Runtime, escape_data, escape_property, format_output, workflow_command)


def github_runtime(tmp_path, stream=None):
    env = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(tmp_path / "output"),
           "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}
    return Runtime.detect(tmp_path, env) if stream is None else Runtime(
        in_github=True, out_dir=tmp_path / "out", env=env, stream=stream)


def parse_output_file(text):
    """Parse $GITHUB_OUTPUT the way the runner does."""
    out, lines, i = {}, text.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1:j])
            i = j + 1
        elif "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
            i += 1
        else:
            i += 1
    return out


def test_escaping_matches_actions_toolkit():
    assert escape_data("50%\r\ndone") == "50%25%0D%0Adone"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    assert workflow_command("error", "bad\nvalue", file="dir/a,b.py", line=3, title="x: y") == \
        "::error file=dir/a%2Cb.py,line=3,title=x%3A y::bad%0Avalue"
    assert workflow_command("notice", "plain") == "::notice::plain"


def test_multiline_outputs_cannot_inject(tmp_path):
    rt = github_runtime(tmp_path)
    evil = "line1\nEOF\ninjected=1\nghadelimiter_x"
    rt.set_output("simple", "v")
    rt.set_output("report", evil)
    rt.set_output("data", {"a": 1})
    parsed = parse_output_file((tmp_path / "output").read_text())
    assert parsed == {"simple": "v", "report": evil, "data": '{"a": 1}'}
    assert "injected" not in parsed
    entry = format_output("x", "a\nb")
    assert entry.startswith("x<<ghadelimiter_") and entry.endswith("\n")


def test_summary_is_bounded_to_one_mebibyte(tmp_path):
    rt = github_runtime(tmp_path)
    rt.append_summary("# head\n")
    rt.append_summary("x" * (SUMMARY_LIMIT + 10))
    rt.append_summary("more after the limit")
    data = (tmp_path / "summary").read_bytes()
    assert len(data) <= SUMMARY_LIMIT
    assert data.startswith(b"# head") and b"truncated" in data
    # multi-byte characters are never split
    (tmp_path / "b").mkdir()
    rt2 = github_runtime(tmp_path / "b")
    rt2.append_summary("é" * SUMMARY_LIMIT)
    (tmp_path / "b" / "summary").read_bytes().decode("utf-8")


def test_a_cut_summary_closes_what_it_leaves_open(tmp_path):
    rt = github_runtime(tmp_path)
    body = "<details><summary>all rows</summary>\n\n```text\n" + "row\n" * SUMMARY_LIMIT
    rt.append_summary(body)
    data = (tmp_path / "summary").read_text()
    assert len(data.encode()) <= SUMMARY_LIMIT
    head, note = data.rsplit("\n```\n", 1)  # the fence is closed before the note…
    assert note.startswith("\n</details>") and "Summary truncated" in note  # …and so is <details>


def test_annotations_mask_and_groups(tmp_path):
    stream = io.StringIO()
    rt = github_runtime(tmp_path, stream)
    rt.mask("s3cr3t\nsecond-line")
    rt.mask("s3cr3t")  # once only
    rt.annotate("error", "auc dropped", file="metrics.json", line=2, title="gate")
    with rt.group("dvc repro"):
        rt._emit("inside")
    lines = stream.getvalue().splitlines()
    assert lines[:2] == ["::add-mask::s3cr3t", "::add-mask::second-line"]
    assert lines[2] == "::error file=metrics.json,line=2,title=gate::auc dropped"
    assert lines[3:] == ["::group::dvc repro", "inside", "::endgroup::"]


def test_local_mode_writes_under_out_dir(tmp_path, capsys):
    rt = Runtime.detect(tmp_path, env={})
    assert not rt.in_github
    rt.set_output("a", "1")
    rt.set_output("b", "two\nlines")
    rt.append_summary("## hi")
    rt.annotate("warning", "careful", file="params.yaml", line=4)
    rt.mask("hidden")  # nothing to print locally
    out = tmp_path / ".mlops-ci" / "out"
    assert json.loads((out / "outputs.json").read_text()) == {"a": "1", "b": "two\nlines"}
    assert (out / "summary.md").read_text() == "## hi\n"
    note = json.loads((out / "annotations.jsonl").read_text())
    assert note["file"] == "params.yaml" and note["line"] == 4 and note["level"] == "warning"
    assert "params.yaml:4: careful" in capsys.readouterr().err
    path = rt.write_file("report/a.json", "{}")
    assert path == out / "report" / "a.json" and path.read_text() == "{}"


def test_summary_parts_are_kept_apart_from_what_other_steps_wrote(tmp_path):
    rt = github_runtime(tmp_path)
    (tmp_path / "summary").write_text("written by a shell step without a newline")
    rt.append_summary("### Deploy\n\n<details><summary>log</summary>\n\n```\n### not a heading\n```\n</details>\nnext")
    text = (tmp_path / "summary").read_text()
    assert text == ("written by a shell step without a newline\n\n## Deploy\n\n<details><summary>log</summary>\n\n"
                    "```\n### not a heading\n```\n</details>\n\nnext\n")
