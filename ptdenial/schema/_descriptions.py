"""What each column of the contract means, in one place.

:data:`COLUMN_DESCRIPTIONS` gives the meaning of every contract column
(:data:`~ptdenial.schema.COLUMNS`), of the outcome labels, of the scored
output and of the quarantine table. The docs site's contract page is
generated from it together with the column specs and the declared value
checks, and a test keeps its keys equal to the columns, so a column cannot be
added without saying what it means.
"""

from __future__ import annotations

from ptdenial.schema._columns import (
    ADJUDICATION_DATE,
    ADJUSTMENT_CODES,
    ALLOWED_AMOUNT,
    AUTH_VISITS_APPROVED,
    AUTH_VISITS_USED,
    CERT_THROUGH_DATE,
    CHARGE_AMOUNT,
    CLAIM_ID,
    CLINIC_ID,
    CPT_CODE,
    DATE_OF_SERVICE,
    DEFICITS_DOCUMENTED,
    DENIAL_PROBABILITY,
    DENIED,
    DIAGNOSIS_CODES,
    EPISODE_START_DATE,
    EXPECTED_LOSS,
    INTERVENTIONS_DOCUMENTED,
    LAST_PROGRESS_REPORT_DATE,
    LINE_NUMBER,
    MINUTES,
    MODEL_VERSION,
    MODIFIERS,
    NOTE_SIGNED_DATE,
    NOTE_TEXT,
    OBJECTIVE_MEASURES_DOCUMENTED,
    PAID_AMOUNT,
    PARTIALLY_DENIED,
    PATIENT_ID,
    PAYER_CLASS,
    PAYER_ID,
    PENDING,
    PLACE_OF_SERVICE,
    POC_CERTIFIED_DATE,
    PRIOR_AUTH_NUMBER,
    PROVIDER_CREDENTIAL,
    Q_CHECK,
    Q_COLUMN,
    Q_N_FAILURES,
    Q_REASON,
    Q_SOURCE,
    Q_VALUE,
    REASONS,
    REFERRING_PROVIDER_ID,
    REMARK_CODES,
    RENDERING_PROVIDER_ID,
    RISK_BAND,
    RULE_HITS,
    SCORED_AT,
    SOURCE_ROW,
    SUBMISSION_DATE,
    SUGGESTED_FIXES,
    UNITS,
    VISIT_NUMBER,
    VISIT_TIMED_MINUTES,
    VISITS_SINCE_PROGRESS_REPORT,
    YTD_THERAPY_ALLOWED,
)

__all__ = ["COLUMN_DESCRIPTIONS"]

#: Meaning of every column of the contract, the labels, the scored output and
#: the quarantine table (column name -> one or two sentences).
COLUMN_DESCRIPTIONS: dict[str, str] = {
    # required
    CLAIM_ID: "Identifier of the claim as submitted to the payer.",
    LINE_NUMBER: "Service line on the claim, from 1; (claim_id, line_number) "
    "identifies a line and must be unique.",
    PATIENT_ID: "Pseudonymous patient key. Never a name, SSN or Medicare "
    "beneficiary id; never a model feature.",
    PAYER_ID: "The payer or plan as the practice identifies it.",
    PAYER_CLASS: "Kind of payer; picks the default payer policy (time rule, "
    "modifiers, plan-of-care rules, filing limit).",
    DATE_OF_SERVICE: "Day the service on the line was given.",
    CPT_CODE: "Procedure code: 5 digits (CPT) or a letter and 4 digits (HCPCS).",
    UNITS: "Units billed on the line.",
    CHARGE_AMOUNT: "Charge billed for the line, USD.",
    DIAGNOSIS_CODES: "ICD-10-CM codes the line points to, primary first "
    "(R26.81; the dot may be left out on input).",
    RENDERING_PROVIDER_ID: "Clinician who rendered the service (NPI or an "
    "internal id).",
    # optional
    MODIFIERS: "Modifiers on the line: GP, KX, CQ, 59, XE, XP, XS, XU, GA, GY, "
    "GZ, 95 ...",
    MINUTES: "Documented minutes of this line's code (timed codes).",
    VISIT_TIMED_MINUTES: "Total timed minutes of every timed code on this date "
    "of service: the base of the 8-minute rule.",
    PLACE_OF_SERVICE: "CMS place-of-service code (11 office, 22 outpatient "
    "hospital, 12 home, 02 telehealth ...).",
    PROVIDER_CREDENTIAL: "Credential of the rendering clinician.",
    CLINIC_ID: "Location or billing entity.",
    REFERRING_PROVIDER_ID: "Referring or certifying practitioner; Medicare "
    "Part B therapy claims need one.",
    SUBMISSION_DATE: "Day the claim was (or will be) sent; timely-filing checks "
    "and the as-of date of the line's history features.",
    PRIOR_AUTH_NUMBER: "Prior authorization number; empty means none.",
    AUTH_VISITS_APPROVED: "Visits the authorization approves.",
    AUTH_VISITS_USED: "Visits of the authorization used before this date of service.",
    EPISODE_START_DATE: "Initial evaluation day of the episode of care.",
    VISIT_NUMBER: "Treatment day of the episode, from 1 (the evaluation day).",
    POC_CERTIFIED_DATE: "Day the plan of care was signed or certified; empty "
    "means not certified.",
    CERT_THROUGH_DATE: "Last day covered by the current certification or "
    "recertification; may lie after the run date.",
    LAST_PROGRESS_REPORT_DATE: "Day of the last progress report.",
    VISITS_SINCE_PROGRESS_REPORT: "Treatment days since the last progress report.",
    DEFICITS_DOCUMENTED: "Deficits the note documents.",
    INTERVENTIONS_DOCUMENTED: "Interventions the note documents.",
    OBJECTIVE_MEASURES_DOCUMENTED: "Whether a standardized measure (Berg, TUG, "
    "ABC, DGI ...) is in the note.",
    NOTE_SIGNED_DATE: "Day the treating clinician signed the daily note.",
    NOTE_TEXT: "Free text of the daily note; never logged and never shown in "
    "the worklist.",
    YTD_THERAPY_ALLOWED: "Medicare: PT and SLP allowed amount incurred this "
    "calendar year before this date of service (the KX threshold test).",
    # outcomes
    ADJUDICATION_DATE: "Day of the remittance; the model knows a line's "
    "outcome only from this day on. Empty: the line is pending.",
    ALLOWED_AMOUNT: "Amount the payer allowed for the line, USD.",
    PAID_AMOUNT: "Amount the payer paid for the line, USD.",
    ADJUSTMENT_CODES: "CAS group and CARC of each adjustment: CO-50, PR-2, "
    "CO-45, OA-18 ...",
    REMARK_CODES: "RARC remark codes: N115, M80, N640 ...",
    DENIED: "The line's outcome when the source states it; derived from the "
    "outcome columns when absent.",
    # labels (derive_outcomes)
    PARTIALLY_DENIED: "Paid at fewer units (CARC 151 with a payment): reported "
    "apart, counted as not denied in the training label.",
    PENDING: "No adjudication yet; never used as a negative.",
    # scored output
    DENIAL_PROBABILITY: "Calibrated probability of denial, in [0, 1]; 97112 "
    "lines only, empty on the others.",
    RISK_BAND: "low, medium or high by the configured cut points; not_scored "
    "on lines that are not 97112.",
    EXPECTED_LOSS: "denial_probability times the expected payment of the line, USD.",
    RULE_HITS: "Ids of the billing rules that fire on the line (KX_MISSING ...).",
    REASONS: "Why, in plain words, most important first: rule hits, then model "
    "drivers.",
    SUGGESTED_FIXES: "One concrete fix per fixable reason: units to bill, "
    "modifier to add, date to correct.",
    MODEL_VERSION: "Id of the model file that scored the line.",
    SCORED_AT: "Timestamp of the run (UTC).",
    # quarantine
    SOURCE_ROW: "Row of the input the quarantined row came from (0-based).",
    Q_COLUMN: "The column that failed.",
    Q_CHECK: "The check it failed (a Check code).",
    Q_VALUE: "The offending value, as read or as coerced.",
    Q_REASON: "The reason in words, with the fix.",
    Q_N_FAILURES: "How many checks the row failed (the first is shown).",
    Q_SOURCE: "The input file.",
}
