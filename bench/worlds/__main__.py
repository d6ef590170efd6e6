"""Command line: ``python -m bench.worlds --lines N --seed S --typing T --out DIR``.

Writes ``claims.parquet`` (or ``claims.csv``), ``truth.parquet`` and
``world.json`` (parameters, timings, summary) under DIR. With ``--cut DATE``
it also writes ``history.*`` (lines sent by the cut, as exported that day)
and ``new_claims.*`` (lines sent after it, each as it looked on its night),
with ``truth_new.parquet`` for them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

from bench.worlds._export import (
    BOOL_STYLES,
    TYPINGS,
    as_of_night,
    history_as_of,
    write_world,
)
from bench.worlds._generate import make_world
from bench.worlds._summary import summarize


def _policy(text: str):
    parts = text.split(",")
    if len(parts) not in (3, 4):
        raise argparse.ArgumentTypeError(
            f"--policy-change takes PAYER,DATE,LOG_ODDS[,CPT]; got {text!r}"
        )
    return (parts[0], parts[1], float(parts[2]), *parts[3:])


def _edit(text: str):
    parts = text.split(",")
    if len(parts) not in (3, 4):
        raise argparse.ArgumentTypeError(
            f"--payer-edit takes PAYER,CPT,WITH_CPT[,LOG_ODDS]; got {text!r}"
        )
    return (parts[0], parts[1], parts[2], *(float(v) for v in parts[3:]))


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m bench.worlds",
        description="Write an independent synthetic claims world (not "
        "ptdenial.datasets) with its truth.",
    )
    ap.add_argument("--lines", type=int, required=True, help="claim lines")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--typing", choices=TYPINGS, default="warehouse")
    ap.add_argument("--out", type=Path, required=True, help="output folder")
    ap.add_argument("--bool-style", choices=BOOL_STYLES, default=None)
    ap.add_argument("--parts", type=int, default=1, help="Parquet files per table")
    ap.add_argument("--start", default=None, help="first day (YYYY-MM-DD)")
    ap.add_argument("--months", type=int, default=None)
    ap.add_argument("--n-payers", type=int, default=None)
    ap.add_argument("--n-patients", type=int, default=None)
    ap.add_argument(
        "--policy-change",
        type=_policy,
        action="append",
        default=None,
        metavar="PAYER,DATE,LOG_ODDS[,CPT]",
    )
    ap.add_argument(
        "--payer-edit",
        type=_edit,
        action="append",
        default=None,
        metavar="PAYER,CPT,WITH_CPT[,LOG_ODDS]",
    )
    ap.add_argument(
        "--no-late-docs",
        action="store_true",
        help="every document signed before its claim was sent",
    )
    ap.add_argument(
        "--trend",
        type=float,
        default=None,
        help="log-odds of denial added per year (default 0.08)",
    )
    ap.add_argument(
        "--cut",
        default=None,
        help="also write history.* up to this day and new_claims.* after",
    )
    return ap


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    params = {}
    for name in ("start", "months", "n_payers", "n_patients", "trend"):
        value = getattr(args, name)
        if value is not None:
            params[name] = value
    if args.policy_change:
        params["policy_change"] = args.policy_change
    if args.payer_edit:
        params["payer_edit"] = args.payer_edit
    if args.no_late_docs:
        params["late_docs"] = False
    try:
        t0 = time.perf_counter()
        claims, truth = make_world(args.lines, seed=args.seed, **params)
        t_gen = time.perf_counter() - t0
    except (TypeError, ValueError) as exc:
        print(f"bench.worlds: {exc}", file=sys.stderr)
        return 2
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    suffix = ".csv" if args.typing == "csv" else ".parquet"
    parts = args.parts if args.typing != "csv" else 1

    def write(frame, name):
        return write_world(
            frame,
            out / f"{name}{suffix}",
            args.typing,
            bool_style=args.bool_style,
            parts=parts,
        )

    t0 = time.perf_counter()
    files = {"claims": str(write(claims, "claims"))}
    truth.to_parquet(out / "truth.parquet", index=False)
    files["truth"] = str(out / "truth.parquet")
    if args.cut:
        cut = pd.Timestamp(args.cut).normalize()
        files["history"] = str(write(history_as_of(claims, cut), "history"))
        after = (claims["submission_date"] > cut).to_numpy()
        files["new_claims"] = str(write(as_of_night(claims[after]), "new_claims"))
        truth[after].to_parquet(out / "truth_new.parquet", index=False)
        files["truth_new"] = str(out / "truth_new.parquet")
    t_write = time.perf_counter() - t0
    world = claims.attrs.get("world", {})
    meta = {
        "generator": "bench.worlds (independent of ptdenial.datasets)",
        "seed": args.seed,
        "n_lines": args.lines,
        "typing": args.typing,
        "params": dict(params),
        "export_date": world.get("export_date"),
        "files": files,
        "seconds": {"generate": round(t_gen, 2), "write": round(t_write, 2)},
        "summary": summarize(claims, truth),
        "payers": world.get("payers"),
    }
    (out / "world.json").write_text(json.dumps(meta, indent=2, default=str))
    s = meta["summary"]
    print(
        f"{s['lines']:,} lines, {s['claims']:,} claims, {s['patients']:,} patients; "
        f"denial rate {s['denial_rate']:.3f} (97112 {s['denial_rate_97112']:.3f}), "
        f"truth AUC on 97112 {s['auc_truth_97112']:.3f}; generated in {t_gen:.1f} s; "
        f"written to {out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
