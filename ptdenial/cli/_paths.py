"""Checks of every command's arguments before any work: dates and paths.

A command refuses (exit 2, one message naming the option and the fix):

* a date option (``--as-of``, ``--scored-at``) that is empty or not a date;
* an output file that names an existing folder, or whose folder is a
  regular file (``--out x.csv/y.parquet``);
* an output folder (``--report``, ``monitor --out``) that is a file;
* two outputs on one path (``--quarantine`` = ``--out``, a worklist on the
  scored table, a manifest, card or worklist page on another output);
* an output on one of the inputs, or inside a claims folder (the next run
  would read it back as claims);
* ``--model`` (or another input file) naming a folder.

The checks read only the options a command has, so a new command or option
is covered by naming it in :data:`_INPUTS`, :data:`_FILE_OUTPUTS` or
:data:`_DIR_OUTPUTS`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ptdenial.exceptions import PtdenialError

__all__ = ["check_args", "ArgumentError", "user_path"]

# Options holding inputs (a path or a list of paths).
_INPUTS = (
    "claims",
    "model",
    "claims_837",
    "remits_835",
    "docs",
    "mapping",
    "key_file",
    "config",
    "outcomes",
    "scored",
    "reference",
    "sample",
    "history",
    "remits",
)
# Inputs whose folders are read as claims tables: an output inside one would
# be read back as claims next time (X12 folders skip files that are not X12).
_TABLE_INPUTS = ("claims", "history", "outcomes", "scored")
# Inputs that must be files (never folders).
_FILE_INPUTS = ("model", "mapping", "key_file", "config", "docs")
# Per command (``reference`` per action), which options are output files and
# which output folders (not listed: ``out``, ``quarantine`` and ``worklist``
# are files).
_FILE_OUTPUTS = {
    "validate": ("quarantine",),
    "monitor": ("quarantine",),
    "demo": (),
    "sample": (),
    "reference import-ncci": (),
    "reference import-mue": (),
}
_DIR_OUTPUTS = {
    "reference import-ncci": ("out",),
    "reference import-mue": ("out",),
    "monitor": ("out",),
    "demo": ("out",),
    "sample": ("out",),
    "score": ("report",),
}
_DEFAULT_FILE_OUTPUTS = ("out", "quarantine", "worklist")
_DATES = (("as_of", "--as-of"), ("scored_at", "--scored-at"))


class ArgumentError(PtdenialError, ValueError):
    """A bad argument; the message names the option and the fix."""


def user_path(filename) -> str:
    """The path a user gave for an internal temporary name.

    ``.scored.parquet.k2j3.tmp`` (an atomic write) becomes ``scored.parquet``
    and a ``.ptdenial-*`` work folder its parent folder, so messages name
    what the user asked for.

    Examples
    --------
    >>> user_path("out/.scored.parquet.a1b2c3.tmp")
    'out/scored.parquet'
    >>> user_path("out/.ptdenial-score-x1/in-0.arrow")
    'out'
    """
    if filename is None:
        return "<unknown path>"
    p = Path(os.fsdecode(filename))
    for i, part in enumerate(p.parts):
        if part.startswith(".ptdenial-"):
            return str(Path(*p.parts[:i])) if i else "."
    name = p.name
    if name.startswith(".") and name.endswith(".tmp"):
        core = name[1:-4]
        head, dot, _rand = core.rpartition(".")
        return str(p.with_name(head if dot else core))
    return str(p)


def _option(name: str) -> str:
    return "CLAIMS" if name == "claims" else "--" + name.replace("_", "-")


def _paths(value) -> list[Path]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [Path(v) for v in value if v is not None]
    return [Path(value)]


def _same(a: Path, b: Path) -> bool:
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def _inside(child: Path, folder: Path) -> bool:
    c, f = Path(os.path.abspath(child)), Path(os.path.abspath(folder))
    return f in c.parents


def _stem(path: Path, suffixes=(".csv.gz", ".csv", ".parquet", ".pq")) -> str:
    name = path.name
    for s in suffixes:
        if name.lower().endswith(s):
            return name[: -len(s)]
    return path.stem


def _check_dates(args) -> None:
    import pandas as pd

    for name, option in _DATES:
        value = getattr(args, name, None)
        if value is None:
            continue
        try:
            ok = bool(str(value).strip()) and not pd.isna(pd.Timestamp(value))
        except (TypeError, ValueError, OverflowError):
            ok = False
        if not ok:
            raise ArgumentError(
                f"{option} {value!r} is not a date; use YYYY-MM-DD (e.g. 2026-01-01)."
            )


def _ancestor_file(path: Path) -> Path | None:
    for parent in Path(os.path.abspath(path)).parents:
        if parent.exists():
            return parent if not parent.is_dir() else None
    return None


def _check_output_file(option: str, path: Path) -> None:
    if path.is_dir():
        raise ArgumentError(
            f"{option} {path}: is a folder; give a file name (e.g. {path}/out.parquet)."
        )
    bad = _ancestor_file(path)
    if bad is not None:
        raise ArgumentError(
            f"{option} {path}: {bad} is a file, not a folder; choose another path."
        )


def _check_output_dir(option: str, path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise ArgumentError(
            f"{option} {path}: is a file; give a folder (it is created if needed)."
        )
    bad = _ancestor_file(path)
    if bad is not None:
        raise ArgumentError(
            f"{option} {path}: {bad} is a file, not a folder; choose another path."
        )


def _derived(command: str, option: str, path: Path, args) -> list[tuple[str, Path]]:
    """Files a command writes beside an output (manifest, card, worklist page)."""
    out = []
    spark = getattr(args, "engine", "local") == "spark"
    if option == "out" and command in ("score", "ingest"):
        out.append(
            ("the --out manifest", path.with_name(f"{_stem(path)}.manifest.json"))
        )
    if option == "out" and command == "train":
        out.append(("the --out card", path.with_name(path.name + ".card.json")))
    if option == "worklist" and not spark:
        if path.suffix.lower() == ".html":
            out.append(("the --worklist CSV", path.with_suffix(".csv")))
        else:
            out.append(("the --worklist page", path.with_suffix(".html")))
    return out


def _outputs(command: str, args) -> list[tuple[str, Path]]:
    files = _FILE_OUTPUTS.get(command, _DEFAULT_FILE_OUTPUTS)
    dirs = _DIR_OUTPUTS.get(command, ())
    spark = getattr(args, "engine", "local") == "spark"
    outputs = []
    for name in files:
        for path in _paths(getattr(args, name, None)):
            as_dir = spark and name in ("out", "quarantine")
            if as_dir:
                _check_output_dir(_option(name), path)
            else:
                _check_output_file(_option(name), path)
            outputs.append((_option(name), path))
            outputs.extend(_derived(command, name, path, args))
    for name in dirs:
        for path in _paths(getattr(args, name, None)):
            _check_output_dir(_option(name), path)
            outputs.append((_option(name), path))
    return outputs


def check_args(args) -> None:
    """Refuse bad dates and unsafe paths before a command starts.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments (``args.command`` names the command).

    Raises
    ------
    ArgumentError
        Naming the option and the fix.
    """
    _check_dates(args)
    command = getattr(args, "command", "")
    if getattr(args, "reference_command", None):  # its actions differ in --out
        command = f"{command} {args.reference_command}"
    inputs = [(name, p) for name in _INPUTS for p in _paths(getattr(args, name, None))]
    for name in _FILE_INPUTS:
        for p in _paths(getattr(args, name, None)):
            if p.is_dir():
                raise ArgumentError(
                    f"{_option(name)} {p}: is a folder; give the file itself"
                    + (" (e.g. model.skops)." if name == "model" else ".")
                )
    outputs = _outputs(command, args)
    for i, (opt, path) in enumerate(outputs):
        for opt2, path2 in outputs[:i]:
            if _same(path, path2):
                raise ArgumentError(
                    f"{opt} {path} is also {opt2}: one would overwrite the other; "
                    "give them different paths."
                )
        for name, path2 in inputs:
            opt2 = _option(name)
            if _same(path, path2):
                raise ArgumentError(
                    f"{opt} {path} is the input {opt2}: writing it would destroy "
                    "the input; give another output path."
                )
            if name in _TABLE_INPUTS and path2.is_dir() and _inside(path, path2):
                raise ArgumentError(
                    f"{opt} {path} is inside the input folder {opt2} {path2}: the "
                    "next run would read it back as input; write it elsewhere."
                )
