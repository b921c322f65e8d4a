"""nvidia-smi output → usable GPUs, on the recorded outputs of real driver generations."""

from pathlib import Path

import pytest

from mlops_ci.runners import gpu
from mlops_ci.runners.gpu import build_probe, cuda_version, parse_list, parse_query, probe_from_dict

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "nvidia-smi"


def recorded(scenario: str) -> dict:
    """The keyword arguments build_probe gets from the adapter for a recorded scenario."""
    d = FIXTURES / scenario

    def text(call: str) -> str:
        return (d / f"{call}.txt").read_text() if (d / f"{call}.txt").exists() else ""

    def rc(call: str) -> int:
        return int((d / f"{call}.rc").read_text()) if (d / f"{call}.rc").exists() else 0

    return {"found": True, "query_output": text("query"), "query_returncode": rc("query"), "banner": text("banner"),
            "listing": text("list"), "mig_output": text("mig") if rc("mig") == 0 else ""}


def test_one_a100():
    probe = build_probe(**recorded("a100-x1"))
    assert probe.count == 1 and probe.error is None
    (d,) = probe.devices
    assert (d.name, d.memory_total_mib, d.memory_used_mib, d.utilization_pct) == ("NVIDIA A100-SXM4-80GB", 81920, 4, 0)
    assert (probe.driver_version, probe.cuda_version, d.mig_mode) == ("535.129.03", "12.2", "Disabled")


def test_four_busy_t4s_with_newer_banner():
    probe = build_probe(**recorded("t4-x4"))
    assert probe.count == 4
    assert [d.utilization_pct for d in probe.devices] == [87, 0, 100, 0]
    assert [d.memory_used_mib for d in probe.devices] == [10952, 3, 14021, 3]
    assert probe.cuda_version == "12.4" and all(d.mig_mode is None for d in probe.devices)  # "[N/A]": no MIG


def test_mig_enabled_gpu_is_usable_through_its_instances():
    probe = build_probe(**recorded("a100-mig"))
    (d,) = probe.devices
    assert d.utilization_pct is None, "[N/A] is no utilisation, not zero"
    assert (d.mig_mode, d.mig_devices, d.usable) == ("Enabled", ["3g.20gb", "3g.20gb"], True)
    assert probe.cuda_version == "11.4"


def test_mig_enabled_without_instances_is_not_usable():
    probe = build_probe(**recorded("a100-mig-empty"))
    assert probe.count == 0 and len(probe.devices) == 1
    assert "no MIG instance" in probe.devices[0].problem


def test_unified_memory_board_reports_no_memory_but_works():
    probe = build_probe(**recorded("gb10-unified"))
    (d,) = probe.devices
    assert (d.memory_total_mib, d.memory_used_mib, d.usable) == (None, None, True)
    assert probe.cuda_version == "13.0" and probe.driver_version == "580.95.05"


@pytest.mark.parametrize("scenario, words", [
    ("driver-not-loaded", "kernel driver is not loaded"),
    ("version-mismatch", "driver and its user-space library differ"),
    ("no-devices", "sees no GPU"),
])
def test_driver_failures_explain_themselves(scenario, words):
    probe = build_probe(**recorded(scenario))
    assert probe.count == 0 and probe.devices == []
    assert words in probe.error and probe.error.startswith("nvidia-smi: ")


def test_a_gpu_that_fell_off_the_bus_is_counted_out_but_the_other_works():
    probe = build_probe(**recorded("gpu-lost"))
    assert [d.usable for d in probe.devices] == [True, False]
    assert probe.count == 1 and "fell off the bus" in probe.devices[1].problem


def test_old_driver_without_cuda_line_or_mig_field():
    probe = build_probe(**recorded("old-driver"))
    assert probe.count == 1 and probe.cuda_version is None and probe.devices[0].mig_mode is None


def test_missing_nvidia_smi():
    probe = build_probe(found=False)
    assert probe.count == 0 and not probe.found and "not found on the PATH" in probe.error


def test_units_names_with_commas_and_bracketed_values():
    devices, others = parse_query(
        "NVIDIA H100 80GB HBM3, 81559 MiB, 1 MiB, 35 %, 550.54.15\n"
        "Graphics Device, rev 2, [Not Supported], [Unknown Error], [N/A], 418.67\n"
        "WARNING: infoROM is corrupted at gpu 0000:04:00.0\n")
    assert [(d.name, d.memory_total_mib, d.memory_used_mib, d.utilization_pct) for d in devices] == [
        ("NVIDIA H100 80GB HBM3", 81559, 1, 35), ("Graphics Device, rev 2", None, None, None)]
    assert others == ["WARNING: infoROM is corrupted at gpu 0000:04:00.0"]


def test_warnings_are_kept_and_a_gpu_without_any_data_is_unusable():
    probe = build_probe(found=True, query_output="Mystery GPU, [N/A], [N/A], [N/A], [N/A]\n"
                        "WARNING: infoROM is corrupted at gpu 0000:04:00.0\n")
    assert probe.count == 0 and "no data" in probe.devices[0].problem
    assert probe.warnings == ["WARNING: infoROM is corrupted at gpu 0000:04:00.0"]


def test_cuda_version_from_q_output_and_na():
    assert cuda_version("Driver Version                            : 550.54.15\nCUDA Version"
                        "                              : 12.4\n") == "12.4"
    assert cuda_version("| NVIDIA-SMI 535.54.03   Driver Version: 535.54.03   CUDA Version: N/A |") is None


def test_list_parsing_ignores_noise():
    listing = ("GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-1)\n  MIG 1g.5gb      Device  0: (UUID: MIG-a)\n"
               "  MIG 1g.5gb Device 1: (UUID: MIG-GPU-1/7/0)\nGPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-2)\n"
               "garbage line\n")
    assert parse_list(listing) == {0: ["1g.5gb", "1g.5gb"], 1: []}


def test_round_trip_through_json():
    probe = build_probe(**recorded("gpu-lost"))
    again = probe_from_dict(probe.to_dict())
    assert again.to_dict() == probe.to_dict() and again.count == 1


def test_query_asks_for_what_the_parser_reads():
    assert gpu.QUERY_ARGS == ("--query-gpu=name,memory.total,memory.used,utilization.gpu,driver_version",
                              "--format=csv,noheader,nounits")


def test_mig_mode_inferred_from_the_listing_when_the_query_field_is_unknown():
    kwargs = recorded("a100-mig") | {"mig_output": ""}
    (d,) = build_probe(**kwargs).devices
    assert d.mig_mode == "Enabled" and d.usable


# -- GPU sampling during repro (mlops_ci.runners.gpu_usage) ------------------------------------------------

from mlops_ci.runners.gpu import parse_xid, xid_warnings  # noqa: E402
from mlops_ci.runners.gpu_usage import GpuReading, now_text, parse_sample_line, stage_usage  # noqa: E402


def test_sample_rows_of_the_recorded_scenarios():
    rows = [parse_sample_line(line, 1.0) for line in (FIXTURES / "t4-x4" / "sample.txt").read_text().splitlines()]
    assert [(r.index, r.util_pct, r.mem_used_mib, r.mem_total_mib) for r in rows] == [
        (0, 87.0, 10952.0, 15360.0), (1, 0.0, 3.0, 15360.0), (2, 100.0, 14021.0, 15360.0), (3, 0.0, 3.0, 15360.0)]
    (mig,) = [parse_sample_line(line, 1.0) for line in (FIXTURES / "a100-mig" / "sample.txt").read_text().splitlines()]
    assert mig.util_pct is None and mig.mem_used_mib == 25.0, "[N/A] is unknown, never 0 %"
    (unified,) = [parse_sample_line(x, 1.0) for x in (FIXTURES / "gb10-unified" / "sample.txt").read_text().splitlines()]
    assert unified.util_pct == 96.0 and unified.mem_used_mib is None and unified.mem_total_mib is None
    for noise in ("", "Unable to determine the device handle for GPU0000:3B:00.0: Unknown Error",
                  "index, utilization.gpu [%], memory.used [MiB], memory.total [MiB]"):
        assert parse_sample_line(noise, 1.0) is None


def r(t, index, util, used=1000.0, total=81920.0):
    return GpuReading(t, index, util, used, total)


def test_stage_usage_means_peaks_and_gpu_seconds():
    readings = [r(0.5, 0, 99), r(1.0, 0, 20, 2000), r(1.0, 1, 40, 9000), r(2.0, 0, 60, 3000), r(2.0, 1, 80, 7000),
                r(5.0, 0, 0)]
    usage = stage_usage(readings, 1.0, 3.0)
    assert (usage.gpus, usage.samples) == (2, 2)
    assert (usage.util_mean_pct, usage.util_peak_pct) == (50.0, 80.0)
    assert (usage.mem_peak_mib, usage.mem_total_mib) == (9000, 81920.0), "peak of any one GPU, with its size"
    assert usage.gpu_seconds == 4.0, "2 GPUs held for 2 s"
    assert usage.busy_gpu_seconds == pytest.approx((0.4 + 0.6) * 2.0), "GPU 0 at 40 %, GPU 1 at 60 %, for 2 s"
    assert not usage.low() and stage_usage([r(1.0, 0, 4)], 0.0, 2.0).low()


def test_a_stage_shorter_than_the_interval_uses_the_last_reading_before_its_end():
    readings = [r(0.0, 0, 10), r(1.0, 0, 70)]
    usage = stage_usage(readings, 1.2, 1.5, interval_s=1.0)
    assert usage.util_mean_pct == 70.0 and usage.samples == 0
    assert stage_usage(readings, 9.0, 9.5, interval_s=1.0) is None, "a reading older than 2 intervals says nothing"
    assert stage_usage([], 0.0, 1.0) is None


def test_mig_stage_has_unknown_utilisation_not_zero():
    usage = stage_usage([GpuReading(1.0, 0, None, 25.0, 40960.0)], 0.0, 2.0)
    assert usage.util_mean_pct is None and usage.busy_gpu_seconds is None and not usage.low()
    assert usage.mem_peak_mib == 25.0


def test_heartbeat_text_for_one_few_and_many_gpus():
    assert now_text([r(1.0, 0, 12), r(2.0, 0, 87, 23654.4, 143155.2)]) == "GPU 87 %, 23.1 / 139.8 GiB"
    assert now_text([r(1.0, 0, 50), r(1.0, 1, None)]) == \
        "GPU 0 50 %, 1.0 / 80.0 GiB; GPU 1 utilisation n/a, 1.0 / 80.0 GiB"
    assert now_text([r(1.0, i, 10 * i, 1024 * i) for i in range(8)]) == \
        "8 GPUs 35 % mean, max 7.0 GiB used on one GPU"
    assert now_text([]) is None


# -- the kernel log's Xid reports (runner doctor) ---------------------------------------------------

XID_LOG = FIXTURES.parent / "kernel-log" / "xid.txt"


def test_xid_lines_are_parsed_with_meaning_and_time():
    events = parse_xid(XID_LOG.read_text())
    assert [(e.code, e.pci, e.at_s, e.fatal) for e in events] == [
        (13, "PCI:0000:00:1e", 1210.337429, False), (43, "PCI:0000:00:1e", 1210.340187, False),
        (79, "PCI:0000:3b:00", 3600.118722, True)]
    assert events[2].meaning == "the GPU has fallen off the bus"
    assert parse_xid("NVRM: Xid (PCI:0000:01:00): 999, pid=1, something new")[0].meaning == \
        "see NVIDIA's Xid catalogue"
    assert parse_xid("[ 5.9] NVRM: loading NVIDIA UNIX x86_64 Kernel Module") == []


def test_xid_warnings_name_the_gpu_that_needs_a_reset():
    fatal, others = xid_warnings(parse_xid(XID_LOG.read_text()), uptime_s=3600.118722 + 300)
    assert fatal == ("kernel log: the GPU at PCI:0000:3b:00 logged Xid 79 (the GPU has fallen off the bus) "
                     "5 min ago: it needs a reset (or the machine a reboot) before it can be trusted")
    assert others.startswith("kernel log: 2 other Xid error(s) since boot (Xid 13 × 1, Xid 43 × 1); latest: Xid 43")
    assert others.endswith("on PCI:0000:00:1e, 45 min ago")
    assert xid_warnings([]) == []
