"""The ``ptdenial`` command line: thin wrappers over the library.

Exit codes, for every command (ARCHITECTURE.md, CLI contract):

* **0** everything processed;
* **3** done, but some rows were quarantined (or some files could not be
  read; the others were);
* **2** nothing processed: bad arguments, unusable input (e.g. a required
  column missing), a model file refused.

Messages go to stderr and name the file, the column and the fix. Logs never
carry patient identifiers or note text.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from ptdenial._utils import passive_openmp
from ptdenial.exceptions import PtdenialError

__all__ = ["main", "EXIT_OK", "EXIT_QUARANTINED", "EXIT_UNUSABLE"]

EXIT_OK = 0
EXIT_UNUSABLE = 2
EXIT_QUARANTINED = 3

logger = logging.getLogger("ptdenial")


class _ArgumentParser(argparse.ArgumentParser):
    """argparse exits with 2 on bad arguments, which is our contract too."""


def _err(message: str) -> None:
    print(f"ptdenial: {message}", file=sys.stderr)


# --- sample ---------------------------------------------------------------------
def _add_sample(sub):
    p = sub.add_parser("sample", help="write a synthetic history and a night of claims")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--patients", type=int, default=None, help="number of patients")
    p.add_argument("--seed", type=int, default=None, help="random seed")
    p.set_defaults(func=_run_sample)


def _run_sample(args) -> int:
    from ptdenial.datasets import write_sample

    kwargs = {}
    if args.patients is not None:
        kwargs["n_patients"] = args.patients
    if args.seed is not None:
        kwargs["random_state"] = args.seed
    written = write_sample(args.out, **kwargs)
    for path in written:
        print(path)
    return EXIT_OK


# --- validate -------------------------------------------------------------------
def _add_validate(sub):
    p = sub.add_parser("validate", help="check a claims table against the contract")
    p.add_argument("claims", type=Path, help="Parquet file/folder or CSV")
    p.add_argument("--quarantine", type=Path, help="write quarantined rows here")
    p.add_argument(
        "--as-of", dest="as_of", help="run date for date checks (YYYY-MM-DD)"
    )
    p.set_defaults(func=_run_validate)


def _run_validate(args) -> int:
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


# --- shared helpers ---------------------------------------------------------------
def _read_valid(path, *, as_of=None, quarantine=None):
    """Read and validate a claims table; write the quarantine if asked.

    Returns (valid, n_quarantined).
    """
    from ptdenial.io import read_claims, write_table
    from ptdenial.schema import validate_claims

    raw = read_claims(path)
    valid, quar = validate_claims(raw, source=str(path), run_date=as_of)
    if len(quar):
        logger.warning("%s: %d of %d rows quarantined", path, len(quar), len(raw))
    if quarantine is not None:
        write_table(quar, quarantine)
    return valid, len(quar)


def _print_metrics(frame, *, index="scorer"):
    cols = [
        c
        for c in [
            "n",
            "denial_rate",
            "roc_auc",
            "pr_auc",
            "brier",
            "ece",
            "log_loss",
            "lift@10%",
            "capture@10%",
            "dollars_captured",
        ]
        if c in frame.columns
    ]
    shown = frame.set_index(index)[cols]
    with __import__("pandas").option_context(
        "display.width", 160, "display.max_columns", 20
    ):
        print(shown.round(4).to_string())


# --- train ----------------------------------------------------------------------
def _add_train(sub):
    p = sub.add_parser(
        "train",
        help="train on adjudicated history; print hold-out metrics beside baselines",
    )
    p.add_argument("claims", type=Path, help="historical claims with outcomes")
    p.add_argument("--out", required=True, type=Path, help="model file (.skops)")
    p.add_argument(
        "--test-months",
        type=int,
        default=3,
        help="newest months held out for validation (default 3)",
    )
    p.add_argument(
        "--learner", default="lightgbm", choices=["lightgbm", "hist_gradient_boosting"]
    )
    p.add_argument("--calibration", default="isotonic", choices=["isotonic", "sigmoid"])
    p.add_argument(
        "--no-linear-base",
        dest="linear_base",
        action="store_false",
        help="trees alone (default: LightGBM boosts from a one-hot logistic "
        "regression's log-odds)",
    )
    p.add_argument(
        "--reference",
        type=Path,
        help="folder of reference-table overrides (payer_policies.csv ...)",
    )
    p.add_argument("--seed", type=int, default=0, help="random_state")
    p.add_argument("--as-of", dest="as_of", help="run date for date checks")
    p.add_argument("--quarantine", type=Path, help="write quarantined rows here")
    p.add_argument(
        "--no-refit",
        action="store_true",
        help="save the hold-out model instead of refitting on all history",
    )
    p.set_defaults(func=_run_train)


def _run_train(args) -> int:
    from ptdenial.model import DenialRiskModel, save_model, train_and_evaluate
    from ptdenial.reference import load_reference

    valid, n_bad = _read_valid(
        args.claims, as_of=args.as_of, quarantine=args.quarantine
    )
    reference = load_reference(args.reference) if args.reference else None
    params = {
        "learner": args.learner,
        "calibration": args.calibration,
        "linear_base": "auto" if args.linear_base else False,
        "random_state": args.seed,
        "reference": reference,
    }
    report = train_and_evaluate(valid, test_months=args.test_months, **params)
    print(
        f"validation window {report.test_window[0]} .. {report.test_window[1]} "
        "(97112 lines, trained on the past only):"
    )
    _print_metrics(report.metrics)
    model = report.model
    if not args.no_refit:
        model = DenialRiskModel(**params).fit(valid)
        model.card_ = dict(
            model.card_,
            validation_window=report.model.card_["validation_window"],
            validation_metrics=report.model.card_["validation_metrics"],
        )
    save_model(model, args.out)
    print(
        f"model {model.model_id} written to {args.out} "
        f"(card: {args.out.name}.card.json)"
    )
    return EXIT_QUARANTINED if n_bad else EXIT_OK


# --- evaluate -------------------------------------------------------------------
def _add_evaluate(sub):
    p = sub.add_parser(
        "evaluate", help="metrics of a saved model on adjudicated claims"
    )
    p.add_argument("claims", type=Path, help="claims with outcomes")
    p.add_argument("--model", required=True, type=Path, help="model file")
    p.add_argument("--out", type=Path, help="write the metrics table (.csv/.parquet)")
    p.add_argument("--as-of", dest="as_of", help="run date for date checks")
    p.add_argument("--quarantine", type=Path, help="write quarantined rows here")
    p.set_defaults(func=_run_evaluate)


def _run_evaluate(args) -> int:
    from ptdenial import schema as S
    from ptdenial.evaluation import metrics_by_group
    from ptdenial.io import write_table
    from ptdenial.model import SCORED_CODE, load_model, prepare_history

    model = load_model(args.model)
    valid, n_bad = _read_valid(
        args.claims, as_of=args.as_of, quarantine=args.quarantine
    )
    claims = prepare_history(valid, reference=model.reference)
    mask = (~claims[S.PENDING]).to_numpy() & (
        claims[S.CPT_CODE] == SCORED_CODE
    ).to_numpy(dtype=bool, na_value=False)
    if not mask.any():
        _err(f"{args.claims}: no adjudicated 97112 lines to evaluate on.")
        return EXIT_UNUSABLE
    scored = model.with_history(claims)
    lines = claims.loc[mask]
    p = scored.predict_proba(lines)[:, 1]
    y = lines[S.DENIED].astype(bool).to_numpy().astype(int)
    table = metrics_by_group(
        y,
        p,
        lines[S.PAYER_ID].astype(str).to_numpy(),
        dollars=lines[S.CHARGE_AMOUNT].to_numpy(dtype=float),
    )
    print(
        f"model {model.model_id} on {int(mask.sum())} adjudicated 97112 lines "
        f"(pending lines excluded: {int(claims[S.PENDING].sum())}):"
    )
    _print_metrics(table, index="group")
    if args.out is not None:
        write_table(table, args.out)
    return EXIT_QUARANTINED if n_bad else EXIT_OK


# --- ingest ---------------------------------------------------------------------
def _add_ingest(sub):
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
    p.add_argument("--quarantine", type=Path, help="write quarantined rows here")
    p.add_argument(
        "--as-of", dest="as_of", help="run date for date checks (YYYY-MM-DD)"
    )
    p.add_argument(
        "--strict",
        action="store_true",
        help="refuse X12 files whose SE/GE/IEA counts disagree",
    )
    p.set_defaults(func=_run_ingest)


def _run_ingest(args) -> int:
    import warnings

    from ptdenial.exceptions import DataQualityWarning
    from ptdenial.io import table_format, write_json, write_table
    from ptdenial.x12 import UNMATCHED_REASON, ingest

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
        )
    for w in caught:
        _err(f"warning: {w.message}")
    for exc in result.errors:
        _err(f"error: {exc}")
    for exc in result.problems:
        _err(f"error: {exc}")
    write_table(result.table, args.out)
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
    if args.quarantine is not None:
        write_table(result.quarantine, args.quarantine)
        extra["quarantine"] = args.quarantine
    manifest = dict(result.manifest)
    outputs = {k: str(v) for k, v in extra.items()}
    manifest["outputs"] = {"table": str(args.out)} | outputs
    manifest_path = args.out.with_name(f"{stem}.manifest.json")
    write_json(manifest, manifest_path)
    counts = manifest["counts"]
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
    unmatched_remits = result.unmatched_remits
    if len(unmatched_remits) and UNMATCHED_REASON in unmatched_remits:
        # superseded remittances (re-adjudications) are reported, not a failure
        unmatched_remits = unmatched_remits[
            unmatched_remits[UNMATCHED_REASON].str.startswith("no claim line")
        ]
    incomplete = (
        result.errors
        or result.problems
        or len(result.quarantine)
        or len(result.unmatched_claims)
        or len(unmatched_remits)
    )
    return EXIT_QUARANTINED if incomplete else EXIT_OK


# --- rules ----------------------------------------------------------------------
def _add_rules(sub):
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
        "ncci_ptp.csv, mue.csv ...), merged over the shipped tables",
    )
    p.add_argument(
        "--payment-rules",
        action="store_true",
        help="also write rows for payment rules (CQ_PAYMENT, MPPR)",
    )
    p.set_defaults(func=_run_rules)


def _run_rules(args) -> int:
    from ptdenial.io import write_table
    from ptdenial.reference import load_reference
    from ptdenial.rules import apply_rules, rule_hit_summary

    valid, n_quarantined = _read_valid(
        args.claims, as_of=args.as_of, quarantine=args.quarantine
    )
    reference = load_reference(args.reference) if args.reference else None
    kinds = ("hard", "soft", "payment") if args.payment_rules else ("hard", "soft")
    result = apply_rules(valid, reference=reference, as_of=args.as_of,
                         hit_kinds=kinds)  # fmt: skip
    write_table(result.hits, args.out)
    n_lines = int(result.hits[["claim_id", "line_number"]].drop_duplicates().shape[0])
    print(
        f"{args.claims}: {len(valid)} valid lines, {n_quarantined} quarantined; "
        f"{len(result.hits)} rule hits on {n_lines} lines -> {args.out}"
    )
    summary = rule_hit_summary(result, valid)
    shown = summary[(summary["lines"] > 0) | summary["rule_id"].str.contains(" ")]
    with __import__("pandas").option_context("display.width", 160):
        print(shown.round(3).to_string(index=False))
    for row in result.not_evaluated.itertuples(index=False):
        print(f"  not evaluated: {row.rule_id} on {row.n_lines} lines ({row.reason})")
    if args.quarantine is not None:
        print(f"quarantine written to {args.quarantine}")
    return EXIT_QUARANTINED if n_quarantined else EXIT_OK


# --- monitor --------------------------------------------------------------------
def _add_monitor(sub):
    p = sub.add_parser(
        "monitor",
        help="drift of a batch against the model's training profile; realized "
        "performance once outcomes arrive; retraining advice",
    )
    p.add_argument("claims", type=Path, help="the batch of claims to compare")
    p.add_argument("--model", required=True, type=Path, help="model file (.skops)")
    p.add_argument(
        "--outcomes",
        type=Path,
        help="later remittances/outcomes of the scored lines (claim table with "
        "outcome columns, or scored output joined with outcomes)",
    )
    p.add_argument(
        "--scored",
        type=Path,
        help="earlier scoring output of the lines (default: score CLAIMS now)",
    )
    p.add_argument(
        "--out", type=Path, help="folder for drift.csv, *.json, monitor.html"
    )
    p.add_argument("--as-of", dest="as_of", help="monitoring date (YYYY-MM-DD)")
    p.add_argument(
        "--min-rows",
        type=int,
        default=100,
        help="batches with fewer 97112 lines are not judged (default 100)",
    )
    p.add_argument("--quarantine", type=Path, help="write quarantined rows here")
    p.set_defaults(func=_run_monitor)


def _run_monitor(args) -> int:
    from ptdenial import schema as S
    from ptdenial.io import read_claims, write_json, write_table
    from ptdenial.model import load_model
    from ptdenial.monitoring import monitor_batch

    model = load_model(args.model)
    valid, n_bad = _read_valid(
        args.claims, as_of=args.as_of, quarantine=args.quarantine
    )
    scored = outcomes = None
    if args.scored is not None:
        scored = read_claims(args.scored)
    if args.outcomes is not None:
        outcomes = read_claims(args.outcomes)
        if S.DENIAL_PROBABILITY in outcomes.columns and scored is None:
            scored, outcomes = outcomes, None
    if scored is not None and outcomes is None and args.outcomes is None:
        _err(f"{args.scored}: --scored needs --outcomes to measure performance.")
        return EXIT_UNUSABLE
    n_lines = int((valid[S.CPT_CODE] == "97112").sum()) if len(valid) else 0
    if n_lines == 0:
        _err(
            f"{args.claims}: no valid 97112 lines to compare with the model's "
            "training profile."
        )
        return EXIT_UNUSABLE
    result = monitor_batch(
        model,
        valid,
        scored=scored,
        outcomes=outcomes,
        as_of=args.as_of,
        min_rows=args.min_rows,
        reference=model.reference,
    )
    drift, realized, advice = (
        result["drift"],
        result["realized"],
        result["recommendation"],
    )
    counts = drift["status"].value_counts().to_dict()
    print(f"{args.claims}: {n_lines} lines of 97112 against model {model.model_id}")
    print("  drift: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    for row in drift.head(8).itertuples():
        print(f"    {row.feature:<34} PSI {row.psi:7.3f}  {row.status}")
    if realized is not None:
        s = realized.summary
        auc = "n/a" if s.get("roc_auc") is None else f"{s['roc_auc']:.3f}"
        ece = "n/a" if s.get("ece") is None else f"{s['ece']:.3f}"
        print(
            f"  realized: {s['evaluable']} lines with outcomes (AUC {auc}, ECE {ece}); "
            f"{s['no_outcome']} scored lines without outcome, {s['no_score']} "
            f"outcomes without score, {s['pending']} pending"
        )
    verdict = "RETRAIN" if advice["retrain"] else "no retraining needed"
    print(f"  recommendation: {verdict}")
    for r in advice["reasons"]:
        print(f"    [{r['severity']}] {r['trigger']}: {r['detail']}")
    if args.out is not None:
        from ptdenial.reports import monitoring_report

        out = args.out
        write_table(drift, out / "drift.csv")
        write_json(advice, out / "recommendation.json")
        if realized is not None:
            write_json(realized.summary, out / "realized_summary.json")
            write_table(realized.by_month, out / "realized_by_month.csv")
            write_table(realized.calibration, out / "calibration.csv")
        page = monitoring_report(
            drift,
            advice,
            realized,
            subtitle=f"batch {args.claims.name}, model {model.model_id}",
        )
        html_path = out / "monitor.html"
        tmp = html_path.with_name(f".{html_path.name}.tmp")
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(html_path)
        print(f"outputs written to {out}")
    return EXIT_QUARANTINED if n_bad else EXIT_OK


# --- score ----------------------------------------------------------------------
def _add_score(sub):
    p = sub.add_parser(
        "score",
        help="the nightly job: score claims, explain, quarantine, worklist, report",
    )
    p.add_argument("claims", type=Path, help="Parquet file/folder or CSV of new claims")
    p.add_argument("--model", required=True, type=Path, help="model file (.skops)")
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
    _add_score_engine(p)
    p.set_defaults(func=_run_score)


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
        "medium_cut",
        "high_cut",
        "explain",
        "progress",
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


def _atomic_text(path: Path, text: str) -> Path:
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return path


def _score_report(run, model, folder: Path, config) -> Path:
    """report.html: score distribution, drift, worklist and rule summaries."""
    from ptdenial.reports import scoring_report

    page = scoring_report(run, model, cut_points=config.band_edges())
    return _atomic_text(Path(folder) / "report.html", page)


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


def _run_score(args) -> int:
    from ptdenial.model import load_model
    from ptdenial.scoring import score_file

    if not (
        _check_date(args.as_of, "--as-of")
        and _check_date(args.scored_at, "--scored-at")
    ):
        return EXIT_UNUSABLE
    config = _scoring_config(args)
    if getattr(args, "engine", "local") == "spark":
        return _run_score_spark(args, config)
    model = load_model(args.model)
    run = score_file(
        model,
        args.claims,
        args.out,
        quarantine=args.quarantine,
        worklist=args.worklist,
        config=config,
        as_of=args.as_of,
        scored_at=args.scored_at,
        model_path=args.model,
    )
    report_path = None
    if args.report is not None:
        report_path = _score_report(run, model, args.report, config)
    _print_score_run(run, report_path)
    return run.exit_code


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
    return code


# --- demo -----------------------------------------------------------------------
def _add_demo(sub):
    p = sub.add_parser(
        "demo",
        help="the main job end to end on the sample: train, score, worklist, report",
    )
    p.add_argument("--out", type=Path, default=Path("out"), help="output folder")
    p.add_argument(
        "--sample",
        type=Path,
        default=Path("data/sample"),
        help="folder with history.parquet and new_claims.parquet "
        "(generated under OUT/sample when missing)",
    )
    p.add_argument(
        "--n-estimators",
        dest="n_estimators",
        type=int,
        default=400,
        help="maximum boosting rounds of the demo model",
    )
    p.set_defaults(func=_run_demo)


def _print_history_summary(valid) -> None:
    """Denial rates by payer class, top CARCs and the rule hits of the history."""
    from ptdenial.analytics import carc_pareto, denial_rates
    from ptdenial.rules import apply_rules, rule_hit_summary
    from ptdenial.schema import PAYER_CLASS, derive_outcomes

    labelled = derive_outcomes(valid)
    rates = denial_rates(labelled, PAYER_CLASS)
    print("    denial rate by payer class (adjudicated lines):")
    cols = ["adjudicated", "denied", "denial_rate", "ci_low", "ci_high"]
    print(
        rates[[PAYER_CLASS, *cols]].to_string(index=False, float_format="{:.3f}".format)
    )
    pareto = carc_pareto(labelled).head(5)
    print("    top denial CARCs (each denied line counted once):")
    print(
        pareto[["group", "code", "category", "lines", "share", "charges"]].to_string(
            index=False, float_format="{:,.2f}".format
        )
    )
    summary = rule_hit_summary(apply_rules(labelled), labelled)
    hits = summary[summary["lines"] > 0].sort_values("lines", ascending=False)
    cols = [
        c
        for c in ("rule_id", "kind", "lines", "denial_rate", "share_of_denied")
        if c in hits.columns
    ]
    print("    rule hits on the history:")
    print(hits[cols].head(12).to_string(index=False, float_format="{:.3f}".format))


def _run_demo(args) -> int:
    from ptdenial.config import ScoringConfig
    from ptdenial.io import read_claims
    from ptdenial.model import DenialRiskModel, load_model, save_model
    from ptdenial.schema import SUBMISSION_DATE, validate_claims
    from ptdenial.scoring import score_file

    out = Path(args.out)
    history = args.sample / "history.parquet"
    new = args.sample / "new_claims.parquet"
    if not (history.exists() and new.exists()):
        from ptdenial.datasets import write_sample

        print(f"{args.sample}: no sample found; generating one under {out / 'sample'}")
        write_sample(out / "sample")
        history = out / "sample" / "history.parquet"
        new = out / "sample" / "new_claims.parquet"
    night = read_claims(new, columns=[SUBMISSION_DATE])[SUBMISSION_DATE]
    as_of = str(__import__("pandas").to_datetime(night).max().date())
    print(f"1/3 training on {history} (claims up to {as_of}) ...")
    valid, quar = validate_claims(
        read_claims(history), source=str(history), run_date=as_of
    )
    _print_history_summary(valid)
    model = DenialRiskModel(n_estimators=args.n_estimators).fit(valid)
    model_path = save_model(model, out / "model.skops")
    model = load_model(model_path)
    print(f"    model {model.model_id} -> {model_path}")
    print(f"2/3 scoring {new} as of {as_of} ...")
    config = ScoringConfig.from_sources({})
    run = score_file(
        model,
        new,
        out / "scored.parquet",
        worklist=out / "worklist.csv",
        config=config,
        as_of=as_of,
        model_path=model_path,
    )
    print("3/3 writing the report ...")
    report_path = _score_report(run, model, out / "report", config)
    _print_score_run(run, report_path)
    print(
        f"\nOpen {out / 'worklist.html'} (the billing team's worklist) and "
        f"{report_path} (the run report)."
    )
    return EXIT_QUARANTINED if len(quar) else run.exit_code


# --- registry -------------------------------------------------------------------
# Each subcommand registers itself through one ``_add_*`` function.
_SUBCOMMANDS = [
    _add_sample,
    _add_validate,
    _add_train,
    _add_evaluate,
    _add_ingest,
    _add_rules,
    _add_monitor,
]
_SUBCOMMANDS += [_add_score, _add_demo]


def build_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="ptdenial",
        description="Denial-risk analytics for CPT 97112 claim lines.",
        epilog="Exit codes: 0 all processed; 3 some rows quarantined or files "
        "unreadable; 2 nothing processed (bad arguments or unusable input).",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more log output (-vv for debug)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in _SUBCOMMANDS:
        add(sub)
    return parser


def main(argv=None) -> int:
    """Run the ``ptdenial`` command line and return its exit code.

    Examples
    --------
    >>> from ptdenial.cli import main
    >>> main(["validate", "data/sample/new_claims.csv"])  # doctest: +SKIP
    0
    """
    passive_openmp()  # before any lightgbm import: see ptdenial._utils
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: bad arguments
        return int(exc.code) if exc.code is not None else EXIT_UNUSABLE
    level = logging.WARNING - 10 * min(args.verbose, 2)
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=level,
            format="%(asctime)s %(levelname)s %(message)s",
            stream=sys.stderr,
        )
    start = time.perf_counter()
    try:
        code = args.func(args)
    except PtdenialError as exc:
        _err(str(exc))
        return EXIT_UNUSABLE
    except FileNotFoundError as exc:
        _err(f"{exc.filename}: no such file. Check the path.")
        return EXIT_UNUSABLE
    logger.info("%s finished in %.2f s", args.command, time.perf_counter() - start)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
