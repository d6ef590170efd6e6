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
