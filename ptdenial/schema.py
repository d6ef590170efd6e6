"""The claim-line table contract (SCHEMA.md, version 1) in code.

Column names are defined once here and referred to everywhere else through
these constants. :func:`validate_claims` coerces a raw table (CSV strings,
Parquet types) into canonical dtypes and splits it into valid rows and a
quarantine table; no input row is ever lost. :func:`derive_outcomes` adds the
``denied``, ``partially_denied`` and ``pending`` labels from the remittance
columns.

Canonical in-memory dtypes
--------------------------
* string columns: pandas ``string`` dtype;
* integer columns: ``Int64`` (nullable);
* decimal (USD) columns: ``float64``;
* date columns: ``datetime64[ns]``, normalised to midnight;
* boolean columns: ``boolean`` (nullable);
* category columns: a fixed :class:`pandas.CategoricalDtype`;
* list columns: ``object`` holding tuples of upper-case strings (``()`` when
  empty), hashable so that they factorize.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
from typing import NamedTuple

import numpy as np
import pandas as pd

from ptdenial._distinct import arrow_codes, arrow_text, on_distinct
from ptdenial.exceptions import ClaimsSchemaError

__all__ = [
    "SCHEMA_VERSION",
    "ColumnSpec",
    "COLUMNS",
    "REQUIRED_COLUMNS",
    "OPTIONAL_COLUMNS",
    "OUTCOME_COLUMNS",
    "LABEL_COLUMNS",
    "LIST_COLUMNS",
    "VISIT_KEYS",
    "LINE_KEYS",
    "PAYER_CLASSES",
    "PROVIDER_CREDENTIALS",
    "DEFICITS",
    "INTERVENTIONS",
    "SCORED_COLUMNS",
    "QUARANTINE_COLUMNS",
    "RISK_BANDS",
    "Check",
    "ValidationResult",
    "validate_claims",
    "check_required_columns",
    "parse_list_column",
    "arrow_join_lists",
    "derive_outcomes",
    "normalize_icd10",
]

SCHEMA_VERSION = 1

# --- column names -----------------------------------------------------------
CLAIM_ID = "claim_id"
LINE_NUMBER = "line_number"
PATIENT_ID = "patient_id"
PAYER_ID = "payer_id"
PAYER_CLASS = "payer_class"
DATE_OF_SERVICE = "date_of_service"
CPT_CODE = "cpt_code"
UNITS = "units"
CHARGE_AMOUNT = "charge_amount"
DIAGNOSIS_CODES = "diagnosis_codes"
RENDERING_PROVIDER_ID = "rendering_provider_id"

MODIFIERS = "modifiers"
MINUTES = "minutes"
VISIT_TIMED_MINUTES = "visit_timed_minutes"
PLACE_OF_SERVICE = "place_of_service"
PROVIDER_CREDENTIAL = "provider_credential"
CLINIC_ID = "clinic_id"
REFERRING_PROVIDER_ID = "referring_provider_id"
SUBMISSION_DATE = "submission_date"
PRIOR_AUTH_NUMBER = "prior_auth_number"
AUTH_VISITS_APPROVED = "auth_visits_approved"
AUTH_VISITS_USED = "auth_visits_used"
EPISODE_START_DATE = "episode_start_date"
VISIT_NUMBER = "visit_number"
POC_CERTIFIED_DATE = "poc_certified_date"
CERT_THROUGH_DATE = "cert_through_date"
LAST_PROGRESS_REPORT_DATE = "last_progress_report_date"
VISITS_SINCE_PROGRESS_REPORT = "visits_since_progress_report"
DEFICITS_DOCUMENTED = "deficits_documented"
INTERVENTIONS_DOCUMENTED = "interventions_documented"
OBJECTIVE_MEASURES_DOCUMENTED = "objective_measures_documented"
NOTE_SIGNED_DATE = "note_signed_date"
NOTE_TEXT = "note_text"
YTD_THERAPY_ALLOWED = "ytd_therapy_allowed"

ADJUDICATION_DATE = "adjudication_date"
ALLOWED_AMOUNT = "allowed_amount"
PAID_AMOUNT = "paid_amount"
ADJUSTMENT_CODES = "adjustment_codes"
REMARK_CODES = "remark_codes"
DENIED = "denied"
PARTIALLY_DENIED = "partially_denied"
PENDING = "pending"

# scored output
DENIAL_PROBABILITY = "denial_probability"
RISK_BAND = "risk_band"
EXPECTED_LOSS = "expected_loss"
RULE_HITS = "rule_hits"
REASONS = "reasons"
SUGGESTED_FIXES = "suggested_fixes"
MODEL_VERSION = "model_version"
SCORED_AT = "scored_at"

# quarantine
SOURCE_ROW = "source_row"
Q_COLUMN = "column"
Q_CHECK = "check"
Q_VALUE = "value"
Q_REASON = "reason"
Q_N_FAILURES = "n_failures"
Q_SOURCE = "source"

# --- vocabularies -------------------------------------------------------------
PAYER_CLASSES = (
    "medicare",
    "medicare_advantage",
    "medicaid",
    "commercial",
    "workers_comp",
    "auto",
    "tricare",
    "other",
)
PROVIDER_CREDENTIALS = ("PT", "PTA", "OT", "OTA", "MD", "DC", "other")
DEFICITS = (
    "balance",
    "coordination",
    "kinesthetic_sense",
    "posture",
    "proprioception",
)
INTERVENTIONS = (
    "neuromuscular_reeducation",
    "balance_training",
    "proprioceptive_training",
    "postural_training",
    "coordination_training",
    "gait_training",
    "nmes",
    "therapeutic_exercise",
    "manual_therapy",
    "therapeutic_activities",
    "group_therapy",
)
RISK_BANDS = ("low", "medium", "high", "not_scored")

PAYER_CLASS_DTYPE = pd.CategoricalDtype(PAYER_CLASSES)
CREDENTIAL_DTYPE = pd.CategoricalDtype(PROVIDER_CREDENTIALS)


@dataclasses.dataclass(frozen=True)
class ColumnSpec:
    """Declarative description of one contract column.

    ``kind`` is one of ``str``, ``int``, ``decimal``, ``date``, ``bool``,
    ``category`` or ``list``; ``role`` is ``required``, ``optional`` or
    ``outcome``.
    """

    name: str
    kind: str
    role: str
    nullable: bool = True
    categories: tuple[str, ...] | None = None


def _spec(name, kind, role, nullable=True, categories=None):
    return ColumnSpec(name, kind, role, nullable, categories)


COLUMNS: dict[str, ColumnSpec] = {
    s.name: s
    for s in [
        _spec(CLAIM_ID, "str", "required", False),
        _spec(LINE_NUMBER, "int", "required", False),
        _spec(PATIENT_ID, "str", "required", False),
        _spec(PAYER_ID, "str", "required", False),
        _spec(PAYER_CLASS, "category", "required", False, PAYER_CLASSES),
        _spec(DATE_OF_SERVICE, "date", "required", False),
        _spec(CPT_CODE, "str", "required", False),
        _spec(UNITS, "int", "required", False),
        _spec(CHARGE_AMOUNT, "decimal", "required", False),
        _spec(DIAGNOSIS_CODES, "list", "required"),
        _spec(RENDERING_PROVIDER_ID, "str", "required", False),
        _spec(MODIFIERS, "list", "optional"),
        _spec(MINUTES, "int", "optional"),
        _spec(VISIT_TIMED_MINUTES, "int", "optional"),
        _spec(PLACE_OF_SERVICE, "str", "optional"),
        _spec(PROVIDER_CREDENTIAL, "category", "optional", True, PROVIDER_CREDENTIALS),
        _spec(CLINIC_ID, "str", "optional"),
        _spec(REFERRING_PROVIDER_ID, "str", "optional"),
        _spec(SUBMISSION_DATE, "date", "optional"),
        _spec(PRIOR_AUTH_NUMBER, "str", "optional"),
        _spec(AUTH_VISITS_APPROVED, "int", "optional"),
        _spec(AUTH_VISITS_USED, "int", "optional"),
        _spec(EPISODE_START_DATE, "date", "optional"),
        _spec(VISIT_NUMBER, "int", "optional"),
        _spec(POC_CERTIFIED_DATE, "date", "optional"),
        _spec(CERT_THROUGH_DATE, "date", "optional"),
        _spec(LAST_PROGRESS_REPORT_DATE, "date", "optional"),
        _spec(VISITS_SINCE_PROGRESS_REPORT, "int", "optional"),
        _spec(DEFICITS_DOCUMENTED, "list", "optional"),
        _spec(INTERVENTIONS_DOCUMENTED, "list", "optional"),
        _spec(OBJECTIVE_MEASURES_DOCUMENTED, "bool", "optional"),
        _spec(NOTE_SIGNED_DATE, "date", "optional"),
        _spec(NOTE_TEXT, "str", "optional"),
        _spec(YTD_THERAPY_ALLOWED, "decimal", "optional"),
        _spec(ADJUDICATION_DATE, "date", "outcome"),
        _spec(ALLOWED_AMOUNT, "decimal", "outcome"),
        _spec(PAID_AMOUNT, "decimal", "outcome"),
        _spec(ADJUSTMENT_CODES, "list", "outcome"),
        _spec(REMARK_CODES, "list", "outcome"),
        _spec(DENIED, "bool", "outcome"),
    ]
}

REQUIRED_COLUMNS = tuple(n for n, s in COLUMNS.items() if s.role == "required")
OPTIONAL_COLUMNS = tuple(n for n, s in COLUMNS.items() if s.role == "optional")
OUTCOME_COLUMNS = tuple(n for n, s in COLUMNS.items() if s.role == "outcome")
LABEL_COLUMNS = (DENIED, PARTIALLY_DENIED, PENDING)
LIST_COLUMNS = tuple(n for n, s in COLUMNS.items() if s.kind == "list")
DATE_COLUMNS = tuple(n for n, s in COLUMNS.items() if s.kind == "date")
LINE_KEYS = (CLAIM_ID, LINE_NUMBER)
VISIT_KEYS = (PATIENT_ID, RENDERING_PROVIDER_ID, DATE_OF_SERVICE)

SCORED_COLUMNS = (
    CLAIM_ID,
    LINE_NUMBER,
    CPT_CODE,
    PAYER_ID,
    DATE_OF_SERVICE,
    DENIAL_PROBABILITY,
    RISK_BAND,
    EXPECTED_LOSS,
    RULE_HITS,
    REASONS,
    SUGGESTED_FIXES,
    MODEL_VERSION,
    SCORED_AT,
)
QUARANTINE_COLUMNS = (
    SOURCE_ROW,
    CLAIM_ID,
    LINE_NUMBER,
    Q_COLUMN,
    Q_CHECK,
    Q_VALUE,
    Q_REASON,
    Q_N_FAILURES,
    Q_SOURCE,
)

# Dates no claim can plausibly carry.
MIN_DATE = pd.Timestamp("2000-01-01")
# Dates allowed to lie after the run date.
FUTURE_OK_DATES = frozenset({CERT_THROUGH_DATE})
DEFAULT_MAX_UNITS = 99


class Check(enum.StrEnum):
    """Reason codes of row-level validation failures."""

    NOT_NULL = "not_null"
    TYPE = "type"
    CPT_FORMAT = "cpt_format"
    ICD10_FORMAT = "icd10_format"
    MODIFIER_FORMAT = "modifier_format"
    UNITS_RANGE = "units_range"
    NON_NEGATIVE = "non_negative"
    DATE_AFTER_RUN = "date_after_run_date"
    DATE_BEFORE_2000 = "date_before_2000"
    SUBMISSION_BEFORE_SERVICE = "submission_before_service"
    DUPLICATE_KEY = "duplicate_key"
    VOCABULARY = "vocabulary"


class ValidationResult(NamedTuple):
    """Valid rows with canonical dtypes, and the quarantine table."""

    valid: pd.DataFrame
    quarantine: pd.DataFrame


# --- list parsing ------------------------------------------------------------
_SPLIT = re.compile(r"[,;|\s]+")


def _parse_one(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, float) and np.isnan(value):
        return ()
    if isinstance(value, str):
        parts = _SPLIT.split(value)
    elif isinstance(value, list | tuple | np.ndarray):
        parts = []
        for item in value:
            if item is None or (isinstance(item, float) and np.isnan(item)):
                continue
            parts.extend(_SPLIT.split(str(item)))
    else:
        parts = _SPLIT.split(str(value))
    return tuple(p.strip().upper() for p in parts if p.strip())


def parse_list_column(values) -> pd.Series:
    """Normalize a list-valued column to tuples of upper-case strings.

    Accepts Parquet lists (numpy arrays or lists per row) or strings delimited
    by commas, semicolons, pipes or spaces. Parsing runs on the unique values
    only, so it stays fast on millions of rows.

    Parameters
    ----------
    values : pandas.Series

    Returns
    -------
    pandas.Series of tuple

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.schema import parse_list_column
    >>> parse_list_column(pd.Series(["gp, kx", "GP|KX", None, ["59"]])).tolist()
    [('GP', 'KX'), ('GP', 'KX'), (), ('59',)]
    """
    values = pd.Series(values)
    if values.empty:
        return pd.Series([], index=values.index, dtype=object)
    codes, parsed = _list_codes(values)
    return pd.Series(parsed[codes], index=values.index, dtype=object)


def _list_codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parse a list column once per distinct value.

    Returns ``(codes, parsed)`` with ``parsed[codes]`` the rows' tuples; code
    -1 (a missing value) picks the trailing ``()``. Callers that normalize the
    tuples further reuse the codes instead of hashing tuples again.
    """
    text = arrow_text(values)
    if text is not None:  # Arrow text: hashing in Arrow avoids object arrays
        codes, dictionary = arrow_codes(text)
        uniques = dictionary.to_pylist()
    else:
        obj = values.astype(object)
        try:  # text, tuples and missing values hash as they are
            codes, uniques = pd.factorize(obj, use_na_sentinel=True)
        except TypeError:  # Parquet lists arrive as arrays: join them in Arrow
            codes, uniques = pd.factorize(_join_lists(obj), use_na_sentinel=True)
    parsed = np.empty(len(uniques) + 1, dtype=object)
    for i, u in enumerate(uniques):
        parsed[i] = _parse_one(u)
    parsed[-1] = ()
    return codes, parsed


def arrow_join_lists(arr):
    """Join each list of an Arrow list array into one ``|`` string.

    Null items inside a list are dropped (``["GP", None]`` gives ``"GP"``); a
    null list stays null.

    Parameters
    ----------
    arr : pyarrow.Array or pyarrow.ChunkedArray of list<string>

    Returns
    -------
    pyarrow.Array or pyarrow.ChunkedArray of string

    Examples
    --------
    >>> import pyarrow as pa
    >>> from ptdenial.schema import arrow_join_lists
    >>> arrow_join_lists(pa.array([["GP", None, "KX"], [], None])).to_pylist()
    ['GP|KX', '', None]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(arr, pa.ChunkedArray):
        return pa.chunked_array(
            [arrow_join_lists(c) for c in arr.chunks], type=pa.string()
        )
    if not pa.types.is_string(arr.type.value_type):
        arr = pc.cast(arr, pa.list_(pa.string()))
    if arr.values.null_count:
        # drop null items: rebuild the lists from the non-null values
        parent = pc.list_parent_indices(arr)
        values = pc.list_flatten(arr)
        keep = pc.is_valid(values)
        parent = pc.filter(parent, keep).to_numpy()
        values = pc.filter(values, keep)
        counts = np.bincount(parent, minlength=len(arr))
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
        arr = pa.ListArray.from_arrays(pa.array(offsets), values, mask=pc.is_null(arr))
    return pc.binary_join(arr, "|")


def _join_lists(obj: pd.Series) -> pd.Series:
    """Rows that are lists/arrays become one ``|``-joined string (vectorized)."""
    import pyarrow as pa

    kinds = obj.map(type)
    is_seq = kinds.isin([list, tuple, np.ndarray]).to_numpy()
    out = obj.copy()
    try:
        arr = pa.array(obj[is_seq], type=pa.list_(pa.string()), from_pandas=True)
        joined = arrow_join_lists(arr).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        # lists of non-text items: convert row by row
        joined = [tuple(str(x) for x in v) for v in obj[is_seq]]
    out[is_seq] = pd.Series(list(joined), index=obj.index[is_seq], dtype=object)
    return out


# --- ICD-10 ------------------------------------------------------------------
_ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](?:[0-9A-Z]{1,4})?$")


def normalize_icd10(code: str) -> str | None:
    """Return an ICD-10-CM code in dotted form, or ``None`` if malformed.

    Parameters
    ----------
    code : str
        With or without the dot, any case.

    Returns
    -------
    str or None

    Examples
    --------
    >>> from ptdenial.schema import normalize_icd10
    >>> normalize_icd10("r2681"), normalize_icd10("I69.351"), normalize_icd10("97112")
    ('R26.81', 'I69.351', None)
    """
    bare = code.strip().upper().replace(".", "")
    if not _ICD10.match(bare):
        return None
    return bare if len(bare) == 3 else f"{bare[:3]}.{bare[3:]}"


_CPT = re.compile(r"^(?:[0-9]{4}[0-9A-Z]|[A-Z][0-9]{4})$")
_MODIFIER = re.compile(r"^[0-9A-Z]{2}$")
_CARC = re.compile(r"^(?:(CO|PR|OA|PI|CR)-?)?([0-9A-Z]{1,3})$")


# --- validation --------------------------------------------------------------
def check_required_columns(columns, *, source: str = "<DataFrame>") -> None:
    """Raise one :class:`ClaimsSchemaError` naming every missing required column.

    Parameters
    ----------
    columns : iterable of str
        The columns present.
    source : str
        The file name used in the message.

    Raises
    ------
    ClaimsSchemaError

    Examples
    --------
    >>> from ptdenial.schema import check_required_columns
    >>> check_required_columns(["claim_id"], source="x.csv")
    Traceback (most recent call last):
    ...
    ptdenial.exceptions.ClaimsSchemaError: x.csv: missing required columns ...
    """
    present = list(columns)
    missing = [c for c in REQUIRED_COLUMNS if c not in present]
    if missing:
        raise ClaimsSchemaError(
            f"{source}: missing required columns {missing}. "
            f"Columns present: {present}. Fix: add these columns (names are "
            "snake_case as in SCHEMA.md), or map your export's column names "
            "to them.",
            missing=missing,
            source=source,
        )


class _Failures:
    """Collects (row position, column, check, value, reason) failures."""

    def __init__(self, n: int):
        self.n = n
        self.parts: list[pd.DataFrame] = []

    def add(self, mask, column, check, values, reason):
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        pos = np.flatnonzero(mask)
        vals = pd.Series(values).iloc[pos] if values is not None else None
        self.parts.append(
            pd.DataFrame(
                {
                    "_pos": pos,
                    Q_COLUMN: column,
                    Q_CHECK: check.value,
                    Q_VALUE: (
                        [_show(v) for v in vals]
                        if vals is not None
                        else [""] * len(pos)
                    ),
                    Q_REASON: reason,
                }
            )
        )

    def frame(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame(
                {"_pos": pd.Series([], dtype=int)}
                | {c: pd.Series([], dtype=object) for c in (Q_COLUMN, Q_CHECK)}
                | {c: pd.Series([], dtype=object) for c in (Q_VALUE, Q_REASON)}
            )
        return pd.concat(self.parts, ignore_index=True)


def _show(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and np.isnan(v):
        return ""
    if v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, np.ndarray | list | tuple):
        return "|".join(str(x) for x in v)
    return str(v)


def _arrow_strings() -> bool:
    """Whether pandas' ``string`` dtype is Arrow-backed (the default).

    The Arrow shortcuts below must strip exactly as ``astype("string")``
    columns do, so they only run when that dtype is Arrow-backed too.
    """
    return pd.StringDtype().storage == "pyarrow"


def _is_blank(series: pd.Series) -> np.ndarray:
    s = series
    text = arrow_text(s)
    if text is not None and _arrow_strings():
        import pyarrow.compute as pc

        blank = pc.equal(pc.utf8_trim_whitespace(text), "")
        return pc.fill_null(blank, True).to_numpy(zero_copy_only=False)
    blank = s.isna().to_numpy().copy()
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        as_str = s.astype("string")
        blank = blank | (as_str.str.strip() == "").fillna(True).to_numpy()
    return blank


def _coerce_str(s: pd.Series) -> pd.Series:
    text = arrow_text(s)
    if text is not None and _arrow_strings():
        # the same steps in Arrow, without pandas' dtype round trips
        import pyarrow as pa
        import pyarrow.compute as pc

        out = pc.utf8_trim_whitespace(text)
        out = pc.if_else(pc.equal(out, ""), pa.scalar(None, out.type), out)
        out = pd.arrays.ArrowStringArray(out, dtype=pd.StringDtype())
        return pd.Series(out, index=s.index, name=s.name)
    out = s.astype("string").str.strip()
    return out.mask(out == "")


def _coerce_int(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_integer_dtype(s.dtype):
        return s.astype("Int64"), np.zeros(len(s), bool)
    num = pd.to_numeric(
        _coerce_str(s) if not pd.api.types.is_numeric_dtype(s) else s, errors="coerce"
    )
    bad = (num.isna() & ~_is_blank(s)).to_numpy()
    frac = (num.notna() & (num != np.round(num))).to_numpy()
    bad = bad | frac
    num = num.mask(pd.Series(bad, index=s.index))
    return num.astype("Float64").round().astype("Int64"), bad


def _coerce_decimal(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s):
        return s.astype("float64"), np.zeros(len(s), bool)
    text = _coerce_str(s).str.replace(r"[$,]", "", regex=True)
    num = pd.to_numeric(text, errors="coerce")
    bad = (num.isna() & ~_is_blank(s)).to_numpy()
    return num.astype("float64"), bad


def _coerce_date(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s
        if getattr(s.dt, "tz", None) is not None:
            out = s.dt.tz_localize(None)
        return out.astype("datetime64[ns]").dt.normalize(), np.zeros(len(s), bool)
    obj = s.astype(object)
    text = _coerce_str(
        obj.map(lambda v: v.isoformat() if hasattr(v, "isoformat") else v)
    )
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    parsed_u = pd.to_datetime(
        pd.Series(uniques, dtype=object), errors="coerce", format="mixed"
    )
    parsed = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = codes >= 0
    parsed[ok] = parsed_u.to_numpy(dtype="datetime64[ns]")[codes[ok]]
    out = pd.Series(parsed, index=s.index).dt.normalize()
    bad = (out.isna() & ~_is_blank(s)).to_numpy()
    return out, bad


def _coerce_category(s: pd.Series, spec: ColumnSpec) -> tuple[pd.Series, np.ndarray]:
    text = _coerce_str(s)
    if spec.name == PAYER_CLASS:
        codes, uniques = pd.factorize(text)
        norm = np.array(
            [re.sub(r"[\s-]+", "_", str(u).lower()) for u in uniques] + [None],
            dtype=object,
        )
        text = pd.Series(norm[codes], index=text.index, dtype="string")
    bad = (text.notna() & ~text.isin(spec.categories)).to_numpy()
    col = pd.Categorical(
        text.where(~pd.Series(bad, index=text.index)),
        categories=spec.categories,
    )
    return pd.Series(col, index=s.index), bad


_BOOL_TRUE = {"true", "t", "1", "yes", "y"}
_BOOL_FALSE = {"false", "f", "0", "no", "n"}


def _coerce_bool(s: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("boolean"), np.zeros(len(s), bool)
    text = _coerce_str(
        s.astype(object).map(
            lambda v: (
                str(v)
                if not (
                    v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))
                )
                else v
            )
        )
    ).str.lower()
    if pd.api.types.is_numeric_dtype(s.dtype):
        text = s.astype("Float64").astype("string").str.replace(r"\.0$", "", regex=True)
    out = pd.Series(pd.NA, index=s.index, dtype="boolean")
    out[text.isin(_BOOL_TRUE).fillna(False)] = True
    out[text.isin(_BOOL_FALSE).fillna(False)] = False
    bad = (out.isna() & text.notna()).to_numpy()
    return out, bad


def validate_claims(
    df: pd.DataFrame,
    *,
    source: str = "<DataFrame>",
    run_date=None,
    max_units: int = DEFAULT_MAX_UNITS,
    first_row: int = 0,
) -> ValidationResult:
    """Check every row of a claim-line table against the contract.

    Rows that pass come back with canonical dtypes; rows that fail go to a
    quarantine table with their keys, source row number, the failed column
    and check, the offending value and a readable reason. Every input row
    ends up in exactly one of the two tables.

    Parameters
    ----------
    df : pandas.DataFrame
        Raw table (CSV strings or Parquet types). Extra columns are kept.
    source : str
        File name (or description) used in messages and the quarantine table.
    run_date : date-like, optional
        Dates after this day are implausible (except ``cert_through_date``).
        Defaults to today.
    max_units : int
        Largest plausible units on one line.
    first_row : int
        Row number of ``df``'s first row in its source (for streamed batches).

    Returns
    -------
    ValidationResult
        ``(valid, quarantine)``. ``valid`` keeps the input index; the
        quarantine has one row per failed input row (the first failure in
        ``column``/``check``/``value``; all reasons in ``reason``).

    Raises
    ------
    ClaimsSchemaError
        If required columns are missing (one message naming all of them).

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.schema import validate_claims
    >>> raw = pd.DataFrame({
    ...     "claim_id": ["C1", "C1"], "line_number": ["1", "2"],
    ...     "patient_id": ["P1", "P1"], "payer_id": ["MCR", "MCR"],
    ...     "payer_class": ["medicare", "medicare"],
    ...     "date_of_service": ["2025-03-03", "2025-03-03"],
    ...     "cpt_code": ["97112", "97110"], "units": ["2", "0"],
    ...     "charge_amount": ["80.00", "70.00"],
    ...     "diagnosis_codes": ["R26.81", "R2681;M6281"],
    ...     "rendering_provider_id": ["1234567890", "1234567890"],
    ... })
    >>> valid, quarantine = validate_claims(raw, run_date="2025-03-31")
    >>> len(valid), len(quarantine)
    (1, 1)
    >>> quarantine.loc[0, ["claim_id", "column", "check", "value"]].tolist()
    ['C1', 'units', 'units_range', '0']
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"validate_claims expects a pandas DataFrame; got {type(df)}")
    check_required_columns(df.columns, source=source)
    run_day = pd.Timestamp(run_date if run_date is not None else pd.Timestamp.today())
    run_day = run_day.normalize()
    n = len(df)
    fails = _Failures(n)
    out = {}
    lists = {}  # list column -> (codes, parsed tuples), reused by the checks
    for name in df.columns:
        spec = COLUMNS.get(name)
        raw = df[name]
        if spec is None:
            out[name] = raw
            continue
        blank = None
        if spec.kind == "str":
            col = _coerce_str(raw)
            if arrow_text(raw) is not None and _arrow_strings():
                # stripped Arrow text is missing exactly where it was blank
                blank = col.isna().to_numpy()
            if name == CPT_CODE:
                col = col.str.upper()
        elif spec.kind == "int":
            col, bad = on_distinct(_coerce_int, raw)
            fails.add(bad, name, Check.TYPE, raw, f"{name} is not a whole number")
        elif spec.kind == "decimal":
            col, bad = on_distinct(_coerce_decimal, raw)
            fails.add(bad, name, Check.TYPE, raw, f"{name} is not a number")
        elif spec.kind == "date":
            col, bad = on_distinct(_coerce_date, raw)
            fails.add(bad, name, Check.TYPE, raw, f"{name} is not a date (YYYY-MM-DD)")
        elif spec.kind == "bool":
            col, bad = on_distinct(_coerce_bool, raw)
            fails.add(bad, name, Check.TYPE, raw, f"{name} is not true/false")
        elif spec.kind == "category":
            col, bad = on_distinct(
                functools.partial(_coerce_category, spec=spec), raw, categorical=True
            )
            fails.add(
                bad,
                name,
                Check.VOCABULARY,
                raw,
                f"{name} must be one of {list(spec.categories)}",
            )
        elif spec.kind == "list":
            codes, parsed = lists[name] = _list_codes(raw)
            col = pd.Series(parsed[codes], index=df.index, dtype=object)
        else:  # pragma: no cover - spec table is fixed
            raise AssertionError(spec.kind)
        if not spec.nullable:
            if blank is None:
                blank = _is_blank(raw)
            fails.add(blank, name, Check.NOT_NULL, raw, f"{name} is empty")
        out[name] = col

    # --- value checks on coerced columns -----------------------------------
    bad = on_distinct(
        lambda c: (c.notna() & ~c.str.match(_CPT.pattern).fillna(False)).to_numpy(),
        out[CPT_CODE],
    )
    fails.add(
        bad,
        CPT_CODE,
        Check.CPT_FORMAT,
        df[CPT_CODE],
        "cpt_code must be 5 characters: 5 digits (CPT) or a letter and "
        "4 digits (HCPCS)",
    )

    dx_raw = out[DIAGNOSIS_CODES]
    dx_codes, dx_uniques = lists[DIAGNOSIS_CODES]
    norm_u = np.empty(len(dx_uniques), dtype=object)
    bad_u = np.zeros(len(dx_uniques), dtype=bool)
    icd10 = {}  # the same few codes recur across the code lists
    for i, codes in enumerate(dx_uniques):
        for c in codes:
            if c not in icd10:
                icd10[c] = normalize_icd10(c)
        normed = tuple(icd10[c] for c in codes)
        bad_u[i] = any(c is None for c in normed)
        norm_u[i] = tuple(c for c in normed if c is not None) if bad_u[i] else normed
    out[DIAGNOSIS_CODES] = pd.Series(norm_u[dx_codes], index=df.index, dtype=object)
    fails.add(
        bad_u[dx_codes],
        DIAGNOSIS_CODES,
        Check.ICD10_FORMAT,
        dx_raw,
        "diagnosis_codes must be ICD-10-CM codes such as R26.81 "
        "(letter, digit, letter/digit, then up to 4 characters)",
    )

    if MODIFIERS in out:
        m_codes, m_uniques = lists[MODIFIERS]
        bad_u = np.array(
            [any(not _MODIFIER.match(m) for m in mods) for mods in m_uniques], bool
        )
        fails.add(
            bad_u[m_codes],
            MODIFIERS,
            Check.MODIFIER_FORMAT,
            out[MODIFIERS],
            "each modifier must be 2 letters/digits (e.g. GP, KX, 59)",
        )

    for name in (ADJUSTMENT_CODES,):
        if name in out:
            a_codes, a_uniques = lists[name]
            norm_u = np.empty(len(a_uniques), dtype=object)
            bad_u = np.zeros(len(a_uniques), dtype=bool)
            for i, codes in enumerate(a_uniques):
                normed = []
                for c in codes:
                    m = _CARC.match(c)
                    if m is None:
                        bad_u[i] = True
                        continue
                    normed.append(
                        f"{m.group(1)}-{m.group(2)}" if m.group(1) else m.group(2)
                    )
                norm_u[i] = tuple(normed)
            out[name] = pd.Series(norm_u[a_codes], index=df.index, dtype=object)
            fails.add(
                bad_u[a_codes],
                name,
                Check.TYPE,
                df[name],
                "adjustment_codes must look like CO-45 or PR-2 (group-CARC)",
            )

    units = out[UNITS]
    bad = (units.notna() & ((units < 1) | (units > max_units))).fillna(False)
    fails.add(
        bad.to_numpy(),
        UNITS,
        Check.UNITS_RANGE,
        units,
        f"units must be between 1 and {max_units}",
    )
    for name in (
        MINUTES,
        VISIT_TIMED_MINUTES,
        AUTH_VISITS_APPROVED,
        AUTH_VISITS_USED,
        VISITS_SINCE_PROGRESS_REPORT,
    ):
        if name in out:
            bad = (out[name] < 0).fillna(False).to_numpy()
            fails.add(
                bad, name, Check.NON_NEGATIVE, out[name], f"{name} must not be negative"
            )
    if VISIT_NUMBER in out:
        bad = (out[VISIT_NUMBER] < 1).fillna(False).to_numpy()
        fails.add(
            bad,
            VISIT_NUMBER,
            Check.NON_NEGATIVE,
            out[VISIT_NUMBER],
            "visit_number is 1-based (1 = evaluation day)",
        )
    for name in (CHARGE_AMOUNT, ALLOWED_AMOUNT, PAID_AMOUNT, YTD_THERAPY_ALLOWED):
        if name in out:
            bad = (out[name] < 0).fillna(False).to_numpy()
            fails.add(
                bad, name, Check.NON_NEGATIVE, out[name], f"{name} must not be negative"
            )

    for name in DATE_COLUMNS:
        if name not in out:
            continue
        d = out[name]
        old = (d < MIN_DATE).fillna(False).to_numpy()
        fails.add(old, name, Check.DATE_BEFORE_2000, d, f"{name} is before 2000-01-01")
        if name not in FUTURE_OK_DATES:
            future = (d > run_day).fillna(False).to_numpy()
            fails.add(
                future,
                name,
                Check.DATE_AFTER_RUN,
                d,
                f"{name} is after the run date {run_day.date()}",
            )
    if SUBMISSION_DATE in out:
        early = (out[SUBMISSION_DATE] < out[DATE_OF_SERVICE]).fillna(False).to_numpy()
        fails.add(
            early,
            SUBMISSION_DATE,
            Check.SUBMISSION_BEFORE_SERVICE,
            out[SUBMISSION_DATE],
            "submission_date is before date_of_service",
        )

    keys = pd.DataFrame({CLAIM_ID: out[CLAIM_ID], LINE_NUMBER: out[LINE_NUMBER]})
    dup = keys.duplicated(keep=False).to_numpy() & keys.notna().all(axis=1).to_numpy()
    if dup.any():  # the shown keys cost a pass over every row: only when needed
        fails.add(
            dup,
            CLAIM_ID,
            Check.DUPLICATE_KEY,
            out[CLAIM_ID].astype(str) + "/" + out[LINE_NUMBER].astype(str),
            "(claim_id, line_number) appears more than once; every copy is "
            "quarantined because the right one cannot be told",
        )

    canon = pd.DataFrame(out, index=df.index)
    f = fails.frame()
    bad_pos = np.unique(f["_pos"].to_numpy()) if len(f) else np.array([], int)
    is_bad = np.zeros(n, dtype=bool)
    is_bad[bad_pos] = True
    # no .copy(): under Copy-on-Write the selection already behaves as one
    valid = canon.loc[~is_bad]
    quarantine = _build_quarantine(df, f, source=source, first_row=first_row)
    return ValidationResult(valid, quarantine)


def _build_quarantine(df, f, *, source, first_row):
    if len(f) == 0:
        empty = {c: pd.Series([], dtype=object) for c in QUARANTINE_COLUMNS}
        empty[SOURCE_ROW] = pd.Series([], dtype="int64")
        empty[Q_N_FAILURES] = pd.Series([], dtype="int64")
        return pd.DataFrame(empty)
    f = f.sort_values("_pos", kind="stable")
    grouped = f.groupby("_pos", sort=True)
    first = grouped.first()
    reasons = grouped[Q_REASON].agg(lambda r: "; ".join(dict.fromkeys(r)))
    counts = grouped.size()
    pos = first.index.to_numpy()
    claim = df[CLAIM_ID].iloc[pos].map(_show).to_numpy()
    line = df[LINE_NUMBER].iloc[pos].map(_show).to_numpy()
    q = pd.DataFrame(
        {
            SOURCE_ROW: pos.astype("int64") + int(first_row),
            CLAIM_ID: claim,
            LINE_NUMBER: line,
            Q_COLUMN: first[Q_COLUMN].to_numpy(),
            Q_CHECK: first[Q_CHECK].to_numpy(),
            Q_VALUE: first[Q_VALUE].to_numpy(),
            Q_REASON: reasons.to_numpy(),
            Q_N_FAILURES: counts.to_numpy().astype("int64"),
            Q_SOURCE: source,
        }
    )
    # keep the whole raw row, as text, so nothing is lost
    raw = df.iloc[pos]
    for name in raw.columns:
        if name in (CLAIM_ID, LINE_NUMBER) or name in q.columns:
            continue
        q[name] = raw[name].map(_show).to_numpy()
    return q.reset_index(drop=True)


# --- outcomes ------------------------------------------------------------------
def derive_outcomes(df: pd.DataFrame, *, reference=None) -> pd.DataFrame:
    """Add ``denied``, ``partially_denied`` and ``pending`` from remittance data.

    A line is **pending** when it has no ``adjudication_date``. It is
    **denied** when it was adjudicated, ``paid_amount`` is 0, patient
    responsibility (PR-1/2/3 with a positive allowed amount) did not absorb
    it, and at least one adjustment code is a denial reason (a CARC outside
    the non-denial set in ``reference/carc_catalogue.csv``). It is
    **partially denied** when it was paid but carries a partial-denial CARC
    (151, paid at fewer units). A ``denied`` value supplied in the input wins
    where it is not empty. Pending lines get ``denied = <NA>``: they are never
    negatives.

    Training uses ``denied`` as the label; partially denied lines count as
    not denied there and are reported on their own.

    Parameters
    ----------
    df : pandas.DataFrame
        Validated claims (canonical dtypes).
    reference : ptdenial.reference.Reference, optional
        Reference tables; defaults to the shipped ones.

    Returns
    -------
    pandas.DataFrame
        A copy with the three label columns (nullable booleans).

    Examples
    --------
    >>> import pandas as pd
    >>> from ptdenial.schema import derive_outcomes
    >>> lines = pd.DataFrame({
    ...     "adjudication_date": pd.to_datetime(["2025-02-01", "2025-02-01",
    ...                                          "2025-02-01", None]),
    ...     "allowed_amount": [0.0, 30.0, 60.0, None],
    ...     "paid_amount": [0.0, 0.0, 30.0, None],
    ...     "adjustment_codes": [("CO-50",), ("PR-1",), ("CO-151",), ()],
    ... })
    >>> derive_outcomes(lines)[["denied", "partially_denied", "pending"]]
       denied  partially_denied  pending
    0    True             False    False
    1   False             False    False
    2   False              True    False
    3    <NA>              <NA>     True
    """
    if reference is None:
        from ptdenial.reference import load_reference

        reference = load_reference()
    out = df.copy()
    n = len(out)
    if ADJUDICATION_DATE in out:
        adjudicated = out[ADJUDICATION_DATE].notna().to_numpy()
    else:
        adjudicated = np.zeros(n, dtype=bool)
    non_denial = reference.non_denial_carcs()
    partial = reference.partial_denial_carcs()
    adj = (
        out[ADJUSTMENT_CODES]
        if ADJUSTMENT_CODES in out
        else pd.Series([()] * n, index=out.index, dtype=object)
    )
    codes, uniques = pd.factorize(adj)
    has_denial_u = np.zeros(len(uniques), bool)
    has_pr_u = np.zeros(len(uniques), bool)
    has_partial_u = np.zeros(len(uniques), bool)
    for i, tup in enumerate(uniques):
        for item in tup:
            group, _, carc = item.rpartition("-")
            if carc not in non_denial:
                has_denial_u[i] = True
            if carc in partial:
                has_partial_u[i] = True
            if group == "PR" and carc in {"1", "2", "3"}:
                has_pr_u[i] = True
    if len(uniques):
        has_denial = has_denial_u[codes]
        has_pr = has_pr_u[codes]
        has_partial = has_partial_u[codes]
    else:
        has_denial = has_pr = has_partial = np.zeros(n, bool)
    paid = (
        out[PAID_AMOUNT].to_numpy(dtype=float, na_value=np.nan)
        if PAID_AMOUNT in out
        else np.full(n, np.nan)
    )
    allowed = (
        out[ALLOWED_AMOUNT].to_numpy(dtype=float, na_value=np.nan)
        if ALLOWED_AMOUNT in out
        else np.full(n, np.nan)
    )
    zero_paid = np.nan_to_num(paid, nan=0.0) <= 0.0
    absorbed = has_pr & (np.nan_to_num(allowed, nan=0.0) > 0)
    denied = adjudicated & zero_paid & ~absorbed & has_denial
    partially = adjudicated & ~zero_paid & has_partial
    if DENIED in df.columns:
        given = df[DENIED].astype("boolean")
        use = given.notna().to_numpy()
        denied = np.where(use, given.fillna(False).to_numpy(dtype=bool), denied)
        adjudicated = adjudicated | use
    mask = pd.Series(~adjudicated, index=out.index)
    out[DENIED] = pd.Series(denied, index=out.index, dtype="boolean").mask(mask)
    out[PARTIALLY_DENIED] = pd.Series(
        partially & ~denied, index=out.index, dtype="boolean"
    ).mask(mask)
    out[PENDING] = pd.Series(~adjudicated, index=out.index, dtype="boolean")
    return out
