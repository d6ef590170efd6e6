"""Modifier families: GP plan-of-care modifier, CQ assistant services, KX/TMR."""

from __future__ import annotations

import numpy as np

from ptdenial import schema as S
from ptdenial.reference import Reference
from ptdenial.rules._arrays import (
    _as_str,
    _bool_values,
    _date_str,
    _day_number,
    _float,
    _int_str,
    _known,
    _memo,
    _money_str,
    _param,
    _param_since,
    _Tri,
)
from ptdenial.rules._context import _Ctx
from ptdenial.rules._family import FamilyResult, _Eval


def therapy_modifier_rules(ctx: _Ctx) -> FamilyResult:
    """GP_MISSING: an always-therapy line without GP/GO/GN where the payer wants it."""
    gp = _Eval(
        _Tri(ctx.pol["requires_gp"] & ctx.always)
        & _known(~ctx.mod_therapy, ctx.mods_known),
        lambda p: (
            None,
            {"payer_class": ctx.text(S.PAYER_CLASS, p), "code": ctx.code_str(p)},
        ),
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


def assistant_rules(ctx: _Ctx) -> FamilyResult:
    """CQ_RULE (PTA service without CQ) and CQ_PAYMENT (the reduced payment)."""
    ref, pol = ctx.ref, ctx.pol
    cq_from = _day_number(_param(ref, "cq_required_from", "2020-01-01"))
    is_pta, cred_known = _is_pta(ctx)
    cq_rule = _Eval(
        _Tri(pol["cq_applies"] & ctx.always & (ctx.dos >= cq_from))
        & _known(is_pta, cred_known)
        & _known(~ctx.mod_cq, ctx.mods_known),
        lambda p: (None, {"payer_class": ctx.text(S.PAYER_CLASS, p)}),
    )
    cq_factor = float(_param(ref, "cq_payment_factor", 0.85))
    cq_since = _param_since(ref, "cq_payment_factor")
    cq_pay_applies = pol["cq_applies"] & (np.isnan(cq_since) | (ctx.dos >= cq_since))
    cq_payment = _Eval(
        _Tri(cq_pay_applies) & _known(ctx.mod_cq, ctx.mods_known),
        lambda p: (
            None,
            {
                "factor": _as_str(np.full(len(p), f"{cq_factor:.0%}", dtype=object)),
                "since": _date_str(np.full(len(p), cq_since)),
            },
        ),
    )
    factor = np.where(
        ctx.has_mods, np.where(cq_pay_applies & ctx.mod_cq, cq_factor, 1.0), np.nan
    )
    return (
        {"CQ_RULE": cq_rule, "CQ_PAYMENT": cq_payment},
        {"cq_payment_factor": factor},
    )


def therapy_threshold_rules(ctx: _Ctx) -> FamilyResult:
    """KX_MISSING and TMR: year-to-date therapy allowed over the thresholds."""
    n = ctx.n
    kx = _memo(ctx.ref, "kx", lambda: _kx_table(ctx.ref))
    year = ctx.year
    kx_years = kx["year"]
    if n and len(kx_years):
        lo_year = int(min(kx_years.min(), year.min()))
        table = np.full(int(max(kx_years.max(), year.max())) - lo_year + 1, -1)
        table[kx_years - lo_year] = np.arange(len(kx_years))
        kx_pos = table[year - lo_year]
    else:
        kx_pos = np.full(n, -1)
    in_table = kx_pos >= 0
    kx_thr = np.where(in_table, kx["kx"][kx_pos], np.nan)
    tmr_thr = np.where(in_table, kx["tmr"][kx_pos], np.nan)
    kx_ver = np.where(in_table, kx["verified"][kx_pos], False)
    ytd = ctx.floats(S.YTD_THERAPY_ALLOWED)
    kx_scope = ctx.pol["kx_applies"] & ctx.always
    over_kx = ytd - kx_thr
    over_tmr = ytd - tmr_thr

    def kx_text(thr):
        return lambda p: (
            None,
            {
                "ytd": _money_str(ytd[p]),
                "year": _int_str(year[p]),
                "threshold": _money_str(thr[p]),
                "verified": _as_str(np.where(kx_ver[p], "true", "false")),
            },
        )

    ev = {
        "KX_MISSING": _Eval(
            _Tri(kx_scope)
            & _known(over_kx > 0, ~np.isnan(over_kx))
            & _known(~ctx.mod_kx, ctx.mods_known),
            kx_text(kx_thr),
            reason="DOS year outside kx_thresholds.csv"
            if (kx_scope & ~in_table).any()
            else "",
        ),
        "TMR": _Eval(
            _Tri(kx_scope) & _known(over_tmr > 0, ~np.isnan(over_tmr)),
            kx_text(tmr_thr),
        ),
    }
    gaps = {
        "ytd_over_kx_threshold": np.where(kx_scope, over_kx, np.nan),
        "ytd_over_tmr_threshold": np.where(kx_scope, over_tmr, np.nan),
    }
    return ev, gaps


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
