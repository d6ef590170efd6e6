"""``ptdenial score``: the nightly job; local or on Spark."""

from __future__ import annotations

from pathlib import Path

from ptdenial.cli._common import (
    EXIT_UNUSABLE,
    _err,
    add_model_trust,
    load_checked_model,
)


def add(sub):
    p = sub.add_parser(
        "score",
        help="the nightly job: score claims, explain, quarantine, worklist, report",
    )
    _add_files(p)
    _add_settings(p)
    _add_score_engine(p)
    p.set_defaults(func=run)


def _add_files(p):
    """What is read and what is written."""
    p.add_argument("claims", type=Path, help="Parquet file/folder or CSV of new claims")
    p.add_argument("--model", required=True, type=Path, help="model file (.skops)")
    add_model_trust(p)
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        help="scored lines (.parquet or .csv), written atomically",
    )
    p.add_argument(
        "--quarantine",
        type=Path,
        help="quarantined rows (default when rows fail: <out>.quarantine.<suffix>)",
    )
    p.add_argument(
        "--worklist",
        type=Path,
        help="worklist CSV (an .html page is written beside it)",
    )
    p.add_argument("--report", type=Path, help="folder for report.html")
    p.add_argument(
        "--history",
        type=Path,
        metavar="OUTCOMES",
        help="latest outcomes export (Parquet file/folder or CSV, with "
        "remittance columns): refreshes the model's history snapshot for "
        "this run (validated; failing rows quarantined). Without it the "
        "snapshot the model was trained or refreshed with is used",
    )
    p.add_argument(
        "--history-quarantine",
        dest="history_quarantine",
        type=Path,
        help="quarantined rows of --history (default when rows fail: "
        "<out>.history-quarantine.<suffix>; with --engine spark always "
        "<out>.history-quarantine.parquet)",
    )


def _add_settings(p):
    """Run date and scoring settings (also from --config and PTDENIAL_*)."""
    p.add_argument(
        "--batch-rows",
        dest="batch_rows",
        type=int,
        help="rows per batch (default 100000; a patient is never split)",
    )
    p.add_argument(
        "--as-of",
        dest="as_of",
        help="run date YYYY-MM-DD (default today): history cut-off, "
        "date checks; also fixes scored_at, so re-runs are identical",
    )
    p.add_argument(
        "--scored-at",
        dest="scored_at",
        help="timestamp written to scored_at (default: --as-of midnight UTC, else now)",
    )
    p.add_argument(
        "--top",
        dest="worklist_top",
        type=int,
        help="worklist capacity: lines kept by dollars at risk (default 200)",
    )
    p.add_argument(
        "--rank",
        dest="worklist_rank",
        choices=["dollars_saved", "expected_loss"],
        help="worklist order (default dollars_saved: lines whose claim edit "
        "saves dollars first, most first, then the rest by dollars at risk; "
        "expected_loss: by dollars at risk only)",
    )
    p.add_argument(
        "--medium-cut",
        dest="medium_cut",
        type=float,
        help="probability from which a line is medium risk (default 0.15)",
    )
    p.add_argument(
        "--high-cut",
        dest="high_cut",
        type=float,
        help="probability from which a line is high risk (default 0.35)",
    )
    p.add_argument(
        "--max-snapshot-age",
        dest="max_snapshot_age_days",
        type=int,
        metavar="DAYS",
        help="warn (stderr and report) when the history snapshot's newest "
        "outcome is more than DAYS before the run date (default 45)",
    )
    p.add_argument(
        "--explain",
        choices=["worklist", "high", "all", "none"],
        help="lines with exact TreeSHAP reasons (default worklist; the "
        "others get path attribution)",
    )
    p.add_argument(
        "--config",
        type=Path,
        help="TOML file of scoring settings (PTDENIAL_* variables also "
        "apply; command-line options win)",
    )
    p.add_argument(
        "--progress",
        choices=["auto", "on", "off"],
        help="progress bar (default auto: only on a terminal)",
    )
    p.add_argument(
        "--workers",
        type=int,
        help="worker processes scoring batches next to this one (default -1: one "
        "per spare CPU core, up to 3, for inputs of 4 batches or more; 0: none)",
    )


def _add_score_engine(p):
    """``--engine spark``: see ptdenial.spark and the README's Spark section."""
    p.add_argument(
        "--engine",
        choices=["local", "spark"],
        default="local",
        help="local (default): stream on this machine; spark: read CLAIMS with "
        "Spark, write --out as a Parquet folder partitioned by service_month "
        "(needs pip install 'ptdenial[spark]')",
    )
    p.add_argument(
        "--spark-conf",
        dest="spark_conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Spark setting for a session started here (repeatable), e.g. "
        "spark.master=local[2]; under spark-submit, use its --conf instead",
    )
    p.add_argument(
        "--partitions",
        type=int,
        help="spark: partitions of the shuffle by patient (default: one per "
        "--batch-rows input rows, at least one per core)",
    )


def _scoring_config(args):
    from ptdenial.config import ScoringConfig

    names = (
        "batch_rows",
        "worklist_top",
        "worklist_rank",
        "medium_cut",
        "high_cut",
        "explain",
        "progress",
        "max_snapshot_age_days",
        "workers",
    )
    values = {n: getattr(args, n, None) for n in names}
    return ScoringConfig.from_sources(values, toml=getattr(args, "config", None))


def _check_date(value, option):
    if value is None:
        return True
    try:
        __import__("pandas").Timestamp(value)
    except (TypeError, ValueError):
        _err(f"{option} {value!r} is not a date; use YYYY-MM-DD.")
        return False
    return True


def _score_report(run, model, folder: Path, config) -> Path:
    """report.html: score distribution, drift, worklist and rule summaries."""
    from ptdenial.io import atomic_path
    from ptdenial.reports import scoring_report

    page = scoring_report(run, model, cut_points=config.band_edges())
    path = Path(folder) / "report.html"
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


def _print_score_run(run, report_path=None):
    m = run.manifest
    c = m["counts"]
    print(
        f"{c['rows_in']} rows in: {c['scored']} lines scored ({c['scored_97112']} "
        f"97112 lines with a probability), {c['quarantined']} quarantined"
    )
    bands = m["risk_bands"]
    print("  risk bands: " + ", ".join(f"{k} {v}" for k, v in bands.items()))
    for name, path in m["outputs"].items():
        print(f"  {name}: {path}")
    if report_path is not None:
        print(f"  report: {report_path}")
    _print_snapshot(m.get("history_snapshot"))


def _print_snapshot(snapshot) -> None:
    """One line on the history snapshot (the job logs its warning on stderr)."""
    if not snapshot:
        return
    age = snapshot.get("age_days")
    how = "refreshed for this run" if snapshot.get("source") else "from the model"
    print(
        f"  history snapshot ({how}): outcomes up to "
        f"{snapshot.get('last_outcome_date')}, "
        f"{'unknown' if age is None else age} days old"
    )
    if snapshot.get("stale"):
        print("  history snapshot is STALE: see the warning above and the report")


def run(args) -> int:
    from ptdenial.scoring import score_file

    if not (
        _check_date(args.as_of, "--as-of")
        and _check_date(args.scored_at, "--scored-at")
    ):
        return EXIT_UNUSABLE
    config = _scoring_config(args)
    if getattr(args, "engine", "local") == "spark":
        return _run_score_spark(args, config)
    model = load_checked_model(args)
    score_run = score_file(
        model,
        args.claims,
        args.out,
        quarantine=args.quarantine,
        worklist=args.worklist,
        config=config,
        as_of=args.as_of,
        scored_at=args.scored_at,
        model_path=args.model,
        history=getattr(args, "history", None),
        history_quarantine=getattr(args, "history_quarantine", None),
    )
    report_path = None
    if args.report is not None:
        report_path = _score_report(score_run, model, args.report, config)
    _print_score_run(score_run, report_path)
    if args.worklist is not None:
        print(f"  {fix_value_summary(score_run.worklist)}")
    return score_run.exit_code


def fix_value_summary(worklist) -> str:
    """One line: what the worklist's claim edits are worth, and what needs papers."""
    import pandas as pd

    saved = pd.to_numeric(worklist["dollars_saved"], errors="coerce")
    docs = int((worklist["fix_kind"] == "documentation needed").sum())
    return (
        f"worklist fixes: {int(saved.notna().sum())} lines with a claim edit save "
        f"${saved.clip(lower=0).sum():,.2f} in expected payment (re-scored, same "
        f"as-of); {docs} need documentation and are not re-scored"
    )


def _run_score_spark(args, config) -> int:
    """``ptdenial score --engine spark``: ptdenial.spark.score_to_parquet."""
    if args.report is not None:
        _err(
            "--report is not available with --engine spark; run `ptdenial monitor` "
            "on the scored output instead."
        )
        return EXIT_UNUSABLE
    conf = {}
    for item in args.spark_conf:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            _err(
                f"--spark-conf {item!r} is not KEY=VALUE (e.g. spark.master=local[2])."
            )
            return EXIT_UNUSABLE
        conf[key.strip()] = value.strip()
    from ptdenial.spark import score_to_parquet

    manifest, code = score_to_parquet(
        args.claims, args.model, args.out, quarantine=args.quarantine,
        worklist=args.worklist, config=config, as_of=args.as_of,
        scored_at=args.scored_at, partitions=args.partitions, spark_conf=conf,
        history=getattr(args, "history", None),
    )  # fmt: skip
    c = manifest["counts"]
    print(
        f"{c['rows_in']} rows in: {c['scored']} lines scored on Spark "
        f"({c['scored_97112']} 97112 lines with a probability), "
        f"{c['quarantined']} quarantined"
    )
    bands = manifest["risk_bands"]
    print("  risk bands: " + ", ".join(f"{k} {v}" for k, v in bands.items()))
    for name, path in manifest["outputs"].items():
        print(f"  {name}: {path}")
    _print_snapshot(manifest.get("history_snapshot"))
    return code
