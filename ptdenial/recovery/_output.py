"""The queue and the plan as files: CSV or Parquet, and self-contained HTML."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from ptdenial.io import atomic_path, write_table
from ptdenial.scoring._worklist import _CSS

__all__ = ["recovery_html", "write_recovery"]

def _cell(column: str, value) -> str:
    if isinstance(value, tuple | list | np.ndarray):
        return html.escape(", ".join(map(str, value)))
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        return html.escape(str(value.date()))
    if column in ("likelihood", "denial_probability", "p_after_fix"):
        return f"{float(value):.0%}"
    if isinstance(value, float) and column not in ("visits_per_week",):
        sign = "-" if value < 0 else ""
        digits = 0 if column == "kx_threshold" else 2
        return f"{sign}${abs(value):,.{digits}f}"
    return html.escape(str(value))


def recovery_html(
    table: pd.DataFrame, *, title: str, summary: str = "", notes=()
) -> str:
    """One self-contained HTML page (no external assets) in the worklist's style.

    Every value is HTML-escaped; amounts are formatted as dollars, and
    ``likelihood``, ``denial_probability`` and ``p_after_fix`` as percentages.

    Parameters
    ----------
    table : pandas.DataFrame
        A denial queue or a KX plan.
    title : str
    summary : str
        One line under the title.
    notes : sequence of str
        Further lines (sources, caveats).

    Returns
    -------
    str

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.recovery import recovery_html
    >>> page = recovery_html(pd.DataFrame({"claim_id": ["<C1>"]}), title="q")
    >>> "&lt;C1&gt;" in page, "http" in page
    (True, False)
    """
    esc = html.escape
    heads = "".join(f"<th>{esc(str(c).replace('_', ' '))}</th>" for c in table.columns)
    body = "\n".join(
        "<tr>"
        + "".join(
            f"<td>{_cell(c, v)}</td>" for c, v in zip(table.columns, row, strict=True)
        )
        + "</tr>"
        for row in table.itertuples(index=False)
    )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
            f"<h1>{esc(title)}</h1>",
            f'<p class="meta">{esc(summary)}</p>' if summary else "",
            *(f'<p class="meta">{esc(n)}</p>' for n in notes),
            f"<table><thead><tr>{heads}</tr></thead><tbody>",
            body,
            "</tbody></table></body></html>",
        ]
    )


def write_recovery(
    table: pd.DataFrame, path, *, title: str, summary="", notes=(), html_rows=None
):
    """Write a queue or plan as formula-safe CSV (or Parquet) plus an HTML page.

    Parameters
    ----------
    table : pandas.DataFrame
    path : str or Path
        ``.csv`` (made formula-safe) or ``.parquet``; the HTML page is written
        beside it with the suffix ``.html``.
    title, summary, notes
        Heading, one summary line and further lines of the page.
    html_rows : array-like of bool, optional
        Rows shown on the page (default all); the table file always has
        every row, and the page says how many it leaves to the file.

    Returns
    -------
    tuple of Path
        ``(table_path, html_path)``.
    """
    from pathlib import Path

    path = Path(path)
    write_table(table, path)  # CSV: lists joined, formulas neutralised (io)
    html_path = path.with_name(path.name.split(".")[0] + ".html")
    shown = table if html_rows is None else table[np.asarray(html_rows, bool)]
    notes = list(notes)
    if len(shown) < len(table):
        notes.append(
            f"This page shows {len(shown):,} of {len(table):,} rows; "
            f"{path.name} has them all."
        )
    with atomic_path(html_path) as tmp:
        tmp.write_text(
            recovery_html(shown, title=title, summary=summary, notes=notes),
            encoding="utf-8",
        )
    return path, html_path
