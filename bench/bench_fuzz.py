"""The long fuzz run of issue #15: 10,000 X12 mutants and 10,000 table mutants.

Same mutations and property as the test suites (``tests/fuzz_x12.py``,
``tests/fuzz_tables.py``), many more inputs:

* **X12**: mutants of the generated 837P/835 (a synthetic world) and of the
  public files under ``../shared/data/x12-public`` (read in place, never
  copied; left out when absent), 1-3 mutations each (drop, duplicate, swap,
  drop every segment of one kind, truncate, re-delimit, huge and non-ASCII
  elements, junk, odd numbers and dates). Mutants are ingested a batch of
  files at a time (``ingest`` over a folder, as a practice would), and every
  file is accounted for by its ``source_file``: each SV1/SVC (and each LX or
  CLP without one) is an output row, a quarantine row or a side-table row,
  or the file is refused with ptdenial's own error naming it. No message or
  manifest may hold a patient's name or member id. A batch that raises
  anything but ptdenial's error is re-run file by file to find the culprit.
* **Tables**: CSV and Parquet mutants of a small claims table (column types,
  encodings, headers, dates, sizes); ``validate`` on every one and ``score``
  on every ``--score-every``-th, which must agree with ``validate``.

Crashes and lost rows are listed by kind in ``bench/results/fuzz.md``
(target: 0 and 0). Failures owned by another issue (dates outside pandas'
range and mixed time zones, issue #16) are counted apart.

Run: ``.venv/bin/python bench/bench_fuzz.py [--x12 10000] [--tables 10000]
[--jobs 2]`` (about 15-30 minutes on 2 idle cores). ``--x12 0`` or
``--tables 0`` runs one part and keeps the other's last figures (kept in
``bench/results/fuzz.json``), so the parts can run apart.
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import random
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from _common import RESULTS, machine_note  # noqa: E402

ISSUE_16 = ("Mixed timezones", "Cannot normalize Timestamp", "OutOfBoundsDatetime")


# --- X12 ---------------------------------------------------------------------------
_BASES: dict = {}


def _x12_bases(folder: Path):
    if str(folder) not in _BASES:
        _BASES[str(folder)] = _read_bases(folder)
    return _BASES[str(folder)]


def _read_bases(folder: Path):
    from fuzz_x12 import generated_files, phi_tokens, public_files

    bases = []
    for path in generated_files(folder) + public_files():
        text = path.read_text(encoding="latin-1")
        head = text[:3000]
        kind = "835" if "*835*" in head or "|835|" in head else "837"
        bases.append((kind, text, phi_tokens(text)))
    return bases


def _x12_batch(args):
    """Ingest one batch of mutants (one kind) and account for every file."""
    seeds, kind_wanted, folder = args
    from fuzz_x12 import Violation, check_mutant, mutate

    folder = Path(folder)
    bases = [b for b in _x12_bases(folder / "bases") if b[0] == kind_wanted]
    work = Path(tempfile.mkdtemp(dir=folder))
    files = {}
    for seed in seeds:
        rng = random.Random(seed)
        kind, text, phi = rng.choice(bases)
        mutant, ops = mutate(text, rng, rng.randint(1, 3))
        path = work / f"m{seed}.{kind}"
        path.write_bytes(mutant.encode("latin-1", errors="replace"))
        files[path] = (phi, ops)
    results = []
    try:
        results = _account_batch(work, kind_wanted, files)
    except Exception:  # noqa: BLE001 - find the file: one by one
        for path, (phi, ops) in files.items():
            try:
                out = check_mutant(path, kind_wanted, phi)
                results.append((path.name, out["outcome"], None, ops))
            except Violation as exc:
                results.append((path.name, "violation", str(exc), ops))
    for path in files:
        path.unlink(missing_ok=True)
    work.rmdir()
    return results


def _account_batch(work: Path, kind: str, files: dict):
    """One ingest over the folder; per file: refused, or every line accounted."""
    from fuzz_x12 import Violation, _check_message, expected_rows, leaks, manifest_text

    from ptdenial.exceptions import PtdenialError
    from ptdenial.x12 import ingest

    args = {"claims_837": [work]} if kind == "837" else {"remits_835": [work]}
    try:
        res = ingest(key="fuzz-key", **args)
    except PtdenialError as exc:
        if "no X12 file could be read" not in str(exc):
            raise
        return [(p.name, "refused", None, ops) for p, (_phi, ops) in files.items()]
    refused = {}
    for err in [*res.errors, *res.problems]:
        p = Path(getattr(err, "path", "") or "")
        if getattr(err, "internal", False):
            raise Violation(f"internal reader error: {err}")
        if p in files:
            _check_message(str(err), p, files[p][0])
        if err in res.errors:
            refused[p] = err
    manifest = manifest_text(res.manifest)
    counts = collections.Counter()
    for frame, col in (
        (res.table, "source_file"),
        (res.quarantine, "source_file"),
        (res.unmatched_remits, "source_file"),
        (res.reversed, "source_file"),
    ):
        if len(frame) and col in frame:
            counts.update(str(v) for v in frame[col])
        elif len(frame) and "source" in frame:
            counts.update(str(v) for v in frame["source"])
    out = []
    for path, (phi, ops) in files.items():
        leaked = leaks(manifest, phi)
        if leaked:
            out.append((path.name, "violation", f"PHI in manifest: {leaked[:1]}", ops))
            continue
        if path in refused:
            bad = counts.get(str(path), 0)
            verdict = (
                ("violation", f"refused but {bad} rows") if bad else ("refused", None)
            )
            out.append((path.name, *verdict, ops))
            continue
        n837, n835 = expected_rows(path)
        want, got = (n837 if kind == "837" else n835), counts.get(str(path), 0)
        if want != got:
            out.append((path.name, "violation", f"{want} lines, {got} accounted", ops))
        else:
            out.append((path.name, "read", None, ops))
    return out


# --- tables --------------------------------------------------------------------------
_MODEL = None


def _table_one(args):
    seed, score, folder = args
    global _MODEL
    from fuzz_tables import (
        CSV_OPS,
        FRAME_OPS,
        PARQUET_TYPES,
        Violation,
        _mutate_frame,
        base_table,
        check_table,
        write_csv_mutant,
        write_parquet_mutant,
    )

    rng = random.Random(seed)
    frame_op = rng.choice(FRAME_OPS)
    df = _mutate_frame(base_table(), rng, frame_op)
    work = Path(tempfile.mkdtemp(dir=folder))
    if rng.random() < 0.5:
        op = rng.choice(CSV_OPS)
        path = write_csv_mutant(df, work / "m.csv", rng, op)
    else:
        op = rng.choice(PARQUET_TYPES)
        path = write_parquet_mutant(df, work / "m.parquet", rng, op)
    model = None
    if score:
        if _MODEL is None:
            from ptdenial.datasets import make_claims
            from ptdenial.model import DenialRiskModel

            claims = make_claims(120, random_state=2).claims
            _MODEL = DenialRiskModel(n_estimators=5, n_jobs=1, linear_base=False)
            _MODEL.fit(claims)
        model = _MODEL
    ops = [frame_op, op]
    try:
        out = check_table(path, model, work)
        result = (f"t{seed}", str(out["validate"][0]), None, ops)
    except Violation as exc:
        result = (f"t{seed}", "violation", str(exc), ops)
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    return result


# --- report --------------------------------------------------------------------------
def _summary(name, results, seconds):
    outcomes = collections.Counter(r[1] for r in results)
    kinds = collections.Counter()
    examples = {}
    for fname, outcome, detail, ops in results:
        if outcome != "violation":
            continue
        owner = "issue #16" if any(s in (detail or "") for s in ISSUE_16) else "#15"
        key = (owner, (detail or "")[:90])
        kinds[key] += 1
        examples.setdefault(key, (fname, ops))
    lost = sum(
        n
        for (o, d), n in kinds.items()
        if o == "#15" and ("accounted" in d or "rows" in d)
    )
    crashes = sum(n for (o, _d), n in kinds.items() if o == "#15") - lost
    lines = [
        f"## {name}: {len(results):,} inputs in {seconds:.0f} s",
        "",
        f"- outcomes: {dict(outcomes)}",
        f"- **crashes or bad messages: {crashes}**, **lost rows: {lost}** "
        f"(issue #16's date cases apart: "
        f"{sum(n for (o, _d), n in kinds.items() if o == 'issue #16')})",
        "",
    ]
    if kinds:
        lines += ["| owner | count | what | example (input, mutations) |",
                  "|---|---:|---|---|"]  # fmt: skip
        for (owner, detail), n in kinds.most_common():
            fname, ops = examples[(owner, detail)]
            detail = detail.replace("|", "/").replace("\n", " ")
            lines.append(f"| {owner} | {n} | {detail} | {fname} {ops} |")
        lines.append("")
    return "\n".join(lines), crashes, lost


def _x12_part(pool, args, folder):
    seeds = [args.seed * 1_000_003 + i for i in range(args.x12)]
    jobs = []
    for k in range(0, len(seeds), args.batch):
        chunk = seeds[k : k + args.batch]
        kind = "837" if (k // args.batch) % 2 == 0 else "835"
        jobs.append((chunk, kind, str(folder)))
    start = time.perf_counter()
    x12 = [r for batch in pool.imap_unordered(_x12_batch, jobs) for r in batch]
    return _summary("X12", x12, time.perf_counter() - start)


def _tables_part(pool, args, folder):
    tjobs = [
        (args.seed * 7_000_003 + i, i % args.score_every == 0, str(folder))
        for i in range(args.tables)
    ]
    start = time.perf_counter()
    tables = list(pool.imap_unordered(_table_one, tjobs, chunksize=20))
    return _summary("Tables", tables, time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--x12", type=int, default=10_000)
    parser.add_argument("--tables", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=100, help="X12 files per ingest")
    parser.add_argument("--score-every", dest="score_every", type=int, default=25)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--out", type=Path, default=RESULTS / "fuzz.md")
    args = parser.parse_args(argv)
    note = machine_note()
    folder = Path(tempfile.mkdtemp(prefix="ptdenial-fuzz-"))
    from fuzz_x12 import public_files

    n_public = len(public_files())
    _x12_bases(folder / "bases")  # written once, before the workers read them
    ctx = multiprocessing.get_context("fork")
    # A part run with 0 inputs keeps the figures of its last run (the JSON
    # beside --out), so the two parts may be run apart, one after the other.
    store = args.out.with_suffix(".json")
    mine = {}
    cmd = f"`python bench/bench_fuzz.py --x12 {args.x12} --tables {args.tables}`"
    run = f"{cmd} - {note}. PROVISIONAL unless the load average is near 0."
    with ctx.Pool(args.jobs) as pool:
        for name, n, fn in (
            ("x12", args.x12, _x12_part),
            ("tables", args.tables, _tables_part),
        ):
            if n:
                text, c, lost = fn(pool, args, folder)
                mine[name] = {"text": f"{text}\n{run}\n", "crashes": c, "lost": lost}
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
    parts = json.loads(store.read_text()) if store.exists() else {}  # read late:
    parts.update(mine)  # the other part may have finished meanwhile
    sections = [parts[k]["text"] for k in ("x12", "tables") if k in parts]
    totals = [
        sum(p["crashes"] for p in parts.values()),
        sum(p["lost"] for p in parts.values()),
    ]
    report = [
        "# Fuzz run (issue #15)",
        "",
        f"X12 bases: the generated 837P and 835 and {n_public} public files; "
        f"{args.batch} mutants per ingest. Tables: validate on every input, score "
        f"on every {args.score_every}th (must agree with validate).",
        "",
        f"**Total: {totals[0]} crashes, {totals[1]} lost rows** (target 0 and 0).",
        "",
        *sections,
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps(parts, indent=1) + "\n")
    args.out.write_text("\n".join(report) + "\n")
    print("\n".join(report))
    return 0 if totals == [0, 0] else 1


if __name__ == "__main__":
    sys.exit(main())
