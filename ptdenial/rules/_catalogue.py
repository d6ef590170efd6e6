"""The rule catalogue: ids, kinds, CARCs, text templates, sources, needs."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import pandas as pd

from ptdenial import schema as S

#: The code ptdenial scores; rules specific to it (diagnosis list, content).
TARGET_CODE = S.SCORED_CODE
#: Optional extra column (not in the contract): visits this calendar year with
#: the payer before this date of service. Without it, BENEFIT_LIMIT counts the
#: visits present in the input.
VISITS_YTD = "visits_ytd"
#: Optional extra column: the line's expected allowed amount (USD), e.g. from
#: the practice's fee schedule or contract. KX_MISSING uses it for the visit
#: that crosses the threshold; without it, ``fee_schedule.csv``.
EXPECTED_ALLOWED = "expected_allowed"
#: Optional extra column: OT allowed amount this calendar year before the
#: date of service (Medicare's OT bucket of the KX threshold; PT and SLP
#: share ``ytd_therapy_allowed``). Without it, OT lines are not evaluated.
YTD_OT_ALLOWED = "ytd_ot_allowed"
#: Optional extra column: minutes of the line's service a PTA furnished
#: without the PT (from a documentation export). CQ_RULE then applies the
#: 10% de minimis standard; without it, the rendering credential is a proxy.
PTA_MINUTES = "pta_minutes"
#: Every optional extra column the rules read (none is in the contract).
EXTRA_COLUMNS = (VISITS_YTD, EXPECTED_ALLOWED, YTD_OT_ALLOWED, PTA_MINUTES)
#: Rule kinds: near-certain denial, review/audit risk, payment adjustment
#: (not a denial), and "do not flag" guarantees.
KINDS = ("hard", "soft", "payment", "negative")

CMS_TOTAL_TIME = "CMS_TOTAL_TIME"
PER_CODE_MIDPOINT = "PER_CODE_MIDPOINT"
_TIME_RULES = (CMS_TOTAL_TIME, PER_CODE_MIDPOINT)
_BYPASS = S.BYPASS_MODIFIERS
_THERAPY_MODIFIERS = ("GP", "GO", "GN")

#: Gap columns of :attr:`RuleResult.gaps` (float; NaN where the rule does not
#: apply to the line or cannot be evaluated).
GAP_COLUMNS = (
    "units_supported",
    "units_over_supported",
    "visit_units_over_supported",
    "units_over_mue",
    "ytd_over_kx_threshold",
    "ytd_over_tmr_threshold",
    "days_past_cert_due",
    "days_past_cert_through",
    "visits_over_progress_limit",
    "auth_visits_over",
    "visits_over_benefit_limit",
    "days_past_filing_limit",
    "cq_payment_factor",
    "mppr_reduced_units",
)

#: Columns of :attr:`RuleResult.hits`; the first five are the CLI contract.
HIT_COLUMNS = (S.CLAIM_ID, S.LINE_NUMBER, "rule_id", "detail", "fix", "kind", "carc")


# --- the catalogue ----------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Rule:
    """One entry of the rule catalogue.

    Attributes
    ----------
    rule_id : str
        Name from the domain reference's section 9.1 (``KX_MISSING`` ...).
    ref : str
        Row number in that table (``R08``).
    title : str
    kind : {"hard", "soft", "payment", "negative"}
    carc : str
        Typical group-CARC (``CO-119``), empty when no prepayment code is
        expected; ``rarc`` likewise.
    detail, fix : str
        Templates of the hit's detail and fix text (``{field}`` placeholders).
    variants : mapping
        Other ``(detail, fix)`` templates by variant name, for hits that need
        a different sentence (e.g. TIMELY "submit by" vs "past the limit").
    needs : tuple of tuple of str
        Contract columns the rule reads beyond the required ones; each inner
        tuple lists alternatives (any one suffices).
    evaluable : bool
        False when the schema lacks what the rule needs; ``would_need`` names it.
    scope : {"line", "visit", "day", "history"}
        What the rule looks at: the line, the visit (patient, clinician and
        date), the patient's whole date of service across clinicians, or the
        history in the input.
    source : str
        Source tags of the domain reference.
    note : str
    verified : bool
        The rule's logic rests on a primary source or on the December 2026
        compliance review (Errata); the *values* it reads carry their own
        ``verified`` flags in the reference tables.
    """

    rule_id: str
    ref: str
    title: str
    kind: str
    carc: str
    detail: str
    fix: str
    source: str
    needs: tuple[tuple[str, ...], ...] = ()
    evaluable: bool = True
    would_need: tuple[str, ...] = ()
    scope: str = "line"
    rarc: str = ""
    note: str = ""
    variants: Mapping[str, tuple[str, str]] = dataclasses.field(default_factory=dict)
    verified: bool = False

    def template(self, variant: str = "") -> tuple[str, str]:
        """Return the ``(detail, fix)`` templates of a variant ("" = main)."""
        if not variant:
            return self.detail, self.fix
        return self.variants[variant]


def _r(*args, **kwargs) -> Rule:
    return Rule(*args, **kwargs)


_MIN = (S.MINUTES, S.VISIT_TIMED_MINUTES)
RULES: tuple[Rule, ...] = (
    _r(
        "UNITS_TOTAL",
        "R01",
        "Timed units of the visit differ from what its total timed minutes support",
        "soft",
        "",
        "visit bills {billed} timed units; {minutes} timed minutes support {supported}",
        "bill {units} of {code}: {minutes} timed minutes support {supported} in total",
        "S1 S37",
        needs=(_MIN,),
        scope="visit",
        note="CMS_TOTAL_TIME payers: the visit's billed timed units against "
        "floor((T + 7) / 15) of its total timed minutes T, the hit on the lines "
        "that differ from the CMS allocation; PER_CODE_MIDPOINT payers: each code "
        "of 8 minutes or more against floor((minutes + 7) / 15). No prepayment "
        "CARC (the payer cannot see minutes): overpayment on review",
        variants={
            "drop": (
                "visit bills {billed} timed units; {minutes} timed minutes support "
                "{supported}",
                "do not bill {code}: {minutes} timed minutes support {supported} in "
                "total, all allocated to other codes",
            ),
            "midpoint": (
                "{code} billed {code_billed} for {code_minutes} minutes; the payer "
                "counts time per code (midpoint rule)",
                "bill {units} of {code}: {code_minutes} minutes support {units} "
                "under the per-code midpoint rule",
            ),
            "total": (
                "visit bills {billed} timed units; {minutes} timed minutes support "
                "{supported}",
                "bill {supported} of timed codes in total on this date: {minutes} "
                "timed minutes support {supported} (the visit bills {billed})",
            ),
        },
        verified=True,
    ),
    _r(
        "UNITS_ALLOC",
        "R02",
        "Per-code units break the CMS allocation of the visit's units",
        "soft",
        "",
        "{code} billed {billed}; the CMS allocation gives it {units} "
        "({code_minutes} of the visit's {minutes} timed minutes)",
        "bill {units} of {code}: its {code_minutes} minutes earn {units} of the "
        "visit's {supported} under the CMS allocation",
        "S1 S5",
        needs=((S.MINUTES,),),
        scope="visit",
        note="whole 15-minute blocks first, leftover units to the most remaining "
        "minutes; any tie-break accepted",
    ),
    _r(
        "MIN_8",
        "R03",
        "Timed code billed with fewer than 8 timed minutes on the day",
        "hard",
        "",
        "{code} billed with {minutes} timed minutes on the date of service",
        "do not bill {code}: {minutes} timed minutes are below the 8 minutes "
        "needed for one unit",
        "S1",
        needs=(_MIN,),
        scope="visit",
        note="CMS_TOTAL_TIME payers; per-code midpoint payers get PER_CODE_MIDPOINT",
        verified=True,
    ),
    _r(
        "PER_CODE_MIDPOINT",
        "R04",
        "Timed code under 8 minutes billed at a payer that counts time per code",
        "hard",
        "CO-151",
        "{code} billed {billed} for {code_minutes} minutes; the payer counts time "
        "per code (midpoint rule; {policy})",
        "do not bill {code}: {code_minutes} minutes do not pass the midpoint of a "
        "15-minute unit (8 minutes)",
        "S7 S6",
        needs=((S.MINUTES,),),
        note="payer time_rule PER_CODE_MIDPOINT and the code's minutes < 8; more "
        "units than floor((minutes + 7) / 15) on longer codes is UNITS_TOTAL; "
        "CARC not confirmed",
    ),
    _r(
        "GP_MISSING",
        "R05",
        "Therapy line without the GP (or GO/GN) plan-of-care modifier",
        "hard",
        "CO-4",
        "{payer_id} therapy line of {code} without GP/GO/GN ({policy})",
        "add modifier GP",
        "S28 S30",
        needs=((S.MODIFIERS,),),
        rarc="N519",
        note="payer policy requires_gp; therapy codes of therapy_codes.csv "
        "('always therapy', and 'sometimes therapy' unless an MD/DC rendered "
        "them); OT lines (OT evaluations, OT/OTA credential) are told GO",
        variants={
            "ot": (
                "{payer_id} therapy line of {code} without GP/GO/GN ({policy})",
                "add modifier GO (occupational therapy plan of care)",
            )
        },
        verified=True,
    ),
    _r(
        "CQ_RULE",
        "R06",
        "Service furnished in whole or in part by a PTA without the CQ modifier",
        "soft",
        "",
        "rendering credential PTA on a {payer_id} therapy line of {code} without "
        "CQ ({policy}); a proxy: PTA minutes are not in the input",
        "add modifier CQ if the PTA furnished more than {share} of the service "
        "(de minimis standard); keep the PT's and the PTA's minutes in the note",
        "S21 S22",
        needs=((S.PROVIDER_CREDENTIAL,), (S.MODIFIERS,)),
        note="payer policy cq_applies (Medicare, TRICARE, UHC, Humana: Errata R06); "
        "DOS on/after parameter cq_required_from. With the optional pta_minutes "
        "column (minutes the PTA furnished without the PT, from a documentation "
        "export): CQ when the PTA furnished more than 10% (cq_de_minimis_share) "
        "and, for timed codes, the PT's own minutes do not support every billed "
        "unit (2022 revision). Without it, a PTA as rendering provider is the "
        "proxy. NOT checkable: Medicare Part B lines are billed under the "
        "supervising PT, so without PTA minutes a PTA's share of a PT-billed "
        "line is invisible; nor the unit-by-unit split of shared units",
        variants={
            "measured": (
                "the PTA furnished {pta} of the {minutes} minutes of {code} (more "
                "than {share}) and the PT's own minutes support {pt_units} of the "
                "{units} units billed; no CQ ({policy})",
                "add modifier CQ: the PTA furnished more than {share} of the service "
                "(de minimis standard)",
            )
        },
        verified=True,
    ),
    _r(
        "CQ_PAYMENT",
        "R07",
        "CQ line paid at 85% of the fee schedule",
        "payment",
        "",
        "CQ line: paid at {factor} of the fee schedule",
        "no change: expect {factor} of the allowed amount on CQ lines (since {since})",
        "S21",
        needs=((S.MODIFIERS,),),
        note="payer policy cq_applies and pta_payment_factor (Medicare 0.85); DOS "
        "on/after the cq_payment_factor parameter's effective_from (2022-01-01)",
        verified=True,
    ),
    _r(
        "KX_MISSING",
        "R08",
        "At or above the KX threshold (this visit included) without the KX modifier",
        "hard",
        "CO-119",
        "ytd {bucket} therapy allowed {ytd} > {year} KX threshold {threshold}; no KX",
        "add KX: ytd therapy allowed {ytd} exceeds the {year} threshold {threshold} "
        "({verified})",
        "S16 S17 S19 S20 S29",
        needs=((S.YTD_THERAPY_ALLOWED,), (S.MODIFIERS,)),
        note="payer policy kx_applies, therapy code; KX belongs on the lines at and "
        "above the threshold, so the visit that crosses it needs KX too (Errata "
        "R08): year-to-date + this visit's expected allowed amount >= kx_threshold "
        "of the DOS year. The visit's amount: the optional expected_allowed column, "
        "else fee_schedule.csv (units x fee less the MPPR cut, CQ factor), never "
        "above the charge; lines without either count 0 and at most their charge "
        "(not evaluated when that decides). PT and SLP share ytd_therapy_allowed; "
        "OT lines (GO, OT evaluations, OT/OTA) need the optional ytd_ot_allowed. "
        "Years outside kx_thresholds.csv: not evaluated",
        variants={
            "crossing": (
                "ytd {bucket} therapy allowed {ytd} + this visit's expected allowed "
                "{visit} ({basis}) reaches the {year} KX threshold {threshold}; no KX",
                "add KX to this visit's therapy lines: they take the year-to-date "
                "{ytd} to the {year} threshold {threshold}, and KX is required at "
                "and above it (threshold: {verified})",
            )
        },
        verified=True,
    ),
    _r(
        "TMR",
        "R09",
        "Above the targeted medical review threshold",
        "soft",
        "",
        "ytd therapy allowed {ytd} > {year} targeted-review threshold {threshold}",
        "have the plan of care, progress reports and notes ready for medical review: "
        "ytd therapy allowed {ytd} exceeds the {year} review threshold {threshold}",
        "S16",
        needs=((S.YTD_THERAPY_ALLOWED,),),
        note="payer policy kx_applies; tmr_threshold of the DOS year",
        verified=True,
    ),
    _r(
        "CERT_30D",
        "R10",
        "Plan of care not certified within 30 days of the episode start",
        "soft",
        "CO-50",
        "no plan-of-care certification; it was due {due} (episode start {start} + "
        "{limit} days)",
        "get the plan of care signed and dated by the certifying physician/NPP: "
        "certification was due {due}, {days} days before this visit",
        "S23 S25",
        needs=((S.EPISODE_START_DATE,), (S.POC_CERTIFIED_DATE,)),
        note="payer policy poc_rules_apply; the 2025 referral exception needs the "
        "referral order and the date the plan was sent to the referrer (not in the "
        "schema): such lines are still flagged, with the exception named in the fix",
        variants={
            "missing_2025": (
                "no plan-of-care certification; it was due {due} (episode start "
                "{start} + {limit} days)",
                "get the plan of care signed and dated by the certifying "
                "physician/NPP (due {due}, {days} days before this visit), or keep "
                "the signed referral and proof the plan was sent to the referrer "
                "within 30 days of the evaluation (2025 exception)",
            ),
            "late": (
                "plan of care certified on {cert}, {late} days after the {due} due "
                "date",
                "keep the delayed-certification justification with the record: the "
                "plan of care was certified on {cert}, {late} days after it was due",
            ),
        },
        verified=True,
    ),
    _r(
        "RECERT_90",
        "R11",
        "Visit after the certified interval ended (recertification missing)",
        "soft",
        "CO-50",
        "certification ran through {through}; this visit is {days} days later",
        "recertify the plan of care (at least every {limit} days): the certification "
        "ended {through}, {days} days before this visit",
        "S23",
        needs=((S.CERT_THROUGH_DATE,),),
        note="payer policy poc_rules_apply",
        verified=True,
    ),
    _r(
        "PROGRESS_10",
        "R12",
        "Progress report overdue (more than 10 treatment days)",
        "soft",
        "",
        "{visits} treatment days since the last progress report (maximum {limit})",
        "write a progress report before billing this visit: {visits} treatment days "
        "since the last one, the maximum is {limit}",
        "S24",
        needs=((S.VISITS_SINCE_PROGRESS_REPORT,),),
        note="payer policy poc_rules_apply; parameter progress_report_treatment_days",
        verified=True,
    ),
    _r(
        "DX_MISSING",
        "R13",
        "No valid ICD-10-CM diagnosis on the line (missing, a header, or not "
        "billable on the date of service)",
        "hard",
        "CO-16",
        "no ICD-10-CM diagnosis on the line",
        "add the ICD-10-CM diagnosis this line treats, primary first: the claim is "
        "returned as incomplete without it",
        "S48 S30 S32",
        rarc="M76",
        note="validity on the date of service against the ICD-10-CM release in "
        "force (Errata R13/R14): the code set of simple-icd-10-cm (FY2026, April "
        "2026 release) and icd10cm_changes.csv (FY2025 from the April 2025 "
        "release) cover 2024-10-01 to 2026-09-30; a category header (R26.8) or a "
        "code that stopped being billable (G35 from 2025-10-01) fires; other dates "
        "are not evaluated for validity (an empty list still fires)",
        variants={
            "invalid": (
                "{why}",
                "{fix_hint}: a claim with a code that is not billable on the date "
                "of service is returned as incomplete",
            )
        },
        verified=True,
    ),
    _r(
        "DX_SUPPORT",
        "R14",
        "No pointed diagnosis supports 97112",
        "soft",
        "CO-50",
        "none of the pointed diagnoses ({dx}) is on the 97112 support list "
        "({verified})",
        "point the line to the diagnosis that justifies 97112 (balance, gait, "
        "neurological or vestibular condition of the plan of care), or bill the "
        "code that fits {dx}",
        "S29 S30 S5 S43",
        needs=((S.DEFICITS_DOCUMENTED,),),
        rarc="N115",
        note="97112 lines; every code the line points to is tested (Errata R13/R14), "
        "against dx_support.csv families (R26.x, R27.x, R29.6, R53.1/R53.81, "
        "G-codes of neurological disease (G20-G26, G35, G61.0, G80-G83, G12.21 "
        "named; headache, sleep and pain G-codes not), I69.x, S-codes of injuries "
        "(S06 and spinal cord outright, others with a documented deficit), Z47.x, "
        "Z96.6x, M62.81, H81.x/H83.x, E11.42 ...; longest prefix wins; "
        "supports_97112=false rows are a deny list); commercial payers use CO-11; "
        "soft while the list is "
        "unverified. Needs deficits_documented only when the supporting codes are "
        "marked requires_documented_deficit",
        variants={
            "needs_deficit": (
                "the pointed diagnoses ({dx}) support 97112 only with a documented "
                "balance or proprioception deficit; none is documented",
                "document the balance or proprioception deficit that ties {dx} to "
                "97112, or point the line to the neuromuscular diagnosis",
            ),
            "denied": (
                "no pointed diagnosis supports 97112 and {dx} is on the "
                "not-supported list ({verified})",
                "point the line to the diagnosis that justifies 97112, or bill the "
                "code that fits {dx}",
            ),
        },
    ),
    _r(
        "NCCI_PTP",
        "R15",
        "NCCI pair billed without a bypass modifier on the column-2 code",
        "hard",
        "CO-97",
        "{code} billed with {col1}{provider} on the same day (NCCI column 2 of "
        "{col1}, modifier indicator 1; {basis}) without 59/XE/XP/XS/XU{misplaced}",
        "append 59 or XU to {code} (column 2 of {col1}) if the two services were "
        "performed in separate time blocks (XP if another clinician furnished "
        "them); otherwise do not bill {code}",
        "S9 S13 S29",
        needs=((S.MODIFIERS,),),
        scope="day",
        rarc="M80",
        note="ncci_ptp.csv pairs effective on the DOS, among the patient's services "
        "that day across clinicians and disciplines (Errata s3); the CMS quarterly "
        "file via ptdenial reference import-ncci; hits on built-in rows not "
        "verified are soft; CO-236 at some payers",
        verified=True,
    ),
    _r(
        "NCCI_MI0",
        "R16",
        "NCCI pair with modifier indicator 0 (no bypass possible)",
        "hard",
        "CO-97",
        "{code} billed with {col1}{provider} on the same day: NCCI edit with "
        "modifier indicator 0 ({basis})",
        "do not bill {code} with {col1} on the same day: no modifier bypasses this "
        "edit",
        "S9",
        scope="day",
        rarc="M80",
        verified=True,
    ),
    _r(
        "MOD59_COMMERCIAL",
        "R17",
        "Payer known to reject the 59/X bypass on an NCCI pair",
        "soft",
        "CO-97",
        "{code} carries {modifier} to bypass {col1}, but payer {payer_id} does not "
        "accept the bypass",
        "expect a denial of {code} (column 2 of {col1}): bill it only with "
        "documentation of a distinct service and be ready to appeal",
        "S12",
        needs=((S.MODIFIERS,),),
        scope="day",
        note="payer policy accepts_59_bypass = false (set it per payer_id)",
    ),
    _r(
        "MUE",
        "R18",
        "Units of the code above the MUE (per line or per date of service, by MAI)",
        "hard",
        "CO-151",
        "{units} of {code} on this date of service; MUE {mue_n} ({mai}; {basis})",
        "bill at most {mue} of {code} on this date of service (MUE {mue_n}, "
        "{verified})",
        "S14 S15",
        scope="day",
        note="mue.csv (the CMS practitioner table via ptdenial reference import-mue); "
        "MAI 1: each line's units; MAI 2/3 and unknown: the patient's units of the "
        "code that day across lines and clinicians; dates outside the row's "
        "effective range: not evaluated; hits on unverified rows (97112 = 4) are "
        "soft; CARC not confirmed",
        variants={
            "line": (
                "{units} of {code} on this line; MUE {mue_n} ({mai}, a claim-line "
                "edit; {basis})",
                "bill at most {mue} of {code} on one line; more units go on "
                "separate lines only when the documentation supports them (MUE "
                "{mue_n}, {verified})",
            )
        },
        verified=True,
    ),
    _r(
        "AUTH_ABSENT",
        "R19",
        "Prior authorization required but no authorization number",
        "hard",
        "CO-197",
        "payer {payer_id} ({payer_class}) requires prior authorization ({policy}); "
        "no number on the line",
        "obtain prior authorization from {payer_id} and put its number on the claim",
        "S49 S51",
        needs=((S.PRIOR_AUTH_NUMBER,),),
        note="payer policy auth_required; initial evaluations (97161-97163, "
        "97165-97167) exempt; a class default or an unverified row gives a soft hit",
        verified=True,
    ),
    _r(
        "AUTH_INVALID",
        "R20",
        "Authorization does not cover the date, provider or code",
        "hard",
        "CO-15",
        "authorization does not cover this line",
        "correct the authorization number or get one that covers this date, "
        "provider and code",
        "S30",
        evaluable=False,
        would_need=(
            "auth_start_date",
            "auth_end_date",
            "auth_cpt_codes",
            "auth_provider_id",
        ),
        verified=True,
    ),
    _r(
        "AUTH_EXCEEDED",
        "R21",
        "More visits than authorized",
        "hard",
        "CO-198",
        "visit {visit} on an authorization for {approved} visits",
        "request more authorized visits from {payer_id}: this is visit {visit} of "
        "{approved} approved",
        "S51",
        needs=((S.AUTH_VISITS_APPROVED,), (S.AUTH_VISITS_USED,)),
        verified=True,
    ),
    _r(
        "BENEFIT_LIMIT",
        "R22",
        "Plan visit limit of the year reached",
        "hard",
        "CO-119",
        "visit {visit} of {year} with payer {payer_id}; the plan covers {limit} "
        "visits a year ({counted}; {policy})",
        "check the benefit before billing: the plan covers {limit} visits a year and "
        "this is visit {visit}; get an exception or a signed patient agreement",
        "S51 S29",
        scope="history",
        note="payer policy visit_limit; visits counted per patient, payer and "
        "calendar year from the optional visits_ytd column, else from the input "
        "lines (a lower bound when the input holds only part of the year); a "
        "class default (commercial 26, Medicaid 20: guesses) gives a soft hit "
        "until the practice sets the payer's own limit",
        verified=True,
    ),
    _r(
        "TIMELY",
        "R23",
        "Filed after the payer's timely-filing limit",
        "hard",
        "CO-29",
        "submitted {submitted}, {days} days after the filing deadline {deadline} "
        "({policy})",
        "past the filing limit by {days} days: the deadline was {deadline} (filing "
        "limit {limit} days); send only with proof of timely filing, else write off",
        "S35 S36",
        needs=((S.SUBMISSION_DATE,),),
        note="payer policy filing_limit_days; lines without submission_date use "
        "as_of (the run date) when given; a class default (commercial 90 days: a "
        "guess) gives a soft hit",
        variants={
            "submit_by": (
                "planned submission {submitted} is after the filing deadline "
                "{deadline} ({policy})",
                "submit by {deadline} (filing limit {limit} days)",
            )
        },
        verified=True,
    ),
    _r(
        "DUPLICATE",
        "R24",
        "Same service already billed",
        "hard",
        "OA-18",
        "same patient, date, code, modifiers, units and provider as claim "
        "{orig_claim} line {orig_line}",
        "do not send it again: claim {orig_claim} line {orig_line} already has this "
        "service; send a corrected claim if something changed",
        "S30",
        scope="history",
        note="within the input: the earliest line (submission date, claim, line) is "
        "the original; modifiers are part of the key when the column is present",
        verified=True,
    ),
    _r(
        "ELIGIBILITY",
        "R25",
        "Date of service outside the patient's coverage",
        "hard",
        "CO-27",
        "date of service outside the coverage dates",
        "verify eligibility and bill the payer that covered the patient on this date",
        "S29",
        evaluable=False,
        would_need=("coverage_start_date", "coverage_end_date", "other_primary_payer"),
        verified=True,
    ),
    _r(
        "NO_BENEFIT",
        "R26",
        "Plan excludes physical therapy",
        "hard",
        "PR-204",
        "the plan has no physical-therapy benefit",
        "verify benefits; have the patient sign a financial agreement before treatment",
        "S32",
        evaluable=False,
        would_need=("plan_covers_pt",),
    ),
    _r(
        "REFERRING_NPI",
        "R27",
        "No referring/certifying practitioner on the claim",
        "hard",
        "CO-16",
        "no referring/certifying provider on a {payer_class} therapy line ({policy})",
        "add the referring/certifying physician's or NPP's NPI",
        "S28 S47",
        needs=((S.REFERRING_PROVIDER_ID,),),
        rarc="N280",
        note="payer policy referring_npi_required",
        verified=True,
    ),
    _r(
        "PROVIDER_ELIG",
        "R28",
        "Rendering provider not enrolled/credentialed on the date of service",
        "hard",
        "CO-B7",
        "rendering provider not enrolled on the date of service",
        "bill under an enrolled provider, or complete enrollment/credentialing first",
        "S29",
        evaluable=False,
        would_need=("rendering_enrolled_from", "rendering_enrolled_to"),
        verified=True,
    ),
    _r(
        "CODE_CONTENT",
        "R29",
        "Documentation does not describe neuromuscular re-education",
        "soft",
        "CO-50",
        "the note documents {documented} but no neuromuscular re-education",
        "bill {suggested} for {documented}, or document the neuromuscular "
        "re-education technique and the deficit it treats",
        "S37 S43 S46",
        needs=((S.INTERVENTIONS_DOCUMENTED, S.DEFICITS_DOCUMENTED),),
        note="97112 lines; intervention-to-code map in therapy_codes.csv",
        variants={
            "no_nmr": (
                "the note documents no neuromuscular re-education intervention",
                "document the neuromuscular re-education technique (balance, "
                "coordination, posture or proprioception training) and its time",
            ),
            "no_deficit": (
                "the note documents no balance, coordination, kinesthetic-sense, "
                "posture or proprioception deficit",
                "document the neuromotor deficit that 97112 treats (balance, "
                "coordination, kinesthetic sense, posture or proprioception)",
            ),
        },
    ),
    _r(
        "MPPR",
        "R30",
        "Multiple procedure payment reduction on the 2nd and later units",
        "payment",
        "",
        "{units} therapy units on the day",
        "no change: MPPR pays {reduced} of the {units} units with 50% less practice "
        "expense",
        "S27",
        scope="day",
        note="payer policy mppr_applies; the patient's therapy units of the day "
        "across disciplines and clinicians",
        verified=True,
    ),
    _r(
        "EVAL_SAME_DAY_OK",
        "R31",
        "97112 with a PT evaluation the same day is not an NCCI pair",
        "negative",
        "",
        "97112 billed with a PT evaluation the same day",
        "no change: 97112 with 97161-97164 has no NCCI edit",
        "S10 S13",
        scope="day",
        note="never flags; the shipped ncci_ptp.csv holds no 97112/evaluation pair "
        "(an override file that adds one makes NCCI_PTP fire)",
    ),
    _r(
        "CODE_NOT_PAYABLE",
        "R32",
        "Code the payer class does not pay (97014 to Medicare: bill G0283)",
        "hard",
        "",
        "{code} billed to {payer_class}, which does not pay {code}",
        "bill {instead} instead of {code}: {payer_class} pays unattended electrical "
        "stimulation only as {instead}",
        "S53",
        note="therapy_codes.csv not_paid_by and use_instead (Errata 97014: codapedia "
        "(CGS) 'Proper usage of electrical stimulation'); CARC not confirmed",
        variants={
            "none": (
                "{code} billed to {payer_class}, which does not pay {code}",
                "do not bill {code} to {payer_class}",
            )
        },
        verified=True,
    ),
    _r(
        "DAILY_UNIT_CAP",
        "R33",
        "Timed units of the day above the payer's daily cap",
        "hard",
        "",
        "{units} timed units on the date of service with payer {payer_id}; the "
        "daily cap is {cap} ({policy})",
        "bill at most {cap} timed units on this date of service: {over} over the "
        "cap would be denied",
        "S8 S52",
        scope="day",
        note="payer policy daily_timed_unit_cap (empty by default: UHC's 'Maximum "
        "Combined Frequency per Day' figure was not retrieved; Regence uses CMS "
        "MUEs and its own daily limits); the patient's timed units that day across "
        "clinicians; CARC not confirmed (CO-151 plausible)",
    ),
)
_RULE_BY_ID = {r.rule_id: r for r in RULES}


def rule_ids(*, evaluable_only: bool = False) -> list[str]:
    """Rule ids in catalogue order.

    Parameters
    ----------
    evaluable_only : bool
        Only the rules the schema's columns can evaluate.

    Returns
    -------
    list of str

    Examples
    --------
    >>> from ptdenial.rules import rule_ids
    >>> rule_ids()[:3]
    ['UNITS_TOTAL', 'UNITS_ALLOC', 'MIN_8']
    >>> "ELIGIBILITY" in rule_ids(evaluable_only=True)
    False
    """
    return [r.rule_id for r in RULES if r.evaluable or not evaluable_only]


def rule_catalogue() -> pd.DataFrame:
    """The rule catalogue as a table, one row per rule.

    Returns
    -------
    pandas.DataFrame
        Columns ``rule_id``, ``ref``, ``title``, ``kind``, ``carc``, ``rarc``,
        ``scope``, ``evaluable``, ``needs`` (contract columns; ``a or b`` means
        either), ``would_need`` (columns the schema lacks), ``detail``, ``fix``
        (templates), ``source``, ``note``.

    Examples
    --------
    >>> from ptdenial.rules import rule_catalogue
    >>> cat = rule_catalogue().set_index("rule_id")
    >>> cat.loc["KX_MISSING", ["kind", "carc"]].tolist()
    ['hard', 'CO-119']
    >>> sorted(cat.index[~cat["evaluable"]])
    ['AUTH_INVALID', 'ELIGIBILITY', 'NO_BENEFIT', 'PROVIDER_ELIG']
    >>> cat.loc["ELIGIBILITY", "would_need"]
    ['coverage_start_date', 'coverage_end_date', 'other_primary_payer']
    """
    rows = []
    for r in RULES:
        rows.append(
            {
                "rule_id": r.rule_id,
                "ref": r.ref,
                "title": r.title,
                "kind": r.kind,
                "carc": r.carc,
                "rarc": r.rarc,
                "scope": r.scope,
                "evaluable": r.evaluable,
                "needs": [" or ".join(alts) for alts in r.needs],
                "would_need": list(r.would_need),
                "detail": r.detail,
                "fix": r.fix,
                "source": r.source,
                "verified": r.verified,
                "note": r.note,
            }
        )
    return pd.DataFrame(rows)
