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
import tempfile
import threading
from pathlib import Path

from ptdenial._owner import owner_tag, remove_stale

logger = logging.getLogger("ptdenial.scoring")

SCRATCH_PREFIX = ".ptdenial-score-"
_TMP = re.compile(r"^\..+\.ptdenial-(?P<tag>[A-Za-z0-9_]+-\d+-\d+-)[A-Za-z0-9_]+\.tmp$")


def _tag_of(name: str) -> str | None:
    if name.startswith(SCRATCH_PREFIX):
        return name[len(SCRATCH_PREFIX) :]
    m = _TMP.match(name)
    return None if m is None else m["tag"]


def sweep(folder: Path) -> list[Path]:
    """Remove scratch folders and temporary outputs of dead runs in ``folder``.

    Only entries this user owns whose name carries a tag of this host, and
    whose process is gone (:func:`ptdenial._owner.is_stale`). Returns what
    was removed.
    """
    removed = remove_stale(folder, _tag_of)
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
