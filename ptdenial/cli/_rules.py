"""``ptdenial rules``: one row per rule hit, with its fix."""

from __future__ import annotations

from pathlib import Path

from ptdenial.cli._common import EXIT_OK, EXIT_QUARANTINED, _read_valid


def add(sub):
    p = sub.add_parser(
        "rules", help="run the billing rules: one row per rule hit, with a fix"
    )
    p.add_argument("claims", type=Path, help="Parquet file/folder or CSV")
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        help="rule hits (.parquet or .csv): claim_id, line_number, "
        "rule_id, detail, fix, kind, carc",
    )
    p.add_argument("--quarantine", type=Path, help="write quarantined rows here")
    p.add_argument(
        "--as-of",
        dest="as_of",
        help="run date (YYYY-MM-DD): date checks, and timely filing of "
        "lines without submission_date",
    )
    p.add_argument(
        "--reference",
        type=Path,
        help="folder of reference override CSVs (payer_policies.csv, "
        "ncci_ptp.csv, mue.csv ...), merged over the shipped tables; tables "
        "imported with `ptdenial reference import-ncci/import-mue` replace them",
    )
    p.add_argument(
        "--payment-rules",
        action="store_true",
        help="also write rows for payment rules (CQ_PAYMENT, MPPR)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    import pandas as pd

    from ptdenial.io import write_table
    from ptdenial.reference import load_reference
    from ptdenial.rules import apply_rules, rule_catalogue, rule_hit_summary

    valid, n_quarantined = _read_valid(
        args.claims, as_of=args.as_of, quarantine=args.quarantine
    )
    reference = load_reference(args.reference) if args.reference else None
    kinds = ("hard", "soft", "payment") if args.payment_rules else ("hard", "soft")
    result = apply_rules(valid, reference=reference, as_of=args.as_of,
                         hit_kinds=kinds)  # fmt: skip
    write_table(result.hits, args.out)
    hits = result.hits
    n_lines = int(hits[["claim_id", "line_number"]].drop_duplicates().shape[0])
    print(
        f"{args.claims}: {len(valid)} valid lines, {n_quarantined} quarantined; "
        f"{len(hits)} rule hits on {n_lines} lines -> {args.out}"
    )
    # hits of hard rules reported soft because they rest on an unverified value
    rule_kind = hits["rule_id"].map(rule_catalogue().set_index("rule_id")["kind"])
    soft = hits.loc[(hits["kind"] == "soft") & rule_kind.eq("hard"), "rule_id"]
    summary = rule_hit_summary(result, valid)
    shown = summary[(summary["lines"] > 0) | summary["rule_id"].str.contains(" ")]
    n_soft = shown["rule_id"].map(soft.value_counts()).fillna(0).astype(int)
    aggregate = shown["rule_id"].str.contains(" ")  # any hard, no hard hit ...
    shown = shown.assign(reported_soft=n_soft.astype(object).where(~aggregate, ""))
    with pd.option_context("display.width", 160):
        print(shown.round(3).to_string(index=False))
    if len(soft):
        print(
            f"  {len(soft)} hits of hard rules are reported soft (column "
            "reported_soft): they rest on a value not verified (a payer-class "
            "default, a table row from secondary sources); set your payers' own "
            "values in payer_policies.csv (ptdenial reference payers --template) "
            "and load CMS's NCCI/MUE files (ptdenial reference import-ncci / "
            "import-mue)"
        )
    for row in result.not_evaluated.itertuples(index=False):
        if row.n_lines:
            where = f"on {row.n_lines} lines ({row.reason})"
            print(f"  not evaluated: {row.rule_id} {where}")
        else:  # a caveat on lines that were evaluated
            print(f"  note: {row.rule_id}: {row.reason}")
    if args.quarantine is not None:
        print(f"quarantine written to {args.quarantine}")
    return EXIT_QUARANTINED if n_quarantined else EXIT_OK
