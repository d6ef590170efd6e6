"""Time-based splits of a claims history: what was known when.

Lines are placed by submission date (the date of service where it is empty);
a line's outcome counts only once it was adjudicated. Pending lines are never
in any training or test mask.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from ptdenial import schema as S


class TimeSplit(dict):
    """Boolean masks ``train``, ``calibrate``, ``test`` plus the cut dates.

    A dict with keys ``train``, ``calibrate``, ``test`` (numpy boolean masks)
    and ``train_end``, ``calibrate_end``, ``test_end`` (Timestamps).
    """


def known_at(claims: pd.DataFrame, when) -> np.ndarray:
    """Lines whose outcome was known on ``when``: adjudicated strictly before it.

    Parameters
    ----------
    claims : pandas.DataFrame
        With ``adjudication_date``.
    when : date-like

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.evaluation import known_at
    >>> df = pd.DataFrame({"adjudication_date": pd.to_datetime(
    ...     ["2025-01-01", "2025-03-01", None])})
    >>> known_at(df, "2025-02-01").tolist()
    [True, False, False]
    """
    adj = claims[S.ADJUDICATION_DATE]
    return (adj < pd.Timestamp(when)).fillna(False).to_numpy(dtype=bool)


def time_split(
    claims: pd.DataFrame,
    *,
    test_months: int = 4,
    calibrate_months: int = 3,
    date_column: str = S.SUBMISSION_DATE,
    end=None,
) -> TimeSplit:
    """Split lines by time: train on the oldest, calibrate next, test on the newest.

    Lines are placed by ``date_column`` (submission date by default, falling
    back to the date of service where it is empty). Training lines are only
    those whose outcome was **known** at the training cut (adjudicated before
    it); calibration lines likewise at the calibration cut. Test lines are
    all adjudicated lines submitted in the last ``test_months``. Pending
    lines are never in any mask.

    Parameters
    ----------
    claims : pandas.DataFrame
        Validated claims with outcome columns.
    test_months, calibrate_months : int
    date_column : str
    end : date-like, optional
        End of the test window (default: the latest date in ``date_column``).

    Returns
    -------
    TimeSplit

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.evaluation import time_split
    >>> d = pd.date_range("2024-01-01", "2024-12-31", freq="D")
    >>> df = pd.DataFrame({"submission_date": d, "date_of_service": d,
    ...                    "adjudication_date": d + pd.Timedelta(days=20)})
    >>> s = time_split(df, test_months=2, calibrate_months=2)
    >>> str(s["train_end"].date()), str(s["calibrate_end"].date())
    ('2024-08-31', '2024-10-31')
    >>> int(s["train"].sum()), int(s["calibrate"].sum()), int(s["test"].sum())
    (224, 41, 61)
    """
    when = _line_dates(claims, date_column)
    end = pd.Timestamp(end) if end is not None else when.max()
    test_start = (end.to_period("M") - (test_months - 1)).to_timestamp()
    calib_start = test_start - pd.DateOffset(months=calibrate_months)
    adjudicated = claims[S.ADJUDICATION_DATE].notna().to_numpy()
    w = when.to_numpy()
    train = (w < np.datetime64(calib_start)) & known_at(claims, calib_start)
    calibrate = (
        (w >= np.datetime64(calib_start))
        & (w < np.datetime64(test_start))
        & known_at(claims, test_start)
    )
    test = (w >= np.datetime64(test_start)) & (w <= np.datetime64(end)) & adjudicated
    return TimeSplit(
        train=train,
        calibrate=calibrate,
        test=test,
        train_end=calib_start - pd.Timedelta(days=1),
        calibrate_end=test_start - pd.Timedelta(days=1),
        test_end=end,
    )


def _line_dates(claims: pd.DataFrame, date_column: str) -> pd.Series:
    if date_column in claims:
        when = claims[date_column]
        if S.DATE_OF_SERVICE in claims:
            when = when.fillna(claims[S.DATE_OF_SERVICE])
    else:
        when = claims[S.DATE_OF_SERVICE]
    return pd.to_datetime(when)


def rolling_origin_splits(
    claims: pd.DataFrame,
    *,
    n_splits: int = 3,
    test_months: int = 2,
    date_column: str = S.SUBMISSION_DATE,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Rolling-origin evaluation: successive (train, test) index pairs in time.

    Each fold trains on lines submitted before its origin whose outcome was
    known there, and tests on the adjudicated lines of the next
    ``test_months``. Origins step back from the latest month.

    Parameters
    ----------
    claims : pandas.DataFrame
    n_splits : int
    test_months : int
    date_column : str

    Yields
    ------
    (train_index, test_index) : tuple of numpy.ndarray
        Positions into ``claims``, oldest fold first.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.evaluation import rolling_origin_splits
    >>> d = pd.date_range("2024-01-01", "2024-12-31", freq="D")
    >>> df = pd.DataFrame({"submission_date": d, "date_of_service": d,
    ...                    "adjudication_date": d + pd.Timedelta(days=10)})
    >>> [(len(a), len(b)) for a, b in rolling_origin_splits(df, n_splits=2)]
    [(234, 61), (295, 61)]
    """
    when = _line_dates(claims, date_column)
    w = when.to_numpy()
    last = when.max().to_period("M")
    adjudicated = claims[S.ADJUDICATION_DATE].notna().to_numpy()
    for k in range(n_splits, 0, -1):
        origin = (last - (k * test_months - 1)).to_timestamp()
        stop = origin + pd.DateOffset(months=test_months)
        train = np.flatnonzero((w < np.datetime64(origin)) & known_at(claims, origin))
        test = np.flatnonzero(
            (w >= np.datetime64(origin)) & (w < np.datetime64(stop)) & adjudicated
        )
        yield train, test
