"""The claim-line table contract (SCHEMA.md, version 1) in code.

Column names are defined once here and referred to everywhere else through
these constants. :func:`validate_claims` coerces a raw table (CSV strings,
Parquet types) into canonical dtypes and splits it into valid rows and a
quarantine table; no input row is ever lost. :func:`derive_outcomes` adds the
``denied``, ``partially_denied`` and ``pending`` labels from the remittance
columns.

What a value must satisfy beyond its kind is declared, one
:class:`ValueCheck` per column and rule, in :data:`VALUE_CHECKS`;
:func:`value_failures` runs them on a coerced frame.

Canonical in-memory dtypes
--------------------------
* string columns: pandas ``string`` dtype;
* integer columns: ``Int64`` (nullable);
* decimal (USD) columns: ``float64``;
* date columns: ``datetime64[ns]``, normalised to midnight (a zoned value
  counts on its own wall-clock day; a date ``datetime64[ns]`` cannot hold,
  before 1677-09-22 or after 2262-04-11, is quarantined with the value as
  given, never wrapped);
* boolean columns: ``boolean`` (nullable);
* category columns: a fixed :class:`pandas.CategoricalDtype`;
* list columns: ``object`` holding tuples of upper-case strings (``()`` when
  empty), hashable so that they factorize.

Typed input
-----------
The same data validates the same however it is typed: text (CSV), Parquet
``date32``/``date64``, timestamps with or without a zone, dictionary and
large strings, ``int8``-``int64`` with or without nulls, ``decimal128``,
booleans as ``bool``, ``0``/``1`` or ``Y``/``N``, lists or delimited text.
Typed columns convert in Arrow or once per distinct value;
:func:`arrow_to_raw` turns an Arrow table into the frame that reads fastest.

Layout
------
``_columns`` (names, vocabularies, :class:`ColumnSpec`, :class:`Check`),
``_descriptions`` (:data:`COLUMN_DESCRIPTIONS`, what each column means),
``_parse`` (code lists and code formats), ``_arrow`` (typed columns in the
form their kind reads in bulk), ``_coerce`` (raw columns to their kinds),
``_checks`` (declared value checks), ``_validate`` (valid rows and
quarantine), ``_outcomes`` (labels), ``_dated`` (dated documentation as it
stood when a line was sent, :func:`documents_as_sent`).
"""

from ptdenial.schema._arrow import arrow_to_raw
from ptdenial.schema._checks import (  # noqa: F401 - rules of the declared checks
    MAX_UNITS,
    RUN_DATE,
    VALUE_CHECKS,
    Between,
    EachItem,
    Failure,
    Matches,
    NotBefore,
    Param,
    UniqueKey,
    ValueCheck,
    value_failures,
)
from ptdenial.schema._columns import (  # noqa: F401 - public names of the contract
    ADJUDICATION_DATE,
    ADJUSTMENT_CODES,
    ALLOWED_AMOUNT,
    AUTH_VISITS_APPROVED,
    AUTH_VISITS_USED,
    BYPASS_MODIFIERS,
    CERT_THROUGH_DATE,
    CHARGE_AMOUNT,
    CLAIM_ID,
    CLINIC_ID,
    COLUMNS,
    CPT_CODE,
    CREDENTIAL_DTYPE,
    DATE_COLUMNS,
    DATE_OF_SERVICE,
    DATED_FIELDS,
    DEFAULT_MAX_UNITS,
    DEFICITS,
    DEFICITS_DOCUMENTED,
    DENIAL_PROBABILITY,
    DENIED,
    DIAGNOSIS_CODES,
    EPISODE_START_DATE,
    EXPECTED_LOSS,
    FUTURE_OK_DATES,
    INTERVENTIONS,
    INTERVENTIONS_DOCUMENTED,
    LABEL_COLUMNS,
    LAST_PROGRESS_REPORT_DATE,
    LINE_KEYS,
    LINE_NUMBER,
    LIST_COLUMNS,
    MIN_DATE,
    MINUTES,
    MODEL_VERSION,
    MODIFIERS,
    NOTE_SIGNED_DATE,
    NOTE_TEXT,
    OBJECTIVE_MEASURES_DOCUMENTED,
    OPTIONAL_COLUMNS,
    OUTCOME_COLUMNS,
    PAID_AMOUNT,
    PARTIALLY_DENIED,
    PATIENT_ID,
    PAYER_CLASS,
    PAYER_CLASS_DTYPE,
    PAYER_CLASSES,
    PAYER_ID,
    PENDING,
    PLACE_OF_SERVICE,
    POC_CERTIFIED_DATE,
    PRIOR_AUTH_NUMBER,
    PROVIDER_CREDENTIAL,
    PROVIDER_CREDENTIALS,
    Q_CHECK,
    Q_COLUMN,
    Q_N_FAILURES,
    Q_REASON,
    Q_SOURCE,
    Q_VALUE,
    QUARANTINE_COLUMNS,
    READ_ERROR,
    READ_ERROR_TEXT,
    REASONS,
    REFERRING_PROVIDER_ID,
    REMARK_CODES,
    RENDERING_PROVIDER_ID,
    REQUIRED_COLUMNS,
    RISK_BAND,
    RISK_BANDS,
    RULE_HITS,
    SCHEMA_VERSION,
    SCORED_AT,
    SCORED_CODE,
    SCORED_COLUMNS,
    SOURCE_ROW,
    SUBMISSION_DATE,
    SUGGESTED_FIXES,
    UNITS,
    UNREADABLE_ROW,
    VISIT_KEYS,
    VISIT_NUMBER,
    VISIT_TIMED_MINUTES,
    VISITS_SINCE_PROGRESS_REPORT,
    YTD_THERAPY_ALLOWED,
    Check,
    ColumnSpec,
)
from ptdenial.schema._dated import dated_after_submission, documents_as_sent
from ptdenial.schema._descriptions import COLUMN_DESCRIPTIONS
from ptdenial.schema._outcomes import derive_outcomes
from ptdenial.schema._parse import (
    arrow_join_lists,
    join_lists,
    normalize_icd10,
    parse_list_column,
)
from ptdenial.schema._validate import (
    ValidationResult,
    check_required_columns,
    validate_claims,
)

__all__ = [
    "SCHEMA_VERSION",
    "SCORED_CODE",
    "BYPASS_MODIFIERS",
    "ColumnSpec",
    "COLUMNS",
    "COLUMN_DESCRIPTIONS",
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
    "READ_ERROR",
    "READ_ERROR_TEXT",
    "UNREADABLE_ROW",
    "ValidationResult",
    "validate_claims",
    "check_required_columns",
    "parse_list_column",
    "arrow_join_lists",
    "arrow_to_raw",
    "join_lists",
    "derive_outcomes",
    "DATED_FIELDS",
    "documents_as_sent",
    "dated_after_submission",
    "normalize_icd10",
    "ValueCheck",
    "VALUE_CHECKS",
    "value_failures",
]
