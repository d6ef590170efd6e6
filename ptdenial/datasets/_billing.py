"""Stages 4-7 of the simulation: codes and units, claim lines, money, authorization.

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
    _mapping,
    _year_lookup,
)
from ptdenial.datasets._care import (
    _AuthDraws,
    _CarePlan,
    _Episodes,
    _Patients,
    _PlanStatus,
    _Visits,
)
from ptdenial.datasets._run import _Run
from ptdenial.datasets._vocabulary import (
    _CI,
    _CODES,
    _CONDITIONS,
    _EVAL_COLS,
    _MINUTE_BANDS,
    _TIMED,
    _TIMED_COLS,
)


# ---------------------------------------------------------------- codes
@dataclasses.dataclass(frozen=True)
class _Codes:
    """Per visit: the codes billed, minutes of the timed ones, units billed."""

    sel: np.ndarray  # (visit, code) the code is performed
    minutes: np.ndarray  # (visit, timed code) minutes, 0 where not performed
    total_min: np.ndarray  # total timed minutes of the visit
    billed: np.ndarray  # (visit, timed code) units billed
    over_line: np.ndarray  # (visit, timed code) more units than the rule allows


def _codes(run: _Run, vis: _Visits, plan: _CarePlan, status: _PlanStatus) -> _Codes:
    """Codes performed at each visit, minutes of the timed ones, units billed."""
    sel = _select_codes(run, vis, plan, status)
    minutes = _timed_minutes(run, vis)
    sel_t = sel[:, _TIMED_COLS]
    minutes = np.where(sel_t, minutes, 0)
    billed, over_line_t = _units(run, vis, minutes, sel_t)
    return _Codes(sel, minutes, minutes.sum(axis=1), billed, over_line_t)


def _select_codes(run: _Run, vis: _Visits, plan: _CarePlan, status: _PlanStatus):
    """Which codes each visit performs: evaluation, treatment mix, estim by payer."""
    p, rng = run.p, run.rng
    V, C, is_eval, mlike = vis.n, len(_CODES), vis.is_eval, vis.mlike
    tprobs = np.zeros((len(_CONDITIONS), C))
    for code, probs in p.treatment_code_probs:
        tprobs[:, _CI[code]] = probs
    eprobs = np.zeros(C)
    for code, prob in p.eval_code_probs:
        eprobs[_CI[code]] = prob
    probs = np.where(is_eval[:, None], eprobs[None, :], tprobs[vis.cond])
    sel = rng.random((V, C)) < probs
    sel[np.flatnonzero(is_eval), _EVAL_COLS[plan.eval_cx[vis.ep[is_eval]]]] = True
    sel[:, _CI["97164"]] = status.pr_day & ~is_eval & (rng.random(V) < p.p_reevaluation)
    estim = sel[:, _CI["97014"]].copy()
    sel[:, _CI["97014"]] = estim & ~mlike
    sel[:, _CI["G0283"]] = estim & mlike
    sel[:, _CI["97010"]] &= ~mlike
    no_timed = ~is_eval & ~sel[:, _TIMED_COLS].any(axis=1)
    nmr_first = np.isin(vis.cond, [0, 1, 2])
    sel[no_timed & nmr_first, _CI[S.SCORED_CODE]] = True
    sel[no_timed & ~nmr_first, _CI["97110"]] = True
    return sel


def _timed_minutes(run: _Run, vis: _Visits) -> np.ndarray:
    """Minutes of every timed code at every visit (performed or not)."""
    p, rng, V = run.p, run.rng, vis.n
    nt = len(_TIMED_COLS)
    band_p = np.tile(np.asarray(p.minutes_other_timed, float), (nt, 1))
    band = np.empty((V, nt), dtype=np.int64)
    u = rng.random((V, nt))
    for j, col in enumerate(_TIMED_COLS):
        if _CODES[col] == S.SCORED_CODE:
            pn = np.asarray(p.minutes_97112_neuro, float)
            po = np.asarray(p.minutes_97112_other, float)
            cdf_n, cdf_o = np.cumsum(pn / pn.sum()), np.cumsum(po / po.sum())
            neuro = vis.cond == 0
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
    return lo + (rng.random((V, nt)) * (hi - lo + 1)).astype(np.int64)


def _units(run: _Run, vis: _Visits, minutes: np.ndarray, sel_t: np.ndarray):
    """Units billed: CMS total time (manual's allocation) or per-code midpoint.

    The billing system sometimes applies the other rule than the payer's, and
    providers who pad units add one to the visit's main timed code.
    """
    p, world, rng = run.p, run.world, run.rng
    V, nt = vis.n, len(_TIMED_COLS)
    total_min = minutes.sum(axis=1)
    whole = minutes // 15
    rem = np.where(sel_t, minutes % 15, -1)
    total_units = np.where(total_min >= 8, (total_min + 7) // 15, 0)
    extra = total_units - whole.sum(axis=1)
    order = np.argsort(-rem, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(nt)[None, :].repeat(V, 0), axis=1)
    cms_units = whole + ((rank < extra[:, None]) & sel_t & (rem > 0))
    pc_units = np.where(minutes >= 8, (minutes + 7) // 15, 0)
    per_code = world.per_code_rule[vis.payer]
    correct_units = np.where(per_code[:, None], pc_units, cms_units)
    wrong_rule = rng.random(V) > p.p_time_rule_correct
    billed = np.where((per_code ^ wrong_rule)[:, None], pc_units, cms_units)
    pad = rng.random(V) < world.prov_overbill[vis.prov]
    j112 = int(np.flatnonzero(_TIMED_COLS == _CI[S.SCORED_CODE])[0])
    target = np.where(sel_t[:, j112], j112, np.argmax(minutes, axis=1))
    billed[np.flatnonzero(pad), target[pad]] += 1
    billed = np.where(sel_t, billed, 0)
    over_visit = np.where(per_code, False, billed.sum(1) > correct_units.sum(1))
    over_line_t = (billed > correct_units) & (per_code[:, None] | over_visit[:, None])
    return billed, over_line_t


# ---------------------------------------------------------------- lines
@dataclasses.dataclass(frozen=True)
class _LineItems:
    """One entry per claim line of every visit, by visit then code column."""

    mask: np.ndarray  # (visit, code) the visit has a line of the code
    has_line: np.ndarray  # per visit: at least one line
    vi: np.ndarray  # visit of the line
    ci: np.ndarray  # code column of the line (index into _CODES)
    line_no: np.ndarray  # 1-based line number on the claim
    units: np.ndarray
    timed: np.ndarray
    minutes: np.ndarray  # -1 for untimed codes
    over: np.ndarray  # more units than the time rule allows
    is_112: np.ndarray
    payer: np.ndarray
    cls: np.ndarray
    dos: np.ndarray

    @property
    def n(self) -> int:
        return len(self.vi)


def _line_items(vis: _Visits, codes: _Codes) -> _LineItems:
    """One claim line per code performed with units, in code-column order."""
    V, C, nt = vis.n, len(_CODES), len(_TIMED_COLS)
    units_full = np.zeros((V, C), dtype=np.int64)
    units_full[:, _TIMED_COLS] = codes.billed
    units_full[:, ~_TIMED] = 1
    line_mask = codes.sel & (units_full > 0)
    vi, ci = np.nonzero(line_mask)
    L = len(vi)
    timed_line = _TIMED[ci]
    tcol = np.full(C, -1)
    tcol[_TIMED_COLS] = np.arange(nt)
    tj = np.maximum(tcol[ci], 0)
    return _LineItems(
        mask=line_mask,
        has_line=line_mask.any(axis=1),
        vi=vi,
        ci=ci,
        line_no=np.arange(L) - _group_first(vi) + 1,
        units=units_full[vi, ci],
        timed=timed_line,
        minutes=np.where(timed_line, codes.minutes[vi, tj], -1),
        over=np.where(timed_line, codes.over_line[vi, tj], False),
        is_112=ci == _CI[S.SCORED_CODE],
        payer=vis.payer[vi],
        cls=vis.cls[vi],
        dos=vis.dos[vi],
    )


# ---------------------------------------------------------------- money basis
@dataclasses.dataclass(frozen=True)
class _Money:
    """Medicare fee basis of each line and therapy spend of each visit."""

    rate: np.ndarray  # per code: Medicare payment per unit in 2025 dollars
    cf_year: np.ndarray  # per visit: conversion factor relative to 2025
    cq_due: np.ndarray  # per line: CQ applies (PTA, payer, date)
    mppr_payer: np.ndarray  # per line: the payer applies the MPPR
    unit_factor: np.ndarray  # per line: units after the MPPR
    cq_factor: np.ndarray  # per line: CQ payment factor or 1
    pyear_key: np.ndarray  # per visit: patient-year group key
    pfirst: np.ndarray  # per visit: first visit of its patient-year
    ytd: np.ndarray  # per visit: therapy allowed this year before this day
    kx_thr: np.ndarray  # per visit: KX threshold of the year
    tmr_thr: np.ndarray  # per visit: targeted medical review threshold
    kx_due: np.ndarray  # per visit: the payer wants KX; ytd + this visit reach it


def _money_basis(run: _Run, pats: _Patients, vis: _Visits, items: _LineItems) -> _Money:
    """Medicare fee basis (MPPR, CQ, conversion factor) and year-to-date spend."""
    p, world, facts = run.p, run.world, run.facts
    vi, units, timed_line, l_dos = items.vi, items.units, items.timed, items.dos
    rate = np.array([_mapping(p.medicare_rates)[c] for c in _CODES])
    cf = _mapping(p.conversion_factor)
    cf_year = _year_lookup(cf, vis.year) / cf[max(k for k in cf if k <= 2025)]
    cq_from = np.datetime64(pd.Timestamp(facts["cq_required_from"]).date(), "D")
    cq_pay = float(facts["cq_payment_factor"])
    pta_line = world.prov_is_pta[vis.prov[vi]]
    cq_due = pta_line & world.cq_applies[items.payer] & (l_dos >= cq_from)
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
        items.cls,
        [
            S.PAYER_CLASSES.index("medicare"),
            S.PAYER_CLASSES.index("medicare_advantage"),
        ],
    )
    unit_factor = np.where(mppr_payer, full_units + (1 - mppr) * reduced, units)
    cq_factor = np.where(cq_due & (l_dos >= np.datetime64("2022-01-01")), cq_pay, 1.0)
    medicare_fee = rate[items.ci] * cf_year[vi] * unit_factor * cq_factor
    # YTD Medicare therapy allowed incurred before this date of service
    visit_fee = np.bincount(vi, weights=medicare_fee, minlength=vis.n)
    pyear_key = vis.pat.astype(np.int64) * run.n_years + vis.year_i
    pfirst = _group_first(pyear_key)
    ytd_practice = _group_cumsum(visit_fee, pfirst, inclusive=False)
    ytd = np.round(ytd_practice + pats.outside[vis.pat, vis.year_i], 2)
    kx_thr = _year_lookup(run.kx_table["kx_threshold"].to_dict(), vis.year)
    tmr_thr = _year_lookup(run.kx_table["tmr_threshold"].to_dict(), vis.year)
    # KX belongs on the lines at and above the threshold: the visit whose
    # allowed amount crosses it needs KX too (Errata R08)
    kx_due = world.kx_applies[vis.payer] & (ytd + visit_fee >= kx_thr)
    return _Money(
        rate,
        cf_year,
        cq_due,
        mppr_payer,
        unit_factor,
        cq_factor,
        pyear_key,
        pfirst,
        ytd,
        kx_thr,
        tmr_thr,
        kx_due,
    )


# ---------------------------------------------------------------- authorization
@dataclasses.dataclass(frozen=True)
class _Authorization:
    """Per visit: prior authorization on the claim, and payer policy changes."""

    has_auth: np.ndarray  # an authorization number is on the claim
    used: np.ndarray  # authorized visits used before this one
    approved: np.ndarray  # visits the authorization approves
    absent: np.ndarray  # required by the payer's policy and missing
    exceeded: np.ndarray  # more visits than approved
    doc_mult: np.ndarray  # extra multiplier of a "documentation" change
    chg_strength: np.ndarray  # log-odds of a missing auth under a change
    chg_missing: np.ndarray  # required by a policy change and missing


def _policy_changes(run: _Run, vis: _Visits, draws: _AuthDraws):
    """Who needs and has authorization under each payer's policy change."""
    p, world, dos, V = run.p, run.world, vis.dos, vis.n
    needs_chg = np.zeros(V, bool)
    has_chg = np.zeros(V, bool)
    doc_mult = np.zeros(V)
    chg_auth_strength = np.zeros(V)
    for pc in p.policy_changes:
        if pc.payer_id not in world.payer_id:
            continue
        pidx = world.payer_id.index(pc.payer_id)
        eff = np.datetime64(pd.Timestamp(pc.effective_date).date(), "D")
        after = (vis.payer == pidx) & (dos >= eff)
        if pc.kind == "auth_required":
            need = after & ~vis.is_eval & ~world.auth_required[pidx]
            ramp = np.clip((dos - eff).astype(int) / max(pc.adoption_days, 1), 0, 1)
            needs_chg |= need
            has_chg |= need & (draws.u[vis.ep] < p.p_auth_obtained * ramp)
            chg_auth_strength = np.where(need, pc.strength, chg_auth_strength)
        elif pc.kind == "documentation":
            doc_mult = np.where(after, doc_mult + pc.strength, doc_mult)
        else:
            raise ValueError(
                f"PolicyChange.kind must be 'auth_required' or 'documentation'; "
                f"got {pc.kind!r}."
            )
    return needs_chg, has_chg, doc_mult, chg_auth_strength


def _authorization(
    run: _Run, eps: _Episodes, vis: _Visits, draws: _AuthDraws
) -> _Authorization:
    """Prior authorization on each visit's claim, absent or exceeded."""
    p, world, vis_ep = run.p, run.world, vis.ep
    needs_ref = world.auth_required[vis.payer] & ~vis.is_eval
    has_ref = draws.u[vis_ep] < p.p_auth_obtained
    needs_chg, has_chg, doc_mult, chg_auth_strength = _policy_changes(run, vis, draws)
    has_auth = (needs_ref & has_ref) | (needs_chg & has_chg)
    auth_used = _group_cumsum(
        has_auth.astype(np.int64), _group_first(vis_ep), inclusive=False
    )
    n_auth_ep = np.bincount(vis_ep, weights=has_auth, minlength=eps.n).astype(np.int64)
    ep_approved = np.where(
        draws.covers, n_auth_ep + draws.extra, np.maximum(draws.waiver, 1)
    )
    approved = ep_approved[vis_ep]
    return _Authorization(
        has_auth=has_auth,
        used=auth_used,
        approved=approved,
        absent=needs_ref & ~has_auth,
        exceeded=has_auth & (auth_used >= approved),
        doc_mult=doc_mult,
        chg_strength=chg_auth_strength,
        chg_missing=needs_chg & ~has_auth,
    )
