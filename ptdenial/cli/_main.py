"""The parser (one subcommand per module) and ``main``."""

from __future__ import annotations

import argparse
import logging
import sys
import time

from ptdenial._utils import passive_openmp
from ptdenial.cli import (
    _demo,
    _denials,
    _evaluate,
    _ingest,
    _monitor,
    _plan_kx,
    _reference,
    _refresh,
    _rules,
    _sample,
    _score,
    _train,
    _validate,
)
from ptdenial.cli._common import EXIT_TOO_LARGE, EXIT_UNUSABLE, _err, logger
from ptdenial.cli._paths import check_args, user_path
from ptdenial.exceptions import MemoryLimitError, PtdenialError

# One module per command, in the order of ``ptdenial --help``; each has
# ``add(sub)`` (its subparser, with ``func=run``) and ``run(args) -> int``.
_COMMANDS = [
    _sample,
    _validate,
    _train,
    _evaluate,
    _ingest,
    _rules,
    _reference,
    _monitor,
    _score,
    _refresh,
    _plan_kx,
    _denials,
    _demo,
]


class _ArgumentParser(argparse.ArgumentParser):
    """argparse exits with 2 on bad arguments, which is our contract too."""


def build_parser() -> argparse.ArgumentParser:
    """The ``ptdenial`` argument parser, with every subcommand."""
    parser = _ArgumentParser(
        prog="ptdenial",
        description="Denial-risk analytics for CPT 97112 claim lines.",
        epilog="Exit codes: 0 all processed; 3 some rows quarantined or files "
        "unreadable; 2 nothing processed (bad arguments or unusable input).",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="more log output (-vv for debug)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in _COMMANDS:
        command.add(sub)
    return parser


def main(argv=None) -> int:
    """Run the ``ptdenial`` command line and return its exit code.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``ptdenial``; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0: everything processed; 3: done, but some rows were quarantined;
        2: nothing processed (bad arguments, unusable input, a refused model);
        4: nothing processed, the input is too large for the engine and memory
        limit chosen (``train``: the message names the limit and the
        alternatives).

    Examples
    --------
    >>> from ptdenial.cli import main
    >>> main(["validate", "data/sample/new_claims.csv"])  # doctest: +SKIP
    0
    """
    passive_openmp()  # before any lightgbm import: see ptdenial._utils
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: bad arguments
        return int(exc.code) if exc.code is not None else EXIT_UNUSABLE
    level = logging.WARNING - 10 * min(args.verbose, 2)
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=level,
            format="%(asctime)s %(levelname)s %(message)s",
            stream=sys.stderr,
        )
    start = time.perf_counter()
    try:
        check_args(args)
        code = args.func(args)
    except MemoryLimitError as exc:
        _err(str(exc))
        return EXIT_TOO_LARGE
    except PtdenialError as exc:
        _err(str(exc))
        return EXIT_UNUSABLE
    except FileNotFoundError as exc:
        _err(f"{user_path(exc.filename)}: no such file or folder. Check the path.")
        return EXIT_UNUSABLE
    except PermissionError as exc:
        _err(
            f"{user_path(exc.filename)}: permission denied. Check the folder's "
            "owner and permissions, or choose another path."
        )
        return EXIT_UNUSABLE
    except OSError as exc:  # disk full, read-only file system ...
        where = user_path(exc.filename) if exc.filename else args.command
        _err(f"{where}: {exc.strerror or type(exc).__name__}.")
        return EXIT_UNUSABLE
    logger.info("%s finished in %.2f s", args.command, time.perf_counter() - start)
    return code
