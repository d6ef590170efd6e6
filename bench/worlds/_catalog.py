"""Static tables of the world: payers, procedure codes, diagnoses, fees.

Every figure here is an assumption of this simulator (``verified=false`` in
the sense of the domain brief) unless a comment names its source. The tables
are written for this world only; nothing is taken from ``ptdenial``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# --- payers --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Payer:
    """One payer/plan of the practice and the behaviour the world gives it.

    ``auth`` is ``"none"``, ``"all"`` (every visit after the evaluation),
    ``"after:N"`` (visits after the N-th treatment visit of the episode) or
    ``"from:YYYY-MM-DD"`` (every visit after the evaluation from that date).
    ``time_rule`` is ``"cms"`` (total timed minutes of the day, Pub. 100-04
    ch. 5 §20.2) or ``"ama"`` (each code on its own, mid-point rule).
    Log-odds fields (``base``) and multipliers are assumptions.
    """

    payer_id: str
    name: str
    payer_class: str
    weight: float
    time_rule: str = "ama"
    filing_days: int = 180
    base: float = -2.6
    lag_median: float = 20.0
    lag_sigma: float = 0.45
    fee_mult: float = 1.2
    mppr: bool = False
    gp_required: bool = False
    kx_required: bool = False
    cq_required: bool = False
    cert_weight: float = 0.0
    unit_review: float = 0.6
    doc_strict: float = 1.0
    dx_strict: float = 1.0
    auth: str = "none"
    strict_59: bool = False
    copay: float = 0.0
    coinsurance: float = 0.0
    deductible: float = 0.0
    visit_limit: int = 0


# Medicare Part B: 12 months from the date of service (42 CFR 424.44, brief §7);
# commercial 90-180 days and Medicaid per state are vendor figures (brief §7, 🟡).
PAYERS: tuple[Payer, ...] = (
    Payer("MCR-JH-NOV", "Novitas Solutions JH - Medicare Part B", "medicare", 0.27,
          time_rule="cms", filing_days=365, base=-3.55, lag_median=14, lag_sigma=0.3,
          fee_mult=1.0, mppr=True, gp_required=True, kx_required=True,
          cq_required=True, cert_weight=1.0, unit_review=1.0, doc_strict=1.0,
          dx_strict=1.0, coinsurance=0.20, deductible=240.0),
    Payer("MA-HUM-GOLD", "Humana Gold Plus HMO (Medicare Advantage)",
          "medicare_advantage", 0.08, time_rule="cms", filing_days=365, base=-3.05,
          lag_median=18, fee_mult=0.97, mppr=True, gp_required=True,
          cq_required=True, cert_weight=0.8, unit_review=0.8, doc_strict=1.1,
          dx_strict=1.1, strict_59=True, copay=20.0),
    Payer("MA-UHC-DUAL", "UnitedHealthcare Dual Complete (Medicare Advantage)",
          "medicare_advantage", 0.07, time_rule="cms", filing_days=365, base=-2.95,
          lag_median=16, fee_mult=0.98, mppr=True, gp_required=True,
          cq_required=True, cert_weight=0.8, unit_review=0.8, doc_strict=1.0,
          auth="from:2024-09-01", copay=15.0),
    Payer("MCD-TX-STAR", "Superior STAR Medicaid", "medicaid", 0.08,
          time_rule="ama", filing_days=95, base=-2.95, lag_median=32, lag_sigma=0.5,
          fee_mult=0.68, gp_required=True, cert_weight=0.9, unit_review=0.7,
          doc_strict=1.25, dx_strict=1.1, auth="all", visit_limit=30),
    Payer("COM-BCBSTX", "Blue Cross Blue Shield of Texas PPO", "commercial", 0.12,
          time_rule="ama", filing_days=180, base=-3.35, lag_median=21, fee_mult=1.25,
          unit_review=0.5, doc_strict=0.8, dx_strict=0.9, auth="after:20",
          copay=35.0, deductible=1500.0),
    Payer("COM-UHC-CP", "UnitedHealthcare Choice Plus", "commercial", 0.09,
          time_rule="cms", filing_days=90, base=-3.05, lag_median=19, fee_mult=1.15,
          mppr=True, unit_review=0.7, doc_strict=0.9, auth="after:12",
          copay=40.0, deductible=1000.0),
    Payer("COM-AETNA-OA", "Aetna Open Access", "commercial", 0.07,
          time_rule="ama", filing_days=120, base=-2.95, lag_median=24, fee_mult=1.2,
          cert_weight=0.9, unit_review=0.6, doc_strict=1.2, dx_strict=1.3,
          strict_59=True, copay=30.0, deductible=750.0),
    Payer("COM-CIGNA-ASH", "Cigna (ASH managed therapy)", "commercial", 0.06,
          time_rule="ama", filing_days=90, base=-3.05, lag_median=22, fee_mult=1.18,
          unit_review=0.6, doc_strict=1.0, dx_strict=1.2, auth="all", copay=30.0),
    Payer("WC-TXMUT", "Texas Mutual Workers' Compensation", "workers_comp", 0.06,
          time_rule="ama", filing_days=95, base=-2.85, lag_median=45, lag_sigma=0.6,
          fee_mult=1.55, unit_review=0.8, doc_strict=1.1, dx_strict=0.4, auth="all"),
    Payer("AUTO-SF-PIP", "State Farm PIP / MedPay", "auto", 0.04, time_rule="ama",
          filing_days=365, base=-2.55, lag_median=60, lag_sigma=0.7, fee_mult=1.7,
          unit_review=0.5, doc_strict=0.9, dx_strict=0.3),
    Payer("TRI-EAST", "TRICARE East (Humana Military)", "tricare", 0.05,
          time_rule="cms", filing_days=365, base=-3.25, lag_median=17, fee_mult=1.0,
          gp_required=True, cq_required=True, cert_weight=0.6, unit_review=0.8,
          auth="after:12", copay=25.0),
    # used when n_payers > 11
    Payer("COM-HUMANA", "Humana Commercial PPO", "commercial", 0.04,
          time_rule="cms", filing_days=180, base=-3.15, lag_median=20,
          fee_mult=1.12, unit_review=0.6, strict_59=True, copay=30.0),
    Payer("MCD-MOLINA", "Molina Healthcare Medicaid", "medicaid", 0.04,
          time_rule="cms", filing_days=180, base=-2.75, lag_median=35,
          fee_mult=0.7, gp_required=True, cert_weight=0.7, doc_strict=1.15,
          auth="after:6", visit_limit=24),
    Payer("MA-AETNA-MA", "Aetna Medicare Advantage PPO", "medicare_advantage", 0.04,
          time_rule="cms", filing_days=365, base=-3.15, lag_median=17,
          fee_mult=1.0, mppr=True, gp_required=True, cq_required=True,
          cert_weight=0.8, copay=20.0),
    Payer("COM-OSCAR", "Oscar Health EPO", "commercial", 0.03, time_rule="ama",
          filing_days=90, base=-2.85, lag_median=23, fee_mult=1.1, copay=40.0,
          deductible=2500.0),
    Payer("OTH-LIEN", "Attorney lien / letter of protection", "other", 0.02,
          time_rule="ama", filing_days=365, base=-2.45, lag_median=90,
          lag_sigma=0.8, fee_mult=1.9, doc_strict=0.8, dx_strict=0.3),
)


def make_payers(n_payers: int, rng: np.random.Generator) -> list[Payer]:
    """The first ``n_payers`` templates, then generated commercial plans."""
    if n_payers < 1:
        raise ValueError(f"n_payers must be at least 1; got {n_payers}")
    payers = list(PAYERS[: min(n_payers, len(PAYERS))])
    for i in range(len(PAYERS), n_payers):
        payers.append(
            Payer(
                f"COM-PLAN{i + 1:02d}",
                f"Regional commercial plan {i + 1}",
                str(rng.choice(["commercial", "commercial", "medicaid",
                                "medicare_advantage"])),
                float(rng.uniform(0.01, 0.04)),
                time_rule=str(rng.choice(["cms", "ama"])),
                filing_days=int(rng.choice([90, 120, 180, 365])),
                base=float(rng.normal(-3.05, 0.3)),
                lag_median=float(rng.uniform(14, 40)),
                fee_mult=float(rng.uniform(0.7, 1.4)),
                unit_review=float(rng.uniform(0.3, 0.9)),
                doc_strict=float(rng.uniform(0.7, 1.3)),
                dx_strict=float(rng.uniform(0.6, 1.3)),
                auth=str(rng.choice(["none", "all", "after:12"])),
                copay=float(rng.choice([0, 20, 30, 40])),
            )
        )
    return payers


# --- procedure codes -------------------------------------------------------------

# code, timed, assumed total RVU (payment = RVU x conversion factor), charge per
# unit (USD, the practice's charge master). 97112 RVU 0.98 is the 2026 figure
# of brief §8 (🟡, unverified); the others are assumptions of this world.
CODES = (
    ("97161", False, 3.05, 175.0),  # PT eval, low complexity
    ("97162", False, 3.05, 195.0),  # PT eval, moderate
    ("97163", False, 3.05, 215.0),  # PT eval, high
    ("97165", False, 3.05, 180.0),  # OT eval, low
    ("97166", False, 3.05, 200.0),  # OT eval, moderate
    ("97164", False, 2.07, 120.0),  # PT re-evaluation
    ("97168", False, 2.07, 120.0),  # OT re-evaluation
    ("97112", True, 0.98, 68.0),  # neuromuscular re-education
    ("97110", True, 0.88, 60.0),  # therapeutic exercise
    ("97140", True, 0.80, 58.0),  # manual therapy
    ("97530", True, 1.04, 66.0),  # therapeutic activities
    ("97116", True, 0.87, 58.0),  # gait training
    ("97535", True, 0.98, 62.0),  # self-care / home management training
    ("97124", True, 0.80, 52.0),  # massage
    ("97035", True, 0.40, 32.0),  # ultrasound
    ("97032", True, 0.50, 38.0),  # electrical stimulation, attended
    ("97150", False, 0.53, 42.0),  # group therapy
    ("G0283", False, 0.34, 30.0),  # e-stim unattended (Medicare); 97014 elsewhere
    ("95992", False, 0.95, 95.0),  # canalith repositioning
)
CODE_NAMES = np.array([c[0] for c in CODES], dtype=object)
CODE_TIMED = np.array([c[1] for c in CODES])
CODE_RVU = np.array([c[2] for c in CODES])
CODE_CHARGE = np.array([c[3] for c in CODES])
C = {c[0]: i for i, c in enumerate(CODES)}
EVAL_PT = (C["97161"], C["97162"], C["97163"])
EVAL_OT = (C["97165"], C["97166"])
EVAL_CODES = EVAL_PT + EVAL_OT
REEVAL_CODES = (C["97164"], C["97168"])
ONE_ON_ONE = tuple(C[c] for c in ("97112", "97110", "97140", "97530", "97116", "97535"))

# Conversion factors (brief §8): 2024 after 9 March $33.2875, 2025 $32.3465,
# 2026 $33.4009 (AMA/APTA). Later years repeat 2026.
CONVERSION_FACTOR = {2023: 33.8872, 2024: 33.2875, 2025: 32.3465, 2026: 33.4009}
# KX thresholds (Errata): 2024 $2,330, 2025 $2,410, 2026 $2,480 (🟡 2025-26).
KX_THRESHOLDS = {2023: 2230.0, 2024: 2330.0, 2025: 2410.0, 2026: 2480.0}
# targeted medical review from $3,000 (brief §4, NGS 2024)
TMR_THRESHOLD = 3000.0
# Part B deductible: assumption of this world (not from the brief).
MEDICARE_DEDUCTIBLE = {2024: 240.0, 2025: 257.0, 2026: 283.0}

# --- conditions and diagnoses --------------------------------------------------

CONDITIONS = ("neuro", "vestibular", "ortho_lower", "spine", "upper_limb")

# (code, weight) per condition; dotted form. Codes were picked for clinical
# plausibility only (brief §5: no LCA list was verified).
PRIMARY_DX = {
    "neuro": [("I69.351", 3), ("I69.354", 3), ("I69.393", 1), ("G20.A1", 3),
              ("G62.9", 2), ("E11.42", 2), ("G81.94", 1), ("G57.31", 1),
              ("G12.21", 0.3), ("S06.2X0S", 0.5)],
    "vestibular": [("R26.81", 4), ("R26.89", 2), ("R26.2", 2), ("R42", 2),
                   ("H81.10", 2), ("H81.13", 1), ("R27.0", 1), ("Z91.81", 1)],
    "ortho_lower": [("M17.11", 2), ("M17.12", 2), ("Z96.651", 2), ("Z96.641", 1),
                    ("Z47.1", 2), ("S83.511D", 1), ("S93.401D", 1.5),
                    ("M25.371", 0.7), ("M25.561", 2), ("M62.81", 1),
                    ("S72.001D", 0.5)],
    "spine": [("M54.50", 4), ("M54.2", 2), ("M51.16", 2), ("M48.061", 1.5),
              ("M54.16", 1.5), ("M62.830", 1)],
    "upper_limb": [("M75.101", 2), ("M25.511", 2), ("S52.501D", 1.5),
                   ("G56.01", 1), ("I69.331", 1), ("M19.011", 1)],
}
SECONDARY_DX = {
    "neuro": [("R26.81", 3), ("R27.8", 2), ("Z91.81", 2), ("M62.81", 2),
              ("R29.3", 1)],
    "vestibular": [("Z91.81", 3), ("R26.81", 2), ("H81.10", 1)],
    "ortho_lower": [("R26.81", 2), ("M62.81", 2), ("Z91.81", 1), ("M25.661", 1)],
    "spine": [("M62.81", 2), ("R26.2", 1), ("M54.40", 0.5)],
    "upper_limb": [("M62.81", 1), ("M25.611", 1)],
}
# Codes that are wrong on purpose: a category header (not billable) and an
# initial-encounter 7th character used for rehab (brief §5, Errata R13/R14).
HEADER_DX = {"vestibular": "R26.8", "spine": "M54.5", "ortho_lower": "M17.1",
             "neuro": "I69.35", "upper_limb": "M75.10"}
INITIAL_ENCOUNTER = {"S83.511D": "S83.511A", "S93.401D": "S93.401A",
                     "S52.501D": "S52.501A", "S72.001D": "S72.001A"}

# This world's 97112 support families (Errata R13/R14, broadened list).
SUPPORT_PREFIXES = ("R26.", "R27.", "R29.3", "R29.6", "R42", "R53.1", "R53.81",
                    "H81.", "H83.", "G20", "G35", "G57.", "G62.", "G81.", "G12.21",
                    "E11.42", "I69.", "S06.", "S72.", "S83.", "Z47.", "Z96.6",
                    "M62.81", "M25.37")
# supports only with a documented proprioceptive/balance deficit
CONDITIONAL_PREFIXES = ("S93.",)
# supports only as a secondary code
WEAK_PREFIXES = ("Z91.81",)


def dx_support(code: str) -> int:
    """2 = supports 97112, 1 = supports with a deficit / as secondary, 0 = not."""
    if code.startswith(SUPPORT_PREFIXES):
        return 2
    if code.startswith(CONDITIONAL_PREFIXES + WEAK_PREFIXES):
        return 1
    return 0


DEFICITS = ("balance", "coordination", "kinesthetic_sense", "posture",
            "proprioception")
NEURO_INTERVENTIONS = ("neuromuscular_reeducation", "balance_training",
                       "proprioceptive_training", "postural_training",
                       "coordination_training")
CODE_INTERVENTION = {
    "97110": "therapeutic_exercise",
    "97140": "manual_therapy",
    "97530": "therapeutic_activities",
    "97116": "gait_training",
    "97032": "nmes",
    "G0283": "nmes",
    "97150": "group_therapy",
}
