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
from ptdenial._utils import ClaimsTransformerMixin
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


class _Distinct:
    """The columns of one frame, each factorized once, on demand.

    Feature work then runs on the few distinct values of a column and is
    spread back to the lines by their codes: converting or hashing every
    line's string or tuple was most of the feature time of a scoring batch.
    """

    def __init__(self, X: pd.DataFrame):
        self.X = X
        self._text: dict = {}
        self._lists: dict = {}

    def text(self, col: str) -> tuple[np.ndarray, np.ndarray]:
        """Codes (-1 = missing) and distinct values of ``X[col].astype("string")``.

        The distinct values are an object array of ``str``. A missing column
        is all missing.
        """
        if col not in self._text:
            self._text[col] = (
                text_codes(self.X[col])
                if col in self.X
                else (
                    np.full(len(self.X), -1, dtype=np.intp),
                    np.empty(0, dtype=object),
                )
            )
        return self._text[col]

    def lists(self, col: str) -> tuple[np.ndarray, pd.Index]:
        """``pd.factorize`` of a tuple-valued column: codes (-1 = missing), uniques."""
        if col not in self._lists:
            self._lists[col] = pd.factorize(self.X[col])
        return self._lists[col]


def text_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 = missing) and distinct values, as ``str``, of a column's text.

    With :func:`spread`, the way to turn a column into Python text per line
    (features, reason sentences, quiet reasons) converting each distinct
    value once.
    """
    if isinstance(series.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(
        series.dtype.categories
    ):
        # a categorical already holds its codes; converting every line to
        # text first cost more than all the rest of its feature
        codes = series.cat.codes.to_numpy(dtype=np.intp)
        uniques = series.dtype.categories.astype("string")
    else:
        codes, uniques = pd.factorize(series.astype("string"))
    return np.asarray(codes, dtype=np.intp), np.asarray(uniques, dtype=object)


def spread(per_value: np.ndarray, codes: np.ndarray, missing) -> np.ndarray:
    """``per_value[codes]`` with ``missing`` where the code is -1."""
    return np.append(per_value, np.asarray([missing], dtype=per_value.dtype))[codes]


def _list_flags(lists, wanted) -> dict[str, np.ndarray]:
    """For a factorized tuple column: one boolean array per wanted item."""
    codes, uniques = lists
    out = {}
    for item in wanted:
        hit_u = np.array([item in u for u in uniques], dtype=bool)
        out[item] = spread(hit_u, codes, False)
    return out


def _list_apply(lists, func, dtype=float) -> np.ndarray:
    """``func`` of each distinct tuple, spread to the lines.

    Missing lines take the value of the first distinct tuple (and all lines
    0 when there is none): the feature set was trained that way.
    """
    codes, uniques = lists
    if not len(uniques):
        return np.zeros(len(codes), dtype=dtype)
    vals = np.array([func(u) for u in uniques], dtype=dtype)
    return vals[np.maximum(codes, 0)]


def _text_mask(text, hit) -> np.ndarray:
    """Lines whose text value satisfies ``hit`` (missing lines: False)."""
    codes, uniques = text
    return spread(np.array([hit(u) for u in uniques], dtype=bool), codes, False)


def _frame(f: dict, names, index) -> pd.DataFrame:
    """``pd.DataFrame(f, index=index).reindex(columns=names)`` with one copy.

    The features are float64 arrays: filling one 2-D block directly avoids
    building the frame and then copying it again to put the columns in order.
    """
    if any(np.asarray(v).dtype != np.float64 for v in f.values()):
        return pd.DataFrame(f, index=index).reindex(columns=names)
    block = np.empty((len(names), len(index)))
    for j, name in enumerate(names):
        block[j] = f.get(name, np.nan)
    return pd.DataFrame(block.T, index=index, columns=names, copy=False)


_NS_PER_DAY = 86_400_000_000_000


def _days(a: pd.Series, b: pd.Series) -> np.ndarray:
    ns = np.dtype("datetime64[ns]")
    if a.dtype != ns or b.dtype != ns:
        return ((a - b).dt.days).to_numpy(dtype=float, na_value=np.nan)
    # the same whole days (floored) as .dt.days, without the pandas accessor
    delta = a.to_numpy() - b.to_numpy()
    days = (delta.view(np.int64) // _NS_PER_DAY).astype(float)
    return np.where(np.isnat(delta), np.nan, days)


def _visit_codes(X: pd.DataFrame, cols: _Distinct) -> np.ndarray:
    """Group number of each line's visit (its ``S.VISIT_KEYS``), any numbering.

    The key columns are factorized (text ones reuse ``cols``) and combined;
    with a missing key part it is ``groupby().ngroup()`` itself (-1 there).
    """
    visit = np.zeros(len(X), dtype=np.int64)
    size = 1
    for col in S.VISIT_KEYS:
        if isinstance(X[col].dtype, pd.StringDtype):
            codes, values = cols.text(col)
        else:
            codes, values = pd.factorize(X[col])
        if len(codes) and codes.min() < 0:
            return (
                X.groupby(list(S.VISIT_KEYS), sort=False, observed=True)
                .ngroup()
                .to_numpy()
            )
        if size * max(len(values), 1) >= 2**62:
            visit, _ = pd.factorize(visit)
            size = int(visit.max()) + 1 if len(visit) else 1
        visit = visit * max(len(values), 1) + codes
        size *= max(len(values), 1)
    return pd.factorize(visit)[0]


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


class ClaimFeatures(ClaimsTransformerMixin, TransformerMixin, BaseEstimator):
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

    _fitted_attribute = "categories_"

    def __init__(self, *, min_category_count=20, reference=None):
        self.min_category_count = min_category_count
        self.reference = reference

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
        self.categories_ = {}
        for name, (codes, values) in self._category_sources(_Distinct(X)).items():
            counts = np.bincount(codes[codes >= 0], minlength=len(values))
            keep = values[counts >= self.min_category_count]
            self.categories_[name] = sorted(str(v) for v in keep)
        self._names = list(self._compute(X.head(1)))
        return self

    @staticmethod
    def _category_sources(cols: _Distinct):
        """Per categorical feature: line codes (-1 = missing) and distinct values."""
        out = {}
        for name, col in _CATEGORY_SOURCES.items():
            if col is not None:
                out[name] = cols.text(col)
                continue
            # the primary diagnosis category; "" (no diagnosis) is missing
            dx_codes, dx_values = cols.lists(S.DIAGNOSIS_CODES)
            if not len(dx_values):  # as _list_apply: every line 0, a category
                out[name] = (
                    np.zeros(len(dx_codes), dtype=np.intp),
                    np.zeros(1, dtype=object),
                )
                continue
            primary = np.array([u[0][:3] if u else "" for u in dx_values], dtype=object)
            codes, values = pd.factorize(primary)
            values = np.asarray(values, dtype=object)
            codes = np.where(values[codes] == "", -1, codes)
            # missing lines take the first distinct value, as _list_apply
            out[name] = (codes[np.maximum(dx_codes, 0)].astype(np.intp), values)
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
        return _frame(self._compute(X), self._names, X.index)

    def _compute(self, X) -> dict[str, np.ndarray]:
        f: dict[str, np.ndarray] = {}
        cols = _Distinct(X)
        cpt = cols.text(S.CPT_CODE)
        is_target = _text_mask(cpt, lambda c: c == SCORED_CODE)
        units = _num(X, S.UNITS)
        minutes = _num(X, S.MINUTES)
        f["is_97112"] = is_target.astype(float)
        f["units"] = units
        f["line_minutes"] = minutes
        f["line_minutes_per_unit"] = minutes / np.maximum(units, 1)
        f["charge_per_unit"] = _num(X, S.CHARGE_AMOUNT) / np.maximum(units, 1)

        # --- visit context -------------------------------------------------------
        vcodes = _visit_codes(X, cols)
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
            mask = _text_mask(cpt, lambda c, code=code: c == code)
            f[f"visit_units_{code}"] = per_visit_sum(np.where(mask, units, 0.0))
        evals = _text_mask(cpt, lambda c: c in EVAL_CODES)
        f["visit_has_evaluation"] = (per_visit_sum(evals.astype(float)) > 0).astype(
            float
        )
        f["visit_units_97112"] = per_visit_sum(np.where(is_target, units, 0.0))

        # --- modifiers -----------------------------------------------------------
        if S.MODIFIERS in X:
            mods = cols.lists(S.MODIFIERS)
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
        dx = cols.lists(S.DIAGNOSIS_CODES)
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
            deficits = cols.lists(S.DEFICITS_DOCUMENTED)
            f["deficit_count"] = _list_apply(deficits, len)
            for d, arr in _list_flags(
                deficits, [d.upper() for d in S.DEFICITS]
            ).items():
                f[f"deficit_{d.lower()}"] = arr.astype(float)
        else:
            f["deficit_count"] = np.full(len(X), np.nan)
        if S.INTERVENTIONS_DOCUMENTED in X:
            inter = cols.lists(S.INTERVENTIONS_DOCUMENTED)
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
        raw = self._category_sources(cols)
        for name in CATEGORICAL_FEATURES:
            cats = self.categories_[name]
            codes, values = raw[name]
            at = pd.Index(cats, dtype=object).get_indexer(values).astype(float)
            # -1: unseen or rare -> "other" code len(cats); missing -> NaN
            at = np.where(at < 0, len(cats), at)
            f[name] = spread(at, codes, np.nan)

        return f

    def _output_names(self):
        return self._names


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

    _fitted_attribute = "snapshot_"

    def __init__(self, *, smoothing=20.0, window_days=90, keys=None, as_of=None):
        self.smoothing = smoothing
        self.window_days = window_days
        self.keys = keys
        self.as_of = as_of

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
        distinct = _Distinct(H)
        for name, cols in self._keys().items():
            h = _hash_keys(distinct, cols)
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
            out += [
                (pos - lo).astype(float)[pair_codes],
                (cum[pos] - cum[lo])[pair_codes],
            ]
        return out

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
        day_codes, days = pd.factorize(_reference_dates(X, self.as_of), sort=True)
        days = np.asarray(days, dtype=np.int64)
        recent = days - np.int64(self.window_days)
        g_n = np.searchsorted(self.global_days_, days, side="left").astype(float)
        g_n = g_n[day_codes]
        g_d = self.global_cum_[g_n.astype(int)]
        with np.errstate(invalid="ignore", divide="ignore"):
            g_rate = np.where(g_n > 0, g_d / g_n, np.nan)
        prior = np.nan_to_num(g_rate, nan=0.0)
        m = float(self.smoothing)
        f = {"hist_global_rate": g_rate}
        distinct = _Distinct(X)
        for name, cols in self._keys().items():
            keys = _distinct_keys(distinct, cols)
            n, d, n_old, d_old = self._count(
                self.snapshot_[name], keys, day_codes, days, recent
            )
            n_r, d_r = n - n_old, d - d_old
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
        for name in self._keys():
            names += [
                f"hist_{name}_n",
                f"hist_{name}_rate",
                f"hist_{name}_n_recent",
                f"hist_{name}_rate_recent",
            ]
        return names


class ClaimFeatureSet(ClaimsTransformerMixin, TransformerMixin, BaseEstimator):
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

    _fitted_attribute = "transformers_"

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

    def _output_names(self):
        return self.feature_names_out_


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
