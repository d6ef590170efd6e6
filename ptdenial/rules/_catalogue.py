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
    scope : {"line", "visit", "history"}
    source : str
        Source tags of the domain reference.
    note : str
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
    ),
    _r(
        "PER_CODE_MIDPOINT",
        "R04",
        "Timed code under 8 minutes billed at a payer that counts time per code",
        "hard",
        "CO-151",
        "{code} billed {billed} for {code_minutes} minutes; the payer counts time "
        "per code (midpoint rule)",
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
        "{payer_class} therapy line of {code} without GP",
        "add modifier GP",
        "S28 S30",
        needs=((S.MODIFIERS,),),
        rarc="N519",
        note="payer policy requires_gp; 'always therapy' codes of therapy_codes.csv",
    ),
    _r(
        "CQ_RULE",
        "R06",
        "Service by a PTA without the CQ modifier",
        "soft",
        "",
        "rendering credential PTA on a {payer_class} therapy line without CQ",
        "add modifier CQ: the service was furnished in whole or in part by a PTA",
        "S21 S22",
        needs=((S.PROVIDER_CREDENTIAL,), (S.MODIFIERS,)),
        note="proxy: a PTA as rendering provider stands for 'PTA furnished more than "
        "10% of the minutes' (the exact test needs PTA minutes, not in the schema); "
        "payer policy cq_applies; DOS on/after parameter cq_required_from",
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
        note="payer policy cq_applies; DOS on/after the cq_payment_factor parameter's "
        "effective_from",
    ),
    _r(
        "KX_MISSING",
        "R08",
        "Above the KX threshold without the KX modifier",
        "hard",
        "CO-119",
        "ytd therapy allowed {ytd} > {year} KX threshold {threshold}; no KX",
        "add KX: ytd therapy allowed {ytd} exceeds the {year} threshold {threshold} "
        "(verified={verified})",
        "S16 S17 S19 S20 S29",
        needs=((S.YTD_THERAPY_ALLOWED,), (S.MODIFIERS,)),
        note="payer policy kx_applies, 'always therapy' code, ytd_therapy_allowed > "
        "kx_threshold of the DOS year (kx_thresholds.csv); years outside the table: "
        "not evaluated",
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
    ),
    _r(
        "DX_MISSING",
        "R13",
        "No valid ICD-10-CM diagnosis on the line",
        "hard",
        "CO-16",
        "no ICD-10-CM diagnosis on the line",
        "add the ICD-10-CM diagnosis this line treats, primary first: the claim is "
        "returned as incomplete without it",
        "S48 S30 S32",
        rarc="M76",
    ),
    _r(
        "DX_SUPPORT",
        "R14",
        "Primary diagnosis does not support 97112",
        "soft",
        "CO-50",
        "primary diagnosis {dx} is not on the 97112 support list (verified={verified})",
        "list first the diagnosis that justifies 97112 (balance, gait, neurological "
        "or vestibular condition of the plan of care), or bill the code that fits "
        "{dx}",
        "S29 S30 S5 S43",
        needs=((S.DEFICITS_DOCUMENTED,),),
        rarc="N115",
        note="97112 lines; dx_support.csv prefixes (longest match wins; "
        "supports_97112=false rows are a deny list); commercial payers use CO-11; "
        "soft while the list is unverified. Needs deficits_documented only for "
        "codes marked requires_documented_deficit",
        variants={
            "needs_deficit": (
                "primary diagnosis {dx} supports 97112 only with a documented "
                "balance or proprioception deficit; none is documented",
                "document the balance or proprioception deficit that ties {dx} to "
                "97112, or list the neuromuscular diagnosis first",
            ),
            "denied": (
                "primary diagnosis {dx} is on the not-supported list for 97112 "
                "(verified={verified})",
                "list first the diagnosis that justifies 97112, or bill the code "
                "that fits {dx}",
            ),
        },
    ),
    _r(
        "NCCI_PTP",
        "R15",
        "NCCI pair billed without a bypass modifier on the column-2 code",
        "hard",
        "CO-97",
        "{code} billed with {col1} on the same day (NCCI column 2 of {col1}, "
        "modifier indicator 1) without 59/XE/XP/XS/XU",
        "append 59 or XU to {code} (column 2 of {col1}) if the two services were "
        "performed in separate time blocks; otherwise do not bill {code}",
        "S9 S13 S29",
        needs=((S.MODIFIERS,),),
        scope="visit",
        rarc="M80",
        note="ncci_ptp.csv pairs effective on the DOS; CO-236 at some payers",
    ),
    _r(
        "NCCI_MI0",
        "R16",
        "NCCI pair with modifier indicator 0 (no bypass possible)",
        "hard",
        "CO-97",
        "{code} billed with {col1} on the same day: NCCI edit with modifier "
        "indicator 0",
        "do not bill {code} with {col1} on the same day: no modifier bypasses this "
        "edit",
        "S9",
        scope="visit",
        rarc="M80",
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
        scope="visit",
        note="payer policy accepts_59_bypass = false (set it per payer_id)",
    ),
    _r(
        "MUE",
        "R18",
        "Units of the code on the date of service above the MUE",
        "hard",
        "CO-151",
        "{units} of {code} on this date of service; MUE {mue_n} (verified={verified})",
        "bill at most {mue} of {code} on this date of service (MUE {mue_n}, "
        "verified={verified})",
        "S14 S15",
        scope="visit",
        note="mue.csv; units summed per patient, provider and date of service; "
        "dates outside the row's effective range: not evaluated; CARC not confirmed",
    ),
    _r(
        "AUTH_ABSENT",
        "R19",
        "Prior authorization required but no authorization number",
        "hard",
        "CO-197",
        "payer {payer_id} ({payer_class}) requires prior authorization; no number "
        "on the line",
        "obtain prior authorization from {payer_id} and put its number on the claim",
        "S49 S51",
        needs=((S.PRIOR_AUTH_NUMBER,),),
        note="payer policy auth_required; initial evaluations (97161-97163) exempt",
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
    ),
    _r(
        "BENEFIT_LIMIT",
        "R22",
        "Plan visit limit of the year reached",
        "hard",
        "CO-119",
        "visit {visit} of {year} with payer {payer_id}; the plan covers {limit} "
        "visits a year ({counted})",
        "check the benefit before billing: the plan covers {limit} visits a year and "
        "this is visit {visit}; get an exception or a signed patient agreement",
        "S51 S29",
        scope="history",
        note="payer policy visit_limit; visits counted per patient, payer and "
        "calendar year from the optional visits_ytd column, else from the input "
        "lines (a lower bound when the input holds only part of the year)",
    ),
    _r(
        "TIMELY",
        "R23",
        "Filed after the payer's timely-filing limit",
        "hard",
        "CO-29",
        "submitted {submitted}, {days} days after the filing deadline {deadline}",
        "past the filing limit by {days} days: the deadline was {deadline} (filing "
        "limit {limit} days); send only with proof of timely filing, else write off",
        "S35 S36",
        needs=((S.SUBMISSION_DATE,),),
        note="payer policy filing_limit_days; lines without submission_date use "
        "as_of (the run date) when given",
        variants={
            "submit_by": (
                "planned submission {submitted} is after the filing deadline "
                "{deadline}",
                "submit by {deadline} (filing limit {limit} days)",
            )
        },
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
        "no referring/certifying provider on a {payer_class} therapy line",
        "add the referring/certifying physician's or NPP's NPI",
        "S28 S47",
        needs=((S.REFERRING_PROVIDER_ID,),),
        rarc="N280",
        note="payer policy referring_npi_required",
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
        "{units} always-therapy units on the day",
        "no change: MPPR pays {reduced} of the {units} units with 50% less practice "
        "expense",
        "S27",
        scope="visit",
        note="payer policy mppr_applies",
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
        scope="visit",
        note="never flags; the shipped ncci_ptp.csv holds no 97112/evaluation pair "
        "(an override file that adds one makes NCCI_PTP fire)",
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
                "note": r.note,
            }
        )
    return pd.DataFrame(rows)
