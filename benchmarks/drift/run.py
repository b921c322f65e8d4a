"""Drift benchmark: mlops-ci against Evidently's DataDriftPreset and a pandas+scipy baseline.

Reproduce (from the repository root):

    bash benchmarks/drift/setup_evidently.sh              # Evidently 0.7.x in its own venv (pandas < 3)
    .venv/bin/python benchmarks/drift/run.py               # 100k, 1M, 5M; Evidently at 100k and 1M
    .venv/bin/python benchmarks/drift/run.py --sizes 50000000 --no-peers   # the on-disk 50M run

Data: benchmarks/drift/generate.py (20 numeric + 5 categorical columns; current data has
5 numeric columns shifted by 0.25 sigma and one categorical with its top-2 swapped), written
as Parquet under benchmarks/.work/drift/<rows>/{ref,cur}. Every contender runs in its own
process on the same files; wall time and peak RSS (the process's max resident set, from
wait4) are measured from outside. Results: benchmarks/.work/drift/results.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / "benchmarks" / ".work" / "drift"
PY = Path(sys.executable)
MLOPS = PY.parent / "mlops-ci"
EVIDENTLY_PY = ROOT / "benchmarks" / ".venv-evidently" / "bin" / "python"
HERE = Path(__file__).resolve().parent


def measure(cmd: list[str], timeout: float, log: Path) -> dict:
    """Wall time, peak RSS and exit code of one command in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DVC_NO_ANALYTICS": "1"}
    env = {k: v for k, v in env.items() if not k.startswith(("GITHUB_", "MLOPS_CI_"))}
    with open(log, "w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        killer.cancel()
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"wall_s": round(wall, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024), "rc": proc.returncode,
            "timed_out": wall >= timeout - 0.5, "cmd": " ".join(str(c) for c in cmd)}


def flagged_from_ours(path: Path) -> list[str]:
    data = json.loads(path.read_text())
    return sorted(c["name"] for c in data["columns"] if c["drifted"])


def flagged_from_peer(path: Path) -> list[str] | None:
    if not path.exists():
        return None
    return sorted(name for name, c in json.loads(path.read_text())["columns"].items() if c["drifted"])


def label(rows: int) -> str:
    return f"{rows // 1_000_000}M" if rows >= 1_000_000 else f"{rows // 1000}k"


def bench_size(rows: int, peers: bool, evidently_max: int, timeout: float) -> dict:
    work = WORK / str(rows)
    subprocess.run([str(PY), str(HERE / "generate.py"), "--rows", str(rows), "--out", str(work)], check=True)
    ref, cur = work / "ref", work / "cur"
    out = work / "out"
    out.mkdir(exist_ok=True)
    res: dict = {"rows": rows}
    profile = out / "reference-profile.json"
    res["profile_build"] = measure([str(MLOPS), "profile", "build", str(ref), "-o", str(profile)], timeout,
                                   out / "profile.log")
    res["profile_bytes"] = profile.stat().st_size if profile.exists() else None
    res["ours_profile"] = measure([str(MLOPS), "drift", "-r", str(profile), "-c", str(cur), "--out",
                                   str(out / "vs-profile"), "--no-fail-on-drift"], timeout, out / "vs-profile.log")
    res["ours_profile"]["flagged"] = flagged_from_ours(out / "vs-profile" / "drift.json")
    res["ours_profile"]["html_bytes"] = (out / "vs-profile" / "drift.html").stat().st_size
    res["ours_raw"] = measure([str(MLOPS), "drift", "-r", str(ref), "-c", str(cur), "--out", str(out / "raw"),
                               "--no-fail-on-drift"], timeout, out / "raw.log")
    res["ours_raw"]["flagged"] = flagged_from_ours(out / "raw" / "drift.json")
    if peers:
        res["scipy"] = measure([str(PY), str(HERE / "scipy_run.py"), str(ref), str(cur), str(out / "scipy.json")],
                               timeout, out / "scipy.log")
        res["scipy"]["flagged"] = flagged_from_peer(out / "scipy.json") if res["scipy"]["rc"] == 0 else None
        if rows <= evidently_max and EVIDENTLY_PY.exists():
            res["evidently"] = measure([str(EVIDENTLY_PY), str(HERE / "evidently_run.py"), str(ref), str(cur),
                                        str(out / "evidently.json")], timeout, out / "evidently.log")
            ok = res["evidently"]["rc"] == 0
            res["evidently"]["flagged"] = flagged_from_peer(out / "evidently.json") if ok else None
    return res


def cell(m: dict | None) -> str:
    if not m:
        return "–"
    if m["timed_out"]:
        return f"> {m['wall_s']:.0f} s (killed)"
    if m["rc"] != 0:
        return f"failed (rc {m['rc']})"
    return f"{m['wall_s']:.1f} s, {m['peak_rss_mib']:,} MiB"


def markdown(results: list[dict], machine: str) -> str:
    lines = [f"Machine: {machine}. Date: {date.today().isoformat()}. Warm page cache; each contender in its own "
             "process, same Parquet files.", "",
             "| rows (each side) | Evidently 0.7 DataDriftPreset | pandas + scipy (exact, Evidently's rule) | "
             "mlops-ci, data vs data | mlops-ci profile build | mlops-ci, current vs stored profile | "
             "same flagged columns |", "|---|---|---|---|---|---|---|"]
    for r in results:
        ev, sp = r.get("evidently"), r.get("scipy")
        ours = r["ours_raw"]["flagged"]
        agree = []
        for name, peer in (("Evidently", ev), ("scipy", sp)):
            if peer and peer.get("flagged") is not None:
                agree.append(f"{name}: {'yes' if peer['flagged'] == ours else 'NO'}")
        agree.append(f"profile path: {'yes' if r['ours_profile']['flagged'] == ours else 'NO'}")
        lines.append(f"| {label(r['rows'])} | {cell(ev)} | {cell(sp)} | {cell(r['ours_raw'])} | "
                     f"{cell(r['profile_build'])} | {cell(r['ours_profile'])} | {'; '.join(agree)} |")
    lines.append("")
    for r in results:
        ev = r.get("evidently")
        if ev and ev["rc"] == 0:
            lines.append(f"- {label(r['rows'])}: mlops-ci (data vs data) is "
                         f"{ev['wall_s'] / r['ours_raw']['wall_s']:.0f}x faster than Evidently; flagged "
                         f"{', '.join(r['ours_raw']['flagged'])}.")
        lines.append(f"- {label(r['rows'])}: profile {r['profile_bytes'] / 1024:,.0f} KiB, HTML report "
                     f"{r['ours_profile']['html_bytes'] / 1024:,.0f} KiB.")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=lambda s: [int(float(x)) for x in s.split(",")],
                        default=[100_000, 1_000_000, 5_000_000])
    parser.add_argument("--no-peers", action="store_true", help="Only mlops-ci (e.g. for the 50M run).")
    parser.add_argument("--evidently-max", type=int, default=1_000_000, help="Largest size Evidently runs at.")
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, "
               f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB RAM, "
               f"Python {platform.python_version()}")
    results = []
    for rows in args.sizes:
        results.append(bench_size(rows, not args.no_peers, args.evidently_max, args.timeout))
        print(json.dumps(results[-1], indent=1), flush=True)
    stamp = "-".join(label(r) for r in args.sizes)
    (WORK / f"results-{stamp}.json").write_text(json.dumps({"machine": machine, "results": results}, indent=1))
    text = markdown(results, machine)
    (WORK / f"results-{stamp}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
