"""Drift benchmark: mlops-ci against Evidently's DataDriftPreset, pandas+scipy and a DuckDB prototype.

Reproduce (from the repository root):

    bash benchmarks/drift/setup_evidently.sh        # Evidently 0.7.23 + DuckDB in their own venv (pandas < 3)
    .venv/bin/python benchmarks/drift/run.py --sizes 1000000 --repeat 3          # all contenders, interleaved
    .venv/bin/python benchmarks/drift/run.py --sizes 1e6,5e6,20e6,50e6 --only ours,duckdb --repeat 2 --warm

Data: benchmarks/drift/generate.py (20 numeric + 5 categorical columns; current data has
5 numeric columns shifted by 0.25 sigma and one categorical with its top-2 swapped), as
1M-row Parquet files under benchmarks/.work/drift/<rows>/{ref,cur}. The generator is
deterministic per file, so a smaller size is the first files of a larger one: when a
larger dataset exists, smaller ones are directories of links to its first files (no
second copy on disk).

Every contender runs in its own process on the same files; wall time, CPU time
(user + system, all threads) and peak RSS (``ru_maxrss``) come from ``wait4``. With
``--repeat N`` the contenders run in turn N times (interleaved, so a burst of load
from other jobs hits all of them alike); tables show medians, ratios are the median of
the per-round ratios, and the 1-minute load average is recorded before every
measurement, with the share of the contender's input files then in the page cache (``fincore``;
``--warm`` reads them just before, untimed). Results: benchmarks/.work/drift/results-<sizes>.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
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
PEERS_PY = ROOT / "benchmarks" / ".venv-evidently" / "bin" / "python"
HERE = Path(__file__).resolve().parent
CHUNK = 1_000_000


def resident(dirs: list[Path]) -> float | None:
    """Share of the input files' bytes in the page cache right now (util-linux ``fincore``; None without it)."""
    files = [str(f) for d in dirs for f in sorted(d.glob("*.parquet"))]
    if not files:
        return None
    try:
        out = subprocess.run(["fincore", "-b", "-n", "-o", "RES,SIZE", *files], capture_output=True, text=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    pairs = [tuple(map(int, line.split())) for line in out.splitlines() if line.strip()]
    return round(sum(r for r, _ in pairs) / max(1, sum(s for _, s in pairs)), 2)


def warm(dirs: list[Path]) -> None:
    """Read the inputs once (not timed), so a measurement sees as much of them in the page cache as fits."""
    for d in dirs:
        for f in sorted(d.glob("*.parquet")):
            with open(f, "rb") as fh:
                while fh.read(1 << 24):
                    pass


def measure(cmd: list[str], timeout: float, log: Path, inputs: list[Path]) -> dict:
    """Wall time, CPU time, peak RSS and exit code of one command in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DVC_NO_ANALYTICS": "1"}
    env = {k: v for k, v in env.items() if not k.startswith(("GITHUB_", "MLOPS_CI_"))}
    cached = resident(inputs)
    load = os.getloadavg()[0]
    with open(log, "w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        killer.cancel()
        wall = time.perf_counter() - started
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_rss_mib": round(usage.ru_maxrss / 1024), "rc": os.waitstatus_to_exitcode(status),
            "timed_out": wall >= timeout - 0.5, "load_before": round(load, 2), "inputs_cached": cached,
            "cmd": " ".join(map(str, cmd))}


def flagged(path: Path, ours: bool) -> list[str] | None:
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    if ours:
        return sorted(c["name"] for c in data["columns"] if c["drifted"])
    return sorted(name for name, c in data["columns"].items() if c["drifted"])


def label(rows: int) -> str:
    return f"{rows // 1_000_000}M" if rows >= 1_000_000 else f"{rows // 1000}k"


def dataset(rows: int) -> Path:
    """The data of ``rows`` rows per side: generated, or links to the first files of a larger set."""
    work = WORK / str(rows)
    if all((work / side / f".complete-{rows}-42").exists() for side in ("ref", "cur")):
        return work
    if rows % CHUNK == 0:
        larger = sorted((p for p in WORK.iterdir() if p.name.isdigit() and int(p.name) > rows), key=lambda p: int(p.name))
        for parent in larger:
            if all((parent / side / f".complete-{parent.name}-42").exists() for side in ("ref", "cur")):
                for side in ("ref", "cur"):
                    target = work / side
                    target.mkdir(parents=True, exist_ok=True)
                    for i in range(rows // CHUNK):
                        link = target / f"part-{i:05d}.parquet"
                        if not link.exists():
                            link.symlink_to(parent / side / link.name)
                    (target / f".complete-{rows}-42").touch()
                return work
    subprocess.run([str(PY), str(HERE / "generate.py"), "--rows", str(rows), "--out", str(work)], check=True)
    return work


Contender = tuple[str, list[str], "Path | None", bool]


def contenders(rows: int, work: Path, only: set[str], evidently_max: int, scipy_max: int) -> list[Contender]:
    """(name, command, verdicts file, ours?) in the order they run within a round."""
    ref, cur, out = work / "ref", work / "cur", work / "out"
    profile = out / "reference-profile.json"
    mine = [("profile_build", [str(MLOPS), "profile", "build", str(ref), "-o", str(profile)], None, True),
            ("ours_profile", [str(MLOPS), "drift", "-r", str(profile), "-c", str(cur), "--out", str(out / "vs-profile"),
                              "--no-fail-on-drift"], out / "vs-profile" / "drift.json", True),
            ("ours_raw", [str(MLOPS), "drift", "-r", str(ref), "-c", str(cur), "--out", str(out / "raw"),
                          "--no-fail-on-drift"], out / "raw" / "drift.json", True)]
    peers = []
    if PEERS_PY.exists() and "duckdb" in only:
        peers.append(("duckdb", [str(PEERS_PY), str(HERE / "duckdb_run.py"), str(ref), str(cur),
                                 str(out / "duckdb.json")], out / "duckdb.json", False))
    if rows <= scipy_max and "scipy" in only:
        peers.append(("scipy", [str(PY), str(HERE / "scipy_run.py"), str(ref), str(cur), str(out / "scipy.json")],
                      out / "scipy.json", False))
    if rows <= evidently_max and PEERS_PY.exists() and "evidently" in only:
        peers.append(("evidently", [str(PEERS_PY), str(HERE / "evidently_run.py"), str(ref), str(cur),
                                    str(out / "evidently.json")], out / "evidently.json", False))
    return (mine if "ours" in only else []) + peers


def bench_size(rows: int, args: argparse.Namespace) -> dict:
    work = dataset(rows)
    out = work / "out"
    out.mkdir(exist_ok=True)
    rounds: list[dict] = []
    for r in range(args.repeat):
        result: dict = {}
        for name, cmd, verdicts, ours in contenders(rows, work, args.only, args.evidently_max, args.scipy_max):
            if verdicts is not None and verdicts.exists():
                verdicts.unlink()
            inputs = [work / "cur"] if name == "ours_profile" else [work / "ref"] if name == "profile_build" else \
                [work / "ref", work / "cur"]
            if args.warm:
                warm(inputs)
            m = measure(cmd, args.timeout, out / f"{name}-{r}.log", inputs)
            if verdicts is not None:
                m["flagged"] = flagged(verdicts, ours) if m["rc"] == 0 else None
            result[name] = m
            print(f"{label(rows)} round {r + 1}: {name}: {m['wall_s']} s wall, {m['cpu_s']} s CPU, "
                  f"{m['peak_rss_mib']} MiB, load {m['load_before']}, inputs cached {m['inputs_cached']}", flush=True)
        rounds.append(result)
    profile, page = out / "reference-profile.json", out / "vs-profile" / "drift.html"
    return {"rows": rows, "rounds": rounds, "profile_bytes": profile.stat().st_size if profile.exists() else None,
            "html_bytes": page.stat().st_size if page.exists() else None}


def median(res: dict, name: str, key: str) -> float | None:
    values = [r[name][key] for r in res["rounds"] if name in r and r[name]["rc"] == 0 and not r[name]["timed_out"]]
    return statistics.median(values) if values else None


def ratio(res: dict, slow: str, fast: str, key: str = "wall_s") -> float | None:
    per_round = [r[slow][key] / r[fast][key] for r in res["rounds"]
                 if slow in r and fast in r and r[slow]["rc"] == 0 and r[fast]["rc"] == 0 and r[fast][key] > 0]
    return statistics.median(per_round) if per_round else None


def cell(res: dict, name: str) -> str:
    runs = [r[name] for r in res["rounds"] if name in r]
    if not runs:
        return "–"
    if all(m["timed_out"] for m in runs):
        return f"> {runs[0]['wall_s']:.0f} s (killed)"
    if all(m["rc"] != 0 for m in runs):
        return f"failed (rc {runs[0]['rc']})"
    walls = sorted(m["wall_s"] for m in runs if m["rc"] == 0)
    spread = f" ({walls[0]:.1f}–{walls[-1]:.1f})" if len(walls) > 1 else ""
    return (f"{median(res, name, 'wall_s'):.1f} s{spread}, CPU {median(res, name, 'cpu_s'):.1f} s, "
            f"{median(res, name, 'peak_rss_mib'):,.0f} MiB")


def agreement(res: dict) -> str:
    last = res["rounds"][-1]
    reference_name = "evidently" if last.get("evidently", {}).get("flagged") else "scipy" if last.get("scipy", {}).get(
        "flagged") else None
    if reference_name is None:
        base = last.get("ours_raw", {}).get("flagged")
        return f"flagged: {', '.join(base) if base else '–'}"
    truth = last[reference_name]["flagged"]
    parts = [f"{name}: {'yes' if last[name].get('flagged') == truth else 'NO'}"
             for name in ("ours_raw", "ours_profile", "duckdb", "scipy") if name in last and name != reference_name]
    return f"same as {reference_name} — " + "; ".join(parts)


def markdown(results: list[dict], machine: str, loads: tuple[str, str], repeat: int) -> str:
    names = [("evidently", "Evidently 0.7.23 DataDriftPreset"), ("scipy", "pandas + scipy (exact)"),
             ("duckdb", "DuckDB histogram prototype"), ("ours_raw", "mlops-ci, data vs data"),
             ("profile_build", "mlops-ci `profile build`"), ("ours_profile", "mlops-ci, current vs stored profile")]
    present = [(n, t) for n, t in names if any(n in r for res in results for r in res["rounds"])]
    lines = [f"Machine: {machine}. Date: {date.today().isoformat()}. {repeat} interleaved round(s); median wall "
             "(range), median CPU (user + system, all threads), median peak RSS. Load average (1 min) before / after "
             f"the run: {loads[0]} / {loads[1]}.", "",
             "| rows (each side) | " + " | ".join(t for _, t in present) + " | verdicts |",
             "|---" * (len(present) + 2) + "|"]
    for res in results:
        lines.append(f"| {label(res['rows'])} | " + " | ".join(cell(res, n) for n, _ in present) +
                     f" | {agreement(res)} |")
    lines.append("")
    for res in results:
        facts = []
        for slow in ("evidently", "scipy", "duckdb"):
            for fast in ("ours_raw", "ours_profile"):
                x = ratio(res, slow, fast)
                if x is not None:
                    facts.append(f"{slow} / {fast.replace('ours_', 'mlops-ci ')} = {x:.1f}× (wall)")
        cpu = ratio(res, "profile_build", "ours_profile", "cpu_s")
        if cpu is not None:
            facts.append(f"CPU of `profile build` / CPU of current vs profile = {cpu:.2f}")
        loads_seen = [m["load_before"] for r in res["rounds"] for m in r.values()]
        facts.append(f"load before each measurement {min(loads_seen):.1f}–{max(loads_seen):.1f}")
        cached = [m["inputs_cached"] for r in res["rounds"] for m in r.values() if m.get("inputs_cached") is not None]
        if cached:
            facts.append(f"share of the input in the page cache before a measurement {min(cached):.0%}–"
                         f"{max(cached):.0%}")
        if res.get("profile_bytes"):
            facts.append(f"profile {res['profile_bytes'] / 1024:,.0f} KiB")
        lines.append(f"- {label(res['rows'])}: " + "; ".join(facts) + ".")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=lambda s: [int(float(x)) for x in s.split(",")], default=[1_000_000])
    parser.add_argument("--repeat", type=int, default=1, help="Interleaved rounds of every contender.")
    parser.add_argument("--only", type=lambda s: set(s.split(",")), default={"ours", "duckdb", "scipy", "evidently"},
                        help="Contenders: ours,duckdb,scipy,evidently (default: all).")
    parser.add_argument("--evidently-max", type=int, default=1_000_000, help="Largest size Evidently runs at.")
    parser.add_argument("--scipy-max", type=int, default=5_000_000, help="Largest size the scipy baseline runs at.")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--warm", action="store_true", help="Read each contender's input files just before it "
                        "runs (not timed): as much of them in the page cache as fits in RAM.")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine()) if Path("/proc/cpuinfo").exists() else ""
    machine = (f"{cpu}, {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} "
               f"GiB RAM, Python {platform.python_version()}")
    load_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results = [bench_size(rows, args) for rows in args.sizes]
    load_end = " ".join(f"{x:.2f}" for x in os.getloadavg())
    stamp = "-".join(label(r) for r in args.sizes)
    (WORK / f"results-{stamp}.json").write_text(json.dumps({"machine": machine, "loads": [load_start, load_end],
                                                            "results": results}, indent=1))
    text = markdown(results, machine, (load_start, load_end), args.repeat)
    (WORK / f"results-{stamp}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
