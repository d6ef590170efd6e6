"""``ptdenial evaluate``: metrics of a saved model on adjudicated claims."""

from __future__ import annotations

from pathlib import Path

from ptdenial.cli._common import (
    EXIT_OK,
    EXIT_QUARANTINED,
    EXIT_UNUSABLE,
    _err,
    _print_metrics,
    _read_valid,
    add_model_trust,
    load_checked_model,
)


def add(sub):
    p = sub.add_parser(
        "evaluate", help="metrics of a saved model on adjudicated claims"
    )
    p.add_argument("claims", type=Path, help="claims with outcomes")
    p.add_argument("--model", required=True, type=Path, help="model file")
    add_model_trust(p)
    p.add_argument("--out", type=Path, help="write the metrics table (.csv/.parquet)")
    p.add_argument("--as-of", dest="as_of", help="run date for date checks")
    p.add_argument("--quarantine", type=Path, help="write quarantined rows here")
    p.set_defaults(func=run)


def run(args) -> int:
    from ptdenial import schema as S
    from ptdenial.evaluation import metrics_by_group
    from ptdenial.io import write_table
    from ptdenial.model import SCORED_CODE, prepare_history

    model = load_checked_model(args)
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
