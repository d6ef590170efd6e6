"""``ptdenial ingest``: 837P, 835 and a documentation export into claim lines."""

from __future__ import annotations

from pathlib import Path

from ptdenial.cli._common import EXIT_OK, EXIT_QUARANTINED, EXIT_UNUSABLE, _err


def add(sub):
    p = sub.add_parser(
        "ingest",
        help="read 837P claims, 835 remittances and a documentation export "
        "into the claim-line table",
    )
    p.add_argument(
        "--claims-837",
        dest="claims_837",
        nargs="+",
        type=Path,
        action="extend",
        default=[],
        metavar="PATH",
        help="837P files or folders",
    )
    p.add_argument(
        "--remits-835",
        dest="remits_835",
        nargs="+",
        type=Path,
        action="extend",
        default=[],
        metavar="PATH",
        help="835 files or folders",
    )
    p.add_argument("--docs", type=Path, help="documentation export (CSV/Parquet)")
    p.add_argument(
        "--mapping",
        type=Path,
        help="TOML column mapping for the export (and payer classes)",
    )
    p.add_argument(
        "--key-file",
        dest="key_file",
        type=Path,
        help="file holding the pseudonymization key (else the "
        "PTDENIAL_PSEUDONYM_KEY environment variable)",
    )
    p.add_argument("--out", required=True, type=Path, help="output table")
    p.add_argument(
        "--quarantine",
        type=Path,
        help="quarantined rows (default when rows fail: <out>.quarantine.<suffix>)",
    )
    p.add_argument(
        "--as-of", dest="as_of", help="run date for date checks (YYYY-MM-DD)"
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="refuse X12 files whose SE/GE/IEA counts disagree",
    )
    p.add_argument(
        "--chunk-rows",
        dest="chunk_rows",
        type=_positive,
        default=None,
        metavar="N",
        help="service lines read, checked and written per chunk; memory grows "
        "with N, not with the files (default 10000)",
    )
    p.set_defaults(func=run)


def _positive(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def run(args) -> int:
    import warnings

    from ptdenial.exceptions import DataQualityWarning
    from ptdenial.io import table_format
    from ptdenial.x12 import DEFAULT_CHUNK_ROWS, ingest

    if not args.claims_837 and not args.remits_835:
        _err("ingest: give --claims-837 PATH, --remits-835 PATH or both.")
        return EXIT_UNUSABLE
    table_format(args.out)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataQualityWarning)
        result = ingest(
            claims_837=args.claims_837,
            remits_835=args.remits_835,
            docs=args.docs,
            mapping=args.mapping,
            key_file=args.key_file,
            run_date=args.as_of,
            strict=args.strict,
            out=args.out,
            chunk_rows=args.chunk_rows or DEFAULT_CHUNK_ROWS,
        )
    for w in caught:
        _err(f"warning: {w.message}")
    for exc in result.errors:
        _err(f"error: {exc}")
    for exc in result.problems:
        _err(f"error: {exc}")
    extra, manifest_path, counts = _write_outputs(args, result)
    print(
        f"{args.out}: {counts['valid']} rows ({counts['quarantined']} quarantined) "
        f"from {counts['files_read']} X12 files ({counts['files_unreadable']} "
        "unreadable)"
    )
    print(
        f"  claim lines {counts['claim_lines_837']}, remit lines "
        f"{counts['remit_lines_835']}, unmatched claims "
        f"{counts['unmatched_claims']}, unmatched remits "
        f"{counts['unmatched_remits']}"
    )
    for name, path in extra.items():
        print(f"  {name}: {path}")
    print(f"  manifest: {manifest_path}")
    return EXIT_QUARANTINED if _incomplete(result) else EXIT_OK


def _write_outputs(args, result):
    """The table, the side tables that are not empty, the quarantine, the manifest.

    Returns the side tables written (name -> path), the manifest's path and
    the manifest's counts.
    """
    from ptdenial.io import table_format, write_json, write_table

    # the table itself was written chunk by chunk by ingest(out=...)
    suffix = ".csv" if table_format(args.out) == "csv" else ".parquet"
    stem = args.out.name.removesuffix(".gz").removesuffix(suffix)
    extra = {}
    for name, frame in (
        ("unmatched_remits", result.unmatched_remits),
        ("reversed_remits", result.reversed),
        ("unmatched_docs", result.unmatched_docs),
    ):
        if len(frame):
            target = args.out.with_name(f"{stem}.{name}{suffix}")
            extra[name] = write_table(frame, target)
    quarantine = args.quarantine
    if quarantine is None and len(result.quarantine):
        # never count rows as quarantined without writing them somewhere
        quarantine = args.out.with_name(f"{stem}.quarantine{suffix}")
    if quarantine is not None:
        write_table(result.quarantine, quarantine)
        extra["quarantine"] = quarantine
    manifest = dict(result.manifest)
    outputs = {k: str(v) for k, v in extra.items()}
    manifest["outputs"] = {"table": str(args.out)} | outputs
    manifest_path = args.out.with_name(f"{stem}.manifest.json")
    write_json(manifest, manifest_path)
    return extra, manifest_path, manifest["counts"]


def _incomplete(result) -> bool:
    """Errors, quarantined rows, or lines left unmatched (superseded remits aside)."""
    from ptdenial.x12 import UNMATCHED_REASON

    unmatched_remits = result.unmatched_remits
    if len(unmatched_remits) and UNMATCHED_REASON in unmatched_remits:
        # superseded remittances (re-adjudications) are reported, not a failure
        unmatched_remits = unmatched_remits[
            unmatched_remits[UNMATCHED_REASON].str.startswith("no claim line")
        ]
    return bool(
        result.errors
        or result.problems
        or len(result.quarantine)
        or len(result.unmatched_claims)
        or len(unmatched_remits)
    )
