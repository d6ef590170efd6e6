"""Stages 1-3 of the simulation: patients, episodes of care and their visits.

Each stage function reads the :class:`~ptdenial.datasets._run._Run` and the
records of earlier stages and returns its own small record. The random draws
happen in the order of the statements; do not reorder them (the output of a
seed would change).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ptdenial import schema as S
from ptdenial.datasets._arrays import _choice, _group_cumsum, _group_first, _mapping
from ptdenial.datasets._run import _Run
from ptdenial.datasets._vocabulary import _CONDITIONS, _MEDICARE_LIKE


# ---------------------------------------------------------------- patients
@dataclasses.dataclass(frozen=True)
class _Patients:
    """One entry per patient (arrays of length ``n``)."""

    payer: np.ndarray  # index into world.payer_id
    cond: np.ndarray  # index into _CONDITIONS
    clinic: np.ndarray
    pt: np.ndarray  # the treating physical therapist (provider index)
    pta: np.ndarray  # the assistant who may see the patient, -1 if none
    outside: np.ndarray  # (patient, year) therapy spend with other providers
    deductible: np.ndarray  # annual deductible of a commercial-type plan
    ded_met: np.ndarray  # (patient, year) share of it met elsewhere

    @property
    def n(self) -> int:
        return len(self.payer)


def _condition_shares(p) -> np.ndarray:
    """Share of each condition of _CONDITIONS."""
    return np.array([_mapping(p.condition_shares)[c] for c in _CONDITIONS])


def _patients(run: _Run, n_patients: int) -> _Patients:
    """Draw each patient's payer, condition, clinic, therapists and cost sharing."""
    p, world, rng = run.p, run.world, run.rng
    P = int(n_patients)
    cond_share = _condition_shares(p)
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
    n_years = run.n_years
    pat_outside = np.where(
        rng.random((P, n_years)) < p.p_outside_therapy_spend,
        np.round(rng.uniform(*p.outside_therapy_spend, (P, n_years)), 2),
        0.0,
    )
    pat_deductible = np.asarray(p.plan_deductibles, float)[
        rng.integers(0, len(p.plan_deductibles), P)
    ]
    pat_ded_met = rng.random((P, n_years))  # share already met elsewhere, per year
    return _Patients(
        pat_payer,
        pat_cond,
        pat_clinic,
        pat_pt,
        pat_pta,
        pat_outside,
        pat_deductible,
        pat_ded_met,
    )


# ---------------------------------------------------------------- episodes
@dataclasses.dataclass(frozen=True)
class _Episodes:
    """Episodes of care, grouped by patient (arrays of length ``n``)."""

    pat: np.ndarray  # patient index
    cond: np.ndarray  # index into _CONDITIONS
    nvis: np.ndarray  # planned visits, evaluation included
    freq: np.ndarray  # visits per week
    first: np.ndarray  # index of the patient's first episode

    @property
    def n(self) -> int:
        return len(self.pat)


def _episodes(run: _Run, pats: _Patients) -> _Episodes:
    """Draw each patient's episodes of care: condition, visits, weekly rhythm."""
    p, rng = run.p, run.rng
    cond_share = _condition_shares(p)
    mean_vis = np.array([_mapping(p.mean_visits)[c] for c in _CONDITIONS])
    n_ep = 1 + rng.poisson(p.extra_episode_rate, pats.n)
    E = int(n_ep.sum())
    ep_pat = np.repeat(np.arange(pats.n), n_ep)
    ep_cond = np.where(
        rng.random(E) < p.same_condition_prob,
        pats.cond[ep_pat],
        _choice(rng, cond_share, E),
    )
    m = mean_vis[ep_cond] - 1.0
    k = p.visits_dispersion
    ep_nvis = 1 + rng.negative_binomial(k, k / (k + m))
    ep_nvis = np.minimum(ep_nvis, p.max_visits)
    ep_freq = 1 + _choice(rng, np.asarray(p.visits_per_week_probs), E)
    return _Episodes(ep_pat, ep_cond, ep_nvis, ep_freq, _group_first(ep_pat))


# ---------------------------------------------------------------- visits (all)
@dataclasses.dataclass(frozen=True)
class _Schedule:
    """Every planned visit of every episode, on the business-day calendar."""

    ep: np.ndarray  # episode of each visit (visits of an episode contiguous)
    idx: np.ndarray  # 0 = evaluation, then treatment visits
    bd: np.ndarray  # business day (from run.origin)
    keep: np.ndarray  # the visit falls on or before run.end
    episode_start: np.ndarray  # per episode, datetime64[D]


def _schedule(run: _Run, pats: _Patients, eps: _Episodes) -> _Schedule:
    """Place every planned visit on the business-day calendar."""
    p, rng = run.p, run.rng
    E = eps.n
    V0 = int(eps.nvis.sum())
    vis_ep = np.repeat(np.arange(E), eps.nvis)
    vfirst = _group_first(vis_ep)
    vidx = np.arange(V0) - vfirst
    lam = 5.0 / eps.freq[vis_ep] - 1.0
    gap = 1 + rng.poisson(lam)
    brk = rng.random(V0) < p.p_break
    gap = gap + np.where(brk, rng.integers(*p.break_business_days, V0), 0)
    gap[vidx == 0] = 0
    off = _group_cumsum(gap, vfirst, inclusive=True)
    last = np.cumsum(eps.nvis) - 1
    span = off[last]
    ep_gap = 1 + rng.poisson(p.episode_gap_mean_days * 5 / 7, E)
    inc = span + ep_gap
    first_start = rng.integers(0, max(run.n_bd, 1), pats.n)
    ep_start_bd = first_start[eps.pat] + _group_cumsum(inc, eps.first, inclusive=False)
    vis_bd = ep_start_bd[vis_ep] + off
    ep_start_d = np.busday_offset(run.origin, np.minimum(ep_start_bd, 10**6))
    return _Schedule(vis_ep, vidx, vis_bd, vis_bd < run.n_bd, ep_start_d)


@dataclasses.dataclass(frozen=True)
class _CarePlan:
    """Per episode: evaluation, progress-report rhythm, certification, referrer."""

    eval_cx: np.ndarray  # evaluation complexity: 0, 1, 2 for 97161-97163
    pr_int: np.ndarray  # treatment days between progress reports
    cert_days: np.ndarray  # days the first certification covers
    cert_lag: np.ndarray  # days to the physician's signature, -1 = never
    recert_fail: np.ndarray  # first recertification period not signed
    referrer: np.ndarray  # referring provider index


def _care_plan(run: _Run, pats: _Patients, eps: _Episodes) -> _CarePlan:
    """Draw each episode's plan of care: evaluation, reports, certification."""
    p, world, rng = run.p, run.world, run.rng
    E = eps.n
    ep_eval_cx = _choice(
        rng,
        np.array([_mapping(p.eval_complexity_probs)[c] for c in _CONDITIONS]),
        rows=eps.cond,
    )
    ep_pr_late = rng.random(E) < world.prov_progress_late[pats.pt[eps.pat]]
    pr_days, pr_probs = zip(*p.progress_interval_probs, strict=True)
    ep_pr_int = np.where(
        ep_pr_late,
        rng.integers(p.progress_late_interval[0], p.progress_late_interval[1] + 1, E),
        np.asarray(pr_days)[_choice(rng, np.asarray(pr_probs, float), E)],
    )
    cert_days, cert_probs = zip(*p.cert_interval_days, strict=True)
    ep_cert_days = np.asarray(cert_days)[_choice(rng, np.asarray(cert_probs, float), E)]
    q_ep = world.prov_quality[pats.pt[eps.pat]]
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
    ep_clinic = pats.clinic[eps.pat]
    for c in range(p.n_clinics):
        here = ep_clinic == c
        refs = np.flatnonzero(world.referrer_clinic == c)
        ep_referrer[here] = refs[(r[here] * len(refs)).astype(int)]
    return _CarePlan(
        ep_eval_cx, ep_pr_int, ep_cert_days, ep_cert_lag, ep_recert_fail, ep_referrer
    )


@dataclasses.dataclass(frozen=True)
class _Clinical:
    """Per episode: diagnosis codes (ids into ``names``) and deficits present."""

    names: list  # ICD-10-CM code of each diagnosis id
    dx1: np.ndarray  # primary diagnosis id
    dx2: np.ndarray  # secondary diagnosis ids, -1 = none
    dx3: np.ndarray
    supports: np.ndarray  # per id: supports 97112
    needs_deficit: np.ndarray  # per id: only with a documented deficit
    deficits: np.ndarray  # bit masks over _DEFICITS


def _register(ids: dict, codes) -> np.ndarray:
    """Ids of ``codes``, numbering new codes in order of first appearance."""
    return np.array([ids.setdefault(code, len(ids)) for code in codes])


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


def _clinical(run: _Run, eps: _Episodes) -> _Clinical:
    """Primary code per episode (+ up to two secondaries), then deficits."""
    p, rng = run.p, run.rng
    E, ep_cond = eps.n, eps.cond
    dx_ids: dict[str, int] = {}
    ep_dx1 = np.empty(E, dtype=np.int64)
    primary = _mapping(p.primary_diagnoses)
    for ci, cname in enumerate(_CONDITIONS):
        here = np.flatnonzero(ep_cond == ci)
        codes, weights = zip(*primary[cname], strict=True)
        ids = _register(dx_ids, codes)
        ep_dx1[here] = ids[_choice(rng, np.asarray(weights, float), len(here))]
    sec_ids = _register(dx_ids, p.secondary_diagnoses)
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
    sup_first = _register(dx_ids, p.supporting_first_codes)[
        rng.integers(0, len(p.supporting_first_codes), E)
    ]
    s2 = np.where(flip, s1, s2)
    s1 = np.where(flip, ep_dx1, s1)
    ep_dx1 = np.where(flip, sup_first, ep_dx1)
    dx_names = list(dx_ids)
    dx_sup_u, dx_need_u = _dx_support_table(dx_names, run.ref)
    # deficits (bit masks)
    def_probs = np.array([_mapping(p.deficit_probs)[c] for c in _CONDITIONS])
    ep_def = ((rng.random((E, 5)) < def_probs[ep_cond]) * (1 << np.arange(5))).sum(1)
    return _Clinical(dx_names, ep_dx1, s1, s2, dx_sup_u, dx_need_u, ep_def)


@dataclasses.dataclass(frozen=True)
class _AuthDraws:
    """Per episode: the draws behind prior authorization."""

    u: np.ndarray  # uniform: authorization obtained below the chance
    covers: np.ndarray  # the request covers the whole episode
    extra: np.ndarray  # visits approved beyond those used
    waiver: np.ndarray  # visits approved when the request does not cover it


def _authorization_draws(run: _Run, eps: _Episodes) -> _AuthDraws:
    """Draw what authorization each episode gets (used by _authorization)."""
    p, rng, E = run.p, run.rng, eps.n
    ep_auth_u = rng.random(E)
    ep_auth_cover = rng.random(E) < p.p_auth_covers_episode
    ep_auth_extra = rng.integers(0, 5, E)
    ep_auth_waiver = rng.integers(
        p.auth_waiver_visits[0], p.auth_waiver_visits[1] + 1, E
    )
    return _AuthDraws(ep_auth_u, ep_auth_cover, ep_auth_extra, ep_auth_waiver)


@dataclasses.dataclass(frozen=True)
class _Visits:
    """The visits up to ``run.end`` (arrays of length ``n``, by episode then date)."""

    ep: np.ndarray  # episode index
    idx: np.ndarray  # 0 = evaluation
    dos: np.ndarray  # date of service, datetime64[D]
    pat: np.ndarray
    payer: np.ndarray
    cls: np.ndarray  # index into S.PAYER_CLASSES
    cond: np.ndarray
    clinic: np.ndarray
    prov: np.ndarray  # rendering provider
    quality: np.ndarray  # the provider's documentation quality
    year: np.ndarray  # calendar year of service
    year_i: np.ndarray  # year - run.first_year
    is_eval: np.ndarray
    mlike: np.ndarray  # Medicare-like payer (G0283, no 97010)
    is_medicare: np.ndarray
    episode_start: np.ndarray

    @property
    def n(self) -> int:
        return len(self.ep)


def _visits(run: _Run, pats: _Patients, eps: _Episodes, sched: _Schedule) -> _Visits:
    """Keep the visits up to ``run.end``; who renders each and for which payer."""
    p, world, rng = run.p, run.world, run.rng
    keep_v = sched.keep
    vis_ep, vidx, vis_bd = sched.ep[keep_v], sched.idx[keep_v], sched.bd[keep_v]
    V = len(vis_ep)
    dos = np.busday_offset(run.origin, vis_bd)
    v_pat = eps.pat[vis_ep]
    v_payer = pats.payer[v_pat]
    v_cls = world.payer_class[v_payer]
    is_eval = vidx == 0
    mlike = np.isin(v_cls, [S.PAYER_CLASSES.index(c) for c in _MEDICARE_LIKE])
    is_medicare = v_cls == S.PAYER_CLASSES.index("medicare")
    use_pta = (~is_eval) & (pats.pta[v_pat] >= 0) & (rng.random(V) < p.pta_visit_share)
    v_prov = np.where(use_pta, pats.pta[v_pat], pats.pt[v_pat])
    year = dos.astype("datetime64[Y]").astype(int) + 1970
    return _Visits(
        ep=vis_ep,
        idx=vidx,
        dos=dos,
        pat=v_pat,
        payer=v_payer,
        cls=v_cls,
        cond=eps.cond[vis_ep],
        clinic=pats.clinic[v_pat],
        prov=v_prov,
        quality=world.prov_quality[v_prov],
        year=year,
        year_i=year - run.first_year,
        is_eval=is_eval,
        mlike=mlike,
        is_medicare=is_medicare,
        episode_start=sched.episode_start[vis_ep],
    )


@dataclasses.dataclass(frozen=True)
class _PlanStatus:
    """Per visit: where it stands in the plan of care."""

    since: np.ndarray  # treatment days since the last progress report
    last_pr: np.ndarray  # date of the last progress report
    pr_day: np.ndarray  # a progress report is written at this visit
    cert_through: np.ndarray  # last day the signed certifications cover
    cert_lag: np.ndarray  # days to the signature of the plan, -1 = never
    cert_date: np.ndarray  # date the plan was signed (NaT if never)


def _plan_status(run: _Run, plan: _CarePlan, vis: _Visits) -> _PlanStatus:
    """Progress-report and certification status of each visit."""
    vis_ep, vidx, dos, ep_start_v = vis.ep, vis.idx, vis.dos, vis.episode_start
    # progress reports (treatment days since the last report; evaluation = report)
    pr_int = plan.pr_int[vis_ep]
    since = vidx % pr_int
    pr_pos = np.arange(vis.n) - since  # visits of an episode are contiguous
    last_pr = dos[pr_pos]
    pr_day = since == 0
    # certification of the plan of care
    through1 = ep_start_v + (plan.cert_days[vis_ep] - 1)
    recert = int(run.facts["recert_interval_days"])
    dd = (dos - through1).astype(int)
    period = np.where(dd <= 0, 0, 1 + (dd - 1) // recert)
    covered = np.minimum(period, plan.recert_fail[vis_ep] - 1)
    cert_through = through1 + covered * recert
    cert_lag = plan.cert_lag[vis_ep]
    cert_date = np.where(
        cert_lag >= 0, ep_start_v + np.maximum(cert_lag, 0), np.datetime64("NaT")
    )
    return _PlanStatus(since, last_pr, pr_day, cert_through, cert_lag, cert_date)
