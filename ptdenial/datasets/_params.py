"""The generator's assumptions: :class:`SyntheticParams` and :class:`PolicyChange`."""

from __future__ import annotations

import dataclasses


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
    kind : {"auth_required", "documentation"}, default="auth_required"
        ``"auth_required"``: follow-up visits need prior authorization from
        this date (the practice learns to obtain it over ``adoption_days``).
        ``"documentation"``: the payer's medical-necessity, diagnosis and
        documentation effects are multiplied by ``1 + strength``.
    strength : float, default=5.0
        Log-odds of the missing-authorization effect, or the extra multiplier.
    adoption_days : int, default=120
        Days the practice needs to obtain authorizations routinely.

    See Also
    --------
    SyntheticParams : ``policy_changes`` holds the changes of a world.

    Notes
    -----
    A change naming a payer id the world does not have is ignored; an
    unknown ``kind`` makes :func:`make_claims` raise ``ValueError``.

    Examples
    --------
    >>> import dataclasses
    >>> from ptdenial.datasets import PolicyChange, SyntheticParams, make_claims
    >>> change = PolicyChange("COM02", "2025-01-01", adoption_days=60)
    >>> params = dataclasses.replace(SyntheticParams(), policy_changes=(change,))
    >>> claims, truth = make_claims(200, random_state=0, params=params)
    >>> bool((truth["dominant_cause"] == "payer_policy_change").any())
    True
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

    Each field is documented by the comment above it. The fields come in
    groups: the outcome level (``target_denial_rate``, ``intercept``,
    ``warmup_days``); the payers (ids per class, shares, base offsets,
    strictness, weight of hard edits and of unsupported diagnoses, fees,
    adjudication lags, patient cost sharing); the practice (clinics,
    therapists, assistants, referrers, unit padding, provider effects,
    enrollment gaps, home and telehealth visits); patients and episodes
    (conditions, episodes, visits and their rhythm); codes and minutes (codes
    per condition, evaluation complexity, diagnoses, deficits, interventions,
    minute bands); billing behaviour (how often modifiers, referrers,
    diagnoses, authorizations, certifications, progress reports and signed
    notes are missing or late, submission lags); the soft effects on the
    denial log-odds (``w_*``, noise); money (Medicare rates, conversion
    factors, charges); and ``policy_changes`` (:class:`PolicyChange`).

    See Also
    --------
    make_claims, make_sample : Take it as ``params``.

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
    # How the history records documents signed after a line was sent. False:
    # as on file when the line was sent (a plan of care certified later is
    # empty on it). True: as exported on the history's extraction date, the
    # way a practice-management system shows documents as they ended up
    # (SCHEMA.md "Dated documentation"): poc_certified_date and
    # note_signed_date carry the later signature. Outcomes are the same.
    late_documents: bool = False

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
