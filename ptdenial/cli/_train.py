"""``ptdenial train``: fit on adjudicated history, print hold-out metrics."""

from __future__ import annotations

from pathlib import Path

from ptdenial.cli._common import EXIT_OK, EXIT_QUARANTINED, _print_metrics, _read_valid


def add(sub):
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
        "--linear-base",
        dest="linear_base",
        action="store_true",
        help="boost LightGBM's trees from a one-hot logistic regression's "
        "log-odds (default: trees alone, which held up better when scoring "
        "for months without retraining)",
    )
    p.add_argument(  # the default since the base became opt-in; still accepted
        "--no-linear-base", dest="linear_base", action="store_false", help="trees alone"
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
    p.add_argument(
        "--engine",
        default="pandas",
        choices=["pandas", "spark"],
        help="spark: a history larger than memory (history snapshot and features "
        "on Spark, the learner on a bounded sample of patients; docs/spark.md)",
    )
    p.add_argument(
        "--max-lines",
        dest="max_lines",
        type=int,
        default=None,
        help="with --engine spark: most lines given to the learner "
        "(default 2000000; patients drawn at random, all their lines kept)",
    )
    p.add_argument(
        "--spark-conf",
        dest="spark_conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="with --engine spark: a Spark setting for a new session (repeatable)",
    )
    p.add_argument(
        "--memory-limit",
        dest="memory_limit",
        help="refuse (exit 4) a history whose estimated training memory is above "
        "this size, e.g. 16GiB (default: the memory available now); with "
        "--engine spark it bounds the driver's sample",
    )
    p.add_argument(
        "--no-memory-check",
        dest="memory_check",
        action="store_false",
        help="train even when the estimate is above the limit",
    )
    p.set_defaults(func=run)


def _count_rows(path) -> int:
    """Rows of a claims file or folder without loading it (Parquet metadata,
    CSV newlines)."""
    import pyarrow.parquet as pq

    from ptdenial.io import claim_files, table_format

    rows = 0
    for f in claim_files(path):
        if table_format(f) == "csv":
            import gzip

            opener = gzip.open if str(f).endswith(".gz") else open
            newlines = 0
            with opener(f, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    newlines += chunk.count(b"\n")
            rows += max(0, newlines - 1)  # the header (an estimate: quoted
            # newlines count too, which only errs on the safe side)
        else:
            rows += pq.ParquetFile(f).metadata.num_rows
    return rows


def _run_spark(args, params) -> int:
    from ptdenial.model import save_model
    from ptdenial.spark import train_spark
    from ptdenial.spark._train import DEFAULT_MAX_LINES

    conf = dict(kv.split("=", 1) for kv in args.spark_conf)
    params = {k: v for k, v in params.items() if k != "reference"}
    result = train_spark(
        str(args.claims),
        params=params,
        max_lines=args.max_lines or DEFAULT_MAX_LINES,
        seed=args.seed,
        as_of=args.as_of,
        reference_path=args.reference,
        conf=conf,
        memory_limit=args.memory_limit if args.memory_check else False,
    )
    info = result.info
    print(
        f"history: {info['history_lines']} valid lines of {info['history_rows']} "
        f"rows; learner: {info['sampled_lines']} lines "
        f"(patients drawn with probability {info['fraction']:.4g}, "
        f"--max-lines {info['max_lines']})"
    )
    metrics = result.model.card_.get("calibration_slice_metrics") or {}
    if metrics:
        shown = ", ".join(
            f"{k} {v:.4f}"
            for k, v in metrics.items()
            if k in ("n", "roc_auc", "ece", "brier") and v is not None
        )
        print(f"calibration slice (newest months, before the refit): {shown}")
    save_model(result.model, args.out)
    print(
        f"model {result.model.model_id} written to {args.out} "
        f"(card: {args.out.name}.card.json)"
    )
    return EXIT_OK


def run(args) -> int:
    from ptdenial.model import DenialRiskModel, save_model, train_and_evaluate
    from ptdenial.reference import load_reference

    params = {
        "learner": args.learner,
        "calibration": args.calibration,
        "linear_base": "auto" if args.linear_base else False,
        "random_state": args.seed,
    }
    if args.engine == "spark":
        return _run_spark(args, params)
    if args.memory_check:
        from ptdenial.model import check_training_memory

        check_training_memory(
            _count_rows(args.claims), limit=args.memory_limit, source=str(args.claims)
        )
    valid, n_bad = _read_valid(
        args.claims, as_of=args.as_of, quarantine=args.quarantine
    )
    params["reference"] = load_reference(args.reference) if args.reference else None
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
