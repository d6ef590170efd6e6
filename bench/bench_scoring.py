"""The nightly scoring job at scale: time, lines/s, peak RSS, ratios to its floor.

Inputs are built from the synthetic world (same payers, clinics and
providers as the shipped sample, so the model's history snapshot applies):
one world of about ``--base`` lines, shuffled (the job must not rely on
sorted input), tiled with fresh claim and patient ids for larger sizes, and
written as Parquet in 100k-row groups. A model is trained once on the sample
history. Each measurement runs in its own subprocess, so its peak RSS is its
own:

* ``io``: ``pq.read_table`` + ``pq.write_table`` of the same file (the pure
  Parquet read + write floor);
* ``bare``: ``model.predict_proba_features`` on features prepared beforehand
  (untimed) for the 97112 lines, and for as many rows as the input has lines;
* ``score``: :func:`ptdenial.scoring.score_file` (reasons, worklist of 200,
  exact reasons for it), Parquet in -> Parquet out;
* ``cli``: ``ptdenial score`` as a subprocess on a 100k-line night, start-up,
  imports and model load included.

    python bench/bench_scoring.py                       # 100k night, 1M, 5M
    python bench/bench_scoring.py --sizes 1000000 --workdir /tmp/bench

Writes bench/results/scoring.md (and scoring.json).
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
ROOT = Path(__file__).resolve().parents[1]


def peak_rss_mib() -> float:
    """Peak RSS of this process image (VmHWM), in MiB.

    ``getrusage`` keeps the parent's high-water mark across fork + exec on
    Linux, so a worker started by a large driver would report the driver's
    peak; VmHWM belongs to the current address space only.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# --- preparation ----------------------------------------------------------------------
def prepare(workdir: Path, sizes: list[int], night: int, base: int) -> dict:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from ptdenial import schema as S
    from ptdenial.datasets import DEFAULT_SAMPLE_SEED, load_sample_claims, make_claims
    from ptdenial.model import DenialRiskModel, save_model

    workdir.mkdir(parents=True, exist_ok=True)
    info = {}
    model_path = workdir / "model.skops"
    if not model_path.exists():
        t0 = time.perf_counter()
        model = DenialRiskModel(random_state=0).fit(load_sample_claims("history"))
        save_model(model, model_path)
        info["train_s"] = time.perf_counter() - t0
    paths = {n: workdir / f"claims_{n}.parquet" for n in sorted({night, *sizes})}
    if all(p.exists() for p in paths.values()):
        return {
            "model": str(model_path),
            "inputs": {n: str(p) for n, p in paths.items()},
        }
    pilot = make_claims(200, random_state=DEFAULT_SAMPLE_SEED)
    per_patient = len(pilot.claims) / 200
    world = make_claims(
        int(base / per_patient * 1.05) + 10, random_state=DEFAULT_SAMPLE_SEED
    ).claims
    world = world.drop(columns=[c for c in S.OUTCOME_COLUMNS if c in world.columns])
    world = world.sample(frac=1.0, random_state=1).reset_index(drop=True)
    table = pa.Table.from_pandas(_arrow_ready(world), preserve_index=False)
    print(f"world: {table.num_rows:,} lines", flush=True)
    for n, path in paths.items():
        writer = None
        written, tile = 0, 0
        while written < n:
            take = min(n - written, table.num_rows)
            part = table.slice(0, take)
            if tile:  # fresh claim and patient ids, charges perturbed by +-2%
                rng = np.random.default_rng(tile)
                tag = f"T{tile}"
                for name in (S.CLAIM_ID, S.PATIENT_ID):
                    ids = part.column(name).cast(pa.string())
                    fresh = pc.binary_join_element_wise(ids, tag, "").cast(
                        part.schema.field(name).type
                    )
                    part = part.set_column(
                        part.schema.get_field_index(name), name, fresh
                    )
                charge = part.column(S.CHARGE_AMOUNT).to_numpy()
                charge = np.round(charge * rng.uniform(0.98, 1.02, len(charge)), 2)
                part = part.set_column(
                    part.schema.get_field_index(S.CHARGE_AMOUNT), S.CHARGE_AMOUNT,
                    pa.array(charge),
                )  # fmt: skip
            if writer is None:
                tmp = path.with_name(path.name + ".tmp")
                writer = pq.ParquetWriter(str(tmp), part.schema)
            writer.write_table(part, row_group_size=100_000)
            written += take
            tile += 1
        writer.close()
        tmp.replace(path)
        print(f"  {path.name}: {n:,} lines", flush=True)
    return {"model": str(model_path), "inputs": {n: str(p) for n, p in paths.items()}}


def _arrow_ready(df):
    out = df.copy()
    for name in out.columns:
        if out[name].dtype == object:
            out[name] = out[name].map(list)
    return out


# --- workers (each in its own process) ----------------------------------------------
def worker_io(path: str, out: str) -> dict:
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    table = pq.read_table(path)
    t1 = time.perf_counter()
    pq.write_table(table, out)
    t2 = time.perf_counter()
    return {"read_s": t1 - t0, "write_s": t2 - t1, "seconds": t2 - t0,
            "rows": table.num_rows}  # fmt: skip


def worker_bare(path: str, model_path: str) -> dict:
    import numpy as np
    import pandas as pd
    import pyarrow.parquet as pq

    from ptdenial import schema as S
    from ptdenial.model import load_model

    model = load_model(model_path)
    table = pq.read_table(path)
    n_lines = table.num_rows
    parts = []
    step = 200_000
    # features prepared (untimed) for the 97112 lines, patient-complete slices
    raw = table.to_pandas(ignore_metadata=True)
    del table
    patients = pd.factorize(raw[S.PATIENT_ID])[0] % max(1, n_lines // step)
    for k in np.unique(patients):
        valid = S.validate_claims(raw.loc[patients == k], run_date=AS_OF).valid
        code = (valid[S.CPT_CODE] == "97112").to_numpy(dtype=bool)
        parts.append(model.transform_features(valid, as_of=AS_OF).loc[code])
    del raw
    Xf = pd.concat(parts)
    t0 = time.perf_counter()
    model.predict_proba_features(Xf)
    t_97 = time.perf_counter() - t0
    reps = int(np.ceil(n_lines / len(Xf)))
    every = np.tile(Xf.to_numpy(dtype=np.float64), (reps, 1))[:n_lines]
    t0 = time.perf_counter()
    model.predict_proba_features(every)
    t_all = time.perf_counter() - t0
    return {"seconds": t_97, "rows": len(Xf), "all_lines_s": t_all,
            "all_lines_rows": len(every)}  # fmt: skip


def worker_score(path: str, model_path: str, out: str, explain: str) -> dict:
    from ptdenial.config import ScoringConfig
    from ptdenial.model import load_model
    from ptdenial.scoring import score_file

    t0 = time.perf_counter()
    model = load_model(model_path)
    t_load = time.perf_counter() - t0
    t0 = time.perf_counter()
    run = score_file(
        model, path, out, worklist=Path(out).with_suffix(".worklist.csv"),
        config=ScoringConfig(explain=explain, progress="off"), as_of=AS_OF,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    m = run.manifest
    return {"seconds": seconds, "model_load_s": t_load, "rows": m["counts"]["rows_in"],
            "scored_97112": m["counts"]["scored_97112"], "batches": m["batches"],
            "explanations": m["explanations"], "stages": m["timings_s"]}  # fmt: skip


def run_worker(args: list[str]) -> dict:
    cmd = [sys.executable, __file__, "--worker", *args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{proc.stderr[-4000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = wall
    return out


def run_cli(path: str, model_path: str, out: str) -> dict:
    cmd = [str(Path(sys.executable).with_name("ptdenial")), "score", path,
           "--model", model_path, "--out", out, "--as-of", AS_OF,
           "--worklist", str(Path(out).with_suffix(".worklist.csv"))]  # fmt: skip
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"ptdenial score failed:\n{proc.stderr[-4000:]}")
    manifest = json.loads(Path(out).with_suffix(".manifest.json").read_text())
    return {"seconds": wall, "rows": manifest["counts"]["rows_in"],
            "stages": manifest["timings_s"]}  # fmt: skip


# --- driver -----------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--night", type=int, default=100_000)
    parser.add_argument(
        "--base",
        type=int,
        default=1_000_000,
        help="lines of the generated world (tiled beyond)",
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ptdenial-bench"))
    parser.add_argument("--explain", default="worklist")
    parser.add_argument("--worker", nargs=argparse.REMAINDER)
    parser.add_argument(
        "--markdown-only",
        action="store_true",
        help="rewrite scoring.md from scoring.json",
    )
    args = parser.parse_args()
    if args.markdown_only:
        markdown_only(args.workdir)
        return
    if args.worker:
        kind, *rest = args.worker
        workers = {"io": worker_io, "bare": worker_bare, "score": worker_score}
        if kind == "prepare":
            workdir, night, base, *sizes = rest
            result = prepare(Path(workdir), [int(x) for x in sizes], int(night),
                             int(base))  # fmt: skip
        else:
            result = workers[kind](*rest)
        result["peak_rss_mib"] = peak_rss_mib()
        print(json.dumps(result))
        return

    # the world is generated in its own process: the driver stays small
    prep = run_worker(["prepare", str(args.workdir), str(args.night), str(args.base),
                       *map(str, args.sizes)])  # fmt: skip
    model = prep["model"]
    inputs = {int(n): p for n, p in prep["inputs"].items()}
    results = {"machine": machine_note(), "cpu_count": os.cpu_count(), "runs": {}}
    rows = []
    for n in args.sizes:
        path = inputs[n]
        out = str(args.workdir / f"scored_{n}.parquet")
        print(f"{n:,} lines ...", flush=True)
        io_ = run_worker(["io", path, str(args.workdir / f"copy_{n}.parquet")])
        bare = run_worker(["bare", path, model]) if n <= 1_000_000 else None
        score = run_worker(["score", path, model, out, args.explain])
        results["runs"][n] = {"io": io_, "bare": bare, "score": score}
        floor = io_["seconds"] + (bare["seconds"] if bare else float("nan"))
        floor_all = io_["seconds"] + (bare["all_lines_s"] if bare else float("nan"))
        rows.append({
            "lines": n,
            "score s": score["seconds"],
            "lines/s": n / score["seconds"],
            "peak RSS MiB": score["peak_rss_mib"],
            "read+write s": io_["seconds"],
            "bare predict 97112 s": bare["seconds"] if bare else float("nan"),
            "x (read+write+predict 97112)": score["seconds"] / floor,
            "x (read+write+predict all lines)": score["seconds"] / floor_all,
            "x read+write": score["seconds"] / io_["seconds"],
            "io peak RSS MiB": io_["peak_rss_mib"],
        })  # fmt: skip
        print(rows[-1], flush=True)
    cli = run_cli(inputs[args.night], model, str(args.workdir / "night.parquet"))
    results["runs"]["cli_night"] = cli
    results["summary"] = rows
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scoring.json").write_text(json.dumps(results, indent=2, default=str))
    write_markdown(results, rows, cli, args)


def write_markdown(results, rows, cli, args):
    runs = {str(k): v for k, v in results["runs"].items()}
    lines = ["# Scoring job benchmark", "", results["machine"], ""]
    lines += [
        "Parquet in -> Parquet out: validation and quarantine, rules on every "
        "line, 97112 lines scored, reasons (path attribution for medium- and "
        "high-risk lines, exact TreeSHAP for the 200 worklist lines, rule hits "
        "everywhere), worklist CSV + HTML and manifest. Inputs: the synthetic "
        "world (same payers and practice as the sample), shuffled, tiled with "
        "fresh claim and patient ids; about 35% of lines are 97112. Each "
        "figure is one run in its own subprocess; peak RSS is the process's "
        "VmHWM. The ratios were measured side by side in the same session. "
        "Measured on an otherwise idle machine (the multi-threaded floor, Arrow "
        "I/O and LightGBM prediction, gains more from two free cores than the "
        "job's single-threaded pandas stages, so the ratio is larger when "
        "idle than on a loaded machine).",
        "",
        markdown_table(rows),
    ]
    one = runs.get("1000000")
    five = runs.get("5000000")
    target_rows = []
    if one and one.get("bare"):
        floor = one["io"]["seconds"] + one["bare"]["seconds"]
        floor_all = one["io"]["seconds"] + one["bare"]["all_lines_s"]
        x = one["score"]["seconds"] / floor
        target_rows.append({
            "target": "1M lines end to end <= 3x (read + write + bare predict)",
            "measured": f"{one['score']['seconds']:.1f} s = {x:.2f}x "
            f"(floor {floor:.1f} s: read+write {one['io']['seconds']:.1f} s + "
            f"predict of the {one['bare']['rows']:,} 97112 lines "
            f"{one['bare']['seconds']:.1f} s); "
            f"{one['score']['seconds'] / floor_all:.2f}x if every line is predicted",
            "verdict": "met" if x <= 3 else f"missed by {x / 3 - 1:.0%}",
        })  # fmt: skip
    if one and five:
        r = five["score"]["peak_rss_mib"] / one["score"]["peak_rss_mib"]
        target_rows.append({
            "target": "peak RSS at 5M <= 1.2x peak RSS at 1M",
            "measured": f"{five['score']['peak_rss_mib']:.0f} MiB / "
            f"{one['score']['peak_rss_mib']:.0f} MiB = {r:.2f}x",
            "verdict": "met" if r <= 1.2 else f"missed by {r / 1.2 - 1:.0%}",
        })  # fmt: skip
    inner = cli["stages"]["total"]
    target_rows.append({
        "target": "100k-line night < 10 s, whole process",
        "measured": f"{cli['seconds']:.1f} s wall ({inner:.1f} s in score_file, "
        f"{cli['seconds'] - inner:.1f} s start-up, imports, model load, report "
        "of counts)",
        "verdict": "met" if cli["seconds"] < 10 else
        f"missed by {cli['seconds'] / 10 - 1:.0%}",
    })  # fmt: skip
    lines += ["## Targets", "", markdown_table(target_rows)]
    stage_rows = []
    for n, run in runs.items():
        if n == "cli_night":
            continue
        st = run["score"]["stages"]
        stage_rows.append({"lines": int(n), **{k: float(v) for k, v in st.items()}})
    st = dict(cli["stages"])
    stage_rows.append({"lines": cli["rows"], **{k: float(v) for k, v in st.items()}})
    lines += ["## Where the time goes (seconds per stage, from the manifest)", ""]
    lines += [markdown_table(stage_rows)]
    lines += [NOTES]
    (RESULTS / "scoring.md").write_text("\n".join(lines))


NOTES = """
Stages: `key_pass` reads patient, claim and line keys and hashes them (for a
single batch it reads the whole file once); `spill` writes each row to its
batch (Arrow IPC, LZ4); `read_batches` reads a batch back and orders it;
`validate`, `rules`, `features` (as-of history from the model's snapshot,
rule flags reused from the rules step), `predict`, `explain` (path
attribution + sentences + combining with rule hits), `assemble` (output
columns, worklist context) run per batch; `worklist_exact` is exact TreeSHAP
for the worklist; `write_outputs` writes the scored file (patched with the
worklist's exact reasons), quarantine, worklist and manifest.

## Why the 3x target is missed, and what would close it

* **1M lines, 3x: missed by 47%** (4.4x; 3.7x against a bare prediction of
  every line). The previous stop measured 40.0 s = 7.6x on the same idle
  machine; this stop's changes took the job to 24.3 s (5M lines: 192 s ->
  131 s) with identical outputs: validation, the rule engine, the feature
  transformers and the pricing table now compute on distinct values
  (validate 5.3 -> 1.7 s, rules 6.9 -> 2.5 s, features 8.3 -> 3.1 s per 1M
  lines), the rule engine hands the job each hit's row (no key matching),
  and the worklist pool ranks a batch's candidates before building frames.
* **What is left.** Explanations are now the largest stage (5.7 s: path
  attribution over the medium- and high-risk lines, the additive base's
  grouped terms, the reason sentences and the per-line reason lists),
  then the job's own plumbing (key pass, spill, batch read, assemble,
  bookkeeping, output: about 9.4 s together, each 1-2 s), features 3.1 s
  and rules 2.5 s. The floor moved too: the model now boosts from a
  logistic base, and the shipped sample's model has 32 trees instead of
  about 170, so its bare prediction is cheaper (2.3 s for 350,809 lines).
  Reaching 3x (16.6 s) needs about 8 s less: sentences only for the lines
  that reach the worklist or a medium/high band already cut most of the
  text work; the next steps are reason lists built in Arrow without the
  pandas frames in between, and a spill-free path when the input is
  already grouped by patient (the key pass and spill cost 2.9 s).
* **Memory.** Bounded: batches of 100k lines, peak about 1.0-1.1 GiB at 1M
  and at 5M (1.07x, within the target); a one-shot pandas read of the 5M
  file alone peaks near 3 GiB (`io` column).
* **100k night.** Met: 8.4 s for the whole process (3.1 s in `score_file`,
  5.3 s of start-up: importing pandas, scikit-learn, LightGBM and SciPy and
  loading the skops model, which audits every object of the file). A
  long-lived worker or a faster-loading model format would give headroom on
  a busy machine.

## Explanations: exact vs path attribution

Measured at the previous stop on 600 medium/high-risk 97112 lines with the
trees-only model of that time (about 170 trees, up to 22 levels deep): exact
TreeSHAP (LightGBM `pred_contrib`) about 210 rows/s; path attribution (one
`pred_leaf` call and a sparse leaf-by-reason-group product) about 38k rows/s
at this small size, about the cost of one more prediction at scale. The
strongest actionable reason agrees on 80% of lines; the top three reasons
overlap 79%. Hence: exact TreeSHAP for the worklist (the lines a person
reads), path attribution for the other medium and high-risk lines, rule hits
for low-risk lines and, where a low-risk line has none, one sentence saying
why it is low (no rule hit and the payer's own denial rate for the code;
`drivers_min_band`, `explain` settings). Since this stop the model boosts
from an additive logistic base: its terms are exact in both paths, so path
attribution approximates only the trees' share.
"""


def markdown_only(workdir):
    results = json.loads((RESULTS / "scoring.json").read_text())
    write_markdown(results, results["summary"], results["runs"]["cli_night"], None)


if __name__ == "__main__":
    main()
