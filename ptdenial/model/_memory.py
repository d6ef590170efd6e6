"""Memory a one-machine training run needs, checked before it starts.

Training memory grows linearly with the history's lines; an estimate from
the measured cost per line lets ``ptdenial train`` refuse a history it
cannot hold with a clear message, instead of being killed out of memory
half-way.
"""

from __future__ import annotations

import os
from pathlib import Path

from ptdenial.exceptions import MemoryLimitError

#: Peak bytes per history line of ``ptdenial train`` (train-and-evaluate, then
#: the refit): 7,461 MiB for 995,456 lines, the 1M-line row of
#: ``bench/results/model-lean.md`` (idle machine, 2026-12-03; 7,236 MiB on
#: 2026-11-28). The plain fit alone peaks far lower (2,278 MiB since the
#: lean-fit changes); the hold-out run, with its baselines, is what ``train``
#: does first.
TRAIN_BYTES_PER_LINE = 7_461 * 2**20 // 995_456

#: Fixed part: the interpreter, libraries and reference tables (about 0.3 GiB).
TRAIN_BASE_BYTES = 320 * 2**20


def _cgroup_limit() -> int | None:
    for path in (
        "/sys/fs/cgroup/memory.max",
        "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    ):
        try:
            text = Path(path).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            return int(text)
    return None


def available_memory() -> int | None:
    """Bytes this process may still use: ``MemAvailable``, or a lower cgroup limit.

    Returns
    -------
    int or None
        None when the platform says nothing (then no check is made).
    """
    avail = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
                break
    except OSError:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = None
    limit = _cgroup_limit()
    if limit is not None:
        avail = limit if avail is None else min(avail, limit)
    return avail


def parse_size(text) -> int:
    """``"16GiB"``, ``"800M"``, ``"2.5G"`` or a number of bytes, as bytes.

    Parameters
    ----------
    text : str or int

    Returns
    -------
    int

    Examples
    --------
    >>> from ptdenial.model import parse_size
    >>> parse_size("2GiB"), parse_size("512M"), parse_size(1000)
    (2147483648, 536870912, 1000)
    """
    if isinstance(text, int | float):
        return int(text)
    s = str(text).strip().upper().removesuffix("B").removesuffix("I")
    units = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
    try:
        if s and s[-1] in units:
            return int(float(s[:-1]) * units[s[-1]])
        return int(float(s))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a size; write it like 16GiB, 800MiB or 2.5G."
        ) from None


def _gib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB"


_ADVICE = (
    "Train with `ptdenial train --engine spark` (history features over every "
    "line, the learner on a bounded sample; see the Spark guide), or train on a "
    "sample of patients or a shorter window of history (e.g. the last 24 "
    "months). --memory-limit sets another limit."
)


def check_training_memory(
    lines: int, *, limit=None, source="the history", advice=None
) -> int:
    """Refuse, before any work, a history too large to train on one machine.

    The estimate is ``lines`` times the measured peak per line
    (:data:`TRAIN_BYTES_PER_LINE`) plus a fixed base. Above ``limit`` it
    raises :class:`ptdenial.exceptions.MemoryLimitError` naming the
    estimate, the limit and the ways out: ``--engine spark``, a sample of
    patients, or a shorter history window.

    Parameters
    ----------
    lines : int
        Rows of the history.
    limit : int or str, optional
        Bytes (or a size like ``"16GiB"``); default the memory available
        now (:func:`available_memory`). No check when unknown.
    source : str
        Named in the message (the file).
    advice : str, optional
        What to do instead (default: the Spark engine, a sample, a shorter
        window).

    Returns
    -------
    int
        The estimate, in bytes.

    Raises
    ------
    MemoryLimitError

    Examples
    --------
    >>> from ptdenial.model import check_training_memory
    >>> round(check_training_memory(100_000, limit="8GiB") / 2**30, 2)  # GiB
    1.04
    """
    need = TRAIN_BASE_BYTES + int(lines) * TRAIN_BYTES_PER_LINE
    what = "the limit given (--memory-limit)"
    if limit is None:
        limit, what = available_memory(), "the memory available now"
    else:
        limit = parse_size(limit)
    if limit is None or need <= limit:
        return need
    fits = max(0, (limit - TRAIN_BASE_BYTES) // TRAIN_BYTES_PER_LINE)
    raise MemoryLimitError(
        f"{source}: {int(lines):,} lines need about {_gib(need)} to train on one "
        f"machine ({TRAIN_BYTES_PER_LINE / 1024:.1f} KiB a line, measured), above "
        f"{what}, {_gib(limit)}, which holds about {fits:,} lines. "
        + (advice or _ADVICE)
    )


def release_free_memory() -> None:
    """Hand the allocator's free memory back to the system (glibc; else nothing).

    Between the steps of a fit, the feature columns and learner inputs of
    the step before are freed, but glibc keeps arrays of a few MiB on its
    heap, where a freed block stays resident: the next step's peak then
    comes on top of the last one's. ``malloc_trim(0)`` returns those free
    pages; live data is untouched, so the fit's results cannot change.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # musl and other libcs have none
        return
    trim(0)
