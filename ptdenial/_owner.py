"""Which run made a scratch file, and whether that run is gone.

Scoring and X12 ingest both write private scratch folders (raw rows,
patient ids included) beside their output and remove them however the run
ends. A run killed outright (SIGKILL, power loss) cannot: its leftovers are
named with an *owner tag*, ``<host>-<pid>-<start>-``, so the next run in the
same folder can tell a dead run's leftovers from a live run's, another
host's or another user's, and remove only the first (:func:`remove_stale`).

The start time (``/proc/<pid>/stat``, Linux) tells a process from a later
one that reuses its pid. Where it cannot be read, a tag carries ``0`` and
such a run counts as running while its pid is alive.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

TAG = re.compile(r"^(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)-(?P<start>\d+)-")


def start_ticks(pid: int) -> int | None:
    """A process's start time (clock ticks since boot; Linux), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces: count from its closing ")"
    return int(stat.rsplit(")", 1)[1].split()[19])


def host() -> str:
    """This host's name, reduced to what a tag may hold."""
    return re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())[:40] or "host"


def owner_tag() -> str:
    """``<host>-<pid>-<start>-``: this process, as a scratch name records it.

    >>> TAG.match(owner_tag()) is not None
    True
    """
    pid = os.getpid()
    return f"{host()}-{pid}-{start_ticks(pid) or 0}-"


def is_stale(tag: str) -> bool:
    """Whether the run that wrote ``tag`` is surely gone (when unsure: no).

    Gone means: made on this host, and its pid no longer runs or now belongs
    to a process started at another time.

    >>> is_stale(owner_tag())
    False
    >>> is_stale("another_host-1-1-")
    False
    """
    m = TAG.match(tag)
    if m is None or m["host"] != host() or os.name != "posix":
        return False
    pid, start = int(m["pid"]), int(m["start"])
    try:
        os.kill(pid, 0)  # signal 0 only asks whether the process exists
    except ProcessLookupError:
        return True
    except OSError:  # alive (another user's), or cannot tell
        return False
    now = start_ticks(pid)
    return now is not None and start != 0 and now != start  # pid reused


def remove_stale(folder, tag_of: Callable[[str], str | None]) -> list[Path]:
    """Remove the entries of ``folder`` whose run is gone; return them.

    ``tag_of`` maps an entry's name to its owner tag, or None for a name
    that is not ours. Only entries this user owns are considered; a folder
    is removed with its content, a symlink or file is unlinked (never
    followed).
    """
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    uid = os.getuid() if hasattr(os, "getuid") else None
    for entry in entries:
        tag = tag_of(entry.name)
        if tag is None:
            continue
        try:
            st = entry.lstat()
        except OSError:
            continue
        if (uid is not None and st.st_uid != uid) or not is_stale(tag):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
        removed.append(entry)
    return removed
