"""The simulation: patients, episodes, visits, lines and their outcomes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptdenial import schema as S
from ptdenial.datasets._arrays import (
    _choice,
    _group_cumsum,
    _group_first,
    _integrate_noise,
    _mapping,
    _sigmoid,
)
from ptdenial.datasets._assemble import _Sim
from ptdenial.datasets._params import SyntheticParams
from ptdenial.datasets._remit import _remit_codes
from ptdenial.datasets._vocabulary import (
    _BYPASS_BITS,
    _CI,
    _CODES,
    _CONDITIONS,
    _DEF,
    _EVAL_COLS,
    _IV,
    _MEDICARE_LIKE,
    _MINUTE_BANDS,
    _MOD,
    _NMR_BITS,
    _NMR_INTERVENTIONS,
    _TIMED,
    _TIMED_COLS,
    CAUSES,
)
from ptdenial.datasets._world import _build_world


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
