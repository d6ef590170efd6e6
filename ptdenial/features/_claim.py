"""Claim features: line, visit, modifier, diagnosis, documentation, episode,
time and categorical features of each claim line."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ptdenial import schema as S
from ptdenial._distinct import spread
from ptdenial._utils import ClaimsTransformerMixin
from ptdenial.features._columns import (
    _compact_frame,
    _days,
    _Distinct,
    _frame,
    _list_apply,
    _list_flags,
    _num,
    _require,
    _text_mask,
)
from ptdenial.schema import BYPASS_MODIFIERS, SCORED_CODE

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
#: Modifiers with a 0/1 feature ``mod_<modifier lower>`` each (and ``mod_bypass``).
FLAG_MODIFIERS = ("GP", "KX", "CQ", "GA", "GY", "GZ", "95")

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
        return self._transform(X)

    def _transform(self, X, *, compact: bool = False) -> pd.DataFrame:
        """:meth:`transform`; ``compact``: in narrow exact dtypes (training)."""
        check_is_fitted(self, "categories_")
        _require(X, S.REQUIRED_COLUMNS, "ClaimFeatures")
        if compact:
            return _compact_frame(self._compute(X), self._names, X.index)
        return _frame(self._compute(X), self._names, X.index)

    def _compute(self, X) -> dict[str, np.ndarray]:
        """Every feature of ``X`` by name, in output order, one family at a time."""
        cols = _Distinct(X)
        cpt = cols.text(S.CPT_CODE)
        is_target = _text_mask(cpt, lambda c: c == SCORED_CODE)
        units = _num(X, S.UNITS)
        minutes = _num(X, S.MINUTES)
        f: dict[str, np.ndarray] = {}
        f.update(_line_features(X, is_target, units, minutes))
        f.update(_visit_features(X, cols, cpt, is_target, units, minutes))
        f.update(_modifier_features(X, cols))
        f.update(_diagnosis_features(cols, self.dx_supported_, self.dx_deficit_needed_))
        f.update(_documentation_features(X, cols))
        f.update(_episode_features(X))
        f.update(_time_features(X[S.DATE_OF_SERVICE]))
        f.update(self._categorical_features(cols))
        return f

    def _categorical_features(self, cols: _Distinct) -> dict[str, np.ndarray]:
        """Categoricals as the fixed integer codes learned at ``fit``."""
        f = {}
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


def _line_features(X, is_target, units, minutes) -> dict[str, np.ndarray]:
    """The line itself: code, units, minutes, charge."""
    return {
        "is_97112": is_target.astype(float),
        "units": units,
        "line_minutes": minutes,
        "line_minutes_per_unit": minutes / np.maximum(units, 1),
        "charge_per_unit": _num(X, S.CHARGE_AMOUNT) / np.maximum(units, 1),
    }


def _visit_features(X, cols, cpt, is_target, units, minutes) -> dict[str, np.ndarray]:
    """The line's visit: lines, units and minutes, same-day codes."""
    vcodes = _visit_codes(X, cols)
    n_visits = vcodes.max() + 1 if len(vcodes) else 0

    def per_visit_sum(values):
        v = np.nan_to_num(values, nan=0.0)
        sums = np.bincount(vcodes, weights=v, minlength=n_visits)
        return sums[vcodes]

    f = {}
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
    f["visit_has_evaluation"] = (per_visit_sum(evals.astype(float)) > 0).astype(float)
    f["visit_units_97112"] = per_visit_sum(np.where(is_target, units, 0.0))
    return f


def _modifier_features(X, cols) -> dict[str, np.ndarray]:
    """Modifier flags and count; all missing without a modifiers column."""
    f = {}
    if S.MODIFIERS in X:
        mods = cols.lists(S.MODIFIERS)
        for m, arr in _list_flags(mods, list(FLAG_MODIFIERS)).items():
            f[f"mod_{m.lower()}"] = arr.astype(float)
        f["mod_bypass"] = _list_apply(
            mods, lambda u: float(bool(BYPASS_MODIFIERS & set(u)))
        )
        f["n_modifiers"] = _list_apply(mods, len)
    else:
        for m in [*(m.lower() for m in FLAG_MODIFIERS), "bypass"]:
            f[f"mod_{m}"] = np.full(len(X), np.nan)
        f["n_modifiers"] = np.full(len(X), np.nan)
    return f


def _diagnosis_features(cols, supported, deficit_needed) -> dict[str, np.ndarray]:
    """Diagnosis count and support for 97112 (reference diagnosis list)."""
    dx = cols.lists(S.DIAGNOSIS_CODES)
    return {
        "dx_count": _list_apply(dx, len),
        "dx_primary_supported": _list_apply(
            dx, lambda u: float(bool(u) and u[0].startswith(supported))
        ),
        "dx_any_supported": _list_apply(
            dx, lambda u: float(any(c.startswith(supported) for c in u))
        ),
        "dx_primary_needs_deficit": _list_apply(
            dx, lambda u: float(bool(u) and u[0].startswith(deficit_needed))
        ),
        "dx_primary_unspecified": _list_apply(
            dx, lambda u: float(bool(u) and (u[0].endswith("9") or "." not in u[0]))
        ),
    }


def _documentation_features(X, cols) -> dict[str, np.ndarray]:
    """Deficits, interventions, objective measures and note signature."""
    f = {}
    if S.DEFICITS_DOCUMENTED in X:
        deficits = cols.lists(S.DEFICITS_DOCUMENTED)
        f["deficit_count"] = _list_apply(deficits, len)
        for d, arr in _list_flags(deficits, [d.upper() for d in S.DEFICITS]).items():
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
    if S.NOTE_SIGNED_DATE in X:
        f["note_signature_lag_days"] = _days(
            X[S.NOTE_SIGNED_DATE], X[S.DATE_OF_SERVICE]
        )
    return f


def _episode_features(X) -> dict[str, np.ndarray]:
    """Episode, plan of care, progress report, authorization, cap, filing."""
    dos = X[S.DATE_OF_SERVICE]
    f = {"visit_number": _num(X, S.VISIT_NUMBER)}
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
    f["auth_visits_remaining"] = _num(X, S.AUTH_VISITS_APPROVED) - _num(
        X, S.AUTH_VISITS_USED
    )
    if S.PRIOR_AUTH_NUMBER in X:
        f["has_prior_auth"] = X[S.PRIOR_AUTH_NUMBER].notna().to_numpy(dtype=float)
    if S.REFERRING_PROVIDER_ID in X:
        f["has_referring_provider"] = (
            X[S.REFERRING_PROVIDER_ID].notna().to_numpy(dtype=float)
        )
    f["ytd_therapy_allowed"] = _num(X, S.YTD_THERAPY_ALLOWED)
    if S.SUBMISSION_DATE in X:
        f["submission_lag_days"] = _days(X[S.SUBMISSION_DATE], dos)
    return f


def _time_features(dos: pd.Series) -> dict[str, np.ndarray]:
    """Weekday of the date of service.

    No feature counts calendar time: a month index learned the level of the
    last training months and carried it into every later month (issue 13;
    ``bench/results/model.md``). Drift reaches the model through the recent
    history rates and the calibrator instead.
    """
    return {
        "day_of_week": dos.dt.day_of_week.to_numpy(dtype=float, na_value=np.nan),
    }
