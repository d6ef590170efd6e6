"""make_world: build the practice, cut the window, draw the outcomes."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd

from bench.worlds import _catalog as cat
from bench.worlds._arrays import (
    cummax_in_group,
    cumsum_exclusive,
    days_to_datetime,
    group_starts,
    rank_in_group,
    start_index,
    string_series,
    tuple_column,
)
from bench.worlds._catalog import make_payers
from bench.worlds._outcomes import MEDICARE_TYPE, denial_terms, realize, remit_codes
from bench.worlds._params import WorldParams
from bench.worlds._world import (
    _INTERVENTIONS,
    BYPASS,
    CPT_NAMES,
    MAX_CERTS,
    MODS,
    POS_CODES,
    Documentation,
    Episodes,
    Lines,
    M,
    Practice,
    Visits,
    conversion_factor,
    day,
    kx_threshold,
    medicare_ytd,
    month_of,
    submission_days,
    year_of,
)

CREDENTIALS = ("PT", "PTA", "OT", "OTA", "MD", "DC", "other")
PAYER_CLASSES = (
    "medicare",
    "medicare_advantage",
    "medicaid",
    "commercial",
    "workers_comp",
    "auto",
    "tricare",
    "other",
)
_STREAMS = (
    "payers",
    "practice",
    "episodes",
    "visits",
    "lines",
    "docs",
    "submit",
    "trim",
    "modifiers",
    "outcomes",
    "ids",
    "ytd",
)


def make_world(n_lines: int = 20_000, *, seed: int, **params):
    """Simulate a physical-therapy practice's claim lines and their outcomes.

    Parameters
    ----------
    n_lines : int
        Exact number of claim lines returned.
    seed : int
        The world is a function of ``(n_lines, seed, params)``.
    **params
        Fields of :class:`bench.worlds.WorldParams` (``start``, ``months``,
        ``n_payers``, ``policy_change``, ``payer_edit``, ``late_docs``,
        ``trend``, ...).

    Returns
    -------
    claims : pandas.DataFrame
        The practice's history as exported on the world's last day, in the
        claim-line contract (SCHEMA.md): one row per line, outcome columns
        filled for adjudicated lines, documentation dates as finally signed.
    truth : pandas.DataFrame
        Per line: the keys, the true denial probability and log-odds, the
        realized outcome (``denied``, ``partially_denied``, ``pending``), the
        reason drawn, and what documentation existed when the claim was sent.

    Examples
    --------
    >>> from bench.worlds import make_world
    >>> claims, truth = make_world(2_000, seed=1)
    >>> len(claims), len(truth)
    (2000, 2000)
    >>> bool(truth["true_probability"].between(0, 1).all())
    True
    """
    if n_lines < 1:
        raise ValueError(f"n_lines must be at least 1; got {n_lines}")
    names = {f.name for f in dataclasses.fields(WorldParams)}
    unknown = sorted(set(params) - names)
    if unknown:
        raise TypeError(
            f"make_world: unknown parameters {unknown}; known: {sorted(names)}"
        )
    prm = WorldParams(**params)
    seeds = dict(
        zip(_STREAMS, np.random.SeedSequence(seed).spawn(len(_STREAMS)), strict=True)
    )

    def rng(name):
        return np.random.default_rng(seeds[name])

    payers = make_payers(prm.n_payers, rng("payers"))
    payer_ids = np.array([p.payer_id for p in payers], dtype=object)
    changes = prm.policy_changes(list(payer_ids))
    edits = prm.payer_edits(list(payer_ids))
    start, end = day(prm.start_day), day(prm.end_day)
    pr = Practice(prm, payers, n_lines, rng("practice"))

    n_episodes = math.ceil(n_lines / 28) + 40
    for _ in range(10):
        ep = Episodes(prm, pr, n_episodes, rng("episodes"))
        vi = Visits(prm, pr, ep, rng("visits"))
        li = Lines(prm, pr, ep, vi, rng("lines"))
        doc = Documentation(prm, pr, ep, vi, li, rng("docs"))
        sub = submission_days(prm, pr, ep, vi, doc, rng("submit"))
        in_window = (vi.dos >= start) & (sub <= end)
        per_visit = np.bincount(li.visit, minlength=vi.V)
        got = int(per_visit[in_window].sum())
        if got >= n_lines:
            break
        n_episodes = math.ceil(n_episodes * n_lines / max(got, 1) * 1.1) + 40
    else:  # pragma: no cover - the loop grows the practice until it is enough
        raise RuntimeError("could not generate enough lines")

    keep_line = _trim(vi, li, ep, in_window, per_visit, n_lines, rng("trim"))
    return _assemble(
        prm,
        payers,
        payer_ids,
        changes,
        edits,
        pr,
        ep,
        vi,
        li,
        doc,
        sub,
        keep_line,
        start,
        end,
        rng,
    )


def _trim(vi, li, ep, in_window, per_visit, n_lines, rng):
    """Keep whole patients (in random order) up to exactly ``n_lines`` lines.

    The last patients contribute their first visits only, as patients who
    stopped coming; a visit is never split unless nothing else fits.
    """
    rank = rng.permutation(ep.n_patients)
    vis = np.flatnonzero(in_window)
    order = vis[np.lexsort((vis, vi.dos[vis], rank[vi.patient[vis]]))]
    n_l = per_visit[order]
    cum = np.cumsum(n_l)
    pstart = np.flatnonzero(group_starts(rank[vi.patient[order]]))
    pend = np.r_[pstart[1:], len(order)]
    whole = int(np.searchsorted(cum[pend - 1], n_lines, side="right"))
    keep_visit = np.zeros(vi.V, dtype=bool)
    last = pend[whole - 1] if whole else 0
    keep_visit[order[:last]] = True
    left = n_lines - (int(cum[last - 1]) if last else 0)
    partial = None
    g = whole
    while left > 0 and g < len(pstart):
        sl = slice(pstart[g], pend[g])
        c = np.cumsum(n_l[sl])
        take = int(np.searchsorted(c, left, side="right"))
        if take:
            keep_visit[order[sl][:take]] = True
            left -= int(c[take - 1])
        g += 1
        if g - whole > 20_000 and left > 0:
            break
    if left > 0:  # nothing fits exactly: keep the first lines of one more visit
        for g2 in range(whole, len(pstart)):
            v = order[pstart[g2]]
            if not keep_visit[v] and per_visit[v] > left:
                partial = v
                break
        if partial is None:  # pragma: no cover
            raise RuntimeError("could not trim the world to n_lines")
    keep = keep_visit[li.visit]
    if partial is not None:
        keep |= (li.visit == partial) & (li.line_number <= left)
    return keep


def _assemble(
    prm,
    payers,
    payer_ids,
    changes,
    edits,
    pr,
    ep,
    vi,
    li,
    doc,
    sub,
    keep_line,
    start,
    end,
    rng,
):
    V = vi.V
    n_all = li.n
    # --- visit-level facts over every generated visit (history matters) -----
    ytd_known, ytd_true, visit_allowed = medicare_ytd(prm, pr, ep, vi, li, rng("ytd"))
    years = year_of(vi.dos)
    thr = kx_threshold(years)
    kx_needed_v = ytd_true + visit_allowed >= thr
    r_out = rng("outcomes")
    lag_med = np.array([p.lag_median for p in payers])[vi.payer]
    lag_sig = np.array([p.lag_sigma for p in payers])[vi.payer]
    lag = np.maximum(
        2, np.rint(np.exp(np.log(lag_med) + lag_sig * r_out.normal(size=V)))
    )
    adj = (sub + lag).astype(np.int64)
    stuck = r_out.random(V) < prm.stuck_share
    # progress reports: the latest one on or before each visit, and the chase
    # back to the latest one signed by a given day
    idx = np.arange(V, dtype=np.int64)
    last_rep = cummax_in_group(np.where(vi.is_report, idx, -1), vi.ep)
    prev_ok = np.r_[False, vi.ep[1:] == vi.ep[:-1]]
    prev_rep = np.where(prev_ok, np.r_[-1, last_rep[:-1]], -1)

    def report_signed_by(limit):
        cand = last_rep.copy()
        for _ in range(12):
            bad = (cand >= 0) & (doc.report_signed[np.maximum(cand, 0)] > limit)
            if not bad.any():
                break
            cand = np.where(bad, prev_rep[np.maximum(cand, 0)], cand)
        return cand

    def since(cand):
        return np.where(cand >= 0, vi.k - vi.k[np.maximum(cand, 0)], vi.k - 1)

    rep_send = report_signed_by(sub)
    rep_adj = report_signed_by(adj)
    rep_end = report_signed_by(np.full(V, end))
    # certification covering the day, and the latest signed one at export
    c = vi.cert_idx
    c_sign = doc.cert_sign[vi.ep, c]
    cert_at_send = (c_sign >= 0) & (c_sign <= sub)
    cert_by_adj = (c_sign >= 0) & (c_sign <= adj)
    cert_grace = (c == 0) & (vi.dos - vi.eval_day[vi.ep] <= 30)
    hist_cert = np.full(V, -1, dtype=np.int64)
    for cc in range(MAX_CERTS):
        s = doc.cert_sign[vi.ep, cc]
        ok = (cc <= c) & (s >= 0) & (s <= end)
        hist_cert = np.where(ok, cc, hist_cert)
    # authorization
    auth_needed, auth_used, auth_approved, auth_seg = _authorization(payers, ep, vi)
    # visits this year per patient and payer (benefit limits)
    key = (vi.patient * len(payers) + vi.payer) * 64 + (years - years.min())
    order = np.lexsort((idx, vi.dos, key))
    visits_ytd = np.empty(V, dtype=np.int64)
    visits_ytd[order] = rank_in_group(group_starts(key[order])) + 1

    # --- lines kept --------------------------------------------------------------
    L = np.flatnonzero(keep_line)
    lv = li.visit[L]
    r_mod = rng("modifiers")
    mods_all = _modifiers(
        prm, pr, ep, vi, li, payers, ytd_known, visit_allowed, thr, r_mod
    )
    mods = mods_all[L]
    code = li.code[L]
    cpt = li.cpt[L]
    n = len(L)
    has_code_v = {}

    def visit_has(code_name):
        if code_name not in has_code_v:
            h = np.zeros(V, dtype=bool)
            h[li.visit[li.cpt == code_name]] = True
            has_code_v[code_name] = h
        return has_code_v[code_name][lv]

    ncci_col2, pair_140_530 = _ncci(li, L, visit_has)
    # diagnoses pointed to by each line
    ep_of = vi.ep[lv]
    point_all = pr.clinic_point_all[vi.clinic[lv]] | (cpt == "97112")
    dx = ep.dx[ep_of]
    dx_used = np.where(point_all[:, None], dx, np.c_[dx[:, :1], np.full((n, 2), -1)])
    valid = dx_used >= 0
    safe = np.maximum(dx_used, 0)
    sup = np.where(valid, ep.dx_support[safe], -1).max(axis=1)
    dx_cond = (valid & ep.dx_conditional[safe]).any(axis=1)
    dx_header = (valid & ep.dx_is_header[safe]).any(axis=1)
    dx_initial = (valid & ep.dx_initial[safe]).any(axis=1)
    pclass_l = np.array([p.payer_class for p in payers], dtype=object)[vi.payer[lv]]
    pta_l = pr.prov_cred[vi.provider[lv]] == 1

    x = {
        "code": code,
        "cpt": cpt,
        "payer": vi.payer[lv],
        "payer_id": payer_ids[vi.payer[lv]],
        "units": li.units[L],
        "correct_units": li.correct_units[L],
        "minutes": li.minutes[L],
        "timed": li.timed[L],
        "dos": vi.dos[lv],
        "sub": sub[lv],
        "k": vi.k[lv],
        "sub_month": month_of(sub[lv]),
        "start_day": start,
        "prov_eff": pr.prov_eff[vi.provider[lv]],
        "pat_eff": ep.pat_eff[vi.patient[lv]],
        "clinic_eff": pr.clinic_eff[vi.clinic[lv]],
        "noise": r_out.normal(0.0, prm.noise, n_all)[L],
        "mods": mods,
        "mod_bits": M,
        "bypass_bits": BYPASS,
        "kx_needed": np.where(np.isnan(ytd_true[lv]), False, kx_needed_v[lv]),
        "tmr": np.nan_to_num(ytd_true[lv], nan=0.0) > cat.TMR_THRESHOLD,
        "pta": pta_l,
        "cert_at_send": cert_at_send[lv],
        "cert_by_adj": cert_by_adj[lv],
        "cert_grace": cert_grace[lv],
        "since_send": since(rep_send)[lv],
        "since_adj": since(rep_adj)[lv],
        "note_at_send": (doc.note_signed[lv] >= 0) & (doc.note_signed[lv] <= sub[lv]),
        "note_by_adj": (doc.note_signed[lv] >= 0) & (doc.note_signed[lv] <= adj[lv]),
        "auth_needed": auth_needed[lv],
        "auth_on_file": ep.has_auth[ep_of],
        "auth_used": auth_used[lv],
        "auth_approved": auth_approved[lv],
        "dx_header": dx_header,
        "dx_support": sup,
        "dx_conditional": dx_cond,
        "dx_initial": dx_initial,
        "deficits": doc.deficit_mask[lv],
        "content_gap": doc.content_gap[lv],
        "objective": doc.objective[lv],
        "ref_missing": ep.ref[ep_of] < 0,
        "ncci_col2": ncci_col2,
        "pair_140_530": pair_140_530,
        "visit_has": visit_has,
        "visits_ytd": visits_ytd[lv],
        "cover_end": ep.pat_cover_end[vi.patient[lv]],
        "e97014_medicare": li.e97014_medicare[L],
        "day": day,
    }
    terms = denial_terms(x, prm, payers, edits, changes)
    # claim = kept visit
    claim_of_visit = np.full(V, -1, dtype=np.int64)
    kept_visits = np.unique(lv)
    claim_of_visit[kept_visits] = np.arange(len(kept_visits))
    claim = claim_of_visit[lv]
    logit, p, denied, reason, reason_names = realize(
        terms, claim, prm.claim_correlation, r_out
    )
    pending = (adj[lv] > end) | stuck[lv]

    # --- money ----------------------------------------------------------------
    money = _money(
        prm,
        pr,
        ep,
        vi,
        li,
        L,
        lv,
        payers,
        pclass_l,
        mods,
        denied,
        pending,
        adj,
        end,
        r_out,
    )
    carc, rarc = remit_codes(reason, reason_names, pclass_l, denied & ~pending, r_out)

    # --- frames ----------------------------------------------------------------
    claims, truth = _frames(
        prm,
        payers,
        payer_ids,
        pr,
        ep,
        vi,
        li,
        doc,
        sub,
        adj,
        L,
        lv,
        mods,
        claim,
        kept_visits,
        ytd_known,
        last_rep,
        rep_end,
        hist_cert,
        auth_needed,
        auth_used,
        auth_approved,
        auth_seg,
        money,
        carc,
        rarc,
        denied,
        pending,
        p,
        logit,
        reason,
        reason_names,
        x,
        end,
        rng("ids"),
    )
    return claims, truth


def _authorization(payers, ep, vi):
    """Which visits need an authorization; visits used and approved on it."""
    kinds = [p.auth for p in payers]
    V = vi.V
    needed = np.zeros(V, dtype=bool)
    after_eval = vi.k >= 2
    for pi, kind in enumerate(kinds):
        sel = vi.payer == pi
        if kind == "none":
            continue
        if kind == "all":
            needed |= sel & after_eval
        elif kind.startswith("after:"):
            needed |= sel & (vi.k - 1 > int(kind.split(":")[1]))
        elif kind.startswith("from:"):
            needed |= sel & after_eval & (vi.dos >= day(kind.split(":")[1]))
        else:  # pragma: no cover - catalogue is fixed
            raise ValueError(kind)
    j = np.cumsum(needed)
    first = start_index(group_starts(vi.ep))
    j = j - (j[first] - needed[first])  # 1-based count of needed visits in episode
    A = ep.auth_size[vi.ep]
    S = ep.auth_segments[vi.ep]
    seg = np.minimum((j - 1) // A, S - 1)
    used = (j - 1) - seg * A
    return needed, used, A, seg


def _modifiers(prm, pr, ep, vi, li, payers, ytd_known, visit_allowed, thr, rng):
    """Modifier bits of every line as the practice billed them."""
    V, n = vi.V, li.n
    gp_req = np.array([p.gp_required for p in payers])[vi.payer]
    cq_req = np.array([p.cq_required for p in payers])[vi.payer]
    kx_req = np.array([p.kx_required for p in payers])[vi.payer]
    clinic = vi.clinic
    sloppy = 1.0 - pr.prov_quality[vi.provider]
    ot = ep.ot[vi.ep]
    add_gp = (gp_req | pr.clinic_gp_always[clinic]) & (
        rng.random(V) >= 0.012 + 0.05 * sloppy
    )
    therapy = np.where(ot, M["GO"], M["GP"])
    bits = np.where(add_gp, therapy, 0)[li.visit]
    bits = np.where(rng.random(n) < 0.004, 0, bits)  # one line forgotten
    pta = pr.prov_cred[vi.provider] == 1
    add_cq = pta & (cq_req | (rng.random(V) < 0.25)) & (rng.random(V) >= 0.07)
    bits = bits | np.where(add_cq, M["CQ"], 0)[li.visit]
    known = np.nan_to_num(ytd_known, nan=0.0)
    crossing = known + visit_allowed >= thr
    naive = known >= thr
    apply = np.where(pr.clinic_kx_crossing[clinic], crossing, naive)
    apply |= (known >= thr - 300) & (rng.random(V) < 0.3)
    apply &= rng.random(V) >= 0.04
    apply &= kx_req
    bits = bits | np.where(apply, M["KX"], 0)[li.visit]
    # distinct-procedure modifiers on the column-2 code of an edit pair
    vhas = {}
    for name in ("97140", "97530", "97150", "97164", "97116", "97112"):
        h = np.zeros(V, dtype=bool)
        h[li.visit[li.cpt == name]] = True
        vhas[name] = h
    evl = np.zeros(V, dtype=bool)
    evl[li.visit[np.isin(li.cpt, ["97161", "97162", "97163"])]] = True
    one = np.zeros(V, dtype=bool)
    one[li.visit[np.isin(li.code, cat.ONE_ON_ONE)]] = True
    lv = li.visit
    col2 = _col2(li.cpt, lv, vhas, evl, one)
    x_mod = np.array([M["59"], M["XU"], M["XS"], M["XP"]])[
        rng.choice(4, n, p=[0.6, 0.3, 0.07, 0.03])
    ]
    add59 = col2 & (rng.random(n) < pr.clinic_mod59[clinic[lv]])
    habit = (li.cpt == "97112") & vhas["97530"][lv]
    add59 |= habit & (rng.random(n) < pr.clinic_edit59[clinic[lv]])
    add59 |= li.timed & (rng.random(n) < 0.01)
    return bits | np.where(add59, x_mod, 0)


def _col2(cpt, lv, vhas, evl, one):
    """This world's NCCI pairs: True on the column-2 line of a pair."""
    return (
        ((cpt == "97530") & vhas["97140"][lv])
        | ((cpt == "97150") & one[lv])
        | ((cpt == "97140") & evl[lv])
        | (np.isin(cpt, ["97530", "97150"]) & vhas["97164"][lv])
        | ((cpt == "97116") & vhas["97530"][lv])
    )


def _ncci(li, L, visit_has):
    cpt = li.cpt[L]
    lv = li.visit[L]
    V = int(li.visit.max()) + 1
    vhas = {
        name: np.zeros(V, dtype=bool)
        for name in ("97140", "97530", "97150", "97164", "97116")
    }
    for name, h in vhas.items():
        h[li.visit[li.cpt == name]] = True
    evl = np.zeros(V, dtype=bool)
    evl[li.visit[np.isin(li.cpt, ["97161", "97162", "97163"])]] = True
    one = np.zeros(V, dtype=bool)
    one[li.visit[np.isin(li.code, cat.ONE_ON_ONE)]] = True
    col2 = _col2(cpt, lv, vhas, evl, one)
    return col2, (cpt == "97530") & vhas["97140"][lv]


def _money(
    prm, pr, ep, vi, li, L, lv, payers, pclass, mods, denied, pending, adj, end, rng
):
    """Charges, allowed and paid amounts and the non-denial adjustment codes."""
    n = len(L)
    years = year_of(vi.dos[lv])
    cf = conversion_factor(years)
    code = li.code[L]
    units = li.units[L]
    charge_f = np.where(np.arange(pr.n_clin) % 3 == 2, 1.08, 1.0)[vi.clinic[lv]]
    charge = np.round(
        cat.CODE_CHARGE[code] * units * charge_f * np.where(years >= 2025, 1.03, 1.0), 2
    )
    fee_mult = np.array([p.fee_mult for p in payers])[vi.payer[lv]]
    mppr = np.array([p.mppr for p in payers])[vi.payer[lv]]
    rvu = cat.CODE_RVU[code]
    # MPPR: the unit with the highest value is paid in full, the others reduced
    order = np.lexsort((-rvu, lv))
    top = np.zeros(n, dtype=bool)
    top[order[group_starts(lv[order])]] = True
    full_units = np.where(
        mppr, np.where(top, 1 + 0.8 * (units - 1), 0.8 * units), units
    )
    cq = (mods & M["CQ"]) > 0
    cq_cut = np.where(cq & np.isin(pclass, MEDICARE_TYPE), 0.85, 1.0)
    allowed = rvu * cf * fee_mult * full_units * cq_cut
    allowed = np.minimum(allowed, charge)
    # partial denials: paid at the units the documentation supports
    over = li.units[L] > li.correct_units[L]
    review = np.array([p.unit_review for p in payers])[vi.payer[lv]]
    partial = over & ~denied & ~pending & (li.correct_units[L] >= 1)
    partial &= rng.random(n) < 0.35 * review
    allowed = np.where(partial, allowed * li.correct_units[L] / units, allowed)
    allowed = np.round(allowed, 2)
    paid_line = ~denied & ~pending
    # deductible, consumed in adjudication order per patient, payer and year
    ded_amt = np.array([p.deductible for p in payers])[vi.payer[lv]]
    medicare = pclass == "medicare"
    med_ded = np.array(
        [
            cat.MEDICARE_DEDUCTIBLE.get(int(y), 283.0)
            for y in range(years.min(), years.max() + 1)
        ]
    )[years - years.min()]
    ded_amt = np.where(medicare, med_ded, ded_amt)
    pat = vi.patient[lv]
    payer = vi.payer[lv]
    key = (pat * len(payers) + payer) * 64 + (years - years.min())
    n_keys = int(key.max()) + 1 if n else 1
    owes = np.random.default_rng(rng.integers(2**63)).random(n_keys) < 0.45
    remaining = np.where(owes[key], ded_amt, 0.0)
    order = np.lexsort((li.line_number[L], lv, adj[lv], key))
    amt = np.where(paid_line, allowed, 0.0)[order]
    before = np.empty(n)
    before[order] = cumsum_exclusive(amt, group_starts(key[order]))
    ded = np.where(paid_line, np.clip(remaining - before, 0, allowed), 0.0)
    coins = np.where(paid_line & medicare, 0.2 * (allowed - ded), 0.0)
    copay_amt = np.array([p.copay for p in payers])[vi.payer[lv]]
    # copay once per claim, on its first paid line
    order = np.lexsort((li.line_number[L], ~paid_line, lv))
    first_paid = np.zeros(n, dtype=bool)
    fp = order[group_starts(lv[order])]
    first_paid[fp] = paid_line[fp]
    copay = np.where(first_paid, np.minimum(copay_amt, allowed - ded - coins), 0.0)
    ded, coins, copay = (np.round(a, 2) for a in (ded, coins, copay))
    net = np.maximum(allowed - ded - coins - copay, 0.0)
    seq = np.where(medicare & (net > 0), np.round(0.02 * net, 2), 0.0)
    paid = np.where(paid_line, np.round(net - seq, 2), 0.0)
    allowed = np.where(paid_line, allowed, 0.0)
    return {
        "charge": charge,
        "allowed": allowed,
        "paid": paid,
        "partial": partial,
        "co45": paid_line & (charge - allowed > 0.005),
        "seq": seq > 0,
        "ded": ded > 0,
        "coins": coins > 0,
        "copay": copay > 0,
    }


def _frames(
    prm,
    payers,
    payer_ids,
    pr,
    ep,
    vi,
    li,
    doc,
    sub,
    adj,
    L,
    lv,
    mods,
    claim,
    kept_visits,
    ytd_known,
    last_rep,
    rep_end,
    hist_cert,
    auth_needed,
    auth_used,
    auth_approved,
    auth_seg,
    money,
    carc,
    rarc,
    denied,
    pending,
    p,
    logit,
    reason,
    reason_names,
    x,
    end,
    rng,
):
    n = len(L)
    # claim ids in order of sending
    kv = kept_visits
    kv_order = np.lexsort((kv, vi.clinic[kv], sub[kv]))
    seq = np.empty(len(kv), dtype=np.int64)
    seq[kv_order] = 100_000 + np.cumsum(rng.integers(1, 4, len(kv)))
    tags = [cid.replace("CL-", "").replace("-", "") for cid in pr.clinic_ids]
    claim_ids = [f"{tags[cl]}{s:09d}" for cl, s in zip(vi.clinic[kv], seq, strict=True)]
    # pseudonymous patient keys
    pid = rng.permutation(ep.n_patients) + 1_000_003
    used_pat, pat_code = np.unique(vi.patient[lv], return_inverse=True)
    pat_labels = [f"PX{pid[q]:07d}" for q in used_pat]
    # sort rows: night of sending, claim, line
    order = np.lexsort((li.line_number[L], claim, sub[lv]))

    def o(a):
        return a[order]

    idx = pd.RangeIndex(n)
    cols: dict[str, object] = {}
    cols["claim_id"] = string_series(o(claim), claim_ids, idx)
    cols["line_number"] = pd.Series(o(li.line_number[L]).astype(np.int64))
    cols["patient_id"] = string_series(o(pat_code), pat_labels, idx)
    payer_l = vi.payer[lv]
    cols["payer_id"] = string_series(o(payer_l), list(payer_ids), idx)
    if prm.payer_name_column:
        cols["payer_name"] = string_series(o(payer_l), [q.name for q in payers], idx)
    class_code = np.array([PAYER_CLASSES.index(q.payer_class) for q in payers])
    cols["payer_class"] = pd.Series(
        pd.Categorical.from_codes(
            o(class_code[payer_l]), categories=list(PAYER_CLASSES)
        )
    )
    cols["date_of_service"] = days_to_datetime(o(vi.dos[lv]))
    cols["cpt_code"] = string_series(o(li.cpt_idx[L]), list(CPT_NAMES), idx)
    cols["units"] = pd.Series(o(li.units[L]).astype(np.int64))
    cols["charge_amount"] = pd.Series(o(money["charge"]))
    # diagnoses: pointed codes, dotted or not as the clinic exports them
    point_all = pr.clinic_point_all[vi.clinic[lv]] | (li.cpt[L] == "97112")
    undot = (
        pr.clinic_undotted[vi.clinic[lv]]
        | (np.random.default_rng(rng.integers(2**63)).random(ep.E) < 0.02)[vi.ep[lv]]
    )
    dx = ep.dx[vi.ep[lv]]
    B = len(ep.dx_vocab) + 1
    dkey = (
        ((dx[:, 0] + 1) * B + np.where(point_all, dx[:, 1] + 1, 0)) * B
        + np.where(point_all, dx[:, 2] + 1, 0)
    ) * 2 + undot
    dk_u, dk_code = np.unique(dkey, return_inverse=True)
    dx_tuples = []
    for k in dk_u:
        und = k % 2
        rest = k // 2
        parts = [rest // (B * B) - 1, (rest // B) % B - 1, rest % B - 1]
        codes = [ep.dx_vocab[q] for q in parts if q >= 0]
        dx_tuples.append(tuple(c.replace(".", "") if und else c for c in codes))
    cols["diagnosis_codes"] = pd.Series(tuple_column(o(dk_code), dx_tuples))
    prov = vi.provider[lv]
    cols["rendering_provider_id"] = string_series(o(prov), pr.prov_npi, idx)
    mu, mcode = np.unique(mods, return_inverse=True)
    mtuples = [tuple(m for i, m in enumerate(MODS) if (b >> i) & 1) for b in mu]
    cols["modifiers"] = pd.Series(tuple_column(o(mcode), mtuples))
    minutes = li.minutes[L]
    cols["minutes"] = pd.Series(
        pd.array(o(np.where(li.timed[L], minutes, 0)), dtype="Int64")
    ).mask(o(~li.timed[L]))
    cols["visit_timed_minutes"] = pd.Series(
        pd.array(o(li.visit_timed[lv]), dtype="Int64")
    )
    cols["place_of_service"] = string_series(o(vi.pos_code[lv]), POS_CODES, idx)
    cols["provider_credential"] = pd.Series(
        pd.Categorical.from_codes(o(pr.prov_cred[prov]), categories=list(CREDENTIALS))
    )
    cols["clinic_id"] = string_series(o(vi.clinic[lv]), pr.clinic_ids, idx)
    ref = ep.ref[vi.ep[lv]]
    cols["referring_provider_id"] = string_series(o(ref), pr.ref_npi, idx)
    cols["submission_date"] = days_to_datetime(o(sub[lv]))
    # authorization
    need = auth_needed[lv] & ep.has_auth[vi.ep[lv]]
    abbr = np.array([q.payer_id.split("-")[1][:3] for q in payers], dtype=object)
    akey = np.where(need, ep.auth_no[vi.ep[lv]] * 16 + auth_seg[lv], -1)
    ak_u, ak_code = np.unique(akey, return_inverse=True)
    first = np.unique(akey, return_index=True)[1]
    a_labels = [
        f"{abbr[pl]}{k_ // 16:07d}-{k_ % 16 + 1}"
        for k_, pl in zip(ak_u, payer_l[first], strict=True)
    ]
    a_code = np.where(akey >= 0, ak_code, -1)
    cols["prior_auth_number"] = string_series(o(a_code), a_labels, idx)
    cols["auth_visits_approved"] = _nullable_int(o(auth_approved[lv]), o(~need))
    cols["auth_visits_used"] = _nullable_int(o(auth_used[lv]), o(~need))
    cols["episode_start_date"] = days_to_datetime(o(vi.eval_day[vi.ep[lv]]))
    cols["visit_number"] = pd.Series(o(vi.k[lv]).astype(np.int64))
    hc = hist_cert[lv]
    hc_sign = doc.cert_sign[vi.ep[lv], np.maximum(hc, 0)]
    hc_through = doc.cert_through[vi.ep[lv], np.maximum(hc, 0)]
    cols["poc_certified_date"] = days_to_datetime(o(hc_sign), o(hc < 0))
    cols["cert_through_date"] = days_to_datetime(o(hc_through), o(hc < 0))
    re_ = rep_end[lv]
    rep_date = doc.report_signed[np.maximum(re_, 0)]
    cols["last_progress_report_date"] = days_to_datetime(o(rep_date), o(re_ < 0))
    lr = last_rep[lv]
    vsp = np.where(lr >= 0, vi.k[lv] - vi.k[np.maximum(lr, 0)], vi.k[lv] - 1)
    cols["visits_since_progress_report"] = pd.Series(pd.array(o(vsp), dtype="Int64"))
    dm_u, dm_code = np.unique(doc.deficit_mask[lv], return_inverse=True)
    d_t = [tuple(d for i, d in enumerate(cat.DEFICITS) if (m >> i) & 1) for m in dm_u]
    cols["deficits_documented"] = pd.Series(tuple_column(o(dm_code), d_t))
    im_u, im_code = np.unique(doc.intervention_mask[lv], return_inverse=True)
    i_t = [tuple(d for i, d in enumerate(_INTERVENTIONS) if (m >> i) & 1) for m in im_u]
    cols["interventions_documented"] = pd.Series(tuple_column(o(im_code), i_t))
    cols["objective_measures_documented"] = pd.Series(o(doc.objective[lv]))
    ns = doc.note_signed[lv]
    cols["note_signed_date"] = days_to_datetime(o(ns), o((ns < 0) | (ns > end)))
    cols["note_text"] = _note_text(pr, vi, doc, lv, o, idx)
    ytd = ytd_known[lv]
    cols["ytd_therapy_allowed"] = pd.Series(o(np.round(ytd, 2)))
    # outcomes
    adjudicated = ~pending
    cols["adjudication_date"] = days_to_datetime(o(adj[lv]), o(pending))
    cols["allowed_amount"] = pd.Series(
        o(np.where(adjudicated, money["allowed"], np.nan))
    )
    cols["paid_amount"] = pd.Series(o(np.where(adjudicated, money["paid"], np.nan)))
    den = denied & adjudicated
    adj_codes, rem_codes = _remit_lists(money, carc, rarc, den, adjudicated)
    cols["adjustment_codes"] = pd.Series(o(adj_codes))
    cols["remark_codes"] = pd.Series(o(rem_codes))
    if prm.denied_column:
        cols["denied"] = pd.Series(pd.array(o(den), dtype="boolean")).mask(o(pending))
    claims = pd.DataFrame(cols)
    claims.attrs["world"] = {
        "export_date": str(prm.end_day.date()),
        "payers": [dataclasses.asdict(q) for q in payers],
    }

    t = {
        "claim_id": cols["claim_id"],
        "line_number": cols["line_number"],
        "payer_id": cols["payer_id"],
        "cpt_code": cols["cpt_code"],
        "date_of_service": cols["date_of_service"],
        "submission_date": cols["submission_date"],
        "true_probability": pd.Series(o(p)),
        "true_logit": pd.Series(o(logit)),
        "denied": pd.Series(pd.array(o(den), dtype="boolean")).mask(o(pending)),
        "partially_denied": pd.Series(
            pd.array(o(money["partial"] & adjudicated), dtype="boolean")
        ).mask(o(pending)),
        "pending": pd.Series(o(pending)),
        "reason": pd.Series(
            pd.Categorical.from_codes(
                o(np.where(den, reason, -1)), categories=reason_names
            )
        ),
        "adjudication_day": days_to_datetime(o(adj[lv])),
        "cert_at_send": pd.Series(o(x["cert_at_send"])),
        "note_signed_at_send": pd.Series(o(x["note_at_send"])),
        "visits_since_report_at_send": pd.Series(o(x["since_send"])),
        "kx_needed": pd.Series(o(x["kx_needed"])),
    }
    truth = pd.DataFrame(t)
    return claims, truth


def _nullable_int(values, missing):
    s = pd.Series(pd.array(values.astype(np.int64), dtype="Int64"))
    return s.mask(missing)


def _remit_lists(money, carc, rarc, denied, adjudicated):
    """Adjustment and remark code tuples (None for lines not adjudicated)."""
    n = len(carc)
    bits = (
        money["co45"] * 1
        | money["partial"] * 2
        | money["seq"] * 4
        | money["ded"] * 8
        | money["coins"] * 16
        | money["copay"] * 32
    )
    names = ("CO-45", "CO-151", "CO-253", "PR-1", "PR-2", "PR-3")
    paid_t = [
        tuple(nm for i, nm in enumerate(names) if (b >> i) & 1) for b in range(64)
    ]
    den_u, den_code = np.unique(carc.astype(str), return_inverse=True)
    adj_u = paid_t + [(c,) if c else () for c in den_u]
    key = np.where(denied, 64 + den_code, bits)
    adj_codes = tuple_column(key, adj_u)
    adj_codes[~adjudicated] = None
    r_u, r_code = np.unique(rarc.astype(str), return_inverse=True)
    rem_u = [()] + [(r,) if r else () for r in r_u] + [("N362",)]
    rkey = np.where(denied, 1 + r_code, np.where(money["partial"], len(rem_u) - 1, 0))
    rem_codes = tuple_column(rkey, rem_u)
    rem_codes[~adjudicated] = None
    assert len(adj_codes) == n
    return adj_codes, rem_codes


_PHRASES = {
    "neuromuscular_reeducation": "NMR: PNF and weight-shift drills with tactile cues",
    "balance_training": "static/dynamic standing balance on foam, tandem stance",
    "proprioceptive_training": "proprioceptive drills, joint position matching",
    "postural_training": "postural control in sitting and standing, mirror feedback",
    "coordination_training": "coordination: alternating stepping, target reaching",
    "gait_training": "gait training with cues for step length and heel strike",
    "nmes": "NMES to quads, 10 min",
    "therapeutic_exercise": "ther ex: strengthening and ROM, 3x10",
    "manual_therapy": "manual: joint mobs grade III, STM",
    "therapeutic_activities": "functional transfers and lifting practice",
    "group_therapy": "group class, 3 patients",
}


def _note_text(pr, vi, doc, lv, o, idx):
    """Short daily-note text for the clinics whose export carries it."""
    has = pr.clinic_notes[vi.clinic[lv]]
    key = np.where(
        has,
        (doc.intervention_mask[lv] * 32 + doc.deficit_mask[lv]) * 2 + doc.objective[lv],
        -1,
    )
    u, code = np.unique(key, return_inverse=True)
    texts = []
    for k in u:
        if k < 0:
            texts.append("")
            continue
        obj, rest = k % 2, k // 2
        dmask, imask = rest % 32, rest // 32
        parts = [
            _PHRASES[nm] for i, nm in enumerate(_INTERVENTIONS) if (imask >> i) & 1
        ]
        defs = [
            d.replace("_", " ") for i, d in enumerate(cat.DEFICITS) if (dmask >> i) & 1
        ]
        s = "; ".join(parts) or "treatment per plan of care"
        if defs:
            s += ". Deficits: " + ", ".join(defs)
        if obj:
            s += ". Berg and TUG re-measured"
        texts.append(s + ".")
    code = np.where(key >= 0, code, -1)
    return string_series(o(code), texts, idx)
