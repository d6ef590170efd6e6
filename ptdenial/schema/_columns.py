"""Column names, vocabularies and column specs of the claim-line contract.

Every column name of SCHEMA.md (version 1) is defined once here, with the
declarative :class:`ColumnSpec` of each contract column (kind, role,
nullability, vocabulary) and :class:`Check`, the reason codes a quarantine
row carries. Nothing here reads data.
"""

from __future__ import annotations

import dataclasses
import enum

import pandas as pd

SCHEMA_VERSION = 1

# --- domain constants ---------------------------------------------------------------
#: The CPT code ptdenial scores (97112, neuromuscular re-education); lines of
#: the other codes are context (visit, rules) and can be training rows.
SCORED_CODE = "97112"
#: Modifiers that bypass an NCCI procedure-to-procedure edit: 59 and its
#: X{EPSU} subsets.
BYPASS_MODIFIERS = frozenset({"59", "XE", "XP", "XS", "XU"})

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
#: Columns a file reader adds for a row it could not read (too many or too few
#: fields, text that is not UTF-8): why, and the row as read. Validation
#: quarantines such rows (check ``unreadable_row``) and drops the columns.
READ_ERROR = "_ptdenial_unreadable"
READ_ERROR_TEXT = "_ptdenial_unreadable_text"
#: The quarantine's ``check`` for such a row (a reader's verdict, not a value check).
UNREADABLE_ROW = "unreadable_row"

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
    ``outcome``. ``dated_by`` names the date column of a dated documentation
    field: the field describes a document that exists from that date on, so
    a history line sent before that date went out without it (SCHEMA.md,
    "Dated documentation describes a state from its date on"; see
    :func:`documents_as_sent`).
    """

    name: str
    kind: str
    role: str
    nullable: bool = True
    categories: tuple[str, ...] | None = None
    dated_by: str | None = None


def _spec(name, kind, role, nullable=True, categories=None, *, dated_by=None):
    return ColumnSpec(name, kind, role, nullable, categories, dated_by)


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
        _spec(POC_CERTIFIED_DATE, "date", "optional", dated_by=POC_CERTIFIED_DATE),
        _spec(CERT_THROUGH_DATE, "date", "optional", dated_by=POC_CERTIFIED_DATE),
        _spec(
            LAST_PROGRESS_REPORT_DATE,
            "date",
            "optional",
            dated_by=LAST_PROGRESS_REPORT_DATE,
        ),
        _spec(
            VISITS_SINCE_PROGRESS_REPORT,
            "int",
            "optional",
            dated_by=LAST_PROGRESS_REPORT_DATE,
        ),
        _spec(DEFICITS_DOCUMENTED, "list", "optional"),
        _spec(INTERVENTIONS_DOCUMENTED, "list", "optional"),
        _spec(OBJECTIVE_MEASURES_DOCUMENTED, "bool", "optional"),
        _spec(NOTE_SIGNED_DATE, "date", "optional", dated_by=NOTE_SIGNED_DATE),
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
#: Dated documentation field -> the date column it is dated by (from the specs).
DATED_FIELDS = {n: s.dated_by for n, s in COLUMNS.items() if s.dated_by is not None}
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
    """Reason codes of row-level validation failures (the quarantine's ``check``).

    ``TYPE``, ``NOT_NULL`` and ``VOCABULARY`` come from coercing a column to
    its kind (:class:`ColumnSpec`); the others from the declared value checks
    (:data:`ptdenial.schema.VALUE_CHECKS`).
    """

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
