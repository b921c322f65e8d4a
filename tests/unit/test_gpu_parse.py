"""nvidia-smi output → usable GPUs, on the recorded outputs of real driver generations."""

from pathlib import Path

import pytest

from mlops_ci import gpu
from mlops_ci.gpu import build_probe, cuda_version, parse_list, parse_query, probe_from_dict

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
