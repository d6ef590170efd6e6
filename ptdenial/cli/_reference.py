"""``ptdenial reference``: import CMS's NCCI files, show the payer matrix, ...

Subcommands:

* ``import-ncci FILES... --out DIR``: CMS practitioner PTP files -> the
  therapy pairs in ``DIR/ncci_ptp.csv`` (read by ``--reference DIR``);
* ``import-mue FILES... --out DIR``: CMS practitioner MUE table ->
  ``DIR/mue.csv``;
* ``payers [--claims FILE] [--reference DIR] [--out FILE] [--template]``: the
  policy matrix as resolved per payer, each value with its provenance, or a
  one-file template for the practice's own payers;
* ``icd10-changes OLD NEW --effective-from DATE --out FILE``: the dated
  table of ICD-10-CM codes whose billable status changed;
* ``rules-page [--out FILE]``: the rules reference page (docs/rules.md).
"""

from __future__ import annotations

import warnings
from pathlib import Path

from ptdenial.cli._common import EXIT_OK, EXIT_QUARANTINED, _err


def add(sub):
    p = sub.add_parser(
        "reference",
        help="reference tables: import CMS NCCI/MUE files, payer policy matrix, "
        "ICD-10-CM changes, the rules page",
    )
    p.set_defaults(func=run)
    rsub = p.add_subparsers(dest="reference_command", required=True, metavar="ACTION")
    for kind in ("ncci", "mue"):
        q = rsub.add_parser(
            f"import-{kind}",
            help=(
                "CMS practitioner PTP edit files (ccipra-vXXXrX-f1.txt ...) -> the "
                "therapy pairs in DIR/ncci_ptp.csv"
                if kind == "ncci"
                else "CMS practitioner MUE table (MCR_MUE_PractitionerServices_"
                "Eff_MM-DD-YYYY.csv) -> the therapy codes in DIR/mue.csv"
            ),
        )
        q.add_argument("files", nargs="+", type=Path, help="the CMS file(s)")
        q.add_argument(
            "--out",
            required=True,
            type=Path,
            help="override folder (use it with --reference DIR)",
        )
        q.add_argument("--quarter", help="YYYYQn, when the file names do not carry it")
        q.add_argument(
            "--extra-codes",
            default="",
            help="comma-separated codes to keep beside the therapy code list",
        )
        q.add_argument(
            "--as-of",
            dest="as_of",
            help="warn when the quarter is older than this date allows (default today)",
        )
        q.set_defaults(action=run_import_ncci if kind == "ncci" else run_import_mue)
    q = rsub.add_parser(
        "payers",
        help="the payer policy matrix as resolved per payer, with provenance",
    )
    q.add_argument("--claims", type=Path, help="list the payers of these claims")
    q.add_argument("--reference", type=Path, help="override folder")
    q.add_argument("--out", type=Path, help="write the table (.csv or .parquet)")
    q.add_argument(
        "--template",
        action="store_true",
        help="write a payer_policies.csv with one row per payer of --claims, to "
        "fill in with each payer's own values (empty = class default)",
    )
    q.set_defaults(action=run_payers)
    q = rsub.add_parser(
        "icd10-changes",
        help="codes whose billable status changed between two ICD-10-CM releases",
    )
    q.add_argument("old", type=Path, help="code list of the older release")
    q.add_argument("new", type=Path, help="code list of the newer release")
    q.add_argument("--effective-from", required=True, dest="effective_from")
    q.add_argument("--old-release", default="", help="label of the older release")
    q.add_argument("--new-release", default="", help="label of the newer release")
    q.add_argument("--out", required=True, type=Path, help="icd10cm_changes.csv")
    q.set_defaults(action=run_icd10_changes)
    q = rsub.add_parser("rules-page", help="write the rules reference page")
    q.add_argument("--out", type=Path, default=Path("docs/rules.md"))
    q.add_argument("--reference", type=Path, help="override folder")
    q.set_defaults(action=run_rules_page)


def run(args) -> int:
    """Run the chosen ``ptdenial reference`` action."""
    return args.action(args)


def _codes(text: str) -> list[str]:
    return [c.strip().upper() for c in text.split(",") if c.strip()]


def _import(args, importer, what) -> int:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        entry = importer(
            args.files,
            args.out,
            quarter=args.quarter,
            extra_codes=_codes(args.extra_codes),
            as_of=args.as_of,
        )
    for info in entry["files"]:
        print(
            f"{info['file']}: {info['rows']} {what} read, {info['skipped']} other "
            "lines skipped (footnotes, totals)"
        )
        for lineno, text in info["examples"]:
            print(f"  skipped line {lineno}: {text!r}")
    print(
        f"{entry['quarter']}: {entry['written']} therapy {what} written to "
        f"{args.out} (use --reference {args.out})"
    )
    for w in caught:
        _err(f"warning: {w.message}")
    return EXIT_OK


def run_import_ncci(args) -> int:
    from ptdenial.reference import import_ncci

    return _import(args, import_ncci, "edits")


def run_import_mue(args) -> int:
    from ptdenial.reference import import_mue

    return _import(args, import_mue, "MUE values")


def run_payers(args) -> int:
    import pandas as pd

    from ptdenial.io import write_table
    from ptdenial.reference import load_reference
    from ptdenial.reference._payers import payer_matrix

    ref = load_reference(args.reference) if args.reference else load_reference()
    n_quarantined = 0
    payers = None
    if args.claims is not None:
        from ptdenial.cli._common import _read_valid
        from ptdenial.schema import PAYER_CLASS, PAYER_ID

        valid, n_quarantined = _read_valid(args.claims)
        payers = valid[[PAYER_CLASS, PAYER_ID]].astype(str).drop_duplicates()
    elif args.template:
        _err("--template needs --claims (the payers to list)")
        return 2
    table = payer_matrix(ref.payer_policies, payers, template=args.template)
    if args.out is not None:
        if args.template and args.out.suffix != ".csv":
            _err("--template writes payer_policies.csv: give --out ending in .csv")
            return 2
        if args.template:
            table.to_csv(args.out, index=False, lineterminator="\n")
        else:
            write_table(table, args.out)
        print(f"{len(table)} payers -> {args.out}")
    shown = table if not args.template else table[["payer_class", "payer_id"]]
    with pd.option_context("display.width", 200, "display.max_columns", 40):
        print(shown.to_string(index=False))
    return EXIT_QUARANTINED if n_quarantined else EXIT_OK


def run_icd10_changes(args) -> int:
    from ptdenial.reference import icd10_changes

    table = icd10_changes(
        args.old,
        args.new,
        args.effective_from,
        old_release=args.old_release or args.old.name,
        new_release=args.new_release or args.new.name,
    )
    out = table.assign(effective_from=table["effective_from"].dt.strftime("%Y-%m-%d"))
    out.to_csv(args.out, index=False, lineterminator="\n")
    counts = table["change"].value_counts().to_dict()
    print(f"{len(table)} codes changed ({counts}) -> {args.out}")
    return EXIT_OK


def run_rules_page(args) -> int:
    from ptdenial.reference import load_reference
    from ptdenial.rules import rules_markdown

    ref = load_reference(args.reference) if args.reference else None
    text = rules_markdown(ref)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"rules reference page -> {args.out}")
    return EXIT_OK
