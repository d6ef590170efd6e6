"""The reference tables' specs and the reader of one table, shipped or a user's.

:data:`TABLES` says, per table, its file in this package, its key columns,
required columns and column types; :func:`read_reference_table` reads one
table with clean dtypes, or fails with :class:`ReferenceDataError` naming
the table, the file and the fix.
"""

from __future__ import annotations

import dataclasses
import functools
from importlib import resources

import pandas as pd

from ptdenial.exceptions import ReferenceDataError

__all__ = ["TABLES", "read_reference_table"]


@dataclasses.dataclass(frozen=True)
class _TableSpec:
    file: str
    keys: tuple[str, ...]
    required: tuple[str, ...]
    bool_columns: tuple[str, ...] = ()
    date_columns: tuple[str, ...] = ()
    str_columns: tuple[str, ...] = ()
    #: true/false, empty = not set (pandas nullable boolean; payer rows inherit it)
    nullable_bool_columns: tuple[str, ...] = ()
    #: numbers where empty = not set (NaN) and ``none`` = explicitly no limit (inf)
    limit_columns: tuple[str, ...] = ()


#: Payer policy fields that are true/false (empty on a payer row: inherit the
#: class default; empty on a class row: the built-in default).
POLICY_BOOLS = (
    "requires_gp",
    "cq_applies",
    "kx_applies",
    "poc_rules_apply",
    "referring_npi_required",
    "mppr_applies",
    "accepts_59_bypass",
    "auth_required",
)
#: Payer policy fields that are numbers (empty: inherit / none known;
#: ``none``: explicitly no limit).
POLICY_NUMBERS = (
    "daily_timed_unit_cap",
    "pta_payment_factor",
    "filing_limit_days",
    "visit_limit",
    "appeal_deadline_days",
)

TABLES: dict[str, _TableSpec] = {
    "unit_table": _TableSpec(
        "eight_minute_units.csv",
        ("units",),
        ("units", "min_minutes", "max_minutes", "source", "verified"),
        bool_columns=("verified",),
        date_columns=("effective_from", "effective_to"),
    ),
    "kx_thresholds": _TableSpec(
        "kx_thresholds.csv",
        ("year",),
        ("year", "kx_threshold", "tmr_threshold", "source", "verified"),
        bool_columns=("verified",),
        date_columns=("effective_from", "effective_to"),
    ),
    "ncci_ptp": _TableSpec(
        "ncci_ptp.csv",
        ("column1", "column2", "effective_from"),
        ("column1", "column2", "modifier_indicator", "source", "verified"),
        bool_columns=("verified",),
        date_columns=("effective_from", "effective_to"),
        str_columns=("column1", "column2", "rationale", "ncci_version"),
    ),
    "mue": _TableSpec(
        "mue.csv",
        ("cpt_code",),
        ("cpt_code", "mue_units", "source", "verified"),
        bool_columns=("verified",),
        date_columns=("effective_from", "effective_to"),
        str_columns=("cpt_code", "mai", "rationale", "mue_version"),
    ),
    "dx_support": _TableSpec(
        "dx_support.csv",
        ("code_prefix",),
        ("code_prefix", "supports_97112", "source", "verified"),
        bool_columns=("supports_97112", "requires_documented_deficit", "verified"),
        str_columns=("code_prefix", "group", "description"),
    ),
    "carc": _TableSpec(
        "carc_catalogue.csv",
        ("kind", "code"),
        ("kind", "code", "text", "is_denial", "source", "verified"),
        bool_columns=("is_denial", "partial_denial", "verified"),
        str_columns=("kind", "code", "default_group", "category"),
    ),
    "payer_policies": _TableSpec(
        "payer_policies.csv",
        ("payer_class", "payer_id"),
        ("payer_class", "payer_id", "source", "verified"),
        bool_columns=("verified",),
        nullable_bool_columns=POLICY_BOOLS,
        date_columns=("effective_from", "effective_to"),
        str_columns=(
            "payer_class",
            "payer_id",
            "payer_name",
            "payer_match",
            "time_rule",
            "verified_fields",
        ),
        limit_columns=POLICY_NUMBERS,
    ),
    "parameters": _TableSpec(
        "parameters.csv",
        ("name",),
        ("name", "value", "source", "verified"),
        bool_columns=("verified",),
        date_columns=("effective_from", "effective_to"),
        str_columns=("name", "value", "unit"),
    ),
    "therapy_codes": _TableSpec(
        "therapy_codes.csv",
        ("code",),
        ("code", "timed", "always_therapy", "source", "verified"),
        bool_columns=("timed", "always_therapy", "verified"),
        str_columns=(
            "code",
            "therapy_list",
            "discipline",
            "evaluation",
            "interventions",
            "attendance",
            "not_paid_by",
            "use_instead",
            "description",
        ),
    ),
    "fee_schedule": _TableSpec(
        "fee_schedule.csv",
        ("cpt_code", "year"),
        ("cpt_code", "year", "allowed_per_unit", "source", "verified"),
        bool_columns=("verified",),
        str_columns=("cpt_code",),
    ),
    "icd10cm_changes": _TableSpec(
        "icd10cm_changes.csv",
        ("code", "effective_from"),
        ("code", "billable_before", "billable_from", "effective_from", "source"),
        bool_columns=("billable_before", "billable_from", "verified"),
        date_columns=("effective_from",),
        str_columns=("code", "change"),
    ),
}

_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}


def _to_bool(series: pd.Series, *, table: str, column: str, source: str) -> pd.Series:
    text = series.astype("string").str.strip().str.lower().fillna("")
    bad = ~text.isin(_TRUE | _FALSE)
    if bad.any():
        raise ReferenceDataError(
            f"Reference table {table!r} ({source}): column {column!r} must be "
            f"true/false; got {text[bad].iloc[0]!r}. Fix the value in the file."
        )
    return text.isin(_TRUE)


def _to_nullable_bool(series, *, table: str, column: str, source: str) -> pd.Series:
    text = series.astype("string").str.strip().str.lower().fillna("")
    values = _to_bool(text, table=table, column=column, source=source)
    return values.astype("boolean").mask(text == "")


def _to_limit(series, *, table: str, column: str, source: str) -> pd.Series:
    text = series.astype("string").str.strip().str.lower().fillna("")
    none = text.isin({"none", "no limit", "unlimited"})
    number = pd.to_numeric(text.mask(none | (text == "")), errors="coerce")
    bad = number.isna() & ~none & (text != "")
    if bad.any():
        raise ReferenceDataError(
            f"Reference table {table!r} ({source}): column {column!r} must be a "
            f"number, empty (not set) or 'none' (no limit); got "
            f"{text[bad].iloc[0]!r}. Fix the value in the file."
        )
    return number.astype(float).mask(none, float("inf"))


def read_reference_table(name: str, path=None) -> pd.DataFrame:
    """Read one reference table, shipped or from a user's file, with clean dtypes.

    Parameters
    ----------
    name : str
        A key of :data:`TABLES`, e.g. ``"payer_policies"``.
    path : str or Path, optional
        A CSV file that follows the shipped file's columns. Defaults to the
        shipped file.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> from ptdenial.reference import read_reference_table
    >>> read_reference_table("mue")[["cpt_code", "mue_units", "verified"]]
      cpt_code  mue_units  verified
    0    97112          4     False
    """
    if path is None and name in TABLES:
        return _read_shipped(name).copy()
    return _read_table(name, path)


@functools.cache
def _read_shipped(name: str) -> pd.DataFrame:
    return _read_table(name, None)


def _read_table(name: str, path=None) -> pd.DataFrame:
    if name not in TABLES:
        raise ReferenceDataError(
            f"Unknown reference table {name!r}; expected one of {sorted(TABLES)}."
        )
    spec = TABLES[name]
    if path is None:
        source = f"ptdenial/reference/{spec.file}"
        with resources.files("ptdenial.reference").joinpath(spec.file).open("rb") as fh:
            df = pd.read_csv(fh, dtype=str, keep_default_na=False)
    else:
        source = str(path)
        try:
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (OSError, pd.errors.ParserError) as exc:
            raise ReferenceDataError(
                f"Cannot read reference table {name!r} from {source}: {exc}"
            ) from exc
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in spec.required if c not in df.columns]
    if missing:
        raise ReferenceDataError(
            f"Reference table {name!r} ({source}) lacks columns {missing}; "
            f"columns present: {list(df.columns)}. Start from the shipped "
            f"file ptdenial/reference/{spec.file}."
        )
    for col in df.columns:
        if col in spec.bool_columns:
            df[col] = _to_bool(df[col], table=name, column=col, source=source)
        elif col in spec.nullable_bool_columns:
            df[col] = _to_nullable_bool(df[col], table=name, column=col, source=source)
        elif col in spec.limit_columns:
            df[col] = _to_limit(df[col], table=name, column=col, source=source)
        elif col in spec.date_columns:
            df[col] = pd.to_datetime(df[col].replace("", None), errors="raise")
        elif col in spec.str_columns or col in ("source",):
            df[col] = df[col].astype(str).str.strip()
        else:
            converted = pd.to_numeric(df[col].replace("", None), errors="coerce")
            # keep text columns (e.g. free text) as text
            nonempty = df[col].str.strip() != ""
            if converted[nonempty].notna().all() and nonempty.any():
                df[col] = converted
            else:
                df[col] = df[col].astype(str)
    return df
