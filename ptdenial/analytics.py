"""Where denials come from: rates with intervals, CARC Pareto, trends, dollars.

Every function takes a validated claims frame (canonical dtypes, see
:mod:`ptdenial.schema`) and returns a tidy :class:`pandas.DataFrame`; nothing
here plots (see :mod:`ptdenial.reports`).

Conventions
-----------
* **Labels.** ``denied`` / ``pending`` come from the frame when present,
  otherwise from :func:`ptdenial.schema.derive_outcomes`. Pending lines (no
  adjudication yet) are never in a denominator: every table counts them in a
  separate ``pending`` column.
* **Rates** are ``denied / adjudicated`` with a Wilson score interval
  (:func:`wilson_interval`), which behaves at 0 and 1 and on small groups,
  where the normal-approximation interval does not.
* **Expected payment** of a line (:func:`expected_payment`) is the amount the
  payer would be expected to allow for it had it been paid: the median allowed
  amount per unit of paid lines of the same payer and code (falling back to
  payer class and code, then code, then the charge times the overall
  allowed-to-charge ratio). Revenue at risk is the expected payment of denied
  lines, not their charges, because charges overstate what a practice
  collects.
* **Recoverable** denials are denied lines on which a *hard* billing rule
  fired (:func:`ptdenial.rules.apply_rules`): a scrubber would have caught
  them before submission.
* **Dimensions.** ``by`` accepts claim columns plus the virtual dimensions
  ``"month"``, ``"quarter"`` and ``"year"`` of ``date_of_service``.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial._payment import payment_table, price_lines
from ptdenial.exceptions import ClaimsSchemaError

__all__ = [
    "wilson_interval",
    "denial_rates",
    "monthly_trend",
    "carc_pareto",
    "expected_payment",
    "revenue_at_risk",
    "rule_hit_matrix",
    "rule_outcome_table",
    "rule_what_if",
    "MONTH",
    "QUARTER",
    "YEAR",
    "NO_RULE_HIT",
]

MONTH = "month"
QUARTER = "quarter"
YEAR = "year"
_TIME_DIMENSIONS = {MONTH: "M", QUARTER: "Q", YEAR: "Y"}
NO_RULE_HIT = "(no rule hit)"
_MISSING = "(missing)"
_NONE_CODE = "(none)"
_HARD = ("hard",)


# --- intervals ---------------------------------------------------------------------
def wilson_interval(successes, n, *, confidence: float = 0.95):
    """Wilson score interval of a binomial proportion, vectorized.

    Parameters
    ----------
    successes : array-like of int
        Number of events (e.g. denied lines).
    n : array-like of int
        Number of trials (e.g. adjudicated lines). Where ``n`` is 0 both
        bounds are NaN.
    confidence : float
        Two-sided confidence level, e.g. 0.95.

    Returns
    -------
    (low, high) : tuple of numpy.ndarray
        Bounds in [0, 1], same shape as the broadcast inputs.

    Examples
    --------
    >>> from ptdenial.analytics import wilson_interval
    >>> low, high = wilson_interval([0, 5, 10], [10, 10, 10])
    >>> low.round(4).tolist(), high.round(4).tolist()
    ([0.0, 0.2366, 0.7225], [0.2775, 0.7634, 1.0])
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1); got {confidence!r}")
    k = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / m
        denom = 1 + z2 / m
        center = (p + z2 / (2 * m)) / denom
        half = z / denom * np.sqrt(p * (1 - p) / m + z2 / (4 * m * m))
        low = np.where(k <= 0, 0.0, np.clip(center - half, 0.0, 1.0))
        high = np.where(k >= m, 1.0, np.clip(center + half, 0.0, 1.0))
        low = np.where(m > 0, low, np.nan)
        high = np.where(m > 0, high, np.nan)
    return low, high


# --- labels and dimensions -------------------------------------------------------
def _labelled(claims: pd.DataFrame, reference=None) -> pd.DataFrame:
    if S.DENIED in claims.columns and S.PENDING in claims.columns:
        return claims
    if S.ADJUDICATION_DATE not in claims.columns and S.DENIED not in claims.columns:
        raise ClaimsSchemaError(
            "Denial analytics need outcomes: the claims have neither "
            f"{S.ADJUDICATION_DATE!r} (with {S.PAID_AMOUNT!r} and "
            f"{S.ADJUSTMENT_CODES!r}) nor {S.DENIED!r}. Pass the history with "
            "its remittance columns, not new claims.",
            missing=[S.ADJUDICATION_DATE],
        )
    return S.derive_outcomes(claims, reference=reference)


def _outcome_arrays(claims: pd.DataFrame):
    denied = claims[S.DENIED].fillna(False).to_numpy(dtype=bool)
    pending = claims[S.PENDING].fillna(True).to_numpy(dtype=bool)
    partial = (
        claims[S.PARTIALLY_DENIED].fillna(False).to_numpy(dtype=bool)
        if S.PARTIALLY_DENIED in claims.columns
        else np.zeros(len(claims), bool)
    )
    return denied & ~pending, pending, partial & ~pending


def _dimension(claims: pd.DataFrame, name: str) -> pd.Series:
    if name in _TIME_DIMENSIONS and name not in claims.columns:
        dates = pd.to_datetime(claims[S.DATE_OF_SERVICE])
        return dates.dt.to_period(_TIME_DIMENSIONS[name]).dt.to_timestamp().rename(name)
    if name not in claims.columns:
        raise ClaimsSchemaError(
            f"Cannot group by {name!r}: no such column. Columns present: "
            f"{list(claims.columns)}; virtual dimensions: "
            f"{sorted(_TIME_DIMENSIONS)}.",
            missing=[name],
        )
    col = claims[name]
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    if col.dtype == object and len(col) and isinstance(col.iloc[0], tuple):
        col = col.map("|".join)
    if not pd.api.types.is_datetime64_any_dtype(col.dtype):
        col = col.astype(object).where(col.notna(), _MISSING)
    return col.rename(name)


def _as_list(by) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def _filter_code(claims: pd.DataFrame, cpt_code) -> pd.DataFrame:
    if cpt_code is None:
        return claims
    codes = [cpt_code] if isinstance(cpt_code, str) else list(cpt_code)
    return claims.loc[claims[S.CPT_CODE].isin(codes).to_numpy(dtype=bool)]


def _rate_columns(frame: pd.DataFrame, confidence: float) -> pd.DataFrame:
    adjudicated = frame["adjudicated"].to_numpy(dtype=float)
    denied = frame["denied"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["denial_rate"] = np.where(adjudicated > 0, denied / adjudicated, np.nan)
    low, high = wilson_interval(denied, adjudicated, confidence=confidence)
    frame["ci_low"] = low
    frame["ci_high"] = high
    return frame


# --- denial rates ---------------------------------------------------------------
def denial_rates(
    claims: pd.DataFrame,
    by=S.PAYER_ID,
    *,
    cpt_code=None,
    confidence: float = 0.95,
    min_lines: int = 0,
    sort: bool = False,
    reference=None,
) -> pd.DataFrame:
    """Denial rate by one or more dimensions, with counts and Wilson intervals.

    Parameters
    ----------
    claims : pandas.DataFrame
        Validated claims with outcome columns (or ``denied``/``pending``).
    by : str or list of str
        Claim columns (``payer_id``, ``payer_class``, ``rendering_provider_id``,
        ``clinic_id`` ...) and/or ``"month"``, ``"quarter"``, ``"year"`` of
        the date of service. Missing values form their own group
        ``"(missing)"``.
    cpt_code : str or list of str, optional
        Only these codes' lines (e.g. ``"97112"``); all lines by default.
    confidence : float
        Level of the Wilson interval.
    min_lines : int
        Drop groups with fewer adjudicated lines.
    sort : bool
        Sort by denial rate, highest first (otherwise by the dimensions).
    reference : ptdenial.reference.Reference, optional
        Used to derive outcomes when the labels are absent.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, then ``lines``, ``pending``, ``adjudicated``,
        ``denied``, ``partially_denied``, ``denial_rate``, ``ci_low``,
        ``ci_high``, ``share_of_denials``, ``charges``, ``denied_charges``.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.analytics import denial_rates
    >>> lines = pd.DataFrame({
    ...     "payer_id": ["A", "A", "A", "B", "B"],
    ...     "cpt_code": ["97112"] * 5,
    ...     "date_of_service": pd.to_datetime(["2025-01-02"] * 5),
    ...     "charge_amount": [40.0] * 5,
    ...     "denied": pd.array([True, False, None, False, False], "boolean"),
    ...     "pending": pd.array([False, False, True, False, False], "boolean"),
    ... })
    >>> denial_rates(lines, "payer_id")[
    ...     ["payer_id", "lines", "pending", "adjudicated", "denied", "denial_rate"]]
      payer_id  lines  pending  adjudicated  denied  denial_rate
    0        A      3        1            2       1          0.5
    1        B      2        0            2       0          0.0
    """
    dims = _as_list(by)
    claims = _labelled(_filter_code(claims, cpt_code), reference)
    denied, pending, partial = _outcome_arrays(claims)
    charge = claims[S.CHARGE_AMOUNT].to_numpy(dtype=float, na_value=0.0)
    work = pd.DataFrame(
        {
            "lines": np.ones(len(claims), dtype=np.int64),
            "pending": pending.astype(np.int64),
            "adjudicated": (~pending).astype(np.int64),
            "denied": denied.astype(np.int64),
            "partially_denied": partial.astype(np.int64),
            "charges": charge,
            "denied_charges": np.where(denied, charge, 0.0),
        },
        index=claims.index,
    )
    if dims:
        keys = [_dimension(claims, d) for d in dims]
        out = work.groupby(keys, sort=True, dropna=False).sum().reset_index()
    else:
        out = work.sum().to_frame().T.astype(work.dtypes.to_dict())
    out = _rate_columns(out, confidence)
    total_denied = out["denied"].sum()
    out["share_of_denials"] = out["denied"] / total_denied if total_denied else np.nan
    if min_lines:
        out = out.loc[out["adjudicated"] >= min_lines]
    if sort:
        out = out.sort_values(["denial_rate", "adjudicated"], ascending=[False, False])
    cols = [
        *dims,
        "lines",
        "pending",
        "adjudicated",
        "denied",
        "partially_denied",
        "denial_rate",
        "ci_low",
        "ci_high",
        "share_of_denials",
        "charges",
        "denied_charges",
    ]
    return out[cols].reset_index(drop=True)


def monthly_trend(
    claims: pd.DataFrame,
    *,
    by=None,
    cpt_code=None,
    confidence: float = 0.95,
    reference=None,
) -> pd.DataFrame:
    """Denial rate per month of service (optionally per group), no month skipped.

    Months without adjudicated lines keep a row with ``adjudicated = 0`` and
    an empty rate, so a plotted trend shows the gap instead of bridging it.
    Recent months are incomplete while their lines are pending: read the
    ``pending`` column before reading a drop in the rate.

    Parameters
    ----------
    claims : pandas.DataFrame
    by : str or list of str, optional
        Extra dimensions, e.g. ``"payer_class"``.
    cpt_code : str or list of str, optional
    confidence : float
    reference : ptdenial.reference.Reference, optional

    Returns
    -------
    pandas.DataFrame
        ``month`` (first day of the month), the ``by`` columns, and the
        columns of :func:`denial_rates`.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.analytics import monthly_trend
    >>> lines = pd.DataFrame({
    ...     "cpt_code": ["97112"] * 3, "charge_amount": [40.0] * 3,
    ...     "date_of_service": pd.to_datetime(["2025-01-05", "2025-03-01",
    ...                                        "2025-03-09"]),
    ...     "denied": pd.array([True, False, True], "boolean"),
    ...     "pending": pd.array([False, False, False], "boolean"),
    ... })
    >>> t = monthly_trend(lines)
    >>> t["month"].dt.strftime("%Y-%m").tolist(), t["adjudicated"].tolist()
    (['2025-01', '2025-02', '2025-03'], [1, 0, 2])
    """
    dims = [MONTH, *_as_list(by)]
    out = denial_rates(
        claims, dims, cpt_code=cpt_code, confidence=confidence, reference=reference
    )
    if out.empty:
        return out
    months = pd.date_range(out[MONTH].min(), out[MONTH].max(), freq="MS")
    if len(dims) == 1:
        full = pd.DataFrame({MONTH: months})
    else:
        others = out[dims[1:]].drop_duplicates()
        full = pd.DataFrame({MONTH: months}).merge(others, how="cross")
    out = full.merge(out, on=dims, how="left")
    counts = [
        "lines",
        "pending",
        "adjudicated",
        "denied",
        "partially_denied",
        "charges",
        "denied_charges",
    ]
    for c in counts:
        out[c] = out[c].fillna(0)
        if c not in ("charges", "denied_charges"):
            out[c] = out[c].astype(np.int64)
    return out.sort_values(dims).reset_index(drop=True)


# --- expected payment ----------------------------------------------------------
def expected_payment(
    claims: pd.DataFrame, *, history=None, reference=None
) -> pd.Series:
    """Expected allowed amount per line, learned from paid lines of a history.

    The median allowed amount per unit of paid lines (adjudicated, not
    denied, ``allowed_amount > 0``) of the same ``payer_id`` and
    ``cpt_code``, times the line's units; where that cell has fewer than 5
    paid lines, the same by ``payer_class`` and code, then by code; lines
    still without a rate get their charge times the history's overall
    allowed-to-charge ratio (or their charge when the history has no paid
    lines).

    Parameters
    ----------
    claims : pandas.DataFrame
        Lines to price (history or new claims).
    history : pandas.DataFrame, optional
        Adjudicated lines to learn from; ``claims`` itself by default.
    reference : ptdenial.reference.Reference, optional

    Returns
    -------
    pandas.Series
        Float USD, named ``expected_payment``, aligned with ``claims``.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.analytics import expected_payment
    >>> h = pd.DataFrame({
    ...     "payer_id": ["A"] * 6, "payer_class": ["commercial"] * 6,
    ...     "cpt_code": ["97112"] * 6, "units": [1, 2, 1, 1, 2, 2],
    ...     "charge_amount": [50.0, 100, 50, 50, 100, 100],
    ...     "allowed_amount": [30.0, 60, 30, 30, 60, 0],
    ...     "denied": pd.array([False] * 5 + [True], "boolean"),
    ...     "pending": pd.array([False] * 6, "boolean"),
    ... })
    >>> expected_payment(h).tolist()
    [30.0, 60.0, 30.0, 30.0, 60.0, 60.0]
    """
    hist = claims if history is None else history
    if S.ALLOWED_AMOUNT in hist.columns and len(hist):
        hist = _labelled(hist, reference)
        denied, pending, _ = _outcome_arrays(hist)
        table = payment_table(hist, ~pending & ~denied)
    else:
        table = {"ratio": 1.0}
    result = price_lines(table, claims)
    return pd.Series(result, index=claims.index, name="expected_payment")


# --- CARC / RARC Pareto ------------------------------------------------------------
def _primary_codes(values: pd.Series, keep) -> tuple[np.ndarray, np.ndarray]:
    """Per line: the first code passing ``keep`` and its group (vectorized)."""
    codes, uniques = pd.factorize(values)
    first = np.empty(len(uniques) + 1, dtype=object)
    group = np.empty(len(uniques) + 1, dtype=object)
    for i, tup in enumerate(uniques):
        first[i], group[i] = _NONE_CODE, ""
        for item in tup or ():
            grp, _, code = str(item).rpartition("-")
            if keep(code):
                first[i], group[i] = code, grp
                break
    first[-1], group[-1] = _NONE_CODE, ""
    return first[codes], group[codes]


def _any_codes(values: pd.Series, keep) -> pd.Series:
    """Long table: line position -> every distinct code passing ``keep``."""
    codes, uniques = pd.factorize(values)
    per_unique = [
        sorted({str(item).rpartition("-")[2] for item in (tup or ())} - {""})
        for tup in uniques
    ]
    per_unique = [[c for c in u if keep(c)] for u in per_unique]
    pos, out = [], []
    for u, members in enumerate(per_unique):
        if not members:
            continue
        where = np.flatnonzero(codes == u)
        for c in members:
            pos.append(where)
            out.append(np.full(where.size, c, dtype=object))
    if not pos:
        return pd.Series([], dtype=object)
    return pd.Series(np.concatenate(out), index=np.concatenate(pos))


def carc_pareto(
    claims: pd.DataFrame,
    *,
    kind: str = "CARC",
    cpt_code=None,
    confidence: float = 0.95,
    top: int | None = None,
    history=None,
    reference=None,
) -> pd.DataFrame:
    """Pareto of denied lines by reason code, with dollars.

    Each denied line is attributed to its **primary** code: the first denial
    CARC listed on it (CARCs the catalogue marks as non-denial, such as 45 or
    2, are skipped), or the first RARC for ``kind="RARC"``. Primary
    attribution makes ``lines`` and the dollar columns add up to the denied
    totals, so the cumulative share ends at 1. ``lines_any`` counts denied
    lines that carry the code anywhere (these do not add up). Denied lines
    with no code are reported as ``"(none)"``.

    Parameters
    ----------
    claims : pandas.DataFrame
    kind : {"CARC", "RARC"}
    cpt_code : str or list of str, optional
    confidence : float
        Level of the Wilson interval of ``rate`` (lines denied with this
        primary code per adjudicated line).
    top : int, optional
        Keep the ``top`` codes and pool the rest into ``"(other)"``.
    history : pandas.DataFrame, optional
        Passed to :func:`expected_payment`.
    reference : ptdenial.reference.Reference, optional
        Supplies the code texts and the non-denial CARCs.

    Returns
    -------
    pandas.DataFrame
        ``kind``, ``code``, ``group`` (most frequent CAS group), ``text``,
        ``category``, ``lines``, ``share``, ``cumulative_share``, ``charges``,
        ``expected_payment``, ``lines_any``, ``rate``, ``ci_low``,
        ``ci_high``; sorted by ``lines``, largest first.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.analytics import carc_pareto
    >>> lines = pd.DataFrame({
    ...     "payer_id": ["A"] * 4, "payer_class": ["commercial"] * 4,
    ...     "cpt_code": ["97112"] * 4, "units": [1] * 4,
    ...     "charge_amount": [40.0] * 4, "allowed_amount": [0.0, 0, 0, 30],
    ...     "adjustment_codes": [("CO-45", "CO-50"), ("CO-50",), ("CO-4",),
    ...                          ("CO-45",)],
    ...     "denied": pd.array([True, True, True, False], "boolean"),
    ...     "pending": pd.array([False] * 4, "boolean"),
    ... })
    >>> carc_pareto(lines)[["code", "lines", "share", "cumulative_share"]]
      code  lines     share  cumulative_share
    0   50      2  0.666667          0.666667
    1    4      1  0.333333          1.000000
    """
    kind = kind.upper()
    if kind not in ("CARC", "RARC"):
        raise ValueError(f"kind must be 'CARC' or 'RARC'; got {kind!r}")
    if reference is None:
        from ptdenial.reference import load_reference

        reference = load_reference()
    claims = _labelled(_filter_code(claims, cpt_code), reference)
    column = S.ADJUSTMENT_CODES if kind == "CARC" else S.REMARK_CODES
    if column not in claims.columns:
        raise ClaimsSchemaError(
            f"carc_pareto(kind={kind!r}) needs the {column!r} column; columns "
            f"present: {list(claims.columns)}.",
            missing=[column],
        )
    denied, pending, _ = _outcome_arrays(claims)
    n_adjudicated = int((~pending).sum())
    if kind == "CARC":
        non_denial = reference.non_denial_carcs()

        def keep(code):
            return code not in non_denial

    else:

        def keep(code):
            return True

    values = claims[column].loc[denied]
    primary, group = _primary_codes(values, keep)
    payment = expected_payment(claims, history=history, reference=reference)
    charge = claims[S.CHARGE_AMOUNT].to_numpy(dtype=float, na_value=0.0)
    long = pd.DataFrame(
        {
            "code": primary,
            "group": group,
            "charges": charge[denied],
            "expected_payment": payment.to_numpy()[denied],
        }
    )
    out = long.groupby("code", sort=False).agg(
        lines=("charges", "size"),
        charges=("charges", "sum"),
        expected_payment=("expected_payment", "sum"),
    )
    groups = (
        long.loc[long["group"] != ""]
        .groupby("code")["group"]
        .agg(lambda g: g.value_counts().index[0])
    )
    out["group"] = groups.reindex(out.index).fillna("")
    anywhere = _any_codes(values, keep)
    lines_any = anywhere.value_counts() if len(anywhere) else pd.Series(dtype=int)
    out["lines_any"] = lines_any.reindex(out.index).fillna(0).astype(np.int64)
    out = out.sort_values(["lines", "charges"], ascending=False)
    if top is not None and len(out) > top:
        head, tail = out.iloc[:top], out.iloc[top:]
        other = pd.DataFrame(
            {
                "lines": [tail["lines"].sum()],
                "charges": [tail["charges"].sum()],
                "expected_payment": [tail["expected_payment"].sum()],
                "group": [""],
                "lines_any": [tail["lines_any"].sum()],
            },
            index=pd.Index(["(other)"], name="code"),
        )
        out = pd.concat([head, other])
    out = out.reset_index().rename(columns={"index": "code"})
    catalogue = reference.carc.loc[reference.carc["kind"].str.upper() == kind]
    catalogue = catalogue.drop_duplicates("code").set_index("code")
    out["kind"] = kind
    out["text"] = catalogue["text"].reindex(out["code"]).fillna("").to_numpy()
    out["category"] = (
        catalogue["category"].reindex(out["code"]).fillna("").to_numpy()
        if "category" in catalogue
        else ""
    )
    total = out["lines"].sum()
    out["share"] = out["lines"] / total if total else np.nan
    out["cumulative_share"] = out["share"].cumsum()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate"] = out["lines"] / n_adjudicated if n_adjudicated else np.nan
    low, high = wilson_interval(out["lines"], n_adjudicated, confidence=confidence)
    out["ci_low"], out["ci_high"] = low, high
    cols = [
        "kind",
        "code",
        "group",
        "text",
        "category",
        "lines",
        "share",
        "cumulative_share",
        "charges",
        "expected_payment",
        "lines_any",
        "rate",
        "ci_low",
        "ci_high",
    ]
    out["lines"] = out["lines"].astype(np.int64)
    return out[cols].reset_index(drop=True)


# --- rule hits ---------------------------------------------------------------------
def _hits_table(claims: pd.DataFrame, hits, reference) -> pd.DataFrame:
    if hits is None:
        from ptdenial.rules import apply_rules

        hits = apply_rules(claims, reference=reference)
    for attr in ("hits",):
        if hasattr(hits, attr) and not isinstance(hits, pd.DataFrame):
            hits = getattr(hits, attr)
    if isinstance(hits, dict):
        hits = hits["hits"]
    if not isinstance(hits, pd.DataFrame):
        raise TypeError(
            "hits must be the tidy rule-hit table of ptdenial.rules.apply_rules "
            f"(claim_id, line_number, rule_id, kind); got {type(hits).__name__}"
        )
    need = [S.CLAIM_ID, S.LINE_NUMBER, "rule_id"]
    missing = [c for c in need if c not in hits.columns]
    if missing:
        raise ClaimsSchemaError(
            f"rule-hit table lacks columns {missing}; columns present: "
            f"{list(hits.columns)}. Pass the hits of ptdenial.rules.apply_rules.",
            missing=missing,
        )
    return hits


def rule_hit_matrix(claims: pd.DataFrame, hits=None, *, reference=None):
    """One boolean column per rule id, aligned with the claim lines.

    Parameters
    ----------
    claims : pandas.DataFrame
    hits : pandas.DataFrame or rule result, optional
        Tidy hits (``claim_id``, ``line_number``, ``rule_id`` [, ``kind``]);
        computed with :func:`ptdenial.rules.apply_rules` when omitted.
    reference : ptdenial.reference.Reference, optional

    Returns
    -------
    (matrix, kinds) : tuple
        ``matrix`` is a boolean DataFrame indexed like ``claims`` with one
        column per rule id; ``kinds`` maps rule id to its kind (``""`` when
        the hits carry none).

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.analytics import rule_hit_matrix
    >>> lines = pd.DataFrame({"claim_id": ["C1", "C1", "C2"],
    ...                       "line_number": [1, 2, 1]})
    >>> hits = pd.DataFrame({"claim_id": ["C1", "C2"], "line_number": [2, 1],
    ...                      "rule_id": ["GP_MISSING", "GP_MISSING"],
    ...                      "kind": ["hard", "hard"]})
    >>> m, kinds = rule_hit_matrix(lines, hits)
    >>> m["GP_MISSING"].tolist(), kinds
    ([False, True, True], {'GP_MISSING': 'hard'})
    """
    hits = _hits_table(claims, hits, reference)
    keys = pd.MultiIndex.from_arrays(
        [
            claims[S.CLAIM_ID].astype(str).to_numpy(),
            claims[S.LINE_NUMBER].astype("Int64").astype(str).to_numpy(),
        ]
    )
    pos = keys.get_indexer(
        pd.MultiIndex.from_arrays(
            [
                hits[S.CLAIM_ID].astype(str).to_numpy(),
                hits[S.LINE_NUMBER].astype("Int64").astype(str).to_numpy(),
            ]
        )
    )
    rule_ids = hits["rule_id"].astype(str).to_numpy()
    kinds_col = (
        hits["kind"].astype(str).to_numpy()
        if "kind" in hits.columns
        else np.full(len(hits), "", dtype=object)
    )
    matrix = {}
    kinds = {}
    for rule in sorted(pd.unique(rule_ids)):
        sel = (rule_ids == rule) & (pos >= 0)
        col = np.zeros(len(claims), dtype=bool)
        col[pos[sel]] = True
        matrix[rule] = col
        ks = kinds_col[rule_ids == rule]
        kinds[rule] = str(ks[0]) if len(ks) else ""
    return pd.DataFrame(matrix, index=claims.index, dtype=bool), kinds


def rule_outcome_table(
    claims: pd.DataFrame,
    hits=None,
    *,
    cpt_code=None,
    confidence: float = 0.95,
    reference=None,
) -> pd.DataFrame:
    """Cross-tab of rule hits against outcomes: lines, denied, rate, lift.

    One row per rule id with the adjudicated lines it fired on, how many were
    denied, the denial rate with its Wilson interval, and the **lift**: the
    rate divided by the rate of lines on which no rule fired (the last row,
    ``"(no rule hit)"``). A line with several hits counts under each.

    Parameters
    ----------
    claims : pandas.DataFrame
        Claims with outcomes.
    hits : pandas.DataFrame or rule result, optional
        Tidy hits; computed with :func:`ptdenial.rules.apply_rules` when
        omitted (on all lines, before any ``cpt_code`` filter).
    cpt_code : str or list of str, optional
    confidence : float
    reference : ptdenial.reference.Reference, optional

    Returns
    -------
    pandas.DataFrame
        ``rule_id``, ``kind``, ``lines``, ``pending``, ``adjudicated``,
        ``denied``, ``denial_rate``, ``ci_low``, ``ci_high``, ``lift``,
        ``denied_charges``; rules sorted by ``denied``.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.analytics import rule_outcome_table
    >>> lines = pd.DataFrame({
    ...     "claim_id": ["C1", "C2", "C3", "C4"], "line_number": [1] * 4,
    ...     "cpt_code": ["97112"] * 4, "charge_amount": [40.0] * 4,
    ...     "denied": pd.array([True, True, False, False], "boolean"),
    ...     "pending": pd.array([False] * 4, "boolean"),
    ... })
    >>> hits = pd.DataFrame({"claim_id": ["C1", "C2"], "line_number": [1, 1],
    ...                      "rule_id": ["KX_MISSING"] * 2, "kind": ["hard"] * 2})
    >>> rule_outcome_table(lines, hits)[["rule_id", "adjudicated", "denied",
    ...                                   "denial_rate"]]
             rule_id  adjudicated  denied  denial_rate
    0     KX_MISSING            2       2          1.0
    1  (no rule hit)            2       0          0.0
    """
    matrix, kinds = rule_hit_matrix(claims, hits, reference=reference)
    keep = _filter_code(claims, cpt_code).index
    claims = _labelled(claims.loc[keep], reference)
    matrix = matrix.loc[keep]
    denied, pending, _ = _outcome_arrays(claims)
    charge = claims[S.CHARGE_AMOUNT].to_numpy(dtype=float, na_value=0.0)
    m = matrix.to_numpy(dtype=bool)
    no_hit = ~m.any(axis=1) if m.shape[1] else np.ones(len(claims), bool)
    cols = np.column_stack([m, no_hit]) if m.shape[1] else no_hit[:, None]
    names = [*matrix.columns, NO_RULE_HIT]
    adj = (~pending).astype(float)
    out = pd.DataFrame(
        {
            "rule_id": names,
            "kind": [kinds.get(n, "") for n in matrix.columns] + [""],
            "lines": cols.sum(axis=0).astype(np.int64),
            "pending": (cols & pending[:, None]).sum(axis=0).astype(np.int64),
            "adjudicated": (cols * adj[:, None]).sum(axis=0).astype(np.int64),
            "denied": (cols & denied[:, None]).sum(axis=0).astype(np.int64),
            "denied_charges": (cols * (charge * denied)[:, None]).sum(axis=0),
        }
    )
    out = _rate_columns(out, confidence)
    base = out["denial_rate"].iloc[-1]
    out["lift"] = out["denial_rate"] / base if base and base > 0 else np.nan
    rules = out.iloc[:-1].sort_values(["denied", "lines"], ascending=False)
    out = pd.concat([rules, out.iloc[-1:]], ignore_index=True)
    return out[
        [
            "rule_id",
            "kind",
            "lines",
            "pending",
            "adjudicated",
            "denied",
            "denial_rate",
            "ci_low",
            "ci_high",
            "lift",
            "denied_charges",
        ]
    ]


def revenue_at_risk(
    claims: pd.DataFrame,
    hits=None,
    *,
    by=None,
    cpt_code=None,
    kinds=_HARD,
    history=None,
    reference=None,
) -> pd.DataFrame:
    """Denied dollars, and the part a billing rule would have prevented.

    ``revenue_at_risk`` is the expected payment (:func:`expected_payment`) of
    denied lines; ``recoverable_revenue`` is the part on denied lines where a
    rule of one of ``kinds`` fired (a scrubber would have stopped them before
    submission). Pending lines are reported apart (``pending_lines``,
    ``pending_expected_payment``), never as denied or paid.

    Parameters
    ----------
    claims : pandas.DataFrame
        Claims with outcomes.
    hits : pandas.DataFrame or rule result, optional
        Tidy rule hits; computed with :func:`ptdenial.rules.apply_rules` when
        omitted.
    by : str or list of str, optional
        Dimensions (see :func:`denial_rates`); one ``"(all)"`` row otherwise.
    cpt_code : str or list of str, optional
    kinds : sequence of str or None
        Rule kinds that count as recoverable (``("hard",)``); ``None`` = any
        rule hit.
    history : pandas.DataFrame, optional
        Passed to :func:`expected_payment`.
    reference : ptdenial.reference.Reference, optional

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns (or ``group``), ``adjudicated``, ``denied``,
        ``denied_charges``, ``revenue_at_risk``, ``recoverable_lines``,
        ``recoverable_revenue``, ``recoverable_share``, ``pending_lines``,
        ``pending_expected_payment``.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.analytics import revenue_at_risk
    >>> lines = pd.DataFrame({
    ...     "claim_id": ["C1", "C2", "C3"], "line_number": [1, 1, 1],
    ...     "payer_id": ["A"] * 3, "payer_class": ["medicare"] * 3,
    ...     "cpt_code": ["97112"] * 3, "units": [1, 1, 1],
    ...     "charge_amount": [50.0] * 3, "allowed_amount": [0.0, 0.0, 30.0],
    ...     "denied": pd.array([True, True, False], "boolean"),
    ...     "pending": pd.array([False] * 3, "boolean"),
    ... })
    >>> hits = pd.DataFrame({"claim_id": ["C1"], "line_number": [1],
    ...                      "rule_id": ["GP_MISSING"], "kind": ["hard"]})
    >>> r = revenue_at_risk(lines, hits)
    >>> r[["group", "denied", "recoverable_lines", "recoverable_share"]]
       group  denied  recoverable_lines  recoverable_share
    0  (all)       2                  1                0.5
    """
    matrix, rule_kinds = rule_hit_matrix(claims, hits, reference=reference)
    keep = _filter_code(claims, cpt_code).index
    claims = _labelled(claims.loc[keep], reference)
    matrix = matrix.loc[keep]
    if kinds is None:
        chosen = list(matrix.columns)
    else:
        chosen = [r for r in matrix.columns if rule_kinds.get(r, "") in set(kinds)]
    fixable = (
        matrix[chosen].to_numpy(dtype=bool).any(axis=1)
        if chosen
        else np.zeros(len(claims), bool)
    )
    denied, pending, _ = _outcome_arrays(claims)
    charge = claims[S.CHARGE_AMOUNT].to_numpy(dtype=float, na_value=0.0)
    pay = expected_payment(claims, history=history, reference=reference).to_numpy()
    recover = denied & fixable
    work = pd.DataFrame(
        {
            "adjudicated": (~pending).astype(np.int64),
            "denied": denied.astype(np.int64),
            "denied_charges": np.where(denied, charge, 0.0),
            "revenue_at_risk": np.where(denied, pay, 0.0),
            "recoverable_lines": recover.astype(np.int64),
            "recoverable_revenue": np.where(recover, pay, 0.0),
            "pending_lines": pending.astype(np.int64),
            "pending_expected_payment": np.where(pending, pay, 0.0),
        },
        index=claims.index,
    )
    dims = _as_list(by)
    if dims:
        keys = [_dimension(claims, d) for d in dims]
        out = work.groupby(keys, sort=True, dropna=False).sum().reset_index()
    else:
        out = work.sum().to_frame().T.astype(work.dtypes.to_dict())
        out.insert(0, "group", "(all)")
        dims = ["group"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["recoverable_share"] = np.where(
            out["revenue_at_risk"] > 0,
            out["recoverable_revenue"] / out["revenue_at_risk"],
            np.nan,
        )
    return out[
        [
            *dims,
            "adjudicated",
            "denied",
            "denied_charges",
            "revenue_at_risk",
            "recoverable_lines",
            "recoverable_revenue",
            "recoverable_share",
            "pending_lines",
            "pending_expected_payment",
        ]
    ].reset_index(drop=True)


def rule_what_if(
    claims: pd.DataFrame,
    hits=None,
    *,
    rules=None,
    comparable=(S.PAYER_ID, S.CPT_CODE),
    min_comparable: int = 30,
    cpt_code=None,
    confidence: float = 0.95,
    history=None,
    reference=None,
) -> pd.DataFrame:
    """Expected denials (and dollars) avoided if lines with a rule hit were fixed.

    Counterfactual: a fixed line would be denied at the rate of **comparable
    lines without that hit**: adjudicated lines of the same ``comparable``
    cell (payer and code by default) on which the rule did not fire. Cells
    with fewer than ``min_comparable`` such lines fall back to the same
    payer class and code, then the code, then all lines without the hit.

    For rule *r* with adjudicated hit lines *H*::

        denials_after_fix = sum over H of rate_without_r(cell of the line)
        denials_avoided   = observed denials in H - denials_after_fix
        dollars_avoided   = sum over H of (denied - rate_without_r) * expected payment

    The interval ``avoided_low``/``avoided_high`` comes from the Wilson
    interval of the hit lines' own denial rate, with the counterfactual held
    fixed. Caveats: lines often carry several hits, so the per-rule figures
    overlap and do not add up; the comparison is observational (lines with
    the hit may differ in ways the cell does not capture); a negative value
    means the hit lines were denied *less* often than comparable lines.

    Parameters
    ----------
    claims : pandas.DataFrame
        Claims with outcomes.
    hits : pandas.DataFrame or rule result, optional
    rules : list of str, optional
        Rule ids to evaluate (all rules with hits by default).
    comparable : sequence of str
        Columns defining comparable lines.
    min_comparable : int
    cpt_code : str or list of str, optional
    confidence : float
    history : pandas.DataFrame, optional
        Passed to :func:`expected_payment`.
    reference : ptdenial.reference.Reference, optional

    Returns
    -------
    pandas.DataFrame
        ``rule_id``, ``kind``, ``hit_lines`` (adjudicated), ``denied``,
        ``denial_rate``, ``counterfactual_rate``, ``denials_after_fix``,
        ``denials_avoided``, ``avoided_low``, ``avoided_high``,
        ``dollars_avoided``; sorted by ``denials_avoided``.

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.analytics import rule_what_if
    >>> n = 100
    >>> lines = pd.DataFrame({
    ...     "claim_id": [f"C{i}" for i in range(n)], "line_number": [1] * n,
    ...     "payer_id": ["A"] * n, "payer_class": ["commercial"] * n,
    ...     "cpt_code": ["97112"] * n, "units": [1] * n,
    ...     "charge_amount": [50.0] * n, "allowed_amount": [30.0] * n,
    ...     "denied": pd.array([i < 10 or (20 <= i < 28) for i in range(n)],
    ...                        "boolean"),
    ...     "pending": pd.array([False] * n, "boolean"),
    ... })
    >>> hits = pd.DataFrame({"claim_id": [f"C{i}" for i in range(20)],
    ...                      "line_number": [1] * 20, "rule_id": ["GP_MISSING"] * 20,
    ...                      "kind": ["hard"] * 20})
    >>> w = rule_what_if(lines, hits, min_comparable=10)
    >>> w[["hit_lines", "denied", "counterfactual_rate", "denials_avoided"]].round(2)
       hit_lines  denied  counterfactual_rate  denials_avoided
    0         20      10                  0.1              8.0
    """
    matrix, rule_kinds = rule_hit_matrix(claims, hits, reference=reference)
    keep = _filter_code(claims, cpt_code).index
    claims = _labelled(claims.loc[keep], reference)
    matrix = matrix.loc[keep]
    denied, pending, _ = _outcome_arrays(claims)
    adjudicated = ~pending
    pay = expected_payment(claims, history=history, reference=reference).to_numpy()
    levels = [tuple(comparable)]
    for fallback in ((S.PAYER_CLASS, S.CPT_CODE), (S.CPT_CODE,)):
        if fallback != tuple(comparable):
            levels.append(fallback)
    levels = [lv for lv in levels if all(c in claims.columns for c in lv)]
    cell_codes = [
        claims.groupby(list(lv), sort=False, dropna=False, observed=True)
        .ngroup()
        .to_numpy()
        for lv in levels
    ]
    wanted = list(matrix.columns) if rules is None else list(rules)
    rows = []
    for rule in wanted:
        if rule not in matrix.columns:
            continue
        hit = matrix[rule].to_numpy(dtype=bool)
        h = hit & adjudicated
        if not h.any():
            continue
        base = adjudicated & ~hit
        overall = denied[base].mean() if base.any() else np.nan
        rate = np.full(len(claims), np.nan)
        for codes in cell_codes:
            size = codes.max() + 1
            n_cell = np.bincount(codes[base], minlength=size)
            d_cell = np.bincount(codes[base], weights=denied[base], minlength=size)
            with np.errstate(divide="ignore", invalid="ignore"):
                cell_rate = np.where(n_cell >= min_comparable, d_cell / n_cell, np.nan)
            fill = np.isnan(rate)
            rate[fill] = cell_rate[codes[fill]]
        rate = np.where(np.isnan(rate), overall, rate)
        n_hit = int(h.sum())
        observed = int(denied[h].sum())
        after = float(rate[h].sum())
        low, high = wilson_interval(observed, n_hit, confidence=confidence)
        rows.append(
            {
                "rule_id": rule,
                "kind": rule_kinds.get(rule, ""),
                "hit_lines": n_hit,
                "denied": observed,
                "denial_rate": observed / n_hit,
                "counterfactual_rate": after / n_hit,
                "denials_after_fix": after,
                "denials_avoided": observed - after,
                "avoided_low": float(low) * n_hit - after,
                "avoided_high": float(high) * n_hit - after,
                "dollars_avoided": float(((denied[h] - rate[h]) * pay[h]).sum()),
            }
        )
    cols = [
        "rule_id",
        "kind",
        "hit_lines",
        "denied",
        "denial_rate",
        "counterfactual_rate",
        "denials_after_fix",
        "denials_avoided",
        "avoided_low",
        "avoided_high",
        "dollars_avoided",
    ]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values("denials_avoided", ascending=False, ignore_index=True)
