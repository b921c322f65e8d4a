"""Runner labels, JIT requests and the doctor's verdict (pure)."""

import pytest

from mlops_ci.runners.disk import cache_dir_from_config
from mlops_ci.runners.doctor import GIB, CacheFacts, DiskUsage, diagnose, render_markdown
from mlops_ci.errors import BadInput
from mlops_ci.runners.gpu import GpuDevice, GpuProbe, build_probe
from mlops_ci.runners.selfhosted import default_runner_name, gpu_required_by, jit_request, names_gpu, parse_labels


def test_labels_parse_from_commas_spaces_and_repeats():
    assert parse_labels(["self-hosted,linux", "x64 gpu", "GPU"]) == ["self-hosted", "linux", "x64", "gpu"]
    assert parse_labels(None) == [] and parse_labels("") == []


@pytest.mark.parametrize("label, gpu", [
    ("gpu", True), ("GPU", True), ("gpu-a100", True), ("nvidia_gpu", True), ("gpus=2", True), ("a100-gpu-80g", True),
    ("no-gpu", False), ("non_gpu", False), ("gpuless", False), ("cpu", False), ("self-hosted", False),
])
def test_which_labels_name_a_gpu(label, gpu):
    assert names_gpu(label) is gpu


def test_why_a_gpu_is_required():
    assert gpu_required_by(["self-hosted", "gpu-t4"]) == "runner label 'gpu-t4'"
    assert gpu_required_by(["self-hosted"], explicit=True) == "--require-gpu"
    assert gpu_required_by(["self-hosted", "no-gpu"]) is None


def test_jit_request_validation():
    req = jit_request(name=" box-1 ", labels=["self-hosted", "gpu"], runner_group_id=3, work_folder="_work")
    assert req.body() == {"name": "box-1", "runner_group_id": 3, "labels": ["self-hosted", "gpu"],
                          "work_folder": "_work"}
    with pytest.raises(BadInput, match="at least one runner label"):
        jit_request(name="x", labels=[], runner_group_id=1, work_folder="_work")
    with pytest.raises(BadInput, match="at most 100"):
        jit_request(name="x", labels=[f"l{i}" for i in range(101)], runner_group_id=1, work_folder="_work")
    with pytest.raises(BadInput, match="--runner-group-id"):
        jit_request(name="x", labels=["gpu"], runner_group_id=0, work_folder="_work")


def test_default_runner_names_are_unique_and_clean():
    assert default_runner_name("gpu box #3.local", "1a2b3c4d") == "gpu-box-3.local-1a2b3c4d"
    assert default_runner_name("", "ff") == "runner-ff"


def test_dvc_config_cache_dir():
    text = "[core]\n    remote = s3\n['remote \"s3\"']\n    url = s3://b/x\n[cache]\n    # comment\n    dir = /mnt/c\n"
    assert cache_dir_from_config(text) == "/mnt/c"
    assert cache_dir_from_config("[core]\n    remote = s3\n") is None


def usage(free_gib: float, path: str = "/work") -> DiskUsage:
    return DiskUsage(path, int(500 * GIB), int(free_gib * GIB))


def one_gpu() -> GpuProbe:
    return GpuProbe([GpuDevice(0, "NVIDIA L4", 23034, 0, 0, "550.54.15")], "550.54.15", "12.4")


def test_diagnose_ok_with_gpu_and_disk():
    report = diagnose(one_gpu(), required_by="runner label 'gpu'", labels=["gpu"],
                      disks=[("workspace", usage(200))], cache=None, min_free_bytes=5 * GIB)
    assert report.ok and report.to_dict()["gpu"]["count"] == 1
    text = render_markdown(report)
    assert text.startswith("### ✅ Runner doctor: 1 × NVIDIA L4")
    assert "| 0 | NVIDIA L4 | 0 / 23,034 MiB | 0 % | — | ✅ |" in text and "**CUDA (driver)**: 12.4" in text


def test_diagnose_low_disk_and_unwritable_cache():
    cache = CacheFacts("/cache", "default", exists=True, size_bytes=3 * GIB, files=10, writable=False,
                       free_bytes=int(1 * GIB), problem="the DVC cache /cache is not writable by this user (uid 1001)")
    report = diagnose(one_gpu(), required_by=None, labels=[], disks=[("workspace", usage(2.5))], cache=cache,
                      min_free_bytes=5 * GIB)
    assert not report.ok
    assert report.problems == ["only 2.5 GiB free on the workspace disk (/work); at least 5.0 GiB required "
                               "(--min-free-gb)", "the DVC cache /cache is not writable by this user (uid 1001)"]
    assert "- ❌ only 2.5 GiB free" in render_markdown(report)


def test_diagnose_cache_on_another_full_disk_and_zero_threshold():
    cache = CacheFacts("/mnt/cache", ".dvc/config", exists=False, writable=True, free_bytes=int(0.5 * GIB))
    full = diagnose(one_gpu(), required_by=None, labels=[], disks=[("workspace", usage(100))], cache=cache,
                    min_free_bytes=5 * GIB)
    assert full.problems == ["only 0.5 GiB free for the DVC cache (/mnt/cache); at least 5.0 GiB required "
                             "(--min-free-gb)"]
    assert diagnose(one_gpu(), required_by=None, labels=[], disks=[("workspace", usage(0.1))], cache=cache,
                    min_free_bytes=0).ok


def test_no_gpu_on_a_cpu_runner_is_silent():
    report = diagnose(build_probe(found=False), required_by=None, labels=["self-hosted"], disks=[], cache=None,
                      min_free_bytes=0)
    assert report.ok and report.warnings == []
    assert render_markdown(report).startswith("### ✅ Runner doctor: no GPU")
