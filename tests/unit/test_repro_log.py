from mlops_ci.repro import ReproLogParser


def run(lines, returncode=0):
    parser = ReproLogParser(start=0.0)
    t = 0.0
    for line in lines:
        if isinstance(line, (int, float)):
            t = float(line)
            continue
        parser.feed(line, t)
    return parser.finish(t + 0.5, returncode)


def test_ran_cached_and_unchanged_stages_with_times():
    result = run([
        0.1, "'data/customers.csv.dvc' didn't change, skipping",
        0.2, "Stage 'prepare' didn't change, skipping",
        0.3, "Stage 'train' is cached - skipping run, checking out outputs",
        1.3, "Running stage 'evaluate':",
        1.4, "> python src/evaluate.py",
        4.3, "Updating lock file 'dvc.lock'",
        4.4, "Use `dvc push` to send your updates to remote storage.",
    ])
    assert result.ok
    assert [(s.name, s.status) for s in result.stages] == [
        ("prepare", "unchanged"), ("train", "cached"), ("evaluate", "ran")]
    assert result.stages[1].seconds == 1.0
    assert abs(result.stages[2].seconds - 3.0) < 1e-9
    assert result.names("ran") == ["evaluate"]


def test_failed_stage_is_named_with_command():
    result = run([
        0.0, "Running stage 'prepare':",
        1.0, "Running stage 'train':",
        1.5, "Traceback (most recent call last):",
        2.0, "ERROR: failed to reproduce 'train': failed to run: python src/train.py, exited with 1",
    ], returncode=255)
    assert not result.ok
    assert result.failed == ["train"]
    train = result.stages[1]
    assert train.detail == "`python src/train.py` exited with 1"
    assert result.stages[0].status == "ran" and result.stages[0].seconds == 1.0


def test_keep_going_failures_and_skipped_dependents():
    result = run([
        0.0, "Running stage 'a':",
        1.0, "WARNING: failed to reproduce 'a': failed to run: false, exited with 1",
        1.0, "WARNING: Stages 'b' and 'c' will be skipped due to this failure",
        1.1, "Running stage 'd':",
        2.0, "ERROR: failed to reproduce stages: 'a'",
    ], returncode=255)
    statuses = {s.name: s.status for s in result.stages}
    assert statuses == {"a": "failed", "b": "skipped", "c": "skipped", "d": "ran"}


def test_dvc_killed_mid_stage_blames_the_running_stage():
    result = run([0.0, "Running stage 'train':", 3.0, "Killed"], returncode=137)
    assert result.failed == ["train"]
