"""The job's scratch space: private, removed however the run ends, stale ones swept.

The streaming job spills raw rows (patient ids included) to a folder beside
the output, and writes its outputs under temporary names before renaming
them into place. So that no copy outlives the run:

* the scratch folder is created ``0700`` and its files ``0600``
  (:func:`private_file`); output files are written ``0600`` and get their
  final mode only when complete (:func:`ptdenial.io.atomic_path`, with this
  run's :func:`temp_tag` in their temporary names);
* the folder and any temporary output are removed when the run ends,
  normally, by an error, by Ctrl-C (SIGINT) or by SIGTERM/SIGHUP
  (:func:`signals_end_run` turns those into an orderly exit);
* a run killed outright (SIGKILL, power loss) leaves them behind: their
  names carry the host, process id and process start time of the run that
  made them, and the next run in the same folder (:func:`sweep`) removes
  those whose process is gone (not running, or its pid now belongs to
  another process), and only those: never another user's, another host's,
  or a live run's.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
from pathlib import Path

logger = logging.getLogger("ptdenial.scoring")

SCRATCH_PREFIX = ".ptdenial-score-"
_TAG = re.compile(r"^(?P<host>[A-Za-z0-9_]+)-(?P<pid>\d+)-(?P<start>\d+)-")
_TMP = re.compile(r"^\..+\.ptdenial-(?P<tag>[A-Za-z0-9_]+-\d+-\d+-)[A-Za-z0-9_]+\.tmp$")


def _start_ticks(pid: int) -> int | None:
    """The process's start time (clock ticks since boot; Linux), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces: count from its closing ")"
    return int(stat.rsplit(")", 1)[1].split()[19])


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9]", "_", socket.gethostname())[:40] or "host"


def owner_tag() -> str:
    """``<host>-<pid>-<start>-``: who made a scratch folder or a temporary file."""
    pid = os.getpid()
    return f"{_host()}-{pid}-{_start_ticks(pid) or 0}-"


def _running(pid: int, start: int) -> bool:
    """Whether the process that made a tag may still run (when unsure: yes)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    now = _start_ticks(pid)
    return now is None or start == 0 or now == start


def _stale(tag: str) -> bool:
    m = _TAG.match(tag)
    if m is None or m["host"] != _host():
        return False
    return not _running(int(m["pid"]), int(m["start"]))


def sweep(folder: Path) -> list[Path]:
    """Remove scratch folders and temporary outputs of dead runs in ``folder``.

    Only entries this user owns whose name carries a tag of this host, and
    whose process is gone. Returns what was removed.
    """
    removed = []
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    uid = os.getuid() if hasattr(os, "getuid") else None
    for entry in entries:
        name = entry.name
        if name.startswith(SCRATCH_PREFIX):
            tag = name[len(SCRATCH_PREFIX) :]
        elif (m := _TMP.match(name)) is not None:
            tag = m["tag"]
        else:
            continue
        try:
            st = entry.lstat()
        except OSError:
            continue
        if (uid is not None and st.st_uid != uid) or not _stale(tag):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
        removed.append(entry)
    if removed:
        logger.info("removed %d leftover(s) of killed runs in %s", len(removed), folder)
    return removed


@contextlib.contextmanager
def scratch(folder: Path):
    """A private (``0700``) folder beside the output, removed however the run ends."""
    folder.mkdir(parents=True, exist_ok=True)
    sweep(folder)
    workdir = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX + owner_tag(), dir=folder))
    os.chmod(workdir, 0o700)
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def private_file(path: Path) -> Path:
    """Create (or empty) ``path`` readable by this user only (``0600``)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    return path


def temp_tag() -> str:
    """``ptdenial-<host>-<pid>-<start>-``: the tag of this run's temporary outputs.

    Passed to :func:`ptdenial.io.atomic_path`, so :func:`sweep` can tell a
    killed run's ``.<name>.ptdenial-<tag>....tmp`` from anyone else's file.
    """
    return "ptdenial-" + owner_tag()


class RunStopped(SystemExit):
    """The run was stopped by a signal (the exit status is 128 + its number)."""


@contextlib.contextmanager
def signals_end_run():
    """Within the block, SIGTERM and SIGHUP end the run as an exception would.

    So scratch files and temporary outputs are removed (SIGINT already
    raises ``KeyboardInterrupt``). Only in the main thread, where Python
    delivers signals; elsewhere the block runs unchanged.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise RunStopped(128 + signum)

    names = [n for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]
    before = {}
    for name in names:
        sig = getattr(signal, name)
        before[sig] = signal.signal(sig, stop)
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
