"""What several commands share: exit codes, messages, reading valid claims."""

from __future__ import annotations

import logging
import sys

EXIT_OK = 0
EXIT_UNUSABLE = 2
EXIT_QUARANTINED = 3
EXIT_TOO_LARGE = 4

logger = logging.getLogger("ptdenial")


def _err(message: str) -> None:
    print(f"ptdenial: {message}", file=sys.stderr)


def add_model_trust(p) -> None:
    """``--trust-unverified-model`` for a command that loads a model."""
    p.add_argument(
        "--trust-unverified-model",
        dest="trust_unverified_model",
        action="store_true",
        help="load a model whose card or integrity record is missing (a model "
        "proven changed is refused all the same); see docs/security.md",
    )


def load_checked_model(args):
    """``load_model(args.model)`` honouring ``--trust-unverified-model``."""
    from ptdenial.model import load_model

    if getattr(args, "trust_unverified_model", False):
        model = load_model(args.model, trust_unverified=True)
    else:
        model = load_model(args.model)
    verified = str(getattr(model, "integrity_", {}).get("verified", ""))
    if "trusted" in verified:
        _err(f"warning: {args.model}: loaded without full verification ({verified}).")
    return model


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
