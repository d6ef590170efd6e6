"""Shared by every table: outcome labels, grouping dimensions, code filter."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.exceptions import ClaimsSchemaError

MONTH = "month"
QUARTER = "quarter"
YEAR = "year"
_TIME_DIMENSIONS = {MONTH: "M", QUARTER: "Q", YEAR: "Y"}
_MISSING = "(missing)"


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
