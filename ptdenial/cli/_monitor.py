"""``ptdenial monitor``: drift, realized performance and retraining advice."""

from __future__ import annotations

from pathlib import Path

from ptdenial.cli._common import (
    EXIT_OK,
    EXIT_QUARANTINED,
    EXIT_UNUSABLE,
    _err,
    _read_valid,
    add_model_trust,
    load_checked_model,
)


def add(sub):
    p = sub.add_parser(
        "monitor",
        help="drift of a batch against the model's training profile; realized "
        "performance once outcomes arrive; retraining advice",
    )
    p.add_argument("claims", type=Path, help="the batch of claims to compare")
    p.add_argument("--model", required=True, type=Path, help="model file (.skops)")
    add_model_trust(p)
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
    p.add_argument(
        "--history",
        type=Path,
        metavar="OUTCOMES",
        help="latest outcomes export: monitor the model with its history "
        "snapshot refreshed (as `ptdenial score --history` scores)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from ptdenial import schema as S
    from ptdenial.monitoring import monitor_batch

    model = load_checked_model(args)
    if getattr(args, "history", None) is not None:
        import pandas as pd

        from ptdenial.scoring._snapshot import read_history, refresh_snapshot

        night = pd.Timestamp(args.as_of) if args.as_of else pd.Timestamp.today()
        outcomes_valid, _ = read_history(args.history, as_of=night.normalize())
        model = refresh_snapshot(model, outcomes_valid)
    valid, n_bad = _read_valid(
        args.claims, as_of=args.as_of, quarantine=args.quarantine
    )
    scored, outcomes = _scored_and_outcomes(args)
    if scored is not None and outcomes is None and args.outcomes is None:
        _err(f"{args.scored}: --scored needs --outcomes to measure performance.")
        return EXIT_UNUSABLE
    n_lines = int((valid[S.CPT_CODE] == S.SCORED_CODE).sum()) if len(valid) else 0
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
    print(f"{args.claims}: {n_lines} lines of 97112 against model {model.model_id}")
    _print_result(drift, realized, advice)
    if args.out is not None:
        subtitle = f"batch {args.claims.name}, model {model.model_id}"
        _write_outputs(args.out, drift, realized, advice, subtitle)
    return EXIT_QUARANTINED if n_bad else EXIT_OK


def _scored_and_outcomes(args):
    """Read --scored and --outcomes; scored output given as --outcomes is both."""
    from ptdenial import schema as S
    from ptdenial.io import read_claims

    scored = outcomes = None
    if args.scored is not None:
        scored = read_claims(args.scored)
    if args.outcomes is not None:
        outcomes = read_claims(args.outcomes)
        if S.DENIAL_PROBABILITY in outcomes.columns and scored is None:
            scored, outcomes = outcomes, None
    return scored, outcomes


def _print_result(drift, realized, advice) -> None:
    """Drift counts and the largest shifts, realized performance, the advice."""
    from ptdenial.monitoring import retraining_verdict

    counts = drift["status"].value_counts().to_dict()
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
    print(f"  recommendation: {retraining_verdict(advice)}")
    for r in advice.reasons:
        print(f"    [{r.severity}] {r.trigger}: {r.detail}")


def _write_outputs(out: Path, drift, realized, advice, subtitle: str) -> None:
    """drift.csv, recommendation.json, realized tables and monitor.html."""
    from ptdenial.io import atomic_path, write_json, write_table
    from ptdenial.reports import monitoring_report

    write_table(drift, out / "drift.csv")
    write_json(advice.to_dict(), out / "recommendation.json")
    if realized is not None:
        write_json(realized.summary, out / "realized_summary.json")
        write_table(realized.by_month, out / "realized_by_month.csv")
        write_table(realized.calibration, out / "calibration.csv")
    page = monitoring_report(drift, advice, realized, subtitle=subtitle)
    with atomic_path(out / "monitor.html") as tmp:
        tmp.write_text(page, encoding="utf-8")
    print(f"outputs written to {out}")
