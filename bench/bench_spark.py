"""Spark local mode against the one-machine job, and how large a history trains.

Scoring (``--part score``): one input of about ``--lines`` claim lines from
the synthetic world (shuffled, outcome columns dropped), written as a folder
of 4 Parquet files. A model is trained once on the shipped sample history.
Each measurement runs in its own subprocess:

* ``pandas``: :func:`ptdenial.scoring.score_file` (``ptdenial score``),
  Parquet folder in, one Parquet file out, worklist of 200;
* ``spark_io``: Spark reads the folder, adds the patient group key,
  shuffles by it and writes Parquet: the Spark floor, no scoring;
* ``spark local[1]`` and ``spark local[2]``:
  :func:`ptdenial.spark.score_to_parquet` (``ptdenial score --engine
  spark``): same outputs, partitioned by month, worklist of 200.

Reported: wall seconds (session start-up apart), lines/s, the overhead ratio
Spark / pandas on the same cores, the speed-up from 1 to 2 cores, and peak
memory (driver, JVM, largest Python worker).

Training (``--part train``): ``DenialRiskModel().fit`` on generated
histories of growing size, as ``ptdenial train`` does it (read Parquet,
validate, fit), each in a subprocess stopped after ``--train-timeout``
seconds; and ``with_history`` (attach a full history snapshot to a model
trained on less) at the larger sizes.

    python bench/bench_spark.py                    # both parts
    python bench/bench_spark.py --part score --lines 1000000
    python bench/bench_spark.py --part train --train-sizes 250000 500000 1000000

Writes bench/results/spark.md and spark.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, machine_note, markdown_table  # noqa: E402

AS_OF = "2026-01-01"
SCORING_RUNS = ("spark local[1]", "spark local[2]")
NOTES = """\
How to read it. Spark's time is the sum of a floor and the scoring: the
*I/O + shuffle only* run (read the Parquet folder, add the patient key,
repartition every row by it, sort, write) is already about as long as the
whole one-machine job, and the scoring runs add the Arrow round trip to the
Python workers, the worklist pass (the input is scanned again for the
worklist's patients) and the summary. `local[1]` limits Spark to one task at
a time, not to one CPU: the JVM reads, shuffles, serializes and collects
garbage on the other core while the Python worker scores, which is why going
to `local[2]` gains little here. Spark can only pay for itself by adding
machines (executors scoring partitions side by side), which this one-machine
benchmark does not measure. On one machine, use `ptdenial score`.
"""

SETUP_NOTES = """\
Before this change each batch built the explainer again inside
`score_batch` (the model itself was already loaded once per worker); now
each Python worker builds it once per model (keyed by the model file's
SHA-256) and passes it to every batch. The saving is per batch, not per
line: it matters for small batches and is about 1% of the 1M-line Spark
run above (10 partitions of one 100k-line batch each, on 2 workers: 8
explainer builds saved), so that run was not repeated.
"""
TRAIN_NOTES = """\
### How large a history can one machine train on

Peak memory of read + validate + fit grows linearly, about **3.7 GiB per
million lines** here (284k to 1.14M lines; the model benchmark's plain fit,
`model.md`, gives 4.3 GiB per million from 50k to 1M lines) on top of
about 0.5 GiB. On a 24 GiB machine, leaving 4 GiB to the system, that is
**about 4.5 million lines** (5.3 million with the lower slope); not run
beyond 1.14 million lines. Fit time grows slightly faster than linearly:
0.20 s per thousand lines at 284k, 0.24 s at 1.14M (load average 2-3 on 2
cores; `model.md` measured 611 s for 1M lines at load 4-7), so 4.5 million
lines would take **about 20-25 minutes** on an idle machine of this size and
up to twice that on a busy one.

**Decision: training stays on one machine.** One practice of 20 clinicians
bills about 240,000 lines a year, so 4.5 million lines is many
practice-years; accuracy gains flatten past about a million lines
(`perf-measurements.md`: gap to the true-probability AUC 0.025-0.030 at
80k rows, 0.007-0.012 at 800k); and one process gives the same model, the
same history snapshot and the same scores on a laptop as in production,
which a distributed fit would not. Computing the as-of history aggregates in
Spark is **not implemented**.

From a lakehouse: select the last N months of history in Spark, write them
to Parquet, and run `ptdenial train` on that file on one machine (the
README's Spark section has the commands). Beyond the limit: shorten the
window (the recent-window features need only their 90 days before each
line; the all-time counts and rates then mean "within the window", so keep
the same window when refreshing the snapshot with `with_history`), or train
per practice. The model file carries the history snapshot, about 90 MiB per
million history lines (102.8 MiB at 1.14M), and every Python worker holds
one copy.
"""


def vm_hwm_mib(pid="self") -> float:
    """Peak RSS (VmHWM) of one process, MiB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def descendants() -> dict:
    """Live descendant processes of this one: pid -> command name."""
    parent, names = {}, {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            names[int(d.name)] = stat[stat.index("(") + 1 : stat.rindex(")")]
            parent[int(d.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
        except (OSError, ValueError):
            continue
    me, out = os.getpid(), {}
    for pid in parent:
        p = pid
        while p in parent and p != me and p > 1:
            p = parent[p]
        if p == me and pid != me:
            out[pid] = names[pid]
    return out


def load_note() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


# --- preparation ----------------------------------------------------------------------
def world(n_lines: int, seed: int):
    """About ``n_lines`` synthetic lines (canonical dtypes) and their count."""
    from ptdenial.datasets import make_claims

    pilot = make_claims(300, random_state=seed)
    per_patient = len(pilot.claims) / 300
    return make_claims(int(n_lines / per_patient * 1.02) + 10, random_state=seed).claims


def prepare_scoring(workdir: Path, n_lines: int) -> dict:
    import numpy as np

    from ptdenial import schema as S
    from ptdenial.datasets import DEFAULT_SAMPLE_SEED, load_sample_claims
    from ptdenial.io import write_table
    from ptdenial.model import DenialRiskModel, save_model

    workdir.mkdir(parents=True, exist_ok=True)
    model_path = workdir / "model.skops"
    if not model_path.exists():
        model = DenialRiskModel(random_state=0).fit(load_sample_claims("history"))
        save_model(model, model_path)
    folder = workdir / f"claims_{n_lines}"
    if not folder.exists():
        claims = world(n_lines, DEFAULT_SAMPLE_SEED)
        claims = claims.drop(columns=[c for c in S.OUTCOME_COLUMNS if c in claims])
        claims = claims.sample(frac=1.0, random_state=1).head(n_lines)
        claims = claims.reset_index(drop=True)
        tmp = folder.with_name(folder.name + ".tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        for k, part in enumerate(np.array_split(np.arange(len(claims)), 4)):
            write_table(claims.iloc[part], tmp / f"part-{k}.parquet")
        tmp.rename(folder)
    rows = sum(
        __import__("pyarrow.parquet").parquet.ParquetFile(f).metadata.num_rows
        for f in folder.glob("*.parquet")
    )
    return {"model": str(model_path), "input": str(folder), "rows": rows}


# --- workers (each in its own process) ----------------------------------------------
def worker_pandas(inp: str, model_path: str, out: str) -> dict:
    from ptdenial._utils import passive_openmp

    passive_openmp()
    from ptdenial.config import ScoringConfig
    from ptdenial.model import load_model
    from ptdenial.scoring import score_file

    model = load_model(model_path)
    t0 = time.perf_counter()
    run = score_file(
        model, inp, Path(out) / "scored.parquet",
        worklist=Path(out) / "worklist.csv",
        config=ScoringConfig(progress="off"), as_of=AS_OF, model_path=model_path,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": run.manifest["counts"]["rows_in"],
            "driver_mib": vm_hwm_mib()}  # fmt: skip


class MemorySampler:
    """Peak RSS of the JVM and of the largest Python worker, sampled twice a second.

    Python workers may exit before the run ends, so their VmHWM is read
    while they live.
    """

    def __init__(self):
        import threading

        self.jvm, self.py = 0.0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(0.5):
            for pid, name in descendants().items():
                hwm = vm_hwm_mib(pid)
                if name == "java":
                    self.jvm = max(self.jvm, hwm)
                elif name.startswith("python"):
                    self.py = max(self.py, hwm)

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        return {"jvm_mib": self.jvm, "worker_mib": self.py}


def worker_spark(inp: str, model_path: str, out: str, cores: int, io_only: bool):
    from ptdenial.spark import local_session

    sampler = MemorySampler()
    t0 = time.perf_counter()
    spark = local_session(cores, conf={"spark.sql.shuffle.partitions": "200",
                                       "spark.driver.memory": "4g"})  # fmt: skip
    session_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    if io_only:
        from ptdenial.spark import read_claims_spark
        from ptdenial.spark._base import _GROUP
        from ptdenial.spark._session import _keyed

        claims = read_claims_spark(spark, inp)
        parts = max(spark.sparkContext.defaultParallelism,
                    -(-claims.count() // 100_000))  # as score_spark  # fmt: skip
        df = _keyed(claims, inp)
        df.repartition(parts, _GROUP).sortWithinPartitions(_GROUP).write.mode(
            "overwrite"
        ).parquet(str(Path(out) / "io"))
        rows = spark.read.parquet(str(Path(out) / "io")).count()
        manifest = {"counts": {"rows_in": rows}}
    else:
        from ptdenial.config import ScoringConfig
        from ptdenial.spark import score_to_parquet

        manifest, _ = score_to_parquet(
            inp, model_path, str(Path(out) / "scored"),
            worklist=Path(out) / "worklist.csv",
            config=ScoringConfig(progress="off"), as_of=AS_OF, spark=spark,
        )  # fmt: skip
    seconds = time.perf_counter() - t0
    spark.stop()
    mem = sampler.stop()
    return {"seconds": seconds, "session_s": session_s,
            "rows": manifest["counts"]["rows_in"], "driver_mib": vm_hwm_mib(),
            "timings": manifest.get("timings_s", {}),
            "partitions": manifest.get("spark", {}).get("partitions"),
            **mem}  # fmt: skip


def worker_fit(path: str) -> dict:
    from ptdenial._utils import passive_openmp

    passive_openmp()
    from ptdenial.io import read_claims
    from ptdenial.model import DenialRiskModel
    from ptdenial.schema import validate_claims

    t0 = time.perf_counter()
    valid, _ = validate_claims(read_claims(path), run_date=AS_OF)
    read_s = time.perf_counter() - t0
    before = vm_hwm_mib()
    t0 = time.perf_counter()
    model = DenialRiskModel(random_state=0).fit(valid)
    fit_s = time.perf_counter() - t0
    return {"rows": len(valid), "read_validate_s": read_s, "fit_s": fit_s,
            "rss_before_fit_mib": before, "peak_mib": vm_hwm_mib(),
            "trees": int(getattr(model, "n_iter_", 0) or 0)}  # fmt: skip


def worker_history(path: str, model_path: str, out: str) -> dict:
    from ptdenial.io import read_claims
    from ptdenial.model import load_model, save_model
    from ptdenial.schema import validate_claims

    model = load_model(model_path)
    valid, _ = validate_claims(read_claims(path), run_date=AS_OF)
    before = vm_hwm_mib()
    t0 = time.perf_counter()
    bigger = model.with_history(valid)
    seconds = time.perf_counter() - t0
    saved = save_model(bigger, out)
    mib = saved.stat().st_size / 2**20
    return {"rows": len(valid), "seconds": seconds, "rss_before_mib": before,
            "peak_mib": vm_hwm_mib(), "model_mib": mib}  # fmt: skip


def worker_setup(inp: str, model_path: str, n_lines: int, batch_rows: int) -> dict:
    """Per-batch set-up, old against new: the explainer rebuilt or cached.

    The scoring path of one Spark task, in one process and without Spark:
    ``score_batch`` on whole-patient batches, alternating between
    ``explainer=None`` (what each batch did before: ``score_batch`` builds
    its own) and the worker's cached explainer (what it does now).
    """
    from ptdenial._utils import passive_openmp

    passive_openmp()
    import numpy as np
    import pyarrow.parquet as pq

    from ptdenial import schema as S
    from ptdenial.config import ScoringConfig
    from ptdenial.io import file_sha256
    from ptdenial.scoring import score_batch
    from ptdenial.spark import _worker

    sha = file_sha256(model_path)
    context = _worker.model_context(sha, name="", local_path=model_path)
    model = context.model
    files = sorted(Path(inp).glob("*.parquet"))
    table = pq.read_table(files[0])
    patient = table.column(S.PATIENT_ID).to_numpy(zero_copy_only=False)
    codes = np.unique(patient, return_inverse=True)[1]
    order = np.argsort(codes, kind="stable")
    raw = table.take(order).slice(0, n_lines).to_pandas()
    codes = codes[order][:n_lines]
    cuts = [0]
    while cuts[-1] < len(raw):  # batches of about batch_rows, whole patients
        end = min(len(raw), cuts[-1] + batch_rows)
        end = int(np.searchsorted(codes, codes[end - 1], side="right"))
        cuts.append(end)
    batches = [raw.iloc[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    config = ScoringConfig(progress="off")
    t0 = time.perf_counter()
    explainer = context.explainer_for(config)
    build_s = time.perf_counter() - t0
    score_batch(model, batches[0], config=config, as_of=AS_OF, explainer=explainer)
    seconds = {"per batch (before)": 0.0, "cached (now)": 0.0}
    for batch in batches:  # alternate, so load drifts hit both alike
        for label, ex in (("per batch (before)", None), ("cached (now)", explainer)):
            t0 = time.perf_counter()
            score_batch(model, batch, config=config, as_of=AS_OF, explainer=ex)
            seconds[label] += time.perf_counter() - t0
    return {"lines": len(raw), "batches": len(batches), "batch_rows": batch_rows,
            "explainer_build_s": build_s, "seconds": seconds,
            "trees": int(getattr(model, "n_iter_", 0) or 0)}  # fmt: skip


def run_worker(kind: str, args: list, timeout: float | None = None) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, json.dumps(args)]
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1][:300]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- parts ----------------------------------------------------------------------------
def part_score(workdir: Path, n_lines: int) -> dict:
    info = prepare_scoring(workdir, n_lines)
    print(f"input {info['input']}: {info['rows']:,} lines", flush=True)
    rows, raw = [], {}
    plan = [
        ("pandas (score_file)", "pandas", [info["input"], info["model"]], 2),
        ("spark local[1]", "spark", [info["input"], info["model"], 1, False], 1),
        ("spark local[2]", "spark", [info["input"], info["model"], 2, False], 2),
        (
            "spark local[2], I/O + shuffle only",
            "spark",
            [info["input"], info["model"], 2, True],
            2,
        ),  # fmt: skip
    ]
    for label, kind, args, cores in plan:
        out = workdir / f"out-{label.split()[0]}-{cores}-{len(raw)}"
        note = load_note()
        res = run_worker(kind, [*args[:2], str(out), *args[2:]], timeout=1800)
        res.update(label=label, cores=cores, load=note)
        raw[label] = res
        print(label, json.dumps(res), flush=True)
    pandas_s = raw["pandas (score_file)"].get("seconds")
    one = raw["spark local[1]"].get("seconds")
    for label, res in raw.items():
        if "error" in res:
            rows.append({"run": label, "seconds": res["error"]})
            continue
        s = res["seconds"]
        rows.append({
            "run": label,
            "cores": res["cores"],
            "lines": int(res["rows"]),
            "seconds": s,
            "lines/s": res["rows"] / s,
            "x pandas": s / pandas_s if pandas_s else "",
            "speed-up vs local[1]": one / s if one and label in SCORING_RUNS else "",
            "partitions": res.get("partitions") or "",
            "session start s": res.get("session_s", ""),
            "driver MiB": res.get("driver_mib", 0.0),
            "JVM MiB": res.get("jvm_mib", ""),
            "largest Python worker MiB": res.get("worker_mib", ""),
            "load before": res["load"],
        })  # fmt: skip
    return {"input": info, "rows": rows, "raw": raw}


def part_train(workdir: Path, sizes: list[int], history_sizes: list[int],
               timeout: float) -> dict:  # fmt: skip
    from ptdenial.datasets import DEFAULT_SAMPLE_SEED
    from ptdenial.io import write_table

    workdir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for n in sorted({*sizes, *history_sizes}):
        path = workdir / f"history_{n}.parquet"
        if not path.exists():
            t0 = time.perf_counter()
            write_table(world(n, DEFAULT_SAMPLE_SEED + 1), path)
            print(f"history {n:,}: generated in {time.perf_counter() - t0:.0f} s",
                  flush=True)  # fmt: skip
        paths[n] = path
    fits = []
    for n in sizes:
        note = load_note()
        res = run_worker("fit", [str(paths[n])], timeout=timeout)
        res.update(target=n, load=note)
        print("fit", json.dumps(res), flush=True)
        fits.append(res)
    model_path = workdir / "model_small.skops"
    hist = []
    if history_sizes:
        from ptdenial.datasets import load_sample_claims
        from ptdenial.model import DenialRiskModel, save_model

        if not model_path.exists():
            save_model(
                DenialRiskModel(random_state=0).fit(load_sample_claims("history")),
                model_path,
            )
        for n in history_sizes:
            note = load_note()
            res = run_worker(
                "history",
                [str(paths[n]), str(model_path), str(workdir / f"model_h{n}.skops")],
                timeout=timeout,
            )
            res.update(target=n, load=note)
            print("with_history", json.dumps(res), flush=True)
            hist.append(res)
    return {"fit": fits, "with_history": hist}


def part_setup(workdir: Path, n_lines: int, batch_rows: int) -> dict:
    info = prepare_scoring(workdir, 1_000_000)
    note = load_note()
    res = run_worker("setup", [info["input"], info["model"], n_lines, batch_rows],
                     timeout=1800)  # fmt: skip
    res.update(load=note, load_after=load_note(), date=time.strftime("%Y-%m-%d %H:%M"))
    print("setup", json.dumps(res), flush=True)
    return res


def write_report(results: dict, out_md: Path) -> None:
    lines = ["# Spark scoring benchmark and training scale", "", machine_note(), ""]
    if "score" in results:
        sc = results["score"]
        lines += [
            "## Scoring: Spark local mode against the one-machine job",
            "",
            f"Input: {sc['input']['rows']:,} lines in 4 Parquet files; model "
            "trained on the sample history; `as_of` fixed; worklist of 200 with "
            "exact reasons in every run. Seconds exclude the Spark session "
            "start-up (its own column) but include reading, scoring, writing "
            "and the manifest. One run each, in its own process.",
            "",
            markdown_table(sc["rows"]),
            NOTES,
        ]
    if "setup" in results and "error" not in results["setup"]:
        su = results["setup"]
        rows = []
        base = su["seconds"]["per batch (before)"]
        saved = (base - su["seconds"]["cached (now)"]) / su["batches"]
        for label, sec in su["seconds"].items():
            rows.append({
                "explainer": label, "lines": su["lines"], "batches": su["batches"],
                "seconds": sec, "s per batch": sec / su["batches"],
                "x before": sec / base,
            })  # fmt: skip
        lines += [
            "## Per-batch set-up: the explainer built once per worker",
            "",
            f"Run {su['date']}, {su['load']} before, {su['load_after']} after. "
            f"The scoring path of one Spark task in one process, without Spark: "
            f"{su['lines']:,} lines of the 1M input in {su['batches']} "
            f"whole-patient batches of about {su['batch_rows']:,} lines, model of "
            f"{su['trees']} trees; each batch scored both ways, alternating. "
            f"Building the explainer once took {su['explainer_build_s']:.3f} s; "
            f"caching it saved {saved:.3f} s per batch.",
            "",
            markdown_table(rows),
            SETUP_NOTES,
        ]
    if "train" in results:
        tr = results["train"]
        lines += ["## Training: how large a history one machine fits", ""]
        rows = []
        for r in tr["fit"]:
            rows.append({
                "lines": int(r.get("rows", r["target"])),
                "read + validate s": r.get("read_validate_s", ""),
                "fit s": r.get("fit_s", r.get("error", "")),
                "peak RSS MiB": r.get("peak_mib", ""),
                "RSS before fit MiB": r.get("rss_before_fit_mib", ""),
                "trees": r.get("trees", ""),
                "load before": r["load"],
            })  # fmt: skip
        lines += [markdown_table(rows), ""]
        if tr["with_history"]:
            rows = []
            for r in tr["with_history"]:
                rows.append({
                    "history lines": int(r.get("rows", r["target"])),
                    "with_history s": r.get("seconds", r.get("error", "")),
                    "peak RSS MiB": r.get("peak_mib", ""),
                    "model file MiB": r.get("model_mib", ""),
                    "load before": r["load"],
                })  # fmt: skip
            lines += [
                "`with_history`: attach the as-of history snapshot of a large "
                "history to a model trained on less (no refit):",
                "",
                markdown_table(rows),
            ]
    if "train" in results:
        lines += ["", TRAIN_NOTES]
    out_md.write_text("\n".join(lines) + "\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["score", "train", "setup", "all"],
                    default="all")  # fmt: skip
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--train-sizes", type=int, nargs="*",
                    default=[250_000, 500_000, 1_000_000])  # fmt: skip
    ap.add_argument("--history-sizes", type=int, nargs="*",
                    default=[1_000_000, 2_000_000])  # fmt: skip
    ap.add_argument("--train-timeout", type=float, default=330.0)
    ap.add_argument("--setup-lines", type=int, default=200_000)
    ap.add_argument("--setup-batch-rows", type=int, default=10_000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/ptdenial-bench-spark"))
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite spark.md from spark.json")  # fmt: skip
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("worker_args", nargs="?", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        workers = {"pandas": worker_pandas, "spark": worker_spark,
                   "fit": worker_fit, "history": worker_history,
                   "setup": worker_setup}  # fmt: skip
        fn = workers[args.worker]
        print(json.dumps(fn(*json.loads(args.worker_args)), default=float))
        return 0
    json_path = RESULTS / "spark.json"
    results = json.loads(json_path.read_text()) if json_path.exists() else {}
    if args.report_only:
        write_report(results, RESULTS / "spark.md")
        return 0
    if args.part in ("score", "all"):
        results["score"] = part_score(args.workdir, args.lines)
    if args.part == "setup":  # not part of "all": a focused comparison
        results["setup"] = part_setup(
            args.workdir, args.setup_lines, args.setup_batch_rows
        )
    if args.part in ("train", "all"):
        results["train"] = part_train(
            args.workdir, args.train_sizes, args.history_sizes, args.train_timeout
        )
    json_path.write_text(json.dumps(results, indent=2, default=float) + "\n")
    write_report(results, RESULTS / "spark.md")
    print(f"wrote {RESULTS / 'spark.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
