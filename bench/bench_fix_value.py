"""What re-scoring the worklist's fixes adds to the nightly job.

The job re-scores, once at the end, the claim-edit fixes of the final
worklist's lines, whose patients' lines the batches handed over
(``fix_value`` in the manifest's ``timings_s``). This
runs :func:`ptdenial.scoring.score_file` on the shipped sample night and on
a 100k-line night (``bench_scoring``'s ``claims_100000.parquet``, made under
``--workdir`` when missing), each with and without the re-score (without:
the worklist's fix columns left empty), one process, no worker processes,
best of ``--reps``. Reports the ``fix_value`` stage, the job's total with
and without, and the machine load (``uptime``): figures taken on a busy
machine are provisional.

    python bench/bench_fix_value.py [--night PATH] [--reps 3]

Writes bench/results/fix_value.md and fix_value.json (``--results DIR``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, machine_note, markdown_table  # noqa: E402

AS_OF = "2026-01-01"
ROOT = Path(__file__).resolve().parents[1]


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _run(model, claims: Path, *, fix: bool, batch_rows: int) -> dict:
    import numpy as np

    from ptdenial.config import ScoringConfig
    from ptdenial.scoring import _worklist, score_file

    pool = _worklist._Worklist
    original = pool._add_fix_values

    def _off(self, rows):
        rows["dollars_saved"], rows["p_after_fix"] = np.nan, np.nan
        rows["fix_kind"] = ""

    if not fix:
        pool._add_fix_values = _off
    try:
        config = ScoringConfig(workers=0, progress="off", batch_rows=batch_rows)
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            run = score_file(
                model, claims, Path(tmp) / "s.parquet",
                worklist=Path(tmp) / "wl.csv", config=config, as_of=AS_OF,
            )  # fmt: skip
            total = time.perf_counter() - t0
    finally:
        pool._add_fix_values = original
    wl = run.worklist
    return {
        "total_s": total,
        "fix_value_s": run.manifest["timings_s"].get("fix_value", 0.0),
        "worklist": len(wl),
        "claim_edits": int(wl["dollars_saved"].notna().sum()),
        "load": _load(),
    }


def _night(workdir: Path, path) -> Path:
    if path is not None:
        return Path(path)
    from bench_scoring import _datasets_inputs

    workdir.mkdir(parents=True, exist_ok=True)
    return _datasets_inputs(workdir, [100_000], 1_000_000)[100_000]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--night", type=Path, help="a 100k-line claims file")
    p.add_argument("--model", type=Path, help="model file (default: fit on sample)")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/ptdenial-bench"))
    p.add_argument("--results", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    from ptdenial.model import DenialRiskModel, load_model

    if args.model is not None:
        model = load_model(args.model)
    else:
        from ptdenial.datasets import load_sample_claims

        model = DenialRiskModel(random_state=0).fit(load_sample_claims("history"))
    inputs = {
        "sample night": ROOT / "data" / "sample" / "new_claims.parquet",
        "100k night": _night(args.workdir, args.night),
    }
    rows = []
    for name, path in inputs.items():
        best = {}
        for fix in (True, False):
            runs = [_run(model, path, fix=fix, batch_rows=100_000)
                    for _ in range(args.reps)]  # fmt: skip
            best[fix] = min(runs, key=lambda r: r["total_s"])
        on, off = best[True], best[False]
        rows.append({
            "input": name,
            "lines": _rows(path),
            "worklist": on["worklist"],
            "claim_edits": on["claim_edits"],
            "fix_value_s": on["fix_value_s"],
            "total_with_s": on["total_s"],
            "total_without_s": off["total_s"],
            "share_of_total": on["fix_value_s"] / on["total_s"],
            "load_1_5_15": on["load"],
        })  # fmt: skip
        print(rows[-1], flush=True)
    result = {"machine": machine_note(), "reps": args.reps, "rows": rows}
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "fix_value.json").write_text(json.dumps(result, indent=2))
    text = [
        "# Re-scoring the worklist's fixes in the nightly job",
        "",
        "`python bench/bench_fix_value.py`: `score_file` with the re-score of the "
        "final worklist lines' claim-edit fixes (`fix_value`) and without it; "
        f"one process, no workers, best of {args.reps}.",
        "",
        f"Machine: {result['machine']}. **Provisional** when the load average "
        "(last column) exceeds the core count: the machine was shared.",
        "",
        markdown_table(rows),
    ]
    (args.results / "fix_value.md").write_text("\n".join(text))


def _rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


if __name__ == "__main__":
    main()
