"""Every rule of the catalogue as vectorized array logic."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.reference import Reference
from ptdenial.rules._arrays import (
    _as_str,
    _blank,
    _bool_values,
    _combine,
    _date_str,
    _day_number,
    _effective_range,
    _first_positions,
    _float,
    _in_range,
    _int_str,
    _known,
    _list_flags,
    _memo,
    _money_str,
    _param,
    _param_since,
    _sort_order,
    _Tri,
    _units_str,
)
from ptdenial.rules._catalogue import (
    GAP_COLUMNS,
    VISITS_YTD,
    Rule,
)
from ptdenial.rules._context import _Ctx, _therapy_table, _units


# --- rule evaluation --------------------------------------------------------
@dataclasses.dataclass
class _Eval:
    tri: _Tri
    # builds hit text for hit positions: returns (variant array or None, fields)
    text: Callable[[np.ndarray], tuple[np.ndarray | None, dict]] | None = None
    reason: str = ""  # why some lines were not evaluated


def _missing_reason(ctx: _Ctx, rule: Rule) -> str:
    missing = []
    for alts in rule.needs:
        if not any(ctx.col(a) for a in alts):
            missing.append(" or ".join(alts))
    if missing:
        return "input lacks " + ", ".join(missing)
    return ""


def _evaluate(ctx: _Ctx) -> tuple[dict[str, _Eval], dict[str, np.ndarray]]:
    n = ctx.n
    ref = ctx.ref
    pol = ctx.pol
    ev: dict[str, _Eval] = {}
    gaps = {name: np.full(n, np.nan) for name in GAP_COLUMNS}
    true = np.ones(n, bool)
    nan = np.full(n, np.nan)

    # ---- 8-minute rule family -----------------------------------------------
    u = _units(ctx)
    cms_t = ctx.cms & ctx.timed
    mid_t = ctx.midpoint & ctx.timed
    supported_line = np.where(cms_t, u.alloc, np.where(mid_t, u.midpoint_units, np.nan))
    gaps["units_supported"] = supported_line
    over_cms = u.code_units - np.clip(u.code_units, u.lo, u.hi)
    gaps["units_over_supported"] = np.where(
        cms_t, over_cms, np.where(mid_t, u.code_units - u.midpoint_units, np.nan)
    )
    mid_visit_supported = np.bincount(
        ctx.visit,
        weights=np.where(
            mid_t & (ctx.vc_first[ctx.vc] == np.arange(n)),
            np.nan_to_num(u.midpoint_units),
            0.0,
        ),
        minlength=ctx.n_visits,
    )[ctx.visit]
    mid_visit_known = (
        np.bincount(
            ctx.visit,
            weights=mid_t & np.isnan(u.midpoint_units),
            minlength=ctx.n_visits,
        )
        == 0
    )[ctx.visit]
    gaps["visit_units_over_supported"] = np.where(
        cms_t,
        u.billed_total - u.supported_total,
        np.where(mid_t & mid_visit_known, u.billed_total - mid_visit_supported, np.nan),
    )

    total_off = u.billed_total != u.supported_total
    line_off = np.where(u.alloc_known, u.code_units != u.alloc, True)
    mid_known = ~np.isnan(u.midpoint_units)
    mid_off = mid_known & (u.code_minutes >= 8) & (u.code_units != u.midpoint_units)
    cms_fire = total_off & line_off & (u.supported_total >= 1)
    ev["UNITS_TOTAL"] = _Eval(
        (_Tri(cms_t) & _known(cms_fire, u.minutes_known))
        | (_Tri(mid_t) & _known(mid_off, mid_known)),
        lambda p: (
            np.where(
                mid_t[p],
                "midpoint",
                np.where(
                    ~u.alloc_known[p], "total", np.where(u.alloc[p] == 0, "drop", "")
                ),
            ),
            {
                "billed": _int_str(u.billed_total[p]),
                "minutes": _int_str(u.total_minutes[p]),
                "supported": _units_str(u.supported_total[p]),
                "units": _units_str(
                    np.where(mid_t[p], u.midpoint_units[p], u.alloc[p])
                ),
                "code": ctx.code_str(p),
                "code_billed": _units_str(u.code_units[p]),
                "code_minutes": _int_str(u.code_minutes[p]),
            },
        ),
    )
    ev["UNITS_ALLOC"] = _Eval(
        _Tri(cms_t)
        & _known(
            ~total_off & ((u.code_units < u.lo) | (u.code_units > u.hi)),
            u.alloc_known | (u.minutes_known & total_off),
        ),
        lambda p: (
            None,
            {
                "billed": _units_str(u.code_units[p]),
                "units": _units_str(np.clip(u.code_units[p], u.lo[p], u.hi[p])),
                "code_minutes": _int_str(u.code_minutes[p]),
                "minutes": _int_str(u.total_minutes[p]),
                "supported": _units_str(u.supported_total[p]),
                "code": ctx.code_str(p),
            },
        ),
        reason="per-code minutes missing, or they do not add up to "
        "visit_timed_minutes (timed minutes of codes without a billed line)",
    )
    ev["MIN_8"] = _Eval(
        _Tri(cms_t) & _known(u.total_minutes < 8, u.minutes_known),
        lambda p: (
            None,
            {"code": ctx.code_str(p), "minutes": _int_str(u.total_minutes[p])},
        ),
    )
    ev["PER_CODE_MIDPOINT"] = _Eval(
        _Tri(mid_t) & _known(u.code_minutes < 8, mid_known),
        lambda p: (
            None,
            {
                "code": ctx.code_str(p),
                "billed": _units_str(u.code_units[p]),
                "code_minutes": _int_str(u.code_minutes[p]),
            },
        ),
    )

    def payer_class_str(p):
        return ctx.text(S.PAYER_CLASS, p)

    def payer_id_str(p):
        return ctx.text(S.PAYER_ID, p)

    # ---- modifiers ----------------------------------------------------------
    mods_known = np.full(n, ctx.has_mods)
    ev["GP_MISSING"] = _Eval(
        _Tri(pol["requires_gp"] & ctx.always) & _known(~ctx.mod_therapy, mods_known),
        lambda p: (None, {"payer_class": payer_class_str(p), "code": ctx.code_str(p)}),
    )
    cq_from = _day_number(_param(ref, "cq_required_from", "2020-01-01"))
    if ctx.col(S.PROVIDER_CREDENTIAL):
        c_codes, c_u = ctx.codes(S.PROVIDER_CREDENTIAL)
        known_u = np.array([isinstance(u, str) for u in c_u], dtype=bool)
        pta_u = np.array([isinstance(u, str) and u.upper() == "PTA" for u in c_u])
        cred_known = known_u[c_codes] if len(c_u) else np.zeros(n, bool)
        is_pta = pta_u[c_codes] if len(c_u) else np.zeros(n, bool)
    else:
        cred_known = np.zeros(n, bool)
        is_pta = np.zeros(n, bool)
    ev["CQ_RULE"] = _Eval(
        _Tri(pol["cq_applies"] & ctx.always & (ctx.dos >= cq_from))
        & _known(is_pta, cred_known)
        & _known(~ctx.mod_cq, mods_known),
        lambda p: (None, {"payer_class": payer_class_str(p)}),
    )
    cq_factor = float(_param(ref, "cq_payment_factor", 0.85))
    cq_since = _param_since(ref, "cq_payment_factor")
    cq_pay_applies = pol["cq_applies"] & (np.isnan(cq_since) | (ctx.dos >= cq_since))
    ev["CQ_PAYMENT"] = _Eval(
        _Tri(cq_pay_applies) & _known(ctx.mod_cq, mods_known),
        lambda p: (
            None,
            {
                "factor": _as_str(np.full(len(p), f"{cq_factor:.0%}", dtype=object)),
                "since": _date_str(np.full(len(p), cq_since)),
            },
        ),
    )
    gaps["cq_payment_factor"] = np.where(
        ctx.has_mods, np.where(cq_pay_applies & ctx.mod_cq, cq_factor, 1.0), np.nan
    )

    # ---- KX / TMR -----------------------------------------------------------
    kx = _memo(ref, "kx", lambda: _kx_table(ref))
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
    kx_scope = pol["kx_applies"] & ctx.always
    over_kx = ytd - kx_thr
    over_tmr = ytd - tmr_thr
    gaps["ytd_over_kx_threshold"] = np.where(kx_scope, over_kx, np.nan)
    gaps["ytd_over_tmr_threshold"] = np.where(kx_scope, over_tmr, np.nan)

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

    ev["KX_MISSING"] = _Eval(
        _Tri(kx_scope)
        & _known(over_kx > 0, ~np.isnan(over_kx))
        & _known(~ctx.mod_kx, mods_known),
        kx_text(kx_thr),
        reason="DOS year outside kx_thresholds.csv"
        if (kx_scope & ~in_table).any()
        else "",
    )
    ev["TMR"] = _Eval(
        _Tri(kx_scope) & _known(over_tmr > 0, ~np.isnan(over_tmr)),
        kx_text(tmr_thr),
    )

    # ---- plan of care -------------------------------------------------------
    poc = pol["poc_rules_apply"] & ctx.always
    start = ctx.dates(S.EPISODE_START_DATE)
    cert = ctx.dates(S.POC_CERTIFIED_DATE)
    cert_days = int(_param(ref, "initial_cert_days", 30))
    due = start + cert_days
    has_cert_col = ctx.col(S.POC_CERTIFIED_DATE)
    exception_from = _day_number(
        _param(ref, "referral_cert_exception_from", "2025-01-01")
    )
    not_timely = np.isnan(cert) | (cert > due)
    fire30 = (ctx.dos > due) & not_timely
    known30 = ~np.isnan(start) & has_cert_col
    ev["CERT_30D"] = _Eval(
        _Tri(poc) & _known(fire30, known30),
        lambda p: (
            np.where(
                ~np.isnan(cert[p]),
                "late",
                np.where(ctx.dos[p] >= exception_from, "missing_2025", ""),
            ),
            {
                "due": _date_str(due[p]),
                "start": _date_str(start[p]),
                "limit": _int_str(np.full(len(p), cert_days)),
                "days": _int_str(ctx.dos[p] - due[p]),
                "cert": _date_str(cert[p]),
                "late": _int_str(cert[p] - due[p]),
            },
        ),
    )
    gaps["days_past_cert_due"] = np.where(
        poc & known30, np.where(fire30, ctx.dos - due, 0.0), np.nan
    )
    through = ctx.dates(S.CERT_THROUGH_DATE)
    recert_days = int(_param(ref, "recert_interval_days", 90))
    past_through = ctx.dos - through
    ev["RECERT_90"] = _Eval(
        _Tri(poc) & _known(past_through > 0, ~np.isnan(through)),
        lambda p: (
            None,
            {
                "through": _date_str(through[p]),
                "days": _int_str(past_through[p]),
                "limit": _int_str(np.full(len(p), recert_days)),
            },
        ),
    )
    gaps["days_past_cert_through"] = np.where(poc, past_through, np.nan)
    pr_limit = int(_param(ref, "progress_report_treatment_days", 10))
    vspr = ctx.floats(S.VISITS_SINCE_PROGRESS_REPORT)
    ev["PROGRESS_10"] = _Eval(
        _Tri(poc) & _known(vspr > pr_limit, ~np.isnan(vspr)),
        lambda p: (
            None,
            {"visits": _int_str(vspr[p]), "limit": _int_str(np.full(len(p), pr_limit))},
        ),
    )
    gaps["visits_over_progress_limit"] = np.where(poc, vspr - pr_limit, np.nan)

    # ---- diagnoses ----------------------------------------------------------
    dx_codes, dx_u = ctx.list_codes(S.DIAGNOSIS_CODES)
    primary_u = np.array(
        [u[0] if isinstance(u, tuple) and len(u) else "" for u in dx_u], dtype=object
    )
    empty_u = primary_u == ""
    ds = _memo(ref, "dx", lambda: _dx_table(ref))
    prefixes, supports = ds["prefixes"], ds["supports"]
    needs_def, ds_ver = ds["needs_deficit"], ds["verified"]
    match_u = np.full(len(dx_u), -1, dtype=np.int64)
    match_of: dict[str, int] = {}  # many diagnosis lists share a primary code
    for i, code in enumerate(primary_u):
        if code:
            if code not in match_of:
                bare = code.replace(".", "")
                match_of[code] = next(
                    (j for j in ds["by_length"] if bare.startswith(prefixes[j])), -1
                )
            match_u[i] = match_of[code]
    match = match_u[dx_codes]
    no_dx = empty_u[dx_codes]
    ev["DX_MISSING"] = _Eval(_Tri(no_dx), lambda p: (None, {}))
    matched = match >= 0
    supported_dx = matched & supports[np.maximum(match, 0)]
    denied_dx = matched & ~supports[np.maximum(match, 0)]
    need_def = supported_dx & needs_def[np.maximum(match, 0)]
    def_flags = _list_flags(
        ctx.list_codes(S.DEFICITS_DOCUMENTED),
        n,
        {
            "any": lambda t: len(t) > 0,
            # a non-neurological diagnosis must be tied to balance or
            # proprioception (reference s1.1, S43)
            "tie": lambda t: any(d.upper() in _DX_TIE_DEFICITS for d in t),
        },
    )
    has_def = def_flags["any"].astype(bool) if def_flags else np.zeros(n, bool)
    has_tie = def_flags["tie"].astype(bool) if def_flags else np.zeros(n, bool)
    def_known = np.full(n, def_flags is not None)
    list_verified = bool(ds_ver.all()) if len(ds_ver) else False
    dx_text_codes = primary_u[dx_codes]
    ev["DX_SUPPORT"] = _Eval(
        _Tri(ctx.is_target & ~no_dx)
        & (_Tri(~matched | denied_dx) | (_Tri(need_def) & _known(~has_tie, def_known))),
        lambda p: (
            np.where(denied_dx[p], "denied", np.where(matched[p], "needs_deficit", "")),
            {
                "dx": _as_str(dx_text_codes[p]),
                "verified": _as_str(
                    np.where(
                        matched[p],
                        np.where(ds_ver[np.maximum(match[p], 0)], "true", "false"),
                        "true" if list_verified else "false",
                    )
                ),
            },
        ),
    )

    # ---- NCCI ---------------------------------------------------------------
    ncci_ptp, ncci_mi0, mod59, ncci_text = _ncci(ctx)
    ev["NCCI_PTP"] = _Eval(ncci_ptp, ncci_text)
    ev["NCCI_MI0"] = _Eval(ncci_mi0, ncci_text)
    ev["MOD59_COMMERCIAL"] = _Eval(mod59, ncci_text)

    # ---- MUE ----------------------------------------------------------------
    mue = _memo(ref, "mue", lambda: _mue_table(ref))
    mue_pos = (
        mue["index"].get_indexer(ctx.code_u)[ctx.code_ids]
        if n and len(mue["index"])
        else np.full(n, -1)
    )
    has_mue = mue_pos >= 0
    at = np.maximum(mue_pos, 0)
    mue_units = (
        np.where(has_mue, mue["units"][at], np.nan) if len(mue["index"]) else nan
    )
    mue_ver = (
        np.where(has_mue, mue["verified"][at], False)
        if len(mue["index"])
        else (np.zeros(n, bool))
    )
    mue_in = (
        has_mue & _in_range(ctx.dos, mue["lo"][at], mue["hi"][at])
        if len(mue["index"])
        else np.zeros(n, bool)
    )
    over_mue = ctx.units_vc[ctx.vc] - mue_units
    ev["MUE"] = _Eval(
        _Tri(has_mue) & _known(over_mue > 0, mue_in),
        lambda p: (
            None,
            {
                "units": _units_str(ctx.units_vc[ctx.vc[p]]),
                "code": ctx.code_str(p),
                "mue": _units_str(mue_units[p]),
                "mue_n": _int_str(mue_units[p]),
                "verified": _as_str(np.where(mue_ver[p], "true", "false")),
            },
        ),
        reason="date of service outside the MUE row's effective dates"
        if (has_mue & ~mue_in).any()
        else "",
    )
    gaps["units_over_mue"] = np.where(mue_in, over_mue, np.nan)

    eval_visit = (
        np.bincount(ctx.visit, weights=ctx.initial_eval, minlength=ctx.n_visits) > 0
    )[ctx.visit]
    # ---- authorization, limits ---------------------------------------------
    if ctx.col(S.PRIOR_AUTH_NUMBER):
        no_auth = _blank(ctx.claims[S.PRIOR_AUTH_NUMBER])
        auth_known = true
    else:
        no_auth = np.zeros(n, bool)
        auth_known = np.zeros(n, bool)
    ev["AUTH_ABSENT"] = _Eval(
        _Tri(pol["auth_required"] & ctx.always & ~eval_visit)
        & _known(no_auth, auth_known),
        lambda p: (
            None,
            {"payer_id": payer_id_str(p), "payer_class": payer_class_str(p)},
        ),
    )
    ev["AUTH_INVALID"] = _Eval(_known(np.zeros(n, bool), np.zeros(n, bool)))
    approved = ctx.floats(S.AUTH_VISITS_APPROVED)
    used = ctx.floats(S.AUTH_VISITS_USED)
    auth_over = used + 1 - approved
    if ctx.col(S.AUTH_VISITS_APPROVED) and ctx.col(S.AUTH_VISITS_USED):
        auth_tri = _Tri(~np.isnan(approved)) & _known(auth_over > 0, ~np.isnan(used))
    else:
        auth_tri = _known(np.zeros(n, bool), np.zeros(n, bool))
    ev["AUTH_EXCEEDED"] = _Eval(
        auth_tri,
        lambda p: (
            None,
            {
                "visit": _int_str(used[p] + 1),
                "approved": _int_str(approved[p]),
                "payer_id": payer_id_str(p),
            },
        ),
    )
    gaps["auth_visits_over"] = auth_over

    limit = pol["visit_limit"]
    visits_incl, counted = _visits_this_year(ctx)
    over_limit = visits_incl - limit
    ev["BENEFIT_LIMIT"] = _Eval(
        _Tri(~np.isnan(limit) & ctx.always)
        & _known(over_limit > 0, ~np.isnan(visits_incl)),
        lambda p: (
            None,
            {
                "visit": _int_str(visits_incl[p]),
                "year": _int_str(year[p]),
                "payer_id": payer_id_str(p),
                "limit": _int_str(limit[p]),
                "counted": _as_str(np.full(len(p), counted, dtype=object)),
            },
        ),
    )
    gaps["visits_over_benefit_limit"] = np.where(np.isnan(limit), np.nan, over_limit)

    # ---- timely filing ------------------------------------------------------
    filing = pol["filing_limit_days"]
    sub = ctx.dates(S.SUBMISSION_DATE)
    when = sub.copy()
    if ctx.as_of is not None:
        when = np.where(np.isnan(when), ctx.as_of, when)
    deadline = ctx.dos + filing
    past = when - deadline
    # a planned submission after the deadline can still be sent in time
    can_still = (
        np.zeros(n, bool)
        if ctx.as_of is None
        else (ctx.as_of <= deadline) & ~np.isnan(sub)
    )
    ev["TIMELY"] = _Eval(
        _Tri(~np.isnan(filing)) & _known(past > 0, ~np.isnan(past)),
        lambda p: (
            np.where(can_still[p], "submit_by", ""),
            {
                "submitted": _date_str(when[p]),
                "days": _int_str(past[p]),
                "deadline": _date_str(deadline[p]),
                "limit": _int_str(filing[p]),
            },
        ),
    )
    gaps["days_past_filing_limit"] = past

    # ---- duplicates ---------------------------------------------------------
    dup, orig = _duplicates(ctx)
    ev["DUPLICATE"] = _Eval(
        _Tri(dup),
        lambda p: (
            None,
            {
                "orig_claim": ctx.text(S.CLAIM_ID, orig[p]),
                "orig_line": ctx.text(S.LINE_NUMBER, orig[p]),
            },
        ),
    )

    # ---- not evaluable ------------------------------------------------------
    for rid in ("ELIGIBILITY", "NO_BENEFIT", "PROVIDER_ELIG"):
        ev[rid] = _Eval(_known(np.zeros(n, bool), np.zeros(n, bool)))

    # ---- referring NPI ------------------------------------------------------
    if ctx.col(S.REFERRING_PROVIDER_ID):
        no_ref = _blank(ctx.claims[S.REFERRING_PROVIDER_ID])
        ref_known = true
    else:
        no_ref = np.zeros(n, bool)
        ref_known = np.zeros(n, bool)
    ev["REFERRING_NPI"] = _Eval(
        _Tri(pol["referring_npi_required"] & ctx.always) & _known(no_ref, ref_known),
        lambda p: (None, {"payer_class": payer_class_str(p)}),
    )

    # ---- documentation content ----------------------------------------------
    ev["CODE_CONTENT"] = _code_content(ctx, has_def, def_known)

    # ---- payment rules ------------------------------------------------------
    always_units_v = np.bincount(
        ctx.visit, weights=ctx.units * ctx.always, minlength=ctx.n_visits
    )[ctx.visit]
    mppr_scope = pol["mppr_applies"] & ctx.always
    ev["MPPR"] = _Eval(
        _Tri(mppr_scope & (always_units_v >= 2)),
        lambda p: (
            None,
            {
                "units": _int_str(always_units_v[p]),
                "reduced": _int_str(always_units_v[p] - 1),
            },
        ),
    )
    gaps["mppr_reduced_units"] = np.where(
        mppr_scope, np.maximum(always_units_v - 1, 0), np.nan
    )

    ev["EVAL_SAME_DAY_OK"] = _Eval(_Tri(np.zeros(n, bool)))
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


def _dx_table(ref: Reference) -> dict:
    ds = ref.dx_support
    prefixes = ds["code_prefix"].astype(str).str.strip().str.upper()
    prefixes = prefixes.str.replace(".", "", regex=False).to_numpy()
    return {
        "prefixes": prefixes,
        "by_length": np.argsort([-len(p) for p in prefixes], kind="stable"),
        "supports": _bool_values(ds, "supports_97112", True),
        "needs_deficit": _bool_values(ds, "requires_documented_deficit", False),
        "verified": _bool_values(ds, "verified", False),
    }


def _mue_table(ref: Reference) -> dict:
    mue = ref.mue
    lo, hi = _effective_range(mue)
    return {
        "index": pd.Index(mue["cpt_code"].astype(str).str.strip().str.upper()),
        "units": _float(mue["mue_units"]),
        "verified": _bool_values(mue, "verified", False),
        "lo": lo,
        "hi": hi,
    }


def _ncci_table(ref: Reference) -> dict:
    ncci = ref.ncci_ptp
    lo, hi = _effective_range(ncci)
    return {
        "column1": ncci["column1"].astype(str).str.strip().str.upper().to_numpy(),
        "column2": ncci["column2"].astype(str).str.strip().str.upper().to_numpy(),
        "mi": _float(ncci["modifier_indicator"]),
        "lo": lo,
        "hi": hi,
    }


#: Deficits that tie a non-neurological diagnosis to 97112 (S43).
_DX_TIE_DEFICITS = frozenset({"BALANCE", "PROPRIOCEPTION"})


def _ncci(ctx: _Ctx):
    n = ctx.n
    ncci = _memo(ctx.ref, "ncci", lambda: _ncci_table(ctx.ref))
    code_index = pd.Index(ctx.code_u)
    c1 = code_index.get_indexer(ncci["column1"])
    c2 = code_index.get_indexer(ncci["column2"])
    keep = (c1 >= 0) & (c2 >= 0)
    p_c1, p_c2, p_mi = c1[keep], c2[keep], ncci["mi"][keep]
    p_lo, p_hi = ncci["lo"][keep], ncci["hi"][keep]
    mi0 = np.zeros(n, bool)
    mi1_pair = np.zeros(n, bool)
    col1 = np.full(n, -1, dtype=np.int64)
    if len(p_c1) and n:
        # candidates: each line whose code is a column-2 code, with each pair
        # of that code in table order (what a merge of lines and pairs gives)
        n_codes = len(ctx.code_u)
        by_c2 = np.argsort(p_c2, kind="stable")
        per_code = np.bincount(p_c2, minlength=n_codes)
        code_start = np.cumsum(per_code) - per_code
        per_line = per_code[ctx.code_ids]
        lines = np.flatnonzero(per_line)
        reps = per_line[lines]
        p = np.repeat(lines, reps)
        within = np.arange(len(p)) - np.repeat(np.cumsum(reps) - reps, reps)
        pair = by_c2[code_start[ctx.code_ids[p]] + within]
        c1_cand, mi_cand = p_c1[pair], p_mi[pair]
        in_force = _in_range(ctx.dos[p], p_lo[pair], p_hi[pair])
        present = _visit_has_code(ctx, ctx.visit[p], c1_cand)
        sel = in_force & present
        p, c1_cand, mi_cand = p[sel], c1_cand[sel], mi_cand[sel]
        if len(p):
            mi0[p[mi_cand == 0]] = True
            mi1_pair[p[mi_cand == 1]] = True
            # one partner per line for the text: the first pair by (mi, table
            # order); lexsort is stable and puts a missing mi last
            order = np.lexsort((mi_cand, p))
            p_sorted = p[order]
            first = np.ones(len(p_sorted), bool)
            first[1:] = p_sorted[1:] != p_sorted[:-1]
            col1[p_sorted[first]] = c1_cand[order][first]
    bypass = ctx.mod_bypass != ""
    mods_known = np.full(n, ctx.has_mods)
    accepts = ctx.pol["accepts_59_bypass"]
    ptp = _Tri(mi1_pair) & _known(~bypass, mods_known)
    mod59 = _Tri(mi1_pair & ~accepts) & _known(bypass, mods_known)

    def text(p):
        c1_code = np.where(col1[p] >= 0, ctx.code_u[np.maximum(col1[p], 0)], "?")
        return None, {
            "code": ctx.code_str(p),
            "col1": _as_str(c1_code),
            "modifier": _as_str(ctx.mod_bypass[p]),
            "payer_id": ctx.text(S.PAYER_ID, p),
        }

    return ptp, _Tri(mi0), mod59, text


def _visit_has_code(ctx: _Ctx, visit: np.ndarray, code: np.ndarray) -> np.ndarray:
    """Whether each ``visit`` bills ``code`` (codes as ``ctx.code_ids``)."""
    n_codes = len(ctx.code_u)
    if ctx.n_visits * n_codes <= 1 << 25:
        table = np.zeros(ctx.n_visits * n_codes, dtype=bool)
        table[ctx.visit * n_codes + ctx.code_ids] = True
        return table[visit * n_codes + code]
    # too many visits x codes for a table: one boolean per visit and code
    present = np.zeros(len(visit), bool)
    for c in np.unique(code):
        in_visit = np.zeros(ctx.n_visits, bool)
        in_visit[ctx.visit[ctx.code_ids == c]] = True
        here = code == c
        present[here] = in_visit[visit[here]]
    return present


def _visits_this_year(ctx: _Ctx) -> tuple[np.ndarray, str]:
    """Visit number of the year with the payer, per patient (this visit included).

    From the optional ``visits_ytd`` column when present. Otherwise counted
    in the input: distinct dates of service of the patient with the payer in
    the calendar year, in the order the payer receives them (submission date,
    then date of service), since a payer applies the limit to the claims it
    has on file.
    """
    n = ctx.n
    if ctx.col(VISITS_YTD):
        before = ctx.floats(VISITS_YTD)
        return before + 1, "from visits_ytd"
    visits = np.full(n, np.nan)
    # only lines of payers with a visit limit need the count
    sub = np.flatnonzero(~np.isnan(ctx.pol["visit_limit"]) & ~np.isnan(ctx.dos))
    if not len(sub):
        return visits, "counted in the input"
    pat = ctx.codes(S.PATIENT_ID)[0][sub]
    pay = ctx.codes(S.PAYER_ID)[0][sub]
    day = ctx.dos[sub].astype(np.int64)
    sent = ctx.dates(S.SUBMISSION_DATE)[sub]
    sent = np.where(np.isnan(sent), day, sent).astype(np.int64)
    group = _combine(pat, pay, ctx.year[sub])
    visit = _combine(group, day)  # one visit per patient, payer and day
    n_visit = int(visit.max()) + 1
    first = _first_positions(visit, n_visit)
    sent_v = np.full(n_visit, np.iinfo(np.int64).max)
    np.minimum.at(sent_v, visit, sent)
    base = min(int(day.min()), int(sent_v.min()))
    order = _sort_order(
        [(group[first], False), (sent_v - base, False), (day[first] - base, False)]
    )
    g_sorted = group[first][order]
    counts = np.bincount(g_sorted)
    starts = np.cumsum(counts) - counts
    rank = np.empty(n_visit, dtype=np.int64)
    rank[order] = np.arange(n_visit) - starts[g_sorted]
    visits[sub] = (rank[visit] + 1).astype(float)
    return visits, "counted in the input"


def _duplicates(ctx: _Ctx) -> tuple[np.ndarray, np.ndarray]:
    """Lines repeating an earlier line (patient, date, code, modifiers, units...)."""
    n = ctx.n
    dup = np.zeros(n, bool)
    orig = np.arange(n)
    if n == 0:
        return dup, orig
    # patient, provider and date are the visit, the code within it ctx.vc: only
    # codes billed on more than one line of a visit can repeat a line
    lines_vc = np.bincount(ctx.vc, minlength=ctx.n_vc)
    cand = np.flatnonzero(lines_vc[ctx.vc] > 1)
    if not len(cand):
        return dup, orig
    units = np.clip(ctx.units[cand], 0, 1023).astype(np.int64)
    parts = [ctx.vc[cand], units]
    mods = ctx.list_codes(S.MODIFIERS)
    if mods is not None:
        m_codes, m_u = mods
        as_set = [tuple(sorted(t)) if isinstance(t, tuple) else () for t in m_u]
        parts.append(pd.factorize(pd.Series(as_set, dtype=object))[0][m_codes[cand]])
    key = _combine(*parts)
    counts = np.bincount(key)
    keep = counts[key] > 1
    multi = cand[keep]
    key = key[keep]
    if not len(multi):
        return dup, orig
    sub = ctx.dates(S.SUBMISSION_DATE)[multi]
    frame = pd.DataFrame(
        {
            "key": key,
            "sub": np.nan_to_num(sub, nan=np.inf),
            "claim": ctx.claims[S.CLAIM_ID].iloc[multi].astype(str).to_numpy(),
            "line": _float(ctx.claims[S.LINE_NUMBER])[multi],
            "pos": multi,
        }
    ).sort_values(["key", "sub", "claim", "line"], kind="stable")
    first_pos = frame.groupby("key", sort=False)["pos"].transform("first").to_numpy()
    is_first = frame["pos"].to_numpy() == first_pos
    later = frame["pos"].to_numpy()[~is_first]
    dup[later] = True
    orig[later] = first_pos[~is_first]
    return dup, orig


def _code_content(ctx: _Ctx, has_def: np.ndarray, def_known: np.ndarray) -> _Eval:
    n = ctx.n
    tc = _memo(ctx.ref, "therapy", lambda: _therapy_table(ctx.ref))
    target_interventions = tc["target_interventions"]
    other_code = tc["intervention_code"]
    flags = _list_flags(
        ctx.list_codes(S.INTERVENTIONS_DOCUMENTED),
        n,
        {
            "nmr": lambda t: any(x.upper() in target_interventions for x in t),
            "other": lambda t: ", ".join(
                x.lower().replace("_", " ") for x in t if x.upper() in other_code
            ),
            "suggested": lambda t: " or ".join(
                dict.fromkeys(
                    other_code[x.upper()] for x in t if x.upper() in other_code
                )
            ),
        },
    )
    if flags is None:
        nmr = np.zeros(n, bool)
        other = np.full(n, "", dtype=object)
        suggested = np.full(n, "", dtype=object)
        inter_known = np.zeros(n, bool)
    else:
        nmr = flags["nmr"].astype(bool)
        other = flags["other"]
        suggested = flags["suggested"]
        inter_known = np.ones(n, bool)
    no_nmr = _known(~nmr, inter_known)
    no_def = _known(~has_def, def_known)
    tri = _Tri(ctx.is_target) & (no_nmr | no_def)

    def text(p):
        variant = np.where(
            inter_known[p] & ~nmr[p] & (other[p] != ""),
            "",
            np.where(inter_known[p] & ~nmr[p], "no_nmr", "no_deficit"),
        )
        return variant, {
            "documented": _as_str(other[p]),
            "suggested": _as_str(suggested[p]),
        }

    return _Eval(tri, text)
