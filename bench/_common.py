"""Shared helpers for benchmarks: timing, peak memory, markdown tables."""

from __future__ import annotations

import platform
import resource
import sys
import time
from contextlib import contextmanager
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux: KiB units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@contextmanager
def timer(store: dict, key: str):
    start = time.perf_counter()
    yield
    store[key] = time.perf_counter() - start


def markdown_table(rows: list[dict], columns: list[str] | None = None) -> str:
    if not rows:
        return "(no rows)\n"
    columns = columns or list(rows[0])
    out = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c, "")
            if isinstance(v, float):
                v = f"{v:.4f}" if abs(v) < 100 else f"{v:,.1f}"
            elif isinstance(v, int):
                v = f"{v:,}"
            cells.append(str(v))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def machine_note() -> str:
    import os

    return (
        f"python {platform.python_version()}, {os.cpu_count()} cores, "
        f"{platform.machine()}; run {time.strftime('%Y-%m-%d %H:%M')}; "
        f"load average at start {_load()}; argv {' '.join(sys.argv[1:])}"
    )


def _load() -> str:
    import os

    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"
