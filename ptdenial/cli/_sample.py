"""``ptdenial sample``: write a synthetic history and a night of claims."""

from __future__ import annotations

from pathlib import Path

from ptdenial.cli._common import EXIT_OK


def add(sub):
    p = sub.add_parser("sample", help="write a synthetic history and a night of claims")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--patients", type=int, default=None, help="number of patients")
    p.add_argument("--seed", type=int, default=None, help="random seed")
    p.set_defaults(func=run)


def run(args) -> int:
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
