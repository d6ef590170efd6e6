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
    p.set_defaults(func=run)


def run(args) -> int:
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
