"""``ptdenial denials``: the work queue of denials already received."""

from __future__ import annotations

from pathlib import Path

from ptdenial.cli._common import EXIT_OK, EXIT_QUARANTINED


def add(sub):
    p = sub.add_parser(
        "denials",
        help="denial work queue from 835s or a claim table with outcomes: "
        "corrected claim, appeal, patient, write-off, no action, with deadlines",
    )
    p.add_argument(
        "remits",
        nargs="+",
        type=Path,
        help="835 files/folders, or one claim table with outcome columns "
        "(Parquet file/folder or CSV, e.g. the output of `ptdenial ingest`)",
    )
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        help="queue (.csv, formula-safe, or .parquet), every denied line; an "
        ".html page beside it shows the lines with something to recover",
    )
    p.add_argument(
        "--as-of", dest="as_of", help="work date for days left (default today)"
    )
    p.add_argument(
        "--likelihoods",
        type=Path,
        help="CSV of recovery likelihoods (action, payer_class, likelihood, "
        "source[, verified]) replacing the shipped rows",
    )
    p.add_argument(
        "--reference",
        type=Path,
        help="folder of reference override CSVs (payer_policies.csv ...)",
    )
    p.add_argument(
        "--key-file",
        dest="key_file",
        type=Path,
        help="pseudonymization key file for 835 input",
    )
    p.set_defaults(func=run)


def _is_table(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz", ".parquet", ".pq")):
        return True
    return path.is_dir() and any(path.glob("*.parquet"))


def _read(args, reference):
    """(lines, rule hits or None, n_quarantined) from tables or 835 files."""
    from ptdenial.io import read_claims
    from ptdenial.rules import apply_rules
    from ptdenial.schema import validate_claims

    if len(args.remits) == 1 and _is_table(args.remits[0]):
        path = args.remits[0]
        valid, quar = validate_claims(
            read_claims(path), source=str(path), run_date=args.as_of
        )
        hits = apply_rules(valid, reference=reference, as_of=args.as_of).hits
        return valid, hits, len(quar)
    import os
    import secrets

    from ptdenial.exceptions import InputFileError
    from ptdenial.x12 import KEY_ENV, read_835

    # The queue never shows patient_id: without a key, a one-run key keeps
    # the identifiers pseudonymous without the ingest's consistency warning.
    key = None
    if args.key_file is None and not os.environ.get(KEY_ENV):
        key = secrets.token_hex(16)
    lines = read_835(args.remits, key=key, key_file=args.key_file, on_error="warn")
    if lines.empty:
        names = ", ".join(map(str, args.remits))
        raise InputFileError(
            f"{names}: no 835 service lines found; pass 835 files or folders, "
            "or a claim table (.parquet/.csv) with outcome columns."
        )
    return lines, None, 0


def queue_notes(likelihoods=None) -> list:
    """Lines under the queue page's title: the ranking and each likelihood's source."""
    from ptdenial.recovery import recovery_likelihoods

    like = recovery_likelihoods(likelihoods)
    return [
        "Ranked by expected recovery = recoverable dollars x recovery likelihood "
        "of the action. Likelihood sources:",
        *(
            f"{r.action}{' (' + r.payer_class + ')' if r.payer_class else ''}: "
            f"{r.likelihood:.0%} - {r.source}"
            for r in like.itertuples(index=False)
        ),
        "Deadlines marked deadline_verified=False are defaults, not payer facts.",
    ]


def run(args) -> int:
    import pandas as pd

    from ptdenial.recovery import denial_queue, write_recovery
    from ptdenial.reference import load_reference

    reference = load_reference(args.reference) if args.reference else load_reference()
    lines, hits, n_quarantined = _read(args, reference)
    as_of = args.as_of or str(pd.Timestamp.today().date())
    queue = denial_queue(
        lines, as_of=as_of, hits=hits, reference=reference, likelihoods=args.likelihoods
    )
    by_action = queue.groupby("action")["expected_recovery"].agg(["size", "sum"])
    summary = (
        f"{len(queue)} denied or partially denied lines as of {as_of}; expected "
        f"recovery ${queue['expected_recovery'].sum():,.2f}"
        + ("" if hits is not None else " (835 input: rule hits not evaluated)")
    )
    notes = queue_notes(args.likelihoods)
    table_path, html_path = write_recovery(
        queue,
        args.out,
        title="Denial work queue",
        summary=summary,
        notes=notes,
        html_rows=queue["expected_recovery"] > 0,
    )
    print(summary)
    print(
        by_action.rename(columns={"size": "lines", "sum": "expected_recovery"})
        .round(2)
        .to_string()
    )
    print(f"-> {table_path} and {html_path}")
    return EXIT_QUARANTINED if n_quarantined else EXIT_OK
