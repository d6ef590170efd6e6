"""The reference profile: a compact JSON summary of model inputs and scores.

Built at training time (the model card stores it) and compared with new
batches by :func:`ptdenial.evaluation.drift_table`. Numeric features keep
quantile bins, categorical ones (the model's ``cat__*`` integer codes) their
most frequent codes; both keep the share of missing values.
"""

from __future__ import annotations

import fnmatch

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.exceptions import PtdenialError

#: Features left out of the profile by default (shell-style patterns): calendar
#: features, year-to-date amounts and visit counts against a yearly benefit
#: limit (seasonal by construction: they restart every January) and the as-of
#: history features ``hist_*`` (counts grow and rates move with the practice's
#: accumulated history, so they drift by construction; their effect on the
#: model is watched through the score, overall and per payer).
DEFAULT_EXCLUDE = (
    "month_index",
    "day_of_week",
    "*ytd*",
    "gap__visits_over_benefit_limit",
    "hist_*",
)
#: Smallest night (rows of one submission date) used for the night reference.
MIN_NIGHT_ROWS = 20
#: Quantile of the nights' excess PSI kept as a feature's night reference.
NIGHT_QUANTILE = 0.95
#: Smallest segment (e.g. payer) whose score distribution is profiled.
MIN_SEGMENT_ROWS = 200
#: Most segments profiled (the largest ones).
MAX_SEGMENTS = 30
#: Format tag stored in every profile.
PROFILE_FORMAT = "ptdenial.reference_profile/1"
#: Name of the score in profiles and drift tables.
SCORE_NAME = S.DENIAL_PROBABILITY


def _r(x: float) -> float:
    return round(float(x), 6)


def _numeric_spec(values: np.ndarray, n_bins: int) -> dict:
    values = np.asarray(values, dtype=float)
    missing = np.isnan(values)
    present = values[~missing]
    finite = present[np.isfinite(present)]
    if finite.size == 0:
        edges = np.array([], dtype=float)
    else:
        uniq = np.unique(finite)
        if uniq.size <= n_bins:
            edges = uniq[:-1]
        else:
            qs = np.linspace(0, 1, n_bins + 1)[1:-1]
            edges = np.unique(np.quantile(finite, qs, method="lower"))
            edges = edges[edges < uniq[-1]]
    counts = _bin_counts_numeric(present, edges)
    n = values.size
    return {
        "kind": "numeric",
        "edges": [float(e) for e in edges],
        "proportions": [_r(c / n) if n else 0.0 for c in counts],
        "missing": _r(missing.sum() / n) if n else 0.0,
    }


def _bin_counts_numeric(present: np.ndarray, edges: np.ndarray) -> np.ndarray:
    idx = np.searchsorted(np.asarray(edges, dtype=float), present, side="left")
    return np.bincount(idx, minlength=len(edges) + 1)


def _categorical_spec(values: np.ndarray, max_categories: int) -> dict:
    values = np.asarray(values, dtype=float)
    missing = np.isnan(values)
    present = values[~missing]
    n = values.size
    uniq, counts = np.unique(present, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:max_categories]
    kept = uniq[order]
    kept_counts = counts[order]
    other = present.size - kept_counts.sum()
    return {
        "kind": "categorical",
        "values": [int(v) if float(v).is_integer() else float(v) for v in kept],
        "proportions": [_r(c / n) if n else 0.0 for c in kept_counts],
        "other": _r(other / n) if n else 0.0,
        "missing": _r(missing.sum() / n) if n else 0.0,
    }


def _is_categorical(name: str, series: pd.Series, categorical=()) -> bool:
    if name in categorical or name.startswith("cat__"):
        return True
    return isinstance(series.dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(series.dtype)
        or pd.api.types.is_bool_dtype(series.dtype)
    )


def _as_float(series: pd.Series) -> np.ndarray:
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy().astype(float)
        return np.where(codes < 0, np.nan, codes)
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(
        series.dtype
    ):
        return series.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    codes, _ = pd.factorize(series)
    return np.where(codes < 0, np.nan, codes.astype(float))


def reference_profile(
    features: pd.DataFrame,
    scores=None,
    *,
    n_bins: int = 10,
    max_categories: int = 30,
    exclude=DEFAULT_EXCLUDE,
    segments=None,
    min_segment_rows: int = MIN_SEGMENT_ROWS,
    categorical=(),
    nights=None,
) -> dict:
    """Compact, JSON-safe distribution profile of model features and scores.

    Store it in the model card at training time; :func:`drift_table` compares
    a new batch against it. Build it on the population that will be
    monitored (the scored-code lines) and, for the score, on rows the trees
    did not train on (e.g. the calibration slice), otherwise the in-sample
    scores look sharper than any new batch and the score seems to drift.

    Parameters
    ----------
    features : pandas.DataFrame
        Model inputs (e.g. ``model.transform_features(claims)``), numeric.
        ``cat__*`` columns (and those named in ``categorical``) are treated
        as category codes, and so are columns of non-numeric dtype.
    scores : array-like, optional
        Denial probabilities of the same rows.
    n_bins : int
        Quantile bins per numeric feature (fewer when values repeat: a
        feature with at most ``n_bins`` distinct values gets one bin each).
    max_categories : int
        Most frequent codes kept per categorical feature; the rest share one
        ``other`` bin.
    exclude : iterable of str
        Features to leave out: names or shell-style patterns
        (:data:`DEFAULT_EXCLUDE` by default).
    segments : array-like, optional
        A label per row (e.g. ``payer_id``): the score distribution is also
        kept per segment, for the :data:`MAX_SEGMENTS` largest segments with
        at least ``min_segment_rows`` rows.
    min_segment_rows : int
    categorical : iterable of str
        More features holding category codes (the model passes
        :data:`ptdenial.features.CATEGORICAL_FEATURES`).
    nights : array-like, optional
        The submission date (or any batch label) of each row. Each feature's
        spec then gets ``night_psi``: how far single nights of these rows
        stray from the whole profile beyond what a random draw of the same
        size does (the :data:`NIGHT_QUANTILE` of the nights' excess PSI, over
        nights of at least :data:`MIN_NIGHT_ROWS` rows). One night's claims
        differ from months of lines by construction (its lags are the days
        since its visits, its clinics bill on their own days);
        :func:`drift_table` with ``batch="night"`` judges a night against
        that.

    Returns
    -------
    dict
        ``format``, ``n_rows``, ``n_bins``, ``excluded``, ``features``
        (name -> bin spec), ``score`` (bin spec or ``None``) and
        ``score_segments`` (segment -> bin spec, with ``n_rows``) and
        ``segment_by`` (the name of the ``segments`` Series). Every value
        is a plain int, float, str or list, so ``json.dumps`` works.

    Examples
    --------
    >>> import json
    >>> import numpy as np, pandas as pd
    >>> from ptdenial.evaluation import reference_profile
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"units": rng.integers(1, 5, 1000).astype(float),
    ...                   "cat__payer_id": rng.integers(0, 3, 1000).astype(float)})
    >>> prof = reference_profile(X, rng.uniform(size=1000))
    >>> prof["features"]["units"]["edges"], len(prof["score"]["proportions"])
    ([1.0, 2.0, 3.0], 10)
    >>> len(json.dumps(prof)) < 2000
    True
    """
    if not isinstance(features, pd.DataFrame):
        raise TypeError(
            f"reference_profile expects a DataFrame of features; got {type(features)}"
        )
    if n_bins < 2:
        raise ValueError(f"n_bins must be at least 2; got {n_bins!r}")
    patterns = list(exclude or ())
    skipped = [
        str(n)
        for n in features.columns
        if any(fnmatch.fnmatchcase(str(n), pat) for pat in patterns)
    ]
    categorical = set(categorical)
    specs = {}
    for name in features.columns:
        if str(name) in skipped:
            continue
        col = features[name]
        values = _as_float(col)
        if _is_categorical(str(name), col, categorical):
            specs[str(name)] = _categorical_spec(values, max_categories)
        else:
            specs[str(name)] = _numeric_spec(values, n_bins)
    if nights is not None:
        _night_reference(features, specs, nights)
    score_spec = None
    segment_specs = {}
    segment_by = getattr(segments, "name", None)
    if scores is not None:
        s = np.asarray(scores, dtype=float)
        if s.shape[0] != len(features):
            raise ValueError(
                f"scores has {s.shape[0]} rows but features has {len(features)}"
            )
        score_spec = _numeric_spec(s, n_bins)
        if segments is not None:
            segment_specs = _segment_specs(
                s, _segment_labels(segments, len(features)), n_bins, min_segment_rows
            )
    return {
        "format": PROFILE_FORMAT,
        "n_rows": int(len(features)),
        "n_bins": int(n_bins),
        "excluded": sorted(skipped),
        "features": specs,
        "score": score_spec,
        "score_segments": segment_specs,
        "segment_by": str(segment_by) if segment_specs and segment_by else None,
    }


def _night_reference(features: pd.DataFrame, specs: dict, nights) -> None:
    """Add ``night_psi`` to each spec: single nights' PSI beyond sampling noise.

    For each night with enough rows, the PSI of its rows against the spec
    minus the PSI of as many rows drawn at random from the whole profile
    (one draw per night, a fixed seed): what the night's structure adds to
    the noise of its size. The spec keeps the :data:`NIGHT_QUANTILE` of
    those excesses (0 when no night is large enough).
    """
    from ptdenial.evaluation._drift import _current_shares, population_stability_index

    labels = pd.Series(np.asarray(nights)).to_numpy()
    if len(labels) != len(features):
        raise ValueError(f"nights has {len(labels)} rows but features has "
                         f"{len(features)}")  # fmt: skip
    codes, _ = pd.factorize(labels)
    groups = [
        idx
        for idx in pd.Series(np.arange(len(codes))).groupby(codes).indices.values()
        if len(idx) >= MIN_NIGHT_ROWS
    ]
    rng = np.random.default_rng(0)
    draws = [rng.choice(len(features), len(idx), replace=False) for idx in groups]
    for name, spec in specs.items():
        values = _as_float(features[name])
        excess = []
        for idx, draw in zip(groups, draws, strict=True):
            night = population_stability_index(*_current_shares(spec, values[idx]))
            noise = population_stability_index(*_current_shares(spec, values[draw]))
            excess.append(night - noise)
        q = float(np.quantile(excess, NIGHT_QUANTILE)) if excess else 0.0
        spec["night_psi"] = _r(max(q, 0.0))
        spec["night_count"] = len(excess)


def _segment_specs(scores, labels: pd.Series, n_bins: int, min_rows: int) -> dict:
    """Score bin specs of the largest segments with at least ``min_rows`` rows."""
    sizes = labels.value_counts()
    sizes = sizes[sizes >= min_rows].head(MAX_SEGMENTS)
    specs = {}
    for label in sizes.index:
        sel = (labels == label).to_numpy()
        spec = _numeric_spec(scores[sel], n_bins)
        spec["n_rows"] = int(sel.sum())
        specs[str(label)] = spec
    return specs


def _segment_labels(segments, n: int) -> pd.Series:
    labels = pd.Series(np.asarray(segments, dtype=object)).astype("string")
    if len(labels) != n:
        raise ValueError(f"segments has {len(labels)} rows but features has {n}")
    return labels.fillna("(missing)")


def _check_profile(profile) -> None:
    if not isinstance(profile, dict) or profile.get("format") != PROFILE_FORMAT:
        got = profile.get("format") if isinstance(profile, dict) else type(profile)
        raise PtdenialError(
            f"Not a ptdenial reference profile (format {got!r}; expected "
            f"{PROFILE_FORMAT!r}). Build one with "
            "ptdenial.monitoring.reference_profile or retrain the model so its "
            "card stores one."
        )
