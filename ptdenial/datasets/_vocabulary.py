"""Names of the synthetic world: truth columns, causes, codes, modifiers."""

from __future__ import annotations

import numpy as np

from ptdenial import schema as S

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
