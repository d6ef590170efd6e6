"""Stages 11-12 of the simulation: the latent denial model and the remittance.

Each line's true denial probability is the sigmoid of a sum of components,
one per cause of :data:`ptdenial.datasets.CAUSES` (hard edits, soft
payer-specific effects, provider, policy change, noise); the largest
component names the dominant cause. ``denied`` is drawn from it, then paid
lines get their allowed and paid amounts and every line its CARC/RARC codes.

As in every stage module, the random draws happen in the order of the
statements and of the calls in :func:`ptdenial.datasets._simulate._simulate`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.datasets._arrays import (
    _group_cumsum,
    _group_first,
    _integrate_noise,
    _mapping,
    _sigmoid,
    _year_lookup,
)
from ptdenial.datasets._billing import _Authorization, _Codes, _LineItems, _Money
from ptdenial.datasets._care import (
    _CarePlan,
    _Clinical,
    _Patients,
    _PlanStatus,
    _Visits,
)
from ptdenial.datasets._claims import (
    _Documentation,
    _Modifiers,
    _Output,
    _PayerChecks,
    _Submission,
)
from ptdenial.datasets._remit import _paid_bits, _remit_codes
from ptdenial.datasets._run import _Run
from ptdenial.datasets._vocabulary import _CODES, _DEF, _NMR_BITS, CAUSES


@dataclasses.dataclass(frozen=True)
class _Stages:
    """The records of stages 1-10: what the outcome stages and assembly read."""

    pats: _Patients
    plan: _CarePlan
    clin: _Clinical
    vis: _Visits
    status: _PlanStatus
    codes: _Codes
    items: _LineItems
    money: _Money
    auth: _Authorization
    sub: _Submission
    checks: _PayerChecks
    doc: _Documentation
    mods: _Modifiers
    out: _Output


# ---------------------------------------------------------------- latent model
@dataclasses.dataclass(frozen=True)
class _Latent:
    """Per output line: the truth and the drawn outcome."""

    prob: np.ndarray  # true denial probability
    best_prob: np.ndarray  # the same with the random noise integrated out
    intercept: float
    cause: np.ndarray  # index into CAUSES
    denied: np.ndarray
    policy_is_auth: np.ndarray  # a policy-change denial is for authorization


def _latent_model(run: _Run, s: _Stages, intercept: float | None) -> _Latent:
    """True denial probability, dominant cause and drawn outcome per line."""
    p, world, rng = run.p, run.world, run.rng
    ov, o_payer, n_out = s.out.ov, s.out.payer, s.out.n
    doc_mult = s.auth.doc_mult[ov]
    strict = world.strictness[o_payer] * (1.0 + doc_mult)
    comps = _hard_components(run, s)
    comps.update(_soft_components(run, s, strict))
    comps["medical_necessity"] = _medical_necessity(run, s, strict)
    comps["provider"] = world.prov_effect[s.vis.prov[ov]]
    base_soft = comps["DX_SUPPORT"] + comps["CODE_CONTENT"] + comps["medical_necessity"]
    extra_doc = base_soft * (doc_mult / (1.0 + doc_mult))
    auth_change = s.auth.chg_strength[ov] * s.auth.chg_missing[ov]
    comps["payer_policy_change"] = auth_change + extra_doc
    for name in ("DX_SUPPORT", "CODE_CONTENT", "medical_necessity"):
        comps[name] = comps[name] / (1.0 + doc_mult)
    claim_noise = rng.normal(0, p.noise_claim_sd, s.out.n_claims)[s.out.claim_inv]
    comps["noise"] = claim_noise + rng.normal(0, p.noise_line_sd, n_out)
    rest = world.offset[o_payer] + sum(comps.values())
    dos = s.items.dos[s.out.src]
    in_range = (dos >= run.start) & (dos <= run.end)
    if intercept is None:
        intercept = _calibrate(
            rest[in_range] if in_range.any() else rest, p.target_denial_rate
        )
    logit = intercept + rest
    prob = _sigmoid(logit)
    cause_idx = _dominant_cause(comps, p.min_cause_logit)
    denied = rng.random(n_out) < prob
    return _Latent(
        prob=prob,
        best_prob=_integrate_noise(
            logit - comps["noise"], np.hypot(p.noise_claim_sd, p.noise_line_sd)
        ),
        intercept=float(intercept),
        cause=cause_idx,
        denied=denied,
        policy_is_auth=np.where(
            comps["payer_policy_change"] > 0, auth_change >= extra_doc, False
        ),
    )


def _hard_components(run: _Run, s: _Stages) -> dict[str, np.ndarray]:
    """Log-odds of the broken hard edits (near-certain denials), in CAUSES order."""
    world = run.world
    lo_, ov, o_payer, items = s.out.src, s.out.ov, s.out.payer, s.items
    hw = world.hard_weight[o_payer]
    mue_lim = np.array([run.mue.get(c, 10**6) for c in _CODES])
    o_lag = (s.out.submission - items.dos[lo_]).astype(int)
    return {
        "GP_MISSING": hw * (world.requires_gp[o_payer] & ~s.mods.gp_on[lo_]),
        "KX_MISSING": hw * (s.money.kx_due[ov] & ~s.mods.kx_on[lo_]),
        "MUE": hw * (items.units[lo_] > mue_lim[items.ci[lo_]]),
        "NCCI_PTP": hw * s.mods.ncci_hit[lo_],
        "TIMELY": hw * (o_lag > world.filing_limit[o_payer]),
        "AUTH_ABSENT": hw * s.auth.absent[ov],
        "AUTH_EXCEEDED": hw * s.auth.exceeded[ov],
        "BENEFIT_LIMIT": hw * s.checks.benefit_limit[ov],
        "DX_MISSING": hw * s.checks.dx_missing[ov],
        "REFERRING_NPI": hw * (s.checks.ref_required[ov] & s.checks.ref_missing[ov]),
        "PER_CODE_MIDPOINT": hw
        * (world.per_code_rule[o_payer] & items.timed[lo_] & (items.minutes[lo_] < 8)),
        "DUPLICATE": hw * s.out.is_dup,
        "PROVIDER_ELIG": hw * s.checks.enroll_gap[ov],
    }


def _soft_components(run: _Run, s: _Stages, strict) -> dict[str, np.ndarray]:
    """Soft, payer-specific effects of diagnosis, documentation, units and plan."""
    p, world, facts = run.p, run.world, run.facts
    lo_, ov, o_payer = s.out.src, s.out.ov, s.out.payer
    o_112, l_dos, doc = s.items.is_112[lo_], s.items.dos[lo_], s.doc
    dx1 = s.clin.dx1[s.vis.ep[ov]]
    dx_missing = s.checks.dx_missing[ov]
    deficit_ok = (doc.deficits[ov] & (_DEF["PROPRIOCEPTION"] | _DEF["BALANCE"])) > 0
    supported = s.clin.supports[dx1] & (~s.clin.needs_deficit[dx1] | deficit_ok)
    comps = {}
    comps["DX_SUPPORT"] = (
        world.dx_weight[o_payer] * strict * (o_112 & ~supported & ~dx_missing)
    )
    comps["CODE_CONTENT"] = (
        strict
        * o_112
        * (
            p.w_code_content_intervention * ((doc.interventions[ov] & _NMR_BITS) == 0)
            + p.w_code_content_deficit * (doc.deficits[ov] == 0)
        )
    )
    comps["UNITS_TOTAL"] = strict * p.w_units_total * s.items.over[lo_]
    poc = world.poc_rules[o_payer]
    init_days = int(facts["initial_cert_days"])
    ep_start, cert_date = s.vis.episode_start[ov], s.status.cert_date[ov]
    cert_bad = (l_dos > ep_start + init_days) & (
        ~doc.cert_known[ov] | (cert_date > ep_start + init_days)
    )
    exc_from = np.datetime64(
        pd.Timestamp(facts["referral_cert_exception_from"]).date(), "D"
    )
    cert_w = np.where(
        l_dos >= exc_from, p.w_cert_30d * p.cert_exception_factor, p.w_cert_30d
    )
    comps["CERT_30D"] = strict * cert_w * (poc & cert_bad)
    comps["RECERT_90"] = (
        strict * p.w_recert_90 * (poc & (l_dos > s.status.cert_through[ov]))
    )
    pr_limit = int(facts["progress_report_treatment_days"])
    comps["PROGRESS_10"] = (
        strict * p.w_progress_10 * (poc & (s.status.since[ov] > pr_limit))
    )
    cq_due, cq_on = s.money.cq_due[lo_], s.mods.cq_on[lo_]
    comps["CQ_MISSING"] = strict * p.w_cq_missing * (cq_due & ~cq_on)
    return comps


def _medical_necessity(run: _Run, s: _Stages, strict) -> np.ndarray:
    """Documentation, episode length, units and spend, plus payer x condition."""
    p, world = run.p, run.world
    lo_, ov, o_payer, doc = s.out.src, s.out.ov, s.out.payer, s.doc
    o_112, units = s.items.is_112[lo_], s.items.units[lo_]
    note_known = doc.note_known[ov]
    note_days = (s.sub.note_date[ov] - s.items.dos[lo_]).astype(int)
    soft_scale = np.where(o_112, 1.0, p.non_97112_soft_factor)
    mn = (
        p.w_no_objective_measure * ~doc.objective[ov]
        + p.w_note_unsigned * ~note_known
        + p.w_note_late * (note_known & (note_days > p.note_late_days))
        + p.w_long_episode * (s.vis.idx[ov] + 1 > p.long_episode_visits)
        + p.w_many_units * (o_112 & (units >= 3))
        + p.w_targeted_review
        * (world.kx_applies[o_payer] & (s.money.ytd[ov] > s.money.tmr_thr[ov]))
    )
    return np.maximum(
        soft_scale * (strict * mn + world.payer_condition[o_payer, s.vis.cond[ov]]),
        0.0,
    )


def _dominant_cause(comps: dict, min_logit: float) -> np.ndarray:
    """Index into CAUSES of the largest component; "noise" below ``min_logit``."""
    names = list(CAUSES)
    best = np.zeros(len(comps[names[0]]), dtype=np.int64)
    best_val = comps[names[0]].astype(float)
    for i, name in enumerate(names[1:], start=1):
        better = comps[name] > best_val
        best = np.where(better, i, best)
        best_val = np.where(better, comps[name], best_val)
    return np.where(best_val >= min_logit, best, names.index("noise"))


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


# ---------------------------------------------------------------- remittance
@dataclasses.dataclass(frozen=True)
class _Remittance:
    """Per output line: charge, allowed and paid amounts, CARC/RARC codes."""

    charge: np.ndarray
    allowed: np.ndarray
    paid: np.ndarray
    adj_codes: np.ndarray  # tuples of CARC codes
    rem_codes: np.ndarray  # tuples of RARC codes


@dataclasses.dataclass(frozen=True)
class _PatientShare:
    """Per output line: deductible, copay and coinsurance, sequestration, paid."""

    ded: np.ndarray
    copay: np.ndarray
    coins: np.ndarray
    seq: np.ndarray
    paid: np.ndarray


def _remittance(run: _Run, s: _Stages, latent: _Latent) -> _Remittance:
    """Allowed, paid, and CARC/RARC codes of each output line."""
    p, world, rng, money = run.p, run.world, run.rng, s.money
    lo_, ov, o_payer, n_out = s.out.src, s.out.ov, s.out.payer, s.out.n
    ci, units, denied = s.items.ci[lo_], s.items.units[lo_], latent.denied
    fee = (
        money.rate[ci]
        * money.cf_year[ov]
        * np.where(money.mppr_payer[lo_], money.unit_factor[lo_], units)
        * money.cq_factor[lo_]
        * world.fee_factor[o_payer]
    )
    charge_rate = np.array([_mapping(p.charges)[c] for c in _CODES])
    charge = np.round(charge_rate[ci] * units, 2)
    allowed = np.round(np.minimum(fee, charge), 2)
    partial = (
        (~denied)
        & s.items.over[lo_]
        & ~world.per_code_rule[o_payer]
        & (rng.random(n_out) < world.partial_prob[o_payer])
    )
    cut = np.where(partial, 1, 0)
    allowed = np.where(
        partial,
        np.round(allowed * (units - cut) / np.maximum(units, 1), 2),
        allowed,
    )
    allowed = np.where(denied, 0.0, allowed)
    share = _patient_share(run, s, allowed, denied)
    paid_bits = _paid_bits(
        charge, allowed, share.ded, share.coins, share.copay, share.seq, partial
    )
    adj_codes, rem_codes = _remit_codes(
        rng,
        denied,
        latent.cause,
        s.out.cls,
        paid_bits,
        latent.policy_is_auth,
        p.noise_denials,
    )
    return _Remittance(charge, allowed, share.paid, adj_codes, rem_codes)


def _deductible_left(run: _Run, s: _Stages, allowed: np.ndarray) -> np.ndarray:
    """Deductible still due before each line, in date order per patient-year."""
    p, n_out = run.p, s.out.n
    lo_, ov, o_cls = s.out.src, s.out.ov, s.out.cls
    o_pat, o_year_i = s.vis.pat[ov], s.vis.year_i[ov]
    order = np.lexsort((np.arange(n_out), s.items.dos[lo_], o_year_i, o_pat))
    inv_order = np.empty(n_out, dtype=np.int64)
    inv_order[order] = np.arange(n_out)
    key = (o_pat.astype(np.int64) * run.n_years + o_year_i)[order]
    cum_before = _group_cumsum(allowed[order], _group_first(key), inclusive=False)[
        inv_order
    ]
    is_mcr = o_cls == S.PAYER_CLASSES.index("medicare")
    commercial_like = np.isin(
        o_cls, [S.PAYER_CLASSES.index(c) for c in ("commercial", "other", "tricare")]
    )
    pats = s.pats
    ded_total = np.where(
        is_mcr,
        _year_lookup(_mapping(p.medicare_deductible), s.vis.year[ov]),
        np.where(
            commercial_like,
            pats.deductible[o_pat] * (1 - pats.ded_met[o_pat, o_year_i]),
            0.0,
        ),
    )
    return np.round(np.clip(ded_total - cum_before, 0.0, allowed), 2)


def _patient_share(
    run: _Run, s: _Stages, allowed: np.ndarray, denied: np.ndarray
) -> _PatientShare:
    """The patient's share of paid lines and what the payer pays."""
    p, world = run.p, run.world
    o_payer, o_cls = s.out.payer, s.out.cls
    is_mcr = o_cls == S.PAYER_CLASSES.index("medicare")
    commercial_like = np.isin(
        o_cls, [S.PAYER_CLASSES.index(c) for c in ("commercial", "other", "tricare")]
    )
    ded = _deductible_left(run, s, allowed)
    after_ded = allowed - ded
    uses_copay = world.uses_copay[o_payer]
    first_paid = _first_paid_of_claim(s.out.claim, s.out.src, ~denied & (allowed > 0))
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
    return _PatientShare(ded, copay, coins, seq, paid)


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
