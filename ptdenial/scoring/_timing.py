"""One stage timer for the batch function and the job (the manifest's ``timings_s``)."""

from __future__ import annotations

import contextlib
import time


class StageTimer:
    """Seconds per named stage, summed over repeats, in first-seen order.

    The batch function and the job record every stage through one timer, so
    the manifest's ``timings_s`` keys are the stage names and a stage timed
    in every batch sums over the batches.

    Attributes
    ----------
    seconds : dict
        Stage name -> seconds, in the order the stages first ended.

    Examples
    --------
    >>> from ptdenial.scoring._timing import StageTimer
    >>> timer = StageTimer()
    >>> for _ in range(2):
    ...     with timer.stage("read"):
    ...         pass
    >>> timer.add("write", 0.5)
    >>> list(timer.seconds), timer.seconds["write"]
    (['read', 'write'], 0.5)
    """

    def __init__(self):
        self.seconds: dict = {}
        self._start = time.perf_counter()

    def add(self, name: str, seconds: float) -> None:
        """Add ``seconds`` to stage ``name``."""
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def merge(self, seconds: dict) -> None:
        """Add the stages of another timer (e.g. a batch's ``timings``)."""
        for name, value in seconds.items():
            self.add(name, value)

    @contextlib.contextmanager
    def stage(self, name: str):
        """Time the ``with`` block as stage ``name`` (not recorded if it raises)."""
        start = time.perf_counter()
        yield
        self.add(name, time.perf_counter() - start)

    def elapsed(self) -> float:
        """Seconds since the timer was created (the run's ``total``)."""
        return time.perf_counter() - self._start
