"""``ptdenial refresh``: a model file whose history snapshot is the latest outcomes."""

from __future__ import annotations

from pathlib import Path

from ptdenial.cli._common import EXIT_OK, EXIT_QUARANTINED, EXIT_UNUSABLE, _err


def add(sub):
    p = sub.add_parser(
        "refresh",
        help="refresh a model's outcome history (no retraining): write a new "
        "model file with its own card",
    )
    p.add_argument("model", type=Path, help="model file (.skops)")
    p.add_argument(
        "--history",
        required=True,
        type=Path,
        metavar="OUTCOMES",
        help="latest outcomes export (Parquet file/folder or CSV with the "
        "remittance columns), validated; failing rows quarantined",
    )
    p.add_argument("--out", required=True, type=Path, help="new model file (.skops)")
    p.add_argument(
        "--as-of",
        dest="as_of",
        help="run date YYYY-MM-DD for date checks (default today)",
    )
    p.add_argument(
        "--quarantine",
        type=Path,
        help="quarantined rows of OUTCOMES (default when rows fail: "
        "<out>.history-quarantine.parquet)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    import pandas as pd

    from ptdenial.model import load_model, save_model
    from ptdenial.scoring._snapshot import read_history, refresh_snapshot

    if args.out.resolve() == args.model.resolve():
        _err(
            f"--out {args.out} is the model file itself; write the refreshed model "
            "to a new file (the old one stays as it was)."
        )
        return EXIT_UNUSABLE
    as_of = pd.Timestamp(args.as_of) if args.as_of else pd.Timestamp.today()
    model = load_model(args.model)
    quarantine = args.quarantine
    if quarantine is None:
        quarantine = args.out.with_name(args.out.stem + ".history-quarantine.parquet")
    valid, source = read_history(
        args.history, as_of=as_of.normalize(), quarantine=quarantine
    )
    old = model.card_["history_snapshot"]
    new = refresh_snapshot(model, valid)
    new.card_ = dict(
        new.card_,
        refreshed_from={
            "model_id": model.model_id,
            "path": str(args.model),
            "history_snapshot": old,
        },
        history_source={k: v for k, v in source.items() if k != "quarantine"},
    )
    save_model(new, args.out)
    snap = new.card_["history_snapshot"]
    print(
        f"model {new.model_id} written to {args.out} (card: {args.out.name}"
        f".card.json): history snapshot of {snap['adjudicated_lines']:,} "
        f"adjudicated lines, outcomes up to {snap['last_outcome_date']} "
        f"(was {old.get('last_outcome_date')}); trees and calibration of "
        f"{model.model_id} unchanged"
    )
    if snap["adjudicated_lines"] < 0.5 * (old.get("adjudicated_lines") or 0):
        _err(
            f"warning: the new history holds {snap['adjudicated_lines']:,} "
            f"adjudicated lines, the old one {old['adjudicated_lines']:,}: give "
            "the whole history export (at least as long as the training "
            "history), not only the latest remittances, or the long-run rates "
            "rest on less data."
        )
    if source["quarantined"]:
        print(f"  {source['quarantined']} outcome rows quarantined: {quarantine}")
        return EXIT_QUARANTINED
    return EXIT_OK
