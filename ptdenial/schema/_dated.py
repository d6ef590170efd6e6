"""Dated documentation as it stood when a line was sent (SCHEMA.md).

A history table records each document as it ended up: a plan of care
certified on 10 March sits on a line sent on 2 March. That line went out
without the certification. Each dated documentation field names its date
column in the contract (:attr:`ColumnSpec.dated_by`); for a line's features,
a field whose date is after the line's ``submission_date`` is absent.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial.schema._columns import DATED_FIELDS, SUBMISSION_DATE


def _as_dates(s: pd.Series) -> np.ndarray:
    """A date column as datetime64[ns] (NaT where empty or not a date)."""
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = pd.to_datetime(s, errors="coerce")
    elif getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_localize(None)
    return s.to_numpy(dtype="datetime64[ns]")


def dated_after_submission(claims: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per date column of :data:`DATED_FIELDS`: lines whose date is after sending.

    Only lines with both the date and a ``submission_date`` can be judged;
    a line without either is never marked.

    Parameters
    ----------
    claims : pandas.DataFrame
        Validated claims.

    Returns
    -------
    dict of str -> numpy.ndarray of bool
        Date column -> mask; only date columns present with at least one
        marked line.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.schema import dated_after_submission
    >>> claims = pd.DataFrame({
    ...     "submission_date": pd.to_datetime(["2026-03-02", "2026-03-02"]),
    ...     "poc_certified_date": pd.to_datetime(["2026-03-10", "2026-02-20"]),
    ... })
    >>> dated_after_submission(claims)["poc_certified_date"].tolist()
    [True, False]
    """
    if SUBMISSION_DATE not in claims.columns:
        return {}
    sent = _as_dates(claims[SUBMISSION_DATE])
    out = {}
    for date_col in dict.fromkeys(DATED_FIELDS.values()):
        if date_col not in claims.columns:
            continue
        late = _as_dates(claims[date_col]) > sent  # NaT compares False
        if late.any():
            out[date_col] = late
    return out


def documents_as_sent(claims: pd.DataFrame) -> pd.DataFrame:
    """The claims with every dated documentation field as it was when sent.

    Each field of :data:`DATED_FIELDS` (``poc_certified_date`` and
    ``cert_through_date`` by ``poc_certified_date``;
    ``last_progress_report_date`` and ``visits_since_progress_report`` by
    ``last_progress_report_date``; ``note_signed_date`` by itself) is empty
    on the lines where its date column is after the line's
    ``submission_date``: the line went out without that document. Outcome
    and label columns are never touched. Lines without a ``submission_date``
    (or a frame without the column) keep their values.

    This is what the features of a line see, in training and in scoring
    alike (:class:`ptdenial.features.ClaimFeatureSet`); on new claims the
    fields are normally empty until the document exists, so nothing changes.

    Parameters
    ----------
    claims : pandas.DataFrame
        Validated claims.

    Returns
    -------
    pandas.DataFrame
        ``claims`` itself when no field lies after its line's sending,
        else a shallow copy with the late fields emptied (same index,
        columns and dtypes).

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.schema import documents_as_sent
    >>> claims = pd.DataFrame({
    ...     "submission_date": pd.to_datetime(["2026-03-02", "2026-03-02"]),
    ...     "poc_certified_date": pd.to_datetime(["2026-03-10", "2026-02-20"]),
    ...     "cert_through_date": pd.to_datetime(["2026-05-31", "2026-04-30"]),
    ... })
    >>> documents_as_sent(claims)[["poc_certified_date", "cert_through_date"]]
      poc_certified_date cert_through_date
    0                NaT               NaT
    1         2026-02-20        2026-04-30
    """
    late = dated_after_submission(claims)
    if not late:
        return claims
    out = claims.copy(deep=False)
    for field, date_col in DATED_FIELDS.items():
        if date_col in late and field in out.columns:
            out[field] = out[field].mask(late[date_col])
    return out
