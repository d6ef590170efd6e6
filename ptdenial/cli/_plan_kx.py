"""``ptdenial plan-kx``: which visit crosses the KX and targeted-review thresholds."""

from __future__ import annotations

from pathlib import Path

from ptdenial.cli._common import EXIT_OK, EXIT_QUARANTINED, _err

PLAN_NOTES = (
    "KX threshold: the year's row of the reference table; 'threshold "
    "unverified' marks a figure from secondary sources only (verified=false).",
    "A visit whose expected allowed amount crosses the threshold needs KX "
    "itself (year-to-date + that visit >= threshold).",
)


def add(sub):
    p = sub.add_parser(
        "plan-kx",
        help="Medicare KX/TMR plan: add KX from visit N, review documentation "
        "before visit M, per patient and therapy bucket",
    )
    p.add_argument(
        "claims",
        nargs="+",
        type=Path,
        help="claim tables (Parquet file/folder or CSV; history and new "
        "claims together), read as one",
    )
    p.add_argument(
        "--as-of", dest="as_of", required=True, help="planning date (YYYY-MM-DD)"
    )
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        help="plan (.csv, formula-safe, or .parquet); an .html page is "
        "written beside it",
    )
    p.add_argument(
        "--visits-per-week",
        dest="visits_per_week",
        type=float,
        help="plan-of-care frequency for every patient (default: observed "
        "in the episode, else 2)",
    )
    p.add_argument(
        "--reference",
        type=Path,
        help="folder of reference override CSVs (kx_thresholds.csv ...)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    import pandas as pd

    from ptdenial.io import read_claims
    from ptdenial.recovery import plan_kx, write_recovery
    from ptdenial.reference import load_reference
    from ptdenial.schema import validate_claims

    if args.visits_per_week is not None and args.visits_per_week <= 0:
        _err(f"--visits-per-week must be > 0, got {args.visits_per_week}")
        return 2
    frames, n_quarantined = [], 0
    for path in args.claims:
        valid, quar = validate_claims(
            read_claims(path), source=str(path), run_date=args.as_of
        )
        frames.append(valid)
        n_quarantined += len(quar)
    claims = pd.concat(frames, ignore_index=True)
    reference = load_reference(args.reference) if args.reference else None
    plan = plan_kx(
        claims,
        as_of=args.as_of,
        reference=reference,
        visits_per_week=args.visits_per_week,
    )
    n_kx = int(plan["kx_visit_number"].notna().sum())
    summary = (
        f"{len(plan)} patient buckets with an active Medicare plan of care as of "
        f"{args.as_of}; {n_kx} reach the KX threshold within their certified visits."
    )
    table_path, html_path = write_recovery(
        plan, args.out, title="KX / TMR plan", summary=summary, notes=PLAN_NOTES
    )
    print(f"{summary}\n-> {table_path} and {html_path}")
    if n_quarantined:
        print(f"{n_quarantined} rows quarantined (run `ptdenial validate` for details)")
    return EXIT_QUARANTINED if n_quarantined else EXIT_OK
