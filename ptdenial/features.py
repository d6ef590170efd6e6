"""Model features from the claim-line table, as scikit-learn transformers.

Three transformers, combined by :func:`make_feature_pipeline`:

* :class:`ClaimFeatures`: line, visit, diagnosis, documentation, episode and
  time features, plus categoricals (payer, payer class, credential, place of
  service, clinic, code, primary diagnosis category) as fixed integer codes
  learned at ``fit``;
* :class:`AsOfHistoryEncoder`: **as-of** denial rates of payer x code, payer x
  provider x code, provider, clinic and patient, computed only from lines
  adjudicated *before* each line's reference date (its submission date, or the
  scoring date for new claims), smoothed toward the as-of global rate;
* the rule flags and gaps of :class:`ptdenial.rules.PayerRuleFlagger`.

All three take the validated claims frame (canonical dtypes) and return a
numeric pandas frame (``set_output(transform="pandas")`` is the default
here); missing optional columns become missing features, never errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ptdenial import schema as S
from ptdenial.exceptions import ClaimsSchemaError

__all__ = [
    "ClaimFeatures",
    "AsOfHistoryEncoder",
    "make_feature_pipeline",
    "ClaimFeatureSet",
    "CATEGORICAL_FEATURES",
    "FEATURE_SET_VERSION",
    "HISTORY_KEYS",
]

SCORED_CODE = "97112"
# Interventions that describe neuromuscular re-education (SCHEMA.md vocabulary).
NMR_INTERVENTIONS = frozenset(
    {
        "NEUROMUSCULAR_REEDUCATION",
        "BALANCE_TRAINING",
        "PROPRIOCEPTIVE_TRAINING",
        "POSTURAL_TRAINING",
        "COORDINATION_TRAINING",
    }
)
# Interventions that point to another code (reference s1.2).
OTHER_CODE_INTERVENTIONS = {
    "GAIT_TRAINING": "97116",
    "NMES": "97032",
    "THERAPEUTIC_EXERCISE": "97110",
    "MANUAL_THERAPY": "97140",
    "THERAPEUTIC_ACTIVITIES": "97530",
    "GROUP_THERAPY": "97150",
}
CONTEXT_CODES = ("97110", "97140", "97530", "97116", "97760", "97022", "97032")
EVAL_CODES = frozenset({"97161", "97162", "97163", "97164"})
BYPASS_MODIFIERS = frozenset({"59", "XE", "XP", "XS", "XU"})

#: Version of the feature set. Bump it whenever a feature is added, removed or
#: computed differently: a model file records the version it was trained with,
#: and :func:`ptdenial.model.load_model` refuses a file from another version
#: (its fitted transformers would not match this code).
FEATURE_SET_VERSION = 3

CATEGORICAL_FEATURES = (
    "cat__payer_id",
    "cat__payer_class",
    "cat__provider_credential",
    "cat__place_of_service",
    "cat__clinic_id",
    "cat__rendering_provider_id",
    "cat__cpt_code",
    "cat__dx_category",
)
_CATEGORY_SOURCES = {
    "cat__payer_id": S.PAYER_ID,
    "cat__payer_class": S.PAYER_CLASS,
    "cat__provider_credential": S.PROVIDER_CREDENTIAL,
    "cat__place_of_service": S.PLACE_OF_SERVICE,
    "cat__clinic_id": S.CLINIC_ID,
    "cat__rendering_provider_id": S.RENDERING_PROVIDER_ID,
    "cat__cpt_code": S.CPT_CODE,
    "cat__dx_category": None,  # derived from the primary diagnosis
}

# name -> key columns of the as-of history rates
HISTORY_KEYS = {
    "payer_code": (S.PAYER_ID, S.CPT_CODE),
    "payer_provider_code": (S.PAYER_ID, S.RENDERING_PROVIDER_ID, S.CPT_CODE),
    "provider": (S.RENDERING_PROVIDER_ID,),
    "clinic": (S.CLINIC_ID,),
    "patient": (S.PATIENT_ID,),
}


def _require(X, columns, owner):
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"{owner} expects a pandas DataFrame of claims; got {type(X)}")
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise ClaimsSchemaError(
            f"{owner}: missing columns {missing}; columns present: {list(X.columns)}. "
            "Validate the claims with ptdenial.validate_claims first.",
            missing=missing,
        )


def _list_flags(series: pd.Series, wanted) -> dict[str, np.ndarray]:
    """For tuple-valued series: one boolean array per wanted item (on uniques)."""
    codes, uniques = pd.factorize(series)
    out = {}
    for item in wanted:
        hit_u = np.array([item in u for u in uniques], dtype=bool)
        out[item] = hit_u[codes] if len(uniques) else np.zeros(len(series), bool)
        if len(uniques):
            out[item][codes < 0] = False
    return out


def _list_apply(series: pd.Series, func, dtype=float) -> np.ndarray:
    codes, uniques = pd.factorize(series)
    if not len(uniques):
        return np.zeros(len(series), dtype=dtype)
    vals = np.array([func(u) for u in uniques], dtype=dtype)
    out = vals[np.maximum(codes, 0)]
    return out


def _days(a: pd.Series, b: pd.Series) -> np.ndarray:
    return ((a - b).dt.days).to_numpy(dtype=float, na_value=np.nan)


def _num(X: pd.DataFrame, col: str) -> np.ndarray:
    if col not in X:
        return np.full(len(X), np.nan)
    return pd.to_numeric(X[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _dx_support_table(reference):
    if reference is None:
        from ptdenial.reference import load_reference

        reference = load_reference()
    dx = reference.dx_support
    supported = dx.loc[dx["supports_97112"], "code_prefix"].tolist()
    deficit_needed = dx.loc[
        dx["supports_97112"] & dx.get("requires_documented_deficit", False),
        "code_prefix",
    ].tolist()
    return tuple(supported), tuple(deficit_needed)


class ClaimFeatures(TransformerMixin, BaseEstimator):
    """Line, visit, diagnosis, documentation, episode and time features.

    Parameters
    ----------
    min_category_count : int, default=20
        Categories seen fewer times at ``fit`` share the code of "other".
    reference : ptdenial.reference.Reference, optional
        Reference tables (diagnosis support list). Defaults to the shipped ones.

    Attributes
    ----------
    categories_ : dict of str -> list of str
        The categories kept per categorical feature, in code order.
    feature_names_in_ : ndarray of str
    n_features_in_ : int

    Examples
    --------
    >>> from ptdenial.datasets import load_sample_claims
    >>> from ptdenial.features import ClaimFeatures
    >>> claims = load_sample_claims("history").head(500)
    >>> feats = ClaimFeatures().fit(claims).transform(claims)
    >>> feats.shape[0], "visit_timed_minutes" in feats.columns
    (500, True)
    """

    def __init__(self, *, min_category_count=20, reference=None):
        self.min_category_count = min_category_count
        self.reference = reference

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X, y=None):
        """Learn the category vocabularies.

        Parameters
        ----------
        X : pandas.DataFrame
            Validated claims.
        y : ignored

        Returns
        -------
        self
        """
        if not isinstance(self.min_category_count, int | np.integer) or (
            self.min_category_count < 1
        ):
            raise ValueError(
                "The 'min_category_count' parameter of ClaimFeatures must be an int "
                f"in the range [1, inf). Got {self.min_category_count!r} instead."
            )
        _require(X, S.REQUIRED_COLUMNS, "ClaimFeatures")
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = len(X.columns)
        self.dx_supported_, self.dx_deficit_needed_ = _dx_support_table(self.reference)
        raw = self._category_sources(X)
        self.categories_ = {}
        for name, values in raw.items():
            counts = values.value_counts()
            keep = counts[counts >= self.min_category_count].index
            self.categories_[name] = sorted(str(v) for v in keep)
        self._names = list(self._compute(X.head(1)).columns)
        return self

    def _category_sources(self, X):
        out = {}
        for name, col in _CATEGORY_SOURCES.items():
            if col is None:
                primary = _list_apply(
                    X[S.DIAGNOSIS_CODES], lambda u: u[0][:3] if u else "", dtype=object
                )
                out[name] = pd.Series(primary, index=X.index).replace("", np.nan)
            elif col in X:
                out[name] = X[col].astype("string").astype(object)
            else:
                out[name] = pd.Series(np.nan, index=X.index, dtype=object)
        return out

    def transform(self, X):
        """Compute the features.

        Parameters
        ----------
        X : pandas.DataFrame
            Validated claims.

        Returns
        -------
        pandas.DataFrame
            Numeric features, same index and row count as ``X``.
        """
        check_is_fitted(self, "categories_")
        _require(X, S.REQUIRED_COLUMNS, "ClaimFeatures")
        return self._compute(X).reindex(columns=self._names)

    def _compute(self, X):
        f: dict[str, np.ndarray] = {}
        cpt = X[S.CPT_CODE].astype("string")
        is_target = (cpt == SCORED_CODE).to_numpy(dtype=bool, na_value=False)
        units = _num(X, S.UNITS)
        minutes = _num(X, S.MINUTES)
        f["is_97112"] = is_target.astype(float)
        f["units"] = units
        f["line_minutes"] = minutes
        f["line_minutes_per_unit"] = minutes / np.maximum(units, 1)
        f["charge_per_unit"] = _num(X, S.CHARGE_AMOUNT) / np.maximum(units, 1)

        # --- visit context -------------------------------------------------------
        visit = X.groupby(list(S.VISIT_KEYS), sort=False, observed=True).ngroup()
        vcodes = visit.to_numpy()
        n_visits = vcodes.max() + 1 if len(vcodes) else 0

        def per_visit_sum(values):
            v = np.nan_to_num(values, nan=0.0)
            sums = np.bincount(vcodes, weights=v, minlength=n_visits)
            return sums[vcodes]

        f["visit_lines"] = per_visit_sum(np.ones(len(X)))
        f["visit_units"] = per_visit_sum(units)
        vtm = _num(X, S.VISIT_TIMED_MINUTES)
        f["visit_timed_minutes"] = vtm
        f["visit_minutes_documented"] = per_visit_sum(minutes)
        f["visit_minutes_per_unit"] = vtm / np.maximum(f["visit_units"], 1)
        for code in CONTEXT_CODES:
            mask = (cpt == code).to_numpy(dtype=bool, na_value=False)
            f[f"visit_units_{code}"] = per_visit_sum(np.where(mask, units, 0.0))
        evals = cpt.isin(EVAL_CODES).to_numpy(dtype=bool, na_value=False)
        f["visit_has_evaluation"] = (per_visit_sum(evals.astype(float)) > 0).astype(
            float
        )
        f["visit_units_97112"] = per_visit_sum(np.where(is_target, units, 0.0))

        # --- modifiers -----------------------------------------------------------
        if S.MODIFIERS in X:
            mods = X[S.MODIFIERS]
            flags = _list_flags(mods, ["GP", "KX", "CQ", "GA", "GY", "GZ", "95"])
            for m, arr in flags.items():
                f[f"mod_{m.lower()}"] = arr.astype(float)
            f["mod_bypass"] = _list_apply(
                mods, lambda u: float(bool(BYPASS_MODIFIERS & set(u)))
            )
            f["n_modifiers"] = _list_apply(mods, len)
        else:
            for m in ["gp", "kx", "cq", "ga", "gy", "gz", "95", "bypass"]:
                f[f"mod_{m}"] = np.full(len(X), np.nan)
            f["n_modifiers"] = np.full(len(X), np.nan)

        # --- diagnosis -----------------------------------------------------------
        dx = X[S.DIAGNOSIS_CODES]
        supported, deficit_needed = self.dx_supported_, self.dx_deficit_needed_
        f["dx_count"] = _list_apply(dx, len)
        f["dx_primary_supported"] = _list_apply(
            dx, lambda u: float(bool(u) and u[0].startswith(supported))
        )
        f["dx_any_supported"] = _list_apply(
            dx, lambda u: float(any(c.startswith(supported) for c in u))
        )
        f["dx_primary_needs_deficit"] = _list_apply(
            dx, lambda u: float(bool(u) and u[0].startswith(deficit_needed))
        )
        f["dx_primary_unspecified"] = _list_apply(
            dx, lambda u: float(bool(u) and (u[0].endswith("9") or "." not in u[0]))
        )

        # --- documentation -------------------------------------------------------
        if S.DEFICITS_DOCUMENTED in X:
            deficits = X[S.DEFICITS_DOCUMENTED]
            f["deficit_count"] = _list_apply(deficits, len)
            for d, arr in _list_flags(
                deficits, [d.upper() for d in S.DEFICITS]
            ).items():
                f[f"deficit_{d.lower()}"] = arr.astype(float)
        else:
            f["deficit_count"] = np.full(len(X), np.nan)
        if S.INTERVENTIONS_DOCUMENTED in X:
            inter = X[S.INTERVENTIONS_DOCUMENTED]
            f["interventions_fit_97112"] = _list_apply(
                inter, lambda u: float(bool(NMR_INTERVENTIONS & set(u)))
            )
            for item, arr in _list_flags(inter, list(OTHER_CODE_INTERVENTIONS)).items():
                f[f"intervention_{item.lower()}"] = arr.astype(float)
            f["interventions_count"] = _list_apply(inter, len)
        else:
            f["interventions_fit_97112"] = np.full(len(X), np.nan)
        if S.OBJECTIVE_MEASURES_DOCUMENTED in X:
            f["objective_measures"] = (
                X[S.OBJECTIVE_MEASURES_DOCUMENTED]
                .astype("boolean")
                .astype("Float64")
                .to_numpy(dtype=float, na_value=np.nan)
            )
        dos = X[S.DATE_OF_SERVICE]
        if S.NOTE_SIGNED_DATE in X:
            f["note_signature_lag_days"] = _days(X[S.NOTE_SIGNED_DATE], dos)

        # --- episode / plan of care ---------------------------------------------
        f["visit_number"] = _num(X, S.VISIT_NUMBER)
        if S.EPISODE_START_DATE in X:
            f["days_since_episode_start"] = _days(dos, X[S.EPISODE_START_DATE])
        if S.POC_CERTIFIED_DATE in X:
            f["days_since_certification"] = _days(dos, X[S.POC_CERTIFIED_DATE])
            f["poc_certified"] = X[S.POC_CERTIFIED_DATE].notna().to_numpy(dtype=float)
        if S.CERT_THROUGH_DATE in X:
            f["days_past_cert_through"] = _days(dos, X[S.CERT_THROUGH_DATE])
        f["visits_since_progress_report"] = _num(X, S.VISITS_SINCE_PROGRESS_REPORT)
        if S.LAST_PROGRESS_REPORT_DATE in X:
            f["days_since_progress_report"] = _days(dos, X[S.LAST_PROGRESS_REPORT_DATE])
        approved = _num(X, S.AUTH_VISITS_APPROVED)
        used = _num(X, S.AUTH_VISITS_USED)
        f["auth_visits_remaining"] = approved - used
        if S.PRIOR_AUTH_NUMBER in X:
            f["has_prior_auth"] = X[S.PRIOR_AUTH_NUMBER].notna().to_numpy(dtype=float)
        if S.REFERRING_PROVIDER_ID in X:
            f["has_referring_provider"] = (
                X[S.REFERRING_PROVIDER_ID].notna().to_numpy(dtype=float)
            )
        f["ytd_therapy_allowed"] = _num(X, S.YTD_THERAPY_ALLOWED)
        if S.SUBMISSION_DATE in X:
            f["submission_lag_days"] = _days(X[S.SUBMISSION_DATE], dos)

        # --- time ---------------------------------------------------------------
        f["month_index"] = ((dos.dt.year - 2000) * 12 + dos.dt.month - 1).to_numpy(
            dtype=float, na_value=np.nan
        )
        f["day_of_week"] = dos.dt.day_of_week.to_numpy(dtype=float, na_value=np.nan)

        # --- categoricals as fixed integer codes ---------------------------------
        raw = self._category_sources(X)
        for name in CATEGORICAL_FEATURES:
            cats = self.categories_[name]
            values = raw[name].astype(object)
            codes = pd.Index(cats, dtype=object).get_indexer(values).astype(float)
            known = values.notna().to_numpy()
            # -1: unseen or rare -> "other" code len(cats); missing -> NaN
            codes = np.where(codes < 0, np.where(known, len(cats), np.nan), codes)
            f[name] = codes

        return pd.DataFrame(f, index=X.index)

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        numpy.ndarray of str
        """
        check_is_fitted(self, "categories_")
        return np.asarray(self._names, dtype=object)


def _hash_keys(X: pd.DataFrame, cols) -> np.ndarray:
    """Stable uint64 hash of the key columns (raw ids are never stored)."""
    parts = []
    for c in cols:
        if c in X:
            parts.append(X[c].astype("string").fillna("\x00").astype(object).to_numpy())
        else:
            parts.append(np.full(len(X), "\x00", dtype=object))
    h = pd.util.hash_array(parts[0], categorize=True)
    for p in parts[1:]:
        h = h * np.uint64(1_000_003) ^ pd.util.hash_array(p, categorize=True)
    return h


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


def _days_since_epoch(dates: pd.Series) -> np.ndarray:
    days = dates.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    out = days.astype(np.int64)
    # NaT (no date) sorts first and never counts as "before" anything
    return np.where(np.isnat(days), 0, out)


class AsOfHistoryEncoder(TransformerMixin, BaseEstimator):
    """As-of denial rates from history, with no look-ahead.

    ``fit`` stores a snapshot of the history's adjudicated lines: a hash of
    each key (raw identifiers are not kept), the adjudication date and the
    outcome. ``transform`` gives each line, for each key, the number of
    history lines **adjudicated strictly before** the line's reference date
    and their denial rate, smoothed toward the global as-of rate, over all
    time and over the last ``window_days``. The reference date is the
    line's ``submission_date`` (date of service when empty), capped at
    ``as_of`` when it is set (the scoring date for new claims).

    A line's own outcome is never used for its own features: it is adjudicated
    on or after its submission. Changing an outcome adjudicated after a line's
    submission never changes that line's features.

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

    def __init__(self, *, smoothing=20.0, window_days=90, keys=None, as_of=None):
        self.smoothing = smoothing
        self.window_days = window_days
        self.keys = keys
        self.as_of = as_of

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags

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
        _require(X, [S.ADJUDICATION_DATE, S.DENIED], "AsOfHistoryEncoder")
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = len(X.columns)
        known = X[S.ADJUDICATION_DATE].notna() & X[S.DENIED].notna()
        H = X.loc[known]
        adj = _days_since_epoch(H[S.ADJUDICATION_DATE])
        den = H[S.DENIED].astype(bool).to_numpy(dtype=float)
        order = np.argsort(adj, kind="stable")
        self.global_days_ = adj[order]
        self.global_cum_ = np.concatenate([[0.0], np.cumsum(den[order])])
        self.snapshot_ = {}
        for name, cols in self._keys().items():
            h = _hash_keys(H, cols)
            ukeys, rank = np.unique(h, return_inverse=True)
            combined = (rank.astype(np.int64) << _DAY_BITS) + adj
            o = np.argsort(combined, kind="stable")
            self.snapshot_[name] = {
                "ukeys": ukeys,
                "combined": combined[o],
                "cum": np.concatenate([[0.0], np.cumsum(den[o])]),
            }
        self.n_history_ = int(known.sum())
        return self

    @staticmethod
    def _count(snap, qkey, qday):
        """History lines with the query's key adjudicated before ``qday``."""
        ukeys, combined, cum = snap["ukeys"], snap["combined"], snap["cum"]
        rank = np.searchsorted(ukeys, qkey)
        present = rank < len(ukeys)
        present[present] = ukeys[rank[present]] == qkey[present]
        base = rank.astype(np.int64) << _DAY_BITS
        lo = np.searchsorted(combined, base, side="left")
        pos = np.searchsorted(combined, base + qday, side="left")
        pos = np.where(present, pos, lo)
        return (pos - lo).astype(float), cum[pos] - cum[lo]

    def transform(self, X):
        """As-of counts and smoothed denial rates per key.

        Parameters
        ----------
        X : pandas.DataFrame
            Claims (history or new).

        Returns
        -------
        pandas.DataFrame
            ``hist_<key>_n``, ``hist_<key>_rate``, ``hist_<key>_n_recent``,
            ``hist_<key>_rate_recent`` per key, and ``hist_global_rate``.
        """
        check_is_fitted(self, "snapshot_")
        _require(X, [S.DATE_OF_SERVICE], "AsOfHistoryEncoder")
        qdate = _reference_dates(X, self.as_of)
        recent = qdate - np.int64(self.window_days)
        g_n = np.searchsorted(self.global_days_, qdate, side="left").astype(float)
        g_d = self.global_cum_[g_n.astype(int)]
        with np.errstate(invalid="ignore", divide="ignore"):
            g_rate = np.where(g_n > 0, g_d / g_n, np.nan)
        prior = np.nan_to_num(g_rate, nan=0.0)
        m = float(self.smoothing)
        f = {"hist_global_rate": g_rate}
        for name, cols in self._keys().items():
            snap = self.snapshot_[name]
            qkey = _hash_keys(X, cols)
            n, d = self._count(snap, qkey, qdate)
            n_old, d_old = self._count(snap, qkey, recent)
            n_r, d_r = n - n_old, d - d_old
            with np.errstate(invalid="ignore", divide="ignore"):
                rate = (d + m * prior) / (n + m)
                rate_r = (d_r + m * prior) / (n_r + m)
            f[f"hist_{name}_n"] = n
            f[f"hist_{name}_rate"] = np.where(n + m > 0, rate, np.nan)
            f[f"hist_{name}_n_recent"] = n_r
            f[f"hist_{name}_rate_recent"] = np.where(n_r + m > 0, rate_r, np.nan)
        cols = ["hist_global_rate"] + [c for c in f if c != "hist_global_rate"]
        return pd.DataFrame(f, index=X.index)[cols]

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        numpy.ndarray of str
        """
        check_is_fitted(self, "snapshot_")
        names = ["hist_global_rate"]
        for name in self._keys():
            names += [
                f"hist_{name}_n",
                f"hist_{name}_rate",
                f"hist_{name}_n_recent",
                f"hist_{name}_rate_recent",
            ]
        return np.asarray(names, dtype=object)


class ClaimFeatureSet(TransformerMixin, BaseEstimator):
    """Rule flags and gaps, claim features and as-of history, side by side.

    A small feature union whose fitted state holds only plain Python and NumPy
    objects, so a model that contains it saves safely with skops (scikit-learn's
    ``FeatureUnion`` keeps pandas objects in its fitted state).

    Parameters
    ----------
    reference : ptdenial.reference.Reference, optional
    as_of : date-like, optional
        Scoring date for the history features.
    smoothing, window_days : see :class:`AsOfHistoryEncoder`
    min_category_count : see :class:`ClaimFeatures`

    Attributes
    ----------
    transformers_ : list of (str, estimator)
        ``rules``, ``claim`` and ``history``, fitted.
    feature_names_out_ : list of str
    """

    def __init__(
        self,
        *,
        reference=None,
        as_of=None,
        smoothing=20.0,
        window_days=90,
        min_category_count=20,
    ):
        self.reference = reference
        self.as_of = as_of
        self.smoothing = smoothing
        self.window_days = window_days
        self.min_category_count = min_category_count

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = True
        return tags

    def fit(self, X, y=None):
        """Fit the three parts.

        Parameters
        ----------
        X : pandas.DataFrame
            Validated claims with labels (see :func:`ptdenial.schema.derive_outcomes`).
        y : ignored

        Returns
        -------
        self
        """
        from ptdenial.rules import PayerRuleFlagger

        self.transformers_ = [
            ("rules", PayerRuleFlagger(reference=self.reference)),
            (
                "claim",
                ClaimFeatures(
                    min_category_count=self.min_category_count, reference=self.reference
                ),
            ),
            (
                "history",
                AsOfHistoryEncoder(
                    smoothing=self.smoothing,
                    window_days=self.window_days,
                    as_of=self.as_of,
                ),
            ),
        ]
        for _, est in self.transformers_:
            est.fit(X)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = len(X.columns)
        names = []
        for _, est in self.transformers_:
            names.extend(str(n) for n in est.get_feature_names_out())
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"Feature names are not unique: {dup}")
        self.feature_names_out_ = names
        return self

    @property
    def history_encoder(self):
        """The fitted :class:`AsOfHistoryEncoder`."""
        check_is_fitted(self, "transformers_")
        return self.transformers_[-1][1]

    def transform(self, X):
        """All features of the claims.

        Parameters
        ----------
        X : pandas.DataFrame

        Returns
        -------
        pandas.DataFrame
        """
        check_is_fitted(self, "transformers_")
        self.history_encoder.as_of = self.as_of
        parts = []
        for _, est in self.transformers_:
            out = est.transform(X)
            if not isinstance(out, pd.DataFrame):
                out = pd.DataFrame(
                    out, index=X.index, columns=est.get_feature_names_out()
                )
            parts.append(out)
        return pd.concat(parts, axis=1)[self.feature_names_out_]

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        numpy.ndarray of str
        """
        check_is_fitted(self, "transformers_")
        return np.asarray(self.feature_names_out_, dtype=object)


def make_feature_pipeline(
    *, reference=None, as_of=None, smoothing=20.0, window_days=90, min_category_count=20
):
    """The full feature set: rule flags and gaps, claim features, as-of history.

    Parameters
    ----------
    reference : ptdenial.reference.Reference, optional
    as_of : date-like, optional
        Scoring date for the history features.
    smoothing, window_days : see :class:`AsOfHistoryEncoder`
    min_category_count : see :class:`ClaimFeatures`

    Returns
    -------
    ClaimFeatureSet

    Examples
    --------
    >>> from ptdenial.datasets import load_sample_claims
    >>> from ptdenial.schema import derive_outcomes
    >>> from ptdenial.features import make_feature_pipeline
    >>> claims = derive_outcomes(load_sample_claims("history").head(2000))
    >>> X = make_feature_pipeline().fit_transform(claims)
    >>> X.shape[0], X.columns.is_unique
    (2000, True)
    """
    return ClaimFeatureSet(
        reference=reference,
        as_of=as_of,
        smoothing=smoothing,
        window_days=window_days,
        min_category_count=min_category_count,
    )
