"""``ptdenial train --engine spark`` in local mode: time, memory, per-line costs.

One command::

    python bench/bench_spark_train.py            # 200k lines, learner bound 100k
    python bench/bench_spark_train.py --lines 400000 --max-lines 150000

generates a history (``ptdenial.datasets.make_claims``), writes it as Parquet,
and runs :func:`ptdenial.spark.train_spark` on ``local[2]`` in a fresh
process, sampling the peak memory of the driver (Python), the JVM and the
largest Python worker. Results go to ``bench/results/spark_train.md`` (and
``.json``) with the machine load: figures taken while other work runs are
provisional. The per-line costs it prints are the basis of the extrapolation
in ``docs/guides/spark.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_spark import MemorySampler, load_note, vm_hwm_mib, world  # noqa: E402


def worker(path: str, max_lines: int) -> dict:
    from ptdenial.spark import local_session, train_spark

    sampler = MemorySampler()
    spark = local_session(2, shuffle_partitions=8)
    t0 = time.perf_counter()
    result = train_spark(path, max_lines=max_lines, spark=spark)
    wall = time.perf_counter() - t0
    mem = sampler.stop()
    snap = result.model.features_.history_encoder.snapshot_
    entries = sum(len(v["combined"]) for v in snap.values())
    return {
        **{k: v for k, v in result.info.items() if k != "rule"},
        "wall_s": round(wall, 1),
        "driver_peak_mib": round(vm_hwm_mib(), 0),
        "jvm_peak_mib": round(mem["jvm_mib"], 0),
        "worker_peak_mib": round(mem["worker_mib"], 0),
        "snapshot_entries": int(entries),
        "load_end": load_note(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--max-lines", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20261203)
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]))))
        return 0
    from ptdenial.io import write_table

    with tempfile.TemporaryDirectory(prefix="bench-spark-train-") as tmp:
        t0 = time.perf_counter()
        claims = world(args.lines, args.seed)
        path = write_table(claims, Path(tmp) / "history.parquet")
        print(f"{len(claims):,} lines generated in {time.perf_counter() - t0:.0f} s")
        load_start = load_note()
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", str(path), str(args.max_lines)],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "PYTHONPATH": str(HERE.parent)},
        )
        if proc.returncode != 0:
            print(proc.stderr[-3000:])
            return 1
        res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["load_start"] = load_start
    n, s = res["history_lines"], res["sampled_lines"]
    res["spark_ms_per_1k_history_lines"] = round(
        1000 * res["spark_seconds"] / n * 1000, 1
    )
    res["fit_ms_per_1k_sampled_lines"] = round(1000 * res["fit_seconds"] / s * 1000, 1)
    res["driver_kib_per_sampled_line"] = round(res["driver_peak_mib"] * 1024 / s, 2)
    out = HERE / "results" / "spark_train"
    out.with_suffix(".json").write_text(json.dumps(res, indent=2) + "\n")
    rows = "\n".join(f"| {k} | {v} |" for k, v in res.items())
    out.with_suffix(".md").write_text(
        "# `ptdenial train --engine spark`, local[2] (bench/bench_spark_train.py)\n\n"
        f"PROVISIONAL unless the load below is near 0: {load_start} at the start, "
        f"{res['load_end']} at the end (2 cores).\n\n| measure | value |\n|---|---|\n"
        f"{rows}\n"
    )
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
