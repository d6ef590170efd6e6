"""Drift of a batch against a reference profile: the population stability index.

For bins *i* with reference share *e_i* and current share *a_i*::

    PSI = sum_i (a_i - e_i) * ln(a_i / e_i)

Shares are floored at ``1e-4`` so an empty bin does not give an infinite
value.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ptdenial.evaluation._profile import (
    MIN_SEGMENT_ROWS,
    SCORE_NAME,
    _as_float,
    _bin_counts_numeric,
    _check_profile,
    _segment_labels,
)

#: PSI at or above this is "moderate" drift (watch).
PSI_MODERATE = 0.10
#: PSI at or above this is "significant" drift (investigate, retrain).
PSI_SIGNIFICANT = 0.25
_EPS = 1e-4
#: Columns of :func:`drift_table`.
_DRIFT_COLUMNS = (
    "feature",
    "kind",
    "psi",
    "status",
    "n_reference",
    "n_current",
    "missing_reference",
    "missing_current",
    "largest_shift",
    "allowance",
)
#: How a batch is compared with the profile (see :func:`drift_table`).
BATCH_KINDS = ("window", "night")


def population_stability_index(expected, actual, *, eps: float = _EPS) -> float:
    """PSI between two binned distributions (shares or counts per bin).

    Parameters
    ----------
    expected, actual : array-like
        Per-bin shares or counts, same bins; each is normalised to sum to 1.
    eps : float
        Floor of a bin's share, so that empty bins stay finite.

    Returns
    -------
    float
        ``sum((a - e) * ln(a / e))``; NaN when either side is empty.

    Examples
    --------
    >>> from ptdenial.evaluation import population_stability_index
    >>> population_stability_index([0.5, 0.5], [0.5, 0.5])
    0.0
    >>> round(population_stability_index([0.5, 0.5], [0.8, 0.2]), 3)
    0.416
    """
    e = np.asarray(expected, dtype=float)
    a = np.asarray(actual, dtype=float)
    if e.shape != a.shape:
        raise ValueError(f"bins differ: {e.shape} vs {a.shape}")
    if e.sum() <= 0 or a.sum() <= 0:
        return float("nan")
    e = np.maximum(e / e.sum(), eps)
    a = np.maximum(a / a.sum(), eps)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_status(psi, *, n_current=None, min_rows: int = 0) -> str:
    """Label a PSI value: ``stable``, ``moderate`` or ``significant``.

    Parameters
    ----------
    psi : float
    n_current : int, optional
        Rows of the current batch; below ``min_rows`` the label is
        ``insufficient_data``.
    min_rows : int

    Returns
    -------
    str

    Examples
    --------
    >>> from ptdenial.evaluation import psi_status
    >>> psi_status(0.02), psi_status(0.12), psi_status(0.4)
    ('stable', 'moderate', 'significant')
    >>> psi_status(0.4, n_current=20, min_rows=100)
    'insufficient_data'
    """
    if n_current is not None and n_current < min_rows:
        return "insufficient_data"
    if psi is None or (isinstance(psi, float) and math.isnan(psi)):
        return "not_computed"
    if psi >= PSI_SIGNIFICANT:
        return "significant"
    if psi >= PSI_MODERATE:
        return "moderate"
    return "stable"


def _current_shares(spec: dict, values: np.ndarray):
    """Reference and current shares over the spec's bins (missing bin last)."""
    values = np.asarray(values, dtype=float)
    n = values.size
    missing = np.isnan(values)
    present = values[~missing]
    if spec["kind"] == "numeric":
        counts = _bin_counts_numeric(present, np.asarray(spec["edges"], dtype=float))
        expected = [*spec["proportions"], spec["missing"]]
    else:
        kept = np.asarray(spec["values"], dtype=float)
        pos = {v: i for i, v in enumerate(kept.tolist())}
        uniq, inverse = np.unique(present, return_inverse=True)
        slot = np.array([pos.get(u, len(kept)) for u in uniq.tolist()], dtype=int)
        counts = np.bincount(
            slot[inverse] if present.size else np.array([], int),
            minlength=len(kept) + 1,
        )
        expected = [*spec["proportions"], spec["other"], spec["missing"]]
    actual = np.append(counts, missing.sum()) / n if n else np.zeros(len(expected))
    return np.asarray(expected, dtype=float), actual


def drift_table(
    profile: dict,
    features: pd.DataFrame | None = None,
    scores=None,
    *,
    segments=None,
    min_rows: int = 100,
    min_segment_rows: int = MIN_SEGMENT_ROWS,
    batch: str = "window",
) -> pd.DataFrame:
    """PSI of each profiled feature (and the score) in a new batch.

    Parameters
    ----------
    profile : dict
        Output of :func:`reference_profile` (e.g. ``model.card_["reference_profile"]``).
    features : pandas.DataFrame, optional
        The batch's model inputs. A profiled feature absent from it is
        reported with status ``missing_feature``.
    scores : array-like, optional
        The batch's denial probabilities (compared when the profile has a
        score).
    segments : array-like, optional
        The batch's segment labels (same kind as in the profile, e.g.
        ``payer_id``): adds one row per profiled segment,
        ``denial_probability[<segment>]`` of kind ``score_segment``.
    min_rows : int
        Batches with fewer rows are labelled ``insufficient_data`` (the PSI
        is still shown).
    min_segment_rows : int
        The same for segments: PSI on a few dozen lines is mostly noise
        (expected PSI without any drift is about ``(bins - 1) / n``).
    batch : {"window", "night"}, default="window"
        ``"window"``: the batch spans many nights (a month of claims); each
        feature's status is its PSI against the thresholds. ``"night"``: the
        batch is one night's claims, which differ from months of lines by
        construction (its submission lags are the days since its visits,
        its clinics bill on their own days). A feature's status is then
        judged on its PSI minus an ``allowance``: what single nights of the
        training months showed (the spec's ``night_psi``, see
        :func:`reference_profile`) plus the noise of a random draw of the
        batch's size (``(bins - 1) / n``). The score keeps the plain
        thresholds.

    Returns
    -------
    pandas.DataFrame
        ``feature``, ``kind`` (``score``, ``score_segment``, ``numeric``,
        ``categorical``),
        ``psi``, ``status``, ``n_reference``, ``n_current``,
        ``missing_reference``, ``missing_current``, ``largest_shift`` (the
        bin whose share moved most, as text) and ``allowance`` (the PSI a
        batch of its kind shows without drift, subtracted before judging;
        0 for windows and the score); score first, then by PSI, largest
        first.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from ptdenial.evaluation import reference_profile, drift_table
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"minutes": rng.normal(30, 5, 5000)})
    >>> prof = reference_profile(ref, rng.beta(2, 8, 5000))
    >>> same = pd.DataFrame({"minutes": rng.normal(30, 5, 2000)})
    >>> moved = pd.DataFrame({"minutes": rng.normal(36, 5, 2000)})
    >>> drift_table(prof, same, rng.beta(2, 8, 2000))["status"].tolist()
    ['stable', 'stable']
    >>> drift_table(prof, moved)[["feature", "status"]].values.tolist()
    [['minutes', 'significant']]
    """
    _check_profile(profile)
    if batch not in BATCH_KINDS:
        raise ValueError(f"batch must be one of {list(BATCH_KINDS)}; got {batch!r}")
    rows = []
    n_ref = int(profile.get("n_rows", 0))
    if scores is not None and profile.get("score"):
        s = np.asarray(scores, dtype=float)
        rows.append(
            _drift_row(SCORE_NAME, "score", profile["score"], s, n_ref, min_rows)
        )
        if segments is not None and profile.get("score_segments"):
            labels = _segment_labels(segments, len(s))
            for label, spec in profile["score_segments"].items():
                sel = (labels == label).to_numpy()
                row = _drift_row(
                    f"{SCORE_NAME}[{label}]",
                    "score_segment",
                    spec,
                    s[sel],
                    n_ref,
                    min_segment_rows,
                )
                rows.append({**row, "n_reference": int(spec.get("n_rows", n_ref))})
    for name, spec in profile["features"].items():
        if features is None:
            continue
        if name not in features.columns:
            rows.append(_missing_feature_row(name, spec, n_ref, len(features)))
            continue
        values = _as_float(features[name])
        rows.append(
            _drift_row(
                name,
                spec["kind"],
                spec,
                values,
                n_ref,
                min_rows,
                night=batch == "night",
            )
        )
    return _sorted_drift(pd.DataFrame(rows, columns=list(_DRIFT_COLUMNS)))


def _night_allowance(spec: dict, expected: np.ndarray, n: int) -> float:
    """PSI one night of ``n`` rows shows without drift (see :func:`drift_table`)."""
    bins = int((expected > 0).sum())
    noise = (bins - 1) / n if n else 0.0
    return float(spec.get("night_psi", 0.0)) + noise


def _drift_row(
    name, kind, spec, values, n_ref: int, min_rows: int, *, night: bool = False
) -> dict:
    """One row of the drift table: PSI of ``values`` against the spec's bins."""
    expected, actual = _current_shares(spec, values)
    n = int(np.asarray(values).size)
    psi = population_stability_index(expected, actual) if n else float("nan")
    allowance = _night_allowance(spec, expected, n) if night else 0.0
    labels = _bin_labels(spec)
    diff = actual - expected
    j = int(np.argmax(np.abs(diff))) if n else 0
    return {
        "feature": name,
        "kind": kind,
        "psi": psi,
        "status": psi_status(
            psi - allowance if n else psi, n_current=n, min_rows=min_rows
        ),
        "n_reference": n_ref,
        "n_current": n,
        "missing_reference": float(spec["missing"]),
        "missing_current": float(actual[-1]) if n else float("nan"),
        "largest_shift": (
            f"{labels[j]}: {expected[j]:.1%} -> {actual[j]:.1%}" if n else ""
        ),
        "allowance": allowance,
    }


def _missing_feature_row(name, spec, n_ref: int, n_current: int) -> dict:
    """The row of a profiled feature the batch lacks."""
    return {
        "feature": name,
        "kind": spec["kind"],
        "psi": float("nan"),
        "status": "missing_feature",
        "n_reference": n_ref,
        "n_current": int(n_current),
        "missing_reference": float(spec["missing"]),
        "missing_current": 1.0,
        "largest_shift": "",
        "allowance": 0.0,
    }


def _sorted_drift(out: pd.DataFrame) -> pd.DataFrame:
    """Score first, then its segments, then features; each by PSI, largest first."""
    if out.empty:
        return out
    order = {"score": 0, "score_segment": 1}
    out["_rank"] = out["kind"].map(order).fillna(2)
    out = out.sort_values(["_rank", "psi"], ascending=[True, False], na_position="last")
    return out.drop(columns="_rank").reset_index(drop=True)


def _bin_labels(spec: dict) -> list[str]:
    if spec["kind"] == "numeric":
        edges = spec["edges"]
        if not edges:
            return ["all values", "missing"]
        labels = [f"<= {edges[0]:g}"]
        labels += [
            f"({a:g}, {b:g}]" for a, b in zip(edges[:-1], edges[1:], strict=True)
        ]
        labels += [f"> {edges[-1]:g}", "missing"]
        return labels
    return [f"code {v}" for v in spec["values"]] + ["other", "missing"]
