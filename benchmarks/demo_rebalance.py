"""Wall time and peak memory of the demo rebalance (`active-etf demo`), end to end.

Runs the command line in a fresh child process, so the peak resident memory is the run's
own, and prints one JSON line: {"wall_s": ..., "peak_rss_mb": ..., "stage_timings_s": {...}}.

    python benchmarks/demo_rebalance.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(out: Path) -> dict:
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "portfolio.cli", "demo", "--out", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    manifest = json.loads((out / "manifest.json").read_text())
    return {
        "wall_s": round(wall, 3),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "stage_timings_s": manifest["timings_s"],
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        for i in range(args.repeat):
            print(json.dumps({"run": i + 1, **run_once(Path(d) / f"run{i}")}))


if __name__ == "__main__":
    main()
