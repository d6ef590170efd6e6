"""As-of history features: denial rates per key from earlier adjudications."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ptdenial import schema as S
from ptdenial._utils import ClaimsTransformerMixin
from ptdenial.features._columns import _Distinct, _frame, _require

#: How training lines' history features take the nightly job's information lag
#: into account (see :class:`AsOfHistoryEncoder`).
LAG_MODES = ("none", "anchored", "deployment")

#: Name -> key columns of the as-of history rates.
HISTORY_KEYS = {
    "payer_code": (S.PAYER_ID, S.CPT_CODE),
    "payer_provider_code": (S.PAYER_ID, S.RENDERING_PROVIDER_ID, S.CPT_CODE),
    "provider": (S.RENDERING_PROVIDER_ID,),
    "clinic": (S.CLINIC_ID,),
    "patient": (S.PATIENT_ID,),
}


def _value_hashes(cols: _Distinct, col) -> tuple[np.ndarray, np.ndarray]:
    """Line codes into the distinct values of a key column, and their hashes.

    A missing value hashes as "\\x00" and takes the last code. A missing
    column hashes as "" on every line: the first version filled it with
    ``np.full(n, "\\x00", dtype=object)``, which NumPy stores as "", and
    fitted snapshots hold those hashes.
    """
    codes, values = cols.text(col)
    missing = "\x00" if col in cols.X else ""
    values = np.concatenate([values, np.array([missing], dtype=object)])
    hashes = pd.util.hash_array(values, categorize=False)
    return np.where(codes < 0, len(values) - 1, codes), hashes


def _hash_keys(cols: _Distinct, keys) -> np.ndarray:
    """Stable uint64 hash of the key columns per line (raw ids are never stored)."""
    h = None
    for c in keys:
        codes, hashes = _value_hashes(cols, c)
        part = hashes[codes]
        h = part if h is None else h * np.uint64(1_000_003) ^ part
    return h


def _distinct_keys(cols: _Distinct, keys) -> tuple[np.ndarray, np.ndarray]:
    """Line codes into the distinct key hashes, and those hashes."""
    if len(keys) == 1:
        return _value_hashes(cols, keys[0])
    codes, hashes = pd.factorize(_hash_keys(cols, keys))
    return codes, np.asarray(hashes, dtype=np.uint64)


def _reference_dates(X: pd.DataFrame, as_of) -> np.ndarray:
    if S.SUBMISSION_DATE in X:
        ref = X[S.SUBMISSION_DATE].fillna(X[S.DATE_OF_SERVICE])
    else:
        ref = X[S.DATE_OF_SERVICE]
    if as_of is not None:
        ref = ref.where(ref <= pd.Timestamp(as_of), pd.Timestamp(as_of)).fillna(
            pd.Timestamp(as_of)
        )
    return _days_since_epoch(ref)


_DAY_BITS = 21  # days since 1970 fit in 21 bits until the year 7711


def _drawn_lags(days: np.ndarray, max_lag_days: int, seed: int) -> np.ndarray:
    """A staleness in [0, max_lag_days] per reference day, fixed by the day.

    Every line of one day shares it, as every line of one night shares the
    age of the snapshot it is scored with. A hash, not a random stream, so
    a day's staleness does not depend on which other lines are transformed.
    """
    salted = days.astype(np.int64) * np.int64(1_000_003) + np.int64(seed)
    h = pd.util.hash_array(salted, categorize=False)
    return (h % np.uint64(max_lag_days + 1)).astype(np.int64)


def _cumulate(keys, n, d):
    """Distinct sorted ``keys``, and cumulative line and denied counts before each.

    ``ncum[i]`` (``cum[i]``) counts the lines (denied lines) whose key is
    below ``keys[i]``; the last entry counts all of them.
    """
    uniq, inv = np.unique(np.asarray(keys, dtype=np.int64), return_inverse=True)
    lines = np.bincount(inv, weights=np.asarray(n, dtype=float), minlength=len(uniq))
    denied = np.bincount(inv, weights=np.asarray(d, dtype=float), minlength=len(uniq))
    ncum = np.concatenate([[0], np.cumsum(lines.astype(np.int64))])
    return uniq, ncum, np.concatenate([[0.0], np.cumsum(denied)])


def _day_pairs(info: np.ndarray, start: np.ndarray):
    """Line codes into the distinct (cut-off, window start) pairs, and those days."""
    width = np.clip(info - start, 0, (1 << _DAY_BITS) - 1)
    day_codes, pairs = pd.factorize((info << _DAY_BITS) + width, sort=True)
    pairs = np.asarray(pairs, dtype=np.int64)
    days = pairs >> _DAY_BITS
    return day_codes, days, days - (pairs & ((1 << _DAY_BITS) - 1))


def _days_since_epoch(dates: pd.Series) -> np.ndarray:
    days = dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    out = days.astype(np.int64)
    # NaT (no date) sorts first and never counts as "before" anything
    return np.where(np.isnat(days), 0, out)


class AsOfHistoryEncoder(ClaimsTransformerMixin, TransformerMixin, BaseEstimator):
    """As-of denial rates from history, with no look-ahead.

    ``fit`` stores a snapshot of the history's adjudicated lines: a hash of
    each key (raw identifiers are not kept), the adjudication date and the
    outcome. ``transform`` gives each line, for each key, the number of
    history lines **adjudicated strictly before** the line's reference date
    and their denial rate, smoothed toward the global as-of rate, over all
    time (or the last ``count_window_days``) and over the last
    ``window_days``. The reference date is the
    line's ``submission_date`` (date of service when empty), capped at
    ``as_of`` when it is set (the scoring date for new claims).

    A line's own outcome is never used for its own features: it is adjudicated
    on or after its submission. Changing an outcome adjudicated after a line's
    submission never changes that line's features.

    **Information lag.** The nightly job scores with the snapshot it was
    given; weeks later, the outcomes of the last weeks are not in it. ``lag``
    says how training lines see that lag:

    * ``"deployment"``: :meth:`fit_transform` (training) computes each
      line's features with the outcomes known ``s`` days before its
      reference date, ``s`` drawn in ``[0, max_lag_days]`` per day; the
      windows stay anchored at the reference date, so a training line sees
      the thinned recent counts a stale snapshot gives. ``hist_age_days``
      (``s`` in training, the snapshot's age on the night in scoring) is an
      extra feature. :meth:`transform` always uses what the snapshot holds.
    * ``"anchored"``: the recent windows end at the snapshot's last outcome
      date (``last_outcome_date_``) when the reference date is later: a
      stale snapshot gives full but older windows.
    * ``"none"``: neither (the windows end at the reference date).

    Parameters
    ----------
    smoothing : float, default=20.0
        Pseudo-count of the global rate in the smoothed rate.
    window_days : int, default=90
        Length of the recent window.
    keys : dict, optional
        Feature name -> key columns. Defaults to :data:`HISTORY_KEYS`.
    as_of : date-like, optional
        Scoring date; history adjudicated on or after it is ignored.
    lag : {"deployment", "anchored", "none"}, default="deployment"
        How training lines see the nightly job's information lag (above).
    max_lag_days : int, default=180
        Largest staleness drawn with ``lag="deployment"``: the longest gap
        between refreshes the model is trained for.
    random_state : int, default=0
        Salt of the drawn staleness.
    count_window_days : int or None, default=None
        ``None``: ``hist_<key>_n`` and ``hist_<key>_rate`` cover all time.
        For a population key (payer, provider, clinic) that count grows with
        the calendar through the training window and stops at the
        snapshot's level after it, a clock a model can extrapolate. An int
        (365 measured in ``bench/results/model.md``): only the lines
        adjudicated in the last ``count_window_days`` days before the line's
        cut-off (bounded; anchored like the recent window).

    Attributes
    ----------
    snapshot_ : dict
        Per key: hashed keys, adjudication days and cumulative denials.
    n_history_ : int
        Adjudicated lines in the snapshot.
    last_outcome_date_ : str or None
        Newest adjudication date in the snapshot (``YYYY-MM-DD``).

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.features import AsOfHistoryEncoder
    >>> hist = pd.DataFrame({
    ...     "payer_id": ["A"] * 4, "cpt_code": ["97112"] * 4,
    ...     "rendering_provider_id": ["R1"] * 4, "clinic_id": ["K"] * 4,
    ...     "patient_id": ["P1", "P2", "P3", "P4"],
    ...     "date_of_service": pd.to_datetime(["2025-01-01"] * 4),
    ...     "submission_date": pd.to_datetime(["2025-01-02", "2025-01-02",
    ...                                         "2025-03-01", "2025-03-01"]),
    ...     "adjudication_date": pd.to_datetime(["2025-01-20", "2025-01-25",
    ...                                          "2025-03-20", None]),
    ...     "denied": pd.array([True, False, True, pd.NA], dtype="boolean"),
    ... })
    >>> enc = AsOfHistoryEncoder(smoothing=0.0).fit(hist)
    >>> enc.transform(hist)[["hist_payer_code_n", "hist_payer_code_rate"]]
       hist_payer_code_n  hist_payer_code_rate
    0                0.0                   NaN
    1                0.0                   NaN
    2                2.0                   0.5
    3                2.0                   0.5
    """

    _fitted_attribute = "snapshot_"

    def __init__(
        self,
        *,
        smoothing=20.0,
        window_days=90,
        keys=None,
        as_of=None,
        lag="deployment",
        max_lag_days=180,
        random_state=0,
        count_window_days=None,
    ):
        self.smoothing = smoothing
        self.window_days = window_days
        self.keys = keys
        self.as_of = as_of
        self.lag = lag
        self.max_lag_days = max_lag_days
        self.random_state = random_state
        self.count_window_days = count_window_days

    def _keys(self):
        return dict(self.keys) if self.keys is not None else dict(HISTORY_KEYS)

    def fit(self, X, y=None):
        """Store the history snapshot (hashed keys, adjudication dates, outcomes).

        Parameters
        ----------
        X : pandas.DataFrame
            Claims with ``adjudication_date`` and ``denied`` (see
            :func:`ptdenial.schema.derive_outcomes`). Pending lines are ignored.
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        _require(X, [S.ADJUDICATION_DATE, S.DENIED], "AsOfHistoryEncoder")
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = len(X.columns)
        known = X[S.ADJUDICATION_DATE].notna() & X[S.DENIED].notna()
        # the key and outcome columns only: the adjudicated lines of every
        # column were a copy of most of the history
        used = {S.ADJUDICATION_DATE, S.DENIED}
        used.update(c for cols in self._keys().values() for c in cols)
        H = X.loc[known, [c for c in X.columns if c in used]]
        adj = _days_since_epoch(H[S.ADJUDICATION_DATE])
        den = H[S.DENIED].astype(bool).to_numpy(dtype=float)
        ones = np.ones(len(adj), dtype=np.int64)
        distinct = _Distinct(H)
        tables = {
            name: (_hash_keys(distinct, cols), adj, ones, den)
            for name, cols in self._keys().items()
        }
        self._set_snapshot((adj, ones, den), tables)
        return self

    def _validate_params(self) -> None:
        """Clear errors for out-of-range parameters (before any fit)."""
        if not (isinstance(self.smoothing, int | float) and self.smoothing >= 0):
            raise ValueError(
                "The 'smoothing' parameter of AsOfHistoryEncoder must be a float in "
                f"the range [0, inf). Got {self.smoothing!r} instead."
            )
        if not (
            isinstance(self.window_days, int | np.integer) and self.window_days >= 1
        ):
            raise ValueError(
                "The 'window_days' parameter of AsOfHistoryEncoder must be an int in "
                f"the range [1, inf). Got {self.window_days!r} instead."
            )
        if self.lag not in LAG_MODES:
            raise ValueError(
                "The 'lag' parameter of AsOfHistoryEncoder must be one of "
                f"{list(LAG_MODES)}. Got {self.lag!r} instead."
            )
        if not (
            isinstance(self.max_lag_days, int | np.integer) and self.max_lag_days >= 0
        ):
            raise ValueError(
                "The 'max_lag_days' parameter of AsOfHistoryEncoder must be an int "
                f"in the range [0, inf). Got {self.max_lag_days!r} instead."
            )
        cw = self.count_window_days
        if cw is not None and not (isinstance(cw, int | np.integer) and cw >= 1):
            raise ValueError(
                "The 'count_window_days' parameter of AsOfHistoryEncoder must be "
                f"None or an int in the range [1, inf). Got {cw!r} instead."
            )

    def _set_snapshot(self, global_counts, key_counts) -> None:
        """Store the snapshot from counts of adjudicated lines.

        ``global_counts`` is ``(days, lines, denied)``; ``key_counts`` maps
        each key name to ``(key hashes, days, lines, denied)``. A row may
        stand for one line (``fit``) or for all lines of one key and day
        (:func:`ptdenial.spark.history_snapshot`): the stored arrays are the
        same, one entry per distinct (key, day), so the snapshot's size
        follows the distinct keys and dates, not the lines.
        """
        days, n, d = global_counts
        self.global_days_, self.global_ncum_, self.global_cum_ = _cumulate(days, n, d)
        self.snapshot_ = {}
        for name, (h, kdays, kn, kd) in key_counts.items():
            ukeys, rank = np.unique(np.asarray(h, dtype=np.uint64), return_inverse=True)
            combined = (rank.astype(np.int64) << _DAY_BITS) + kdays
            combined, ncum, cum = _cumulate(combined, kn, kd)
            self.snapshot_[name] = {
                "ukeys": ukeys,
                "combined": combined,
                "ncum": ncum,
                "cum": cum,
            }
        adj = np.asarray(days, dtype=np.int64)
        self.n_history_ = int(np.sum(n))
        last = int(adj.max()) if len(adj) else None
        self.last_outcome_date_ = (
            None if last is None else str(np.datetime64(last, "D"))
        )

    def _last_outcome_day(self) -> int | None:
        last = getattr(self, "last_outcome_date_", None)
        if last is None:
            return None
        return int(np.datetime64(last, "D").astype(np.int64))

    @staticmethod
    def _count(snap, keys, day_codes, days, recent):
        """History lines of each line's key adjudicated before its day and window.

        ``keys`` is ``(line codes, distinct key hashes)``; ``days`` and
        ``recent`` are the distinct reference days and window starts, sorted,
        indexed by ``day_codes``. Returns per line the count and denied count
        before the day, then before the window start.

        Lines share few (key, day) pairs, so each pair is searched once, and
        in sorted order (several times faster than one search per line).
        """
        ukeys, combined, cum = snap["ukeys"], snap["combined"], snap["cum"]
        ncum = snap.get("ncum")
        key_codes, qkey = keys
        rank = np.searchsorted(ukeys, qkey)
        present = rank < len(ukeys)
        present[present] = ukeys[rank[present]] == qkey[present]
        # an absent key has the rank of the next present one: keep them apart
        key_order = (rank.astype(np.int64) << 1) + present
        n_days = max(len(days), 1)
        pair_codes, pairs = pd.factorize(
            key_order[key_codes] * n_days + day_codes, sort=True
        )
        pairs = np.asarray(pairs, dtype=np.int64)
        present = (pairs // n_days & 1).astype(bool)
        base = (pairs // n_days >> 1) << _DAY_BITS
        day = pairs % n_days
        lo = np.searchsorted(combined, base, side="left")
        out = []
        for qday in (days, recent):
            pos = np.searchsorted(combined, base + qday[day], side="left")
            pos = np.where(present, pos, lo)
            # snapshots fitted before the counts were compacted: one entry a line
            lines = ncum[pos] - ncum[lo] if ncum is not None else pos - lo
            out += [
                lines.astype(float)[pair_codes],
                (cum[pos] - cum[lo])[pair_codes],
            ]
        return out

    def transform(self, X):
        """As-of counts and smoothed denial rates per key.

        Scoring semantics: each line sees what the snapshot holds before its
        reference date (a stale snapshot gives thinner recent windows, or
        older ones with ``lag="anchored"``).

        Parameters
        ----------
        X : pandas.DataFrame
            Claims (history or new).

        Returns
        -------
        pandas.DataFrame
            ``hist_<key>_n``, ``hist_<key>_rate``, ``hist_<key>_n_recent``,
            ``hist_<key>_rate_recent`` per key, ``hist_global_rate`` and,
            with ``lag="deployment"``, ``hist_age_days``.
        """
        check_is_fitted(self, "snapshot_")
        return self._features(X, drawn=False)

    def fit_transform(self, X, y=None, **fit_params):
        """Fit the snapshot, then the training features of ``X``.

        With ``lag="deployment"`` each line's features use the outcomes
        known a drawn staleness before its reference date (the class
        docstring); otherwise the same as ``fit(X).transform(X)``.

        Parameters
        ----------
        X : pandas.DataFrame
            Claims with outcomes.
        y : ignored

        Returns
        -------
        pandas.DataFrame
        """
        self.fit(X, y)
        return self._features(X, drawn=self.lag == "deployment")

    def _query_days(self, X, drawn: bool):
        """Per line: information cut-off and window start (days), and the age.

        The cut-off is the reference date (outcomes adjudicated strictly
        before it count), less the drawn staleness in training; the window
        starts ``window_days`` before the reference date, or before the
        snapshot's last outcome date + 1 with ``lag="anchored"``.
        """
        ref = _reference_dates(X, self.as_of)
        info = ref.copy()
        last = self._last_outcome_day()
        known = info if last is None else np.minimum(info, last + 1)
        if drawn:
            info = ref - _drawn_lags(ref, int(self.max_lag_days), self.random_state)
            known = np.minimum(known, info)
        anchor = known if self.lag == "anchored" else ref
        start = np.minimum(anchor - np.int64(self.window_days), info)
        long_start = None
        # encoders saved before the parameter existed count all time
        count_window = getattr(self, "count_window_days", None)
        if count_window is not None:
            long_start = np.minimum(anchor - np.int64(count_window), info)
        return info, start, long_start, (ref - known).astype(float)

    def _global_rate(self, days) -> np.ndarray:
        """Denial rate of all history adjudicated strictly before each day."""
        pos = np.searchsorted(self.global_days_, days, side="left")
        ncum = getattr(self, "global_ncum_", None)
        g_n = (ncum[pos] if ncum is not None else pos).astype(float)
        g_d = self.global_cum_[pos]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(g_n > 0, g_d / g_n, np.nan)

    def _features(self, X, *, drawn: bool) -> pd.DataFrame:
        _require(X, [S.DATE_OF_SERVICE], "AsOfHistoryEncoder")
        info, start, long_start, age = self._query_days(X, drawn)
        day_codes, days, recent = _day_pairs(info, start)
        # the last count_window_days, not all time: a bounded count, where
        # the all-time one grows with the calendar (a clock); same days for
        # every key
        long = None if long_start is None else _day_pairs(info, long_start)
        g_rate = self._global_rate(days)[day_codes]
        prior = np.nan_to_num(g_rate, nan=0.0)
        m = float(self.smoothing)
        f = {"hist_global_rate": g_rate}
        if self.lag == "deployment":
            f["hist_age_days"] = age
        distinct = _Distinct(X)
        for name, cols in self._keys().items():
            keys = _distinct_keys(distinct, cols)
            n, d, n_old, d_old = self._count(
                self.snapshot_[name], keys, day_codes, days, recent
            )
            n_r, d_r = n - n_old, d - d_old
            if long is not None:
                n, d, n_before, d_before = self._count(
                    self.snapshot_[name], keys, *long
                )
                n, d = n - n_before, d - d_before
            with np.errstate(invalid="ignore", divide="ignore"):
                rate = (d + m * prior) / (n + m)
                rate_r = (d_r + m * prior) / (n_r + m)
            f[f"hist_{name}_n"] = n
            f[f"hist_{name}_rate"] = np.where(n + m > 0, rate, np.nan)
            f[f"hist_{name}_n_recent"] = n_r
            f[f"hist_{name}_rate_recent"] = np.where(n_r + m > 0, rate_r, np.nan)
        return _frame(f, list(f), X.index)

    def _output_names(self):
        names = ["hist_global_rate"]
        if self.lag == "deployment":
            names.append("hist_age_days")
        for name in self._keys():
            names += [
                f"hist_{name}_n",
                f"hist_{name}_rate",
                f"hist_{name}_n_recent",
                f"hist_{name}_rate_recent",
            ]
        return names
