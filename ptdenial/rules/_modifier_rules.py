"""Modifier families: GP plan-of-care modifier, CQ assistant services, KX/TMR."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.reference import Reference
from ptdenial.rules._arrays import (
    _as_str,
    _bool_values,
    _date_str,
    _day_number,
    _Field,
    _float,
    _int_str,
    _known,
    _memo,
    _money_str,
    _param,
    _param_since,
    _Tri,
    _verified_str,
)
from ptdenial.rules._catalogue import EXPECTED_ALLOWED, PTA_MINUTES, YTD_OT_ALLOWED
from ptdenial.rules._context import _Ctx
from ptdenial.rules._family import FamilyResult, _Eval


def therapy_modifier_rules(ctx: _Ctx) -> FamilyResult:
    """GP_MISSING: a therapy line without GP/GO/GN where the payer wants it."""
    gp = _Eval(
        _Tri(ctx.pol["requires_gp"] & ctx.always)
        & _known(~ctx.mod_therapy, ctx.mods_known),
        lambda p: (
            np.where(ctx.ot[p], "ot", ""),
            {
                "payer_id": ctx.text(S.PAYER_ID, p),
                "code": ctx.code_str(p),
                "policy": ctx.policy_note("requires_gp", "GP/GO/GN required", p),
            },
        ),
        unverified=~ctx.pol_ver["requires_gp"],
    )
    return {"GP_MISSING": gp}, {}


def _is_pta(ctx: _Ctx) -> tuple[np.ndarray, np.ndarray]:
    """Whether the rendering provider is a PTA, and whether that is known."""
    n = ctx.n
    if not ctx.col(S.PROVIDER_CREDENTIAL):
        return np.zeros(n, bool), np.zeros(n, bool)
    c_codes, c_u = ctx.codes(S.PROVIDER_CREDENTIAL)
    known_u = np.array([isinstance(u, str) for u in c_u], dtype=bool)
    pta_u = np.array([isinstance(u, str) and u.upper() == "PTA" for u in c_u])
    cred_known = known_u[c_codes] if len(c_u) else np.zeros(n, bool)
    is_pta = pta_u[c_codes] if len(c_u) else np.zeros(n, bool)
    return is_pta, cred_known


class _CqNeed(NamedTuple):
    need: np.ndarray  # CQ is needed on the line
    known: np.ndarray  # ... and that is known
    measured: np.ndarray  # decided from PTA minutes (else the credential proxy)
    pta: np.ndarray  # PTA minutes
    minutes: np.ndarray  # the line's minutes
    pt_units: np.ndarray  # units the PT's own minutes support (timed codes)


def _cq_need(ctx: _Ctx, share: float) -> _CqNeed:
    """Whether a line needs CQ: from PTA minutes when known, else the proxy.

    With ``pta_minutes`` (minutes the PTA furnished without the PT): an
    untimed service needs CQ when the PTA furnished more than ``share`` (10%,
    the de minimis standard) of it; a timed service when, in addition, the
    PT's own minutes do not support every billed unit under the 8-minute
    rule (the 2022 revision lets the PT bill a unit the PT furnished on their
    own past its midpoint). Without PTA minutes, a PTA as rendering provider
    stands for "PTA furnished more than 10%"; Part B lines billed under the
    supervising PT show no PTA at all.
    """
    is_pta, cred_known = _is_pta(ctx)
    pta = ctx.floats(PTA_MINUTES)
    m = ctx.floats(S.MINUTES)
    has = ~np.isnan(pta)
    pt_min = np.clip(m - pta, 0, None)
    pt_units = np.where(pt_min >= 8, np.floor((pt_min + 7) / 15), 0.0)
    over_share = np.where(np.isnan(m), pta > 0, pta > share * m)
    need_timed = over_share & (np.isnan(m) | (pt_units < ctx.units))
    need = np.where(has, np.where(ctx.timed, need_timed, over_share), is_pta)
    known = has | cred_known
    return _CqNeed(need & known, known, has, pta, m, pt_units)


def assistant_rules(ctx: _Ctx) -> FamilyResult:
    """CQ_RULE (PTA service without CQ) and CQ_PAYMENT (the reduced payment)."""
    ref, pol = ctx.ref, ctx.pol
    cq_from = _day_number(_param(ref, "cq_required_from", "2020-01-01"))
    share = float(_param(ref, "cq_de_minimis_share", 0.10))
    cq = _cq_need(ctx, share)

    def cq_text(p):
        variant = np.where(cq.measured[p], "measured", "")
        return variant, {
            "payer_id": ctx.text(S.PAYER_ID, p),
            "code": ctx.code_str(p),
            "pta": _int_str(cq.pta[p]),
            "minutes": _int_str(cq.minutes[p]),
            "share": _as_str(np.full(len(p), f"{share:.0%}", dtype=object)),
            "pt_units": _int_str(cq.pt_units[p]),
            "units": _int_str(ctx.units[p]),
            "policy": ctx.policy_note("cq_applies", "CQ required", p),
        }

    cq_rule = _Eval(
        _Tri(pol["cq_applies"] & ctx.always & (ctx.dos >= cq_from))
        & _known(cq.need, cq.known)
        & _known(~ctx.mod_cq, ctx.mods_known),
        cq_text,
    )
    cq_since = _param_since(ref, "cq_payment_factor")
    factor_u = np.where(
        np.isnan(pol["pta_payment_factor"]), 1.0, pol["pta_payment_factor"]
    )
    cq_pay_applies = (
        pol["cq_applies"]
        & ~np.isnan(pol["pta_payment_factor"])
        & (np.isnan(cq_since) | (ctx.dos >= cq_since))
    )
    cq_payment = _Eval(
        _Tri(cq_pay_applies) & _known(ctx.mod_cq, ctx.mods_known),
        lambda p: (
            None,
            {
                "factor": _as_str(
                    np.array([f"{f:.0%}" for f in factor_u[p]], dtype=object)
                ),
                "since": _date_str(np.full(len(p), cq_since)),
            },
        ),
    )
    factor = np.where(
        ctx.has_mods, np.where(cq_pay_applies & ctx.mod_cq, factor_u, 1.0), np.nan
    )
    return (
        {"CQ_RULE": cq_rule, "CQ_PAYMENT": cq_payment},
        {"cq_payment_factor": factor},
    )


def _kx_table(ref: Reference) -> dict:
    kx = ref.kx_thresholds
    return {
        "year": _float(kx["year"]).astype(np.int64),
        "kx": _float(kx["kx_threshold"]),
        "tmr": (
            _float(kx["tmr_threshold"])
            if "tmr_threshold" in kx.columns
            else np.full(len(kx), np.nan)
        ),
        "verified": _bool_values(kx, "verified", False),
    }


def _year_lookup(years: np.ndarray, table_years: np.ndarray) -> np.ndarray:
    """Row of ``table_years`` for each year (-1 when absent)."""
    n = len(years)
    if not (n and len(table_years)):
        return np.full(n, -1)
    lo = int(min(table_years.min(), years.min()))
    table = np.full(int(max(table_years.max(), years.max())) - lo + 1, -1)
    table[table_years - lo] = np.arange(len(table_years))
    return table[years - lo]


def _fee_table(ref: Reference) -> dict:
    fee = ref.fee_schedule
    codes = fee["cpt_code"].astype(str).str.strip().str.upper()
    years = _float(fee["year"]).astype(np.int64)
    red = (
        _float(fee["mppr_reduction_per_unit"])
        if "mppr_reduction_per_unit" in fee.columns
        else np.zeros(len(fee))
    )
    return {
        "key": pd.Index(codes + "|" + pd.Series(years).astype(str).to_numpy()),
        "fee": _float(fee["allowed_per_unit"]),
        "red": np.nan_to_num(red),
        "verified": _bool_values(fee, "verified", False),
    }


def _fee_rows(ctx: _Ctx, fee: dict, sel: np.ndarray) -> np.ndarray:
    """Row of the fee table for the (code, year) of the lines ``sel`` (-1: none)."""
    year = ctx.year[sel]
    ok = year >= 0
    if not (ok.any() and len(fee["key"])):
        return np.full(len(sel), -1)
    lo = int(year[ok].min())
    y_idx = np.where(ok, year - lo, 0)
    years = np.arange(lo, int(year.max()) + 1)
    table = np.full((len(ctx.code_u), len(years)), -1, dtype=np.int64)
    for j, y in enumerate(years):
        table[:, j] = fee["key"].get_indexer([f"{c}|{y}" for c in ctx.code_u])
    rows = table[ctx.code_ids[sel], y_idx]
    # a timed code without its own row: the TIMED row of the year, if any
    proxy = fee["key"].get_indexer([f"TIMED|{y}" for y in years])[y_idx]
    rows = np.where((rows < 0) & ctx.timed[sel], proxy, rows)
    return np.where(ok, rows, -1)


class _Visit(NamedTuple):
    lo: np.ndarray  # per line: its visit's expected allowed (this bucket)
    hi: np.ndarray  # per line: most the visit's bucket can be allowed
    estimated: np.ndarray  # per line: some of lo comes from an unverified estimate
    basis: np.ndarray  # per line: where the expected amount comes from (_BASIS)


def _visit_allowed(ctx: _Ctx, scope: np.ndarray, cq_factor: np.ndarray) -> _Visit:
    """This visit's expected allowed amount per KX bucket, and an upper bound.

    Per line: the optional ``expected_allowed`` column; else the fee table
    (units x fee, less the MPPR cut on all units but one, times the CQ
    factor; a timed code without its own row takes the ``TIMED`` row),
    never above the charge; else unknown: 0 expected, the charge at most
    (Medicare allows the lesser of charge and fee schedule). Summed over
    the patient's lines of the date of service in the same bucket
    (PT+SLP, or OT).
    """
    n = ctx.n
    lo_l, hi_l = np.zeros(n), np.zeros(n)
    est_l = np.zeros(n, bool)
    basis_l = np.zeros(n, dtype=np.int64)
    sel = np.flatnonzero(scope)
    if not len(sel):
        return _Visit(lo_l, hi_l, est_l, basis_l)
    fee = _memo(ctx.ref, "fee", lambda: _fee_table(ctx.ref))
    pos = _fee_rows(ctx, fee, sel)
    has_fee = pos >= 0
    at = np.maximum(pos, 0)
    f_unit = np.where(has_fee, fee["fee"][at], np.nan) if len(fee["fee"]) else pos
    red = np.where(has_fee, fee["red"][at], 0.0) if len(fee["fee"]) else 0.0 * pos
    charge = ctx.floats(S.CHARGE_AMOUNT)[sel]
    charge = np.where(np.isnan(charge), np.inf, charge)
    f = np.where(np.isnan(cq_factor[sel]), 1.0, cq_factor[sel])
    units = ctx.units[sel]
    lo = np.where(has_fee, units * (f_unit - red) * f, 0.0)
    hi = np.where(has_fee, np.minimum(charge, units * f_unit * f), charge)
    top_red = np.where(has_fee, red * f, 0.0)
    explicit = ctx.floats(EXPECTED_ALLOWED)[sel]
    given = ~np.isnan(explicit)
    lo = np.where(given, explicit, lo)
    hi = np.where(given, explicit, hi)
    top_red = np.where(given, 0.0, top_red)
    fee_ver = fee["verified"][at] if len(fee["fee"]) else np.zeros(len(sel), bool)
    unverified_fee = has_fee & ~given & ~fee_ver
    # one group per patient, date of service and bucket (ids need not be dense)
    group = ctx.day[sel] * 2 + ctx.ot[sel]
    ng = 2 * ctx.n_days
    lo_g = np.bincount(group, weights=lo, minlength=ng)
    hi_g = np.bincount(group, weights=hi, minlength=ng)
    # the largest MPPR cut of each group (few distinct cuts: one pass each,
    # faster than np.maximum.at)
    red_g = np.zeros(ng)
    for cut in np.unique(top_red[top_red > 0]):
        has = np.bincount(group, weights=top_red == cut, minlength=ng) > 0
        red_g = np.where(has, np.maximum(red_g, cut), red_g)
    est_g = np.bincount(group, weights=unverified_fee, minlength=ng) > 0
    gv_g = np.bincount(group, weights=given, minlength=ng) > 0
    fee_g = np.bincount(group, weights=has_fee & ~given, minlength=ng) > 0
    basis_g = np.where(gv_g & ~fee_g, 2, np.where(fee_g & est_g, 1, 0))
    lo_l[sel] = (lo_g + red_g)[group]
    hi_l[sel] = hi_g[group]
    est_l[sel] = est_g[group]
    basis_l[sel] = basis_g[group]
    return _Visit(lo_l, hi_l, est_l, basis_l)


#: Where a visit's expected allowed amount comes from (``_Visit.basis``).
_BASIS = np.array(
    ["fee_schedule.csv", "fee_schedule.csv, not verified", "expected_allowed column"],
    dtype=object,
)


def therapy_threshold_rules(ctx: _Ctx) -> FamilyResult:
    """KX_MISSING (at and above the KX threshold) and TMR (targeted review).

    KX belongs on the lines at and above the threshold, so the visit whose
    allowed amount crosses it needs KX too (Errata R08): a line needs KX when
    year-to-date + this visit's expected allowed amount reaches the threshold
    of its bucket (PT+SLP, or OT).
    """
    n = ctx.n
    kx = _memo(ctx.ref, "kx", lambda: _kx_table(ctx.ref))
    kx_pos = _year_lookup(ctx.year, kx["year"])
    in_table = kx_pos >= 0
    at = np.maximum(kx_pos, 0)
    kx_thr = np.where(in_table, kx["kx"][at], np.nan) if n else np.zeros(0)
    tmr_thr = np.where(in_table, kx["tmr"][at], np.nan) if n else np.zeros(0)
    kx_ver = np.where(in_table, kx["verified"][at], False) if n else np.zeros(0, bool)
    ytd = np.where(
        ctx.ot, ctx.floats(YTD_OT_ALLOWED), ctx.floats(S.YTD_THERAPY_ALLOWED)
    )
    kx_scope = ctx.pol["kx_applies"] & ctx.always
    cq_factor = np.where(ctx.mod_cq & ~np.isnan(ctx.pol["pta_payment_factor"]),
                         ctx.pol["pta_payment_factor"], 1.0)  # fmt: skip
    visit = _visit_allowed(ctx, kx_scope, cq_factor)
    over_kx = ytd - kx_thr
    reach = ytd + visit.lo - kx_thr
    below = ytd + visit.hi < kx_thr
    needs = _known(reach >= 0, ~np.isnan(reach) & ((reach >= 0) | below))
    crossing = (over_kx < 0) & (reach >= 0)
    # a crossing that holds with the estimate 25% lower does not rest on it
    margin = float(_param(ctx.ref, "fee_estimate_margin", 0.25))
    robust = ytd + visit.lo * (1 - margin) - kx_thr >= 0

    def kx_text(p):
        return np.where(crossing[p], "crossing", ""), {
            "ytd": _money_str(ytd[p]),
            "year": _int_str(ctx.year[p]),
            "threshold": _money_str(kx_thr[p]),
            "visit": _money_str(visit.lo[p]),
            "basis": _Field(visit.basis[p], "coded", _BASIS),
            "bucket": _as_str(np.where(ctx.ot[p], "OT", "PT+SLP")),
            "verified": _verified_str(kx_ver[p]),
        }

    def tmr_text(p):
        return None, {
            "ytd": _money_str(ytd[p]),
            "year": _int_str(ctx.year[p]),
            "threshold": _money_str(tmr_thr[p]),
        }

    reasons = []
    if (kx_scope & ~in_table).any():
        reasons.append("DOS year outside kx_thresholds.csv")
    if (kx_scope & ctx.ot & np.isnan(ytd)).any():
        reasons.append(f"OT lines need {YTD_OT_ALLOWED} (Medicare's OT bucket)")
    if (kx_scope & ~np.isnan(reach) & ~needs.k).any():
        reasons.append(
            "this visit's expected allowed amount is unknown (no fee_schedule.csv "
            f"row, no {EXPECTED_ALLOWED} column) and its charges would reach the "
            "threshold"
        )
    ev = {
        "KX_MISSING": _Eval(
            _Tri(kx_scope) & needs & _known(~ctx.mod_kx, ctx.mods_known),
            kx_text,
            reason="; ".join(reasons),
            unverified=~kx_ver | (crossing & visit.estimated & ~robust),
        ),
        "TMR": _Eval(
            _Tri(kx_scope) & _known(ytd - tmr_thr > 0, ~np.isnan(ytd - tmr_thr)),
            tmr_text,
        ),
    }
    gaps = {
        "ytd_over_kx_threshold": np.where(kx_scope, over_kx, np.nan),
        "ytd_over_tmr_threshold": np.where(kx_scope, ytd - tmr_thr, np.nan),
    }
    return ev, gaps
