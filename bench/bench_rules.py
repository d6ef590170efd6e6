"""Throughput of the rule layer: ``apply_rules`` on 1M claim lines.

Builds N lines by tiling the committed sample history (``data/sample/
history.parquet``; generated with :func:`ptdenial.datasets.make_claims` when
the file is absent): each copy gets its own patient, claim and provider ids and
its dates shifted by whole weeks, so visits, duplicates and NCCI pairs stay
realistic and do not merge across copies. The tiled table is written to
Parquet once, then, side by side in one run (medians of ``--reps``):

* reading it back (``ptdenial.io.read_claims``), the I/O reference;
* ``validate_claims`` (for context; not part of the rules);
* ``apply_rules`` with hit text (what ``ptdenial rules`` does);
* ``apply_rules(hits=False)`` (flags and gaps only, what the model needs).

Then the accuracy of the rules on planted edits (``bench/_rule_accuracy.py``):
recall per hard cause and the share of hard hits that are false alarms, on
two ``ptdenial.datasets`` worlds (default and other parameters) and on the
independent ``bench.worlds`` world.

Results go to ``bench/results/rules.md``.

Run: ``.venv/bin/python bench/bench_rules.py [--lines 1000000] [--reps 3]
[--accuracy-claims 3000] [--world-lines 200000]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, machine_note, markdown_table, peak_rss_mib  # noqa: E402
from _rule_accuracy import datasets_accuracy, worlds_accuracy  # noqa: E402

from ptdenial import schema as S  # noqa: E402
from ptdenial.io import read_claims, write_table  # noqa: E402
from ptdenial.rules import apply_rules, rule_hit_summary  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "history.parquet"


def base_lines() -> tuple[pd.DataFrame, str]:
    """The sample history as raw lines, and where it came from."""
    if SAMPLE.exists():
        return read_claims(SAMPLE), str(SAMPLE.relative_to(ROOT))
    from ptdenial.datasets import make_claims

    claims, _ = make_claims(1150, random_state=0)
    return claims, "ptdenial.datasets.make_claims(1150, random_state=0)"


def tile(raw: pd.DataFrame, n_lines: int) -> pd.DataFrame:
    """Repeat the lines with fresh ids until ``n_lines`` (vectorized)."""
    copies = int(np.ceil(n_lines / len(raw)))
    idx = np.tile(np.arange(len(raw)), copies)[:n_lines]
    copy = np.repeat(np.arange(copies), len(raw))[:n_lines]
    out = raw.iloc[idx].reset_index(drop=True)
    tag = pd.Series(copy, dtype="int64").astype(str)
    for name in (S.CLAIM_ID, S.PATIENT_ID, S.RENDERING_PROVIDER_ID):
        out[name] = out[name].astype(str) + "-" + tag
    shift = pd.to_timedelta((copy % 3) * 7, unit="D")
    for name in S.DATE_COLUMNS:
        if name in out.columns and name != S.ADJUDICATION_DATE:
            col = pd.to_datetime(out[name])
            out[name] = col + shift
    if S.ADJUDICATION_DATE in out.columns:
        out[S.ADJUDICATION_DATE] = pd.to_datetime(out[S.ADJUDICATION_DATE]) + shift
    return out


def median_time(fn, reps: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(reps):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "rules.md")
    parser.add_argument("--accuracy-claims", type=int, default=3000)
    parser.add_argument("--world-lines", type=int, default=200_000)
    args = parser.parse_args(argv)

    raw, origin = base_lines()
    big = tile(raw, args.lines)
    n = len(big)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lines.parquet"
        write_table(big, path)
        size_mib = path.stat().st_size / 2**20
        del big
        t_arrow, _ = median_time(lambda: pq.read_table(path), args.reps)
        t_read, raw_big = median_time(lambda: read_claims(path), args.reps)
    run_date = pd.Timestamp(raw_big[S.DATE_OF_SERVICE].max()) + pd.Timedelta(days=60)
    start = time.perf_counter()
    valid, quarantine = S.validate_claims(raw_big, run_date=run_date)
    t_valid = time.perf_counter() - start
    del raw_big
    as_of = run_date
    t_hits, result = median_time(lambda: apply_rules(valid, as_of=as_of), args.reps)
    t_flags, _ = median_time(
        lambda: apply_rules(valid, as_of=as_of, hits=False), args.reps
    )
    summary = rule_hit_summary(result, valid)
    lines_hit = result.hits[[S.CLAIM_ID, S.LINE_NUMBER]].drop_duplicates().shape[0]

    rows = [
        {"step": "pyarrow.parquet.read_table (Arrow only)", "seconds": t_arrow},
        {"step": "read_claims (Parquet -> pandas, raw)", "seconds": t_read},
        {"step": "validate_claims (context)", "seconds": t_valid},
        {"step": "apply_rules, flags + gaps + hit text", "seconds": t_hits},
        {"step": "apply_rules(hits=False), flags + gaps", "seconds": t_flags},
    ]
    for r in rows:
        r["lines/s"] = int(len(valid) / r["seconds"])
        r["x read"] = r["seconds"] / t_read
    text = [
        "# Rule layer throughput",
        "",
        f"{machine_note()}; load average at the end "
        f"{', '.join(f'{x:.1f}' for x in os.getloadavg())} (other jobs share the 2 "
        "cores: absolute times vary, the ratios measured side by side less)",
        "",
        f"{n:,} lines tiled from {origin} ({len(raw):,} lines; ids made unique per "
        f"copy, dates shifted by whole weeks); Parquet file {size_mib:.1f} MiB; "
        f"{len(valid):,} valid after validation ({len(quarantine):,} quarantined); "
        f"medians of {args.reps} runs (validation: 1 run). `x read` = time / time "
        "of `read_claims` on the same lines (the library's Parquet reader, what "
        "`ptdenial rules` does first), measured in the same run.",
        "",
        markdown_table(rows, ["step", "seconds", "lines/s", "x read"]),
        f"Rule hits: {len(result.hits):,} on {lines_hit:,} lines "
        f"({lines_hit / max(len(valid), 1):.1%}); peak RSS {peak_rss_mib():,.0f} MiB.",
        "",
        "Hits per rule on the tiled lines (denial rates from the sample's outcomes):",
        "",
        markdown_table(
            summary.round(3).to_dict("records"),
            [c for c in summary.columns if c != "not_evaluated"],
        ),
    ]
    text += accuracy_section(args.accuracy_claims, args.world_lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(text) + "\n")
    print("\n".join(text[:8]))
    return 0


def accuracy_section(n_claims: int, world_lines: int) -> list[str]:
    """Recall and false alarms on planted edits, as markdown lines."""
    import dataclasses

    from ptdenial.datasets import SyntheticParams

    other = dataclasses.replace(
        SyntheticParams(), p_gp_missing=0.06, p_kx_attached=0.8,
        p_bypass_modifier=0.6, p_dx_missing=0.03, p_duplicate_claim=0.04,
    )  # fmt: skip
    text = [
        "",
        "## Accuracy on planted edits",
        "",
        "Recall: share of the lines whose planted hard edit the rule flags. False "
        "alarms: share of the *hard hits* (hits resting on an unverified value "
        "are reported soft) on lines without a hard edit; `flag false alarms` "
        "counts every hard-rule flag, soft hits included. See "
        "`bench/_rule_accuracy.py`.",
        "",
    ]
    for label, seed, params in (
        ("ptdenial.datasets, default parameters", 5, None),
        ("ptdenial.datasets, other parameters (more GP/KX/dx errors, fewer 59s, "
         "more duplicates)", 8, other),
    ):  # fmt: skip
        per_rule, summary = datasets_accuracy(n_claims, seed, params=params)
        text += [
            f"### {label} (make_claims({n_claims}, random_state={seed}), "
            f"{summary['lines']:,} lines)",
            "",
            markdown_table(per_rule.round(4).to_dict("records"), list(per_rule)),
            f"Hard hits {summary['hard_hits']:,}, false alarms "
            f"{summary['false_alarm_share']:.2%}; hard-rule hits reported soft "
            f"(unverified value) {summary['soft_from_unverified']:,}; flag false "
            f"alarms {summary['flag_false_alarm_share']:.2%} of "
            f"{summary['flagged_lines']:,} flagged lines.",
            "",
        ]
    per_term, summary = worlds_accuracy(world_lines, 3)
    text += [
        f"### bench.worlds (make_world({world_lines}, seed=3), independent)",
        "",
        markdown_table(per_term.round(4).to_dict("records"), list(per_term)),
        f"Hard hits {summary['hard_hits']:,}, false alarms "
        f"{summary['false_alarm_share']:.2%} ({summary['false_alarms_by_rule']}); "
        f"without NCCI_PTP {summary['false_alarm_share_without_ncci']:.2%}. The "
        "NCCI false alarms are pairs the two order differently: the review "
        "(Errata s3) makes 97150 column 1 of the one-on-one codes and 97164 "
        "column 2 of 97530; this world does the opposite "
        f"({summary['ncci_other_line_in_world']:,} of them have the world's edit "
        "on the other line of the day; on "
        f"{summary['ncci_bypass_on_other_line']:,} another line of the day "
        "carries the 59/X modifier, on the code this world takes for column 2). "
        "Which code is column 2 decides which line needs the modifier; the CMS "
        "practitioner PTP file settles it (`ptdenial reference import-ncci`). "
        "Lower recall where the world's facts are "
        "not in the claim columns (therapy elsewhere in the KX year-to-date), "
        "its payers' own policies differ from ptdenial's class defaults (GP, "
        "authorization, filing limits; those hits are soft), its 97014 edit "
        "covers Medicare Advantage and TRICARE too (ptdenial: Medicare only, the "
        "one verified), and dates before 2024-10-01 (ICD-10-CM validity not "
        "evaluated). Hard-rule hits reported soft (unverified value): "
        f"{summary['soft_from_unverified']:,}.",
        "",
    ]
    return text


if __name__ == "__main__":
    raise SystemExit(main())
