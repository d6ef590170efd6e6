"""Pareto of denied lines by reason code (CARC or RARC), with dollars."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.analytics._common import _filter_code, _labelled, _outcome_arrays
from ptdenial.analytics._rates import wilson_interval
from ptdenial.analytics._revenue import expected_payment
from ptdenial.exceptions import ClaimsSchemaError

_NONE_CODE = "(none)"


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
    payment = expected_payment(claims, history=history, reference=reference)
    out = _code_totals(claims, column, denied, payment, _code_filter(kind, reference))
    if top is not None and len(out) > top:
        out = _pool_tail(out, top)
    out = out.reset_index().rename(columns={"index": "code"})
    out = _describe_codes(out, kind, reference)
    out = _shares(out, int((~pending).sum()), confidence)
    return out[_PARETO_COLUMNS].reset_index(drop=True)


_PARETO_COLUMNS = [
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


def _code_filter(kind: str, reference):
    """Which codes count as a denial reason: all RARCs, CARCs but non-denial ones."""
    if kind == "CARC":
        non_denial = reference.non_denial_carcs()

        def keep(code):
            return code not in non_denial

    else:

        def keep(code):
            return True

    return keep


def _code_totals(claims, column, denied, payment, keep) -> pd.DataFrame:
    """Denied lines and dollars per primary code, largest first; index ``code``."""
    values = claims[column].loc[denied]
    primary, group = _primary_codes(values, keep)
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
    return out.sort_values(["lines", "charges"], ascending=False)


def _pool_tail(out: pd.DataFrame, top: int) -> pd.DataFrame:
    """Keep the ``top`` codes; the others become one ``"(other)"`` row."""
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
    return pd.concat([head, other])


def _describe_codes(out: pd.DataFrame, kind: str, reference) -> pd.DataFrame:
    """The kind, and each code's text and category from the catalogue."""
    catalogue = reference.carc.loc[reference.carc["kind"].str.upper() == kind]
    catalogue = catalogue.drop_duplicates("code").set_index("code")
    out["kind"] = kind
    out["text"] = catalogue["text"].reindex(out["code"]).fillna("").to_numpy()
    out["category"] = (
        catalogue["category"].reindex(out["code"]).fillna("").to_numpy()
        if "category" in catalogue
        else ""
    )
    return out


def _shares(out: pd.DataFrame, n_adjudicated: int, confidence: float):
    """Share of denied lines, its running total, and the rate per adjudicated line."""
    total = out["lines"].sum()
    out["share"] = out["lines"] / total if total else np.nan
    out["cumulative_share"] = out["share"].cumsum()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate"] = out["lines"] / n_adjudicated if n_adjudicated else np.nan
    low, high = wilson_interval(out["lines"], n_adjudicated, confidence=confidence)
    out["ci_low"], out["ci_high"] = low, high
    out["lines"] = out["lines"].astype(np.int64)
    return out
