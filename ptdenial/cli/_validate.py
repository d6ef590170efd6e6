"""``ptdenial validate``: check a claims table against the contract."""

from __future__ import annotations

from pathlib import Path

from ptdenial.cli._common import EXIT_OK, EXIT_QUARANTINED


def add(sub):
    p = sub.add_parser("validate", help="check a claims table against the contract")
    p.add_argument("claims", type=Path, help="Parquet file/folder or CSV")
    p.add_argument("--quarantine", type=Path, help="write quarantined rows here")
    p.add_argument(
        "--as-of", dest="as_of", help="run date for date checks (YYYY-MM-DD)"
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from ptdenial.io import read_claims, write_table
    from ptdenial.schema import derive_outcomes, validate_claims

    raw = read_claims(args.claims)
    valid, quarantine = validate_claims(
        raw, source=str(args.claims), run_date=args.as_of
    )
    print(
        f"{args.claims}: {len(raw)} rows, {len(valid)} valid, "
        f"{len(quarantine)} quarantined"
    )
    if len(quarantine):
        summary = quarantine.groupby(["column", "check"]).size()
        for (column, check), count in summary.items():
            print(f"  {count:>7} rows failed {check} on {column}")
    if "adjudication_date" in valid.columns:
        labelled = derive_outcomes(valid)
        adjudicated = int((~labelled["pending"]).sum())
        denied = int(labelled["denied"].sum())
        print(
            f"  outcomes: {adjudicated} adjudicated, {denied} denied, "
            f"{int(labelled['pending'].sum())} pending"
        )
    if args.quarantine is not None:
        write_table(quarantine, args.quarantine)
        print(f"quarantine written to {args.quarantine}")
    return EXIT_QUARANTINED if len(quarantine) else EXIT_OK
