from mlops_ci.pipeline.repro import ReproLogParser


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


# -- phases, time limits and heartbeats (mlops_ci.pipeline.watch) --------------------------------------------

from mlops_ci.pipeline.supervise import MAX_LINE, _split, tree  # noqa: E402
from mlops_ci.runners.gpu_usage import GpuReading  # noqa: E402
from mlops_ci.pipeline.watch import StageLimits, Watchdog, stopped_from_dict  # noqa: E402


def test_phase_says_which_stage_runs_since_when():
    parser = ReproLogParser(start=10.0)
    assert parser.phase() == (None, 10.0, None)
    parser.feed("Running stage 'prepare':", 11.0)
    assert parser.phase() == ("prepare", 11.0, None)
    parser.feed("Updating lock file 'dvc.lock'", 12.5)
    assert parser.phase() == (None, 12.5, "prepare"), "DVC's own work after a stage"
    parser.feed("Stage 'train' is cached - skipping run, checking out outputs", 13.0)
    assert parser.phase() == ("train", 13.0, "prepare")
    result = parser.finish(14.0, 0)
    assert [(s.name, s.started) for s in result.stages] == [("prepare", 1.0), ("train", 3.0)]
    assert result.clock_start == 10.0


def test_stage_limits_exact_then_glob_then_default():
    limits = StageLimits.build({"train@*": 50, "train@gpu": 70, "*": 10, "evaluate": 5})
    assert limits.for_stage("train@gpu") == 70, "an exact name wins over an earlier glob"
    assert limits.for_stage("train@cpu") == 50
    assert limits.for_stage("sub/dvc.yaml:evaluate") == 5, "a nested dvc.yaml's stage matches by its name"
    assert limits.for_stage("prepare") == 10 and limits.for_stage(None) == 10
    assert StageLimits.build({"train": 60}).for_stage("prepare") is None
    assert StageLimits.build(30).for_stage("anything") == 30 and not StageLimits.build(None).any
    flag = StageLimits.build({"train": 60}, flag=5)
    assert (flag.for_stage("train"), flag.source) == (5, "--stage-timeout"), "the flag replaces the config"
    assert StageLimits.build({"train": 60}, flag=0).for_stage("train") is None, "--stage-timeout 0: no limit"


def test_watchdog_stops_a_stage_over_its_limit_and_dvc_itself_over_the_default():
    dog = Watchdog(StageLimits.build({"train": 100, "*": 30}), start=0.0)
    assert dog.overrun(99.0, ("train", 0.0, None)) is None
    stop = dog.overrun(100.5, ("train", 0.0, "prepare"))
    assert (stop.stage, stop.limit_s, stop.elapsed_s, stop.after) == ("train", 100, 100.5, "prepare")
    assert stop.message == ("stage 'train' exceeded its time limit of 100 s (repro.stage_timeout): stopped it and "
                            "every process it started, 100 s after it began")
    idle = dog.overrun(50.0, (None, 10.0, "train"))
    assert idle.stage is None and idle.message.startswith(
        "DVC itself (no stage running, after stage 'train') exceeded its time limit of 30 s")
    assert Watchdog(StageLimits(), start=0.0).overrun(1e9, ("train", 0.0, None)) is None, "no limit: never"
    assert stopped_from_dict({k: v for k, v in vars(stop).items()} | {"message": "x"}) == stop
    assert stopped_from_dict(None) is None and stopped_from_dict({"stage": "x"}) is None


def test_heartbeat_at_most_every_interval_with_the_gpus_right_now():
    dog = Watchdog(StageLimits.build({"train": 3600}), 60.0, start=0.0)
    assert dog.heartbeat(59.0, ("train", 0.0, None)) is None
    assert dog.heartbeat(60.0, ("train", 0.0, None), "GPU 87 %, 23.1 / 139.8 GiB") == \
        "⏳ mlops-ci: stage 'train' running for 60 s (limit 1 h 00 min) · GPU 87 %, 23.1 / 139.8 GiB"
    assert dog.heartbeat(100.0, ("train", 0.0, None)) is None, "not before another 60 s"
    assert dog.heartbeat(130.0, (None, 125.0, "train")) == \
        "⏳ mlops-ci: DVC working, no stage running (after stage 'train'), for 5 s"


def test_stopped_stage_fails_with_the_reason_and_repro_json_records_it():
    dog = Watchdog(StageLimits.build(2), start=0.0)
    parser = ReproLogParser(start=0.0)
    parser.feed("Running stage 'train':", 1.0)
    parser.feed("epoch 1", 1.5)
    stop = dog.overrun(3.5, parser.phase())
    result = parser.finish(3.6, -15, stopped=stop, leftovers=["42 python worker.py"])
    assert result.failed == ["train"] and result.stopped is stop
    assert result.stages[0].detail == "stopped after 2 s: over its time limit of 2 s (repro.stage_timeout)"
    assert stop.tail == ["Running stage 'train':", "epoch 1"]
    record = result.to_dict()
    assert record["stopped"]["stage"] == "train" and record["stopped"]["message"] == stop.message
    assert record["leftovers"] == ["42 python worker.py"] and "gpu" not in record["stages"][0]


def test_gpu_usage_is_attached_by_the_stage_windows():
    parser = ReproLogParser(start=100.0)
    parser.feed("Running stage 'prepare':", 100.5)
    parser.feed("Running stage 'train':", 101.0)
    parser.feed("Updating lock file 'dvc.lock'", 104.0)
    result = parser.finish(104.5, 0)
    readings = [GpuReading(t, 0, util, 500.0, 1000.0) for t, util in ((100.7, 2), (102.0, 90), (103.0, 70))]
    result.add_gpu_usage(readings, 1.0)
    prepare, train = result.stages
    assert prepare.gpu.util_mean_pct == 2.0 and train.gpu.util_mean_pct == 80.0
    assert train.gpu.gpu_seconds == 3.0 and result.to_dict()["stages"][1]["gpu"]["util_peak_pct"] == 90


def test_output_is_split_on_newlines_and_carriage_returns():
    assert _split(b"a\nb\r\nc\rprogress 50%\rprogress 100%\npartial") == (
        [b"a", b"b", b"c", b"progress 50%", b"progress 100%"], b"partial")
    assert _split(b"line\r") == ([], b"line\r"), "a \\r at the end may be half of \\r\\n"
    lines, rest = _split(b"x" * (MAX_LINE * 2 + 5))
    assert [len(x) for x in lines] == [MAX_LINE, MAX_LINE] and rest == b"xxxxx", "an endless line still shows"


def test_process_tree_follows_the_session_and_descendants_that_left_it():
    # pid: (parent, session, command): 100 is `dvc repro` (its own session), 101 a stage,
    # 102 a daemon that called setsid, 103 its child; 200 belongs to someone else.
    table = {100: (1, 100, "dvc repro"), 101: (100, 100, "python train.py"), 102: (101, 102, "server"),
             103: (102, 102, "server worker"), 104: (1, 100, "orphan in the session"), 200: (1, 200, "other")}
    assert tree(100, table) == {100: "dvc repro", 101: "python train.py", 102: "server", 103: "server worker",
                                104: "orphan in the session"}
