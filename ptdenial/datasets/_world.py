"""The world a simulation runs in: payers, clinics, providers and referrers."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.datasets._arrays import _mapping, _sigmoid
from ptdenial.datasets._params import SyntheticParams
from ptdenial.datasets._vocabulary import _CONDITIONS


@dataclasses.dataclass
class _World:
    """Payers (with their policies) and the practice; depends on the seed only.

    Payer arrays are indexed by payer, provider arrays by provider (PTs
    first, then PTAs), clinic and referrer arrays by clinic and referrer.
    """

    payer_id: list
    payer_class: np.ndarray  # index into S.PAYER_CLASSES
    payer_share: np.ndarray  # share of the patients
    offset: np.ndarray  # base log-odds offset
    strictness: np.ndarray  # multiplier on every soft effect
    hard_weight: np.ndarray  # log-odds of a broken hard edit
    dx_weight: np.ndarray  # log-odds of an unsupported 97112 diagnosis
    payer_condition: np.ndarray  # (payer, condition) medical-necessity effect
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
    """Draw the payers and the practice from their own stream of ``seed``.

    The draws happen in this order, which is part of the output: payers,
    unit padding, provider quality, payer x condition effects, provider
    effects, clinic shares, clinic GP habits.
    """
    rng = np.random.default_rng([seed, 104729])
    tab = _payer_table(p, ref, rng)
    n_pt, n_pta, n_cl = p.n_physical_therapists, p.n_assistants, p.n_clinics
    n_prov = n_pt + n_pta
    overbill = np.where(
        rng.random(n_prov) < p.overbilling_provider_share,
        rng.uniform(*p.overbilling_rate_range, n_prov),
        0.0,
    )
    quality = rng.normal(0, 1, n_prov)
    payer_condition = rng.normal(0, p.payer_condition_sd, (len(tab), len(_CONDITIONS)))
    prov_effect = rng.normal(0, p.provider_effect_sd, n_prov)
    clinic_share = rng.dirichlet(np.full(n_cl, p.clinic_share_concentration))
    clinic_gp_factor = np.exp(rng.normal(0, p.clinic_gp_sd, n_cl))
    pos = np.array(
        [
            p.clinic_place_of_service[i % len(p.clinic_place_of_service)]
            for i in range(n_cl)
        ]
    )
    return _World(
        **_payer_fields(tab),
        payer_condition=payer_condition,
        **_provider_fields(p, quality, overbill, prov_effect),
        clinic_id=[f"CLN{i + 1}" for i in range(n_cl)],
        clinic_pos=pos,
        clinic_share=clinic_share,
        clinic_gp_factor=clinic_gp_factor,
        referrer_id=[f"D{i + 1:04d}" for i in range(p.n_referrers)],
        referrer_clinic=np.arange(p.n_referrers) % n_cl,
    )


def _payer_table(p: SyntheticParams, ref, rng) -> pd.DataFrame:
    """One row per payer id: its share, random traits and reference policy."""
    shares = _mapping(p.payer_class_shares)
    counts = _mapping(p.payers_per_class)
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
            rows.append(
                {
                    "payer_id": pid,
                    "cls": S.PAYER_CLASSES.index(cls),
                    "share": shares[cls] * within[i],
                    **_payer_traits(p, cls, rng),
                    **_payer_policy(pol),
                }
            )
    return pd.DataFrame(rows)


def _payer_traits(p: SyntheticParams, cls: str, rng) -> dict:
    """The assumed traits of one payer of class ``cls`` (draws in key order)."""
    fee_range = _mapping(p.fee_factor_range)
    return {
        "offset": _mapping(p.payer_class_offsets).get(cls, 0.0)
        + rng.normal(0, p.payer_offset_sd),
        "strict": float(np.exp(rng.normal(0, p.payer_strictness_sd))),
        "hard": rng.uniform(*p.hard_weight_range),
        "dx": _mapping(p.dx_support_weight).get(cls, 1.0),
        "fee": rng.uniform(*fee_range.get(cls, (1.0, 1.0))),
        "lag": _mapping(p.adjudication_lag_days).get(cls, 25) * rng.uniform(0.8, 1.25),
        "partial": rng.uniform(*p.partial_denial_prob_range),
        "copay": round(rng.uniform(*p.copay_range) / 5) * 5,
        "uses_copay": cls in ("medicare_advantage", "tricare")
        or (cls in ("commercial", "other") and rng.random() < p.copay_plan_share),
    }


def _payer_policy(pol) -> dict:
    """The reference policy of one payer, as plain values."""
    vl = pol.get("visit_limit")
    return {
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


def _payer_fields(tab: pd.DataFrame) -> dict:
    """The payer fields of :class:`_World` (all but payer_condition)."""
    share = tab["share"].to_numpy(float)
    return {
        "payer_id": tab["payer_id"].tolist(),
        "payer_class": tab["cls"].to_numpy(int),
        "payer_share": share / share.sum(),
        "offset": tab["offset"].to_numpy(float),
        "strictness": tab["strict"].to_numpy(float),
        "hard_weight": tab["hard"].to_numpy(float),
        "dx_weight": tab["dx"].to_numpy(float),
        "fee_factor": tab["fee"].to_numpy(float),
        "adj_lag": tab["lag"].to_numpy(float),
        "partial_prob": tab["partial"].to_numpy(float),
        "copay": tab["copay"].to_numpy(float),
        "uses_copay": tab["uses_copay"].to_numpy(bool),
        "per_code_rule": tab["per_code"].to_numpy(bool),
        "filing_limit": tab["filing"].to_numpy(int),
        "auth_required": tab["auth"].to_numpy(bool),
        "visit_limit": tab["visit_limit"].to_numpy(int),
        "accepts_59": tab["accepts_59"].to_numpy(bool),
        "requires_gp": tab["gp"].to_numpy(bool),
        "kx_applies": tab["kx"].to_numpy(bool),
        "cq_applies": tab["cq"].to_numpy(bool),
        "poc_rules": tab["poc"].to_numpy(bool),
        "referring_required": tab["ref"].to_numpy(bool),
    }


def _provider_fields(p: SyntheticParams, quality, overbill, effect) -> dict:
    """The provider fields of :class:`_World`: PTs first, then PTAs."""
    n_pt, n_pta, n_cl = p.n_physical_therapists, p.n_assistants, p.n_clinics
    n_prov = n_pt + n_pta
    lag_lo, lag_hi = p.note_lag_mean_days
    note_lag = lag_lo + (lag_hi - lag_lo) * _sigmoid(
        p.note_lag_logit[0] + p.note_lag_logit[1] * quality
    )
    return {
        "prov_id": [f"R{i + 1:04d}" for i in range(n_prov)],
        "prov_is_pta": np.arange(n_prov) >= n_pt,
        "prov_clinic": np.concatenate(
            [np.arange(n_pt) % n_cl, np.arange(n_pta) % n_cl]
        ),
        "prov_quality": quality,
        "prov_overbill": overbill,
        "prov_effect": effect,
        "prov_note_lag": note_lag,
        "prov_mismatch": np.clip(
            p.p_code_content_mismatch * np.exp(-p.quality_effect * quality), 0, 0.9
        ),
        "prov_progress_late": np.clip(
            p.p_progress_late * np.exp(-p.quality_effect * quality), 0, 0.9
        ),
    }
