"""A synthetic claims world for CPT 97112, with each line's true denial probability.

Real claims are PHI, so ptdenial develops and tests against a generated world
that a billing analyst would recognise. The generator follows
``../shared/domain/97112-billing-reference.md`` and reads every figure it can
from the shipped reference tables (:func:`ptdenial.reference.load_reference`):
KX thresholds by year, payer policies (time rule, filing limit, prior
authorization, visit limit, 59 bypass, GP/KX/CQ, plan-of-care rules), the MUE,
the NCCI pairs, the 97112 diagnosis list, the CARC/RARC catalogue and the
plan-of-care parameters. Everything the reference does not give is a named,
documented assumption on :class:`SyntheticParams`.

The world is built top-down, all vectorized with numpy:

* **payers** of every payer class (several ids per class, each with its own
  strictness, fee level, patient cost sharing and adjudication lag);
* **a practice** of clinics, physical therapists (PT) and assistants (PTA)
  whose documentation quality, note-signing habits, unit over-billing and
  a latent denial effect differ;
* **patients -> episodes of care -> visits** (evaluation day, then two or
  three treatment days a week, progress reports, certification and
  recertification of the plan of care, prior authorization);
* **claim lines**: 97112 and the codes billed beside it (97110, 97140, 97530,
  97116, evaluations 97161-97164, modalities 97010, 97014/G0283, 97032,
  97035, and now and then 97760 and 97022, so NCCI pairs occur with and without
  59/X modifiers), minutes per code and units by the CMS 8-minute total-time
  rule or the per-code midpoint rule of the payer.

Outcomes come from a latent model. Each line's true denial probability is the
sigmoid of a sum of hard edits (near-certain denials), soft payer-specific
medical-necessity effects, provider effects, a payer policy change part-way
through the period, and noise. ``denied`` is drawn from it; denied lines get
the CARC/RARC of their dominant cause, paid lines a realistic remittance
(CO-45, PR-1/2/3, CO-253). The probability and the dominant cause are returned
in a separate ``truth`` table and are never columns of the claims.

Examples
--------
>>> from ptdenial.datasets import make_claims
>>> world = make_claims(200, random_state=0)
>>> claims, truth = world
>>> sorted(set(truth.columns) & set(claims.columns))
['claim_id', 'line_number']
>>> bool((truth["true_denial_probability"].between(0, 1)).all())
True
"""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.io import write_json, write_table
from ptdenial.reference import load_reference

__all__ = [
    "CAUSES",
    "HARD_CAUSES",
    "PolicyChange",
    "SOFT_CAUSES",
    "SampleData",
    "SyntheticClaims",
    "SyntheticParams",
    "TRUTH_PROBABILITY",
    "TRUTH_CAUSE",
    "TRUTH_BEST_PROBABILITY",
    "DEFAULT_SAMPLE_PATIENTS",
    "DEFAULT_SAMPLE_SEED",
    "load_sample_claims",
    "make_claims",
    "make_sample",
    "write_sample",
]

# --- truth table -----------------------------------------------------------------
TRUTH_PROBABILITY = "true_denial_probability"
TRUTH_CAUSE = "dominant_cause"
#: The true probability with the latent model's random claim and line noise
#: integrated out: the best any model can do from the claim table (the noise
#: is drawn at random and is not visible in any column).
TRUTH_BEST_PROBABILITY = "best_achievable_probability"

#: Causes that are near-certain denials when present (rule ids of the reference
#: where one exists; PROVIDER_ELIG is not visible in the claim table).
HARD_CAUSES = (
    "GP_MISSING",
    "KX_MISSING",
    "MUE",
    "NCCI_PTP",
    "TIMELY",
    "AUTH_ABSENT",
    "AUTH_EXCEEDED",
    "BENEFIT_LIMIT",
    "DX_MISSING",
    "REFERRING_NPI",
    "PER_CODE_MIDPOINT",
    "DUPLICATE",
    "PROVIDER_ELIG",
)
#: Soft causes: they raise the probability without making a denial certain.
SOFT_CAUSES = (
    "DX_SUPPORT",
    "CODE_CONTENT",
    "UNITS_TOTAL",
    "CERT_30D",
    "RECERT_90",
    "PROGRESS_10",
    "CQ_MISSING",
    "medical_necessity",
    "provider",
    "payer_policy_change",
    "noise",
)
#: Every value ``dominant_cause`` can take.
CAUSES = HARD_CAUSES + SOFT_CAUSES

# --- sample defaults -------------------------------------------------------------
#: Patients of the committed sample (about 50k history lines over two years).
DEFAULT_SAMPLE_PATIENTS = 1565
#: Seed of the committed sample.
DEFAULT_SAMPLE_SEED = 0
_SAMPLE_START = "2024-01-01"
_SAMPLE_END = "2025-12-31"

_CONDITIONS = (
    "neuro",
    "vestibular",
    "gait_balance",
    "ortho_ankle",
    "weakness",
    "non_supporting",
)

# Code columns, in the order lines appear on a claim.
_CODES = (
    "97161",
    "97162",
    "97163",
    "97164",
    "97112",
    "97110",
    "97140",
    "97530",
    "97116",
    "97760",
    "97032",
    "97035",
    "97010",
    "97014",
    "G0283",
    "97022",
)
_CI = {c: i for i, c in enumerate(_CODES)}
_TIMED = np.array(
    [
        c in {"97112", "97110", "97140", "97530", "97116", "97760", "97032", "97035"}
        for c in _CODES
    ]
)
_TIMED_COLS = np.flatnonzero(_TIMED)
_EVAL_COLS = np.array([_CI["97161"], _CI["97162"], _CI["97163"]])
_MEDICARE_LIKE = ("medicare", "medicare_advantage", "tricare")

_MOD_NAMES = ("GP", "CQ", "KX", "59", "XU", "XS", "95")
_MOD = {m: 1 << i for i, m in enumerate(_MOD_NAMES)}
_BYPASS_BITS = _MOD["59"] | _MOD["XU"] | _MOD["XS"]

_NMR_INTERVENTIONS = (
    "NEUROMUSCULAR_REEDUCATION",
    "BALANCE_TRAINING",
    "PROPRIOCEPTIVE_TRAINING",
    "POSTURAL_TRAINING",
    "COORDINATION_TRAINING",
)
_INTERVENTIONS = tuple(i.upper() for i in S.INTERVENTIONS)
_IV = {name: 1 << i for i, name in enumerate(_INTERVENTIONS)}
_NMR_BITS = sum(_IV[n] for n in _NMR_INTERVENTIONS)
_DEFICITS = tuple(d.upper() for d in S.DEFICITS)
_DEF = {name: 1 << i for i, name in enumerate(_DEFICITS)}

_MINUTE_BANDS = np.array([[3, 7], [8, 22], [23, 37], [38, 52], [53, 67], [68, 80]])


def _pairs(*items):
    return tuple(items)


@dataclasses.dataclass(frozen=True)
class PolicyChange:
    """A payer policy that changes part-way through the period.

    The reference tables do not know about it, so only a model that watches
    payer x time can pick it up.

    Parameters
    ----------
    payer_id : str
        The payer that changes its policy (an id of the generated world, e.g.
        ``"COM01"``, ``"MA02"``).
    effective_date : str
        First date of service the new policy applies to.
    kind : {"auth_required", "documentation"}
        ``"auth_required"``: follow-up visits need prior authorization from
        this date (the practice learns to obtain it over ``adoption_days``).
        ``"documentation"``: the payer's medical-necessity, diagnosis and
        documentation effects are multiplied by ``1 + strength``.
    strength : float
        Log-odds of the missing-authorization effect, or the extra multiplier.
    adoption_days : int
        Days the practice needs to obtain authorizations routinely.
    """

    payer_id: str
    effective_date: str
    kind: str = "auth_required"
    strength: float = 5.0
    adoption_days: int = 120


@dataclasses.dataclass(frozen=True)
class SyntheticParams:
    """Every assumption of the generator that is not in the reference tables.

    Figures that *are* in the reference (KX thresholds, payer time rules,
    filing limits, prior authorization, visit limits, MUE, NCCI pairs, the
    97112 diagnosis list, CARC/RARC codes, certification and progress-report
    intervals, CQ dates and payment factor, the MPPR reduction) are read from
    :func:`ptdenial.reference.load_reference` and are not repeated here.
    Mappings are tuples of ``(key, value)`` pairs so that the object stays
    hashable. Change any of them with :func:`dataclasses.replace`.

    Examples
    --------
    >>> import dataclasses
    >>> from ptdenial.datasets import SyntheticParams
    >>> p = dataclasses.replace(SyntheticParams(), target_denial_rate=0.08)
    >>> p.target_denial_rate
    0.08
    """

    # --- outcome level --------------------------------------------------------
    # Assumption: overall denial rate of the lines. No published 97112 denial
    # rate exists (reference s6.3); CERT Part B improper payment 10.35% and the
    # OIG 61% non-compliance are post-payment figures, not denial rates (s9.2).
    target_denial_rate: float = 0.11
    # Fixed base log-odds; None calibrates it to target_denial_rate.
    intercept: float | None = None
    # Days simulated before `start` so that episodes are already under way.
    warmup_days: int = 120

    # --- payers (assumptions) --------------------------------------------------
    payers_per_class: tuple = _pairs(
        ("medicare", 1),
        ("medicare_advantage", 3),
        ("medicaid", 2),
        ("commercial", 5),
        ("workers_comp", 2),
        ("auto", 2),
        ("tricare", 1),
        ("other", 2),
    )
    # Patient mix: balance/neuro patients skew to Medicare age.
    payer_class_shares: tuple = _pairs(
        ("medicare", 0.40),
        ("medicare_advantage", 0.17),
        ("commercial", 0.24),
        ("medicaid", 0.08),
        ("workers_comp", 0.05),
        ("auto", 0.03),
        ("tricare", 0.02),
        ("other", 0.01),
    )
    # Base log-odds offset per class, plus a per-payer N(0, sd) offset.
    payer_class_offsets: tuple = _pairs(
        ("medicare", -0.35),
        ("medicare_advantage", 0.25),
        ("medicaid", 0.2),
        ("commercial", 0.0),
        ("workers_comp", 0.45),
        ("auto", 0.5),
        ("tricare", 0.0),
        ("other", 0.3),
    )
    payer_offset_sd: float = 0.3
    # Dirichlet concentration of the payer shares within a class.
    payer_share_concentration: float = 3.0
    # Per-payer multiplier exp(N(0, sd)) on every soft effect ("strictness").
    payer_strictness_sd: float = 0.3
    # Log-odds of a broken hard edit, drawn per payer (enforcement differs).
    hard_weight_range: tuple = (6.0, 8.0)
    # Log-odds of a 97112 line whose primary diagnosis the payer does not
    # accept (the reference list is unverified, so it is soft and
    # payer-specific: LCD-driven for Medicare, weak for injury-based payers).
    dx_support_weight: tuple = _pairs(
        ("medicare", 1.3),
        ("medicare_advantage", 1.1),
        ("medicaid", 0.9),
        ("commercial", 0.9),
        ("workers_comp", 0.2),
        ("auto", 0.2),
        ("tricare", 1.1),
        ("other", 0.6),
    )
    # Payer x condition-group effect on medical necessity, N(0, sd).
    payer_condition_sd: float = 0.25
    # Allowed amount relative to the Medicare fee schedule, range per class.
    fee_factor_range: tuple = _pairs(
        ("medicare", (1.0, 1.0)),
        ("medicare_advantage", (0.95, 1.05)),
        ("medicaid", (0.65, 0.85)),
        ("commercial", (1.05, 1.5)),
        ("workers_comp", (1.3, 1.7)),
        ("auto", (1.3, 1.6)),
        ("tricare", (0.95, 1.0)),
        ("other", (0.9, 1.3)),
    )
    # Mean days from submission to remittance, per class (x U(0.8, 1.25)),
    # gamma-distributed with this shape.
    adjudication_lag_shape: float = 4.0
    adjudication_lag_days: tuple = _pairs(
        ("medicare", 16),
        ("medicare_advantage", 21),
        ("medicaid", 30),
        ("commercial", 24),
        ("workers_comp", 40),
        ("auto", 45),
        ("tricare", 25),
        ("other", 30),
    )
    # Chance that a payer that pays an over-billed line cuts the extra units
    # (CO-151 with a positive payment: a partial denial), per payer in range.
    partial_denial_prob_range: tuple = (0.15, 0.5)
    # Medicare Part B deductible by year (CMS figures, not in the reference).
    medicare_deductible: tuple = _pairs(
        (2023, 226.0), (2024, 240.0), (2025, 257.0), (2026, 283.0)
    )
    medicare_coinsurance: float = 0.20
    # Sequestration reduction of Medicare payments (CARC 253).
    sequestration_rate: float = 0.02
    # Copay per visit (PR-3) of MA, commercial-copay and TRICARE plans.
    copay_range: tuple = (20.0, 45.0)
    # Annual deductibles of commercial-type plans (patient draws one).
    plan_deductibles: tuple = (0.0, 0.0, 500.0, 1000.0, 2000.0)
    plan_coinsurance: float = 0.20
    # Share of commercial-type payers whose members pay a copay (else coinsurance).
    copay_plan_share: float = 0.5

    # --- practice (assumptions) -------------------------------------------------
    n_clinics: int = 4
    clinic_share_concentration: float = 6.0
    # Clinics differ in how often GP is left off: exp(N(0, sd)).
    clinic_gp_sd: float = 0.5
    clinic_place_of_service: tuple = ("11", "11", "11", "22")
    n_physical_therapists: int = 16
    n_assistants: int = 8
    n_referrers: int = 60
    # Share of treatment visits rendered by the episode's PTA (when the clinic
    # has PTAs).
    pta_visit_share: float = 0.35
    # Share of providers who pad units, and how often they do.
    overbilling_provider_share: float = 0.2
    overbilling_rate_range: tuple = (0.1, 0.35)
    # Latent provider effect on denial log-odds, N(0, sd).
    provider_effect_sd: float = 0.35
    # Share of visits whose units the billing system computes with the payer's
    # own time rule (else the other rule: per-code rounding for a CMS payer or
    # CMS total time for a per-code payer).
    p_time_rule_correct: float = 0.92
    # Enrollment gaps (provider index, payer id, first day, days): the provider
    # is not yet credentialed with that payer (CARC B7; invisible in the table).
    enrollment_gaps: tuple = (
        (3, "COM02", "2024-05-01", 75),
        (11, "MA02", "2025-02-01", 60),
    )
    # Home visits (POS 12) and telehealth visits (POS 02 with modifier 95).
    p_home_visit: float = 0.02
    p_telehealth_visit: float = 0.01

    # --- patients and episodes (assumptions) ---------------------------------------
    condition_shares: tuple = _pairs(
        ("neuro", 0.22),
        ("vestibular", 0.12),
        ("gait_balance", 0.24),
        ("ortho_ankle", 0.12),
        ("weakness", 0.14),
        ("non_supporting", 0.16),
    )
    # Extra episodes per patient ~ Poisson(rate); gap between episodes.
    extra_episode_rate: float = 0.35
    episode_gap_mean_days: int = 90
    same_condition_prob: float = 0.7
    # Mean treatment days per episode (the historic norm is 12-18 visits in
    # 4-6 weeks, reference s1.1, used as a prior only).
    mean_visits: tuple = _pairs(
        ("neuro", 17.0),
        ("vestibular", 8.0),
        ("gait_balance", 12.0),
        ("ortho_ankle", 10.0),
        ("weakness", 12.0),
        ("non_supporting", 10.0),
    )
    visits_dispersion: float = 2.5
    max_visits: int = 60
    # Visits per week: probabilities of 1, 2, 3.
    visits_per_week_probs: tuple = (0.1, 0.55, 0.35)
    # Chance of a break (illness, holiday) before a visit, and its length.
    p_break: float = 0.03
    break_business_days: tuple = (5, 15)

    # --- codes and minutes (assumptions) -------------------------------------------
    # Probability of each code on a treatment visit, by condition (columns in
    # the order of _CONDITIONS).
    treatment_code_probs: tuple = _pairs(
        ("97112", (0.93, 0.90, 0.90, 0.75, 0.80, 0.55)),
        ("97110", (0.50, 0.35, 0.50, 0.60, 0.70, 0.70)),
        ("97140", (0.10, 0.10, 0.10, 0.40, 0.15, 0.50)),
        ("97530", (0.45, 0.25, 0.35, 0.30, 0.40, 0.30)),
        ("97116", (0.40, 0.20, 0.30, 0.15, 0.20, 0.10)),
        ("97760", (0.01, 0.0, 0.0, 0.10, 0.0, 0.01)),
        ("97032", (0.05, 0.0, 0.0, 0.05, 0.03, 0.05)),
        ("97035", (0.0, 0.0, 0.0, 0.10, 0.02, 0.12)),
        ("97010", (0.05, 0.02, 0.05, 0.20, 0.10, 0.30)),
        ("97014", (0.05, 0.0, 0.02, 0.15, 0.05, 0.20)),
        ("97022", (0.0, 0.0, 0.0, 0.10, 0.0, 0.02)),
    )
    eval_code_probs: tuple = _pairs(
        ("97112", 0.5),
        ("97110", 0.35),
        ("97140", 0.12),
    )
    # Evaluation complexity (97161, 97162, 97163) by condition.
    eval_complexity_probs: tuple = _pairs(
        ("neuro", (0.1, 0.4, 0.5)),
        ("vestibular", (0.3, 0.5, 0.2)),
        ("gait_balance", (0.3, 0.5, 0.2)),
        ("ortho_ankle", (0.5, 0.4, 0.1)),
        ("weakness", (0.3, 0.5, 0.2)),
        ("non_supporting", (0.5, 0.4, 0.1)),
    )
    # Primary diagnoses per condition, with weights. Valid ICD-10-CM codes;
    # whether they support 97112 is decided by the reference's dx_support
    # table. Non-supporting codes (M54.50, M25.561, M17.11 ...) and codes that
    # support 97112 only with a documented deficit (S93.4-, M62.81) included.
    primary_diagnoses: tuple = _pairs(
        (
            "neuro",
            (
                ("I69.351", 3),
                ("I69.354", 2),
                ("I69.398", 1),
                ("G20.A1", 3),
                ("G20.A2", 1),
                ("G81.94", 1),
                ("G57.31", 1),
                ("G57.32", 1),
                ("G62.9", 2),
                ("E11.40", 2),
            ),
        ),
        (
            "vestibular",
            (("H81.11", 2), ("H81.12", 2), ("H81.13", 1), ("H81.391", 1), ("R42", 2)),
        ),
        (
            "gait_balance",
            (
                ("R26.81", 5),
                ("R26.89", 3),
                ("R26.2", 2),
                ("R27.8", 1),
                ("R29.3", 1),
                ("R27.0", 1),
            ),
        ),
        (
            "ortho_ankle",
            (
                ("S93.401A", 3),
                ("S93.402A", 3),
                ("S93.401D", 1),
                ("S93.402D", 1),
                ("M25.371", 1),
                ("M25.372", 1),
            ),
        ),
        ("weakness", (("M62.81", 6), ("R53.1", 2))),
        (
            "non_supporting",
            (
                ("M54.50", 3),
                ("M25.561", 2),
                ("M25.562", 1),
                ("M17.11", 2),
                ("M17.12", 1),
                ("M54.2", 1),
                ("M25.511", 1),
            ),
        ),
    )
    secondary_diagnoses: tuple = (
        "Z91.81",
        "R26.81",
        "M62.81",
        "R26.89",
        "Z96.651",
        "I10",
        "E11.9",
    )
    # Probabilities of 0, 1, 2 secondary diagnoses.
    secondary_count_probs: tuple = (0.45, 0.4, 0.15)
    # A coder sometimes lists one of these supporting codes first for a
    # non-supporting episode.
    p_supporting_dx_first: float = 0.3
    supporting_first_codes: tuple = ("R26.81", "R26.89", "M62.81")
    # Deficits present in an episode (balance, coordination, kinesthetic sense,
    # posture, proprioception), per condition.
    deficit_probs: tuple = _pairs(
        ("neuro", (0.85, 0.6, 0.2, 0.4, 0.3)),
        ("vestibular", (0.9, 0.2, 0.05, 0.1, 0.1)),
        ("gait_balance", (0.9, 0.3, 0.05, 0.3, 0.2)),
        ("ortho_ankle", (0.35, 0.05, 0.05, 0.02, 0.55)),
        ("weakness", (0.6, 0.15, 0.05, 0.2, 0.15)),
        ("non_supporting", (0.4, 0.1, 0.05, 0.3, 0.2)),
    )
    # 97112-type interventions documented on a 97112 visit (neuromuscular
    # re-education, balance, proprioceptive, postural, coordination training).
    nmr_intervention_probs: tuple = _pairs(
        ("neuro", (0.45, 0.4, 0.08, 0.15, 0.2)),
        ("vestibular", (0.3, 0.75, 0.05, 0.03, 0.05)),
        ("gait_balance", (0.35, 0.65, 0.1, 0.1, 0.1)),
        ("ortho_ankle", (0.25, 0.35, 0.55, 0.02, 0.03)),
        ("weakness", (0.35, 0.6, 0.1, 0.1, 0.05)),
        ("non_supporting", (0.35, 0.5, 0.2, 0.15, 0.05)),
    )
    # What a mismatching note documents instead of 97112 work.
    mismatch_interventions: tuple = _pairs(
        ("GAIT_TRAINING", 0.6), ("NMES", 0.3), ("GROUP_THERAPY", 0.1)
    )
    # Re-evaluation (97164) on a progress-report day.
    p_reevaluation: float = 0.1
    # Minutes: probabilities of the bands 3-7, 8-22, 23-37, 38-52, 53-67, 68-80.
    minutes_97112_neuro: tuple = (0.02, 0.34, 0.42, 0.17, 0.042, 0.008)
    minutes_97112_other: tuple = (0.04, 0.50, 0.35, 0.098, 0.01, 0.002)
    minutes_other_timed: tuple = (0.08, 0.60, 0.28, 0.04, 0.0, 0.0)

    # --- billing behaviour (assumptions) --------------------------------------------
    p_gp_missing: float = 0.006
    p_gp_on_other_payers: float = 0.8
    p_kx_attached: float = 0.95
    p_cq_attached: float = 0.93
    p_bypass_modifier: float = 0.9
    bypass_modifier_mix: tuple = _pairs(("59", 0.6), ("XU", 0.3), ("XS", 0.1))
    # KX put on early: above this share of the threshold, with this chance.
    kx_early: tuple = (0.9, 0.3)
    p_referring_missing_required: float = 0.006
    p_referring_missing_other: float = 0.3
    p_dx_missing: float = 0.002
    p_duplicate_claim: float = 0.003
    duplicate_delay_days: tuple = (20, 50)
    p_auth_obtained: float = 0.985
    p_auth_covers_episode: float = 0.96
    # Visits beyond the plan's visit limit are still billed to the payer with
    # this chance (else the patient pays privately and no claim is sent).
    p_bill_beyond_visit_limit: float = 0.1
    # Waiver visits approved on a first request when the request does not
    # cover the episode (eviCore 6-12, reference s7).
    auth_waiver_visits: tuple = (6, 12)
    # Plan-of-care durations (days, <= the reference's 90-day interval) and
    # their chances; signature lag ~ geometric(mean); late signatures.
    cert_interval_days: tuple = _pairs((30, 0.1), (45, 0.2), (60, 0.3), (90, 0.4))
    cert_signature_mean_days: float = 7.0
    cert_late_days: tuple = (31, 75)
    p_cert_late: float = 0.06
    p_cert_missing: float = 0.03
    p_recertified: float = 0.9
    p_progress_late: float = 0.15
    # Treatment days between progress reports: on time, and when late.
    progress_interval_probs: tuple = _pairs((8, 0.15), (9, 0.25), (10, 0.6))
    progress_late_interval: tuple = (11, 16)
    p_note_unsigned: float = 0.01
    # Share of claims the billing system holds until the daily note is signed.
    p_hold_until_signed: float = 0.85
    # Submission lag: log-normal median days per clinic, and a late tail.
    submission_lag_median_days: tuple = (2.0, 3.0, 3.0, 6.0)
    submission_lag_sigma: float = 0.8
    p_submission_tail: float = 0.015
    submission_tail_days: tuple = (30, 450)
    # Medicare patients with therapy spend elsewhere this year (other
    # providers, SLP) and its amount.
    p_outside_therapy_spend: float = 0.3
    outside_therapy_spend: tuple = (300.0, 2600.0)
    # Documentation quality: logit of documenting deficits / objective
    # measures = base + slope * provider quality (N(0, 1)).
    deficit_doc_logit: tuple = (2.4, 1.0)
    # (base, slope, extra on evaluation/progress-report days)
    objective_doc_logit: tuple = (1.4, 0.9, 1.5)
    p_code_content_mismatch: float = 0.05
    # Mean days to sign a note = lo + (hi - lo) * sigmoid(a + b * quality).
    note_lag_mean_days: tuple = (0.7, 8.0)
    note_lag_logit: tuple = (-1.5, -2.2)
    # Late certifications, late progress reports and code/content mismatches
    # scale with exp(-quality_effect * provider quality).
    quality_effect: float = 0.6

    # --- soft effects on the denial log-odds (assumptions) ---------------------------
    w_code_content_intervention: float = 0.9
    w_code_content_deficit: float = 0.55
    w_units_total: float = 0.8
    w_cert_30d: float = 1.6
    # Share of the CERT_30D effect left once the 2025 referral exception
    # applies (many practices meet it with a signed order on file).
    cert_exception_factor: float = 0.5
    w_recert_90: float = 1.6
    w_progress_10: float = 0.8
    w_cq_missing: float = 0.7
    w_no_objective_measure: float = 0.35
    w_note_unsigned: float = 0.6
    w_note_late: float = 0.3
    note_late_days: int = 7
    w_long_episode: float = 0.35
    long_episode_visits: int = 24
    w_many_units: float = 0.25
    w_targeted_review: float = 0.35
    non_97112_soft_factor: float = 0.5
    noise_claim_sd: float = 0.35
    noise_line_sd: float = 0.25
    # A cause dominates only above this many log-odds; else "noise".
    min_cause_logit: float = 0.5
    # Denials without a visible cause (eligibility, coordination of benefits,
    # wrong payer, benefit exclusion): (CARC, RARC or "", share).
    noise_denials: tuple = (
        ("CO-27", "", 0.35),
        ("OA-22", "", 0.3),
        ("CO-109", "", 0.15),
        ("CO-96", "N130", 0.2),
    )

    # --- money (assumptions) -------------------------------------------------------
    # Medicare national non-facility payment per unit/service in 2025 dollars
    # (97112 ~ $31.7, reference s8; others are assumptions of the same order).
    medicare_rates: tuple = _pairs(
        ("97161", 99.0),
        ("97162", 99.0),
        ("97163", 99.0),
        ("97164", 68.0),
        ("97112", 31.7),
        ("97110", 28.6),
        ("97140", 26.4),
        ("97530", 33.6),
        ("97116", 28.2),
        ("97760", 41.0),
        ("97032", 16.8),
        ("97035", 13.9),
        ("97010", 5.5),
        ("97014", 8.0),
        ("G0283", 7.5),
        ("97022", 16.5),
    )
    # Conversion factor by year (reference s8: S40, S41, S42); rates scale
    # with CF(year) / CF(2025).
    conversion_factor: tuple = _pairs(
        (2023, 33.8872), (2024, 33.2875), (2025, 32.3465), (2026, 33.4009)
    )
    # Share of a unit's payment that is practice expense (MPPR base).
    practice_expense_share: float = 0.45
    # Chargemaster per unit/service.
    charges: tuple = _pairs(
        ("97161", 220.0),
        ("97162", 250.0),
        ("97163", 290.0),
        ("97164", 160.0),
        ("97112", 95.0),
        ("97110", 85.0),
        ("97140", 80.0),
        ("97530", 95.0),
        ("97116", 80.0),
        ("97760", 110.0),
        ("97032", 45.0),
        ("97035", 40.0),
        ("97010", 30.0),
        ("97014", 35.0),
        ("G0283", 35.0),
        ("97022", 55.0),
    )

    # --- payer policy changes ------------------------------------------------------
    policy_changes: tuple = (
        PolicyChange("COM01", "2025-03-01", "auth_required", 5.0, 90),
        PolicyChange("MA01", "2024-09-01", "documentation", 1.0, 0),
    )


class SyntheticClaims(NamedTuple):
    """Output of :func:`make_claims`: the claim lines and their hidden truth."""

    claims: pd.DataFrame
    truth: pd.DataFrame


class SampleData(NamedTuple):
    """Output of :func:`make_sample`."""

    history: pd.DataFrame
    new_claims: pd.DataFrame
    history_truth: pd.DataFrame
    new_claims_truth: pd.DataFrame


# =============================================================================
# small vectorized helpers
# =============================================================================
def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _integrate_noise(logit: np.ndarray, sd: float) -> np.ndarray:
    """E[sigmoid(logit + e)] for e ~ N(0, sd^2), by Gauss-Hermite quadrature.

    The claim and line noise of the latent model are drawn at random and leave
    no trace in the claim table, so no model can know them: the probability
    given everything observable averages over them.
    """
    if sd <= 0:
        return _sigmoid(logit)
    nodes, weights = np.polynomial.hermite_e.hermegauss(24)
    weights = weights / weights.sum()
    out = np.zeros(len(logit))
    for x, w in zip(nodes, weights, strict=True):
        out += w * _sigmoid(logit + sd * x)
    return out


def _group_first(keys: np.ndarray) -> np.ndarray:
    """For rows sorted by ``keys``, the index of each row's group's first row."""
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.empty(n, dtype=bool)
    new[0] = True
    new[1:] = keys[1:] != keys[:-1]
    starts = np.flatnonzero(new)
    return np.repeat(starts, np.diff(np.append(starts, n)))


def _group_cumsum(values: np.ndarray, first: np.ndarray, *, inclusive: bool):
    c = np.cumsum(values)
    out = c - (c[first] - values[first])
    return out if inclusive else out - values


def _choice(rng, probs: np.ndarray, size=None, rows=None):
    """Draw category indices; ``probs`` is 1-D, or 2-D with ``rows`` picking a row."""
    probs = np.asarray(probs, dtype=float)
    if probs.ndim == 1:
        cdf = np.cumsum(probs / probs.sum())
        return np.minimum(
            np.searchsorted(cdf, rng.random(size), side="right"), len(probs) - 1
        )
    cdf = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
    u = rng.random(len(rows))
    return np.minimum((u[:, None] >= cdf[rows]).sum(axis=1), probs.shape[1] - 1)


def _dense(values: np.ndarray):
    """``(uniques, inverse)`` of small non-negative ints, without sorting."""
    values = np.asarray(values, dtype=np.int64)
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    present = np.bincount(values) > 0
    rank = np.cumsum(present) - 1
    return np.flatnonzero(present), rank[values]


def _bits_to_tuples(bits: np.ndarray, names) -> np.ndarray:
    """Map integer bit masks to tuples of names (computed once per unique mask)."""
    uniq, inv = _dense(bits)
    table = np.empty(len(uniq), dtype=object)
    for i, b in enumerate(uniq.tolist()):
        table[i] = tuple(n for j, n in enumerate(names) if b >> j & 1)
    return table[inv]


def _strings(codes: np.ndarray, uniques) -> pd.arrays.ArrowStringArray:
    """A pandas ``string`` array from integer codes into ``uniques`` (-1 = NA)."""
    arr = pd.array(np.asarray(list(uniques), dtype=object), dtype="string")
    return arr.take(np.asarray(codes, dtype=np.int64), allow_fill=True)


def _ids(prefix: str, numbers: np.ndarray, width: int) -> list[str]:
    return [f"{prefix}{n:0{width}d}" for n in numbers.tolist()]


def _ns(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[ns]")


def _mapping(pairs) -> dict:
    return dict(pairs)


# =============================================================================
# the world: payers and the practice
# =============================================================================
@dataclasses.dataclass
class _World:
    payer_id: list
    payer_class: np.ndarray  # index into S.PAYER_CLASSES
    payer_share: np.ndarray
    offset: np.ndarray
    strictness: np.ndarray
    hard_weight: np.ndarray
    dx_weight: np.ndarray
    payer_condition: np.ndarray
    fee_factor: np.ndarray
    adj_lag: np.ndarray
    partial_prob: np.ndarray
    copay: np.ndarray
    uses_copay: np.ndarray
    per_code_rule: np.ndarray
    filing_limit: np.ndarray
    auth_required: np.ndarray
    visit_limit: np.ndarray
    accepts_59: np.ndarray
    requires_gp: np.ndarray
    kx_applies: np.ndarray
    cq_applies: np.ndarray
    poc_rules: np.ndarray
    referring_required: np.ndarray
    # providers
    prov_id: list
    prov_is_pta: np.ndarray
    prov_clinic: np.ndarray
    prov_quality: np.ndarray
    prov_overbill: np.ndarray
    prov_effect: np.ndarray
    prov_note_lag: np.ndarray
    prov_mismatch: np.ndarray
    prov_progress_late: np.ndarray
    clinic_id: list
    clinic_pos: np.ndarray
    clinic_share: np.ndarray
    clinic_gp_factor: np.ndarray
    referrer_id: list
    referrer_clinic: np.ndarray


_PAYER_PREFIX = {
    "medicare": "MCR",
    "medicare_advantage": "MA",
    "medicaid": "MCD",
    "commercial": "COM",
    "workers_comp": "WC",
    "auto": "AUTO",
    "tricare": "TRI",
    "other": "OTH",
}


def _build_world(p: SyntheticParams, ref, seed: int) -> _World:
    rng = np.random.default_rng([seed, 104729])
    shares = _mapping(p.payer_class_shares)
    counts = _mapping(p.payers_per_class)
    class_off = _mapping(p.payer_class_offsets)
    dxw = _mapping(p.dx_support_weight)
    fee_range = _mapping(p.fee_factor_range)
    lag = _mapping(p.adjudication_lag_days)
    rows = []
    for cls in S.PAYER_CLASSES:
        n = int(counts.get(cls, 0))
        if n == 0 or shares.get(cls, 0) <= 0:
            continue
        within = (
            rng.dirichlet(np.full(n, p.payer_share_concentration))
            if n > 1
            else np.ones(1)
        )
        for i in range(n):
            pid = f"{_PAYER_PREFIX[cls]}{i + 1:02d}"
            pol = ref.payer_policy(cls, pid)
            vl = pol.get("visit_limit")
            rows.append(
                {
                    "payer_id": pid,
                    "cls": S.PAYER_CLASSES.index(cls),
                    "share": shares[cls] * within[i],
                    "offset": class_off.get(cls, 0.0)
                    + rng.normal(0, p.payer_offset_sd),
                    "strict": float(np.exp(rng.normal(0, p.payer_strictness_sd))),
                    "hard": rng.uniform(*p.hard_weight_range),
                    "dx": dxw.get(cls, 1.0),
                    "fee": rng.uniform(*fee_range.get(cls, (1.0, 1.0))),
                    "lag": lag.get(cls, 25) * rng.uniform(0.8, 1.25),
                    "partial": rng.uniform(*p.partial_denial_prob_range),
                    "copay": round(rng.uniform(*p.copay_range) / 5) * 5,
                    "uses_copay": cls in ("medicare_advantage", "tricare")
                    or (
                        cls in ("commercial", "other")
                        and rng.random() < p.copay_plan_share
                    ),
                    "per_code": str(pol["time_rule"]).upper() == "PER_CODE_MIDPOINT",
                    "filing": int(pol["filing_limit_days"]),
                    "auth": bool(pol["auth_required"]),
                    "visit_limit": -1 if vl is None or pd.isna(vl) else int(vl),
                    "accepts_59": bool(pol["accepts_59_bypass"]),
                    "gp": bool(pol.get("requires_gp", False)),
                    "kx": bool(pol.get("kx_applies", False)),
                    "cq": bool(pol.get("cq_applies", False)),
                    "poc": bool(pol.get("poc_rules_apply", False)),
                    "ref": bool(pol.get("referring_npi_required", False)),
                }
            )
    tab = pd.DataFrame(rows)
    share = tab["share"].to_numpy(float)
    n_payers = len(tab)
    n_pt, n_pta = p.n_physical_therapists, p.n_assistants
    n_prov = n_pt + n_pta
    n_cl = p.n_clinics
    prov_clinic = np.concatenate([np.arange(n_pt) % n_cl, np.arange(n_pta) % n_cl])
    overbill = np.where(
        rng.random(n_prov) < p.overbilling_provider_share,
        rng.uniform(*p.overbilling_rate_range, n_prov),
        0.0,
    )
    quality = rng.normal(0, 1, n_prov)
    lag_lo, lag_hi = p.note_lag_mean_days
    note_lag = lag_lo + (lag_hi - lag_lo) * _sigmoid(
        p.note_lag_logit[0] + p.note_lag_logit[1] * quality
    )
    pos = np.array(
        [
            p.clinic_place_of_service[i % len(p.clinic_place_of_service)]
            for i in range(n_cl)
        ]
    )
    return _World(
        payer_id=tab["payer_id"].tolist(),
        payer_class=tab["cls"].to_numpy(int),
        payer_share=share / share.sum(),
        offset=tab["offset"].to_numpy(float),
        strictness=tab["strict"].to_numpy(float),
        hard_weight=tab["hard"].to_numpy(float),
        dx_weight=tab["dx"].to_numpy(float),
        payer_condition=rng.normal(
            0, p.payer_condition_sd, (n_payers, len(_CONDITIONS))
        ),
        fee_factor=tab["fee"].to_numpy(float),
        adj_lag=tab["lag"].to_numpy(float),
        partial_prob=tab["partial"].to_numpy(float),
        copay=tab["copay"].to_numpy(float),
        uses_copay=tab["uses_copay"].to_numpy(bool),
        per_code_rule=tab["per_code"].to_numpy(bool),
        filing_limit=tab["filing"].to_numpy(int),
        auth_required=tab["auth"].to_numpy(bool),
        visit_limit=tab["visit_limit"].to_numpy(int),
        accepts_59=tab["accepts_59"].to_numpy(bool),
        requires_gp=tab["gp"].to_numpy(bool),
        kx_applies=tab["kx"].to_numpy(bool),
        cq_applies=tab["cq"].to_numpy(bool),
        poc_rules=tab["poc"].to_numpy(bool),
        referring_required=tab["ref"].to_numpy(bool),
        prov_id=[f"R{i + 1:04d}" for i in range(n_prov)],
        prov_is_pta=np.arange(n_prov) >= n_pt,
        prov_clinic=prov_clinic,
        prov_quality=quality,
        prov_overbill=overbill,
        prov_effect=rng.normal(0, p.provider_effect_sd, n_prov),
        prov_note_lag=note_lag,
        prov_mismatch=np.clip(
            p.p_code_content_mismatch * np.exp(-p.quality_effect * quality), 0, 0.9
        ),
        prov_progress_late=np.clip(
            p.p_progress_late * np.exp(-p.quality_effect * quality), 0, 0.9
        ),
        clinic_id=[f"CLN{i + 1}" for i in range(n_cl)],
        clinic_pos=pos,
        clinic_share=rng.dirichlet(np.full(n_cl, p.clinic_share_concentration)),
        clinic_gp_factor=np.exp(rng.normal(0, p.clinic_gp_sd, n_cl)),
        referrer_id=[f"D{i + 1:04d}" for i in range(p.n_referrers)],
        referrer_clinic=np.arange(p.n_referrers) % n_cl,
    )


# =============================================================================
# diagnoses
# =============================================================================
def _dx_support_table(codes, ref):
    """Whether each code supports 97112 and needs a documented deficit."""
    table = ref.dx_support
    prefixes = [str(x).upper().replace(".", "") for x in table["code_prefix"]]
    supports = table["supports_97112"].to_numpy(bool)
    needs = (
        table["requires_documented_deficit"].to_numpy(bool)
        if "requires_documented_deficit" in table
        else np.zeros(len(table), bool)
    )
    sup = np.zeros(len(codes), bool)
    need = np.zeros(len(codes), bool)
    for i, code in enumerate(codes):
        bare = code.upper().replace(".", "")
        best = -1
        for j, pre in enumerate(prefixes):
            if bare.startswith(pre) and (best < 0 or len(pre) > len(prefixes[best])):
                best = j
        if best >= 0:
            sup[i] = supports[best]
            need[i] = needs[best]
    return sup, need


# =============================================================================
# the simulation
# =============================================================================
@dataclasses.dataclass
class _Sim:
    columns: dict  # per-line arrays (and scalars) for _assemble, in final order
    prob: np.ndarray
    cause: np.ndarray  # index into CAUSES
    dos: np.ndarray  # datetime64[D]
    submission: np.ndarray
    adjudication: np.ndarray
    intercept: float
    best_prob: np.ndarray  # the noise terms integrated out


def _reference_facts(ref):
    kx = ref.kx_thresholds.set_index("year")
    params = {
        name: ref.parameter(name)
        for name in (
            "cq_required_from",
            "cq_payment_factor",
            "initial_cert_days",
            "recert_interval_days",
            "progress_report_treatment_days",
            "referral_cert_exception_from",
            "mppr_pe_reduction",
        )
    }
    mue = {
        str(r.cpt_code): int(r.mue_units)
        for r in ref.mue.itertuples()
        if str(r.cpt_code) in _CI
    }
    return kx, params, mue


def _year_lookup(table: dict, years: np.ndarray) -> np.ndarray:
    keys = np.array(sorted(table))
    vals = np.array([table[k] for k in keys], dtype=float)
    idx = np.clip(np.searchsorted(keys, years, side="right") - 1, 0, len(keys) - 1)
    return vals[idx]


def _simulate(
    n_patients: int,
    start,
    end,
    *,
    seed: int,
    stream: int,
    params: SyntheticParams,
    ref,
    intercept: float | None,
    id_base: int = 0,
) -> _Sim:
    """Simulate every line of the world from ``start - warmup_days`` to ``end``.

    Returns all generated lines (also the warm-up lines and those not yet
    submitted); callers select what an extraction at some date would hold.
    ``stream`` separates independent draws of patients from the same world;
    ``id_base`` offsets patient, claim and authorization numbers.
    """
    p = params
    world = _build_world(p, ref, seed)
    rng = np.random.default_rng([seed, 7919, stream])
    kx_table, facts, mue = _reference_facts(ref)
    start_d = np.datetime64(pd.Timestamp(start).date(), "D")
    end_d = np.datetime64(pd.Timestamp(end).date(), "D")
    if end_d < start_d:
        raise ValueError(f"end ({end}) is before start ({start}).")
    origin = np.busday_offset(
        start_d - np.timedelta64(p.warmup_days, "D"), 0, roll="forward"
    )
    n_bd = int(np.busday_count(origin, end_d + np.timedelta64(1, "D")))
    cond_share = np.array([_mapping(p.condition_shares)[c] for c in _CONDITIONS])
    mean_vis = np.array([_mapping(p.mean_visits)[c] for c in _CONDITIONS])

    # ---------------------------------------------------------------- patients
    P = int(n_patients)
    pat_payer = _choice(rng, world.payer_share, P)
    pat_cond = _choice(rng, cond_share, P)
    pat_clinic = _choice(rng, world.clinic_share, P)
    pat_pt = np.empty(P, dtype=np.int64)
    pat_pta = np.full(P, -1, dtype=np.int64)
    r_pt, r_pta = rng.random(P), rng.random(P)
    for c in range(p.n_clinics):
        here = pat_clinic == c
        pts = np.flatnonzero((world.prov_clinic == c) & ~world.prov_is_pta)
        ptas = np.flatnonzero((world.prov_clinic == c) & world.prov_is_pta)
        if len(pts) == 0:
            pts = np.flatnonzero(~world.prov_is_pta)
        pat_pt[here] = pts[(r_pt[here] * len(pts)).astype(int)]
        if len(ptas):
            pat_pta[here] = ptas[(r_pta[here] * len(ptas)).astype(int)]
    first_year = int(origin.astype("datetime64[Y]").astype(int)) + 1970
    n_years = int(end_d.astype("datetime64[Y]").astype(int)) + 1970 - first_year + 1
    pat_outside = np.where(
        rng.random((P, n_years)) < p.p_outside_therapy_spend,
        np.round(rng.uniform(*p.outside_therapy_spend, (P, n_years)), 2),
        0.0,
    )
    pat_deductible = np.asarray(p.plan_deductibles, float)[
        rng.integers(0, len(p.plan_deductibles), P)
    ]
    pat_ded_met = rng.random((P, n_years))  # share already met elsewhere, per year

    # ---------------------------------------------------------------- episodes
    n_ep = 1 + rng.poisson(p.extra_episode_rate, P)
    E = int(n_ep.sum())
    ep_pat = np.repeat(np.arange(P), n_ep)
    ep_cond = np.where(
        rng.random(E) < p.same_condition_prob,
        pat_cond[ep_pat],
        _choice(rng, cond_share, E),
    )
    m = mean_vis[ep_cond] - 1.0
    k = p.visits_dispersion
    ep_nvis = 1 + rng.negative_binomial(k, k / (k + m))
    ep_nvis = np.minimum(ep_nvis, p.max_visits)
    ep_freq = 1 + _choice(rng, np.asarray(p.visits_per_week_probs), E)
    ep_first = _group_first(ep_pat)

    # ---------------------------------------------------------------- visits (all)
    V0 = int(ep_nvis.sum())
    vis_ep = np.repeat(np.arange(E), ep_nvis)
    vfirst = _group_first(vis_ep)
    vidx = np.arange(V0) - vfirst
    lam = 5.0 / ep_freq[vis_ep] - 1.0
    gap = 1 + rng.poisson(lam)
    brk = rng.random(V0) < p.p_break
    gap = gap + np.where(brk, rng.integers(*p.break_business_days, V0), 0)
    gap[vidx == 0] = 0
    off = _group_cumsum(gap, vfirst, inclusive=True)
    last = np.cumsum(ep_nvis) - 1
    span = off[last]
    ep_gap = 1 + rng.poisson(p.episode_gap_mean_days * 5 / 7, E)
    inc = span + ep_gap
    first_start = rng.integers(0, max(n_bd, 1), P)
    ep_start_bd = first_start[ep_pat] + _group_cumsum(inc, ep_first, inclusive=False)
    vis_bd = ep_start_bd[vis_ep] + off
    keep_v = vis_bd < n_bd
    # per-episode draws used by visits
    ep_start_d = np.busday_offset(origin, np.minimum(ep_start_bd, 10**6))
    ep_eval_cx = _choice(
        rng,
        np.array([_mapping(p.eval_complexity_probs)[c] for c in _CONDITIONS]),
        rows=ep_cond,
    )
    ep_pr_late = rng.random(E) < world.prov_progress_late[pat_pt[ep_pat]]
    pr_days, pr_probs = zip(*p.progress_interval_probs, strict=True)
    ep_pr_int = np.where(
        ep_pr_late,
        rng.integers(p.progress_late_interval[0], p.progress_late_interval[1] + 1, E),
        np.asarray(pr_days)[_choice(rng, np.asarray(pr_probs, float), E)],
    )
    cert_days, cert_probs = zip(*p.cert_interval_days, strict=True)
    ep_cert_days = np.asarray(cert_days)[_choice(rng, np.asarray(cert_probs, float), E)]
    q_ep = world.prov_quality[pat_pt[ep_pat]]
    u = rng.random(E)
    p_missing = p.p_cert_missing * np.exp(-p.quality_effect * q_ep)
    p_late = p.p_cert_late * np.exp(-p.quality_effect * q_ep)
    ep_cert_lag = np.where(
        u < p_missing,
        -1,
        np.where(
            u < p_missing + p_late,
            rng.integers(p.cert_late_days[0], p.cert_late_days[1] + 1, E),
            rng.geometric(1 / p.cert_signature_mean_days, E),
        ),
    )
    ep_recert_fail = rng.geometric(1 - p.p_recertified, E)
    ep_referrer = np.empty(E, dtype=np.int64)
    r = rng.random(E)
    ep_clinic = pat_clinic[ep_pat]
    for c in range(p.n_clinics):
        here = ep_clinic == c
        refs = np.flatnonzero(world.referrer_clinic == c)
        ep_referrer[here] = refs[(r[here] * len(refs)).astype(int)]
    # diagnoses: primary code per episode (+ up to two secondaries)
    dx_names: list[str] = []
    dx_index: dict[str, int] = {}

    def _dx_id(code):
        if code not in dx_index:
            dx_index[code] = len(dx_names)
            dx_names.append(code)
        return dx_index[code]

    ep_dx1 = np.empty(E, dtype=np.int64)
    primary = _mapping(p.primary_diagnoses)
    for ci, cname in enumerate(_CONDITIONS):
        here = np.flatnonzero(ep_cond == ci)
        codes, weights = zip(*primary[cname], strict=True)
        ids = np.array([_dx_id(c) for c in codes])
        ep_dx1[here] = ids[_choice(rng, np.asarray(weights, float), len(here))]
    sec_ids = np.array([_dx_id(c) for c in p.secondary_diagnoses])
    n_sec = _choice(rng, np.asarray(p.secondary_count_probs, float), E)
    s1 = np.where(n_sec >= 1, sec_ids[rng.integers(0, len(sec_ids), E)], -1)
    s2 = np.where(n_sec >= 2, sec_ids[rng.integers(0, len(sec_ids), E)], -1)
    s2 = np.where(s2 == s1, -1, s2)
    s1 = np.where(s1 == ep_dx1, -1, s1)
    s2 = np.where(s2 == ep_dx1, -1, s2)
    # a coder sometimes lists a supporting code first for a non-supporting episode
    flip = (ep_cond == _CONDITIONS.index("non_supporting")) & (
        rng.random(E) < p.p_supporting_dx_first
    )
    sup_first = np.array([_dx_id(c) for c in p.supporting_first_codes])[
        rng.integers(0, len(p.supporting_first_codes), E)
    ]
    s2 = np.where(flip, s1, s2)
    s1 = np.where(flip, ep_dx1, s1)
    ep_dx1 = np.where(flip, sup_first, ep_dx1)
    dx_sup_u, dx_need_u = _dx_support_table(dx_names, ref)
    # deficits (bit masks)
    def_probs = np.array([_mapping(p.deficit_probs)[c] for c in _CONDITIONS])
    ep_def = ((rng.random((E, 5)) < def_probs[ep_cond]) * (1 << np.arange(5))).sum(1)
    # authorization
    ep_auth_u = rng.random(E)
    ep_auth_cover = rng.random(E) < p.p_auth_covers_episode
    ep_auth_extra = rng.integers(0, 5, E)
    ep_auth_waiver = rng.integers(
        p.auth_waiver_visits[0], p.auth_waiver_visits[1] + 1, E
    )

    # keep the visits up to `end`
    vis_ep, vidx, vis_bd = vis_ep[keep_v], vidx[keep_v], vis_bd[keep_v]
    V = len(vis_ep)
    dos = np.busday_offset(origin, vis_bd)
    v_pat = ep_pat[vis_ep]
    v_payer = pat_payer[v_pat]
    v_cls = world.payer_class[v_payer]
    v_cond = ep_cond[vis_ep]
    v_clinic = pat_clinic[v_pat]
    is_eval = vidx == 0
    mlike = np.isin(v_cls, [S.PAYER_CLASSES.index(c) for c in _MEDICARE_LIKE])
    is_medicare = v_cls == S.PAYER_CLASSES.index("medicare")
    use_pta = (~is_eval) & (pat_pta[v_pat] >= 0) & (rng.random(V) < p.pta_visit_share)
    v_prov = np.where(use_pta, pat_pta[v_pat], pat_pt[v_pat])
    q = world.prov_quality[v_prov]
    year = dos.astype("datetime64[Y]").astype(int) + 1970
    year_i = year - first_year
    ep_start_v = ep_start_d[vis_ep]

    # progress reports (treatment days since the last report; evaluation = report)
    pr_int = ep_pr_int[vis_ep]
    since = vidx % pr_int
    pr_pos = np.arange(V) - since  # visits of an episode are contiguous
    last_pr = dos[pr_pos]
    pr_day = since == 0

    # certification of the plan of care
    through1 = ep_start_v + (ep_cert_days[vis_ep] - 1)
    recert = int(facts["recert_interval_days"])
    dd = (dos - through1).astype(int)
    period = np.where(dd <= 0, 0, 1 + (dd - 1) // recert)
    covered = np.minimum(period, ep_recert_fail[vis_ep] - 1)
    cert_through = through1 + covered * recert
    cert_lag = ep_cert_lag[vis_ep]
    cert_date = np.where(
        cert_lag >= 0, ep_start_v + np.maximum(cert_lag, 0), np.datetime64("NaT")
    )

    # ---------------------------------------------------------------- codes
    C = len(_CODES)
    tprobs = np.zeros((len(_CONDITIONS), C))
    for code, probs in p.treatment_code_probs:
        tprobs[:, _CI[code]] = probs
    eprobs = np.zeros(C)
    for code, prob in p.eval_code_probs:
        eprobs[_CI[code]] = prob
    probs = np.where(is_eval[:, None], eprobs[None, :], tprobs[v_cond])
    sel = rng.random((V, C)) < probs
    sel[np.flatnonzero(is_eval), _EVAL_COLS[ep_eval_cx[vis_ep[is_eval]]]] = True
    sel[:, _CI["97164"]] = pr_day & ~is_eval & (rng.random(V) < p.p_reevaluation)
    estim = sel[:, _CI["97014"]].copy()
    sel[:, _CI["97014"]] = estim & ~mlike
    sel[:, _CI["G0283"]] = estim & mlike
    sel[:, _CI["97010"]] &= ~mlike
    no_timed = ~is_eval & ~sel[:, _TIMED_COLS].any(axis=1)
    nmr_first = np.isin(v_cond, [0, 1, 2])
    sel[no_timed & nmr_first, _CI["97112"]] = True
    sel[no_timed & ~nmr_first, _CI["97110"]] = True

    # minutes of timed codes
    nt = len(_TIMED_COLS)
    band_p = np.tile(np.asarray(p.minutes_other_timed, float), (nt, 1))
    band = np.empty((V, nt), dtype=np.int64)
    u = rng.random((V, nt))
    for j, col in enumerate(_TIMED_COLS):
        if _CODES[col] == "97112":
            pn = np.asarray(p.minutes_97112_neuro, float)
            po = np.asarray(p.minutes_97112_other, float)
            cdf_n, cdf_o = np.cumsum(pn / pn.sum()), np.cumsum(po / po.sum())
            neuro = v_cond == 0
            band[:, j] = np.where(
                neuro,
                np.searchsorted(cdf_n, u[:, j], side="right"),
                np.searchsorted(cdf_o, u[:, j], side="right"),
            )
        else:
            cdf = np.cumsum(band_p[j] / band_p[j].sum())
            band[:, j] = np.searchsorted(cdf, u[:, j], side="right")
    band = np.minimum(band, len(_MINUTE_BANDS) - 1)
    lo, hi = _MINUTE_BANDS[band, 0], _MINUTE_BANDS[band, 1]
    minutes = lo + (rng.random((V, nt)) * (hi - lo + 1)).astype(np.int64)
    sel_t = sel[:, _TIMED_COLS]
    minutes = np.where(sel_t, minutes, 0)
    total_min = minutes.sum(axis=1)

    # units: CMS total time (manual's allocation) and per-code midpoint
    whole = minutes // 15
    rem = np.where(sel_t, minutes % 15, -1)
    total_units = np.where(total_min >= 8, (total_min + 7) // 15, 0)
    extra = total_units - whole.sum(axis=1)
    order = np.argsort(-rem, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(nt)[None, :].repeat(V, 0), axis=1)
    cms_units = whole + ((rank < extra[:, None]) & sel_t & (rem > 0))
    pc_units = np.where(minutes >= 8, (minutes + 7) // 15, 0)
    per_code = world.per_code_rule[v_payer]
    correct_units = np.where(per_code[:, None], pc_units, cms_units)
    wrong_rule = rng.random(V) > p.p_time_rule_correct
    billed = np.where((per_code ^ wrong_rule)[:, None], pc_units, cms_units)
    pad = rng.random(V) < world.prov_overbill[v_prov]
    j112 = int(np.flatnonzero(_TIMED_COLS == _CI["97112"])[0])
    target = np.where(sel_t[:, j112], j112, np.argmax(minutes, axis=1))
    billed[np.flatnonzero(pad), target[pad]] += 1
    billed = np.where(sel_t, billed, 0)
    over_visit = np.where(per_code, False, billed.sum(1) > correct_units.sum(1))
    over_line_t = (billed > correct_units) & (per_code[:, None] | over_visit[:, None])

    # ---------------------------------------------------------------- lines
    units_full = np.zeros((V, C), dtype=np.int64)
    units_full[:, _TIMED_COLS] = billed
    units_full[:, ~_TIMED] = 1
    line_mask = sel & (units_full > 0)
    has_line = line_mask.any(axis=1)
    vi, ci = np.nonzero(line_mask)
    L = len(vi)
    line_no = np.arange(L) - _group_first(vi) + 1
    units = units_full[vi, ci]
    timed_line = _TIMED[ci]
    tcol = np.full(C, -1)
    tcol[_TIMED_COLS] = np.arange(nt)
    tj = tcol[ci]
    line_min = np.where(timed_line, minutes[vi, np.maximum(tj, 0)], -1)
    over_line = np.where(timed_line, over_line_t[vi, np.maximum(tj, 0)], False)
    is_112 = ci == _CI["97112"]
    l_payer = v_payer[vi]
    l_cls = v_cls[vi]
    l_dos = dos[vi]

    # claim (= visit with lines) ids in order of submission, computed below
    # ---------------------------------------------------------------- money basis
    rate = np.array([_mapping(p.medicare_rates)[c] for c in _CODES])
    cf = _mapping(p.conversion_factor)
    cf_year = _year_lookup(cf, year) / cf[max(k for k in cf if k <= 2025)]
    cq_from = np.datetime64(pd.Timestamp(facts["cq_required_from"]).date(), "D")
    cq_pay = float(facts["cq_payment_factor"])
    pta_line = world.prov_is_pta[v_prov[vi]]
    cq_due = pta_line & world.cq_applies[l_payer] & (l_dos >= cq_from)
    # MPPR: the first timed unit of the day is paid in full, later ones are
    # reduced by the practice-expense share x the reference's MPPR reduction.
    mppr = float(facts["mppr_pe_reduction"]) * p.practice_expense_share
    timed_units = np.where(timed_line, units, 0)
    first_timed = timed_line & (
        _group_cumsum(timed_units, _group_first(vi), inclusive=False) == 0
    )
    full_units = np.where(timed_line, first_timed.astype(int), 1)
    reduced = np.where(timed_line, units - full_units, 0)
    mppr_payer = np.isin(
        l_cls,
        [
            S.PAYER_CLASSES.index("medicare"),
            S.PAYER_CLASSES.index("medicare_advantage"),
        ],
    )
    unit_factor = np.where(mppr_payer, full_units + (1 - mppr) * reduced, units)
    cq_factor = np.where(cq_due & (l_dos >= np.datetime64("2022-01-01")), cq_pay, 1.0)
    medicare_fee = rate[ci] * cf_year[vi] * unit_factor * cq_factor

    # YTD Medicare therapy allowed incurred before this date of service
    visit_fee = np.bincount(vi, weights=medicare_fee, minlength=V)
    pyear_key = v_pat.astype(np.int64) * n_years + year_i
    pfirst = _group_first(pyear_key)
    ytd_practice = _group_cumsum(visit_fee, pfirst, inclusive=False)
    ytd = np.round(ytd_practice + pat_outside[v_pat, year_i], 2)
    kx_thr = _year_lookup(kx_table["kx_threshold"].to_dict(), year)
    tmr_thr = _year_lookup(kx_table["tmr_threshold"].to_dict(), year)
    kx_due = world.kx_applies[v_payer] & (ytd > kx_thr)

    # ---------------------------------------------------------------- authorization
    needs_ref = world.auth_required[v_payer] & ~is_eval
    has_ref = ep_auth_u[vis_ep] < p.p_auth_obtained
    needs_chg = np.zeros(V, bool)
    has_chg = np.zeros(V, bool)
    doc_mult = np.zeros(V)
    chg_auth_strength = np.zeros(V)
    for pc in p.policy_changes:
        if pc.payer_id not in world.payer_id:
            continue
        pidx = world.payer_id.index(pc.payer_id)
        eff = np.datetime64(pd.Timestamp(pc.effective_date).date(), "D")
        after = (v_payer == pidx) & (dos >= eff)
        if pc.kind == "auth_required":
            need = after & ~is_eval & ~world.auth_required[pidx]
            ramp = np.clip((dos - eff).astype(int) / max(pc.adoption_days, 1), 0, 1)
            needs_chg |= need
            has_chg |= need & (ep_auth_u[vis_ep] < p.p_auth_obtained * ramp)
            chg_auth_strength = np.where(need, pc.strength, chg_auth_strength)
        elif pc.kind == "documentation":
            doc_mult = np.where(after, doc_mult + pc.strength, doc_mult)
        else:
            raise ValueError(
                f"PolicyChange.kind must be 'auth_required' or 'documentation'; "
                f"got {pc.kind!r}."
            )
    has_auth = (needs_ref & has_ref) | (needs_chg & has_chg)
    auth_used = _group_cumsum(
        has_auth.astype(np.int64), _group_first(vis_ep), inclusive=False
    )
    n_auth_ep = np.bincount(vis_ep, weights=has_auth, minlength=E).astype(np.int64)
    ep_approved = np.where(
        ep_auth_cover, n_auth_ep + ep_auth_extra, np.maximum(ep_auth_waiver, 1)
    )
    approved = ep_approved[vis_ep]
    auth_absent = needs_ref & ~has_auth
    auth_exceeded = has_auth & (auth_used >= approved)
    chg_auth_missing = needs_chg & ~has_auth

    # ---------------------------------------------------------------- claim level
    sub_med = np.asarray(p.submission_lag_median_days, float)[
        v_clinic % len(p.submission_lag_median_days)
    ]
    lag = np.floor(
        np.exp(np.log(sub_med) + p.submission_lag_sigma * rng.normal(size=V))
    )
    tail = rng.random(V) < p.p_submission_tail
    lag = np.where(tail, rng.integers(*p.submission_tail_days, V), lag).astype(np.int64)
    note_lag = rng.poisson(world.prov_note_lag[v_prov])
    unsigned = rng.random(V) < p.p_note_unsigned
    note_date = dos + note_lag
    hold = (~unsigned) & (rng.random(V) < p.p_hold_until_signed)
    lag = np.where(hold, np.maximum(lag, note_lag), lag)
    submission = dos + lag
    adj_lag = np.maximum(
        3,
        np.round(
            rng.gamma(
                p.adjudication_lag_shape,
                world.adj_lag[v_payer] / p.adjudication_lag_shape,
            )
        ),
    ).astype(np.int64)
    adjudication = submission + adj_lag
    # Visits the payer has on file this year: earlier billable visits of the
    # patient whose claims were sent no later than this one.
    limit = world.visit_limit[v_payer]
    visits_ytd = _visits_on_file(has_line, pyear_key, pfirst, submission)
    billed_beyond = rng.random(V) < p.p_bill_beyond_visit_limit
    has_line &= (limit < 0) | (visits_ytd < limit) | billed_beyond
    # what the payer has on file once the self-pay visits are left out
    visits_ytd = _visits_on_file(has_line, pyear_key, pfirst, submission)
    benefit_limit = (limit >= 0) & (visits_ytd >= limit)
    dx_missing = rng.random(V) < p.p_dx_missing
    ref_required = world.referring_required[v_payer]
    ref_missing = rng.random(V) < np.where(
        ref_required, p.p_referring_missing_required, p.p_referring_missing_other
    )
    pos = world.clinic_pos[v_clinic]
    home = rng.random(V) < p.p_home_visit
    tele = (~home) & (~is_eval) & (rng.random(V) < p.p_telehealth_visit)
    pos = np.where(home, "12", np.where(tele, "02", pos))
    enroll_gap = np.zeros(V, bool)
    for prov_i, payer, first_day, ndays in p.enrollment_gaps:
        if payer not in world.payer_id or prov_i >= len(world.prov_id):
            continue
        d0 = np.datetime64(pd.Timestamp(first_day).date(), "D")
        enroll_gap |= (
            (v_prov == prov_i)
            & (v_payer == world.payer_id.index(payer))
            & (dos >= d0)
            & (dos < d0 + ndays)
        )

    # documentation at the visit
    doc_def = rng.random(V) < _sigmoid(
        p.deficit_doc_logit[0] + p.deficit_doc_logit[1] * q
    )
    v_def = np.where(doc_def, ep_def[vis_ep], 0)
    obj = rng.random(V) < _sigmoid(
        p.objective_doc_logit[0]
        + p.objective_doc_logit[1] * q
        + p.objective_doc_logit[2] * pr_day
    )
    note_known = (~unsigned) & (note_date <= submission)
    cert_known = (cert_lag >= 0) & (cert_date <= submission)
    nmr_probs = np.array([_mapping(p.nmr_intervention_probs)[c] for c in _CONDITIONS])
    nmr_bits = (
        (rng.random((V, 5)) < nmr_probs[v_cond])
        * np.array([_IV[n] for n in _NMR_INTERVENTIONS])
    ).sum(1)
    nmr_bits = np.where(nmr_bits == 0, _IV["NEUROMUSCULAR_REEDUCATION"], nmr_bits)
    mismatch = rng.random(V) < world.prov_mismatch[v_prov]
    alt_names, alt_probs = zip(*p.mismatch_interventions, strict=True)
    alt = np.array([_IV[n.upper()] for n in alt_names])[
        _choice(rng, np.asarray(alt_probs, float), V)
    ]
    v_iv = np.where(sel[:, _CI["97112"]], np.where(mismatch, alt, nmr_bits), 0)
    for code, name in (
        ("97110", "THERAPEUTIC_EXERCISE"),
        ("97140", "MANUAL_THERAPY"),
        ("97530", "THERAPEUTIC_ACTIVITIES"),
        ("97116", "GAIT_TRAINING"),
        ("97032", "NMES"),
        ("97014", "NMES"),
        ("G0283", "NMES"),
    ):
        v_iv = v_iv | np.where(sel[:, _CI[code]], _IV[name], 0)

    # ---------------------------------------------------------------- modifiers
    mods = np.zeros(L, dtype=np.int64)
    gp_missing = rng.random(L) < p.p_gp_missing * world.clinic_gp_factor[v_clinic[vi]]
    gp_on = np.where(
        world.requires_gp[l_payer],
        ~gp_missing,
        rng.random(V)[vi] < p.p_gp_on_other_payers,
    )
    mods |= np.where(gp_on, _MOD["GP"], 0)
    cq_on = cq_due & (rng.random(V)[vi] < p.p_cq_attached)
    mods |= np.where(cq_on, _MOD["CQ"], 0)
    kx_on = kx_due[vi] & (rng.random(V)[vi] < p.p_kx_attached)
    kx_early = (
        world.kx_applies[l_payer]
        & ~kx_due[vi]
        & (ytd[vi] > p.kx_early[0] * kx_thr[vi])
        & (rng.random(V)[vi] < p.kx_early[1])
    )
    mods |= np.where(kx_on | kx_early, _MOD["KX"], 0)
    mods |= np.where(tele[vi], _MOD["95"], 0)
    # NCCI pairs active on the date of service: the column-2 line needs 59/X
    by_names, by_probs = zip(*p.bypass_modifier_mix, strict=True)
    bypass_pick = np.array([_MOD[m] for m in by_names])[
        _choice(rng, np.asarray(by_probs, float), L)
    ]
    bypass_draw = rng.random(L) < p.p_bypass_modifier
    col2_any = np.zeros(L, bool)
    pair_mi = np.full(L, 9)
    for row in ref.ncci_ptp.itertuples():
        c1, c2 = str(row.column1), str(row.column2)
        if c1 not in _CI or c2 not in _CI:
            continue
        f = pd.Timestamp(row.effective_from) if pd.notna(row.effective_from) else None
        t = pd.Timestamp(row.effective_to) if pd.notna(row.effective_to) else None
        active = np.ones(L, bool)
        if f is not None:
            active &= l_dos >= np.datetime64(f.date(), "D")
        if t is not None:
            active &= l_dos <= np.datetime64(t.date(), "D")
        hit = (ci == _CI[c2]) & line_mask[vi, _CI[c1]] & active
        col2_any |= hit
        pair_mi = np.where(
            hit, np.minimum(pair_mi, int(row.modifier_indicator)), pair_mi
        )
    mods |= np.where(col2_any & bypass_draw, bypass_pick, 0)
    has_bypass = (mods & _BYPASS_BITS) > 0
    ncci_hit = col2_any & ~((pair_mi == 1) & has_bypass & world.accepts_59[l_payer])

    # ---------------------------------------------------------------- duplicates
    claim_v = np.flatnonzero(has_line)
    dup_v = claim_v[rng.random(len(claim_v)) < p.p_duplicate_claim]
    dup_delay = rng.integers(*p.duplicate_delay_days, len(dup_v))
    base_lines = np.flatnonzero(has_line[vi])
    pos_in = np.full(V, -1)
    pos_in[dup_v] = np.arange(len(dup_v))
    dup_lines = np.flatnonzero(pos_in[vi] >= 0)
    dup_of = pos_in[vi[dup_lines]]
    nb = len(base_lines)
    src = np.concatenate([base_lines, dup_lines])
    is_dup_line = np.arange(len(src)) >= nb
    # everything per output line n: line src[n] of visit vi[src[n]]
    n_out = len(src)
    ov = vi[src]
    l_sub = submission[ov].copy()
    l_adj = adjudication[ov].copy()
    l_sub[nb:] = l_sub[nb:] + dup_delay[dup_of]
    l_adj[nb:] = l_sub[nb:] + adj_lag[ov[nb:]]
    # claim key: the visit for originals, V + duplicate index for copies
    ckey = np.concatenate([vi[base_lines], V + dup_of])
    # claim numbers in order of submission date, then key
    ukey, cinv = np.unique(ckey, return_inverse=True)
    csub = np.zeros(len(ukey), dtype="datetime64[D]")
    csub[cinv] = l_sub
    corder = np.lexsort((ukey, csub))
    cnum = np.empty(len(ukey), dtype=np.int64)
    cnum[corder] = np.arange(len(ukey))
    l_claim = cnum[cinv]
    # final line order: claim number, then line number
    perm = np.lexsort((line_no[src], l_claim))
    src, l_claim, cinv = src[perm], l_claim[perm], cinv[perm]
    l_sub, l_adj, is_dup_line = l_sub[perm], l_adj[perm], is_dup_line[perm]
    ov = vi[src]

    # ---------------------------------------------------------------- latent model
    lo_ = src  # index into line arrays
    o_payer = l_payer[lo_]
    o_cls = l_cls[lo_]
    o_112 = is_112[lo_]
    hw = world.hard_weight[o_payer]
    strict = world.strictness[o_payer] * (1.0 + doc_mult[ov])
    soft_scale = np.where(o_112, 1.0, p.non_97112_soft_factor)
    comps: dict[str, np.ndarray] = {}
    comps["GP_MISSING"] = hw * (world.requires_gp[o_payer] & ~gp_on[lo_])
    comps["KX_MISSING"] = hw * (kx_due[ov] & ~kx_on[lo_])
    mue_lim = np.array([mue.get(c, 10**6) for c in _CODES])
    comps["MUE"] = hw * (units[lo_] > mue_lim[ci[lo_]])
    comps["NCCI_PTP"] = hw * ncci_hit[lo_]
    o_lag = (l_sub - l_dos[lo_]).astype(int)
    comps["TIMELY"] = hw * (o_lag > world.filing_limit[o_payer])
    comps["AUTH_ABSENT"] = hw * auth_absent[ov]
    comps["AUTH_EXCEEDED"] = hw * auth_exceeded[ov]
    comps["BENEFIT_LIMIT"] = hw * benefit_limit[ov]
    comps["DX_MISSING"] = hw * dx_missing[ov]
    comps["REFERRING_NPI"] = hw * (ref_required[ov] & ref_missing[ov])
    comps["PER_CODE_MIDPOINT"] = hw * (
        world.per_code_rule[o_payer] & timed_line[lo_] & (line_min[lo_] < 8)
    )
    comps["DUPLICATE"] = hw * is_dup_line
    comps["PROVIDER_ELIG"] = hw * enroll_gap[ov]
    # soft, payer-specific
    dx1 = ep_dx1[vis_ep[ov]]
    deficit_ok = (v_def[ov] & (_DEF["PROPRIOCEPTION"] | _DEF["BALANCE"])) > 0
    supported = dx_sup_u[dx1] & (~dx_need_u[dx1] | deficit_ok)
    comps["DX_SUPPORT"] = (
        world.dx_weight[o_payer] * strict * (o_112 & ~supported & ~dx_missing[ov])
    )
    comps["CODE_CONTENT"] = (
        strict
        * o_112
        * (
            p.w_code_content_intervention * ((v_iv[ov] & _NMR_BITS) == 0)
            + p.w_code_content_deficit * (v_def[ov] == 0)
        )
    )
    comps["UNITS_TOTAL"] = strict * p.w_units_total * over_line[lo_]
    poc = world.poc_rules[o_payer]
    init_days = int(facts["initial_cert_days"])
    cert_bad = (l_dos[lo_] > ep_start_v[ov] + init_days) & (
        ~cert_known[ov] | (cert_date[ov] > ep_start_v[ov] + init_days)
    )
    exc_from = np.datetime64(
        pd.Timestamp(facts["referral_cert_exception_from"]).date(), "D"
    )
    cert_w = np.where(
        l_dos[lo_] >= exc_from, p.w_cert_30d * p.cert_exception_factor, p.w_cert_30d
    )
    comps["CERT_30D"] = strict * cert_w * (poc & cert_bad)
    comps["RECERT_90"] = (
        strict * p.w_recert_90 * (poc & (l_dos[lo_] > cert_through[ov]))
    )
    pr_limit = int(facts["progress_report_treatment_days"])
    comps["PROGRESS_10"] = strict * p.w_progress_10 * (poc & (since[ov] > pr_limit))
    comps["CQ_MISSING"] = strict * p.w_cq_missing * (cq_due[lo_] & ~cq_on[lo_])
    note_days = (note_date[ov] - l_dos[lo_]).astype(int)
    mn = (
        p.w_no_objective_measure * ~obj[ov]
        + p.w_note_unsigned * ~note_known[ov]
        + p.w_note_late * (note_known[ov] & (note_days > p.note_late_days))
        + p.w_long_episode * (vidx[ov] + 1 > p.long_episode_visits)
        + p.w_many_units * (o_112 & (units[lo_] >= 3))
        + p.w_targeted_review * (world.kx_applies[o_payer] & (ytd[ov] > tmr_thr[ov]))
    )
    comps["medical_necessity"] = np.maximum(
        soft_scale * (strict * mn + world.payer_condition[o_payer, v_cond[ov]]), 0.0
    )
    comps["provider"] = world.prov_effect[v_prov[ov]]
    base_soft = comps["DX_SUPPORT"] + comps["CODE_CONTENT"] + comps["medical_necessity"]
    extra_doc = base_soft * (doc_mult[ov] / (1.0 + doc_mult[ov]))
    comps["payer_policy_change"] = (
        chg_auth_strength[ov] * chg_auth_missing[ov] + extra_doc
    )
    for name in ("DX_SUPPORT", "CODE_CONTENT", "medical_necessity"):
        comps[name] = comps[name] / (1.0 + doc_mult[ov])
    claim_noise = rng.normal(0, p.noise_claim_sd, len(ukey))[cinv]
    comps["noise"] = claim_noise + rng.normal(0, p.noise_line_sd, n_out)
    rest = world.offset[o_payer] + sum(comps.values())
    in_range = (l_dos[lo_] >= start_d) & (l_dos[lo_] <= end_d)
    if intercept is None:
        intercept = _calibrate(
            rest[in_range] if in_range.any() else rest, p.target_denial_rate
        )
    logit = intercept + rest
    prob = _sigmoid(logit)
    names = list(CAUSES)
    best = np.zeros(n_out, dtype=np.int64)
    best_val = comps[names[0]].astype(float)
    for i, name in enumerate(names[1:], start=1):
        better = comps[name] > best_val
        best = np.where(better, i, best)
        best_val = np.where(better, comps[name], best_val)
    cause_idx = np.where(best_val >= p.min_cause_logit, best, names.index("noise"))
    denied = rng.random(n_out) < prob

    # ---------------------------------------------------------------- remittance
    fee = (
        rate[ci[lo_]]
        * cf_year[ov]
        * np.where(mppr_payer[lo_], unit_factor[lo_], units[lo_])
        * cq_factor[lo_]
        * world.fee_factor[o_payer]
    )
    charge_rate = np.array([_mapping(p.charges)[c] for c in _CODES])
    charge = np.round(charge_rate[ci[lo_]] * units[lo_], 2)
    allowed = np.round(np.minimum(fee, charge), 2)
    partial = (
        (~denied)
        & over_line[lo_]
        & ~world.per_code_rule[o_payer]
        & (rng.random(n_out) < world.partial_prob[o_payer])
    )
    cut = np.where(partial, 1, 0)
    allowed = np.where(
        partial,
        np.round(allowed * (units[lo_] - cut) / np.maximum(units[lo_], 1), 2),
        allowed,
    )
    allowed = np.where(denied, 0.0, allowed)
    # patient share, in date order per patient-year, paid lines only
    o_pat = v_pat[ov]
    o_year_i = year_i[ov]
    order = np.lexsort((np.arange(n_out), l_dos[lo_], o_year_i, o_pat))
    inv_order = np.empty(n_out, dtype=np.int64)
    inv_order[order] = np.arange(n_out)
    key = (o_pat.astype(np.int64) * n_years + o_year_i)[order]
    cum_before = _group_cumsum(allowed[order], _group_first(key), inclusive=False)[
        inv_order
    ]
    is_mcr = o_cls == S.PAYER_CLASSES.index("medicare")
    commercial_like = np.isin(
        o_cls, [S.PAYER_CLASSES.index(c) for c in ("commercial", "other", "tricare")]
    )
    ded_total = np.where(
        is_mcr,
        _year_lookup(_mapping(p.medicare_deductible), year[ov]),
        np.where(
            commercial_like,
            pat_deductible[o_pat] * (1 - pat_ded_met[o_pat, o_year_i]),
            0.0,
        ),
    )
    ded = np.round(np.clip(ded_total - cum_before, 0.0, allowed), 2)
    after_ded = allowed - ded
    uses_copay = world.uses_copay[o_payer]
    first_paid = _first_paid_of_claim(l_claim, lo_, ~denied & (allowed > 0))
    copay = np.where(
        uses_copay & first_paid, np.minimum(world.copay[o_payer], after_ded), 0.0
    )
    coins_rate = np.where(
        is_mcr,
        p.medicare_coinsurance,
        np.where(commercial_like & ~uses_copay, p.plan_coinsurance, 0.0),
    )
    coins = np.round((after_ded - copay) * coins_rate, 2)
    pre_seq = np.round(after_ded - copay - coins, 2)
    seq = np.where(is_mcr, np.round(pre_seq * p.sequestration_rate, 2), 0.0)
    paid = np.round(np.maximum(pre_seq - seq, 0.0), 2)
    paid = np.where(denied, 0.0, paid)

    adj_codes, rem_codes = _remit_codes(
        rng,
        denied,
        cause_idx,
        o_cls,
        charge,
        allowed,
        ded,
        coins,
        copay,
        seq,
        partial,
        np.where(
            comps["payer_policy_change"] > 0,
            chg_auth_strength[ov] * chg_auth_missing[ov] >= extra_doc,
            False,
        ),
        p.noise_denials,
    )

    # ---------------------------------------------------------------- assemble
    columns = {
        "world": world,
        "id_base": id_base,
        "dx_names": dx_names,
        "claim": l_claim,
        "line_no": line_no[lo_],
        "pat": o_pat,
        "payer": o_payer,
        "cls": o_cls,
        "dos": l_dos[lo_],
        "code": ci[lo_],
        "units": units[lo_],
        "charge": charge,
        "dx1": np.where(dx_missing[ov], -2, dx1),
        "dx2": s1[vis_ep[ov]],
        "dx3": s2[vis_ep[ov]],
        "prov": v_prov[ov],
        "mods": mods[lo_],
        "minutes": line_min[lo_],
        "visit_minutes": total_min[ov],
        "pos": pos[ov],
        "clinic": v_clinic[ov],
        "referrer": np.where(ref_missing[ov], -1, ep_referrer[vis_ep[ov]]),
        "submission": l_sub,
        "auth": has_auth[ov],
        "auth_ep": vis_ep[ov],
        "approved": approved[ov],
        "used": auth_used[ov],
        "episode_start": ep_start_v[ov],
        "visit_number": vidx[ov] + 1,
        "cert": np.where(cert_known[ov], cert_date[ov], np.datetime64("NaT")),
        "cert_through": cert_through[ov],
        "last_pr": last_pr[ov],
        "since": since[ov],
        "deficits": v_def[ov],
        "interventions": v_iv[ov],
        "objective": obj[ov],
        "note": np.where(note_known[ov], note_date[ov], np.datetime64("NaT")),
        "ytd": np.where(is_medicare[ov], ytd[ov], np.nan),
        "adjudication": l_adj,
        "allowed": allowed,
        "paid": paid,
        "adj_codes": adj_codes,
        "rem_codes": rem_codes,
    }
    best_prob = _integrate_noise(
        logit - comps["noise"], np.hypot(p.noise_claim_sd, p.noise_line_sd)
    )
    return _Sim(
        columns,
        prob,
        cause_idx,
        l_dos[lo_],
        l_sub,
        l_adj,
        float(intercept),
        best_prob,
    )


def _visits_on_file(billable, key, first, submission):
    """Earlier billable visits of the same patient-year sent on or before this one.

    Visits are sorted by patient and date within ``key`` groups. Claims are
    nearly always sent in date order; the few sent late (the long-lag tail)
    are not on file yet for the visits whose claims go out before them.
    """
    b = billable.astype(np.int64)
    count = _group_cumsum(b, first, inclusive=False)
    n = len(b)
    # groups end where the next group starts
    last = np.empty(n, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], n]
    last[:] = np.repeat(ends, np.diff(np.r_[starts, n]))
    sub = submission.astype("datetime64[D]").astype(np.int64)
    # a visit j whose claim is sent after a later visit i's claim is not on
    # file for i; only visits sent after the earliest later claim can matter
    big = np.iinfo(np.int64).max
    smin = pd.Series(sub[::-1]).groupby(key[::-1]).cummin().to_numpy()[::-1]
    after = np.r_[smin[1:], big]
    after = np.where(np.arange(n) + 1 < last, after, big)
    late = np.flatnonzero(billable & (sub > after))
    if len(late):
        span = last[late] - late - 1
        j = np.repeat(late, span)
        i = j + 1 + (np.arange(span.sum()) - np.repeat(np.cumsum(span) - span, span))
        hit = sub[j] > sub[i]
        np.subtract.at(count, i[hit], 1)
    return count


def _calibrate(rest: np.ndarray, target: float) -> float:
    """Intercept b such that mean(sigmoid(b + rest)) equals ``target`` (Newton)."""
    if not 0.0 < target < 1.0:
        raise ValueError(f"target_denial_rate must be in (0, 1); got {target!r}.")
    b = float(np.log(target / (1 - target)) - np.median(rest))
    for _ in range(50):
        pr = _sigmoid(b + rest)
        f = pr.mean() - target
        if abs(f) < 1e-7:
            break
        b -= f / max(float((pr * (1 - pr)).mean()), 1e-6)
        b = min(max(b, -30.0), 30.0)
    return b


def _first_paid_of_claim(claim, src_line, eligible):
    """True on the first eligible line (by line order) of each claim."""
    n = len(claim)
    order = np.lexsort((src_line, claim))
    c = claim[order]
    e = eligible[order]
    cs = _group_cumsum(e.astype(np.int64), _group_first(c), inclusive=True)
    first = e & (cs == 1)
    out = np.zeros(n, bool)
    out[order] = first
    return out


# CARC/RARC by dominant cause: (Medicare FFS variant, other payers variant)
_DENIAL_REMIT = {
    "GP_MISSING": ((("CO-4",), ("N519",)), None),
    "KX_MISSING": ((("CO-119",), ()), None),
    "MUE": ((("CO-151",), ("N640",)), None),
    "NCCI_PTP": ((("CO-97",), ("M80",)), (("CO-236",), ())),
    "TIMELY": ((("CO-29",), ()), None),
    "AUTH_ABSENT": ((("CO-197",), ()), None),
    "AUTH_EXCEEDED": ((("CO-198",), ("N640",)), None),
    "BENEFIT_LIMIT": ((("CO-119",), ("N640",)), None),
    "DX_MISSING": ((("CO-16",), ("M76",)), None),
    # The reference (s6.2) gives N280 as the example remark for a missing NPI.
    "REFERRING_NPI": ((("CO-16",), ("N280",)), None),
    "PER_CODE_MIDPOINT": ((("CO-151",), ()), None),
    "DUPLICATE": ((("OA-18",), ()), None),
    "PROVIDER_ELIG": ((("CO-B7",), ()), None),
    "DX_SUPPORT": ((("CO-50",), ("N115",)), (("CO-11",), ("N657",))),
    "CODE_CONTENT": ((("CO-50",), ("N657",)), None),
    "UNITS_TOTAL": ((("CO-151",), ()), None),
    "CERT_30D": ((("CO-50",), ()), None),
    "RECERT_90": ((("CO-50",), ()), None),
    "PROGRESS_10": ((("CO-B12",), ()), None),
    "CQ_MISSING": ((("CO-4",), ()), None),
    "medical_necessity": ((("CO-50",), ("N115",)), (("CO-50",), ())),
    "provider": ((("CO-B12",), ()), None),
    "payer_policy_change": ((("CO-50",), ()), None),  # auth kind: CO-197 (below)
}


def _remit_codes(
    rng,
    denied,
    cause_idx,
    cls,
    charge,
    allowed,
    ded,
    coins,
    copay,
    seq,
    partial,
    policy_is_auth,
    noise_denials,
):
    """Adjustment and remark code tuples per line (codes, looked up per combination)."""
    n = len(denied)
    names = list(CAUSES)
    is_mcr = cls == S.PAYER_CLASSES.index("medicare")
    # paid lines: a bit mask over CO-45, PR-1, PR-2, PR-3, CO-253, CO-151
    paid_names = ("CO-45", "PR-1", "PR-2", "PR-3", "CO-253", "CO-151")
    bits = (
        (charge - allowed > 0.004) * 1
        + (ded > 0) * 2
        + (coins > 0) * 4
        + (copay > 0) * 8
        + (seq > 0) * 16
        + partial * 32
    )
    # denied lines: an id per (cause, variant)
    variants: list[tuple] = []
    vindex: dict[tuple, int] = {}

    def _vid(v):
        if v not in vindex:
            vindex[v] = len(variants)
            variants.append(v)
        return vindex[v]

    deny_id = np.full(n, -1, dtype=np.int64)
    for ci_, name in enumerate(names):
        here = denied & (cause_idx == ci_)
        if not here.any():
            continue
        if name == "noise":
            mix = [
                ((carc,), (rarc,) if rarc else ()) for carc, rarc, _ in noise_denials
            ]
            share = np.array([w for *_, w in noise_denials], float)
            pick = _choice(rng, share, int(here.sum()))
            ids = np.array([_vid(v) for v in mix])[pick]
            deny_id[here] = ids
            continue
        mcr_v, other_v = _DENIAL_REMIT[name]
        other_v = other_v or mcr_v
        if name == "payer_policy_change":
            auth_v = (("CO-197",), ())
            deny_id[here & policy_is_auth] = _vid(auth_v)
            deny_id[here & ~policy_is_auth] = _vid(mcr_v)
            continue
        deny_id[here & is_mcr] = _vid(mcr_v)
        deny_id[here & ~is_mcr] = _vid(other_v)
    code = np.where(denied, 64 + deny_id, bits)
    uniq, inv = np.unique(code, return_inverse=True)
    adj_u = np.empty(len(uniq), dtype=object)
    rem_u = np.empty(len(uniq), dtype=object)
    for i, c in enumerate(uniq):
        c = int(c)
        if c >= 64:
            adj_u[i], rem_u[i] = variants[c - 64]
        else:
            adj_u[i] = tuple(nm for j, nm in enumerate(paid_names) if c >> j & 1)
            rem_u[i] = ("N640",) if c & 32 else ()
    return adj_u[inv], rem_u[inv]


def _int(values, na=None):
    values = np.asarray(values, dtype=np.int64)
    mask = np.zeros(len(values), bool) if na is None else np.asarray(na, bool)
    return pd.arrays.IntegerArray(np.where(mask, 0, values), mask)


def _assemble(
    *,
    world,
    id_base,
    dx_names,
    claim,
    line_no,
    pat,
    payer,
    cls,
    dos,
    code,
    units,
    charge,
    dx1,
    dx2,
    dx3,
    prov,
    mods,
    minutes,
    visit_minutes,
    pos,
    clinic,
    referrer,
    submission,
    auth,
    auth_ep,
    approved,
    used,
    episode_start,
    visit_number,
    cert,
    cert_through,
    last_pr,
    since,
    deficits,
    interventions,
    objective,
    note,
    ytd,
    adjudication,
    allowed,
    paid,
    adj_codes,
    rem_codes,
):
    """Build the canonical claim-line frame (the dtypes validate_claims returns)."""
    uclaim, cinv = _dense(claim)
    upat, pinv = _dense(pat)
    k = len(dx_names) + 1
    dkeys, dinv = _dense((dx1 + 2) * k * k + (dx2 + 1) * k + (dx3 + 1))
    dx_tuples = np.empty(len(dkeys), dtype=object)
    for i, kk in enumerate(dkeys.tolist()):
        a, rest = divmod(kk, k * k)
        b, c = divmod(rest, k)
        first = a - 2
        if first == -2:  # claim sent without a diagnosis
            dx_tuples[i] = ()
            continue
        dx_tuples[i] = tuple(dx_names[x] for x in (first, b - 1, c - 1) if x >= 0)
    uauth, ainv = _dense(np.where(auth, auth_ep, 0))
    auth_names = [f"A{id_base + int(x) + 1:08d}" for x in uauth.tolist()]
    ainv = np.where(auth, ainv, -1)
    upos, posinv = np.unique(pos, return_inverse=True)
    frame = {
        S.CLAIM_ID: _strings(cinv, _ids("C", uclaim + 10 * id_base + 1, 8)),
        S.LINE_NUMBER: _int(line_no),
        S.PATIENT_ID: _strings(pinv, _ids("P", upat + id_base + 1, 7)),
        S.PAYER_ID: _strings(payer, world.payer_id),
        S.PAYER_CLASS: pd.Categorical.from_codes(cls, dtype=S.PAYER_CLASS_DTYPE),
        S.DATE_OF_SERVICE: _ns(dos),
        S.CPT_CODE: _strings(code, _CODES),
        S.UNITS: _int(units),
        S.CHARGE_AMOUNT: charge.astype("float64"),
        S.DIAGNOSIS_CODES: dx_tuples[dinv],
        S.RENDERING_PROVIDER_ID: _strings(prov, world.prov_id),
        S.MODIFIERS: _bits_to_tuples(mods, _MOD_NAMES),
        S.MINUTES: _int(minutes, minutes < 0),
        S.VISIT_TIMED_MINUTES: _int(visit_minutes),
        S.PLACE_OF_SERVICE: _strings(posinv, upos.tolist()),
        S.PROVIDER_CREDENTIAL: pd.Categorical.from_codes(
            np.where(
                world.prov_is_pta[prov],
                S.PROVIDER_CREDENTIALS.index("PTA"),
                S.PROVIDER_CREDENTIALS.index("PT"),
            ),
            dtype=S.CREDENTIAL_DTYPE,
        ),
        S.CLINIC_ID: _strings(clinic, world.clinic_id),
        S.REFERRING_PROVIDER_ID: _strings(referrer, world.referrer_id),
        S.SUBMISSION_DATE: _ns(submission),
        S.PRIOR_AUTH_NUMBER: _strings(ainv, auth_names),
        S.AUTH_VISITS_APPROVED: _int(approved, ~auth),
        S.AUTH_VISITS_USED: _int(used, ~auth),
        S.EPISODE_START_DATE: _ns(episode_start),
        S.VISIT_NUMBER: _int(visit_number),
        S.POC_CERTIFIED_DATE: _ns(cert),
        S.CERT_THROUGH_DATE: _ns(cert_through),
        S.LAST_PROGRESS_REPORT_DATE: _ns(last_pr),
        S.VISITS_SINCE_PROGRESS_REPORT: _int(since),
        S.DEFICITS_DOCUMENTED: _bits_to_tuples(deficits, _DEFICITS),
        S.INTERVENTIONS_DOCUMENTED: _bits_to_tuples(interventions, _INTERVENTIONS),
        S.OBJECTIVE_MEASURES_DOCUMENTED: pd.array(objective, dtype="boolean"),
        S.NOTE_SIGNED_DATE: _ns(note),
        S.YTD_THERAPY_ALLOWED: ytd.astype("float64"),
    }
    if adjudication is not None:
        frame.update(
            {
                S.ADJUDICATION_DATE: _ns(adjudication),
                S.ALLOWED_AMOUNT: allowed.astype("float64"),
                S.PAID_AMOUNT: paid.astype("float64"),
                S.ADJUSTMENT_CODES: adj_codes,
                S.REMARK_CODES: rem_codes,
            }
        )
    return pd.DataFrame(frame)


_OUTCOME_ARGS = ("adjudication", "allowed", "paid", "adj_codes", "rem_codes")


# =============================================================================
# public API
# =============================================================================
def _seed(random_state) -> int:
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(random_state, bool | float) or not isinstance(
        random_state, int | np.integer
    ):
        raise TypeError(f"random_state must be an int (or None); got {random_state!r}.")
    if random_state < 0:
        raise ValueError(f"random_state must be >= 0; got {random_state}.")
    return int(random_state)


def _day(value, name) -> np.datetime64:
    try:
        return np.datetime64(pd.Timestamp(value).date(), "D")
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be a date such as '2025-12-31'; got {value!r}."
        ) from exc


def _object_column(values: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """Replace entries by ``()`` where ``empty`` (object arrays of tuples)."""
    table = np.empty(len(values) + 1, dtype=object)
    table[0] = ()
    table[1:] = values
    return table[np.where(empty, 0, np.arange(1, len(values) + 1))]


def _select(sim: _Sim, keep: np.ndarray, pending: np.ndarray, *, outcomes: bool):
    """Lines of ``sim`` where ``keep``; outcome columns empty where ``pending``."""
    args = {
        key: (val[keep] if isinstance(val, np.ndarray) else val)
        for key, val in sim.columns.items()
    }
    if outcomes:
        pend = pending[keep]
        args["adjudication"] = np.where(
            pend, np.datetime64("NaT"), args["adjudication"]
        )
        args["allowed"] = np.where(pend, np.nan, args["allowed"])
        args["paid"] = np.where(pend, np.nan, args["paid"])
        for key in ("adj_codes", "rem_codes"):
            args[key] = _object_column(args[key], pend)
    else:
        for key in _OUTCOME_ARGS:
            args[key] = None
    claims = _assemble(**args)
    truth = pd.DataFrame(
        {
            S.CLAIM_ID: claims[S.CLAIM_ID],
            S.LINE_NUMBER: claims[S.LINE_NUMBER],
            TRUTH_PROBABILITY: sim.prob[keep],
            TRUTH_BEST_PROBABILITY: sim.best_prob[keep],
            TRUTH_CAUSE: _strings(sim.cause[keep], CAUSES),
        }
    )
    return claims, truth


def make_claims(
    n_patients: int = 1000,
    *,
    start="2024-01-01",
    end="2025-12-31",
    as_of=None,
    random_state=0,
    params: SyntheticParams | None = None,
    reference=None,
) -> SyntheticClaims:
    """Generate a synthetic claim-line history with its hidden truth.

    Patients are drawn, then their episodes of care, visits and claim lines
    (see the module docstring). The claim table holds the lines with a date
    of service in [``start``, ``end``] that were submitted on or before
    ``as_of``; lines adjudicated after ``as_of`` are pending (their outcome
    columns are empty).

    Parameters
    ----------
    n_patients : int
        Patients to simulate (about 45 lines each over two years).
    start, end : date-like
        First and last date of service. Episodes already under way at
        ``start`` are simulated too (``params.warmup_days``).
    as_of : date-like, optional
        Extraction date of the history; defaults to ``end``.
    random_state : int or None
        Seed; the output is deterministic for a given seed. The payers and
        the practice depend on the seed only, not on ``n_patients`` or the
        dates.
    params : SyntheticParams, optional
        Assumptions; defaults to ``SyntheticParams()``.
    reference : ptdenial.reference.Reference, optional
        Reference tables; defaults to :func:`ptdenial.reference.load_reference`.
        Payer-specific rows of its ``payer_policies`` are honoured for the
        generated payer ids (``MCR01``, ``MA01``-``MA03``, ``MCD01``-``MCD02``,
        ``COM01``-``COM05``, ``WC01``-``WC02``, ``AUTO01``, ``TRI01``,
        ``OTH01``).

    Returns
    -------
    SyntheticClaims
        ``claims``: the claim-line table in canonical dtypes (as
        :func:`ptdenial.schema.validate_claims` returns it), every required,
        optional (except ``note_text``) and outcome column but ``denied``,
        which :func:`ptdenial.schema.derive_outcomes` derives. ``truth``:
        ``claim_id``, ``line_number``, ``true_denial_probability`` and
        ``dominant_cause`` (one of :data:`CAUSES`), in the same row order.

    Examples
    --------
    >>> from ptdenial.datasets import make_claims
    >>> from ptdenial.schema import derive_outcomes, validate_claims
    >>> claims, truth = make_claims(300, random_state=1)
    >>> valid, quarantine = validate_claims(claims, run_date="2025-12-31")
    >>> len(quarantine), len(valid) == len(claims)
    (0, True)
    >>> rate = float(derive_outcomes(claims)["denied"].mean())
    >>> 0.05 < rate < 0.2
    True
    """
    params = params if params is not None else SyntheticParams()
    ref = reference if reference is not None else load_reference()
    seed = _seed(random_state)
    if int(n_patients) < 1:
        raise ValueError(f"n_patients must be >= 1; got {n_patients}.")
    start_d, end_d = _day(start, "start"), _day(end, "end")
    as_of_d = end_d if as_of is None else _day(as_of, "as_of")
    sim = _simulate(
        int(n_patients),
        start_d,
        end_d,
        seed=seed,
        stream=0,
        params=params,
        ref=ref,
        intercept=params.intercept,
    )
    keep = (sim.dos >= start_d) & (sim.dos <= end_d) & (sim.submission <= as_of_d)
    claims, truth = _select(sim, keep, sim.adjudication > as_of_d, outcomes=True)
    return SyntheticClaims(claims, truth)


# New claims of the sample come from a second, larger draw of patients of the
# same payers and practice (one night of a practice's claims is about 2k lines,
# far more than the history's daily volume): this many days of visits before
# the night, plus params.warmup_days.
_NIGHT_WINDOW_DAYS = 60
_BULK_ID_BASE = 5_000_000
# Lines submitted on one night per (episode started per business day),
# measured on the default parameters.
_NIGHT_VOLUME_FACTOR = 1.24


def make_sample(
    n_patients: int = DEFAULT_SAMPLE_PATIENTS,
    random_state=DEFAULT_SAMPLE_SEED,
    *,
    start=_SAMPLE_START,
    end=_SAMPLE_END,
    new_claims_lines: int = 2000,
    params: SyntheticParams | None = None,
    reference=None,
) -> SampleData:
    """The sample: a history up to ``end`` and the claims sent the night after.

    ``history`` holds every line with a date of service from ``start`` that
    was submitted on or before ``end`` (lines adjudicated after ``end`` are
    pending). ``new_claims`` holds about ``new_claims_lines`` lines submitted
    on the night after ``end``, without outcome columns: the lines of the
    history's own patients sent that night, plus lines of a second draw of
    patients of the same payers, clinics and providers (patient ids from
    ``P5000001``). Both draws share the history's calibrated intercept, so
    their probabilities are on the same scale.

    Parameters
    ----------
    n_patients : int
        Patients of the history.
    random_state : int
        Seed.
    start, end : date-like
        History period.
    new_claims_lines : int
        Approximate size of the night's batch.
    params : SyntheticParams, optional
    reference : ptdenial.reference.Reference, optional

    Returns
    -------
    SampleData
        ``history``, ``new_claims``, ``history_truth``, ``new_claims_truth``.

    Examples
    --------
    >>> from ptdenial.datasets import make_sample
    >>> s = make_sample(150, random_state=3, new_claims_lines=200)
    >>> "adjudication_date" in s.new_claims.columns
    False
    >>> s.new_claims["submission_date"].unique().tolist()
    [Timestamp('2026-01-01 00:00:00')]
    """
    params = params if params is not None else SyntheticParams()
    ref = reference if reference is not None else load_reference()
    seed = _seed(random_state)
    start_d, end_d = _day(start, "start"), _day(end, "end")
    night = end_d + np.timedelta64(1, "D")
    hist = _simulate(
        int(n_patients),
        start_d,
        night,
        seed=seed,
        stream=0,
        params=params,
        ref=ref,
        intercept=params.intercept,
    )
    keep = (hist.dos >= start_d) & (hist.submission <= end_d)
    history, history_truth = _select(
        hist, keep, hist.adjudication > end_d, outcomes=True
    )
    own_night = hist.submission == night
    parts = [_select(hist, own_night, own_night, outcomes=False)]
    wanted = int(new_claims_lines) - int(own_night.sum())
    if wanted > 0:
        # lines per episode in the history -> patients that give `wanted`
        # lines submitted on one night when episodes start uniformly over
        # the window (+ warm-up) in business days
        n_ep = history[[S.PATIENT_ID, S.EPISODE_START_DATE]].drop_duplicates().shape[0]
        per_episode = len(history) / max(n_ep, 1)
        days = (_NIGHT_WINDOW_DAYS + params.warmup_days) * 5 / 7
        n_bulk = max(int(round(wanted * days / per_episode * _NIGHT_VOLUME_FACTOR)), 1)
        bulk = _simulate(
            n_bulk,
            night - np.timedelta64(_NIGHT_WINDOW_DAYS, "D"),
            night,
            seed=seed,
            stream=1,
            params=params,
            ref=ref,
            intercept=hist.intercept,
            id_base=_BULK_ID_BASE,
        )
        on_night = bulk.submission == night
        parts.append(_select(bulk, on_night, on_night, outcomes=False))
    new_claims = pd.concat([c for c, _ in parts], ignore_index=True)
    new_truth = pd.concat([t for _, t in parts], ignore_index=True)
    return SampleData(history, new_claims, history_truth, new_truth)


def _as_text(df: pd.DataFrame) -> pd.DataFrame:
    """Every column as text, the way the CSV files hold it."""
    out = {}
    for name in df.columns:
        col = df[name]
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            out[name] = (
                col.dt.strftime("%Y-%m-%d").astype(object).where(col.notna(), "")
            )
        elif col.dtype == object:
            codes, uniques = pd.factorize(col)
            joined = np.array(["|".join(u) for u in uniques] + [""], dtype=object)
            out[name] = joined[codes]
        else:
            out[name] = col.astype(object).map(lambda v: "" if pd.isna(v) else str(v))
    return pd.DataFrame(out, index=df.index)


def _malformed(history: pd.DataFrame):
    """Deliberately broken files for tests, with what validation must report."""
    base = _as_text(history.head(1000)).reset_index(drop=True)
    bad = base.copy()
    bad_rows = {
        17: (S.UNITS, "two"),
        342: (S.DATE_OF_SERVICE, "2025-13-45"),
        777: (S.CHARGE_AMOUNT, "abc"),
    }
    for row, (col, value) in bad_rows.items():
        bad.loc[row, col] = value
    missing = base.head(50).drop(columns=[S.UNITS, S.DIAGNOSIS_CODES])
    dup = pd.concat([base.head(100), base.iloc[[0, 1]]], ignore_index=True)
    payer = base.head(100).copy()
    payer_rows = {5: "hmo", 50: "self_pay", 95: "Medicare Part B"}
    for row, value in payer_rows.items():
        payer.loc[row, S.PAYER_CLASS] = value
    files = {
        "bad_types.csv": bad,
        "missing_columns.csv": missing,
        "duplicate_keys.csv": dup,
        "unknown_payer_class.csv": payer,
    }
    expected = {
        "bad_types.csv": {
            "rows": len(bad),
            "valid": len(bad) - 3,
            "quarantined": 3,
            "failures": [
                {"source_row": r, "column": c, "check": "type", "value": v}
                for r, (c, v) in bad_rows.items()
            ],
        },
        "missing_columns.csv": {
            "rows": len(missing),
            "error": "ClaimsSchemaError",
            "missing": [S.UNITS, S.DIAGNOSIS_CODES],
        },
        "duplicate_keys.csv": {
            "rows": len(dup),
            "valid": len(dup) - 4,
            "quarantined": 4,
            "failures": [
                {"source_row": r, "column": S.CLAIM_ID, "check": "duplicate_key"}
                for r in (0, 1, 100, 101)
            ],
        },
        "unknown_payer_class.csv": {
            "rows": len(payer),
            "valid": len(payer) - 3,
            "quarantined": 3,
            "failures": [
                {
                    "source_row": r,
                    "column": S.PAYER_CLASS,
                    "check": "vocabulary",
                    "value": v,
                }
                for r, v in payer_rows.items()
            ],
        },
    }
    return files, expected


def write_sample(
    out_dir,
    n_patients: int = DEFAULT_SAMPLE_PATIENTS,
    random_state=DEFAULT_SAMPLE_SEED,
) -> list[Path]:
    """Write the sample (Parquet and CSV), its truth, and malformed test files.

    Files written under ``out_dir``: ``history.parquet``, ``history.csv``,
    ``new_claims.parquet``, ``new_claims.csv``, ``history_truth.parquet``,
    ``new_claims_truth.parquet`` and, under ``malformed/``,
    ``bad_types.csv`` (1,000 rows, 3 with a bad value), ``missing_columns.csv``
    (no ``units`` and no ``diagnosis_codes``), ``duplicate_keys.csv`` (two
    keys appear twice), ``unknown_payer_class.csv`` (3 rows) and
    ``expected.json`` (what validation must report for each). Every file is
    written atomically.

    Parameters
    ----------
    out_dir : str or Path
    n_patients : int
    random_state : int

    Returns
    -------
    list of pathlib.Path

    Examples
    --------
    >>> import tempfile
    >>> from ptdenial.datasets import write_sample
    >>> paths = write_sample(tempfile.mkdtemp(), n_patients=60, random_state=5)
    >>> sorted(p.name for p in paths)[:3]
    ['bad_types.csv', 'duplicate_keys.csv', 'expected.json']
    """
    out = Path(out_dir)
    data = make_sample(n_patients, random_state)
    written = [
        write_table(data.history, out / "history.parquet"),
        write_table(data.history, out / "history.csv"),
        write_table(data.new_claims, out / "new_claims.parquet"),
        write_table(data.new_claims, out / "new_claims.csv"),
        write_table(data.history_truth, out / "history_truth.parquet"),
        write_table(data.new_claims_truth, out / "new_claims_truth.parquet"),
    ]
    files, expected = _malformed(data.history)
    for name, frame in files.items():
        written.append(write_table(frame, out / "malformed" / name))
    written.append(write_json(expected, out / "malformed" / "expected.json"))
    return written


@functools.lru_cache(maxsize=1)
def _default_sample() -> SampleData:
    return make_sample()


_KINDS = ("history", "new_claims", "history_truth", "new_claims_truth")


def load_sample_claims(kind: str = "history") -> pd.DataFrame:
    """The committed sample, regenerated in memory (works from an installed wheel).

    Identical to ``read_claims("data/sample/<kind>.parquet")`` after
    :func:`ptdenial.schema.validate_claims`. Generated once per process and
    cached; each call returns a copy.

    Parameters
    ----------
    kind : {"history", "new_claims", "history_truth", "new_claims_truth"}

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> from ptdenial.datasets import load_sample_claims
    >>> new = load_sample_claims("new_claims")
    >>> 1500 < len(new) < 2500
    True
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {list(_KINDS)}; got {kind!r}.")
    return getattr(_default_sample(), kind).copy()
