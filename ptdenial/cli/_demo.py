"""``ptdenial demo``: the main job end to end on the sample."""

from __future__ import annotations

from pathlib import Path

from ptdenial.cli._common import EXIT_QUARANTINED
from ptdenial.cli._score import _print_score_run, _score_report, fix_value_summary


def add(sub):
    p = sub.add_parser(
        "demo",
        help="the main job end to end on the sample: train, score, worklist, "
        "report, KX/TMR plan, denial work queue",
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
    p.set_defaults(func=run)


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


def _fix_value(out: Path, score_run) -> None:
    """Step 4: what the worklist's claim-edit fixes are worth (re-scored in step 2)."""
    print("4/6 what the worklist's fixes are worth (re-scored in step 2, same as-of):")
    print(f"    {fix_value_summary(score_run.worklist)} -> {out / 'worklist.html'}")


def _fix_and_recover(out: Path, history, new, as_of: str) -> None:
    """Steps 5 and 6: the KX/TMR plan and the denial work queue of the sample."""
    import pandas as pd

    from ptdenial.cli._denials import queue_notes
    from ptdenial.cli._plan_kx import PLAN_NOTES
    from ptdenial.io import read_claims
    from ptdenial.recovery import denial_queue, plan_kx, write_recovery
    from ptdenial.rules import apply_rules
    from ptdenial.schema import validate_claims

    print(f"5/6 KX / targeted-review plan of Medicare patients as of {as_of} ...")
    tonight, _ = validate_claims(read_claims(new), source=str(new), run_date=as_of)
    plan = plan_kx(pd.concat([history, tonight], ignore_index=True), as_of=as_of)
    n_kx = int(plan["kx_visit_number"].notna().sum())
    summary = f"{len(plan)} patient buckets; {n_kx} reach KX in their certified visits"
    paths = write_recovery(
        plan,
        out / "kx_plan.csv",
        title="KX / TMR plan",
        summary=summary,
        notes=PLAN_NOTES,
    )
    print(f"    {summary} -> {paths[0]}")
    print(f"6/6 denial work queue of {len(history):,} history lines ...")
    hits = apply_rules(history, as_of=as_of).hits
    queue = denial_queue(history, as_of=as_of, hits=hits)
    summary = (
        f"{len(queue):,} denied lines; expected recovery "
        f"${queue['expected_recovery'].sum():,.2f}"
    )
    paths = write_recovery(
        queue,
        out / "denials.csv",
        title="Denial work queue",
        summary=summary,
        notes=queue_notes(),
        html_rows=queue["expected_recovery"] > 0,
    )
    print(f"    {summary} -> {paths[0]}")
    by_action = queue.groupby("action")["expected_recovery"].agg(["size", "sum"])
    print(
        by_action.rename(columns={"size": "lines", "sum": "expected_recovery"})
        .round(2)
        .to_string()
    )


def run(args) -> int:
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
    print(f"1/6 training on {history} (claims up to {as_of}) ...")
    valid, quar = validate_claims(
        read_claims(history), source=str(history), run_date=as_of
    )
    _print_history_summary(valid)
    model = DenialRiskModel(n_estimators=args.n_estimators).fit(valid)
    model_path = save_model(model, out / "model.skops")
    model = load_model(model_path)
    print(f"    model {model.model_id} -> {model_path}")
    print(f"2/6 scoring {new} as of {as_of} ...")
    config = ScoringConfig.from_sources({})
    score_run = score_file(
        model,
        new,
        out / "scored.parquet",
        worklist=out / "worklist.csv",
        config=config,
        as_of=as_of,
        model_path=model_path,
    )
    print("3/6 writing the report ...")
    report_path = _score_report(score_run, model, out / "report", config)
    _print_score_run(score_run, report_path)
    _fix_value(out, score_run)
    _fix_and_recover(out, valid, new, as_of)
    print(
        f"\nOpen {out / 'worklist.html'} (the billing team's worklist) and "
        f"{report_path} (the run report)."
    )
    return EXIT_QUARANTINED if len(quar) else score_run.exit_code
